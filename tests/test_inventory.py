import json
import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from scipy import stats
from torch.utils._python_dispatch import TorchDispatchMode

import appliedrl  # noqa: F401
from appliedrl.agents.checkpoint import checkpoint_path
from appliedrl.agents.hdpo import HDPO, HDPOConfig
from appliedrl.agents.trainer import RunExistsError
from appliedrl.domains.inventory.baselines import newsvendor_policy
from appliedrl.domains.inventory.hdpo_problem import InventoryHDPOProblem
from appliedrl.domains.inventory.policies import BaseStockPolicy, make_policy
from appliedrl.envs.inventory import InventorySimulator, InventoryState, make_problem

ENV_ID = "appliedrl/Inventory-v0"


def state(on_hand, pipeline):
    return InventoryState(torch.tensor([on_hand], dtype=torch.float32), torch.tensor([pipeline], dtype=torch.float32))


def test_lead_time_two_order_arrives_at_the_start_of_the_second_period_after():
    sim = InventorySimulator(make_problem("one_store_lost", lead_time=2, shortage_cost=4, holding_cost=1))
    s = state([3.0], [[0.0]])
    # period 0: order 7, demand 5: 3 on hand, 2 lost (cost 4 * 2)
    s, cost = sim.step(s, torch.tensor([[7.0]]), torch.tensor([[5.0]]))
    assert cost.item() == 8.0 and s.on_hand.item() == 0.0 and s.pipeline.tolist() == [[[7.0]]]
    # period 1: nothing arrives yet; demand 1 lost
    s, cost = sim.step(s, torch.tensor([[0.0]]), torch.tensor([[1.0]]))
    assert cost.item() == 4.0 and s.on_hand.item() == 7.0  # the order of period 0 lands at the start of period 2
    # period 2: demand 4 of 7: 3 left over, holding 3
    s, cost = sim.step(s, torch.tensor([[0.0]]), torch.tensor([[4.0]]))
    assert cost.item() == 3.0 and s.on_hand.item() == 3.0


def test_backlog_carries_unmet_demand_and_lead_time_one():
    sim = InventorySimulator(make_problem("one_store_backlogged", lead_time=1, shortage_cost=9, holding_cost=1))
    s = state([2.0], [[]])
    s, cost = sim.step(s, torch.tensor([[1.0]]), torch.tensor([[5.0]]))
    assert cost.item() == 27.0 and s.on_hand.item() == -3.0 + 1.0  # backlog of 3, then the order of 1 arrives
    s, cost = sim.step(s, torch.tensor([[0.0]]), torch.tensor([[0.0]]))
    assert cost.item() == 18.0  # still 2 short


def test_warehouse_scales_orders_down_proportionally_and_pays_holding_after_shipping():
    problem = make_problem("one_warehouse", n_stores=2, lead_time=2, holding_cost=1, shortage_cost=9, demand_mean=5)
    sim = InventorySimulator(problem)
    nodes = problem.n_nodes
    s = InventoryState(torch.tensor([[10.0, 10.0, 6.0]]), torch.zeros(1, nodes, problem.max_lead_time - 1))
    s, cost = sim.step(s, torch.tensor([[6.0, 3.0, 4.0]]), torch.tensor([[0.0, 0.0]]))
    # stores asked 9 of the warehouse's 6: shipped 4 and 2; warehouse keeps 0, stores hold 10 each
    assert torch.allclose(s.pipeline[0, :2, 0], torch.tensor([4.0, 2.0]))
    assert cost.item() == pytest.approx(20.0 + 0.3 * 0.0)
    assert s.pipeline[0, 2].tolist() == [0.0, 4.0]  # the warehouse's own order: lead time 3
    s, cost = sim.step(s, torch.zeros(1, 3), torch.zeros(1, 2))
    assert torch.allclose(s.on_hand[0, :2], torch.tensor([14.0, 12.0]))
    # enough stock: the warehouse ships exactly what is asked and pays 0.3 on the 11 it keeps; store 0 misses
    # 2 units (lost: it stays at 0, 9 each); the warehouse's order of 4 lands at the start of period 3
    s = InventoryState(torch.tensor([[0.0, 0.0, 20.0]]), torch.zeros(1, nodes, problem.max_lead_time - 1))
    s, cost = sim.step(s, torch.tensor([[6.0, 3.0, 4.0]]), torch.tensor([[2.0, 0.0]]))
    assert cost.item() == pytest.approx(9 * 2.0 + 0.3 * 11.0)
    assert s.on_hand[0].tolist() == [0.0, 0.0, 11.0] and s.pipeline[0].tolist() == [[6.0, 0.0], [3.0, 0.0], [0.0, 4.0]]
    s, cost = sim.step(s, torch.zeros(1, 3), torch.zeros(1, 2))
    assert cost.item() == pytest.approx(0.3 * 11.0) and s.on_hand[0].tolist() == [6.0, 3.0, 11.0]
    s, cost = sim.step(s, torch.zeros(1, 3), torch.zeros(1, 2))
    assert cost.item() == pytest.approx(9.0 + 0.3 * 11.0) and s.on_hand[0].tolist() == [6.0, 3.0, 15.0]


