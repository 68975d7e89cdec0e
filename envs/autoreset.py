"""The info a native SAME_STEP-autoreset vector env returns on a step that ends episodes."""

from __future__ import annotations

from typing import Any

import numpy as np


def final_info(final_obs: np.ndarray, done: np.ndarray, episode_metrics: dict[str, np.ndarray]) -> dict[str, Any]:
    """The ended episodes' last observations and `episode_metrics` (values of other rows zeroed), each key with its
    `_key` mask, as Gymnasium's vector envs report them; `done` is the boolean mask of the ended episodes."""
    metrics: dict[str, np.ndarray] = {key: np.where(done, value, 0.0) for key, value in episode_metrics.items()}
    metrics.update({f"_{key}": done.copy() for key in episode_metrics})
    return {"final_obs": np.array(list(final_obs), dtype=object), "_final_obs": done.copy(),
            "final_info": {"episode_metrics": metrics, "_episode_metrics": done.copy()}, "_final_info": done.copy()}
