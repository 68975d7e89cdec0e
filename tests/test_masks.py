import gymnasium as gym
import numpy as np
import pytest
import torch

from appliedrl.agents import DQN, PPO, DQNConfig, evaluate
from appliedrl.agents.networks import ActionDistribution, NumpyMLP, mlp


def test_masked_actions_get_zero_probability_and_are_never_sampled():
    dist = ActionDistribution(gym.spaces.Discrete(4))
    logits = torch.tensor([[5.0, 0.0, 9.0, 1.0]]).repeat(2000, 1)
    mask = torch.tensor([[True, True, False, True]]).repeat(2000, 1)
    actions, log_prob = dist.sample(logits, None, mask)
    assert not (actions[:, 0] == 2).any()
    for a in range(4):
        lp, _ = dist.log_prob_entropy(logits[:1], None, mask[:1], torch.tensor([[a]]))
        assert (lp.exp().item() == 0.0) == (a == 2)
    _, entropy = dist.log_prob_entropy(logits[:1], None, mask[:1], torch.tensor([[0]]))
    assert torch.isfinite(entropy).all()
    assert dist.sample(logits[:1], None, mask[:1], deterministic=True)[0].item() == 0


def test_numpy_sampler_matches_torch_log_probs_and_obeys_masks():
    for space in (gym.spaces.Discrete(5), gym.spaces.MultiDiscrete([3, 4]), gym.spaces.Box(-1, 1, (3,))):
        dist = ActionDistribution(space)
        net = mlp(6, [16], dist.actor_out_dim)
        obs = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32)
        out = NumpyMLP(net)(obs)
        np.testing.assert_allclose(out, net(torch.as_tensor(obs)).detach().numpy(), rtol=1e-5, atol=1e-6)
        mask = None
        if dist.kind == "categorical":
            mask = np.random.default_rng(1).random((500, dist.actor_out_dim)) < 0.6
            mask[:, 0] = True
            mask[:, dist.sizes[0] % dist.actor_out_dim] = True
        log_std = np.full(3, -0.5, np.float32) if dist.kind == "gaussian" else None
        actions, log_prob = dist.sample_numpy(out, log_std, mask, np.random.default_rng(2))
        torch_lp, _ = dist.log_prob_entropy(torch.as_tensor(out), None if log_std is None else torch.as_tensor(log_std),
                                            None if mask is None else torch.as_tensor(mask), torch.as_tensor(actions))
        np.testing.assert_allclose(log_prob, torch_lp.numpy(), rtol=1e-4, atol=1e-4)
        if mask is not None:
            offsets = np.cumsum([0] + dist.sizes[:-1])
            assert mask[np.arange(500)[:, None], actions.astype(int) + offsets].all()


@pytest.mark.parametrize("env_id", ["tests/MaskedChoice-v0", "tests/MaskedPair-v0"])
def test_ppo_trains_and_acts_without_illegal_actions(env_id, tiny_ppo_config):
    agent = PPO(env_id, tiny_ppo_config, seed=0)  # the env raises on an illegal action
    agent.learn(256, progress_bar=False)
    result = evaluate(agent, env_id, episodes=4, seed=3, deterministic=False)
    assert len(result.returns) == 4


def test_masked_choice_metrics_and_learning(tiny_ppo_config):
    import dataclasses

    config = dataclasses.replace(tiny_ppo_config, n_envs=4, n_steps=32, batch_size=64, n_epochs=4, learning_rate=3e-3)
    agent = PPO("tests/MaskedChoice-v0", config, seed=0)
    agent.learn(6000, progress_bar=False)
    result = evaluate(agent, "tests/MaskedChoice-v0", episodes=20, seed=1)
    assert result.metrics["success_rate"] == pytest.approx(np.mean(result.metrics["hits"]))
    assert result.mean > 4.5  # random legal choice scores about 5 × 0.6 = 3


def test_dqn_obeys_masks_when_acting_and_exploring():
    config = DQNConfig(n_envs=2, learning_starts=32, batch_size=16, buffer_size=500, train_freq=2,
                       target_update_interval=50, eval_freq=0, tensorboard=False)
    agent = DQN("tests/MaskedChoice-v0", config, seed=0)
    agent.learn(400, progress_bar=False)
    obs = np.eye(4, dtype=np.float32)[np.arange(2000) % 4]
    mask = np.tile(np.array([0, 1, 1, 0], bool), (2000, 1))
    greedy, sampled = agent.predict(obs, mask=mask), agent.predict(obs, mask=mask, deterministic=False)
    assert set(greedy) <= {1, 2} and set(sampled) <= {1, 2}
    # exploration_final_eps 0.05 of the rows act uniformly over the 2 legal actions: about 2.5% differ from greedy
    assert 0.01 < np.mean(sampled != greedy) < 0.04


def test_mask_of_wrong_size_is_rejected(tiny_ppo_config):
    agent = PPO("tests/MaskedChoice-v0", tiny_ppo_config, seed=0)
    with pytest.raises(ValueError, match="expected 4"):
        agent.predict(np.zeros(4, np.float32), mask=[1, 0, 1])
