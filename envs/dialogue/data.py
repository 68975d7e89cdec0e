"""The restaurant domain's ontology and venue database, checked against each other when loaded.

By default the SYNTHETIC database and ontology that ship in appliedrl.data (see data/make_synthetic_restaurants.py);
`load_domain(ontology, database)` takes your own files in the same shapes (a JSON ontology, a CSV of venues).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from appliedrl.data import RESTAURANT_ONTOLOGY, SYNTHETIC_RESTAURANTS

CONSTRAINT_SLOTS = ("area", "pricerange", "food")  # what a user's goal constrains
DONTCARE = "dontcare"
ONTOLOGY_KEYS = ("informable", "requestable")


class OntologyError(ValueError):
    """An ontology or database that does not fit the restaurant domain; the message names the problem."""


@dataclasses.dataclass(frozen=True)
class RestaurantDomain:
    """The informable values, the requestable slots and the venues, with each venue's constraint values coded as
    indices into the ontology's values (for fast matching)."""

    informable: dict[str, tuple[str, ...]]  # slot -> values (CONSTRAINT_SLOTS and name)
    requestable: tuple[str, ...]
    venues: pd.DataFrame  # one row per venue, a column per requestable slot
    codes: dict[str, np.ndarray]  # constraint slot -> [venues] index of the venue's value in informable[slot]
    records: tuple[dict[str, str], ...]  # the venues as dicts (reading a DataFrame row per turn is slow)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.venues["name"])

    def matches(self, constraints: dict[str, str | None]) -> np.ndarray:
        """Indices of the venues that satisfy the constraints (a value per slot; None or dontcare: any)."""
        keep = np.ones(len(self.venues), dtype=bool)
        for slot, value in constraints.items():
            if value is not None and value != DONTCARE:
                keep &= self.codes[slot] == self.informable[slot].index(value)
        return np.flatnonzero(keep)

    def venue(self, index: int) -> dict[str, str]:
        return self.records[index]


def load_domain(ontology: str | Path | None = None, database: str | Path | None = None) -> RestaurantDomain:
    """The ontology (JSON) and venue database (CSV), checked: every slot the ontology names is known and a column
    of the database, and every venue's informable values are in the ontology."""
    return _load(Path(ontology or RESTAURANT_ONTOLOGY), Path(database or SYNTHETIC_RESTAURANTS))


@functools.cache
def _load(ontology_path: Path, database_path: Path) -> RestaurantDomain:
    raw = json.loads(ontology_path.read_text())
    for key in sorted(set(raw) ^ set(ONTOLOGY_KEYS)):
        problem = "unknown key" if key in raw else "missing key"
        raise OntologyError(f"{ontology_path.name}: {problem} {key!r}; an ontology holds {', '.join(ONTOLOGY_KEYS)}")
    venues = pd.read_csv(database_path, dtype=str).fillna("")
    known = (*CONSTRAINT_SLOTS, "name")
    for slot in raw["informable"]:
        if slot not in known:
            raise OntologyError(f"{ontology_path.name}: unknown informable slot {slot!r}; valid slots: "
                                f"{', '.join(known)}")
    for slot in raw["requestable"]:
        if slot not in venues.columns:
            raise OntologyError(f"{ontology_path.name}: unknown requestable slot {slot!r}; the database "
                                f"{database_path.name} has {', '.join(venues.columns)}")
    for slot in known:
        if slot not in raw["informable"]:
            raise OntologyError(f"{ontology_path.name}: informable slot {slot!r} is missing")
        if slot not in venues.columns or slot not in raw["requestable"]:
            raise OntologyError(f"the database {database_path.name} and the ontology's requestable slots need "
                                f"{slot!r} (every venue has a name and the constraint slots)")
    informable = {slot: tuple(values) for slot, values in raw["informable"].items()}
    for slot in known:
        unlisted = sorted(set(venues[slot]) - set(informable[slot]))
        if unlisted:
            raise OntologyError(f"{database_path.name}: {slot} value {unlisted[0]!r} is not in the ontology "
                                f"{ontology_path.name}")
    codes = {slot: np.array([informable[slot].index(v) for v in venues[slot]]) for slot in CONSTRAINT_SLOTS}
    return RestaurantDomain(informable, tuple(raw["requestable"]), venues, codes,
                            tuple(venues.to_dict("records")))
