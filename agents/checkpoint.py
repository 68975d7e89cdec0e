"""Atomic checkpoint files: write to a temporary file in the same folder, fsync, then rename over the old one.

A crash or an error mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import torch

CHECKPOINT_FILE = "agent.pt"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped training at the end of an iteration; `run_dir` holds a checkpoint of that point (None: the
    run had no folder, so nothing was saved)."""

    def __init__(self, run_dir: Path | None) -> None:
        super().__init__()
        self.run_dir = run_dir


class DeferredInterrupt:
    """Within this context a first Ctrl-C only sets `requested`: the training loop finishes its iteration, saves a
    checkpoint and raises Interrupted, so the run resumes exactly. A second Ctrl-C interrupts at once."""

    def __enter__(self) -> "DeferredInterrupt":
        self.requested = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self.previous = signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self.previous)

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def stop_if_requested(self, save: Callable[[], Any], run_dir: Path | None) -> None:
        """When Ctrl-C was pressed: `save()` the checkpoint into `run_dir` (if the run has one), raise Interrupted."""
        if self.requested:
            if run_dir is not None:
                save()
            raise Interrupted(run_dir)


def checkpoint_path(run_dir: Path) -> Path:
    """Where a run folder keeps its latest training checkpoint."""
    return run_dir / "checkpoint" / CHECKPOINT_FILE


def atomic_torch_save(obj: Any, path: Path) -> None:
    _atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: Path) -> None:
    _atomic_write(path, lambda f: f.write(text.encode()))


def _atomic_write(path: Path, write: Callable[[Any], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
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
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, AttributeError, ImportError) as error:
        raise ValueError(f"{path} is not a saved appliedrl agent or checkpoint ({type(error).__name__})") from None
    if not isinstance(data, dict) or "agent" not in data:
        raise ValueError(f"{path} is not a saved appliedrl agent or checkpoint")
    return data
