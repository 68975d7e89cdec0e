"""Particle worlds paired with agents: heuristic baselines and MADDPG recipes (domains/recipes)."""

from appliedrl.domains.particles.baselines import PARTICLE_BASELINES, steer

__all__ = ["PARTICLE_BASELINES", "steer"]
