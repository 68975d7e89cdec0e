import dataclasses
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest
import torch

from appliedrl.agents import A2C, DQN, PPO, A2CConfig, DQNConfig, PPOConfig
from appliedrl.agents.checkpoint import Interrupted, checkpoint_path
from appliedrl.agents.trainer import train
from appliedrl.agents.vec_env import NonFiniteError


def params(agent):
    module = agent.model if hasattr(agent, "model") else agent.q_net
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def dqn_config():
    return DQNConfig(n_envs=2, learning_starts=64, batch_size=16, buffer_size=1000, train_freq=4,
                     target_update_interval=64, eval_freq=0, checkpoint_freq=0, tensorboard=False, n_step=3,
                     prioritized=True, dueling=True)


def test_prioritized_one_step_dqn_on_a_native_vector_env_with_one_env():
    config = dataclasses.replace(dqn_config(), n_envs=1, n_step=1, learning_starts=32)
    agent = DQN("CartPole-v1", config, seed=0)
    summary = agent.learn(300, progress_bar=False)  # episodes end, envs reset
    assert summary["progress"] == 300
    # CartPole's vector env resets NEXT_STEP: the step after a termination only resets (reward 0) and is no
    # transition. The replay holds exactly the real ones, in order: reward 1 each, terminal where a pole fell
    # (its next observation past the limits), else the next transition starts where this one ended.
    replay, finished = agent.replay, len(agent.episode_returns)
    n = replay.size
    assert 5 < finished < 100 and n == 300 - finished + int(agent.stepper.pending_reset.sum())
    assert (replay.rewards[:n] == 1.0).all() and replay.dones[:n].sum() == finished
    assert sum(agent.episode_returns) + agent.episodes.returns[0] == n  # every return counts real steps only
    fell = replay.dones[:n].astype(bool)
    x, theta = replay.next_obs[:n, 0], replay.next_obs[:n, 2]
    assert ((np.abs(x) > 2.4) | (np.abs(theta) > 0.2095))[fell].all()
    np.testing.assert_array_equal(replay.obs[1:n][~fell[:-1]], replay.next_obs[: n - 1][~fell[:-1]])
    assert not (replay.obs[1:n][fell[:-1]] == replay.next_obs[: n - 1][fell[:-1]]).all(1).any()


@pytest.mark.parametrize("make", [
    lambda c: PPO("CartPole-v1", c, seed=3),
    lambda c: PPO("Pendulum-v1", dataclasses.replace(c, normalize_obs=True, normalize_reward=True), seed=3),
    lambda c: DQN("CartPole-v1", dqn_config(), seed=3),
])
def test_same_seed_same_result(make, tiny_ppo_config):
    a, b = make(tiny_ppo_config), make(tiny_ppo_config)
    a.learn(320, progress_bar=False)
    b.learn(320, progress_bar=False)
    assert torch.equal(params(a), params(b))
    c = make(tiny_ppo_config)
    c.seed = 4
    c._reset_envs(4)
    c.learn(320, progress_bar=False)
    assert not torch.equal(params(a), params(c))


