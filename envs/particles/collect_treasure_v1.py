"""mpe2's collect_treasure_v1 under its module name: `parallel_env`, `env` (AEC) and `batched` (see .modules)."""

from appliedrl.envs.particles.modules import scenario_module

env, parallel_env, batched = scenario_module("collect_treasure_v1")
