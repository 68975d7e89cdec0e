import numpy as np
import pytest
import torch

from appliedrl.agents.buffers import ReplayBuffer, SumTree, compute_gae


def test_gae_matches_hand_computation():
    # gamma 0.9, lambda 0.8; the episode ends at step 1, step 2 bootstraps from last_value 0.2.
    rewards = np.array([[1.0], [1.0], [1.0]])
    values = np.array([[0.5], [0.4], [0.3]])
    dones = np.array([[0.0], [1.0], [0.0]])
    adv, ret = compute_gae(rewards, values, dones, np.array([0.2]), 0.9, 0.8)
    # t2: 1 + .9*.2 - .3 = .88 ; t1: 1 - .4 = .6 ; t0: (1 + .9*.4 - .5) + .9*.8*.6 = 1.292
    np.testing.assert_allclose(adv[:, 0], [1.292, 0.6, 0.88])
    np.testing.assert_allclose(ret[:, 0], [1.792, 1.0, 1.18])


def test_gae_lambda_one_is_discounted_return_minus_value():
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
    adv, ret = compute_gae(rewards, values, np.zeros((6, 1)), np.array([0.7]), 0.95, 1.0)
    expected = [sum(0.95**k * rewards[t + k, 0] for k in range(6 - t)) + 0.95 ** (6 - t) * 0.7 for t in range(6)]
    np.testing.assert_allclose(ret[:, 0], expected)