@pytest.mark.parametrize("env_id,make", [
    ("CartPole-v1", lambda c: PPO("CartPole-v1", c, seed=1)),
    ("CartPole-v1", lambda c: DQN("CartPole-v1", dqn_config(), seed=1)),
    ("CartPole-v1", lambda c: DQN("CartPole-v1", dataclasses.replace(dqn_config(), normalize_obs=True), seed=1)),
    ("tests/MaskedChoice-v0", lambda c: PPO("tests/MaskedChoice-v0", c, seed=1)),
    ("Pendulum-v1", lambda c: PPO("Pendulum-v1", dataclasses.replace(c, normalize_obs=True, normalize_reward=True), seed=1)),
])
def test_resume_equals_uninterrupted_run(tmp_path, env_id, make, tiny_ppo_config):
    total = 320
    full = make(tiny_ppo_config)
    train(full, total, run_dir=tmp_path / "full", progress_bar=False)

    interrupted = make(tiny_ppo_config)
    stop_halfway = lambda agent, metrics: agent.num_timesteps < total // 2  # noqa: E731
    train(interrupted, total, run_dir=tmp_path / "cut", callbacks=[stop_halfway], progress_bar=False)
    assert interrupted.num_timesteps < total
    resumed = make(tiny_ppo_config)
    with torch.no_grad():  # scramble the fresh agent: only the checkpoint can make it match
        for p in (resumed.model if hasattr(resumed, "model") else resumed.q_net).parameters():
            p.add_(1.0)
    resumed.rng.random(7)
    train(resumed, total, run_dir=tmp_path / "cut", progress_bar=False, resume=True)

    assert resumed.num_timesteps == full.num_timesteps and resumed.episodes_finished == full.episodes_finished
    assert torch.equal(params(resumed), params(full))
    np.testing.assert_array_equal(resumed.obs, full.obs)


def test_dqn_replays_raw_observations_normalised_with_the_current_statistics():
    agent = DQN("CartPole-v1", dataclasses.replace(dqn_config(), normalize_obs=True), seed=0)
    first = agent.raw_obs.copy()
    train(agent, 200, progress_bar=False)
    np.testing.assert_array_equal(agent.replay.obs[0], first[0])  # stored as it came from the env
    # what the networks see in an update: the sampled raw observations, normalised with the statistics of now
    # (and the update leaves those statistics alone)
    mean, var = agent.obs_normalizer.stats.mean.copy(), agent.obs_normalizer.stats.var.copy()
    sampled, seen = [], {"q_net": [], "q_target": []}
    sample = agent.replay.sample

    def sample_and_keep_a_copy(*args):
        batch = sample(*args)
        sampled.append({key: value.clone() for key, value in batch.items()})
        return batch

    agent.replay.sample = sample_and_keep_a_copy
    hooks = [getattr(agent, name).register_forward_pre_hook(lambda module, inputs, name=name:
                                                            seen[name].append(inputs[0].clone()))
             for name in seen]
    try:
        agent._update()
    finally:
        for hook in hooks:
            hook.remove()
    (batch,) = sampled

    def normalised(raw):
        return np.clip((raw.numpy().astype(np.float64) - mean) / np.sqrt(var + 1e-8), -10, 10)

    assert not np.allclose(batch["obs"].numpy(), normalised(batch["obs"]), atol=0.1)  # normalising changes them
    (target_input,) = seen["q_target"]
    np.testing.assert_allclose(target_input.numpy(), normalised(batch["next_obs"]), rtol=1e-5, atol=1e-5)
    assert any(np.allclose(x.numpy(), normalised(batch["obs"]), rtol=1e-5, atol=1e-5) for x in seen["q_net"])
    np.testing.assert_array_equal(agent.obs_normalizer.stats.mean, mean)
    np.testing.assert_array_equal(agent.obs_normalizer.stats.var, var)


@pytest.mark.parametrize("make", [
    lambda c: PPO("CartPole-v1", c, seed=0),
    lambda c: DQN("CartPole-v1", dqn_config(), seed=0),
])
def test_stochastic_evaluation_repeats_with_its_seed_and_leaves_training_alone(make, tiny_ppo_config):
    from appliedrl.agents.evaluation import evaluate

    agent = make(tiny_ppo_config)
    first, again = (evaluate(agent, "CartPole-v1", 6, seed=7, deterministic=False).returns for _ in range(2))
    np.testing.assert_array_equal(first, again)
    plain, watched = make(tiny_ppo_config), make(tiny_ppo_config)
    train(plain, 256, progress_bar=False)
    evaluate_stochastically = lambda agent, metrics: evaluate(agent, "CartPole-v1", 2, 1, deterministic=False) and None  # noqa: E731
    train(watched, 256, callbacks=[evaluate_stochastically], progress_bar=False)
    assert torch.equal(params(plain), params(watched))


