"""Fast hand shapes for the rules engine: is a concealed hand complete, and which kinds complete it (its waits).

The engine asks these on every draw and discard, so they work on 34-format counts by suit: pinzu and souzu are
split into sets (and one pair) by a search cached per suit, and the lone kinds (1m, 9m, the honours) need no
search. Seven pairs (distinct kinds, as Tenhou counts them) and thirteen orphans are checked beside the regular
form. Hand value, yaku and fu come from the `mahjong` package (see `appliedrl.envs.mahjong.scoring`).
"""

from __future__ import annotations

import functools
from typing import Collection, Sequence

from appliedrl.envs.mahjong.tiles import HONOR_KINDS, MAN_KINDS, PIN_KINDS, SOU_KINDS, TERMINALS_AND_HONORS

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
    if list(counts[27:34]).count(0) > 1:  # thirteen orphans needs six honours or more
        return result
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


# -- shanten ------------------------------------------------------------------------------------------------------
# The `mahjong` package's three-player shanten searches the whole hand (about 300 us on a structured hand), and the
# bots ask for it thousands of times per game. This one reads each suit into blocks once (cached per suit) and
# combines the suits' readings with the package's formula, including its two rules for four-tile kinds (a hand
# whose only loose tiles are kinds held four times cannot wait on them; honour quads). Tests check it equals the
# package's on random and structured hands.

NO_LOOSE, LOOSE_FOURS, LOOSE_OTHER = 0, 1, 2  # a reading's loose tiles: none, only of kinds held four times, others


def _best_readings(found: set[tuple[int, int, int, int]]) -> frozenset[tuple[int, int, int, int]]:
    """Drop each reading another beats: as many sets and partial sets, with the same head and loose tiles."""
    return frozenset(b for b in found if not any(
        o != b and o[2:] == b[2:] and o[0] >= b[0] and o[1] >= b[1] for o in found))


@functools.lru_cache(maxsize=None)
def _suit_readings(work: tuple[int, ...], fours: tuple[bool, ...] | None = None, head_free: bool = True,
                   paired_first: bool = False) -> frozenset[tuple[int, int, int, int]]:
    """The (sets, partial sets, head, loose) readings of a suit's counts (`fours`: which kinds the hand holds four
    times) that no other reading beats. The leftmost tile starts a set, a partial set or a pair, or stays loose;
    one pair per kind (a second pair of a kind held four times waits on nothing)."""
    if fours is None:
        fours = tuple(count == 4 for count in work)
    if not work:
        return frozenset({(0, 0, 0, NO_LOOSE)})
    if not work[0]:
        return _suit_readings(work[1:], fours[1:], head_free, False)
    found: set[tuple[int, int, int, int]] = set()

    def extend(taken: tuple[int, ...], sets: int, partial: int, head: int, pair: bool) -> None:
        rest = tuple(count - (taken[d] if d < len(taken) else 0) for d, count in enumerate(work))
        for s, p, h, loose in _suit_readings(rest, fours, head_free and not head, pair):
            found.add((sets + s, min(partial + p, 4), head + h, loose))

    if work[0] >= 3:
        extend((3,), 1, 0, 0, False)
    if work[0] >= 2 and not paired_first:
        extend((2,), 0, 1, 0, True)
        if head_free:
            extend((2,), 0, 0, 1, True)
    if len(work) >= 3 and work[1] and work[2]:
        extend((1, 1, 1), 1, 0, 0, paired_first)
    if len(work) >= 2 and work[1]:
        extend((1, 1), 0, 1, 0, paired_first)
    if len(work) >= 3 and work[2]:
        extend((1, 0, 1), 0, 1, 0, paired_first)
    loose_kind = LOOSE_FOURS if fours[0] else LOOSE_OTHER
    for s, p, h, loose in _suit_readings((work[0] - 1,) + work[1:], fours, head_free, paired_first):
        found.add((s, p, h, max(loose, loose_kind)))
    return _best_readings(found)


LONE_READINGS = {  # a kind without sequences held 0-4 times
    0: frozenset({(0, 0, 0, NO_LOOSE)}),
    1: frozenset({(0, 0, 0, LOOSE_OTHER)}),
    2: frozenset({(0, 1, 0, NO_LOOSE), (0, 0, 1, NO_LOOSE)}),
    3: frozenset({(1, 0, 0, NO_LOOSE), (0, 1, 0, LOOSE_OTHER), (0, 0, 1, LOOSE_OTHER)}),
    4: frozenset({(1, 0, 0, LOOSE_FOURS), (0, 1, 0, LOOSE_FOURS), (0, 0, 1, LOOSE_FOURS)}),
}