def test_demand_scenarios_have_the_stated_mean_spread_and_correlation():
    # Normal(50, 5) per store, pairwise correlation 0.5 (clipping at 0 is 10 standard deviations away)
    problem = make_problem("transshipment", n_stores=3, demand_mean=50.0, demand_std=5.0)
    demand = problem.sample_demand(20_000, 5, seed=0)
    assert demand.shape == (20_000, 5, 3) and torch.equal(demand, problem.sample_demand(20_000, 5, seed=0))
    flat = demand.reshape(-1, 3).double().numpy()
    np.testing.assert_allclose(flat.mean(0), 50.0, atol=0.1)  # standard error 0.016
    np.testing.assert_allclose(flat.std(0), 5.0, atol=0.06)
    np.testing.assert_allclose(np.corrcoef(flat.T)[np.triu_indices(3, 1)], 0.5, atol=0.02)
    assert abs(np.corrcoef(flat[:-3, 0], flat[3:, 0])[0, 1]) < 0.02  # independent over time
    poisson = make_problem("one_store_lost", demand_mean=5.0).sample_demand(20_000, 5, seed=0).numpy()
    assert (poisson == np.round(poisson)).all() and poisson.min() >= 0
    assert poisson.mean() == pytest.approx(5.0, abs=0.05) and poisson.var() == pytest.approx(5.0, abs=0.15)


def test_pathwise_gradient_matches_finite_differences():
    problem = make_problem("one_store_backlogged", lead_time=2, shortage_cost=9)
    hp = InventoryHDPOProblem(problem)
    scenarios = hp.sample_scenarios(512, 20, seed=0)
    policy = BaseStockPolicy(problem, torch.tensor([14.0]))
    cost = hp.cost(policy, scenarios, 5).mean()
    (grad,) = torch.autograd.grad(cost, policy.level)
    eps = 1e-2
    with torch.no_grad():
        policy.level += eps
        up = hp.cost(policy, scenarios, 5).mean()
        policy.level -= 2 * eps
        down = hp.cost(policy, scenarios, 5).mean()
    assert grad.item() == pytest.approx(((up - down) / (2 * eps)).item(), rel=2e-2, abs=1e-3)


def test_base_stock_at_closed_form_level_reaches_closed_form_cost():
    sigma, p, h, L = 1.6, 9.0, 1.0, 1
    z = stats.norm.ppf(p / (p + h))
    optimum = (p + h) * sigma * np.sqrt(L + 1) * stats.norm.pdf(z)
    problem = make_problem("one_store_backlogged", lead_time=L, shortage_cost=p)
    hp = InventoryHDPOProblem(problem)
    scenarios = hp.sample_scenarios(4096, 400, seed=1)
    with torch.no_grad():
        per_scenario = hp.cost(newsvendor_policy(problem), scenarios, 50)
    standard_error = per_scenario.std().item() / np.sqrt(len(per_scenario))
    assert abs(per_scenario.mean().item() - optimum) < 4 * standard_error + 1e-3


def tiny_resume_config(eval_freq: int) -> HDPOConfig:
    """A few-second HDPO run, small enough to train three times in a resume test."""
    return HDPOConfig(batch_size=256, train_scenarios=512, train_periods=20, train_ignore_periods=5,
                      dev_scenarios=256, dev_periods=30, dev_ignore_periods=10, test_scenarios=64, test_periods=50,
                      test_ignore_periods=10, eval_freq=eval_freq, tensorboard=False)


def assert_same_weights(state: dict, other: dict) -> None:
    assert state.keys() == other.keys()
    for a, b in zip(state.values(), other.values()):
        assert torch.equal(a, b)


def test_hdpo_resume_equals_uninterrupted_run(tmp_path):
    problem = make_problem("one_store_lost", lead_time=2, shortage_cost=9)
    config = tiny_resume_config(eval_freq=3)

    def without_time(summary):
        return {key: value for key, value in summary.items() if key not in ("wall_time_s", "per_second")}

    torch.manual_seed(0)
    full = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1)
    full_summary = full.learn(6, run_dir=tmp_path / "full", progress_bar=False)
    torch.manual_seed(0)
    first = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1)
    first_summary = first.learn(3, run_dir=tmp_path / "cut", progress_bar=False)
    # resuming with the budget it already spent is refused, and leaves the finished run as it was
    torch.manual_seed(123)  # a different initial network: only the checkpoint can make it match
    resumed = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1)
    with pytest.raises(RunExistsError, match="finished at 3 epochs"):
        resumed.learn(3, run_dir=tmp_path / "cut", progress_bar=False, resume=True)
    assert json.loads((tmp_path / "cut" / "summary.json").read_text()) == first_summary
    # with a larger budget, the best dev cost and its epoch (what early stopping and the plateau schedule go by)
    # come back from the checkpoint: the summary is the uninterrupted run's
    resumed_summary = resumed.learn(6, run_dir=tmp_path / "cut", progress_bar=False, resume=True)
    assert resumed.epoch == full.epoch == 6
    assert without_time(resumed_summary) == without_time(full_summary)
    assert resumed_summary["progress"] == 6 and resumed_summary["stopped"] == "budget reached"
    assert_same_weights(resumed.policy.state_dict(), full.policy.state_dict())


