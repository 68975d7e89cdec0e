"""The domains' pictures: what each draws is what its env did (stepped again here with the same seed and policy,
read from the simulator's own state), the closed forms are drawn as they are, and every setting draws."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import appliedrl  # noqa: F401
from appliedrl.domains import domains
from appliedrl.domains.games import DOMAIN as GAMES
from appliedrl.domains.games.connect_four import COLUMNS, ROWS
from appliedrl.domains.games.picture import EMPTY, PIECES
from appliedrl.domains.inventory import DOMAIN as INVENTORY
from appliedrl.domains.particles import DOMAIN as PARTICLES
from appliedrl.domains.particles.picture import FRAME_SIZE, shown_steps
from appliedrl.domains.registry import Setting, baselines_for
from appliedrl.domains.trading import DOMAIN as TRADING, EXECUTION_ID
from appliedrl.envs.multiagent import make_multiagent
from appliedrl.envs.trading.execution import almgren_chriss_holdings
from appliedrl.runner import RunError, load_policy

SEED = 3


def _setting(domain, name: str) -> Setting:
    return next(setting for setting in domain.settings if setting.name == name)


def _policies(setting: Setting, names) -> dict:
    return {name: _policy(setting, name) for name in names}


def _policy(setting: Setting, name: str):
    return load_policy(f"baseline:{name}", setting.env_id, setting.evaluation_kwargs, SEED)[0]


def _lines(ax, gid: str) -> list[np.ndarray]:
    return [np.asarray(line.get_ydata()) for line in ax.lines if line.get_gid() == gid]


def _run(setting: Setting, name: str, record) -> list:
    """Step the setting's evaluation env with a fresh copy of the baseline, seeded like the picture, recording
    `record(unwrapped env)` before every step and after the last."""
    env = gym.make(setting.env_id, **setting.evaluation_kwargs)
    policy = _policy(setting, name)
    if hasattr(policy, "seed_actions"):
        policy.seed_actions(SEED)
    obs, info = env.reset(seed=SEED)
    records, done = [record(env.unwrapped)], False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.predict(obs, mask=info.get("action_mask")))
        records.append(record(env.unwrapped))
        done = terminated or truncated
    env.close()
    return records


@pytest.mark.parametrize("name, methods", [("lost_sales", ["newsvendor", "random"]),
                                           ("serial", ["echelon_base_stock", "constant_order"])])
def test_inventory_lines_are_the_simulators_stock_levels(name, methods):
    setting = _setting(INVENTORY, name)
    figure = INVENTORY.picture(setting, _policies(setting, methods), SEED)
    nodes = figure.axes[0].get_gridspec().ncols
    assert nodes == (4 if name == "serial" else 1)  # one column per location
    for method in methods:
        state = _run(setting, method, lambda env: env._episodes.state)
        on_hand = np.array([s.on_hand[0].numpy() for s in state])
        on_the_way = np.array([s.pipeline[0].sum(-1).numpy() for s in state])
        for node in range(nodes):
            top, bottom = figure.axes[node], figure.axes[nodes + node]
            np.testing.assert_allclose(_lines(top, method)[0], on_hand[:, node], rtol=1e-6)
            np.testing.assert_allclose(_lines(bottom, method)[0], on_the_way[:, node], rtol=1e-6)


def test_execution_twap_is_linear_and_the_closed_form_is_almgren_chriss():
    setting = Setting("continuous", EXECUTION_ID, {"continuous": True})  # actions follow a schedule exactly
    figure = TRADING.picture(setting, _policies(setting, ["twap", "almgren-chriss"]), SEED)
    schedule = figure.axes[0]
    params = gym.make(EXECUTION_ID, continuous=True).unwrapped.params
    np.testing.assert_allclose(_lines(schedule, "twap")[0], np.linspace(params.shares, 0.0, params.steps + 1),
                               rtol=1e-6, atol=1e-6 * params.shares)
    closed_form = _lines(schedule, "almgren-chriss closed form")[0]
    np.testing.assert_array_equal(closed_form, almgren_chriss_holdings(params))
    assert closed_form[1] < params.shares * (1 - 1 / params.steps)  # risk aversion: front-loaded, not TWAP
    np.testing.assert_allclose(_lines(schedule, "almgren-chriss")[0], closed_form, rtol=1e-5,
                               atol=1e-6 * params.shares)


def test_execution_lines_are_the_envs_holdings_and_liquidity():
    setting = _setting(TRADING, "execution_stochastic")
    methods = ["twap", "random"]
    figure = TRADING.picture(setting, _policies(setting, methods), SEED)
    schedule, liquidity = figure.axes
    for method in methods:
        holdings = _run(setting, method, lambda env: env._episodes.holdings[0])
        np.testing.assert_allclose(_lines(schedule, method)[0], holdings, rtol=1e-9, atol=1e-6)
    multipliers = _run(setting, "twap", lambda env: env._episodes.multipliers[0].copy())[0]
    stairs = next(patch for patch in liquidity.patches if patch.get_gid() == "liquidity")
    np.testing.assert_array_equal(stairs.get_data().values, multipliers)


def test_market_making_quotes_and_inventory_are_the_envs():
    setting = _setting(TRADING, "market_making")
    methods = ["fixed-depth", "cartea-jaimungal"]
    policies = _policies(setting, methods)
    figure = TRADING.picture(setting, policies, SEED)
    quotes, inventory = figure.axes[:len(methods)], figure.axes[len(methods):]
    for column, method in enumerate(methods):
        held = np.array(_run(setting, method, lambda env: env._episodes.book.q[0])[:-1])
        np.testing.assert_array_equal(_lines(inventory[column], method)[0][:len(held)], held)
        bid, ask = (line[:len(held)] for line in _lines(quotes[column], method))
        if method == "fixed-depth":  # 1/kappa on both sides
            np.testing.assert_array_equal(np.stack([bid, ask]), np.ones((2, len(held))))
        else:  # the CJP table at each step's time and inventory
            cjp, t, q = policies[method], np.arange(len(held)), held.astype(int) + policies[method].max_inventory
            np.testing.assert_allclose(bid, cjp.bid[t, q], rtol=1e-6)
            np.testing.assert_allclose(ask, cjp.ask[t, q], rtol=1e-6)
    assert np.ptp(held) > 0  # the episode moved the inventory, so the comparison is not trivial


def test_particle_panels_are_the_worlds_own_frames():
    setting = _setting(PARTICLES, "spread")
    methods = ["greedy-spread", "noop"]
    figure = PARTICLES.picture(setting, _policies(setting, methods), SEED)
    rows = np.array(figure.axes).reshape(len(methods), -1)
    for row, method in zip(rows, methods):
        worlds = make_multiagent(setting.env_id, 1, autoreset=False)
        policy = _policy(setting, method)
        obs = worlds.reset(seed=SEED)
        frames = [worlds.render(0, FRAME_SIZE)]
        for _ in range(worlds.max_cycles):
            obs = worlds.step(policy.act(obs))[0]
            frames.append(worlds.render(0, FRAME_SIZE))
        steps = shown_steps(worlds.max_cycles)
        assert steps[0] == 0 and steps[-1] == worlds.max_cycles and len(steps) == len(row)
        for ax, step in zip(row, steps):
            assert ax.images[0].get_gid() == method
            np.testing.assert_array_equal(ax.images[0].get_array(), frames[step])
    noop = [ax.images[0].get_array() for ax in rows[1]]
    assert all(np.array_equal(frame, noop[0]) for frame in noop)  # nobody moves
    assert not np.array_equal(rows[0][-1].images[0].get_array(), rows[0][0].images[0].get_array())


def _drawn_board(ax) -> np.ndarray:
    """[6, 7] from the discs: 0 empty, 1 the method's, 2 the opponent's."""
    colours = {to_hex(EMPTY): 0, **{to_hex(colour): k for k, colour in enumerate(PIECES, 1)}}
    board = np.full((ROWS, COLUMNS), -1)
    for disc in ax.patches:
        column, y = np.rint(disc.center).astype(int)
        board[ROWS - 1 - y, column] = colours[to_hex(disc.get_facecolor())]
    return board


def test_connect_four_boards_are_the_final_observations():
    setting = _setting(GAMES, "connect_four")
    methods = ["random", "one-ply"]
    figure = GAMES.picture(setting, _policies(setting, methods), SEED)
    rows = np.array(figure.axes[:2 * len(methods)]).reshape(len(methods), 2)
    for row, method in zip(rows, methods):
        env = gym.make(setting.env_id, **setting.evaluation_kwargs)
        policy = _policy(setting, method)
        policy.seed_actions(SEED)
        for seat, ax in enumerate(row):
            obs, info = env.reset(seed=SEED if seat == 0 else None)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(policy.predict(obs, info["action_mask"]))
                done = terminated or truncated
            expected = obs[..., 0] + 2 * obs[..., 1]
            np.testing.assert_array_equal(_drawn_board(ax), expected)
            outcome = next(key for key, value in info["episode_metrics"].items() if value)
            assert ax.get_title().endswith(f"{('moves first', 'moves second')[seat]}: {outcome}")
            assert (len(ax.lines) > 0) == (outcome != "draw")  # a line through the completed four


def _picture_settings() -> list:
    return [pytest.param(domain, setting, id=f"{domain.name}-{setting.name}") for domain in domains().values()
            if domain.picture is not None for setting in domain.settings]


@pytest.mark.parametrize("domain, setting", _picture_settings())
def test_every_setting_draws_with_its_baselines(domain, setting):
    policies = {}
    for name in setting.baselines or baselines_for(setting.env_id):
        try:
            policies[name] = _policy(setting, name)
        except RunError:  # a baseline that refuses this setting (CJP's quotes in replay mode)
            continue
    figure = domain.picture(setting, policies, SEED)
    assert isinstance(figure, Figure)
    assert setting.name in figure.get_suptitle()
    drawn = {artist.get_gid() for ax in figure.axes for artist in ax.get_children()}
    assert set(policies) <= drawn  # every method is in the picture
    png = io.BytesIO()
    figure.savefig(png, format="png")
    assert png.getvalue().startswith(b"\x89PNG")


def test_every_domain_with_settings_has_a_picture():
    assert all(domain.picture is not None for domain in domains().values() if domain.settings)


def test_a_picture_needs_policies():
    with pytest.raises(ValueError, match="at least one policy"):
        INVENTORY.picture(_setting(INVENTORY, "lost_sales"), {}, SEED)


def test_sanma_scores_are_the_methods_game():
    from appliedrl.domains.mahjong import DOMAIN as SANMA_DOMAIN

    setting = Setting("sanma-round", "appliedrl/SanmaVsBots-v0", {"opponents": ["greedy"], "length": "round"})
    figure = SANMA_DOMAIN.picture(setting, _policies(setting, ["defensive", "random"]), SEED)
    ax = figure.axes[0]
    for method in ("defensive", "random"):
        line = next(line for line in ax.lines if line.get_gid() == method)
        env = gym.make(setting.env_id, **setting.evaluation_kwargs)
        policy = _policy(setting, method)
        policy.seed_actions(SEED)
        obs, info = env.reset(seed=SEED)
        done, decisions = False, 0
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.predict(obs, info["action_mask"]))
            done, decisions = terminated or truncated, decisions + 1
        assert len(line.get_ydata()) == decisions + 1 and line.get_ydata()[0] == 35_000
        assert line.get_ydata()[-1] == info["episode_metrics"]["final_score"]
        assert line.get_label().startswith(f"{method}: rank {info['episode_metrics']['rank']:.0f}")
