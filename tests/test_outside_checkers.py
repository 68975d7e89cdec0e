"""The outside world's checkers on every environment the project offers: Gymnasium's and Stable-Baselines3's env
checkers and SB3's `make_vec_env` on each registered `appliedrl/` id; PettingZoo's test suites on each PettingZoo
module. Both lists are read from the package, so a new environment is checked without editing this file."""

from __future__ import annotations

import importlib
import pkgutil

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, parallel_seed_test, render_test, seed_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env

import appliedrl.envs  # importing appliedrl registers the appliedrl/ ids
from appliedrl.envs.particles import SCENARIOS

GYMNASIUM_IDS = [env_id for env_id in gym.registry if env_id.startswith("appliedrl/")]


def _unmasked(env_id: str) -> dict:
    """The keywords under which the env accepts the checkers' random (unmasked) actions; an optional env whose
    requirements are missing here is skipped, saying what to install."""
    spec = appliedrl.envs.env_specs()[env_id]
    if spec.missing():
        pytest.skip(f"{env_id} needs {', '.join(spec.missing())}")
    return spec.checker_kwargs


def _pettingzoo_modules() -> list[str]:
    """Every module under appliedrl.envs that offers PettingZoo constructors (`env` and `parallel_env`)."""
    names = [info.name for info in pkgutil.walk_packages(appliedrl.envs.__path__, "appliedrl.envs.")]
    return [name for name in names
            if all(hasattr(importlib.import_module(name), attr) for attr in ("env", "parallel_env"))]


PETTINGZOO_MODULES = _pettingzoo_modules()


def test_the_lists_find_the_environments() -> None:
    assert "appliedrl/Inventory-v0" in GYMNASIUM_IDS
    assert {f"appliedrl.envs.particles.{name}" for name in SCENARIOS} <= set(PETTINGZOO_MODULES)


@pytest.mark.parametrize("env_id", GYMNASIUM_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    check_env(gym.make(env_id, **_unmasked(env_id)).unwrapped)
    for mode in gym.make(env_id).metadata["render_modes"]:
        env = gym.make(env_id, render_mode=mode, **_unmasked(env_id))
        check_env(env.unwrapped)
        env.reset(seed=0)
        frame = env.render()
        assert mode != "rgb_array" or (frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8)


@pytest.mark.parametrize("env_id", GYMNASIUM_IDS)
def test_sb3_check_env_and_make_vec_env(env_id: str) -> None:
    sb3_check_env(gym.make(env_id, **_unmasked(env_id)))
    envs = make_vec_env(env_id, n_envs=2, seed=0, env_kwargs=_unmasked(env_id))  # passes render_mode="rgb_array" unless told otherwise
    obs = envs.reset()
    dict_space = isinstance(envs.observation_space, gym.spaces.Dict)
    spaces = envs.observation_space.spaces if dict_space else {None: envs.observation_space}
    batch = obs if dict_space else {None: obs}
    assert all(batch[key].shape == (2, *space.shape) for key, space in spaces.items())
    envs.step(np.array([envs.action_space.sample() for _ in range(2)]))
    envs.close()


@pytest.mark.parametrize("env_id", GYMNASIUM_IDS)
def test_bad_keywords(env_id: str) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_option'"):
        gym.make(env_id, no_such_option=1)
    with pytest.raises(ValueError, match="render_mode"):
        gym.make(env_id, render_mode="no_such_mode")


@pytest.mark.parametrize("name", PETTINGZOO_MODULES)
@pytest.mark.parametrize("continuous", [False, True])
def test_pettingzoo_api_and_seeding(name: str, continuous: bool) -> None:
    module = importlib.import_module(name)
    api_test(module.env(continuous_actions=continuous), num_cycles=30)
    parallel_api_test(module.parallel_env(continuous_actions=continuous), num_cycles=30)
    seed_test(lambda: module.env(continuous_actions=continuous), num_cycles=30)
    parallel_seed_test(lambda: module.parallel_env(continuous_actions=continuous), num_cycles=30)


@pytest.mark.parametrize("name", PETTINGZOO_MODULES)
def test_pettingzoo_max_cycles(name: str) -> None:
    max_cycles_test(importlib.import_module(name))


@pytest.mark.parametrize("name", PETTINGZOO_MODULES)
def test_pettingzoo_render(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # "human" opens its window off-screen
    module = importlib.import_module(name)
    render_test(module.env)
    env = module.parallel_env(render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (700, 700, 3) and (image < 255).any()  # something is drawn
