"""Market making: fill rates, exact accounting, the reward identity, common random numbers, the CJP optimum
against its ODE value, Avellaneda–Stoikov's spreads, the LOBSTER loader and replay, bad input, env checkers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import scipy.stats
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import appliedrl  # noqa: F401
from appliedrl.agents import evaluate
from appliedrl.data import SYNTHETIC_LOBSTER_MESSAGES
from appliedrl.domains.registry import baselines_for
from appliedrl.domains.trading.market_making import (CarteaJaimungalPolicy, FixedDepthPolicy,
                                                     avellaneda_stoikov_spread, cjp_value)
from appliedrl.envs.trading import MarketMakingEnv, MarketMakingVectorEnv
from appliedrl.envs.trading.lobster import book_path, load_lobster
from appliedrl.envs.trading.market_making import FLATTEN, expected_fills

ENV_ID = "appliedrl/MarketMaking-v0"
PAPER = dict(arrival_rate=10.0, fill_decay=1.0, volatility=0.1, running_penalty=0.5, terminal_penalty=0.001,
             horizon=1.0, steps=100)
REPLAY = dict(mode="replay", running_penalty=0.01, terminal_penalty=0.01)


def _recording(episodes) -> list:
    """Wrap the market's step so that the fills it returns are recorded."""
    market, record = episodes.market, []
    step = market.step

    def recorded(bid_depth, ask_depth, bid_size, ask_size, rng):
        mid = market.mid.copy()
        bought, sold = step(bid_depth, ask_depth, bid_size, ask_size, rng)
        record.append(dict(mid=mid, bid=bid_depth.copy(), ask=ask_depth.copy(), bought=bought, sold=sold,
                           mid_after=market.mid.copy()))
        return bought, sold

    market.step = recorded
    return record


def test_fill_rates_match_poisson_arrivals_times_exponential_fill_probability():
    n, steps, depths = 2000, 50, np.array([0.3, 1.7])
    envs = MarketMakingVectorEnv(n, max_inventory=10_000, steps=steps)
    record = _recording(envs._episodes)
    envs.reset(seed=0)
    for _ in range(steps):
        envs.step(np.tile(depths, (n, 1)))
    per_env = np.array([np.stack([r["bought"], r["sold"]], 1) for r in record]).sum(0)  # [n, 2] per episode
    expected = PAPER["arrival_rate"] * np.exp(-PAPER["fill_decay"] * depths) * PAPER["horizon"]
    standard_error = per_env.std(0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(per_env.mean(0) - expected) < 4 * standard_error), (per_env.mean(0), expected)