def test_hdpo_finished_run_extended_with_more_epochs_equals_an_uninterrupted_run(tmp_path):
    problem = make_problem("one_store_lost", lead_time=2, shortage_cost=9)
    config = tiny_resume_config(eval_freq=1)
    torch.manual_seed(0)
    full = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1)
    full.learn(5, run_dir=tmp_path / "full", progress_bar=False)
    torch.manual_seed(0)
    first = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1)
    summary = first.learn(3, run_dir=tmp_path / "cut", progress_bar=False)
    assert summary["best_at"] == first.best_epoch == 2  # the last epoch is not the best
    resumed = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1)
    resumed.learn(5, run_dir=tmp_path / "cut", progress_bar=False, resume=True)
    assert_same_weights(resumed.policy.state_dict(), full.policy.state_dict())
    last = [torch.load(checkpoint_path(tmp_path / run), weights_only=False)["policy"] for run in ("cut", "full")]
    assert_same_weights(*last)  # the checkpoints hold the last weights, not the best


def test_hdpo_ctrl_c_saves_the_epoch_and_resumes_exactly(tmp_path):
    import os
    import signal

    from appliedrl.agents.checkpoint import Interrupted

    problem = make_problem("one_store_lost", lead_time=2, shortage_cost=9)
    config = tiny_resume_config(eval_freq=2)
    agents = []
    for _ in range(3):
        torch.manual_seed(0)
        agents.append(HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=1))
    full, interrupted, resumed = agents
    full.learn(5, run_dir=tmp_path / "full", progress_bar=False)
    evaluate = interrupted._evaluate

    def evaluate_then_press_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # during epoch 2's dev evaluation
        return evaluate(*args, **kwargs)

    interrupted._evaluate = evaluate_then_press_ctrl_c
    with pytest.raises(Interrupted):
        interrupted.learn(5, run_dir=tmp_path / "cut", progress_bar=False)
    assert interrupted.epoch == 2
    resumed.learn(5, run_dir=tmp_path / "cut", progress_bar=False, resume=True)
    assert_same_weights(resumed.policy.state_dict(), full.policy.state_dict())


def test_hdpo_fits_the_base_stock_level_and_reloads(tmp_path):
    problem = make_problem("one_store_backlogged", lead_time=2, shortage_cost=9)
    config = HDPOConfig(learning_rate=0.3, batch_size=512, train_scenarios=1024, dev_scenarios=1024, dev_periods=60,
                        dev_ignore_periods=20, test_scenarios=512, test_periods=300, test_ignore_periods=50,
                        eval_freq=5, tensorboard=False)
    agent = HDPO(InventoryHDPOProblem(problem), make_policy("base_stock", problem), config, seed=0)
    summary = agent.learn(30, run_dir=tmp_path / "run", progress_bar=False)
    s_star = 3 * 5.0 + stats.norm.ppf(0.9) * 1.6 * np.sqrt(3)
    assert agent.policy.level.item() == pytest.approx(s_star, abs=0.5)
    assert abs(summary["extras"]["gap_to_optimum"]) < 0.02
    assert summary["score_name"] == "dev_cost" and summary["higher_is_better"] is False
    loaded = HDPO.load(tmp_path / "run")
    obs = np.array([[3.0, 4.0], [20.0, 0.0]], np.float32)
    np.testing.assert_allclose(loaded.predict(obs), agent.predict(obs))
    assert not np.all(loaded.predict(obs) == np.round(loaded.predict(obs)))  # Normal demand: orders stay continuous
    if not torch.cuda.is_available():  # a run trained with CUDA graphs acts on a machine without a GPU
        saved = torch.load(checkpoint_path(tmp_path / "run"), weights_only=False)
        saved["config"].update(device="cuda", cuda_graph=True)
        torch.save(saved, tmp_path / "gpu.pt")
        np.testing.assert_allclose(HDPO.load(tmp_path / "gpu.pt").predict(obs), agent.predict(obs))


def test_env_checkers_and_vector_env():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    for setting in ("one_store_lost", "one_store_backlogged", "serial", "one_warehouse", "transshipment",
                    "real_data_store"):
        env = gym.make("appliedrl/Inventory-v0", setting=setting)
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=False)
    envs = gym.make_vec("appliedrl/Inventory-v0", 3, vectorization_mode="vector_entry_point", periods=4,
                        ignore_periods=1)
    obs, _ = envs.reset(seed=0)
    for t in range(4):
        obs, reward, terminated, truncated, info = envs.step(np.full((3, 1), 5.0, np.float32))
    assert truncated.all() and not terminated.any()
    assert info["final_info"]["episode_metrics"]["average_cost"].shape == (3,)
    assert info["_final_obs"].all() and not np.array_equal(np.stack(info["final_obs"]), obs)  # SAME_STEP reset
    envs.close()


