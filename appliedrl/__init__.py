"""appliedrl: reinforcement-learning environments for real domains, paired with tuned agents on one backbone.

Importing the package registers every single-agent environment with Gymnasium under the `appliedrl/` namespace,
and every turn-based game's single-seat view under the game's own id (e.g. `pettingzoo/connect_four_v3`).
"""

from appliedrl.domains.registry import register_single_seat_views
from appliedrl.envs import register_envs

register_envs()
register_single_seat_views()

__version__ = "0.1.0"
