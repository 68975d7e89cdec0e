"""Random concealed hands for the sanma tests: few kinds make pairs, sets and long suits common."""

import random

from appliedrl.envs.mahjong.tiles import KINDS, TILES


def random_counts(rng: random.Random, size: int, kind_choices: list[int]) -> list[int] | None:
    """34-format counts of `size` tiles drawn from a random choice of kinds (how many: one of `kind_choices`);
    None when those kinds hold fewer than `size` tiles."""
    kinds = rng.sample(KINDS, rng.choice(kind_choices))
    pool = [t for t in TILES if t // 4 in kinds]
    if len(pool) < size:
        return None
    counts = [0] * 34
    for tile in rng.sample(pool, size):
        counts[tile // 4] += 1
    return counts