@pytest.mark.parametrize("midprice", ["brownian", "ou", "gbm", "jumps"])
def test_cash_and_inventory_are_exact_on_every_path_and_rewards_sum_to_the_objective(midprice):
    n, steps, bound, phi, alpha = 256, 40, 3, 0.5, 0.25
    envs = MarketMakingVectorEnv(n, steps=steps, max_inventory=bound, running_penalty=phi, terminal_penalty=alpha,
                                 arrival_rate=60.0, midprice=midprice)
    record = _recording(envs._episodes)
    book = envs._episodes.book
    rng = np.random.default_rng(1)
    envs.reset(seed=3)
    total, penalty = np.zeros(n), np.zeros(n)
    for t in range(steps):
        q, cash = book.q.copy(), book.cash.copy()
        _, rewards, terminated, truncated, info = envs.step(rng.uniform(0.0, 2.0, (n, 2)))
        r = record[-1]
        q_after = q + r["bought"] - r["sold"]
        assert np.all(np.abs(q_after) <= bound)
        assert np.all((r["bought"] == 0) | (q + r["bought"] <= bound))
        if t < steps - 1:
            np.testing.assert_array_equal(book.q, q_after)
            np.testing.assert_allclose(book.cash, cash - r["bought"] * (r["mid"] - r["bid"])
                                       + r["sold"] * (r["mid"] + r["ask"]), rtol=0, atol=1e-9)
        penalty += phi * q_after**2 / steps
        total += rewards
    assert terminated.all() and not truncated.any()
    final_cash = cash - r["bought"] * (r["mid"] - r["bid"]) + r["sold"] * (r["mid"] + r["ask"])
    metrics = info["final_info"]["episode_metrics"]
    np.testing.assert_allclose(metrics["pnl"], final_cash + q_after * r["mid_after"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(metrics["objective"], metrics["pnl"] - penalty - alpha * q_after**2, atol=1e-9)
    np.testing.assert_allclose(total, metrics["objective"], atol=1e-9)
    np.testing.assert_array_equal(metrics["final_inventory"], q_after)


def test_same_seed_gives_common_random_numbers_whatever_the_actions():
    paths, fills = [], []
    for depths in ([0.1, 0.1], [2.0, 0.5]):
        envs = MarketMakingVectorEnv(64, steps=30, midprice="jumps", max_inventory=10_000)
        record = _recording(envs._episodes)
        envs.reset(seed=11)
        for _ in range(30):
            envs.step(np.tile(depths, (64, 1)))
        paths.append(np.array([r["mid_after"] for r in record]))
        fills.append(np.array([[r["bought"], r["sold"]] for r in record]))
    np.testing.assert_array_equal(paths[0], paths[1])
    # the same arrivals and fill draws: tighter quotes fill on every arrival a wider quote fills on
    assert np.all(fills[0] >= fills[1]) and fills[0].sum() > fills[1].sum()
    first = evaluate(FixedDepthPolicy(MarketMakingEnv()), ENV_ID, 64, seed=5)
    again = evaluate(FixedDepthPolicy(MarketMakingEnv()), ENV_ID, 64, seed=5)
    np.testing.assert_array_equal(first.returns, again.returns)


def test_cjp_ode_values_match_the_reference_and_the_closed_form_without_penalties():
    assert cjp_value(**{k: PAPER[k] for k in ("arrival_rate", "fill_decay", "running_penalty", "terminal_penalty",
                                              "horizon")}, max_inventory=100) == pytest.approx(6.3806, abs=5e-5)
    assert cjp_value(140.0, 1.5, 0.01, 0.001, 1.0, 100) == pytest.approx(68.2558, abs=5e-5)
    # φ = α = 0: depth 1/κ everywhere and value (λ⁺ + λ⁻) e⁻¹ T / κ (away from the inventory bounds)
    assert cjp_value(10.0, 2.0, 0.0, 0.0, 1.0, 100) == pytest.approx(20 * np.exp(-1) / 2, rel=1e-9)


def test_cjp_policy_monte_carlo_value_matches_the_ode_and_beats_fixed_depth():
    env = MarketMakingEnv(**PAPER)
    optimum = cjp_value(10.0, 1.0, 0.5, 0.001, 1.0, env._episodes.max_inventory)
    result = evaluate(CarteaJaimungalPolicy(env), ENV_ID, 10_000, seed=0, env_kwargs=PAPER, max_parallel=1000)
    assert abs(result.mean - optimum) < 2 * result.std / np.sqrt(10_000), (result.mean, optimum)
    assert result.metrics["objective"] == pytest.approx(result.mean)
    fixed = evaluate(FixedDepthPolicy(env), ENV_ID, 10_000, seed=0, env_kwargs=PAPER, max_parallel=1000)
    # fixed depth 1/κ: expected spread income 2 λ e⁻¹ T / κ, exactly
    income_error = 2 * fixed.std / np.sqrt(10_000)
    assert fixed.metrics["pnl"] == pytest.approx(2 * 10 * np.exp(-1), abs=3 * income_error)
    assert fixed.mean < 0.9 * result.mean


def test_cjp_depths_skew_against_inventory():
    policy = CarteaJaimungalPolicy(MarketMakingEnv(**PAPER))
    long, flat, short = policy.predict(np.array([[1.0, q / 20] for q in (3, 0, -3)], np.float32))
    assert long[0] > flat[0] > short[0] and long[1] < flat[1] < short[1]
    assert flat[0] == pytest.approx(flat[1])


@pytest.mark.parametrize("gamma, spread", [(0.01, 1.3689), (0.1, 1.6908), (0.5, 3.1507)])
def test_avellaneda_stoikov_spread_matches_the_reference(gamma, spread):
    assert avellaneda_stoikov_spread(gamma, 2.0, 1.5, 1.0) == pytest.approx(spread, abs=5e-5)


def test_grid_actions_quote_level_pairs_and_flatten_at_the_market_order_cost():
    env = MarketMakingEnv(actions="grid", arrival_rate=200.0, flatten_cost=0.25)
    env.reset(seed=0)
    e = env._episodes
    env.step(1)  # (bid level 0, ask level 4): depths 0.1/κ and 0.5/κ
    np.testing.assert_allclose(e.depths[0], [0.1, 0.5])
    while e.book.q[0] == 0:
        env.step(0)
    q, cash, mid = e.book.q[0], e.book.cash[0], e.market.mid[0]
    record = _recording(e)
    env.step(FLATTEN)
    r = record[-1]
    expected = cash + q * (mid - np.sign(q) * 0.25) - r["bought"][0] * (mid - r["bid"][0]) \
        + r["sold"][0] * (mid + r["ask"][0])
    assert e.book.q[0] == r["bought"][0] - r["sold"][0]
    assert e.book.cash[0] == pytest.approx(expected, abs=1e-9)


def test_info_reports_the_quotes_the_market_saw_and_the_inventory_they_were_posted_with():
    env = MarketMakingEnv(actions="grid", arrival_rate=200.0)
    env.reset(seed=0)
    record = _recording(env._episodes)
    held = []
    for action in (1, 0, FLATTEN, 7, 0):  # set a pair, keep it, flatten, set another, keep it
        held.append(env._episodes.book.q[0])
        _, _, _, _, info = env.step(action)
        assert (info["bid_depth"], info["ask_depth"]) == (record[-1]["bid"][0], record[-1]["ask"][0])
        assert info["quoting_inventory"] == (0.0 if action == FLATTEN else held[-1])
    assert held[2] != 0  # the flatten had inventory to close
    env = MarketMakingEnv(max_depth=2.0)
    env.reset(seed=0)
    info = env.step(np.array([0.5, 3.0], np.float32))[4]
    assert (info["bid_depth"], info["ask_depth"], info["quoting_inventory"]) == (0.5, 2.0, 0.0)  # clipped


def test_expected_fills_match_the_capped_poisson_mean():
    mean = np.array([0.0, 0.05, 0.3, 2.0, 7.0, 0.1, 3.0])
    size = np.array([3.0, 0.0, 1.0, 2.0, 40.0, 1.0, 0.0])
    brute = [sum(min(k, s) * scipy.stats.poisson.pmf(k, m) for k in range(100)) for m, s in zip(mean, size)]
    np.testing.assert_allclose(expected_fills(mean, size), brute, rtol=0, atol=1e-12)


@pytest.mark.parametrize("midprice", ["brownian", "ou", "gbm", "jumps"])
def test_expected_pnl_reward_is_the_conditional_mean_of_the_pnl_reward(midprice):
    """From one state (near the inventory bound, off the OU mean), the expected-PnL reward of a step is the same
    for every draw and equals the average PnL reward; without penalties it is then a constant."""
    n, depths = 200_000, np.array([0.2, 0.7])
    params = dict(arrival_rate=250.0, max_inventory=2, running_penalty=0.0, terminal_penalty=0.0, midprice=midprice,
                  volatility=0.5, jump_rate=30.0, mean_reversion=20.0)
    rewards = {}
    for reward in ("pnl", "expected_pnl"):
        envs = MarketMakingVectorEnv(n, reward=reward, **params)
        envs.reset(seed=3)
        book, market = envs._episodes.book, envs._episodes.market
        market.mid[:] = 100.4
        book.q[:], book.cash[:] = 1.0, -100.4  # bought one unit at the mid: the bid has room for one more fill
        book.value[:] = 0.0
        rewards[reward] = envs.step(np.tile(depths, (n, 1)))[1]
    exact = rewards["expected_pnl"]
    np.testing.assert_allclose(exact, exact[0], rtol=1e-9)
    pnl = rewards["pnl"]
    assert abs(pnl.mean() - exact[0]) < 4 * pnl.std() / np.sqrt(n), (pnl.mean(), exact[0])
    assert exact[0] > 0.1  # the spread income is there (orders arrive 2.5 times a step)


def test_expected_pnl_keeps_the_objective_and_cuts_the_variance():
    policy = CarteaJaimungalPolicy(MarketMakingEnv())
    realised = evaluate(policy, ENV_ID, 2000, seed=1, max_parallel=1000)
    expected = evaluate(policy, ENV_ID, 2000, seed=1, env_kwargs={"reward": "expected_pnl"}, max_parallel=1000)
    assert expected.metrics["objective"] == pytest.approx(realised.metrics["objective"])  # the same episodes
    difference = expected.returns - realised.returns
    assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(len(difference))
    assert expected.std < 0.5 * realised.std
    replay = [evaluate(FixedDepthPolicy(MarketMakingEnv(**REPLAY)), ENV_ID, 20, seed=1, max_parallel=20,
                       env_kwargs=dict(REPLAY, reward=reward)).returns for reward in ("pnl", "expected_pnl")]
    np.testing.assert_array_equal(*replay)  # a replayed step draws nothing: its expectation is what happened


@pytest.mark.parametrize("reward", ["trade_completion", "dsr", "asymmetric"])
def test_other_rewards_are_finite_and_keep_the_objective_metric(reward):
    base = evaluate(FixedDepthPolicy(MarketMakingEnv()), ENV_ID, 200, seed=1)
    other = evaluate(FixedDepthPolicy(MarketMakingEnv()), ENV_ID, 200, seed=1, env_kwargs={"reward": reward})
    assert np.isfinite(other.returns).all()
    assert other.metrics["objective"] == pytest.approx(base.metrics["objective"])
    assert not np.allclose(other.returns, base.returns)


def test_trade_completion_clips_realised_profit_per_round_trip():
    env = MarketMakingEnv(reward="trade_completion", completion_target=0.5, arrival_rate=0.0, volatility=0.0)
    env.reset(seed=0)
    book = env._episodes.book
    book.trade(np.array([2.0]), np.array([100.0]))
    assert book.trade(np.array([-1.0]), np.array([100.2]))[0] == pytest.approx(0.2)
    assert book.trade(np.array([-3.0]), np.array([99.0]))[0] == pytest.approx(-1.0)
    assert book.q[0] == -2 and book.entry[0] == 99.0


@pytest.mark.parametrize("action, message", [([np.nan, 1.0], "nan"), ([1.0, -0.5], "-0.5")])
def test_bad_depths_are_one_line_errors_naming_the_value(action, message):
    env = MarketMakingEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(np.array(action))


@pytest.mark.parametrize("kwargs, message", [
    ({"reward": "sharpe"}, "valid choices: pnl"), ({"fill_decay": 0}, "fill_decay=0"), ({"steps": 0}, "steps=0"),
    ({"mode": "live"}, "model, replay"), ({"max_inventory": 1.5}, "max_inventory"), ({"volatility": -1}, "volatility")])
def test_bad_parameters_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MarketMakingEnv(**kwargs)
    with pytest.raises(TypeError):
        MarketMakingEnv(fill_rate=1.0)


@pytest.mark.parametrize("kwargs", [{}, {"actions": "grid"}, REPLAY, dict(REPLAY, actions="grid")])
def test_env_checkers(kwargs):
    check_env(gym.make(ENV_ID, **kwargs).unwrapped, skip_render_check=True)
    sb3_check_env(MarketMakingEnv(**kwargs), warn=False)


def test_ansi_render_shows_the_accounts():
    env = gym.make(ENV_ID, render_mode="ansi")
    env.reset(seed=0)
    env.step(np.ones(2, np.float32))
    assert env.render().startswith("t=1/100 mid=")


def test_rgb_render_draws_the_inventory_path_up_when_long_and_down_when_short():
    from appliedrl.envs.render import FRAME_HEIGHT, NEGATIVE, POSITIVE

    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    path = [0.0]
    for _ in range(30):
        env.step(np.array([0.01, 5.0], np.float32))  # a tight bid, a far ask: the maker buys
        path.append(env.unwrapped._episodes.book.q[0])
    frame = env.render()
    assert frame.shape == (FRAME_HEIGHT, 4 * 101, 3)
    half = FRAME_HEIGHT // 2 / env.unwrapped._episodes.max_inventory  # rows per share of inventory
    for bar, q in enumerate(path):
        column = frame[:, 4 * bar]
        up, down = (column == POSITIVE).all(-1).sum(), (column == NEGATIVE).all(-1).sum()
        assert (up, down) == ((round(q * half), 0) if q >= 0 else (0, round(-q * half)))
    assert max(path) > 0


def test_baselines_are_registered_for_the_env():
    assert {"cartea-jaimungal", "avellaneda-stoikov", "fixed-depth", "random"} <= set(baselines_for(ENV_ID))


def test_lobster_loader_reads_the_shipped_synthetic_sample():
    messages, book = load_lobster(SYNTHETIC_LOBSTER_MESSAGES)
    assert len(messages) == len(book) == 3000 and book.shape[1] == 20
    assert (book["ask price 1"] > book["bid price 1"]).all()
    assert set(messages["type"]) <= {1, 2, 3, 4, 5}
    assert np.all(np.diff(messages["time"]) >= 0)


def _copy_sample(tmp_path, edit_messages=None, edit_book=None):
    messages = pd.read_csv(SYNTHETIC_LOBSTER_MESSAGES, header=None)
    book = pd.read_csv(book_path(SYNTHETIC_LOBSTER_MESSAGES), header=None)
    messages, book = (edit_messages or (lambda m: m))(messages), (edit_book or (lambda b: b))(book)
    path = tmp_path / SYNTHETIC_LOBSTER_MESSAGES.name
    messages.to_csv(path, header=False, index=False)
    book.to_csv(book_path(path), header=False, index=False)
    return path


def _swap_times(m):
    m.iloc[[10, 11], 0] = m.iloc[[11, 10], 0].to_numpy()
    return m


def _cross(b):
    b.iloc[7, 2] = b.iloc[7, 0]
    return b


@pytest.mark.parametrize("edit, message", [
    (dict(edit_book=_cross), "crossed quotes at row 8"),
    (dict(edit_messages=_swap_times), "column 'time' is not sorted at row 12"),
    (dict(edit_book=lambda b: b.iloc[:, :19]), "column 20 \\('bid size 5'\\) is missing"),
    (dict(edit_messages=lambda m: m.iloc[:, :5]), "column 6 \\('direction'\\) is missing"),
    (dict(edit_messages=lambda m: m.iloc[:-1]), "2999"),
])
def test_bad_lobster_files_are_one_line_errors(tmp_path, edit, message):
    path = _copy_sample(tmp_path, **edit)
    with pytest.raises(ValueError, match=message) as error:
        load_lobster(path)
    assert "\n" not in str(error.value)


def _tiny_day(tmp_path, executions):
    """A one-level LOBSTER day, 100.00 / 100.01 with 300 shares each side throughout, a message every half
    second, with the given (time, size, price) visible executions of buy limit orders."""
    times = sorted(set(np.arange(0.0, 8.0, 0.5)) | {t for t, _, _ in executions})
    hits = {t: (size, price) for t, size, price in executions}
    messages = [[34200 + t, 4, 1, *hits[t], 1] if t in hits else [34200 + t, 1, 2, 100, 990000, 1] for t in times]
    path = tmp_path / "TINY_2026-01-02_0_0_message_1.csv"
    pd.DataFrame(messages).to_csv(path, header=False, index=False)
    pd.DataFrame([[1000100, 300, 1000000, 300]] * len(times)).to_csv(book_path(path), header=False, index=False)
    return path


def test_replay_fills_only_after_the_volume_ahead_is_consumed_and_partially(tmp_path):
    path = _tiny_day(tmp_path, [(3.2, 200, 1000000), (4.2, 150, 1000000), (5.2, 100, 999900)])
    env = MarketMakingEnv(mode="replay", data=str(path), horizon=2.0, steps=2, running_penalty=0.0)
    env.reset(seed=0)
    market = env._episodes.market
    market.j[:] = 3
    market._set_mid(np.arange(1))
    best = np.array([market.mid[0] - 100.0])  # depth to the best bid
    one = np.ones(1)
    fills = [market.step(best, one, one, one, None)[0][0] for _ in range(3)]
    # 300 ahead: 200 executed (none for us, 100 left ahead), then 150 (50 for us: half a lot), then a sweep
    assert fills == [0.0, pytest.approx(0.5), 1.0]


def test_replay_accounting_and_reward_identity():
    kwargs = dict(REPLAY, max_inventory=2)
    result = evaluate(FixedDepthPolicy(MarketMakingEnv(**kwargs)), ENV_ID, 64, seed=0, env_kwargs=kwargs)
    assert result.metrics["fills"] > 0
    np.testing.assert_allclose(result.mean, result.metrics["objective"], rtol=1e-6)  # float32 rewards
    envs = MarketMakingVectorEnv(32, **kwargs)
    envs.reset(seed=0)
    for _ in range(100):
        envs.step(np.full((32, 2), 0.005))
        assert np.all(np.abs(envs._episodes.book.q) <= 2 + 1e-12)


def test_missing_replay_file_and_short_data_are_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        MarketMakingEnv(mode="replay", data=str(tmp_path / "x_message_5.csv"))
    with pytest.raises(ValueError, match="too short"):
        MarketMakingEnv(mode="replay", horizon=3600.0)


def test_model_baselines_refuse_replay_and_fixed_depth_keeps_the_best_quotes_on_the_grid():
    with pytest.raises(ValueError, match="needs mode='model'"):
        CarteaJaimungalPolicy(MarketMakingEnv(**REPLAY))
    grid = dict(REPLAY, actions="grid")
    by_grid = evaluate(FixedDepthPolicy(MarketMakingEnv(**grid)), ENV_ID, 32, seed=2, env_kwargs=grid)
    by_depth = evaluate(FixedDepthPolicy(MarketMakingEnv(**REPLAY)), ENV_ID, 32, seed=2, env_kwargs=REPLAY)
    np.testing.assert_allclose(by_grid.returns, by_depth.returns)
