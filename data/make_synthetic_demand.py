"""Generate data/synthetic_demand.csv: weekly unit sales of 12 stores over 3 years, SYNTHETIC (no real data).

Each store has its own level (2-9 units a week), a yearly season (amplitude 10-40%), a mild trend, and a
holiday bump in the last weeks of the year; counts are negative-binomial around that mean (dispersion 8), so
they are overdispersed like real sales. Run `python data/make_synthetic_demand.py` to rebuild the file exactly
(seed 2026).
"""

from pathlib import Path

import numpy as np
import pandas as pd

STORES, WEEKS, SEED = 12, 156, 2026


def make() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    dates = pd.date_range("2022-01-03", periods=WEEKS, freq="W-MON")
    week = np.arange(WEEKS)
    rows = []
    for store in range(STORES):
        level = rng.uniform(2.0, 9.0)
        season = 1 + rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * (week / 52.0 + rng.uniform()))
        trend = 1 + rng.uniform(-0.1, 0.2) * week / WEEKS
        holiday = 1 + 0.5 * (dates.isocalendar().week.to_numpy() >= 50)
        mean = level * season * trend * holiday
        dispersion = 8.0
        sales = rng.negative_binomial(dispersion, dispersion / (dispersion + mean))
        rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "store": f"S{store:02d}", "demand": sales}))
    return pd.concat(rows, ignore_index=True)


if __name__ == "__main__":
    out = Path(__file__).with_name("synthetic_demand.csv")
    make().to_csv(out, index=False)
    print(f"wrote {out}")
