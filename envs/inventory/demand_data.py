"""Read and check a demand (sales) file for the real-data setting: CSV or Parquet, one row per period.

Columns: `date` (any format pandas parses), `demand` (non-negative numbers) and, when the file holds several
stores, `store`. Any problem raises a ValueError naming the file, the column and the row (0-based data row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def load_demand(path: str | Path, store: str | None = None) -> pd.DataFrame:
    """The file's rows for `store` (or its only store) as a DataFrame with `date` (datetime) and `demand` (float),
    sorted by date."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"demand file {path} does not exist")
    if path.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a readable CSV file ({error})") from None
    elif path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path).astype(str)
        except ImportError:
            raise ValueError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    else:
        raise ValueError(f"{path}: unknown file type {path.suffix!r}; valid types: .csv, .parquet")
    for column in ("date", "demand"):
        if column not in frame.columns:
            raise ValueError(f"{path}: missing column {column!r} (columns: {', '.join(frame.columns)})")
    if store is not None:
        store = str(store)  # `store=101` on the command line arrives as a number; the column is read as text
    if "store" in frame.columns:
        stores = sorted(frame["store"].unique())
        if store is None and len(stores) > 1:
            raise ValueError(f"{path}: holds {len(stores)} stores; choose one with store=... ({', '.join(stores[:10])}"
                             f"{', ...' if len(stores) > 10 else ''})")
        if store is not None and store not in stores:
            raise ValueError(f"{path}: no store {store!r}; stores: {', '.join(stores[:10])}{', ...' if len(stores) > 10 else ''}")
        if store is not None:
            frame = frame[frame["store"] == store]
    elif store is not None:
        raise ValueError(f"{path}: store={store!r} given but the file has no 'store' column")
    raw = frame["demand"].str.strip()
    demand = pd.to_numeric(raw, errors="coerce")
    for row, text, value in zip(frame.index, raw, demand):
        if text == "" or text.lower() == "nan":
            raise ValueError(f"{path}: column 'demand', row {row}: missing value")
        if np.isnan(value):
            raise ValueError(f"{path}: column 'demand', row {row}: {text!r} is not a number")
        if not np.isfinite(value):
            raise ValueError(f"{path}: column 'demand', row {row}: {text!r} is not a finite number")
        if value < 0:
            raise ValueError(f"{path}: column 'demand', row {row}: negative demand {value:g}")
    dates = pd.to_datetime(frame["date"], errors="coerce")
    if dates.isna().any():
        row = dates.index[dates.isna()][0]
        raise ValueError(f"{path}: column 'date', row {row}: {frame.loc[row, 'date']!r} is not a date")
    if len(frame) < 2:
        raise ValueError(f"{path}: needs at least 2 rows of demand, found {len(frame)}")
    return pd.DataFrame({"date": dates, "demand": demand.astype(float)}).sort_values("date").reset_index(drop=True)
