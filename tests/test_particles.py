"""Particle worlds: lockstep equality with mpe2, the PettingZoo API, the batched interface and bad input."""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest
import torch

from appliedrl.envs.particles import SCENARIOS, ParticleWorlds

mpe2 = pytest.importorskip("mpe2")

EPISODES = 100
FEWER_EPISODES = {"collect_treasure_v1": 20}  # mpe2 takes 2.4 ms a step there, ten times its usual


def _pair(name: str, **kwargs):
    reference = importlib.import_module(f"mpe2.{name}").parallel_env(**kwargs)
    ours = importlib.import_module(f"appliedrl.envs.particles.{name}").parallel_env(**kwargs)
    return reference, ours


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_lockstep_with_mpe2(name: str, continuous: bool) -> None:
    """Seeded once, then reset without a seed: every observation and reward equals mpe2's for 100 episodes
    (fewer where mpe2 is slow)."""
    reference, ours = _pair(name, continuous_actions=continuous)
    assert ours.possible_agents == reference.possible_agents
    for agent in reference.possible_agents:
        assert ours.action_space(agent) == reference.action_space(agent)
        assert ours.observation_space(agent) == reference.observation_space(agent)
    rng = np.random.default_rng(0)
    worst = 0.0
    for episode in range(FEWER_EPISODES.get(name, EPISODES)):
        seed = 7 if episode == 0 else None
        obs_ref, _ = reference.reset(seed=seed)
        obs_ours, _ = ours.reset(seed=seed)
        worst = max(worst, *(np.abs(obs_ref[a] - obs_ours[a]).max() for a in obs_ref))
        while reference.agents:
            actions = {a: (rng.random(reference.action_space(a).shape[0]).astype(np.float32) if continuous
                           else int(rng.integers(reference.action_space(a).n))) for a in reference.agents}
            obs_ref, rew_ref, term_ref, trunc_ref, _ = reference.step(actions)
            obs_ours, rew_ours, term_ours, trunc_ours, _ = ours.step(actions)
            for a in actions:
                worst = max(worst, np.abs(obs_ref[a] - obs_ours[a]).max(), abs(rew_ref[a] - rew_ours[a]))
            assert (term_ref, trunc_ref) == (term_ours, trunc_ours)
            assert ours.agents == reference.agents
        np.testing.assert_allclose(ours.state(), reference.state(), atol=1e-6)
    assert worst <= 1e-6


OPTIONS = [("simple_spread_v3", {"N": 4, "local_ratio": 0.2, "terminate_on_success": True}),
           ("simple_spread_v3", {"N": 5, "num_agent_neighbors": 2, "num_landmark_neighbors": 3}),
           ("simple_tag_v3", {"num_good": 2, "num_adversaries": 2, "num_obstacles": 1, "curriculum": True}),
           ("simple_tag_v3", {"num_agent_neighbors": 2, "num_landmark_neighbors": 3}),
           ("simple_tag_v3", {"num_obstacles": 0, "num_landmark_neighbors": 1}),
           ("simple_adversary_v3", {"N": 3, "num_agent_neighbors": 1, "num_landmark_neighbors": 2}),
           ("simple_line_v1", {"N": 7, "terminate_on_success": True}),
           ("simple_line_v1", {"N": 1}),
           ("simple_formation_v1", {"N": 1, "terminate_on_success": True}),
           ("collect_treasure_v1", {"num_collectors": 3, "num_deposits": 3, "num_treasures": 10})]


