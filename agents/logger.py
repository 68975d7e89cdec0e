"""Metrics to CSV (one row per log point, columns grown as new metrics appear) and to TensorBoard."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class MetricsLogger:
    """Append rows of scalars keyed by env step to `metrics.csv` and, optionally, TensorBoard event files."""

    def __init__(self, run_dir: Path, tensorboard: bool = True, resume_step: int | None = None) -> None:
        self.path = run_dir / "metrics.csv"
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        if resume_step is not None and self.path.is_file():  # drop rows logged after the checkpoint
            with self.path.open(newline="") as f:
                reader = csv.DictReader(f)
                self.columns = list(reader.fieldnames or [])
                self.rows = [r for r in reader if float(r["step"]) <= resume_step]
            self._rewrite()
        elif self.path.exists():
            self.path.unlink()
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: it is slow to import

            self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        row = {"step": step, **metrics}
        self.rows.append(row)
        if any(k not in self.columns for k in row):
            self.columns += [k for k in row if k not in self.columns]
            self._rewrite()
        else:
            with self.path.open("a", newline="") as f:
                csv.DictWriter(f, self.columns).writerow(row)
        if self.writer is not None:
            for key, value in metrics.items():
                self.writer.add_scalar(key, value, step)

    def _rewrite(self) -> None:
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
