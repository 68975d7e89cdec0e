"""Web navigation domain: the oracle (a scripted solver reading only the observation), random actions, QWeb."""

from appliedrl.domains.registry import Baseline, Domain, Metric
from appliedrl.envs.web.oracle import OraclePolicy

ENV_ID = "appliedrl/WebNav-v0"


def _oracle(env, seed: int) -> OraclePolicy:
    return OraclePolicy(env)


DOMAIN = Domain(
    "web", "following instructions on generated web pages (MiniWoB++-style tasks, Gur et al.'s QWeb setting)",
    baselines=(Baseline("oracle", _oracle, (ENV_ID,), description="a scripted solver reading only the observation"),),
    metric=Metric("success_rate", description="the share of episodes that complete the task; the return is "
                                               "+1 on success, −1 on failure or timeout"),
)

__all__ = ["DOMAIN", "ENV_ID", "OraclePolicy"]