def test_periodic_evaluation_keeps_the_best_policy_and_leaves_training_alone(tmp_path, tiny_ppo_config):
    from appliedrl.agents.evaluation import evaluate
    from appliedrl.agents.trainer import EVAL_SEED_OFFSET

    config = dataclasses.replace(tiny_ppo_config, eval_freq=64, eval_episodes=3)
    seen = []  # (step, evaluation's mean return, parameters evaluated)

    def record(agent, metrics):
        seen.append((agent.num_timesteps, metrics.get("eval/mean_return"), params(agent).clone()))

    agent = PPO("CartPole-v1", config, seed=1)
    summary = train(agent, 320, run_dir=tmp_path, callbacks=[record], progress_bar=False)
    evaluations = [(step, mean, weights) for step, mean, weights in seen if mean is not None]
    assert [step for step, *_ in evaluations] == [64, 128, 192, 256]  # every 64 steps; the end's comes after
    evaluations.append((320, summary["eval"]["mean_return"], params(agent)))
    logged = pd.read_csv(tmp_path / "metrics.csv").dropna(subset=["eval/mean_return"])
    assert config.log_freq > 320  # every evaluation is logged all the same (compare draws learning curves)
    assert logged["step"].tolist() == [64, 128, 192, 256, 320]
    assert logged["eval/mean_return"].tolist() == [mean for _, mean, _ in evaluations]
    for step, mean, weights in evaluations:  # each is the fixed-seed evaluation of the policy of its step
        fresh = PPO("CartPole-v1", tiny_ppo_config, seed=1)
        with torch.no_grad():
            fresh.flat_params.copy_(weights)
        assert evaluate(fresh, "CartPole-v1", 3, 1 + EVAL_SEED_OFFSET).mean == mean
    best = max(mean for _, mean, _ in evaluations)
    best_step, _, best_weights = next(e for e in evaluations if e[1] == best)  # the first to reach it
    assert (summary["best_score"], summary["best_at"]) == (best, best_step)
    assert best_step not in (64, 320)  # seed 1: neither the first nor the last policy is the best
    assert torch.equal(params(PPO.load(tmp_path / "best" / "agent.pt")), best_weights)
    unwatched = PPO("CartPole-v1", tiny_ppo_config, seed=1)
    train(unwatched, 320, progress_bar=False)
    assert torch.equal(params(unwatched), params(agent))


def test_stop_score_ends_training_at_the_first_evaluation_that_reaches_it(tmp_path, tiny_ppo_config):
    config = dataclasses.replace(tiny_ppo_config, eval_freq=64, eval_episodes=3)
    seen = []  # (step, evaluation's mean return, parameters)

    def record(agent, metrics):
        if "eval/mean_return" in metrics:
            seen.append((agent.num_timesteps, metrics["eval/mean_return"], params(agent).clone()))

    train(PPO("CartPole-v1", config, seed=1), 320, callbacks=[record], progress_bar=False)
    target = sorted(mean for _, mean, _ in seen)[-2]  # reached before the end, not necessarily at once
    step, mean, weights = next(entry for entry in seen if entry[1] >= target)
    agent = PPO("CartPole-v1", dataclasses.replace(config, stop_score=target), seed=1)
    summary = train(agent, 320, run_dir=tmp_path, progress_bar=False)
    assert summary["progress"] == step < 320 and summary["eval"]["mean_return"] == mean
    assert summary["stopped"] == f"the evaluation's mean_return {mean:g} reached stop_score {target:g}"
    assert torch.equal(params(agent), weights)


