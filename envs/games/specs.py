"""The games domain's environments: PettingZoo's own AEC games, used as they are."""

from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec("pettingzoo/connect_four_v3", "aec", "games", "pettingzoo.classic.connect_four_v3:env",
            description="PettingZoo's classic connect four: two seats, 7 columns, masks of the legal columns"),
]