@pytest.mark.parametrize("name, kwargs", OPTIONS)
def test_lockstep_with_mpe2_options(name: str, kwargs: dict) -> None:
    """Non-default keywords: more agents, terminate_on_success, partial observability (n nearest, zero-padded),
    a curriculum (at its first stage: mpe2 1.1.1 never leaves it, its BaseScenario.curriculum_stage property
    drops assignments), 7 agents to assign to the line (solved by scipy, not by enumeration)."""
    reference, ours = _pair(name, max_cycles=40, **kwargs)
    for agent in reference.possible_agents:
        assert ours.observation_space(agent) == reference.observation_space(agent)
    rng = np.random.default_rng(1)
    for episode in range(10):
        obs_ref, _ = reference.reset(seed=episode)
        obs_ours, _ = ours.reset(seed=episode)
        while reference.agents:
            actions = {a: int(rng.integers(reference.action_space(a).n)) for a in reference.agents}
            obs_ref, rew_ref, term_ref, _, _ = reference.step(actions)
            obs_ours, rew_ours, term_ours, _, _ = ours.step(actions)
            for a in actions:
                np.testing.assert_allclose(obs_ours[a], obs_ref[a], atol=1e-6)
                assert rew_ours[a] == pytest.approx(rew_ref[a], abs=1e-6)
            assert term_ours == term_ref


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("name", ["simple_spread_v3", "simple_world_comm_v3", "simple_speaker_listener_v4",
                                  "simple_line_v1"])
def test_batched_matches_single_environments(name: str, continuous: bool) -> None:
    """Each environment of a batch evolves exactly as the same state stepped alone."""
    batch = ParticleWorlds(name, 6, continuous_actions=continuous, dtype=torch.float64, autoreset=False)
    batch.reset(seed=3)
    generator = torch.Generator().manual_seed(0)
    k = 4
    single = ParticleWorlds(name, 1, continuous_actions=continuous, dtype=torch.float64, autoreset=False)
    for attr in ("pos", "vel", "comm"):
        setattr(single.world, attr, getattr(batch.world, attr)[k:k + 1].clone())
    for attr in ("goal", "goals", "key", "line_targets"):
        if getattr(batch.scenario, attr, None) is not None:
            setattr(single.scenario, attr, getattr(batch.scenario, attr)[k:k + 1].clone())
    for _ in range(20):
        if continuous:
            actions = torch.rand(6, len(batch.agents), max(batch.action_dims), generator=generator)
            for i, dim in enumerate(batch.action_dims):
                actions[:, i, dim:] = 0
        else:
            limits = torch.tensor([s.n for s in batch.action_spaces.values()])
            actions = (torch.rand(6, len(batch.agents), generator=generator) * limits).long()
        obs, rewards, _, _, _ = batch.step(actions)
        obs_single, rewards_single, _, _, _ = single.step(actions[k:k + 1])
        torch.testing.assert_close(obs[k:k + 1], obs_single, rtol=0, atol=1e-12)
        torch.testing.assert_close(rewards[k:k + 1], rewards_single, rtol=0, atol=1e-12)


def _steer(relative: np.ndarray, velocity: np.ndarray) -> int:
    """The discrete move that best closes the offset `relative`, braking for the velocity."""
    error = relative - 0.5 * velocity
    if np.abs(error).max() < 0.01:
        return 0
    if abs(error[0]) > abs(error[1]):
        return 2 if error[0] > 0 else 1
    return 4 if error[1] > 0 else 3


def _fetch(obs: np.ndarray, collector: bool, kind: int, n_types: int = 2, n_agents: int = 8) -> int:
    """collect_treasure from an observation: a collector heads for the nearest treasure or, carrying type `kind`,
    for that type's deposit; deposit `kind` heads for the nearest collector carrying its type."""
    width = 4 + 2 * n_types
    start = 4 + n_types if collector else 4
    others = obs[start: start + (n_agents - 1) * width].reshape(n_agents - 1, width)
    if collector and kind < 0:
        return _steer(obs[start + (n_agents - 1) * width:][:2], obs[2:4])
    matches = np.flatnonzero(others[:, 4 + kind if collector else 4 + n_types + kind] == 1)
    return _steer(others[matches[0], :2] if len(matches) else np.zeros(2), obs[2:4])


