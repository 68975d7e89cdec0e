"""Sanma (three-player riichi mahjong): heuristic bots and the pairing with the backbone's agents."""

from appliedrl.domains.mahjong.bots import Defensive, Greedy
from appliedrl.domains.registry import Baseline, Domain, Metric, Setting

SANMA = "appliedrl/SanmaVsBots-v0"

DOMAIN = Domain(
    "mahjong", "three-player riichi mahjong (sanma): one seat against bots or frozen copies of itself",
    baselines=(
        Baseline("greedy", lambda game, seed: Greedy(seed), (SANMA,), ("aec",), Greedy.__doc__),
        Baseline("defensive", lambda game, seed: Defensive(seed), (SANMA,), ("aec",), Defensive.__doc__),
    ),
    settings=(Setting("sanma", SANMA, {"opponents": ["defensive"]}),),
    agents=("ppo",),
    metric=Metric("rank", higher_is_better=False, description="average final rank (1 best, 3 worst)"),
)

__all__ = ["DOMAIN", "Defensive", "Greedy", "SANMA"]
