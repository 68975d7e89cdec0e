"""Fast hand shapes for the rules engine: is a concealed hand complete, and which kinds complete it (its waits).

The engine asks these on every draw and discard, so they work on 34-format counts by suit: pinzu and souzu are
split into sets (and one pair) by a search cached per suit, and the lone kinds (1m, 9m, the honours) need no
search. Seven pairs (distinct kinds, as Tenhou counts them) and thirteen orphans are checked beside the regular
form. Hand value, yaku and fu come from the `mahjong` package (see `appliedrl.envs.mahjong.scoring`).
"""

from __future__ import annotations

import functools
from typing import Sequence

from appliedrl.envs.mahjong.tiles import HONOR_KINDS, KINDS, MAN_KINDS, PIN_KINDS, SOU_KINDS, TERMINALS_AND_HONORS

SETS, PAIR, FAIL = 0, 1, 2  # how a group of tiles splits: into sets only, into sets and one pair, not at all
SUITS = (PIN_KINDS, SOU_KINDS)
LONE_KINDS = MAN_KINDS + HONOR_KINDS  # kinds that form no sequences in sanma
LONE_FORM = {0: SETS, 2: PAIR, 3: SETS}


def _splits_into_sets(counts: list[int]) -> bool:
    """Whether nine counts of one suit split into triplets and sequences (the leftmost tile starts one of them)."""
    first = next((i for i, count in enumerate(counts) if count), None)
    if first is None:
        return True
    if counts[first] >= 3:
        counts[first] -= 3
        found = _splits_into_sets(counts)
        counts[first] += 3
        if found:
            return True
    if first <= 6 and counts[first + 1] and counts[first + 2]:
        for i in range(first, first + 3):
            counts[i] -= 1
        found = _splits_into_sets(counts)
        for i in range(first, first + 3):
            counts[i] += 1
        return found
    return False


@functools.lru_cache(maxsize=None)
def suit_form(counts: tuple[int, ...]) -> int:
    """SETS, PAIR or FAIL for the nine counts of one suit."""
    total = sum(counts)
    work = list(counts)
    if total % 3 == 0:
        return SETS if _splits_into_sets(work) else FAIL
    if total % 3 == 2:
        for i in range(9):
            if work[i] >= 2:
                work[i] -= 2
                found = _splits_into_sets(work)
                work[i] += 2
                if found:
                    return PAIR
    return FAIL


@functools.lru_cache(maxsize=None)
def suit_forms_after_adding(counts: tuple[int, ...]) -> tuple[int, ...]:
    """The form of the suit after adding one tile of each of its nine kinds (FAIL where four are held)."""
    forms = []
    for i in range(9):
        if counts[i] >= 4:
            forms.append(FAIL)
        else:
            forms.append(suit_form(counts[:i] + (counts[i] + 1,) + counts[i + 1:]))
    return tuple(forms)


def _regular_complete(counts: Sequence[int]) -> bool:
    pairs = 0
    for kind in LONE_KINDS:
        form = LONE_FORM.get(counts[kind], FAIL)
        if form == FAIL:
            return False
        pairs += form
    for suit in SUITS:
        form = suit_form(tuple(counts[suit[0]:suit[0] + 9]))
        if form == FAIL:
            return False
        pairs += form
    return pairs == 1


def is_complete(counts: Sequence[int]) -> bool:
    """Whether concealed 34-format counts (3n + 2 tiles, melds removed) form a winning shape: n sets and a pair,
    seven distinct pairs, or thirteen orphans."""
    if sum(counts) == 14 and (_seven_pairs(counts) or _thirteen_orphans(counts)):
        return True
    return _regular_complete(counts)


def _seven_pairs(counts: Sequence[int]) -> bool:
    return sum(count == 2 for count in counts) == 7


def _thirteen_orphans(counts: Sequence[int]) -> bool:
    return all(counts[k] for k in TERMINALS_AND_HONORS) and sum(counts[k] for k in TERMINALS_AND_HONORS) == 14


def waits(counts: Sequence[int]) -> tuple[int, ...]:
    """The kinds that complete concealed counts of 3n + 1 tiles, in 34-format and increasing order ((): not
    tenpai). A kind the hand already holds four of is no wait (no fifth tile exists)."""
    found = _regular_waits(counts)
    if sum(counts) == 13:
        found.update(_special_waits(counts))
    return tuple(sorted(found))


def _regular_waits(counts: Sequence[int]) -> set[int]:
    """Waits on n sets and a pair. At most one group (a lone kind or a suit) may be broken before the draw."""
    fails, pairs, broken_kind, broken_suit = 0, 0, None, None
    for kind in LONE_KINDS:
        count = counts[kind]
        if count == 2:
            pairs += 1
        elif count == 1 or count == 4:
            fails += 1
            broken_kind = kind
            if fails > 1:
                return set()
    suit_counts = [tuple(counts[suit[0]:suit[0] + 9]) for suit in SUITS]
    suit_forms = [suit_form(c) for c in suit_counts]
    for index, form in enumerate(suit_forms):
        if form == FAIL:
            fails += 1
            broken_suit = index
        pairs += form == PAIR
    if fails > 1:
        return set()
    found: set[int] = set()
    if broken_kind is not None:  # only that kind can mend it: a single becomes the pair
        if counts[broken_kind] == 1 and pairs == 0:
            found.add(broken_kind)
        return found
    for kind in LONE_KINDS:  # a pair becomes a triplet: the other pairs must leave exactly one
        if not fails and counts[kind] == 2 and pairs == 2:
            found.add(kind)
    for index, suit in enumerate(SUITS):
        own = suit_forms[index]
        if fails and broken_suit != index:
            continue
        other_pairs = pairs - (own == PAIR)
        for offset, form in enumerate(suit_forms_after_adding(suit_counts[index])):
            if form != FAIL and other_pairs + form == 1:
                found.add(suit[0] + offset)
    return found


def _special_waits(counts: Sequence[int]) -> list[int]:
    """Waits of a 13-tile hand on seven pairs (six pairs and a single) or thirteen orphans."""
    result = []
    if counts.count(2) == 6 and counts.count(1) == 1:
        result.append(counts.index(1))
    orphans = [counts[k] for k in TERMINALS_AND_HONORS]
    if orphans.count(0) > 1:
        return result
    if sum(orphans) == 13:
        missing = [k for k, count in zip(TERMINALS_AND_HONORS, orphans) if count == 0]
        if not missing:
            result.extend(TERMINALS_AND_HONORS)
        elif len(missing) == 1 and max(orphans) == 2:
            result.extend(missing)
    return result
