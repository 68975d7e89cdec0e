"""The synthetic restaurant database and ontology: rebuilt exactly by their generator, skewed like the DSTC2 data."""

import itertools
import json

import pandas as pd

from appliedrl.data import RESTAURANT_ONTOLOGY, SYNTHETIC_RESTAURANTS
from appliedrl.data.make_synthetic_restaurants import make


def test_the_generator_rebuilds_the_shipped_files_exactly():
    venues, ontology = make()
    shipped = pd.read_csv(SYNTHETIC_RESTAURANTS, dtype=str)
    pd.testing.assert_frame_equal(venues.astype(str), shipped)
    assert json.loads(RESTAURANT_ONTOLOGY.read_text()) == ontology


def test_the_database_is_skewed_like_the_cambridge_one():
    venues = pd.read_csv(SYNTHETIC_RESTAURANTS)
    assert len(venues) == 110 and venues["name"].is_unique
    areas, prices = venues["area"].value_counts(normalize=True), venues["pricerange"].value_counts(normalize=True)
    assert 0.55 <= areas["centre"] <= 0.65 and all(0.08 <= areas[a] <= 0.12 for a in ("north", "south", "east", "west"))
    assert prices["expensive"] > 0.45 and 0.2 <= prices["moderate"] <= 0.3 and 0.15 <= prices["cheap"] <= 0.25
    food = venues["food"].value_counts()
    assert list(food.index[:4]) == ["indian", "chinese", "italian", "british"] and food.iloc[4:].max() <= 4


def test_every_value_is_in_the_ontology_and_enough_goals_match_two_or_three_venues():
    venues = pd.read_csv(SYNTHETIC_RESTAURANTS)
    ontology = json.loads(RESTAURANT_ONTOLOGY.read_text())
    for slot in ("area", "pricerange", "food", "name"):
        assert set(venues[slot]) <= set(ontology["informable"][slot]), slot
    assert set(ontology["requestable"]) <= set(venues.columns)
    assert len(ontology["informable"]["food"]) > venues["food"].nunique()  # cuisines without a venue, as in DSTC2
    choices = [[*sorted(venues[slot].unique()), None] for slot in ("area", "food", "pricerange")]  # None: dontcare
    matching = 0
    for area, food, price in itertools.product(*choices):
        rows = venues
        for slot, value in (("area", area), ("food", food), ("pricerange", price)):
            rows = rows if value is None else rows[rows[slot] == value]
        matching += 2 <= len(rows) <= 3
    assert matching >= 40  # the user's goals are resampled until 2-3 venues match (the real data: about 56)
