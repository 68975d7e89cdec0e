import math

import gymnasium as gym
import numpy as np
import pytest

import appliedrl  # noqa: F401
from appliedrl.agents import evaluate
from appliedrl.domains.registry import baselines_for
from appliedrl.domains.trading.execution import SchedulePolicy, qp_holdings, twap_holdings
from appliedrl.envs.trading import ExecutionParams, OptimalExecutionEnv, almgren_chriss_holdings, schedule_cost

ENV_ID = "appliedrl/OptimalExecution-v0"
CLASSIC = ExecutionParams()


def objective(params, holdings):
    expected, variance = schedule_cost(params, holdings)
    return expected + params.risk_aversion * variance


def test_almgren_chriss_closed_form_matches_the_trade_list_and_the_classic_figures():
    p = CLASSIC
    x = almgren_chriss_holdings(p)
    eta_tilde = p.temporary_impact - p.permanent_impact * p.tau / 2
    kappa = math.acosh(1 + p.risk_aversion * p.volatility**2 * p.tau**2 / (2 * eta_tilde)) / p.tau
    t_half = p.tau * (np.arange(1, p.steps + 1) - 0.5)
    trades = 2 * math.sinh(kappa * p.tau / 2) / math.sinh(kappa * p.horizon) * np.cosh(kappa * (p.horizon - t_half))
    np.testing.assert_allclose(x[:-1] - x[1:], trades * p.shares, rtol=1e-9)
    n = x[:-1] - x[1:]
    closed_expected = p.permanent_impact * p.shares**2 / 2 + p.spread_cost * p.shares + eta_tilde / p.tau * np.sum(n**2)
    expected, variance = schedule_cost(p, x)
    assert expected == pytest.approx(closed_expected, rel=1e-12)
    assert variance == pytest.approx(p.volatility**2 * p.tau * np.sum(x[1:] ** 2), rel=1e-12)
    assert kappa == pytest.approx(0.2456, abs=5e-5)
    assert np.round(n[:3]).tolist() == [217778, 170351, 133252]
    assert (round(expected), round(math.sqrt(variance)), round(expected + p.risk_aversion * variance)) == (
        477713, 476456, 704723)
    twap_expected, twap_variance = schedule_cost(p, twap_holdings(p))
    assert (round(twap_expected), round(math.sqrt(twap_variance)), round(twap_expected + 1e-6 * twap_variance)) == (
        227083, 1675828, 3035483)


def test_risk_neutral_almgren_chriss_is_twap():
    p = ExecutionParams(risk_aversion=0.0, steps=20, horizon=5.0)
    np.testing.assert_allclose(almgren_chriss_holdings(p), twap_holdings(p), rtol=1e-12)


@pytest.mark.parametrize("params", [CLASSIC, ExecutionParams(risk_aversion=3e-7, steps=25, horizon=10.0)])
def test_qp_optimum_equals_almgren_chriss_for_constant_liquidity(params):
    np.testing.assert_allclose(qp_holdings(params), almgren_chriss_holdings(params), rtol=1e-7, atol=1e-6)


@pytest.mark.parametrize("params", [ExecutionParams(liquidity="deterministic"),
                                    ExecutionParams(liquidity="deterministic", liquidity_amplitude=3.0,
                                                    liquidity_trend=0.3, risk_aversion=1e-7, steps=30)])
def test_qp_optimum_is_no_worse_than_any_perturbation(params):
    best = qp_holdings(params)
    value = objective(params, best)
    rng = np.random.default_rng(0)
    for scale in (1e-4, 1e-2, 1e-1):
        for _ in range(50):
            perturbed = best.copy()
            perturbed[1:-1] *= 1 + scale * rng.standard_normal(params.steps - 1)
            assert objective(params, perturbed) >= value
    assert value < objective(params, almgren_chriss_holdings(params))  # time-varying impact: AC is not optimal


def test_liquidity_multipliers_have_mean_one():
    p = ExecutionParams(liquidity="stochastic")
    m = p.liquidity_paths(20_000, np.random.default_rng(0))
    assert m.mean() == pytest.approx(1.0, abs=4 * m.std() / math.sqrt(m.size) * 10)  # correlated along a path
    assert ExecutionParams(liquidity="deterministic").liquidity_profile().mean() == pytest.approx(1.0)


def run_episode(env, fractions, seed):
    """Per-step rewards and infos for the given fractions (continuous env)."""
    env.reset(seed=seed)
    rewards, infos = [], []
    for fraction in fractions:
        _, reward, terminated, truncated, info = env.step(np.array([fraction], np.float32))
        rewards.append(reward)
        infos.append(info)
    assert terminated and not truncated
    return np.array(rewards), infos


@pytest.mark.parametrize("kwargs", [{}, {"side": "buy"}, {"liquidity": "stochastic"},
                                    {"liquidity": "deterministic", "steps": 7, "horizon": 3.0}])
