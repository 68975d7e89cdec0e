"""Tuned hyperparameters per (agent, environment), applied by the CLI unless --no-recipe is given.

Each recipe is a YAML file `domains/recipes/<agent>.<env id, / replaced by __>.yaml` holding config keys; its
first comment line says where the values came from. Where an environment family's members need different values,
an optional `settings:` section maps each value of the env keyword `setting` to the keys that override the
top-level ones for it (see `recipe_layers`).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from appliedrl.agents.config import ConfigError, load_yaml

RECIPE_DIR = Path(__file__).parent
SETTINGS_KEY = "settings"


def recipe_for(agent: str, env_id: str) -> Path | None:
    """The recipe file for `agent` on `env_id`, or None when there is none."""
    path = RECIPE_DIR / f"{agent}.{env_id.replace('/', '__')}.yaml"
    return path if path.is_file() else None


def recipe_layers(agent: str, env_id: str, env_kwargs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The config layers of the recipe for `agent` on `env_id` (later ones win): its top-level keys, then its
    `settings:` entry for the env's `setting` (from `env_kwargs`, else the env's default); [] without a recipe."""
    path = recipe_for(agent, env_id)
    if path is None:
        return []
    recipe = load_yaml(path)
    per_setting = recipe.pop(SETTINGS_KEY, {})
    if not isinstance(per_setting, dict) or not all(isinstance(keys, dict) for keys in per_setting.values()):
        raise ConfigError(f"recipe {path.name}: '{SETTINGS_KEY}' must map each setting to a mapping of config keys")
    layers = [recipe] if recipe else []
    if per_setting:
        setting = (env_kwargs or {}).get("setting", _default_setting(env_id))
        layers += [per_setting[setting]] if setting in per_setting else []
    return layers


def _default_setting(env_id: str) -> Any:
    """The `setting` an environment gets when none is given: its registration's, else its constructor's default
    (None when it takes no `setting`)."""
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    spec = gym.spec(env_id)
    if "setting" in spec.kwargs:
        return spec.kwargs["setting"]
    creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else spec.entry_point
    parameter = inspect.signature(creator).parameters.get("setting")
    return None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default