def test_nstep_returns_flush_at_termination():
    buffer = ReplayBuffer(16, 1, (1,), 0, gamma=0.5, n_step=2)
    obs = [np.array([[float(i)]], np.float32) for i in range(4)]
    rewards = [1.0, 2.0, 4.0]
    for t in range(3):
        terminated = np.array([t == 2])
        buffer.add(obs[t], np.array([t]), np.array([rewards[t]]), obs[t + 1], terminated, np.array([False]))
    assert len(buffer) == 3
    # (s0: 1 + .5*2, next s2, discount .25), (s1: 2 + .5*4, next s3, done), (s2: 4, next s3, done, discount .5)
    np.testing.assert_allclose(buffer.rewards[:3], [2.0, 4.0, 4.0])
    np.testing.assert_allclose(buffer.next_obs[:3, 0], [2.0, 3.0, 3.0])
    np.testing.assert_allclose(buffer.discounts[:3], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(buffer.dones[:3], [0.0, 1.0, 1.0])


def test_nstep_truncation_bootstraps():
    buffer = ReplayBuffer(16, 1, (1,), 0, gamma=0.5, n_step=3)
    for t in range(2):
        buffer.add(np.array([[float(t)]]), np.array([0]), np.array([1.0]), np.array([[float(t + 1)]]),
                   np.array([False]), np.array([t == 1]))
    np.testing.assert_allclose(buffer.rewards[:2], [1.5, 1.0])
    np.testing.assert_allclose(buffer.dones[:2], [0.0, 0.0])  # truncated: still bootstraps
    np.testing.assert_allclose(buffer.discounts[:2], [0.25, 0.5])


def test_sumtree_samples_in_proportion_to_priority():
    tree = SumTree(5)
    tree.update(np.arange(5), np.array([1.0, 0.0, 3.0, 0.0, 6.0]))
    assert tree.total == pytest.approx(10.0)
    values = np.random.default_rng(0).random(20000) * tree.total
    counts = np.bincount(tree.find(values), minlength=5) / 20000
    np.testing.assert_allclose(counts, [0.1, 0.0, 0.3, 0.0, 0.6], atol=0.015)


def test_prioritized_weights_and_priority_update():
    buffer = ReplayBuffer(8, 1, (1,), 0, gamma=0.9, prioritized=True, alpha=1.0)
    for t in range(4):
        buffer.add(np.array([[t]]), np.array([0]), np.array([0.0]), np.array([[t]]), np.array([False]), np.array([False]))
    buffer.update_priorities(np.arange(4), np.array([1.0, 1.0, 1.0, 7.0]) - 1e-6)
    batch = buffer.sample(2000, beta=1.0)
    idx = batch["indices"].numpy()
    assert np.mean(idx == 3) == pytest.approx(0.7, abs=0.05)
    # importance weights undo the sampling bias: w ∝ 1/P, normalised by the max
    weights = batch["weights"].numpy()
    np.testing.assert_allclose(weights[idx == 3], 1 / 7, rtol=1e-4)
    np.testing.assert_allclose(weights[idx != 3], 1.0, rtol=1e-4)


def test_a_vector_step_with_no_rows_to_store_is_a_no_op():
    """The step in which every env of a NEXT_STEP vector env resets brings no transition."""
    buffer = ReplayBuffer(8, 1, (1,), 0, gamma=0.9, prioritized=True)
    empty = np.zeros((0, 1), np.float32)
    buffer.add(empty, np.zeros(0, np.int64), np.zeros(0), empty, np.zeros(0, bool), np.zeros(0, bool), env_ids=[])
    assert len(buffer) == 0 and buffer.tree.total == 0.0


def test_nstep_keeps_one_queue_per_env_wraps_around_and_stores_next_masks():
    """Two envs interleaved (n_step 2, gamma 0.5) in a buffer of 4: env 0 terminates at step 1, env 1 is truncated
    at step 2; each transition keeps its own env's rewards and the mask of the state it bootstraps from."""
    buffer = ReplayBuffer(4, 2, (1,), 3, gamma=0.5, n_step=2)
    rewards = [[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]]
    terminated = [[False, False], [True, False], [False, False]]
    truncated = [[False, False], [False, False], [False, True]]
    for t in range(3):
        obs = np.array([[t], [100 + t]], np.float32)  # env e's state at step t is 100 e + t
        masks = np.eye(3, dtype=bool)[[t % 3, (t + 1) % 3]]  # the next state's mask, different for each row
        buffer.add(obs, np.array([t, 10 + t]), np.array(rewards[t]), obs + 1, np.array(terminated[t]),
                   np.array(truncated[t]), next_masks=masks)
    # stored in order: (s0: 1 + .5*2, next s2, terminated), (s1: 2, next s2, terminated), (s100: 10 + .5*20, next
    # s102), (s101: 20 + .5*40, next s103, truncated), (s102: 40, next s103, truncated); the fifth overwrites the first
    assert len(buffer) == 4 and buffer.pos == 1
    np.testing.assert_array_equal(buffer.obs[:, 0], [102, 1, 100, 101])
    np.testing.assert_array_equal(buffer.actions, [12, 1, 10, 11])
    np.testing.assert_allclose(buffer.rewards, [40.0, 2.0, 20.0, 40.0])
    np.testing.assert_array_equal(buffer.next_obs[:, 0], [103, 2, 102, 103])
    np.testing.assert_allclose(buffer.discounts, [0.5, 0.5, 0.25, 0.25])
    np.testing.assert_array_equal(buffer.dones, [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(buffer.next_masks.argmax(-1), [0, 1, 2, 0])
    assert [len(q) for q in buffer.pending] == [1, 0]  # env 0's new episode waits for its second reward
    one_step = ReplayBuffer(3, 2, (1,), 0, gamma=0.5)
    for t in range(2):  # two rows a step into 3 slots: the second step's rows go to slots 2 and 0
        one_step.add(np.array([[t], [10 + t]], np.float32), np.array([t, 10 + t]), np.array([1.0, 1.0]),
                     np.zeros((2, 1)), np.array([False, False]), np.array([False, False]))
    np.testing.assert_array_equal(one_step.obs[:, 0], [11, 10, 1])
    assert (len(one_step), one_step.pos) == (3, 1)


def test_prioritized_alpha_beta_and_new_transitions_at_the_max_priority():
    """alpha 0.5: leaves hold priority^0.5; a new transition gets the largest priority seen so far (not the latest);
    beta 0.5: w = (N P)^-0.5 / max w."""
    buffer = ReplayBuffer(8, 1, (1,), 0, gamma=0.9, prioritized=True, alpha=0.5)

    def add(t):
        no = np.array([False])
        buffer.add(np.array([[t]]), np.array([0]), np.array([0.0]), np.array([[t]]), no, no)

    for t in range(4):
        add(t)
    buffer.update_priorities(np.arange(4), np.array([1.0, -1.0, 1.0, 16.0]) - 1e-6)
    buffer.update_priorities(np.array([0]), np.array([4.0 - 1e-6]))  # below the largest so far, 16
    add(4)
    np.testing.assert_allclose(buffer.tree.leaves(np.arange(5)), [2, 1, 1, 4, 4], rtol=1e-6)
    assert buffer.tree.total == pytest.approx(12.0)
    batch = buffer.sample(1200, beta=0.5)
    idx, weights = batch["indices"].numpy(), batch["weights"].numpy()
    assert np.mean(idx >= 3) == pytest.approx(8 / 12, abs=0.005)  # stratified: within one draw of exact
    assert np.mean(idx == 0) == pytest.approx(2 / 12, abs=0.005)
    # P = leaf / 12 over N = 5: w ∝ (5 leaf / 12)^-0.5, the largest at leaf 1: w = leaf^-0.5
    np.testing.assert_allclose(weights, buffer.tree.leaves(idx) ** -0.5, rtol=1e-5)
    np.testing.assert_allclose(weights[idx >= 3], 0.5, rtol=1e-5)
    np.testing.assert_allclose(weights[idx == 0], 2 ** -0.5, rtol=1e-5)


def test_reward_scaler_divides_by_the_std_of_the_discounted_return_of_real_steps_only():
    from appliedrl.agents.normalize import RewardScaler

    rng = np.random.default_rng(0)
    scaler, gamma = RewardScaler(2, 0.9), 0.9
    returns, counted = np.zeros(2), []
    for t in range(40):
        rewards = rng.normal(1.0, 2.0, 2)
        valid = np.array([True, t % 7 != 0])  # env 1 spends every 7th step on a NEXT_STEP reset (reward 0)
        rewards[~valid] = 0.0
        dones = np.array([t % 5 == 4, t % 7 == 6])
        returns = returns * gamma + rewards
        counted.extend(returns[valid])
        scaled = scaler(rewards, dones, valid)
        returns[dones] = 0.0
        np.testing.assert_allclose(scaled, np.clip(rewards / np.sqrt(np.var(counted) + 1e-8), -10, 10), rtol=1e-3)
    np.testing.assert_allclose(scaler.stats.mean, np.mean(counted), rtol=1e-4)


def test_tensor_replay_keeps_the_newest_rows_and_restores_them_in_order():
    from appliedrl.agents.buffers import TensorReplayBuffer

    fields = {"obs": ((2, 3), torch.float32), "done": ((), torch.bool)}
    buffer = TensorReplayBuffer(5, fields, torch.device("cpu"))
    for start in (0, 3, 6):  # rows 0..8 in batches of 3: the ring keeps 4..8, row 5 at slot 0
        rows = torch.arange(start, start + 3, dtype=torch.float32)
        buffer.add(obs=rows[:, None, None].expand(-1, 2, 3), done=rows.long() % 2 == 0)
    assert buffer.size == 5 and buffer.position == 4
    assert buffer.data["obs"][:, 0, 0].tolist() == [5.0, 6.0, 7.0, 8.0, 4.0]
    batch = buffer.sample(64, torch.Generator().manual_seed(0))
    assert batch["obs"].shape == (64, 2, 3) and set(batch["obs"][:, 0, 0].tolist()) <= {4.0, 5.0, 6.0, 7.0, 8.0}
    assert torch.equal(batch["done"], batch["obs"][:, 0, 0].long() % 2 == 0)  # fields stay aligned
    larger = TensorReplayBuffer(8, fields, torch.device("cpu"))
    larger.load(buffer.state())  # a longer resumed run: oldest first, then appending goes on after them
    assert larger.data["obs"][:5, 0, 0].tolist() == [4.0, 5.0, 6.0, 7.0, 8.0] and larger.position == 5
    smaller = TensorReplayBuffer(3, fields, torch.device("cpu"))
    smaller.load(buffer.state())
    assert smaller.data["obs"][:, 0, 0].tolist() == [6.0, 7.0, 8.0]
