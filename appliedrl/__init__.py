"""appliedrl: reinforcement-learning environments for real domains, paired with tuned agents on one backbone.

Importing the package registers every single-agent environment with Gymnasium under the `appliedrl/` namespace.
"""

from appliedrl.envs import register_envs

register_envs()

__version__ = "0.1.0"
