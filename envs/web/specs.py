"""The web navigation domain's environments."""

from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec("appliedrl/WebNav-v0", "single", "web", "appliedrl.envs.web:WebNavEnv",
            description="follow an instruction on a generated web page (MiniWoB++-style tasks, task=...)",
            checker_kwargs={"invalid_action": "penalty"}),  # by default an invalid action raises
    EnvSpec("appliedrl/MiniWoB-v0", "single", "web", "appliedrl.envs.web.miniwob:MiniWoBEnv",
            description="MiniWoB++ itself behind WebNav-v0's observations and actions (task=...; needs miniwob, "
                        "selenium and chromedriver)",
            checker_kwargs={"invalid_action": "penalty"}, requires=("miniwob", "selenium", "chromedriver")),
]