def test_collect_treasure_deliveries_with_mpe2() -> None:
    """Steered collectors pick up and deliver treasures (rare under random actions): still equal to mpe2."""
    reference, ours = _pair("collect_treasure_v1", max_cycles=60)
    rng = np.random.default_rng(2)
    deliveries = 0
    for episode in range(3):
        obs_ref, _ = reference.reset(seed=episode)
        ours.reset(seed=episode)
        while reference.agents:
            held = ours.scenario.holding[0].tolist()
            actions = {agent: _fetch(obs_ref[agent], i < 6, held[i] if i < 6 else i - 6) if rng.random() < 0.8
                       else int(rng.integers(5)) for i, agent in enumerate(reference.agents)}
            obs_ref, rew_ref, _, _, _ = reference.step(actions)
            obs_ours, rew_ours, _, _, _ = ours.step(actions)
            deliveries += sum(h >= 0 and now < 0 for h, now in zip(held, ours.scenario.holding[0].tolist()))
            for a in actions:
                np.testing.assert_allclose(obs_ours[a], obs_ref[a], atol=1e-6)
                assert rew_ours[a] == pytest.approx(rew_ref[a], abs=1e-6)
    assert deliveries > 10


@pytest.mark.parametrize("name, kwargs, chasers", [
    ("simple_spread_v3", {"N": 1}, {"agent_0": slice(4, 6)}),
    ("simple_tag_v3", {"num_good": 1, "num_adversaries": 3, "num_obstacles": 0},
     {f"adversary_{i}": slice(8, 10) for i in range(3)})])
def test_terminate_on_success_with_mpe2(name: str, kwargs: dict, chasers: dict) -> None:
    """terminate_on_success, with agents steered to succeed (random ones never do): the agent reaches its
    landmark, the predators catch the prey; every step and the early ends equal mpe2's."""
    reference, ours = _pair(name, max_cycles=60, terminate_on_success=True, **kwargs)
    rng = np.random.default_rng(3)
    early_ends = 0
    for episode in range(6):
        obs_ref, _ = reference.reset(seed=episode)
        ours.reset(seed=episode)
        steps = 0
        while reference.agents:
            actions = {a: _steer(obs_ref[a][chasers[a]], obs_ref[a][:2]) if a in chasers and rng.random() < 0.9
                       else int(rng.integers(5)) for a in reference.agents}
            obs_ref, rew_ref, term_ref, trunc_ref, _ = reference.step(actions)
            obs_ours, rew_ours, term_ours, trunc_ours, _ = ours.step(actions)
            steps += 1
            for a in actions:
                np.testing.assert_allclose(obs_ours[a], obs_ref[a], atol=1e-6)
                assert rew_ours[a] == pytest.approx(rew_ref[a], abs=1e-6)
            assert (term_ours, trunc_ours) == (term_ref, trunc_ref)
        early_ends += steps < 60 and all(term_ref.values())
    assert early_ends >= 3


def test_curriculum_advances() -> None:
    from appliedrl.envs.particles import simple_tag_v3
    env = simple_tag_v3.parallel_env(curriculum=True)
    env.reset(seed=0)
    assert env.worlds.world.accel[-1] == pytest.approx(2.0)
    env.advance_curriculum()
    env.reset()
    assert env.worlds.world.accel[-1] == pytest.approx(3.0) and env.worlds.world.max_speed[3] == pytest.approx(0.975)
    env.set_curriculum_stage(9)
    env.reset()
    assert env.worlds.world.accel[-1] == pytest.approx(4.0)


def test_batched_autoreset_and_shapes() -> None:
    worlds = ParticleWorlds("simple_adversary_v3", 5, max_cycles=3)
    obs = worlds.reset(seed=0)
    assert obs.shape == (5, 3, 10) and worlds.obs_dims == [8, 10, 10]
    assert (obs[:, 0, 8:] == 0).all()  # the adversary's shorter observation is zero-padded
    actions = torch.zeros(5, 3, dtype=torch.long)
    for step in range(1, 4):
        obs, rewards, terminated, truncated, info = worlds.step(actions)
        assert rewards.shape == (5, 3) and terminated.shape == truncated.shape == (5, 3)
        assert bool(truncated.all()) == (step == 3) and not terminated.any()
    assert "final_obs" in info and not torch.equal(info["final_obs"], obs)  # reset in the same call
    assert (worlds.steps == 0).all()