def test_rewards_sum_to_minus_shortfall_and_risk_on_random_trade_lists(kwargs):
    rng = np.random.default_rng(1)
    realized = gym.make(ENV_ID, continuous=True, reward="realized", **kwargs).unwrapped
    denoised = gym.make(ENV_ID, continuous=True, **kwargs).unwrapped
    p = realized.params
    d = 1 if p.side == "sell" else -1
    for seed in range(5):
        fractions = rng.random(p.steps) * rng.random()
        rewards, infos = run_episode(realized, fractions, seed)
        trades = np.array([info["shares_traded"] for info in infos])
        fills = np.array([info["fill_price"] for info in infos])
        prices = np.array([p.initial_price] + [info["price"] for info in infos])
        m = np.array([info["liquidity"] for info in infos])
        holdings = p.shares - np.cumsum(trades)
        # the dynamics, recomputed from the trade list
        assert holdings[-1] == pytest.approx(0, abs=1e-6 * p.shares)
        np.testing.assert_allclose(fills, prices[:-1] - d * (p.spread_cost * (trades > 0)
                                                               + p.temporary_impact * m / p.tau * trades))
        noise = prices[1:] - prices[:-1] + d * p.permanent_impact * m * trades
        shortfall = d * (p.shares * p.initial_price - np.sum(trades * fills))
        risk = p.volatility**2 * p.tau * np.sum(holdings**2)
        assert rewards.sum() * realized.reward_scale == pytest.approx(-shortfall - p.risk_aversion * risk, rel=1e-9)
        metrics = infos[-1]["episode_metrics"]
        assert metrics["implementation_shortfall"] == pytest.approx(shortfall, rel=1e-9)
        assert metrics["objective"] == pytest.approx(shortfall + p.risk_aversion * risk, rel=1e-9)
        # the default reward leaves out exactly the price-noise term
        rewards_denoised, _ = run_episode(denoised, fractions, seed)
        np.testing.assert_allclose((rewards - rewards_denoised) * realized.reward_scale, d * holdings * noise,
                                   rtol=1e-6, atol=1e-6 * realized.reward_scale)


def test_same_seed_gives_the_same_price_shocks_and_liquidity_whatever_the_policy():
    env = gym.make(ENV_ID, continuous=True, liquidity="stochastic").unwrapped
    p = env.params
    paths = []
    for fractions in (np.full(p.steps, 0.05), np.random.default_rng(0).random(p.steps)):
        _, infos = run_episode(env, fractions, seed=7)
        trades = np.array([info["shares_traded"] for info in infos])
        m = np.array([info["liquidity"] for info in infos])
        prices = np.array([info["price"] for info in infos])
        paths.append((prices + np.cumsum(p.permanent_impact * m * trades), m))  # the price without our impact
    np.testing.assert_allclose(paths[0][0], paths[1][0], rtol=1e-12)
    np.testing.assert_array_equal(paths[0][1], paths[1][1])
    assert not np.allclose(run_episode(env, np.full(p.steps, 0.05), seed=8)[1][0]["price"], paths[0][0][0])


def test_paired_evaluations_share_episodes():
    env = gym.make(ENV_ID).unwrapped
    twap, ac = (baselines_for(ENV_ID)[name].make(env, 0) for name in ("twap", "almgren-chriss"))
    kwargs = {"reward": "realized"}
    first, second = evaluate(twap, ENV_ID, 200, 3, kwargs), evaluate(ac, ENV_ID, 200, 3, kwargs)
    # the same shocks: the realised shortfalls of the two schedules are strongly correlated
    assert np.corrcoef(first.returns, second.returns)[0, 1] > 0.5
    np.testing.assert_array_equal(evaluate(twap, ENV_ID, 200, 3, kwargs).returns, first.returns)


@pytest.mark.parametrize("kwargs, holdings", [({}, almgren_chriss_holdings),
                                              ({"liquidity": "deterministic"}, qp_holdings)])
def test_monte_carlo_objective_of_a_schedule_matches_its_closed_form(kwargs, holdings):
    kwargs = {"continuous": True, **kwargs}
    env = gym.make(ENV_ID, **kwargs).unwrapped
    policy = SchedulePolicy(env, holdings(env.params))
    expected, variance = schedule_cost(env.params, holdings(env.params))
    closed_form = expected + env.params.risk_aversion * variance
    result = evaluate(policy, ENV_ID, 20_000, 0, {**kwargs, "reward": "realized"}, max_parallel=1000)
    standard_error = math.sqrt(variance) / math.sqrt(20_000)
    assert abs(result.metrics["implementation_shortfall"] - expected) < 3 * standard_error
    assert abs(result.metrics["objective"] - closed_form) < 3 * standard_error
    assert result.metrics["variance_proxy"] == pytest.approx(variance, rel=1e-6)  # a static schedule's variance
    assert -result.mean * env.reward_scale == pytest.approx(result.metrics["objective"], rel=1e-9)
    # without the price noise, a static schedule's return is its expected objective on every path
    denoised = evaluate(policy, ENV_ID, 100, 0, kwargs)
    np.testing.assert_allclose(-denoised.returns * env.reward_scale, closed_form, rtol=1e-6)


