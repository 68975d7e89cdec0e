"""Sanma (three-player riichi mahjong): heuristic bots and the pairing with the backbone's agents."""

from appliedrl.domains.mahjong.bots import Defensive, Greedy
from appliedrl.domains.mahjong.picture import sanma_picture
from appliedrl.domains.mahjong.play import play
from appliedrl.domains.registry import Baseline, Chat, Domain, Metric, Setting

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
    picture=sanma_picture,
    chats=(Chat("sanma", SANMA, play, "baseline:defensive",
                "you play player_0 (the first dealer); the policy plays the other two seats"),),
)

__all__ = ["DOMAIN", "Defensive", "Greedy", "SANMA"]