def test_batched_autoreset_resets_only_the_finished_environments() -> None:
    """Environments out of phase: at each step, the ones that finish come back reset (their last observation in
    info["final_obs"]) while the others evolve exactly as without autoreset, and each keeps its own step count."""
    worlds = ParticleWorlds("simple_spread_v3", 4, max_cycles=3, dtype=torch.float64)
    worlds.reset(seed=0)
    generator = torch.Generator().manual_seed(0)
    worlds.step(torch.randint(5, (4, 3), generator=generator))
    worlds.reset(envs=torch.tensor([2, 3]))  # envs 0 and 1 have taken one step, envs 2 and 3 none
    assert worlds.steps.tolist() == [1, 1, 0, 0]
    for t in range(6):
        plain = copy.deepcopy(worlds)
        plain.autoreset = False
        actions = torch.randint(5, (4, 3), generator=generator)
        expected_obs, expected_rewards, _, _, _ = plain.step(actions)
        obs, rewards, terminated, truncated, info = worlds.step(actions)
        done = torch.tensor([t % 3 == 1] * 2 + [t % 3 == 2] * 2)
        assert torch.equal(truncated, done[:, None].expand(-1, 3)) and not terminated.any()
        assert worlds.steps.tolist() == [(t + 2) % 3] * 2 + [(t + 1) % 3] * 2
        torch.testing.assert_close(rewards, expected_rewards, rtol=0, atol=0)
        torch.testing.assert_close(obs[~done], expected_obs[~done], rtol=0, atol=0)
        if t % 3 == 0:
            assert "final_obs" not in info  # nothing finished
            continue
        torch.testing.assert_close(info["final_obs"], expected_obs, rtol=0, atol=0)
        assert not torch.isclose(obs[done], expected_obs[done]).all(-1).all(-1).any()  # each finished env reset


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown particle scenario 'simple_sprd_v3'; valid: simple_v3"):
        ParticleWorlds("simple_sprd_v3")
    with pytest.raises(ValueError, match="unknown keyword 'n_agents' for simple_spread_v3; valid: N, local_ratio"):
        ParticleWorlds("simple_spread_v3", n_agents=3)
    with pytest.raises(ValueError, match="local_ratio is a proportion"):
        ParticleWorlds("simple_spread_v3", local_ratio=1.5)
    with pytest.raises(ValueError, match="num_deposits must be <= 6"):
        ParticleWorlds("collect_treasure_v1", num_deposits=7)
    with pytest.raises(ValueError, match="num_envs must be"):
        ParticleWorlds("simple_v3", 0)
    from appliedrl.envs.particles import simple_spread_v3, simple_speaker_listener_v4
    env = simple_spread_v3.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'agent_1' is outside its space Discrete\\(5\\)"):
        env.step({"agent_0": 0, "agent_1": 7, "agent_2": 0})
    with pytest.raises(ValueError, match="no action for agent 'agent_2'"):
        env.step({"agent_0": 0, "agent_1": 1})
    env = simple_speaker_listener_v4.parallel_env(continuous_actions=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'speaker_0' is outside its space Box"):
        env.step({"speaker_0": np.zeros(5, np.float32), "listener_0": np.zeros(5, np.float32)})
    worlds = ParticleWorlds("simple_spread_v3", 2)
    with pytest.raises(ValueError, match="actions must have shape \\(2, 3\\)"):
        worlds.step(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="action of agent_2 outside Discrete\\(5\\)"):
        worlds.step(torch.tensor([[0, 0, 5], [0, 0, 0]]))