def test_ctrl_c_saves_a_checkpoint_the_run_resumes_from_exactly(tmp_path, tiny_ppo_config):
    full = PPO("CartPole-v1", tiny_ppo_config, seed=1)
    train(full, 320, run_dir=tmp_path / "full", progress_bar=False)

    def press_ctrl_c(agent, metrics):
        if agent.num_timesteps == 96:
            os.kill(os.getpid(), signal.SIGINT)

    interrupted = PPO("CartPole-v1", tiny_ppo_config, seed=1)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as stop:
        train(interrupted, 320, run_dir=tmp_path / "cut", callbacks=[press_ctrl_c], progress_bar=False)
    assert stop.value.run_dir == tmp_path / "cut" and interrupted.num_timesteps == 96
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    resumed = PPO("CartPole-v1", tiny_ppo_config, seed=1)
    train(resumed, 320, run_dir=tmp_path / "cut", progress_bar=False, resume=True)
    assert torch.equal(params(resumed), params(full))


def test_ctrl_c_at_a_terminal_stops_async_envs_gracefully(tmp_path, tiny_ppo_config):
    """A terminal's Ctrl-C reaches the async workers too: they must not die, so the run can finish and save."""
    config = dataclasses.replace(tiny_ppo_config, vectorization="async")

    def press_ctrl_c(agent, metrics):
        # the workers get it first and the envs are stepped after, as when Ctrl-C lands mid-rollout
        if agent.num_timesteps == 64:
            for worker in agent.envs.processes:
                os.kill(worker.pid, signal.SIGINT)
            time.sleep(0.2)
        if agent.num_timesteps == 96:
            os.kill(os.getpid(), signal.SIGINT)

    agent = PPO("CartPole-v1", config, seed=1)
    with pytest.raises(Interrupted):
        train(agent, 320, run_dir=tmp_path, callbacks=[press_ctrl_c], progress_bar=False)
    assert torch.load(checkpoint_path(tmp_path), weights_only=False)["num_timesteps"] == 96
    resumed = PPO("CartPole-v1", config, seed=1)
    train(resumed, 320, run_dir=tmp_path, progress_bar=False, resume=True)
    assert resumed.num_timesteps == 320


def test_nan_from_env_stops_with_step_and_keeps_checkpoint(tmp_path, tiny_ppo_config):
    config = dataclasses.replace(tiny_ppo_config, n_envs=1, checkpoint_freq=16)
    agent = PPO("tests/NaNAfter-v0", config, seed=0, env_kwargs={"nan_at": 40})
    with pytest.raises(NonFiniteError, match="step 40"):
        train(agent, 1000, run_dir=tmp_path, progress_bar=False)
    saved = torch.load(checkpoint_path(tmp_path), weights_only=False)
    assert saved["num_timesteps"] == 32  # the last checkpoint before the NaN, intact
    assert not list((tmp_path / "checkpoint").glob("*.tmp"))


@pytest.mark.parametrize("vectorization", ["sync", "vector_entry_point"])
def test_truncation_bootstraps_but_termination_does_not(tiny_ppo_config, vectorization):
    """With a critic stubbed to V = 100, a truncated step's reward gains 0.99 × 100, a terminated one nothing."""
    config = dataclasses.replace(tiny_ppo_config, n_envs=2, n_steps=300, vectorization=vectorization)
    agent = PPO("CartPole-v1", config, seed=0, env_kwargs={"max_episode_steps": 30})
    agent.model.value = lambda obs: torch.full((len(obs),), 100.0)
    agent.total_timesteps = 10_000
    agent._collect_rollout()
    buffer = agent.buffer
    valid, done, rewards = buffer.valid, buffer.dones.astype(bool), buffer.rewards
    bootstrapped = valid & np.isclose(rewards, 1.0 + 0.99 * 100.0)
    plain = valid & np.isclose(rewards, 1.0)
    assert (bootstrapped | plain)[valid].all()
    assert bootstrapped.any() and (plain & done).any()  # both truncations and terminations occurred
    assert done[bootstrapped].all()
    # only episodes that reached the 30-step limit are bootstrapped
    lengths = np.zeros(2, int)
    for t in range(buffer.n_steps):
        lengths += valid[t]
        for i in np.flatnonzero(done[t] & valid[t]):
            assert lengths[i] == 30 if bootstrapped[t, i] else lengths[i] <= 30
            lengths[i] = 0


