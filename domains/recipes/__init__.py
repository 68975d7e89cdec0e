"""Tuned hyperparameters per (agent, environment), applied by the CLI unless --no-recipe is given.

Each recipe is a YAML file `domains/recipes/<agent>.<env id, / replaced by __>.yaml` holding config keys; its
first comment line says where the values came from.
"""

from __future__ import annotations

from pathlib import Path

RECIPE_DIR = Path(__file__).parent


def recipe_for(agent: str, env_id: str) -> Path | None:
    """The recipe file for `agent` on `env_id`, or None when there is none."""
    path = RECIPE_DIR / f"{agent}.{env_id.replace('/', '__')}.yaml"
    return path if path.is_file() else None
