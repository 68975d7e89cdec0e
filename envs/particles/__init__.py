"""Multi-agent particle worlds (MPE): mpe2's twelve scenarios on one batched torch simulator.

`ParticleWorlds(scenario, num_envs, device=...)` steps many environments as tensors for training;
`appliedrl.envs.particles.<mpe2 module name>.parallel_env(...)` is a PettingZoo drop-in for mpe2's.
"""

from appliedrl.envs.particles.env import ParticleParallelEnv, ParticleWorlds, make_scenario
from appliedrl.envs.particles.scenarios import SCENARIOS

__all__ = ["ParticleParallelEnv", "ParticleWorlds", "SCENARIOS", "make_scenario"]