def test_a2c_update_is_the_advantage_actor_critic_gradient():
    config = A2CConfig(n_envs=4, n_steps=8, ent_coef=0.01, max_grad_norm=0.0, eval_freq=0, tensorboard=False)
    assert (config.n_epochs, config.batch_size, config.clip_range) == (1, 0, None)
    agent = A2C("CartPole-v1", config, seed=0)
    agent._collect_rollout()
    data, model = agent.buffer.tensors(), agent.model
    log_prob, entropy = agent.dist.log_prob_entropy(model.actor(data["obs"]), model.log_std, None, data["actions"])
    loss = (-(data["advantages"] * log_prob).mean() + config.vf_coef * (model.value(data["obs"]) - data["returns"])
            .pow(2).mean() - config.ent_coef * entropy.mean())
    expected = torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))])
    agent._update()
    torch.testing.assert_close(agent.flat_params.grad, expected, rtol=1e-4, atol=1e-7)


def test_reinforce_is_full_return_single_step_policy_gradient():
    from appliedrl.agents import REINFORCE, REINFORCEConfig

    config = REINFORCEConfig(n_envs=4, n_steps=64, eval_freq=0, eval_episodes=3, tensorboard=False)
    assert (config.gae_lambda, config.n_epochs, config.batch_size, config.clip_range) == (1.0, 1, 0, None)
    agent = REINFORCE("CartPole-v1", config, seed=0)
    agent._collect_rollout()
    buffer = agent.buffer
    # λ = 1: each advantage is the Monte-Carlo return (bootstrapped only where the rollout or a time limit cuts
    # an episode; the time-limit bootstrap is already in the rewards) minus the baseline
    returns, following = np.zeros_like(buffer.rewards), agent.model.value(
        torch.as_tensor(agent.obs.reshape(4, -1))).detach().numpy()
    for t in reversed(range(config.n_steps)):
        following = buffer.rewards[t] + config.gamma * following * (1 - buffer.dones[t])
        returns[t] = following
    np.testing.assert_allclose(buffer.returns, returns, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(buffer.advantages, returns - buffer.values, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("target_kl, steps", [(None, 2 * 4), (1e-12, 1)])
def test_target_kl_stops_every_remaining_epoch(tiny_ppo_config, target_kl, steps):
    # 2 epochs of 4 minibatches; the first minibatch acts with the rollout's own policy (KL 0), every later one
    # exceeds a tiny target, so the update stops after one optimizer step
    agent = PPO("CartPole-v1", dataclasses.replace(tiny_ppo_config, target_kl=target_kl), seed=0)
    agent._collect_rollout()
    agent._update()
    assert int(agent.optimizer.state[agent.flat_params]["step"]) == steps


def test_ppo_learns_cartpole_quickly():
    config = PPOConfig(n_envs=8, n_steps=128, batch_size=256, n_epochs=4, learning_rate=1e-3, gamma=0.98,
                       gae_lambda=0.8, eval_freq=0, eval_episodes=5, tensorboard=False)
    summary = PPO("CartPole-v1", config, seed=0).learn(40_000, progress_bar=False)
    assert summary["score"] > 150  # random play scores about 22


def test_loaded_agent_predicts_like_the_trained_one(tmp_path, tiny_ppo_config):
    config = dataclasses.replace(tiny_ppo_config, normalize_obs=True)
    agent = PPO("Pendulum-v1", config, seed=0)
    agent.learn(320, progress_bar=False)
    agent.save(tmp_path / "model.pt")
    loaded = PPO.load(tmp_path / "model.pt")
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_array_equal(agent.predict(obs), loaded.predict(obs))
    assert loaded.obs_normalizer.stats.count == agent.obs_normalizer.stats.count
    with pytest.raises(ValueError, match="not 'dqn'"):
        DQN.load(tmp_path / "model.pt")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA run loads on the GPU where there is one")
def test_a_run_trained_on_cuda_acts_on_the_cpu_without_a_gpu(tmp_path, tiny_ppo_config):
    agent = PPO("Pendulum-v1", tiny_ppo_config, seed=0)
    agent.save(tmp_path / "model.pt")
    saved = torch.load(tmp_path / "model.pt", weights_only=False)
    saved["config"]["device"] = "cuda"  # as written on a GPU machine
    torch.save(saved, tmp_path / "gpu.pt")
    loaded = PPO.load(tmp_path / "gpu.pt")
    assert loaded.config.device == "cpu"
    obs = np.zeros((2, 3), np.float32)
    np.testing.assert_array_equal(agent.predict(obs), loaded.predict(obs))


def test_predict_names_expected_shape(tiny_ppo_config):
    agent = PPO("CartPole-v1", tiny_ppo_config, seed=0)
    assert agent.predict(np.zeros(4)).shape == ()
    assert agent.predict(np.zeros((3, 4))).shape == (3,)
    with pytest.raises(ValueError, match=r"shape \(3,\); expected \(4,\)"):
        agent.predict(np.zeros(3))


def test_vectorization_modes_agree_on_stepping_semantics(tiny_ppo_config):
    """sync (SAME_STEP), async (SAME_STEP) and CartPole's native vector env (NEXT_STEP) all train and count alike."""
    for mode in ("sync", "async", "vector_entry_point"):
        agent = PPO("CartPole-v1", dataclasses.replace(tiny_ppo_config, vectorization=mode), seed=0)
        try:
            summary = agent.learn(256, progress_bar=False)
        finally:
            agent.close()
        assert summary["progress"] == 256 and len(agent.episode_returns) > 0
        assert all(8 <= r <= 500 for r in agent.episode_returns)
        # CartPole pays 1 per real step: the finished and running episodes' returns add up to the real steps,
        # every step under SAME_STEP; NEXT_STEP spends one step on each reset (those not yet due excepted)
        finished, running = len(agent.episode_returns), agent.episodes.returns.sum()
        resets = 0 if mode != "vector_entry_point" else finished - int(agent.stepper.pending_reset.sum())
        assert sum(agent.episode_returns) + running == 256 - resets


def test_training_counts_its_episodes(tiny_ppo_config):
    agent = PPO("tests/MaskedChoice-v0", tiny_ppo_config, seed=0)  # every episode lasts 5 steps
    agent.learn(320, progress_bar=False)
    assert agent.episodes_finished == 320 // 5
    assert agent.rollout_metrics()["rollout/episodes"] == 320 // 5


def test_config_env_kwargs_sit_under_the_users_and_runs_evaluate_on_their_eval_env(tmp_path, tiny_ppo_config):
    from appliedrl.runner import RunSpec, evaluate as evaluate_run, run

    config = dataclasses.replace(tiny_ppo_config, env_kwargs={"episode_length": 3})
    assert PPO("tests/MaskedChoice-v0", config).env_kwargs == {"episode_length": 3}
    assert PPO("tests/MaskedChoice-v0", config, env_kwargs={"episode_length": 2}).env_kwargs == {"episode_length": 2}
    overrides = dataclasses.asdict(config) | {"eval_env_kwargs": {"episode_length": 6}}
    run(RunSpec("tests/MaskedChoice-v0", "ppo", 0, 64, {}, overrides, use_recipe=False, run_dir=tmp_path / "run",
                progress_bar=False))
    own = evaluate_run(str(tmp_path / "run"), episodes=4)
    assert own.env_kwargs == {"episode_length": 6} and (own.result.lengths == 6).all()
    given = evaluate_run(str(tmp_path / "run"), env_kwargs={}, episodes=4)
    assert (given.result.lengths == 5).all()  # the env's own default
