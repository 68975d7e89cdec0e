"""Market-making env steps per second: the single env and the native vector env at 1 and 1,024 envs.

    python benchmarks/trading_speed.py --seconds 5
    python benchmarks/trading_speed.py --seconds 5 --env-kw mode=replay
    PYTHONPATH=mbt_gym:gym026 python benchmarks/trading_speed.py --mbt-gym   # the peer, side by side

Actions are fixed depths (the fixed-depth baseline's) so that the figure is the simulator's, not a policy's.
`--mbt-gym` also times mbt_gym (github.com/JJJerome/mbt_gym, not on PyPI; it needs gym==0.26.2 importable) on
the same default model (λ = 10, κ = 1, σ = 0.1, CJP criterion φ = 0.5, α = 0.001, T = 1, 100 steps, bound 20).
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import numpy as np

import appliedrl  # noqa: F401
from appliedrl.agents.config import parse_assignments
from appliedrl.envs.trading import MarketMakingEnv, MarketMakingVectorEnv


def steps_per_second(step, seconds: float, batch: int) -> float:
    """Env steps (batch per call) per second of calling `step` for about `seconds`."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def mbt_gym_env(n: int):
    """mbt_gym's TradingEnvironment on the default model with `n` trajectories (its own batching)."""
    from mbt_gym.gym.ModelDynamics import LimitOrderModelDynamics
    from mbt_gym.gym.TradingEnvironment import TradingEnvironment
    from mbt_gym.rewards.RewardFunctions import CjMmCriterion
    from mbt_gym.stochastic_processes.arrival_models import PoissonArrivalModel
    from mbt_gym.stochastic_processes.fill_probability_models import ExponentialFillFunction
    from mbt_gym.stochastic_processes.midprice_models import BrownianMotionMidpriceModel

    dt = 1 / 100
    dynamics = LimitOrderModelDynamics(
        midprice_model=BrownianMotionMidpriceModel(volatility=0.1, step_size=dt, num_trajectories=n, seed=0),
        arrival_model=PoissonArrivalModel(np.array([10.0, 10.0]), step_size=dt, num_trajectories=n, seed=1),
        fill_probability_model=ExponentialFillFunction(1.0, step_size=dt, num_trajectories=n, seed=2),
        num_trajectories=n, seed=3)
    return TradingEnvironment(terminal_time=1.0, n_steps=100, model_dynamics=dynamics, max_inventory=20,
                              reward_function=CjMmCriterion(0.5, 0.001, terminal_time=1.0), num_trajectories=n,
                              normalise_action_space=False, normalise_observation_space=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-kw", action="append", help="env keyword, e.g. --env-kw mode=replay")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--mbt-gym", action="store_true", help="also time mbt_gym (must be importable)")
    args = parser.parse_args()
    env_kwargs = parse_assignments(args.env_kw, "--env-kw")
    print(f"# {date.today()} {platform.processor() or platform.machine()}, env_kwargs={env_kwargs}")
    env = MarketMakingEnv(**env_kwargs)
    env.reset(seed=0)
    depth = np.full(2, env._episodes.market.initial_depth, np.float32)

    def single_step() -> None:
        if env.step(depth)[2]:
            env.reset()

    print(f"| envs | steps/s |\n|---|---|\n| single env | {steps_per_second(single_step, args.seconds, 1):,.0f} |")
    for n in (1, 1024):
        envs = MarketMakingVectorEnv(n, **env_kwargs)
        envs.reset(seed=0)
        actions = np.tile(depth, (n, 1))
        rate = steps_per_second(lambda: envs.step(actions), args.seconds, n)
        print(f"| vector env, {n:,} | {rate:,.0f} |")
    for n in (1, 1024) if args.mbt_gym else ():
        peer = mbt_gym_env(n)
        peer.reset()
        actions = np.ones((n, 2))

        def peer_step() -> None:
            if peer.step(actions)[2][0]:
                peer.reset()

        print(f"| mbt_gym, {n:,} trajectories | {steps_per_second(peer_step, args.seconds, n):,.0f} |")


if __name__ == "__main__":
    main()
