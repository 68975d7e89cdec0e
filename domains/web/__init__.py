"""Web navigation domain: the oracle (a scripted solver reading only the observation), random actions, and QWeb
trained by Double DQN (Gur et al. 2019)."""

from appliedrl.domains.recipes import recipe_layers
from appliedrl.domains.registry import Baseline, Domain, Metric, Setting
from appliedrl.domains.web.picture import web_picture
from appliedrl.envs.web.oracle import OraclePolicy
from appliedrl.envs.web.tasks import TASKS

ENV_ID = "appliedrl/WebNav-v0"
MINIWOB_ID = "appliedrl/MiniWoB-v0"  # MiniWoB++ itself; the oracle solves its form tasks
# potential-based shaping with the discount of the dqn recipe, which trains on these settings
TRAINING = {"shaping": True, "gamma": recipe_layers("dqn", ENV_ID)[0]["gamma"]}
HELD_OUT = {"split": "test", "shaping": False, "warm_start": 0.0}  # evaluation: unseen values, ±1 returns


def _oracle(env, seed: int) -> OraclePolicy:
    return OraclePolicy(env)


DOMAIN = Domain(
    "web", "following instructions on generated web pages (MiniWoB++-style tasks, Gur et al.'s QWeb setting)",
    baselines=(Baseline("oracle", _oracle, (ENV_ID, MINIWOB_ID),
                        description="a scripted solver reading only the observation"),),
    settings=(*(Setting(task, ENV_ID, {"task": task, **TRAINING}, HELD_OUT) for task in TASKS),
              Setting("book-flight-curriculum", ENV_ID, {"task": "book-flight", **TRAINING, "warm_start": 0.5},
                      HELD_OUT)),
    agents=("dqn",),
    metric=Metric("success_rate", description="the share of held-out episodes that complete the task; the return "
                                               "is +1 on success, −1 on failure or timeout"),
    picture=web_picture,
)

__all__ = ["DOMAIN", "ENV_ID", "MINIWOB_ID", "OraclePolicy"]
