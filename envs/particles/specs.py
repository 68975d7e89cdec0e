"""The particle worlds: mpe2's twelve scenarios on our batched simulator, and mpe2 itself as the reference."""

from appliedrl.envs.particles.scenarios import SCENARIOS
from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec(f"{namespace}/{scenario}", "parallel", "particles", "appliedrl.envs.multiagent:make_multiagent",
            description=what)
    for namespace, what in (("particles", "batched torch worlds"), ("mpe2", "mpe2's own, stepped in turn"))
    for scenario in SCENARIOS
]