def test_baselines_are_registered_and_batched():
    env = gym.make(ENV_ID).unwrapped
    assert {"twap", "almgren-chriss", "qp-optimal", "random"} <= set(baselines_for(ENV_ID))
    policy = baselines_for(ENV_ID)["twap"].make(env, 0)
    obs, _ = env.reset(seed=0)
    assert policy.predict(obs).shape == () and policy.predict(np.stack([obs] * 4)).shape == (4,)
    assert env.params.shares * env.action_for(np.array([1 / 60]))[0] >= 0


def test_observed_liquidity_is_the_next_steps_multiplier():
    env = gym.make(ENV_ID, liquidity="stochastic", observe_liquidity=True).unwrapped
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        next_obs, _, _, _, info = env.step(3)
        assert info["liquidity"] == pytest.approx(obs[2], rel=1e-6)
        obs = next_obs
    latent = gym.make(ENV_ID, liquidity="stochastic").unwrapped
    obs, _ = latent.reset(seed=0)
    assert obs[2] == 1.0
    obs, _, _, _, info = latent.step(3)  # a trade reveals the step's multiplier
    assert obs[2] == pytest.approx(info["liquidity"], rel=1e-6)
    seen = obs[2]
    obs, _, _, _, info = latent.step(0)  # no trade, nothing learnt
    assert obs[2] == seen and info["liquidity"] != pytest.approx(seen)


@pytest.mark.parametrize("kwargs", [{}, {"continuous": True, "liquidity": "stochastic"}])
def test_env_checkers(kwargs):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(ENV_ID, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=False)


def test_render_draws_the_holdings_path_and_reports_the_step():
    from appliedrl.envs.render import FRAME_HEIGHT, POSITIVE

    env = gym.make(ENV_ID, render_mode="rgb_array", steps=4, horizon=4.0, shares=1000.0)
    env.reset(seed=0)
    env.step(env.unwrapped.action_for(np.array([0.5]))[0])  # sell half the shares
    frame = env.render()
    assert frame.shape == (FRAME_HEIGHT, 4 * 5, 3) and frame.dtype == np.uint8
    heights = [(frame[:, 4 * bar] == POSITIVE).all(-1).sum() for bar in range(5)]
    holdings = env.unwrapped._episodes.holdings[0]
    assert heights == [FRAME_HEIGHT, round(holdings / 1000 * FRAME_HEIGHT), 0, 0, 0] and 0 < holdings < 1000
    text = gym.make(ENV_ID, render_mode="ansi", steps=4, horizon=4.0, shares=1000.0)
    text.reset(seed=0)
    text.step(0)
    assert text.render().startswith("t=1/4 holdings=1,000/1,000 price=")
    with pytest.raises(ValueError, match="valid choices: None, ansi, rgb_array"):
        gym.make(ENV_ID, render_mode="no_such_mode")


def test_vector_env_reports_metrics_at_the_end_and_autoresets():
    envs = gym.make_vec(ENV_ID, 3, vectorization_mode="vector_entry_point", steps=4, horizon=4.0)
    obs, _ = envs.reset(seed=0)
    for _ in range(4):
        obs, rewards, terminated, truncated, info = envs.step(np.array([5, 10, 30]))
    assert terminated.all() and not truncated.any()
    assert np.all(info["final_info"]["episode_metrics"]["objective"] > 0)
    np.testing.assert_allclose(obs, [[1.0, 1.0, 1.0]] * 3)  # the next episodes' first observations


@pytest.mark.parametrize("kwargs, message", [
    ({"shares": float("nan")}, "shares=nan"),
    ({"shares": -5}, "shares=-5"),
    ({"volatility": -0.1}, "volatility=-0.1"),
    ({"liquidity": "random"}, "liquidity='random' is invalid; valid choices: constant, deterministic, stochastic"),
    ({"steps": 2.5}, "steps=2.5"),
    ({"side": "short"}, "side='short'"),
    ({"reward": "pnl"}, "reward='pnl'"),
    ({"temporary_impact": 1e-7}, "temporary_impact=1e-07"),
    ({"action_levels": 1}, "action_levels=1"),
])
def test_bad_parameters_give_one_line_errors_naming_the_value(kwargs, message):
    with pytest.raises(ValueError, match=None) as error:
        gym.make(ENV_ID, **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_bad_actions_and_keywords():
    env = gym.make(ENV_ID, continuous=True).unwrapped
    env.reset(seed=0)
    for action, text in ((1.5, "action 1.5"), (float("nan"), "action nan"), (-0.2, "action -0.2")):
        with pytest.raises(ValueError) as error:
            env.step(np.array([action], np.float32))
        assert text in str(error.value) and "\n" not in str(error.value)
    discrete = gym.make(ENV_ID).unwrapped
    discrete.reset(seed=0)
    with pytest.raises(ValueError, match="0..30"):
        discrete.step(31)
    with pytest.raises(TypeError, match="unexpected keyword argument 'shars'"):
        OptimalExecutionEnv(shars=10)
