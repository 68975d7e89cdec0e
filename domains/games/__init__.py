"""Turn-based games: connect four's one-ply heuristic (the generic `random` serves every game too)."""

from appliedrl.domains.games.connect_four import OnePly
from appliedrl.domains.games.picture import connect_four_picture
from appliedrl.domains.registry import Baseline, Domain, Metric, Setting

CONNECT_FOUR = "pettingzoo/connect_four_v3"

DOMAIN = Domain(
    "games", "turn-based PettingZoo games, one seat learned by self-play against an opponent pool",
    baselines=(Baseline("one-ply", lambda game, seed: OnePly(seed), (CONNECT_FOUR,), ("aec",),
                        OnePly.__doc__),),
    settings=(Setting("connect_four", CONNECT_FOUR, {"opponents": ["self", "one-ply", "random"]},
                      eval_env_kwargs={"opponents": ["one-ply"]}),),
    agents=("ppo",),
    metric=Metric("win"),
    picture=connect_four_picture,
)

__all__ = ["CONNECT_FOUR", "DOMAIN", "OnePly"]