@functools.lru_cache(maxsize=None)
def _combine(a: frozenset, b: frozenset) -> frozenset:
    return _best_readings({(x[0] + y[0], min(x[1] + y[1], 4), x[2] + y[2], max(x[3], y[3]))
                           for x in a for y in b if x[2] + y[2] <= 1})


@functools.lru_cache(maxsize=None)
def _lone_readings(counts: tuple[int, ...]) -> frozenset:
    readings = frozenset({(0, 0, 0, NO_LOOSE)})
    for count in counts:
        if count:
            readings = _combine(readings, LONE_READINGS[count])
    return readings


@functools.lru_cache(maxsize=None)
def _regular_shanten(readings: frozenset, called: int) -> int:
    return min(8 - 2 * (sets + called) - min(partial, 4 - sets - called) - head + (not head and loose == LOOSE_FOURS)
               for sets, partial, head, loose in readings)


@functools.lru_cache(maxsize=1_000_000)
def shanten(counts: tuple[int, ...]) -> int:
    """The shanten of concealed 34-format counts (a tuple of 3n + 1 or 3n + 2 tiles; called sets make up the rest)
    under sanma rules: the least over n sets and a pair, seven pairs and thirteen orphans (-1: complete)."""
    total = sum(counts)
    lone = tuple(counts[k] for k in LONE_KINDS)
    readings = _combine(_combine(_lone_readings(lone), _suit_readings(counts[9:18])), _suit_readings(counts[18:27]))
    best = _regular_shanten(readings, 4 - total // 3)
    honour_quads = lone.count(4)
    honour_quads -= honour_quads > 0 and total % 3 == 2
    if best != -1:
        best = max(best, honour_quads)
    if total >= 13:
        pairs = counts.count(2) + counts.count(3) + counts.count(4)
        best = min(best, 6 - pairs + max(0, 7 - (34 - counts.count(0))))
        best = min(best, _orphans_shanten(counts))
    return best


def _orphans_shanten(counts: Sequence[int]) -> int:
    """The shanten of 13 or 14 concealed tiles toward thirteen orphans."""
    orphans = [counts[k] for k in TERMINALS_AND_HONORS]
    return 13 - (13 - orphans.count(0)) - (1 if max(orphans) >= 2 else 0)


def _neighbours(kind: int) -> Sequence[int]:
    """Kinds a drawn tile must be within to help a hand holding `kind`: itself, or two steps in its suit."""
    for suit in SUITS:
        if kind in suit:
            return range(max(suit[0], kind - 2), min(suit[-1], kind + 2) + 1)
    return (kind,)


def acceptance(counts: list[int], unseen: Sequence[int]) -> int:
    """Unseen tiles that lower the shanten of concealed 3n + 1 counts (ukeire); `counts` is restored."""
    base = shanten(tuple(counts))
    candidates = {k for kind, count in enumerate(counts) if count for k in _neighbours(kind)}
    if sum(counts) == 13 and _orphans_shanten(counts) == base:  # thirteen orphans: any terminal or honour may help
        candidates.update(TERMINALS_AND_HONORS)
    total = 0
    for kind in candidates:
        if counts[kind] < 4 and unseen[kind]:
            counts[kind] += 1
            if shanten(tuple(counts)) < base:
                total += int(unseen[kind])
            counts[kind] -= 1
    return total


def best_discards(counts: Sequence[int], unseen: Sequence[int],
                  kinds: Collection[int] | None = None) -> tuple[int, dict[int, int]]:
    """The lowest shanten one discard (of `kinds`, default: any held) leaves concealed 3n + 2 counts, and the
    kinds whose discard leaves it, each with the acceptance of the hand it leaves."""
    work = list(counts)
    after = {}
    for kind in [k for k, count in enumerate(counts) if count and (kinds is None or k in kinds)]:
        work[kind] -= 1
        after[kind] = shanten(tuple(work))
        work[kind] += 1
    best = min(after.values())
    accepted = {}
    for kind in [k for k, value in after.items() if value == best]:
        work[kind] -= 1
        accepted[kind] = acceptance(work, unseen)
        work[kind] += 1
    return best, accepted
