"""Check that two `appliedrl compare` folders hold the same results (e.g. local processes vs `--ray auto`): every
row and learning-curve point equal, training wall times aside.

    python benchmarks/compare_same.py reports/inv reports/inv-ray
"""

import argparse
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    rows = [pd.read_parquet(folder / "results.parquet").drop(columns=["train_seconds"], errors="ignore")
            for folder in (args.first, args.second)]
    pd.testing.assert_frame_equal(*rows)
    curves = [pd.read_parquet(folder / "curves.parquet") for folder in (args.first, args.second)]
    pd.testing.assert_frame_equal(*curves)
    print(f"identical: {len(rows[0])} rows ({rows[0]['status'].value_counts().to_dict()}), {len(curves[0])} "
          f"learning-curve points")


if __name__ == "__main__":
    main()
