"""Atomic checkpoint files: write to a temporary file in the same folder, fsync, then rename over the old one.

A crash or an error mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FILE = "agent.pt"


def checkpoint_path(run_dir: Path) -> Path:
    """Where a run folder keeps its latest training checkpoint."""
    return run_dir / "checkpoint" / CHECKPOINT_FILE


def atomic_torch_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_file(path: Path) -> dict[str, Any]:
    """Load a saved agent or checkpoint (a run folder or its checkpoint/ folder also works)."""
    if path.is_dir():
        for candidate in (path / "checkpoint" / CHECKPOINT_FILE, path / CHECKPOINT_FILE):
            if candidate.is_file():
                path = candidate
                break
        else:
            raise FileNotFoundError(f"no checkpoint in {path} (expected checkpoint/{CHECKPOINT_FILE})")
    if not path.is_file():
        raise FileNotFoundError(f"no saved agent at {path}")
    # The files hold gymnasium spaces and numpy RNG states, so the full pickle loader is needed: load only
    # checkpoints you trust, as with any pickle.
    return torch.load(path, map_location="cpu", weights_only=False)
