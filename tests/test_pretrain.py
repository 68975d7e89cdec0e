import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from appliedrl.agents import A2C, DQN, PPO, REINFORCE, A2CConfig, ConfigError, DQNConfig, PPOConfig, REINFORCEConfig
from appliedrl.agents.config import make_config
from appliedrl.agents.pretrain import DEMONSTRATION_SEED_OFFSET, collect_demonstrations, pretrain_agent
from appliedrl.agents.trainer import train
from appliedrl.runner import RunError, RunSpec, run


class NextLegalAfterTarget:
    """MaskedChoice demonstrator: the first legal action after the target, cyclically (the target if no other is
    legal). It depends on the observation and the mask, so only a masked fit can reproduce it."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, obs, mask=None, deterministic=True):
        self.calls += 1
        obs, mask = np.atleast_2d(obs), np.atleast_2d(mask).astype(bool)
        n = obs.shape[1]
        target = obs.argmax(1)
        order = (target[:, None] + 1 + np.arange(n)) % n  # target + 1, ..., target (last)
        legal = np.take_along_axis(mask, order, 1)
        return order[np.arange(len(obs)), legal.argmax(1)]


class HighestLegalPair:
    """MaskedPair demonstrator: the highest legal index of each component."""

    def predict(self, obs, mask=None, deterministic=True):
        mask = np.atleast_2d(mask).astype(bool).reshape(-1, 2, 3)
        return 2 - mask[:, :, ::-1].argmax(-1)


class PendulumDemonstrator:
    """A smooth Box policy: damp the swing, clipped to the torque bounds."""

    def predict(self, obs, mask=None, deterministic=True):
        obs = np.atleast_2d(obs)
        return np.clip(-obs[:, 1:2] - 0.5 * obs[:, 2:3], -2.0, 2.0).astype(np.float32)


class PushRight:
    def predict(self, obs, mask=None, deterministic=True):
        return np.ones(len(np.atleast_2d(obs)), np.int64)


def hand_stepped(env_id, policy, episodes, n_envs, seed):
    """Reference: each env stepped alone, as collect_demonstrations spreads episodes (env i seeded seed + i, later
    episodes continue its random stream), ordered by the step at which they end, then by env."""
    quota = np.full(n_envs, episodes // n_envs) + (np.arange(n_envs) < episodes % n_envs)
    ended = []
    for i in range(n_envs):
        env, clock = gym.make(env_id), 0
        for k in range(quota[i]):
            obs, info = env.reset(seed=seed + i if k == 0 else None)
            steps, done = [], False
            while not done:
                mask = info.get("action_mask")
                action = np.asarray(policy.predict(obs[None], None if mask is None else mask[None]))[0]
                next_obs, reward, terminated, truncated, info = env.step(action)
                steps.append((obs, action, mask, reward))
                obs, done, clock = next_obs, terminated or truncated, clock + 1
            ended.append((clock, i, steps, obs, truncated and not terminated))
        env.close()
    return sorted(ended, key=lambda e: e[:2])


@pytest.mark.parametrize("env_id,policy,n_envs", [("tests/MaskedChoice-v0", NextLegalAfterTarget(), 3),
                                                  ("tests/MaskedPair-v0", HighestLegalPair(), 2),
                                                  ("CartPole-v1", PushRight(), 1)])  # native vector env: NEXT_STEP
def test_demonstrations_match_a_hand_stepped_rollout(env_id, policy, n_envs):
    demos = collect_demonstrations(policy, env_id, {}, 5, 11, 0.9, n_envs=n_envs)
    reference = hand_stepped(env_id, policy, 5, n_envs, 11)
    steps = [s for _, _, episode, _, _ in reference for s in episode]
    np.testing.assert_array_equal(demos.obs, np.stack([s[0] for s in steps]))
    np.testing.assert_array_equal(demos.actions, np.stack([s[1] for s in steps]))
    np.testing.assert_array_equal(demos.rewards, np.array([s[3] for s in steps], np.float32))
    if steps[0][2] is None:
        assert demos.masks is None
    else:
        np.testing.assert_array_equal(demos.masks, np.stack([s[2] for s in steps]).astype(bool))
    np.testing.assert_array_equal(demos.final_obs, np.stack([e[3] for e in reference]))
    np.testing.assert_array_equal(demos.episode_lengths, [len(e[2]) for e in reference])
    np.testing.assert_array_equal(demos.episode, np.repeat(np.arange(5), demos.episode_lengths))
    np.testing.assert_allclose(demos.episode_returns, [sum(s[3] for s in e[2]) for e in reference])


@pytest.mark.parametrize("env_id,policy", [("tests/MaskedPair-v0", HighestLegalPair()),  # ends by truncation
                                           ("tests/MaskedChoice-v0", NextLegalAfterTarget())])  # terminates
def test_returns_to_go_and_tails_against_direct_sums(env_id, policy):
    gamma = 0.8
    demos = collect_demonstrations(policy, env_id, {}, 4, 3, gamma, n_envs=2)
    truncated = env_id == "tests/MaskedPair-v0"
    start = 0
    for length in demos.episode_lengths:
        rewards = demos.rewards[start : start + length].astype(np.float64)
        for t in range(length):
            direct = sum(gamma**k * rewards[t + k] for k in range(length - t))
            assert demos.returns[start + t] == pytest.approx(direct, rel=1e-6)
            assert demos.tail_discount[start + t] == pytest.approx(gamma ** (length - t) if truncated else 0.0)
            so_far = sum(gamma ** (t - k) * rewards[k] for k in range(t + 1))
            assert demos.running_returns(gamma)[start + t] == pytest.approx(so_far, rel=1e-6)
        start += length


def demonstrator_agreement(agent, policy, env_id, seed):
    """Share of fresh demonstrated steps (other seeds) where the agent acts as the demonstrator; the agent's
    actions must all be legal."""
    demos = collect_demonstrations(policy, env_id, {}, 40, seed, 0.9, n_envs=4)
    actions = agent.predict(demos.obs, mask=demos.masks)
    flat_actions = actions.reshape(len(actions), -1)
    sizes = agent.dist.sizes
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    assert np.take_along_axis(demos.masks, flat_actions + offsets, 1).all()  # masked actions never chosen
    return float(np.mean((flat_actions == demos.actions.reshape(len(actions), -1)).all(1)))


@pytest.mark.parametrize("env_id,policy", [("tests/MaskedChoice-v0", NextLegalAfterTarget()),
                                           ("tests/MaskedPair-v0", HighestLegalPair())])
def test_masked_cross_entropy_reproduces_a_discrete_demonstrator(env_id, policy, tiny_ppo_config):
    agent = PPO(env_id, tiny_ppo_config, seed=0)
    optimizer_before = agent.optimizer.state_dict()
    demos = collect_demonstrations(policy, env_id, {}, 200, 1, agent.config.gamma, n_envs=4)
    fitted = agent.fit_demonstrations(demos, epochs=30, batch_size=128, learning_rate=3e-3)
    assert fitted["agreement"] >= 0.99
    assert demonstrator_agreement(agent, policy, env_id, seed=500) >= 0.99
    assert agent.optimizer.state_dict() == optimizer_before  # the online optimizer is not disturbed


@pytest.mark.parametrize("normalize_obs", [False, True])
def test_regression_fits_a_box_demonstrator_and_keeps_the_log_std(normalize_obs, tiny_ppo_config):
    config = dataclasses.replace(tiny_ppo_config, log_std_init=-0.5, normalize_obs=normalize_obs)
    agent = PPO("Pendulum-v1", config, seed=0)
    policy = PendulumDemonstrator()
    demos = collect_demonstrations(policy, "Pendulum-v1", {}, 10, 1, agent.config.gamma, n_envs=5)
    before = agent.obs_normalizer.stats.state_dict() if normalize_obs else None
    fitted = agent.fit_demonstrations(demos, epochs=40, batch_size=128, learning_rate=3e-3)
    assert fitted["action_mse"] < 0.01 * np.var(demos.actions)
    assert torch.equal(agent.model.log_std, torch.full((1,), -0.5))  # exploration is not collapsed
    fresh = collect_demonstrations(policy, "Pendulum-v1", {}, 5, 100, 0.9, n_envs=5)
    assert np.mean((agent.predict(fresh.obs) - fresh.actions) ** 2) < 0.02 * np.var(fresh.actions)
    if normalize_obs:  # the statistics take in the demonstrations, on top of the training envs' first observations
        count = before["count"] + len(demos.obs)
        assert agent.obs_normalizer.stats.count == count
        np.testing.assert_allclose(agent.obs_normalizer.stats.mean,
                                   (before["mean"] * before["count"] + demos.obs.sum(0)) / count, rtol=1e-5)


@pytest.mark.parametrize("normalize_reward", [False, True])
def test_critic_fits_the_monte_carlo_returns(normalize_reward, tiny_ppo_config):
    # Deterministic dynamics and policy, episodes ending by termination: the return-to-go is a function of the state.
    config = dataclasses.replace(tiny_ppo_config, gamma=0.9, normalize_reward=normalize_reward)
    agent = PPO("CartPole-v1", config, seed=0)
    demos = collect_demonstrations(PushRight(), "CartPole-v1", {}, 100, 1, 0.9, n_envs=4)
    agent.fit_demonstrations(demos, epochs=100, batch_size=64, learning_rate=3e-3)
    with torch.no_grad():
        values = agent.model.value(torch.as_tensor(demos.obs)).numpy()
    if normalize_reward:  # the critic learns in the units of the scaled rewards it will be trained on
        scaler = agent.reward_scaler.stats
        assert scaler.var == pytest.approx(np.var(demos.running_returns(0.9)), rel=1e-3)
        values = values * np.sqrt(scaler.var + agent.reward_scaler.epsilon)
    assert np.mean((values - demos.returns) ** 2) < 0.02 * np.var(demos.returns)


@pytest.mark.parametrize("cls,config_cls", [(PPO, PPOConfig), (A2C, A2CConfig), (REINFORCE, REINFORCEConfig)])
def test_training_pretrains_once_and_a_resumed_run_does_not_again(tmp_path, cls, config_cls):
    config = config_cls(n_envs=2, n_steps=16, batch_size=8, n_epochs=2, eval_freq=0, eval_episodes=2,
                        checkpoint_freq=0, tensorboard=False, pretrain_from="toy demonstrator", pretrain_episodes=50,
                        pretrain_epochs=20, pretrain_batch_size=64, pretrain_learning_rate=3e-3)
    total = 320
    full = cls("tests/MaskedChoice-v0", config, seed=1)
    summary = train(full, total, run_dir=tmp_path / "full", progress_bar=False, demonstrator=NextLegalAfterTarget())
    record = summary["pretrain"]
    assert record["source"] == "toy demonstrator" and record["episodes"] == 50
    assert record["demonstrator_mean_return"] == pytest.approx(demonstrator_return(50, 1))

    cut = cls("tests/MaskedChoice-v0", config, seed=1)
    stop_halfway = lambda agent, metrics: agent.num_timesteps < total // 2  # noqa: E731
    train(cut, total, run_dir=tmp_path / "cut", callbacks=[stop_halfway], progress_bar=False,
          demonstrator=NextLegalAfterTarget())
    resumed, watcher = cls("tests/MaskedChoice-v0", config, seed=1), NextLegalAfterTarget()
    summary = train(resumed, total, run_dir=tmp_path / "cut", progress_bar=False, resume=True, demonstrator=watcher)
    assert watcher.calls == 0
    assert summary["pretrain"] == record
    assert torch.equal(resumed.flat_params, full.flat_params)


def demonstrator_return(episodes, seed):
    demos = collect_demonstrations(NextLegalAfterTarget(), "tests/MaskedChoice-v0", {}, episodes,
                                   seed + DEMONSTRATION_SEED_OFFSET, 0.99, n_envs=2)
    return demos.episode_returns.mean()


def test_a_second_learn_call_goes_on_without_fitting_again(tiny_ppo_config):
    agent = PPO("tests/MaskedChoice-v0", dataclasses.replace(tiny_ppo_config, pretrain_from="toy"), seed=0)
    first, second = NextLegalAfterTarget(), NextLegalAfterTarget()
    assert "pretrain" in agent.learn(32, progress_bar=False, demonstrator=first) and first.calls > 0
    assert "pretrain" not in agent.learn(64, progress_bar=False, demonstrator=second) and second.calls == 0


def test_demonstrations_discounted_otherwise_are_refused(tiny_ppo_config):
    demos = collect_demonstrations(NextLegalAfterTarget(), "tests/MaskedChoice-v0", {}, 2, 0, 0.5)
    with pytest.raises(ValueError, match="discounted by 0.5"):
        PPO("tests/MaskedChoice-v0", tiny_ppo_config, seed=0).fit_demonstrations(demos, 1, 8, 1e-3)


def test_pretraining_needs_both_the_setting_and_the_demonstrator(tiny_ppo_config):
    with pytest.raises(ValueError, match="got no demonstrator"):
        train(PPO("tests/MaskedChoice-v0", dataclasses.replace(tiny_ppo_config, pretrain_from="x"), seed=0), 32,
              progress_bar=False)
    with pytest.raises(ValueError, match="pretrain_from is not set"):
        train(PPO("tests/MaskedChoice-v0", tiny_ppo_config, seed=0), 32, progress_bar=False,
              demonstrator=NextLegalAfterTarget())


@pytest.mark.parametrize("config_cls", [PPOConfig, A2CConfig, REINFORCEConfig])
@pytest.mark.parametrize("key,value", [("pretrain_from", ""), ("pretrain_episodes", 0), ("pretrain_epochs", 0),
                                       ("pretrain_batch_size", 0), ("pretrain_learning_rate", 0.0),
                                       ("pretrain_learning_rate", -1e-3)])
def test_bad_pretrain_settings_are_rejected(config_cls, key, value):
    with pytest.raises(ConfigError, match=key):
        make_config(config_cls, {key: value})


def test_dqn_with_pretraining_is_rejected_naming_the_supported_agents():
    with pytest.raises(ConfigError, match="unknown config key 'pretrain_from' for dqn; valid keys"):
        make_config(DQNConfig, {"pretrain_from": "baseline:random"}, agent="dqn")
    agent = DQN("CartPole-v1", DQNConfig(n_envs=1, eval_freq=0, checkpoint_freq=0, tensorboard=False), seed=0)
    with pytest.raises(ConfigError, match="supports ppo, a2c and reinforce, not dqn"):
        pretrain_agent(agent, PushRight())


def test_init_from_starts_a_new_run_from_a_saved_policy_and_refuses_a_mismatch(tmp_path):
    settings = {"n_envs": 2, "n_steps": 16, "batch_size": 32, "eval_freq": 0, "checkpoint_freq": 0,
                "tensorboard": False}
    run(RunSpec("CartPole-v1", "ppo", 0, 32, {}, settings, run_dir=tmp_path / "first", progress_bar=False))
    saved = torch.load(tmp_path / "first" / "checkpoint" / "agent.pt", weights_only=False)["policy"]["model"]
    # a learning rate too small to move the weights: the second run's policy is the first one's
    slow = {**settings, "learning_rate": 1e-30, "init_from": str(tmp_path / "first")}
    run(RunSpec("CartPole-v1", "ppo", 1, 32, {}, slow, run_dir=tmp_path / "second", progress_bar=False))
    continued = torch.load(tmp_path / "second" / "checkpoint" / "agent.pt", weights_only=False)["policy"]["model"]
    assert all(torch.allclose(saved[name], continued[name]) for name in saved)
    with pytest.raises(RunError, match="holds a 'ppo' policy; this run trains a2c"):
        run(RunSpec("CartPole-v1", "a2c", 0, 32, {}, {**settings, "init_from": str(tmp_path / "first")},
                    run_dir=tmp_path / "third", progress_bar=False))
    with pytest.raises(RunError, match="observation space"):
        run(RunSpec("Acrobot-v1", "ppo", 0, 32, {}, {**settings, "init_from": str(tmp_path / "first")},
                    run_dir=tmp_path / "fourth", progress_bar=False))
    with pytest.raises(RunError, match="both set"):
        run(RunSpec("CartPole-v1", "ppo", 0, 32, {}, {**settings, "init_from": str(tmp_path / "first"),
                                                       "pretrain_from": "baseline:random"},
                    run_dir=tmp_path / "fifth", progress_bar=False))


def test_critic_warmup_trains_only_the_critic_until_its_steps_are_done(tiny_ppo_config):
    agent = PPO("CartPole-v1", dataclasses.replace(tiny_ppo_config, critic_warmup_steps=64), seed=0)
    actor = {k: v.clone() for k, v in agent.model.actor.state_dict().items()}
    critic = {k: v.clone() for k, v in agent.model.critic.state_dict().items()}
    agent.learn(64, progress_bar=False)  # two rollouts of 32 steps, both within the warm-up
    assert all(torch.equal(actor[k], v) for k, v in agent.model.actor.state_dict().items())
    assert not all(torch.equal(critic[k], v) for k, v in agent.model.critic.state_dict().items())
    agent.learn(96, progress_bar=False)  # the third rollout ends past the warm-up: the actor learns
    assert not all(torch.equal(actor[k], v) for k, v in agent.model.actor.state_dict().items())


def test_a_negative_critic_warmup_is_rejected():
    with pytest.raises(ConfigError, match="critic_warmup_steps must be >= 0"):
        make_config(PPOConfig, {"critic_warmup_steps": -1})
