"""LOBSTER limit-order-book histories: a checked loader and the batched replay market with queue-position fills.

LOBSTER ships a day as two headerless CSV files: `..._message_L.csv` (time in seconds after midnight, event
type, order id, size, price in dollars × 10,000, direction: +1 buy limit order, −1 sell limit order) and
`..._orderbook_L.csv` (ask price, ask size, bid price, bid size for levels 1..L: the book after each message).

Replay: the day is cut into decision intervals of `horizon / steps` seconds. Our quote at a price joins the back
of that level's visible queue; executions of resting orders (type 4) on our side at our price consume the volume
ahead of us first, then fill us (partially when they run out); an execution at a worse price means our level was
swept, so we fill fully. Volume ahead never exceeds the level's current visible volume (cancellations ahead of us
move us up). A quote priced beyond the file's L levels has nothing ahead of it. Our orders do not change the book.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from appliedrl.data import SYNTHETIC_LOBSTER_MESSAGES

MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
BOOK_FIELDS = ("ask price", "ask size", "bid price", "bid size")
EXECUTION = 4  # execution of a visible limit order; 5 (hidden) counts as trade flow only
HIDDEN_EXECUTION = 5
PRICE_SCALE = 10_000  # LOBSTER prices are dollars × 10,000
CLIP = 10.0  # z-scored features are clipped to ±10


def book_path(message_path: str | Path) -> Path:
    """The order-book file that goes with a LOBSTER message file (same name with orderbook for message)."""
    path = Path(message_path)
    if "message" not in path.name:
        raise ValueError(f"data={str(path)!r} is invalid: expected a LOBSTER message file (…_message_L.csv)")
    return path.with_name(path.name.replace("message", "orderbook"))


def _read(path: Path, names: list[str], what: str) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"{what} file {path} does not exist")
    table = pd.read_csv(path, header=None)
    if table.shape[1] < len(names):
        raise ValueError(f"{what} file {path}: column {table.shape[1] + 1} ({names[table.shape[1]]!r}) is missing; "
                         f"expected {len(names)} columns: {', '.join(names)}")
    table = table.iloc[:, :len(names)]
    table.columns = names
    bad = table.isna().any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        column = table.columns[table.iloc[row].isna()][0]
        raise ValueError(f"{what} file {path}: row {row + 1} has no value in column {column!r}")
    return table


def load_lobster(message_path: str | Path, levels: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The message and order-book tables of a LOBSTER day, checked: matching rows, sorted times, uncrossed book.

    `levels` defaults to the L in the file name (…_message_L.csv) or else the book file's columns / 4.
    """
    message_path = Path(message_path)
    messages = _read(message_path, list(MESSAGE_COLUMNS), "message")
    path = book_path(message_path)
    if levels is None:
        suffix = message_path.stem.rsplit("_", 1)[-1]
        levels = int(suffix) if suffix.isdigit() else len(pd.read_csv(path, header=None, nrows=1).columns) // 4
    names = [f"{field} {level}" for level in range(1, levels + 1) for field in BOOK_FIELDS]
    book = _read(path, names, "order-book")
    if len(book) != len(messages):
        raise ValueError(f"order-book file {path} has {len(book)} rows but the message file has {len(messages)}; "
                         f"LOBSTER writes one book row per message")
    times = messages["time"].to_numpy(np.float64)
    unsorted = np.flatnonzero(np.diff(times) < 0)
    if unsorted.size:
        row = int(unsorted[0]) + 1
        raise ValueError(f"message file {message_path}: column 'time' is not sorted at row {row + 1} "
                         f"({times[row]} after {times[row - 1]})")
    crossed = np.flatnonzero(book["bid price 1"].to_numpy() >= book["ask price 1"].to_numpy())
    if crossed.size:
        row = int(crossed[0])
        raise ValueError(f"order-book file {path}: crossed quotes at row {row + 1} (bid price 1 "
                         f"{book['bid price 1'].iloc[row]} >= ask price 1 {book['ask price 1'].iloc[row]})")
    return messages, book