def test_env_steps_in_lockstep_with_the_simulator_and_reports_the_average_after_the_warm_up():
    """Deterministic demand (std 0): from the start state the env shows, the simulator gives every reward (minus
    the cost per store), every observation, the final one, and the average cost per period per store over the
    periods after `ignore_periods`."""
    kwargs = {"setting": "one_warehouse", "n_stores": 3, "demand_mean": 5.0, "demand_std": 0.0, "periods": 4,
              "ignore_periods": 1}
    envs = gym.make_vec("appliedrl/Inventory-v0", 2, vectorization_mode="vector_entry_point", **kwargs)
    single = gym.make("appliedrl/Inventory-v0", **kwargs)
    problem = envs.unwrapped.problem
    sim, nodes, slots = InventorySimulator(problem), problem.n_nodes, problem.max_lead_time - 1
    orders = np.random.default_rng(0).uniform(0, 12, (4, 2, nodes)).astype(np.float32)
    obs, _ = envs.reset(seed=0)
    single_obs, _ = single.reset(seed=1)
    obs = np.concatenate([obs, single_obs[None]])  # rows 0, 1: the vector env; row 2: the single env
    orders = np.concatenate([orders, orders[:, :1]], axis=1)
    s = InventoryState(torch.as_tensor(obs[:, :nodes]), torch.as_tensor(obs[:, nodes:]).reshape(3, nodes, slots))
    costs = []
    for t in range(4):
        s, cost = sim.step(s, torch.as_tensor(orders[t]), torch.full((3, 3), 5.0))
        costs.append(cost.numpy() / 3)
        obs, reward, terminated, truncated, info = envs.step(orders[t, :2])
        single_obs, single_reward, single_terminated, single_truncated, single_info = single.step(orders[t, 2])
        np.testing.assert_allclose(np.append(reward, single_reward), -costs[-1], rtol=1e-5)
        assert not terminated.any() and not single_terminated
        assert truncated.tolist() == [t == 3] * 2 and single_truncated == (t == 3)
        if t < 3:
            np.testing.assert_allclose(np.concatenate([obs, single_obs[None]]), s.observation().numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.concatenate([np.stack(info["final_obs"]).astype(np.float32), single_obs[None]]),
                               s.observation().numpy(), rtol=1e-5)
    average = np.mean(costs[1:], axis=0)  # periods 1..3
    np.testing.assert_allclose(info["final_info"]["episode_metrics"]["average_cost"], average[:2], rtol=1e-5)
    assert single_info["episode_metrics"]["average_cost"] == pytest.approx(average[2], rel=1e-5)
    assert np.ptp(np.array(costs), axis=0).min() > 0.1  # the warm-up period costs differently: leaving it out shows
    envs.close()


