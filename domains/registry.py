"""The domain registry: each domain package (domains/<name>/) registers what pairs it with the agents.

A domain declares its baselines (scoped to the env ids they serve, so two domains may both have a `greedy`), its
agent builders (for agents that need more than an env id, such as HDPO's differentiable problem), its recipes,
its benchmark settings and its headline metric. `domains()` discovers every package that defines `DOMAIN`.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from pathlib import Path
from typing import Any, Callable, Sequence

import gymnasium as gym
from pettingzoo import AECEnv

from appliedrl.agents.evaluation import Policy
from appliedrl.agents.turn_based import SELF, SingleSeatEnv, seat_spaces
from appliedrl.domains.baselines import RandomPolicy
from appliedrl.envs import EnvSpec, env_specs


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A heuristic policy. `make(env, seed)` gets one unwrapped env instance (single, aec) or the batched env
    (parallel) to read parameters from; `env_ids` are the envs it serves (empty: every env of its kinds)."""

    name: str
    make: Callable[[Any, int], Any]
    env_ids: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("single", "aec")
    description: str = ""

    def summary(self) -> str:
        return f"baseline {self.name}" + (f": {self.description}" if self.description else "")

    def serves(self, spec: EnvSpec) -> bool:
        return spec.kind in self.kinds and (not self.env_ids or spec.id in self.env_ids)


@dataclasses.dataclass(frozen=True)
class Metric:
    """A domain's headline number: a key of the summary or evaluation and which way is better."""

    name: str = "mean_return"
    higher_is_better: bool = True
    description: str = ""  # how it relates to the return, for readers of an evaluation


@dataclasses.dataclass(frozen=True)
class Setting:
    """A benchmark setting: an env id with keyword arguments, named for `compare`, and what it compares there."""

    name: str
    env_id: str
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # keywords of the evaluation episodes over env_kwargs (a game's fixed opponents instead of self-play)
    eval_env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    agents: tuple[str, ...] = ()  # the agents compared here; empty: the domain's that train on the env
    baselines: tuple[str, ...] = ()  # the baselines compared here; empty: every one that serves the env

    @property
    def evaluation_kwargs(self) -> dict[str, Any]:
        return {**self.env_kwargs, **self.eval_env_kwargs}


@dataclasses.dataclass(frozen=True)
class Chat:
    """A terminal session where a person plays one side of an env against a policy: `appliedrl chat NAME`.
    `run(policy, env_kwargs, seed)` holds the conversation on stdin/stdout."""

    name: str
    env_id: str
    run: Callable[[Any, dict[str, Any], int], Any]
    default_policy: str  # baseline:NAME or a run folder
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Domain:
    name: str
    description: str
    baselines: tuple[Baseline, ...] = ()
    # agent name -> builder(env_id, env_kwargs, config, seed) for agents that cannot be built from an env id
    agent_builders: dict[str, Callable[..., Any]] = dataclasses.field(default_factory=dict)
    settings: tuple[Setting, ...] = ()
    agents: tuple[str, ...] = ()  # the agents a comparison trains by default
    metric: Metric = Metric()
    env_metrics: dict[str, Metric] = dataclasses.field(default_factory=dict)  # env id -> its own headline metric
    # the domain's natural picture for `compare`: picture(setting, policies, seed) plays one episode seeded with
    # `seed` of the setting's evaluation env with each policy (method name -> loaded policy) and returns a
    # matplotlib Figure
    picture: Callable[[Setting, dict[str, Any], int], Any] | None = None
    chats: tuple[Chat, ...] = ()

    def metric_of(self, env_id: str) -> Metric:
        """The headline metric of one of the domain's envs (its own, else the domain's)."""
        return self.env_metrics.get(env_id, self.metric)

    @property
    def env_ids(self) -> list[str]:
        return [spec.id for spec in env_specs().values() if spec.domain == self.name]


def _random_policy(env: Any, seed: int) -> RandomPolicy:
    """Uniformly random legal actions; an AEC game's spaces are those its seats share."""
    spaces = seat_spaces(env) if isinstance(env, AECEnv) else (env.observation_space, env.action_space)
    return RandomPolicy(*spaces, seed)


GENERIC = Domain("generic", "any registered Gymnasium environment", baselines=(
    Baseline("random", _random_policy, description="uniformly random legal actions"),))


@functools.cache
def domains() -> dict[str, Domain]:
    """Every registered domain by name (the generic one first), found by importing domains/<name>/."""
    import appliedrl.domains as package

    found = {GENERIC.name: GENERIC}
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg:
            domain = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), "DOMAIN", None)
            if domain is not None:
                found[domain.name] = domain
    return found


def domain_of(env_id: str) -> Domain:
    """The domain of a declared env, or the generic one (any other Gymnasium id)."""
    spec = env_specs().get(env_id)
    return domains().get(spec.domain, GENERIC) if spec else GENERIC


def spec_of(env_id: str) -> EnvSpec:
    """The declared spec, or a single-agent spec for any other Gymnasium id."""
    return env_specs().get(env_id) or EnvSpec(env_id, "single", GENERIC.name, env_id)


def baselines_for(env_id: str) -> dict[str, Baseline]:
    """The baselines that serve `env_id`: the env's domain's own, then the generic ones (random)."""
    spec = spec_of(env_id)
    own = [b for b in domain_of(env_id).baselines if b.serves(spec)]
    generic = [b for b in domains()[GENERIC.name].baselines if b.serves(spec)]
    return {b.name: b for b in generic + own}


def single_seat_env(game: str, opponents: Sequence[str | Policy] = ("random",), pool_size: int = 5,
                    render_mode: str | None = None, **game_kwargs: Any) -> SingleSeatEnv:
    """The single-seat Gymnasium view of the declared AEC game `game` (registered under the same id).

    Each opponent is a baseline serving the game (by name), "self" (frozen snapshots of the learner, see
    SingleSeatEnv), a run folder or saved agent file, or a policy object.
    """
    spec = env_specs().get(game)
    if spec is None or spec.kind != "aec":
        games = [s.id for s in env_specs().values() if s.kind == "aec"]
        raise ValueError(f"{game!r} is not a declared turn-based (aec) game; valid choices: {', '.join(games)}")
    make_game = functools.partial(spec.load(), **game_kwargs)
    baselines = baselines_for(game)
    resolved: list[str | Policy] = []
    for index, opponent in enumerate(opponents):
        if not isinstance(opponent, str) or opponent == SELF:
            resolved.append(opponent)
        elif opponent in baselines:
            resolved.append(baselines[opponent].make(make_game(), index))
        elif Path(opponent).exists():
            resolved.append(_load_agent(opponent))
        else:
            raise ValueError(f"unknown opponent {opponent!r} for {game}; valid choices: "
                             f"{', '.join(sorted(baselines))}, {SELF}, or a run folder or saved agent file")
    return SingleSeatEnv(make_game, resolved, pool_size, render_mode)


def _load_agent(path: str) -> Any:
    """A saved agent or a run's agent, loaded with the agent class named in the file."""
    from appliedrl.agents import AGENTS
    from appliedrl.agents.checkpoint import load_file

    return AGENTS[load_file(Path(path))["agent"]].load(path)


def register_single_seat_views() -> None:
    """Register every declared AEC game's single-seat view with Gymnasium under the game's id; idempotent."""
    for spec in env_specs().values():
        if spec.kind == "aec" and spec.id not in gym.registry:
            gym.register(id=spec.id, entry_point="appliedrl.domains.registry:single_seat_env",
                         kwargs={"game": spec.id})