class ReplayMarket:
    """A LOBSTER day on a grid of decision times, replayed for `n` episodes at once (random start times)."""

    key_stride = 10**11  # > any LOBSTER price, so (interval, price) sorts as one integer

    def __init__(self, n: int, data: str | Path | None, horizon: float, steps: int, lot_size: float) -> None:
        messages, book = load_lobster(SYNTHETIC_LOBSTER_MESSAGES if data is None else data)
        self.n, self.steps, self.lot_size = n, steps, lot_size
        self.levels = book.shape[1] // 4
        prices = book.to_numpy(np.int64).reshape(len(book), self.levels, 4)
        times = messages["time"].to_numpy(np.float64)
        dt = horizon / steps
        self.intervals = int((times[-1] - times[0]) / dt)
        if self.intervals < 2 * steps + 1:
            raise ValueError(f"data covers {times[-1] - times[0]:.0f} s, too short for episodes of horizon={horizon} "
                             f"s after a window of the same length; use a shorter horizon")
        grid = times[0] + dt * np.arange(self.intervals + 1)
        rows = np.searchsorted(times, grid, "right") - 1  # the book at each decision time
        self.ask_prices, self.ask_sizes = prices[rows, :, 0], prices[rows, :, 1]
        self.bid_prices, self.bid_sizes = prices[rows, :, 2], prices[rows, :, 3]
        self.levels_of = {1: (self.bid_prices, self.bid_sizes), -1: (self.ask_prices, self.ask_sizes)}
        quoted = np.concatenate([prices[:, :, 0][prices[:, :, 1] > 0], prices[:, :, 2][prices[:, :, 3] > 0]])
        self.tick_units = int(np.gcd.reduce(np.diff(np.unique(quoted))))
        self.tick = self.tick_units / PRICE_SCALE
        interval = np.clip(np.searchsorted(grid, times, "right") - 1, 0, self.intervals - 1)  # message -> interval
        self._index_executions(messages, interval)
        self.features_table = self._features(messages, prices, interval)
        self.n_features = self.features_table.shape[1] + 1  # + PnL
        self.mid = np.zeros(n)
        self.start, self.j = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.queue = {1: np.zeros(n), -1: np.zeros(n)}  # volume ahead of our bid (1) and ask (−1)
        self.quoted = {1: np.full(n, -1, np.int64), -1: np.full(n, -1, np.int64)}  # their prices; −1: none yet
        self.initial_depth = self.tick / 2  # joins the best quotes when the spread is one tick
        self.max_depth = 10.0 * self.levels * self.tick

    def _index_executions(self, messages: pd.DataFrame, interval: np.ndarray) -> None:
        """Visible executions keyed by (interval, price), sorted, with cumulative sizes, per side of the book."""
        self.exec_keys, self.exec_cumsize = {}, {}
        executed = messages["type"].to_numpy() == EXECUTION
        for side in (1, -1):
            chosen = executed & (messages["direction"].to_numpy() == side)
            keys = interval[chosen] * self.key_stride + messages["price"].to_numpy(np.int64)[chosen]
            order = np.argsort(keys, kind="stable")
            self.exec_keys[side] = keys[order]
            self.exec_cumsize[side] = np.concatenate([[0], np.cumsum(messages["size"].to_numpy()[chosen][order])])

    def _volume(self, side: int, j: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Executed size on `side` in intervals j at prices in [low, high)."""
        keys, cum = self.exec_keys[side], self.exec_cumsize[side]
        base = j * self.key_stride
        return cum[np.searchsorted(keys, base + high)] - cum[np.searchsorted(keys, base + low)]

    def _features(self, messages: pd.DataFrame, prices: np.ndarray, interval: np.ndarray) -> np.ndarray:
        """Per decision time: spread (ticks), mid log-return, order-flow imbalance per level, trade-flow
        imbalance over the interval before it, z-scored with the mean and std of the `steps` intervals before."""
        ask_p, ask_s, bid_p, bid_s = (prices[:, :, k].astype(np.float64) for k in range(4))
        # Cont, Kukanov & Stoikov's order-flow imbalance, level by level, from consecutive book rows
        ofi = np.zeros_like(ask_p)
        ofi[1:] = ((bid_p[1:] >= bid_p[:-1]) * bid_s[1:] - (bid_p[1:] <= bid_p[:-1]) * bid_s[:-1]
                   - (ask_p[1:] <= ask_p[:-1]) * ask_s[1:] + (ask_p[1:] >= ask_p[:-1]) * ask_s[:-1])
        per_interval = np.zeros((self.intervals + 1, self.levels))
        np.add.at(per_interval, interval + 1, ofi)
        trades = messages["type"].isin([EXECUTION, HIDDEN_EXECUTION]).to_numpy()
        signed = np.where(messages["direction"].to_numpy() == 1, -1.0, 1.0) * messages["size"].to_numpy()  # buys +
        buy_minus_sell, volume = np.zeros(self.intervals + 1), np.zeros(self.intervals + 1)
        np.add.at(buy_minus_sell, interval[trades] + 1, signed[trades])
        np.add.at(volume, interval[trades] + 1, np.abs(signed[trades]))
        mid = (self.ask_prices[:, 0] + self.bid_prices[:, 0]) / 2.0
        log_return = np.concatenate([[0.0], np.diff(np.log(mid))])
        spread = (self.ask_prices[:, 0] - self.bid_prices[:, 0]) / self.tick_units
        raw = pd.DataFrame(np.column_stack([spread, log_return, per_interval,
                                            buy_minus_sell / np.maximum(volume, 1.0)]))
        previous = raw.rolling(self.steps).agg(["mean", "std"]).shift(1)
        mean = previous.xs("mean", axis=1, level=1).to_numpy()
        std = previous.xs("std", axis=1, level=1).to_numpy()
        return np.clip((raw.to_numpy() - mean) / np.where(std > 0, std, 1.0), -CLIP, CLIP)

    def reset(self, rng: np.random.Generator, rows: np.ndarray) -> None:
        """Start the episodes of `rows` at random decision times that have a full window of statistics before."""
        self.start[rows] = rng.integers(self.steps + 1, self.intervals - self.steps + 1, len(rows))
        self.j[rows] = self.start[rows]
        for side in (1, -1):
            self.quoted[side][rows] = -1
        self._set_mid(rows)

    def _set_mid(self, rows: np.ndarray) -> None:
        j = self.j[rows]
        self.mid[rows] = (self.ask_prices[j, 0] + self.bid_prices[j, 0]) / (2.0 * PRICE_SCALE)

    def grid_depth(self, level: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Depths that quote `level` ticks behind the best quotes."""
        j = self.j[rows][:, None]
        best = np.stack([self.bid_prices[j[:, 0], 0], self.ask_prices[j[:, 0], 0]], 1) / PRICE_SCALE
        return np.abs(best - self.mid[rows][:, None]) + level * self.tick

    def flatten_prices(self) -> tuple[np.ndarray, np.ndarray]:
        """A market sell executes at the best bid, a market buy at the best ask."""
        return self.bid_prices[self.j, 0] / PRICE_SCALE, self.ask_prices[self.j, 0] / PRICE_SCALE

    def quote_prices(self, bid_depth: np.ndarray, ask_depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Depths rounded away from the mid to the tick, never crossing the opposite best quote."""
        bid, ask = self._quote_units(bid_depth, ask_depth)
        return bid / PRICE_SCALE, ask / PRICE_SCALE

    def _quote_units(self, bid_depth: np.ndarray, ask_depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        units = self.mid * PRICE_SCALE
        bid = np.floor((units - bid_depth * PRICE_SCALE) / self.tick_units + 1e-9).astype(np.int64) * self.tick_units
        ask = np.ceil((units + ask_depth * PRICE_SCALE) / self.tick_units - 1e-9).astype(np.int64) * self.tick_units
        return (np.minimum(bid, self.ask_prices[self.j, 0] - self.tick_units),
                np.maximum(ask, self.bid_prices[self.j, 0] + self.tick_units))

    def step(self, bid_depth: np.ndarray, ask_depth: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Lots filled on each side (one lot offered, less near the inventory bound) over the next interval."""
        bid, ask = self._quote_units(bid_depth, ask_depth)
        bought = self._fill(1, bid, np.minimum(bid_size, 1.0))
        sold = self._fill(-1, ask, np.minimum(ask_size, 1.0))
        self.j += 1
        self._set_mid(np.arange(self.n))
        return bought, sold

    def _fill(self, side: int, price: np.ndarray, lots: np.ndarray) -> np.ndarray:
        """Lots of our order at `price` on `side` (1 bid, −1 ask) filled over the current interval."""
        level_prices, level_sizes = self.levels_of[side]
        queue, quoted = self.queue[side], self.quoted[side]
        visible = np.where(level_prices[self.j] == price[:, None], level_sizes[self.j], 0).sum(1).astype(np.float64)
        queue[:] = np.where(quoted != price, visible, np.minimum(queue, visible))  # a new price: back of the queue
        quoted[:] = price
        at_price = self._volume(side, self.j, price, price + 1)
        if side == 1:  # sells hit the bids from the top: an execution below our price means our level was swept
            swept = self._volume(side, self.j, np.zeros_like(price), price) > 0
        else:
            swept = self._volume(side, self.j, price + 1, np.full_like(price, self.key_stride - 1)) > 0
        shares = lots * self.lot_size
        filled = np.where(swept, shares, np.clip(at_price - queue, 0.0, shares))
        queue[:] = np.maximum(queue - at_price, 0.0)
        return filled / self.lot_size

    def features(self, book) -> np.ndarray:
        pnl = book.value / (self.tick * self.lot_size)  # in ticks on one lot
        return np.column_stack([pnl, self.features_table[self.j]])