@pytest.mark.parametrize("kwargs,message", [
    ({"lead_time": -1}, "lead_time=-1 is invalid"),
    ({"n_stores": 0, "setting": "one_warehouse"}, "n_stores=0 is invalid"),
    ({"shortage_cost": -2}, "shortage_cost=-2 is invalid"),
    ({"setting": "two_stores"}, "valid settings: one_store_lost"),
    ({"n_stores": 3, "setting": "serial"}, "exactly one store"),
    ({"lead_time": True}, "lead_time=True is invalid"),
    ({"shortage_cost": float("inf")}, "shortage_cost=inf is invalid: must be finite"),
    ({"demand_std": 2.0}, "demand_std does not apply to one_store_lost"),
    ({"max_order": "lots"}, "max_order='lots' is invalid"),
    ({"periods": 2.5}, "periods=2.5 is invalid: must be an integer"),
    ({"problem_seed": -1}, "problem_seed=-1 is invalid"),
    ({"render_mode": "ansi"}, "render_mode='ansi' is invalid; valid: None, rgb_array"),
])
def test_invalid_parameters_say_which_and_why(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        gym.make("appliedrl/Inventory-v0", **kwargs)


def test_unknown_parameter_is_a_type_error_naming_the_valid_ones():
    message = "unexpected keyword argument 'reorder_point' for appliedrl/Inventory-v0; valid: setting, lead_time"
    with pytest.raises(TypeError, match=re.escape(message)):
        gym.make("appliedrl/Inventory-v0", reorder_point=3)


def test_rgb_array_draws_stock_on_hand_and_on_the_way():
    env = gym.make("appliedrl/Inventory-v0", render_mode="rgb_array", lead_time=2)
    obs, _ = env.reset(seed=0)
    image = env.render()
    assert image.shape == (96, 36, 3) and image.dtype == np.uint8
    scale = 2 * env.unwrapped.max_order
    for column, level in ((6, obs[0]), (18, obs[1])):  # the middle of the on-hand bar, of the on-the-way bar
        drawn = int((image[:, column] != 255).any(axis=-1).sum())
        assert drawn == round(96 * min(max(level, 0) / scale, 1))


def test_ppo_trains_on_the_native_vector_env(tiny_ppo_config):
    import dataclasses

    from appliedrl.agents import PPO

    config = dataclasses.replace(tiny_ppo_config, normalize_obs=True, normalize_reward=True)
    agent = PPO("appliedrl/Inventory-v0", config, seed=0, env_kwargs={"periods": 10, "ignore_periods": 2})
    assert type(agent.envs).__name__ == "InventoryVectorEnv"
    # record what the env hands out, to check the running statistics against their batch formulas
    start = agent.obs_normalizer.stats.state_dict()
    seen, rewards, dones = [], [], []
    step = agent.envs.step

    def recording_step(actions):
        obs, reward, terminated, truncated, info = step(actions)
        seen.append(obs.copy())
        rewards.append(reward.copy())
        dones.append(terminated | truncated)
        return obs, reward, terminated, truncated, info

    agent.envs.step = recording_step
    agent.learn(256, progress_bar=False)
    assert len(rewards) == 128 and np.sum(dones) == 2 * 12  # two envs, 10-period episodes
    # every episode's return is what the env paid: minus its ten periods' costs (not the scaled rewards)
    episodes = np.array(rewards)[:120].reshape(12, 10, 2).sum(1).T.ravel()
    np.testing.assert_allclose(sorted(agent.episode_returns), sorted(episodes), rtol=1e-5)

    def pooled(count, mean, var, samples):  # mean and variance of a weighted prior plus the samples, at once
        total = count + len(samples)
        new_mean = (count * mean + samples.sum(0)) / total
        return new_mean, (count * (var + (mean - new_mean) ** 2) + ((samples - new_mean) ** 2).sum(0)) / total

    mean, var = pooled(start["count"], start["mean"], start["var"], np.concatenate(seen).astype(np.float64))
    np.testing.assert_allclose(agent.obs_normalizer.stats.mean, mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(agent.obs_normalizer.stats.var, var, rtol=1e-6, atol=1e-9)
    # rewards are scaled by the running std of the discounted return, restarted with each episode
    returns, discounted = np.zeros(2), []
    for reward, done in zip(rewards, dones):
        returns = 0.99 * returns + reward
        discounted.append(returns)
        returns = np.where(done, 0.0, returns)
    mean, var = pooled(1e-4, 0.0, 1.0, np.concatenate(discounted))
    assert agent.reward_scaler.stats.var == pytest.approx(var, rel=1e-6)
    assert agent.reward_scaler.stats.mean == pytest.approx(mean, rel=1e-6)
    np.testing.assert_allclose(agent.reward_scaler.returns, returns, rtol=1e-6)
    last = slice(len(rewards) - agent.buffer.n_steps, None)  # the last rollout, scaled as it was collected
    scales = np.sqrt([pooled(1e-4, 0.0, 1.0, np.concatenate(discounted[: t + 1]))[1] + 1e-8
                      for t in range(len(rewards))][last])[:, None]
    truncated = np.array(dones[last])  # these steps also gain the discounted value of the final observation
    np.testing.assert_allclose(agent.buffer.rewards[~truncated], (np.array(rewards[last]) / scales)[~truncated],
                               rtol=1e-4)


def test_gym_make_without_importing_appliedrl_first():
    import subprocess
    import sys

    code = ("import gymnasium as gym; env = gym.make('appliedrl:appliedrl/Inventory-v0', setting='serial'); "
            "print(env.action_space.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(4,)"


def test_transshipment_centre_passes_everything_on_and_hdpo_stays_above_the_pooled_bound(tmp_path):
    problem = make_problem("transshipment", n_stores=2, demand_mean=5, demand_std=1.5)
    sim = InventorySimulator(problem)
    s = InventoryState(torch.tensor([[0.0, 0.0, 9.0]]), torch.zeros(1, 3, 2))
    s, cost = sim.step(s, torch.tensor([[1.0, 2.0, 4.0]]), torch.zeros(1, 2))
    assert s.pipeline[0, :2, 0].tolist() == [3.0, 6.0] and s.on_hand[0, 2].item() == 0.0  # all 9 shipped, 1:2
    s = InventoryState(torch.tensor([[0.0, 0.0, 9.0]]), torch.zeros(1, 3, 2))
    orders = torch.tensor([[0.0, 0.0, 4.0]], requires_grad=True)
    s, cost = sim.step(s, orders, torch.zeros(1, 2))
    assert s.pipeline[0, :2, 0].tolist() == [4.5, 4.5] and s.on_hand[0, 2].item() == 0.0  # nobody asked: halves
    s.pipeline.sum().backward()
    assert orders.grad.abs().max() <= 1.0  # not available / 1e-9 through the proportional shares
    config = HDPOConfig(batch_size=512, train_scenarios=1024, dev_scenarios=512, dev_periods=60, dev_ignore_periods=20,
                        test_scenarios=256, test_periods=200, test_ignore_periods=50, eval_freq=5,
                        tensorboard=False)
    agent = HDPO(InventoryHDPOProblem(problem), make_policy("mlp", problem), config, seed=0)
    summary = agent.learn(10, run_dir=tmp_path, progress_bar=False)
    assert summary["extras"]["lower_bound"] > 0 and summary["extras"]["gap_to_lower_bound"] > 0


def test_gnn_policy_is_permutation_equivariant():
    import dataclasses

    problem = make_problem("one_warehouse", n_stores=4, seed=3)
    perm = [2, 0, 3, 1]
    def permuted(values):  # per-node tuple with the stores reordered, upstream nodes unchanged
        return tuple(values[i] for i in perm) + tuple(values[4:])
    shuffled = dataclasses.replace(
        problem, lead_times=permuted(problem.lead_times), holding_costs=permuted(problem.holding_costs),
        shortage_costs=tuple(problem.shortage_costs[i] for i in perm),
        demand_means=tuple(problem.demand_means[i] for i in perm),
        demand_stds=tuple(problem.demand_stds[i] for i in perm), holds_stock=permuted(problem.holds_stock))
    torch.manual_seed(0)
    policy = make_policy("gnn", problem)
    twin = make_policy("gnn", shuffled)
    # same weights; the buffers (node parameters, scales) stay each problem's own
    twin.load_state_dict(dict(policy.named_parameters()), strict=False)
    nodes, slots = problem.n_nodes, problem.max_lead_time - 1
    obs = torch.rand(6, nodes * (slots + 1)) * 10
    on_hand, pipeline = obs[:, :nodes], obs[:, nodes:].reshape(6, nodes, slots)
    order = perm + [4]
    obs_shuffled = torch.cat([on_hand[:, order], pipeline[:, order].reshape(6, -1)], dim=1)
    torch.testing.assert_close(twin(obs_shuffled), policy(obs)[:, order])


@pytest.mark.parametrize("n_stores", [3, 20])
def test_untrained_gnn_orders_stay_at_the_scale_of_demand(n_stores):
    problem = make_problem("one_warehouse", n_stores=n_stores)
    torch.manual_seed(0)
    policy = make_policy("gnn", problem)
    nodes, slots = problem.n_nodes, problem.max_lead_time - 1
    typical = torch.rand(64, nodes, slots + 1) * 2 * policy.scale[:, None]  # stock up to twice the demand served
    orders = policy(torch.cat([typical[..., 0], typical[..., 1:].reshape(64, -1)], dim=1)) / policy.scale
    assert orders.max() < 8  # mean aggregation: no growth with the number of stores (summing: 267 at n = 20)
    glut = policy(torch.full((64, nodes * (slots + 1)), 1e4)) / policy.scale
    assert glut[:, n_stores:].max() <= 4  # upstream orders are bounded even with a huge stock


def test_hdpo_trains_a_gnn_on_one_warehouse(tmp_path):
    problem = make_problem("one_warehouse", n_stores=3)
    config = HDPOConfig(learning_rate=1e-3, batch_size=256, train_scenarios=512, dev_scenarios=256, dev_periods=40,
                        dev_ignore_periods=10, test_scenarios=128, test_periods=60, test_ignore_periods=10,
                        eval_freq=2, tensorboard=False)
    agent = HDPO(InventoryHDPOProblem(problem), make_policy("gnn", problem), config, seed=0)
    before = agent._evaluate(agent.problem.sample_scenarios(256, 40, 1), 10)
    summary = agent.learn(4, run_dir=tmp_path, progress_bar=False)
    assert summary["best_score"] < before  # four epochs already improve on the initial policy
    assert (tmp_path / "checkpoint" / "agent.pt").is_file()


def test_real_data_store_trains_on_windows_of_the_synthetic_series(tmp_path):
    from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent

    config = HDPOConfig(batch_size=256, train_scenarios=512, dev_scenarios=256, dev_periods=60, dev_ignore_periods=20,
                        test_scenarios=256, test_periods=100, test_ignore_periods=20, eval_freq=3,
                        tensorboard=False)
    agent = make_hdpo_agent(ENV_ID, {"setting": "real_data_store"}, config, seed=0)
    problem = agent.problem.problem
    assert 4 <= problem.lead_times[0] <= 6 and 6.3 <= problem.shortage_costs[0] <= 11.7
    demand, features = problem.sample_windows(4, 20, seed=0)
    # feature k at period t is the demand HISTORY - k periods earlier, scaled by the mean
    np.testing.assert_allclose(features[:, 1:, -3] * problem.demand_means[0], demand[:, :-1, 0], rtol=1e-5)
    summary = agent.learn(6, run_dir=tmp_path, progress_bar=False)
    assert np.isfinite(summary["extras"]["test_cost"])
    with pytest.raises(ValueError, match="test_periods=2000 exceeds"):
        make_hdpo_agent(ENV_ID, {"setting": "real_data_store"}, HDPOConfig(), seed=0)
    short = HDPOConfig(train_periods=30, train_ignore_periods=5, dev_periods=40, dev_ignore_periods=5,
                       test_periods=30, test_ignore_periods=5)
    with pytest.raises(ValueError, match="dev_periods=40 exceeds the 31 periods the test part of the demand series"):
        make_hdpo_agent(ENV_ID, {"setting": "real_data_store", "split": "test"}, short, seed=0)


@pytest.mark.parametrize("content,message", [
    ("date,sales\n2024-01-01,3\n", "missing column 'demand'"),
    ("date,demand\n2024-01-01,3\n2024-01-08,-2\n", "column 'demand', row 1: negative demand -2"),
    ("date,demand\n2024-01-01,3\n2024-01-08,lots\n", "column 'demand', row 1: 'lots' is not a number"),
    ("date,demand\n2024-01-01,3\n2024-01-08,NaN\n", "column 'demand', row 1: missing value"),
    ("date,demand\n2024-01-01,3\n2024-01-08,\n", "column 'demand', row 1: missing value"),
    ("date,demand\n2024-01-01,3\nsoon,4\n", "column 'date', row 1: 'soon' is not a date"),
    ("date,store,demand\n2024-01-01,A,3\n2024-01-01,B,4\n", "holds 2 stores; choose one with store="),
    ("date,demand\n2024-01-01,3\n2024-01-08,inf\n", "column 'demand', row 1: 'inf' is not a finite number"),
    ("", "not a readable CSV file"),
])
def test_demand_file_errors_name_file_column_and_row(tmp_path, content, message):
    from appliedrl.envs.inventory.demand_data import load_demand

    path = tmp_path / "sales.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        load_demand(path)
    assert str(path) in str(error.value)


def test_demand_loader_reads_the_shipped_synthetic_data():
    from appliedrl.data import SYNTHETIC_DEMAND
    from appliedrl.envs.inventory.demand_data import load_demand

    frame = load_demand(SYNTHETIC_DEMAND, store="S03")
    assert len(frame) == 156 and frame["date"].is_monotonic_increasing and (frame["demand"] >= 0).all()
    with pytest.raises(ValueError, match="no store 'X'"):
        load_demand(SYNTHETIC_DEMAND, store="X")


def test_a_numeric_store_id_matches_the_file_s_text(tmp_path):
    from appliedrl.envs.inventory.demand_data import load_demand

    path = tmp_path / "sales.csv"
    path.write_text("date,store,demand\n2024-01-01,101,3\n2024-01-08,101,4\n2024-01-01,102,5\n2024-01-08,102,6\n")
    assert load_demand(path, store=101)["demand"].tolist() == [3.0, 4.0]


def test_dqn_trains_on_a_discretised_order_grid():
    from appliedrl.agents import DQN, DQNConfig

    env = gym.make("appliedrl/Inventory-v0", order_levels=21)
    assert env.action_space == gym.spaces.Discrete(21)
    env.reset(seed=0)
    obs, _, _, _, _ = env.step(10)  # index 10 of the grid 0, 1, ..., 20 = 10 units
    assert obs[-1] == 10.0  # the newest pipeline slot holds the order
    config = DQNConfig(n_envs=2, learning_starts=64, batch_size=32, buffer_size=1000, eval_freq=0, eval_episodes=2,
                       tensorboard=False, normalize_obs=True)
    agent = DQN("appliedrl/Inventory-v0", config, seed=0, env_kwargs={"order_levels": 21, "periods": 20,
                                                                      "ignore_periods": 5})
    agent.learn(400, progress_bar=False)
    assert set(np.unique(agent.predict(np.zeros((3, 4), np.float32)))) <= set(range(21))
    with pytest.raises(ValueError, match="order_levels=1 is invalid"):
        gym.make("appliedrl/Inventory-v0", order_levels=1)


def test_hdpo_stops_on_a_non_finite_cost(tmp_path):
    from appliedrl.agents.vec_env import NonFiniteError

    problem = make_problem("one_store_lost", lead_time=1)
    policy = make_policy("constant", problem)
    with torch.no_grad():
        policy.quantity.fill_(float("nan"))
    config = HDPOConfig(batch_size=64, train_scenarios=64, dev_scenarios=64, dev_periods=20, dev_ignore_periods=5,
                        test_scenarios=64, test_periods=20, test_ignore_periods=5, tensorboard=False)
    with pytest.raises(NonFiniteError, match="epoch 1"):
        HDPO(InventoryHDPOProblem(problem), policy, config, seed=0).learn(2, run_dir=tmp_path, progress_bar=False)


def test_cuda_graph_option_is_checked(monkeypatch):
    from appliedrl.agents.config import ConfigError, make_config

    with pytest.raises(ConfigError, match="cuda_graph needs device cuda"):
        make_config(HDPOConfig, {"cuda_graph": True})
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # past the device check, on any machine
    with pytest.raises(ConfigError, match="cuda_graph and compile are alternatives"):
        make_config(HDPOConfig, {"cuda_graph": True, "compile": True, "device": "cuda"})


class CaptureUnsafeOps(TorchDispatchMode):
    """Records the ops (forward and backward) that make the CPU wait for the GPU, or that a CUDA graph cannot
    capture: reading a value back, data-dependent shapes, and index_put with accumulate (the backward of x[:, i])."""

    WAITS = {"aten._local_scalar_dense", "aten.nonzero", "aten.masked_select", "aten._unique2", "aten.unique_dim",
             "aten.unique_consecutive", "aten.repeat_interleave", "aten.bincount", "aten.equal", "aten.is_nonzero"}

    def __init__(self):
        super().__init__()
        self.found = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func.overloadpacket)
        accumulate = args[3] if len(args) > 3 else kwargs.get("accumulate", False)
        if (name in self.WAITS or ("index_put" in name and accumulate)
                or (name == "aten.index" and any(i is not None and i.dtype == torch.bool for i in args[1]))):
            self.found.add(name)
        return func(*args, **kwargs)


def test_the_capture_check_catches_what_breaks_a_cuda_graph():
    x = torch.randn(4, 3, requires_grad=True)
    with CaptureUnsafeOps() as unsafe:
        x[:, torch.tensor([0, 0, 1])].sum().backward()
        x[x > 0].sum().item()
    assert unsafe.found == {"aten.index_put", "aten.index", "aten._local_scalar_dense"}


EVERY_POLICY = [
    ("one_store_lost", "mlp"), ("one_store_lost", "capped_base_stock"), ("one_store_backlogged", "base_stock"),
    ("serial", "echelon_base_stock"), ("one_warehouse", "mlp"), ("one_warehouse", "gnn"), ("transshipment", "mlp"),
    ("transshipment", "gnn"), ("real_data_store", "mlp"), ("one_store_lost", "constant"),
]


@pytest.mark.parametrize("setting,policy", EVERY_POLICY)
def test_training_step_can_be_captured_as_a_cuda_graph(setting, policy):
    """What `cuda_graph` replays: the forward and backward pass of a minibatch, with no op that waits on the GPU."""
    problem = make_problem(setting)
    task = InventoryHDPOProblem(problem)
    scenarios = task.sample_scenarios(16, 12, seed=0)
    net = make_policy(policy, problem)
    with CaptureUnsafeOps() as unsafe:
        task.cost(net, task.subset(scenarios, torch.arange(8)), 4).mean().backward()
    assert unsafe.found == set()
    assert all(p.grad is not None for p in net.parameters())


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
@pytest.mark.parametrize("setting,policy", EVERY_POLICY)
def test_cuda_graph_replays_give_the_eager_costs_and_gradients(setting, policy):
    from appliedrl.agents.hdpo import CUDAGraphGradient

    problem = InventoryHDPOProblem(make_problem(setting), "cuda")
    torch.manual_seed(0)
    policy = make_policy(policy, problem.problem).cuda()
    train = problem.sample_scenarios(1000, 20, seed=0)
    params = list(policy.parameters())

    def mean_cost_and_gradient(index):
        loss = problem.cost(policy, problem.subset(train, index), 5).mean()
        loss.backward()
        return loss.detach()

    order = torch.randperm(1000, generator=torch.Generator().manual_seed(0)).cuda()
    batches = list(order.split(256))  # three of the captured size, then 232 run eagerly
    expected = []
    for index in batches:
        policy.zero_grad(set_to_none=True)
        cost = mean_cost_and_gradient(index)
        expected.append((cost.item(), [p.grad.clone() for p in params]))
    graphed = CUDAGraphGradient(mean_cost_and_gradient, params, batches[0])
    for index, (cost, grads) in zip(batches + batches[:1], expected + expected[:1]):
        assert graphed(index).item() == pytest.approx(cost, rel=1e-5)
        for param, grad in zip(params, grads):  # atol: the GNN's scatter sums in no fixed order
            torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-5)


@needs_cuda
def test_hdpo_with_cuda_graph_trains_like_eager(tmp_path):
    problem = make_problem("one_store_lost", lead_time=2, shortage_cost=9)
    config = HDPOConfig(batch_size=256, train_scenarios=640, train_periods=20, train_ignore_periods=5,
                        dev_scenarios=256, dev_periods=30, dev_ignore_periods=10, test_scenarios=64, test_periods=50,
                        test_ignore_periods=10, eval_freq=2, max_grad_norm=1.0, tensorboard=False,
                        device="cuda")
    runs = []
    for cuda_graph in (False, True):
        torch.manual_seed(0)
        agent = HDPO(InventoryHDPOProblem(problem, "cuda"), make_policy("mlp", problem),
                     HDPOConfig(**{**config.__dict__, "cuda_graph": cuda_graph}), seed=1)
        runs.append((agent.learn(4, run_dir=tmp_path / str(cuda_graph), progress_bar=False), agent))
    (eager, eager_agent), (graphed, graphed_agent) = runs
    assert graphed["best_score"] == pytest.approx(eager["best_score"], rel=1e-3)
    for a, b in zip(graphed_agent.policy.parameters(), eager_agent.policy.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


def test_hdpo_acts_with_integer_orders_under_poisson_demand_as_it_is_tested(tmp_path):
    problem = make_problem("one_store_lost", lead_time=2, shortage_cost=9)
    config = HDPOConfig(batch_size=64, train_scenarios=128, train_periods=10, train_ignore_periods=2,
                        dev_scenarios=64, dev_periods=10, dev_ignore_periods=2, test_scenarios=64, test_periods=20,
                        test_ignore_periods=5, eval_freq=1, tensorboard=False)
    task = InventoryHDPOProblem(problem)
    agent = HDPO(task, make_policy("mlp", problem), config, seed=0)
    agent.learn(2, run_dir=tmp_path, progress_bar=False)
    obs = np.random.default_rng(0).uniform(0, 10, (16, *agent.policy.observation_shape)).astype(np.float32)
    with torch.no_grad():
        raw = agent.policy(torch.as_tensor(obs)).numpy()
    assert not np.all(raw == np.round(raw))
    for acting in (agent, HDPO.load(tmp_path)):
        np.testing.assert_array_equal(acting.predict(obs), np.round(raw))


def test_hdpo_runs_with_the_same_seed_start_from_the_same_policy():
    from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent

    def weights(seed, global_seed):
        torch.manual_seed(global_seed)  # whatever the global generator held before, the run's seed decides
        agent = make_hdpo_agent(ENV_ID, {"setting": "one_store_lost"}, HDPOConfig(), seed)
        return torch.cat([p.detach().flatten() for p in agent.policy.parameters()])

    assert torch.equal(weights(0, global_seed=1), weights(0, global_seed=2))
    assert not torch.equal(weights(0, global_seed=1), weights(1, global_seed=1))


def test_an_optimum_is_reported_only_where_it_is_known_and_positive():
    def references(**params):
        return InventoryHDPOProblem(make_problem(**params)).reference_costs()

    assert references(setting="one_store_backlogged", lead_time=4)["optimal_cost"] == pytest.approx(6.2788, abs=1e-3)
    with pytest.warns(UserWarning, match="ignores demand clipped at 0"):
        assert references(setting="one_store_backlogged", demand_mean=1, demand_std=2) == {}
    with pytest.warns(UserWarning, match="over the exact DP's limit"):
        assert references(setting="one_store_lost", lead_time=6) == {}
    assert references(setting="one_store_lost", shortage_cost=0) == {}  # never order: the optimum costs 0
    assert references(setting="one_store_backlogged", demand_std=0) == {}
    assert references(setting="transshipment", shortage_cost=0) == {}
    assert references(setting="transshipment")["lower_bound"] > 0
    # the serial system: the published Clark-Scarf optimum of its (L, p), only with the default parameters
    assert references(setting="serial", lead_time=2, shortage_cost=19)["optimal_cost"] == 10.65
    assert references(setting="serial", lead_time=2, shortage_cost=19, demand_std=3) == {}
