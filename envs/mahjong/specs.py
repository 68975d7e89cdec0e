"""The sanma domain's environment: the AEC game, whose single-seat view is registered under the same id."""

from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec("appliedrl/SanmaVsBots-v0", "aec", "mahjong", "appliedrl.envs.mahjong.sanma_v0:env",
            description="three-player riichi mahjong (Tenhou rules): one seat against two opponents (opponents=)",
            checker_kwargs={"illegal_action": "penalty"}),  # by default an illegal action raises
]
