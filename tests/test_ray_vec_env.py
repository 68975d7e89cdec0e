"""vectorization "ray" (agents/ray_vec_env.py) against "sync" in lockstep: the same copies, seeds and autoreset, so
the same observations, rewards, ends, final observations and infos, and the same trained agent."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from appliedrl.agents import PPO, ConfigError
from appliedrl.agents.checkpoint import checkpoint_path
from appliedrl.agents.ray_vec_env import MISSING_RAY
from appliedrl.agents.trainer import train
from appliedrl.agents.vec_env import action_mask_from_info, make_vec_env


@pytest.fixture(scope="module")
def ray():
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        # the workers inherit it and import toy_envs, the entry point of the tests' own envs
        patch.setenv("PYTHONPATH", str(Path(__file__).parent))
        ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def assert_same(a, b, where="") -> None:
    """Equal trees of dicts and arrays: the same keys in the same order, values, dtypes and None entries."""
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert b.dtype == object and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert (x is None) == (y is None), f"{where}[{i}]"
            if x is not None:
                assert_same(x, y, f"{where}[{i}]")
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{where}: {a.dtype} != {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=where)


@pytest.mark.parametrize("env_id,env_kwargs,n,workers,sizes", [
    ("CartPole-v1", {"max_episode_steps": 30}, 3, None, [2, 1]),  # terminations and truncations; one actor per CPU
    ("tests/DictChoice-v0", {"episode_length": 3}, 5, 2, [3, 2]),  # Dict observations, masks, final infos
])
def test_ray_steps_like_sync(ray, env_id, env_kwargs, n, workers, sizes):
    remote = make_vec_env(env_id, n, "ray", env_kwargs, workers)
    local = make_vec_env(env_id, n, "sync", env_kwargs)
    assert remote.sizes == sizes and remote.metadata["autoreset_mode"] == local.metadata["autoreset_mode"]
    assert remote.observation_space == local.observation_space and remote.action_space == local.action_space
    rng = np.random.default_rng(0)
    obs, info = remote.reset(seed=7)
    expected_obs, expected_info = local.reset(seed=7)
    assert_same(obs, expected_obs)
    assert_same(info, expected_info)
    ends = 0
    for t in range(300):
        mask = action_mask_from_info(expected_info, n)
        legal = np.ones((n, 2), bool) if mask is None else mask
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in legal])
        got, expected = remote.step(actions), local.step(actions)
        for name, a, b in zip(("obs", "reward", "terminated", "truncated", "info"), got, expected):
            assert_same(a, b, f"step {t} {name}")
        expected_info = expected[4]
        ends += int("final_obs" in expected_info)
    assert ends > 20
    assert_same(remote.call("np_random_seed"), local.call("np_random_seed"))
    remote.close()
    with pytest.raises(ray.exceptions.RayActorError):  # close ended the actors
        ray.get(remote.shards[0].describe.remote())


def test_ppo_on_ray_trains_as_on_sync(ray, tiny_ppo_config, tmp_path):
    """Truncations bootstrap from the final observations that came back from the actors; a checkpoint holds no
    actors (resuming starts fresh episodes, as with async envs)."""
    config = dataclasses.replace(tiny_ppo_config, n_envs=4, n_steps=64, batch_size=64, vectorization="sync")
    kwargs = {"max_episode_steps": 40}
    sync = PPO("CartPole-v1", config, seed=2, env_kwargs=kwargs)
    on_ray = PPO("CartPole-v1", dataclasses.replace(config, vectorization="ray", rollout_workers=2), seed=2,
                 env_kwargs=kwargs)
    expected = sync.learn(2048, progress_bar=False)
    summary = train(on_ray, 2048, run_dir=tmp_path, progress_bar=False)
    on_ray.close()
    assert torch.equal(torch.cat([p.flatten() for p in on_ray.model.parameters()]),
                       torch.cat([p.flatten() for p in sync.model.parameters()]))
    assert summary["eval"] == expected["eval"] and list(on_ray.episode_returns) == list(sync.episode_returns)
    assert torch.load(checkpoint_path(tmp_path), weights_only=False)["envs"] is None


def test_without_ray_the_error_says_how_to_install_it(monkeypatch, tiny_ppo_config):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(ConfigError) as error:
        PPO("CartPole-v1", dataclasses.replace(tiny_ppo_config, vectorization="ray"), seed=0)
    assert str(error.value) == MISSING_RAY == "vectorization 'ray' needs Ray: pip install appliedrl[distributed]"
