"""MADDPG: learns a small task, centralised vs local critics, exact resume, the mpe2 adapter, the CLI, heuristics."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from appliedrl.agents.config import ConfigError
from appliedrl.agents.evaluation import evaluate_multiagent
from appliedrl.agents.maddpg import MADDPG, MADDPGConfig, _gumbel_softmax
from appliedrl.cli import main
from appliedrl.domains.particles import PARTICLE_BASELINES, steer
from appliedrl.envs.multiagent import ParallelEnvBatch, make_multiagent

SMALL = dict(num_envs=16, batch_size=256, learning_starts=1000, update_every=50, eval_freq=0, eval_episodes=32,
             tensorboard=False, learning_rate=3e-3)


def _agent(env_id: str = "particles/simple_v3", seed: int = 0, env_kwargs: dict | None = None,
           **overrides) -> MADDPG:
    config, env_kwargs = MADDPGConfig(**(SMALL | overrides)), env_kwargs or {}
    return MADDPG(make_multiagent(env_id, config.num_envs, **env_kwargs), config, seed, env_id, env_kwargs,
                  make_multiagent(env_id, config.eval_episodes, **env_kwargs))


def test_learns_to_reach_the_landmark() -> None:
    """simple_v3 (one agent, reward -distance^2): a few thousand updates beat random by a wide margin."""
    agent = _agent(update_every=16)
    random_return = evaluate_multiagent(PARTICLE_BASELINES["random"]("particles/simple_v3", agent.eval_envs, 0),
                                        agent.eval_envs, 64, seed=5).mean
    summary = agent.learn(6_000, progress_bar=False)
    trained = evaluate_multiagent(agent, agent.eval_envs, 64, seed=5).mean
    assert summary["updates"] == 6_000 // 16 - 1000 // 16  # one per 16 transitions from 1,008 to 6,000: no burst
    assert trained > 0.5 * random_return, (trained, random_return)  # returns are negative: closer to 0 is better


def test_critic_inputs_centralised_vs_local() -> None:
    maddpg, ddpg = _agent("particles/simple_spread_v3"), _agent("particles/simple_spread_v3", centralized_critic=False)
    assert maddpg.critics.weights[0].shape == (3, 3 * 18 + 3 * 5, 64)
    assert ddpg.critics.weights[0].shape == (3, 18 + 5, 64)
    assert maddpg.actors.weights[0].shape == (3, 18, 64) and maddpg.actors.weights[-1].shape == (3, 64, 5)
    # agent 1's critic input: everything observed, then every action; agent 1's own action replaced
    obs, actions = torch.randn(4, 3, 18), torch.randn(3, 4, 5)
    joint = actions.transpose(0, 1)[None].expand(3, -1, -1, -1).clone()
    joint[1, :, 1] = 7.0
    x = maddpg._critic_input(obs, joint)
    torch.testing.assert_close(x[1], torch.cat([obs.reshape(4, -1), joint[1].reshape(4, -1)], -1))
    torch.testing.assert_close(ddpg._critic_input(obs, joint)[1], torch.cat([obs[:, 1], joint[1, :, 1]], -1))


def test_ensemble_equals_separate_networks() -> None:
    """Each ensemble member computes what a separate MLP with its weights computes; clipping is per member."""
    from appliedrl.agents.networks import EnsembleMLP
    ensemble = EnsembleMLP(3, 4, [8], 2, "relu")
    x = torch.randn(3, 5, 4)
    for m in range(3):
        expected = torch.relu(x[m] @ ensemble.weights[0][m] + ensemble.biases[0][m]) @ ensemble.weights[1][m] \
            + ensemble.biases[1][m]
        torch.testing.assert_close(ensemble(x)[m], expected)
    (ensemble(x)[0].sum() * 1000 + ensemble(x)[2].sum() * 1e-4).backward()
    ensemble.clip_grad_norm_(0.5)
    norms = torch.stack([sum(p.grad[m].square().sum() for p in ensemble.parameters()).sqrt() for m in range(3)])
    assert norms[0] == pytest.approx(0.5, rel=1e-4) and norms[1] == 0 and norms[2] < 0.5


def test_gumbel_softmax() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.tensor([[2.0, 0.0, -1.0]]).repeat(20_000, 1).requires_grad_()
    soft = _gumbel_softmax(logits, 1.0, False, generator)
    assert torch.allclose(soft.sum(-1), torch.ones(20_000))
    frequencies = torch.bincount(soft.argmax(-1), minlength=3).float() / 20_000  # Gumbel-max = categorical sample
    assert torch.allclose(frequencies, logits[0].softmax(-1).detach(), atol=0.01)
    hard = _gumbel_softmax(logits, 1.0, True, generator)
    assert torch.allclose(hard.detach(), hard.detach().round(), atol=1e-6) and torch.allclose(hard.sum(-1), soft.sum(-1))
    (hard[:, 0]).sum().backward()
    assert logits.grad.abs().sum() > 0  # straight-through passes the soft gradient


def test_resume_is_exact(tmp_path) -> None:
    straight = _agent("particles/simple_spread_v3", checkpoint_freq=1600, batch_size=64)
    straight.learn(3200, tmp_path / "a", progress_bar=False)
    interrupted = _agent("particles/simple_spread_v3", checkpoint_freq=1600, batch_size=64)
    interrupted.learn(1600, tmp_path / "b", progress_bar=False)
    resumed = _agent("particles/simple_spread_v3", checkpoint_freq=1600, batch_size=64)
    resumed.learn(3200, tmp_path / "b", progress_bar=False, resume=True)
    for p, q in zip(straight.actors.parameters(), resumed.actors.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    loaded = MADDPG.load(tmp_path / "b")
    obs = resumed.envs.reset(seed=1)
    torch.testing.assert_close(loaded.act(obs), resumed.act(obs))


def test_continuous_actions_and_mpe2_adapter() -> None:
    pytest.importorskip("mpe2")
    agent = _agent("particles/simple_speaker_listener_v4", env_kwargs={"continuous_actions": True}, num_envs=4,
                   learning_starts=200, batch_size=64, eval_episodes=4)
    agent.learn(400, progress_bar=False)
    actions = agent.act(agent.envs.reset(seed=0), deterministic=False)
    assert actions.shape == (4, 2, 5) and (actions[:, 0, 3:] == 0).all()  # the speaker's Box(0, 1, (3,)) padded
    envs = make_multiagent("mpe2/simple_speaker_listener_v4", 3, continuous_actions=True)
    assert isinstance(envs, ParallelEnvBatch)
    config = MADDPGConfig(**(SMALL | dict(num_envs=3, learning_starts=150, batch_size=64, eval_episodes=3)))
    agent = MADDPG(envs, config, 0, "mpe2/simple_speaker_listener_v4", {}, envs)
    summary = agent.learn(300, progress_bar=False)
    assert summary["episodes"] == 3 and agent.num_updates > 0
    actions = agent.act(envs.reset(seed=0))
    assert actions.shape == (3, 2, 5) and (actions >= 0).all() and (actions <= 1).all()


def test_bad_config_and_observations() -> None:
    with pytest.raises(ConfigError, match="tau must be in"):
        MADDPGConfig(tau=0).validate()
    agent = _agent()
    with pytest.raises(ValueError, match=r"act expects observations of shape \(batch, 1, 4\)"):
        agent.act(torch.zeros(2, 4))


def test_steer_reaches_a_target() -> None:
    target, velocity = np.array([[1.0, 0.0], [0.0, -1.0], [0.0, 0.0]]), np.zeros((3, 2))
    assert steer(target, velocity).tolist() == [2, 3, 0]


def test_greedy_spread_beats_random_on_ours_and_mpe2() -> None:
    ours = make_multiagent("particles/simple_spread_v3", 40)
    greedy = evaluate_multiagent(PARTICLE_BASELINES["greedy-spread"]("particles/simple_spread_v3", ours, 0), ours, 40)
    random = evaluate_multiagent(PARTICLE_BASELINES["random"]("particles/simple_spread_v3", ours, 0), ours, 40)
    assert greedy.mean > random.mean + 10  # measured: about -7.8 vs -26.3
    reference = make_multiagent("mpe2/simple_spread_v3", 2)
    on_mpe2 = evaluate_multiagent(PARTICLE_BASELINES["greedy-spread"]("mpe2/simple_spread_v3", reference, 0),
                                  reference, 4)
    assert on_mpe2.mean > random.mean + 10


def test_cli_train_and_evaluate(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "particles/simple_spread_v3", "--agent", "maddpg", "--steps", "1200", "--out", str(run),
                 "--no-progress", "--set", "num_envs=8", "--set", "learning_starts=400", "--set", "batch_size=64",
                 "--set", "eval_episodes=8", "--set", "tensorboard=false"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["agent"] == "maddpg" and set(summary["agent_mean_returns"]) == {"agent_0", "agent_1", "agent_2"}
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "6", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 6 and report["env_id"] == "particles/simple_spread_v3"
    assert main(["evaluate", "baseline:chase-tag", "--env", "particles/simple_tag_v3", "--episodes", "4"]) == 0
    assert main(["evaluate", str(run), "--env", "mpe2/simple_spread_v3", "--episodes", "2"]) == 0  # same settings
    spread = ["train", "particles/simple_spread_v3", "--agent", "maddpg", "--env-kw"]
    for argv, message in (
            (["train", "particles/simple_spread_v3", "--agent", "dqn"], "train it with --agent maddpg"),
            (["evaluate", "baseline:greedy-spread", "--env", "particles/simple_tag_v3"], "plays simple_spread_v3"),
            (["train", "particles/nope_v1", "--agent", "maddpg"], "unknown"),
            ([*spread, "local_ratio=abc"], "local_ratio is a proportion"),
            ([*spread, "continuous_actions=maybe"], "continuous_actions must be true or false"),
            ([*spread, "render_mode=rgb_array"], "unknown keyword 'render_mode' for simple_spread_v3; valid: N,"),
            (["train", "mpe2/simple_spread_v3", "--agent", "maddpg", "--env-kw", "num_agent_neighbors=0"],
             "mpe2/simple_spread_v3 rejected --env-kw"),
            (["evaluate", "baseline:greedy-spread"], "plays multi-agent envs"),
            (["evaluate", "baseline:chase-tag", "--env", "particles/simple_tag_v3", "--env-kw", "num_agent_neighbors=1"],
             "chase-tag reads the default, fully observed layout"),
            (["evaluate", str(run), "--env-kw", "continuous_actions=true"], "the run acts in [Discrete(5)"),
            (["evaluate", str(run), "--env", "CartPole-v1"], "a maddpg run acts in multi-agent envs")):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        error = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in error and len(error.strip().splitlines()) == 1, (argv, error)


def test_anneal_lr_reaches_zero_and_critics_stay_trainable() -> None:
    annealed = _agent("particles/simple_spread_v3", anneal_lr=True)
    constant = _agent("particles/simple_spread_v3")
    for agent in (annealed, constant):
        agent.learn(2000, progress_bar=False)
        assert all(p.requires_grad for p in agent.critics.parameters())  # the actor step freezes them only briefly
    for optimizer in (annealed.actor_optimizer, annealed.critic_optimizer):
        assert optimizer.param_groups[0]["lr"] == 0.0
    for optimizer in (constant.actor_optimizer, constant.critic_optimizer):
        assert optimizer.param_groups[0]["lr"] == 3e-3


def test_evaluation_during_training_leaves_training_unchanged(tmp_path) -> None:
    """Evaluations use their own envs and generator, so a run's policy does not depend on eval_freq."""
    quiet = _agent("particles/simple_spread_v3", batch_size=64)
    quiet.learn(2400, progress_bar=False)
    evaluated = _agent("particles/simple_spread_v3", batch_size=64, eval_freq=800)
    evaluated.learn(2400, tmp_path, progress_bar=False)
    assert evaluated.best["step"] is not None and (tmp_path / "best" / "agent.pt").exists()
    for p, q in zip(quiet.actors.parameters(), evaluated.actors.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_training_without_eval_envs_saves_the_run_and_skips_evaluation(tmp_path) -> None:
    config = MADDPGConfig(**(SMALL | {"learning_starts": 400, "update_every": 10}))
    agent = MADDPG(make_multiagent("particles/simple_v3", config.num_envs), config, 0, "particles/simple_v3", {})
    summary = agent.learn(480, tmp_path, progress_bar=False)
    assert summary["updates"] == 9 and "mean_return" not in summary  # at 400, 410, ..., 480
    assert (tmp_path / "checkpoint" / "agent.pt").is_file()
    with pytest.raises(ValueError, match="eval_freq=100 needs eval_envs"):
        MADDPG(make_multiagent("particles/simple_v3", 2), dataclasses.replace(config, eval_freq=100), 0).learn(10)
