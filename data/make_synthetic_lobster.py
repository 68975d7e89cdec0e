"""Write the SYNTHETIC LOBSTER-format sample (message file + 5-level order book) that replay mode uses by default.

    python data/make_synthetic_lobster.py   # rebuilds the two files exactly (seed 2026)

A toy order-driven market, not real data: limit orders arrive a few ticks from the best quotes, each resting
order is cancelled at a constant rate, market orders execute against the front of the opposite queue (one type-4
message per resting order they hit). LOBSTER conventions: time in seconds after midnight, prices in dollars × 10,000,
direction +1 for buy limit orders and −1 for sell limit orders, one book row per message, empty levels as
±9999999999 with size 0.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2026
MESSAGES = 3000
LEVELS = 5
TICK = 100  # $0.01 in LOBSTER price units
START_TIME = 34200.0  # 9:30
EMPTY_ASK, EMPTY_BID = 9999999999, -9999999999
LIMIT_RATE, MARKET_RATE, CANCEL_RATE = 1.5, 0.4, 0.03  # per second; cancellations per resting order
NAME = f"SYNTHETIC_2026-01-02_34200000_57600000_{{}}_{LEVELS}.csv"


class ToyBook:
    """Price -> FIFO queue of [order id, size] per side; bids keyed by price, best bid the highest."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.next_id = rng, 1
        self.sides = {1: {}, -1: {}}  # +1 bids, -1 asks
        mid = 1_000_000
        for level in range(1, 11):
            for _ in range(rng.integers(1, 4)):
                self._add(1, mid - level * TICK, self._size())
                self._add(-1, mid + level * TICK, self._size())

    def _size(self) -> int:
        return 100 * int(self.rng.integers(1, 6))

    def _add(self, side: int, price: int, size: int) -> int:
        self.sides[side].setdefault(price, deque()).append([self.next_id, size])
        self.next_id += 1
        return self.next_id - 1

    def best(self, side: int) -> int:
        return max(self.sides[1]) if side == 1 else min(self.sides[-1])

    def limit(self) -> list[tuple]:
        side = int(self.rng.choice([1, -1]))
        spread_ticks = (self.best(-1) - self.best(1)) // TICK
        offset = int(self.rng.geometric(0.45)) - 1  # ticks behind the best quote
        if spread_ticks > 1 and self.rng.random() < 0.3:
            offset = -int(self.rng.integers(1, spread_ticks))  # improve the quote inside the spread
        price = self.best(side) - side * offset * TICK
        size = self._size()
        return [(1, self._add(side, price, size), size, price, side)]

    def orders(self) -> int:
        return sum(len(queue) for side in self.sides.values() for queue in side.values())

    def cancel(self) -> list[tuple]:
        """Cancel a uniformly chosen resting order (all of it, or part of it)."""
        resting = [(side, price, order) for side, levels in self.sides.items() for price, queue in levels.items()
                   for order in queue]
        side, price, order = resting[int(self.rng.integers(len(resting)))]
        if len(self.sides[side]) <= LEVELS and len(self.sides[side][price]) == 1:
            return self.limit()  # keep at least L levels on each side
        queue = self.sides[side][price]
        if order[1] > 100 and self.rng.random() < 0.3:
            cut = 100 * int(self.rng.integers(1, order[1] // 100))
            order[1] -= cut
            return [(2, order[0], cut, price, side)]
        queue.remove(order)
        if not queue:
            del self.sides[side][price]
        return [(3, order[0], order[1], price, side)]

    def market(self) -> list[tuple]:
        side = int(self.rng.choice([1, -1]))  # side of the resting orders hit
        remaining, messages = 100 * int(self.rng.integers(1, 8)), []
        while remaining > 0 and len(self.sides[side]) > LEVELS:
            price = self.best(side)
            queue = self.sides[side][price]
            order = queue[0]
            traded = min(remaining, order[1])
            order[1] -= traded
            remaining -= traded
            messages.append((4, order[0], traded, price, side))
            if order[1] == 0:
                queue.popleft()
                if not queue:
                    del self.sides[side][price]
        return messages

    def snapshot(self) -> list[int]:
        asks = sorted(self.sides[-1])[:LEVELS]
        bids = sorted(self.sides[1], reverse=True)[:LEVELS]
        row = []
        for level in range(LEVELS):
            ask = asks[level] if level < len(asks) else None
            bid = bids[level] if level < len(bids) else None
            row += [EMPTY_ASK, 0] if ask is None else [ask, sum(order[1] for order in self.sides[-1][ask])]
            row += [EMPTY_BID, 0] if bid is None else [bid, sum(order[1] for order in self.sides[1][bid])]
        return row


def make_sample(messages: int = MESSAGES, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The message and order-book tables of a seeded toy market."""
    rng = np.random.default_rng(seed)
    book = ToyBook(rng)
    time, rows, books = START_TIME, [], []
    while len(rows) < messages:
        rates = np.array([LIMIT_RATE, CANCEL_RATE * book.orders(), MARKET_RATE])
        time += rng.exponential(1.0 / rates.sum())
        event = rng.choice(["limit", "cancel", "market"], p=rates / rates.sum())
        for message in getattr(book, event)():
            rows.append((round(time, 9), *message))
            books.append(book.snapshot())
    message_table = pd.DataFrame(rows[:messages], columns=["time", "type", "order_id", "size", "price", "direction"])
    return message_table, pd.DataFrame(books[:messages])


if __name__ == "__main__":
    messages, books = make_sample()
    folder = Path(__file__).parent
    messages.to_csv(folder / NAME.format("message"), header=False, index=False, float_format="%.9f")
    books.to_csv(folder / NAME.format("orderbook"), header=False, index=False)
    print(f"wrote {len(messages)} messages to {folder / NAME.format('message')}")
