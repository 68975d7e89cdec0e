"""Generate data/synthetic_restaurants.csv and data/restaurant_ontology.json: a SYNTHETIC venue database of 110
restaurants in the shape of the DSTC2 Cambridge restaurant domain (no real venue, name, address or phone).

The skew follows the real database's published counts: areas centre 66, north, south, east, west 11 each;
price ranges expensive 57, moderate 31, cheap 22; cuisines indian 22, chinese 17, italian 15, british 12, then a
long tail of 1-4 venues each over 20 more; the ontology lists 36 cuisines, some with no venue (as the real one
lists cuisines the database lacks). Areas, prices and cuisines are shuffled independently; as in the real data,
about 70 distinct (area, food, price) triples occur and about 60 constraints (with "dontcare") match 2-3 venues.
Run `python data/make_synthetic_restaurants.py` to rebuild both files exactly (seed 2026).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2026
AREAS = {"centre": 66, "north": 11, "south": 11, "east": 11, "west": 11}
PRICES = {"expensive": 57, "moderate": 31, "cheap": 22}
COMMON_FOOD = {"indian": 22, "chinese": 17, "italian": 15, "british": 12}
TAIL_FOOD = ["european", "french", "thai", "japanese", "mediterranean", "modern european", "spanish", "turkish",
             "korean", "vietnamese", "gastropub", "portuguese", "lebanese", "mexican", "african", "international",
             "north american", "seafood", "greek", "asian oriental"]
UNSERVED_FOOD = ["polish", "swiss", "danish", "brazilian", "moroccan", "persian", "russian", "scandinavian",
                 "welsh", "australian", "caribbean", "hungarian"]
INFORMABLE = ("area", "pricerange", "food", "name")
REQUESTABLE = ("name", "address", "phone", "postcode", "area", "food", "pricerange", "signature", "description")
NAME_FIRST = ["golden", "silver", "red", "blue", "green", "royal", "old", "little", "grand", "hidden", "copper",
              "velvet", "amber", "ivory", "crimson", "jade", "lucky", "quiet", "bright", "wild", "stone", "river"]
NAME_SECOND = ["lantern", "garden", "kitchen", "table", "spoon", "oak", "bridge", "harbour", "orchard", "fig",
               "pepper", "olive", "lotus", "willow", "anchor", "crown", "meadow", "lamp", "cellar", "courtyard"]
STREETS = ["mill", "regent", "king", "bridge", "market", "station", "hills", "castle", "newmarket", "trumpington",
           "chesterton", "histon", "mill park", "hope", "green", "park"]


def _tail_counts(rng: np.random.Generator, venues: int) -> dict[str, int]:
    """The long tail: every tail cuisine gets 1-4 venues, adding up to `venues`."""
    counts = {food: 1 for food in TAIL_FOOD}
    while sum(counts.values()) < venues:
        food = TAIL_FOOD[rng.integers(len(TAIL_FOOD))]
        if counts[food] < 4:
            counts[food] += 1
    return counts


def _shuffled(rng: np.random.Generator, counts: dict[str, int]) -> list[str]:
    values = [value for value, count in counts.items() for _ in range(count)]
    return [values[i] for i in rng.permutation(len(values))]


def make() -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(SEED)
    total = sum(AREAS.values())
    food = _shuffled(rng, {**COMMON_FOOD, **_tail_counts(rng, total - sum(COMMON_FOOD.values()))})
    areas, prices = _shuffled(rng, AREAS), _shuffled(rng, PRICES)
    names = [f"the {a} {b}" for a in NAME_FIRST for b in NAME_SECOND]
    chosen = rng.choice(len(names), total, replace=False)
    rows = []
    for index in range(total):
        letters = "".join(chr(ord("a") + i) for i in rng.integers(26, size=2))
        postcode = f"cb{rng.integers(1, 5)} {rng.integers(1, 10)}{letters}"
        rows.append({
            "name": names[chosen[index]], "area": areas[index], "pricerange": prices[index], "food": food[index],
            "address": f"{rng.integers(1, 200)} {STREETS[rng.integers(len(STREETS))]} road",
            "postcode": postcode, "phone": f"01223 {rng.integers(100000, 1000000)}",
            "signature": f"the house {food[index]} platter",
            "description": f"{'an' if prices[index][0] in 'aeiou' else 'a'} {prices[index]} {food[index]} "
                           f"restaurant in the {areas[index]} of town",
        })
    ontology = {"informable": {"area": list(AREAS), "pricerange": list(PRICES),
                               "food": sorted([*COMMON_FOOD, *TAIL_FOOD, *UNSERVED_FOOD]),
                               "name": sorted(row["name"] for row in rows)},
                "requestable": list(REQUESTABLE)}
    return pd.DataFrame(rows), ontology


if __name__ == "__main__":
    venues, ontology = make()
    here = Path(__file__).parent
    venues.to_csv(here / "synthetic_restaurants.csv", index=False)
    (here / "restaurant_ontology.json").write_text(json.dumps(ontology, indent=1) + "\n")
    print(f"wrote {here / 'synthetic_restaurants.csv'} and {here / 'restaurant_ontology.json'}")
