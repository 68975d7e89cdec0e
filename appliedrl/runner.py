"""Train and evaluate by name: `run(RunSpec) -> summary` and `evaluate(...) -> Evaluation`, with no printing.

The one place that turns names (an env id, an agent, `baseline:NAME`, a run folder) into objects, through the
env specs (appliedrl.envs), the domain registry (appliedrl.domains.registry) and the agents (appliedrl.agents).
The command line, the benchmarks and `compare` all call it. Bad input raises `RunError` with one line naming
the problem and the valid choices.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, Sequence

import yaml

from appliedrl.agents import AGENTS
from appliedrl.agents.base import Algorithm
from appliedrl.agents.checkpoint import CHECKPOINT_FILE, atomic_write_text, checkpoint_path, load_file
from appliedrl.agents.config import ConfigError, config_to_dict, load_yaml, make_config
from appliedrl.agents.evaluation import EvalResult, evaluate as evaluate_policy, evaluate_multiagent
from appliedrl.agents.trainer import Callback, RunExistsError, train
from appliedrl.agents.turn_based import SELF, SelfPlay, deal_parallelism
from appliedrl.agents.vec_env import UnknownEnvError, check_env_id
from appliedrl.domains.recipes import recipe_for, recipe_layers
from appliedrl.domains.registry import Baseline, baselines_for, domain_of, spec_of
from appliedrl.envs import EnvSpec, env_specs

RUN_FILE = "config.yaml"
BUDGET_KEY = "budget"  # a recipe's training budget, in the agent's unit (not a config key)
# the default budget per unit, when neither the command nor a recipe gives one
DEFAULT_BUDGETS = {"steps": 100_000, "transitions": 1_000_000, "epochs": 20_000}
MAX_EVAL_COPIES = 100  # multi-agent evaluation runs at most this many batched copies at once


class RunError(ValueError):
    """Bad input to a run or an evaluation; the message names the problem and the valid choices."""


@dataclasses.dataclass
class RunSpec:
    """What to train: an agent on an env, with config layers (recipe < file < overrides) and a run folder."""

    env_id: str
    agent: str
    seed: int = 0
    budget: int | None = None  # in the agent's unit (steps, transitions, epochs); None: the recipe's or default
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    config_file: str | None = None
    use_recipe: bool = True
    run_dir: Path | None = None
    progress_bar: bool = True

    def default_run_dir(self) -> Path:
        return Path(f"runs/{self.env_id.replace('/', '_')}-{self.agent}-s{self.seed}")


def agent_class(name: str) -> type[Algorithm]:
    if name not in AGENTS:
        raise RunError(f"unknown agent {name!r}; valid choices: {', '.join(AGENTS)}")
    return AGENTS[name]


def trains_on(cls: type[Algorithm], spec: EnvSpec) -> bool:
    """Whether the agent trains on this env: its kind, and a domain builder where the agent needs one."""
    return spec.kind in cls.env_kinds and (not cls.built_by_domain or cls.name in domain_of(spec.id).agent_builders)


def check_pairing(cls: type[Algorithm], spec: EnvSpec) -> None:
    """Raise RunError when the agent does not train on this env, naming the agents that do."""
    if not trains_on(cls, spec):
        fitting = [name for name, other in AGENTS.items() if trains_on(other, spec)]
        what = f"a {spec.kind} env" if spec.kind not in cls.env_kinds else f"its domain does not build {cls.name}"
        raise RunError(f"{cls.name} does not train on {spec.id} ({what}); agents for it: {', '.join(fitting)}")


def resolve(spec: RunSpec) -> tuple[type[Algorithm], Any, int, Path | None]:
    """The agent class, its config, the budget and the recipe file a spec resolves to."""
    cls = agent_class(spec.agent)
    env_spec = spec_of(spec.env_id)
    if env_spec.kind == "single":
        _check_env(spec.env_id)
    check_pairing(cls, env_spec)
    if spec.seed < 0:
        raise RunError(f"the seed must be >= 0, got {spec.seed}")
    recipe = recipe_for(cls.name, spec.env_id) if spec.use_recipe else None
    layers = recipe_layers(cls.name, spec.env_id, spec.env_kwargs) if recipe else []
    if spec.config_file:
        layers.append(load_yaml(spec.config_file))
    layers.append(dict(spec.overrides))
    budgets = [layer.pop(BUDGET_KEY) for layer in layers if BUDGET_KEY in layer]
    budget = spec.budget or (budgets[-1] if budgets else DEFAULT_BUDGETS[cls.unit])
    if budget < 1:
        raise RunError(f"the budget must be >= 1 {cls.unit}, got {budget}")
    return cls, make_config(cls.Config, *layers, agent=cls.name), int(budget), recipe


def build_agent(cls: type[Algorithm], env_id: str, env_kwargs: dict[str, Any], config: Any, seed: int) -> Algorithm:
    """The agent, built by the env's domain where it registers a builder for it (HDPO's differentiable problem,
    MADDPG's batched worlds), else from the env id."""
    builder = domain_of(env_id).agent_builders.get(cls.name)
    if builder is not None:
        return _constructing(lambda: builder(env_id, env_kwargs, config, seed), env_id, env_kwargs)
    if spec_of(env_id).kind == "parallel":
        raise RunError(f"{cls.name} has no builder for {env_id}")
    return _constructing(lambda: cls(env_id, config, seed, env_kwargs), env_id, env_kwargs)


def run(spec: RunSpec, callbacks: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train as `spec` says in a new run folder; returns the summary (also in RUN/summary.json). `callbacks` are
    the trainer's (called after every iteration; returning False stops)."""
    cls, config, budget, recipe = resolve(spec)
    run_dir = spec.run_dir or spec.default_run_dir()
    if checkpoint_path(run_dir).exists():
        raise RunError(f"{run_dir} already holds a run; continue it with --resume {run_dir} or choose another --out")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a folder for the run")
    agent = build_agent(cls, spec.env_id, spec.env_kwargs, config, spec.seed)
    record = {"env_id": spec.env_id, "agent": cls.name, "seed": spec.seed, BUDGET_KEY: budget,
              "env_kwargs": spec.env_kwargs, "recipe": recipe.name if recipe else None,
              "config": config_to_dict(config)}
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(yaml.safe_dump(record, sort_keys=False), run_dir / RUN_FILE)
    return _train(agent, budget, run_dir, spec.progress_bar, resume=False, callbacks=callbacks)


def resume(run_dir: str | Path, budget: int | None = None, progress_bar: bool = True,
           callbacks: Sequence[Callback] = ()) -> dict[str, Any]:
    """Continue the run in `run_dir` exactly, with its saved settings; a new budget becomes the run's."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).is_file() or not checkpoint_path(run_dir).is_file():
        raise RunError(f"{run_dir} is not a run folder with a checkpoint ({RUN_FILE} and checkpoint/)")
    record = yaml.safe_load((run_dir / RUN_FILE).read_text())
    if BUDGET_KEY not in record:
        raise RunError(f"{run_dir} was made by appliedrl 0.1, before every agent shared one trainer: it cannot be "
                       f"resumed; start a new run (its policy still evaluates: appliedrl evaluate {run_dir})")
    cls = agent_class(record["agent"])
    config = make_config(cls.Config, record["config"], agent=cls.name)
    agent = build_agent(cls, record["env_id"], record["env_kwargs"], config, record["seed"])
    if budget is not None and budget != record[BUDGET_KEY]:
        record[BUDGET_KEY] = budget
        atomic_write_text(yaml.safe_dump(record, sort_keys=False), run_dir / RUN_FILE)
    return _train(agent, record[BUDGET_KEY], run_dir, progress_bar, resume=True, callbacks=callbacks)


def _train(agent: Algorithm, budget: int, run_dir: Path, progress_bar: bool, resume: bool,
           callbacks: Sequence[Callback]) -> dict[str, Any]:
    start = getattr(agent.config, "init_from", None)
    source = getattr(agent.config, "pretrain_from", None)
    if start is not None and source is not None:
        raise RunError(f"init_from={start!r} and pretrain_from={source!r} both set where the policy starts; "
                       f"choose one")
    if start is not None and not resume:
        _initialise(agent, start)
    demonstrator = None
    if source is not None and not resume:
        demonstrator = load_policy(source, agent.env_id, agent.env_kwargs, agent.seed)[0]
    try:
        return train(agent, budget, run_dir=run_dir, callbacks=[*_self_play(agent), *callbacks],
                     progress_bar=progress_bar, resume=resume, demonstrator=demonstrator)
    except RunExistsError as error:
        raise RunError(str(error)) from None
    finally:
        agent.close()


def _initialise(agent: Algorithm, source: str) -> None:
    """Start a new run from a saved policy (`init_from`): its weights and observation statistics; the optimizer
    and everything else start fresh, with this run's settings."""
    data = _load(_policy_file(Path(source), best=False))
    if data.get("agent") != agent.name:
        raise RunError(f"init_from={source!r} holds a {data.get('agent')!r} policy; this run trains {agent.name}")
    for space in ("observation_space", "action_space"):
        if data.get(space) != getattr(agent, space):
            raise RunError(f"init_from={source!r} has {space.replace('_', ' ')} {data.get(space)}; this run's is "
                           f"{getattr(agent, space)}")
    try:
        agent.load_saved_policy(data)
    except RuntimeError as error:  # torch's message on weights of another network
        raise RunError(f"init_from={source!r} holds another network than this run's: "
                       f"{str(error).splitlines()[0]}") from None


def _self_play(agent: Algorithm) -> list[SelfPlay]:
    """The SelfPlay callback for a turn-based game whose opponents include "self" snapshots of the learner."""
    if agent.env_id is None or spec_of(agent.env_id).kind != "aec":
        return []
    opponents = agent.env_kwargs.get("opponents", ())
    return [SelfPlay(agent.config.self_play_every)] if SELF in opponents else []


@dataclasses.dataclass
class Evaluation:
    """An evaluation's result, with what was evaluated: the policy (and the file it came from) and the env."""

    policy: str
    env_id: str
    env_kwargs: dict[str, Any]
    result: EvalResult
    source: str  # the file a run's policy was loaded from, or the baseline's description
    agents: list[str] | None = None  # multi-agent envs: the agents, in the order of the per-agent returns

    def to_dict(self) -> dict[str, Any]:
        out = {"policy": self.policy, "env_id": self.env_id, "env_kwargs": self.env_kwargs, "source": self.source}
        out.update(self.result.to_dict(self.agents) if self.agents else self.result.to_dict())
        return out


def evaluate(policy: str, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None, episodes: int = 20,
             seed: int = 0, deterministic: bool = True, best: bool = False) -> Evaluation:
    """Evaluate `baseline:NAME` or a run folder / saved agent file on seeded episodes of `env_id` (default: the
    run's own env and keywords, with its config's `eval_env_kwargs` over them). `best` evaluates the run's best
    evaluated policy (RUN/best/) instead of its final one."""
    if episodes < 1:
        raise RunError(f"episodes must be >= 1, got {episodes}")
    if seed < 0:
        raise RunError(f"the seed must be >= 0, got {seed}")
    if policy.startswith("baseline:"):
        if env_id is None:
            raise RunError("evaluating a baseline needs --env ENV_ID")
        return _evaluate_baseline(policy, env_id, dict(env_kwargs or {}), episodes, seed, deterministic)
    loaded, path = load_policy(policy, best=best)
    env_id = env_id or loaded.env_id
    if env_id is None:
        raise RunError("the run does not record its env id; pass --env ENV_ID")
    if env_kwargs is None:  # the run's own evaluation env, as its trainer's evaluations saw it
        own = loaded.env_kwargs | getattr(loaded.config, "eval_env_kwargs", {})
        env_kwargs = own if _same_env(env_id, loaded.env_id) else {}
    spec = spec_of(env_id)
    check_pairing(type(loaded), spec)
    if spec.kind == "parallel":
        envs = _batched_envs(spec, env_kwargs, episodes)
        _check_same_agents(loaded, envs, env_id)
        result = evaluate_multiagent(loaded, envs, episodes, seed, deterministic)
        return Evaluation(policy, env_id, env_kwargs, result, path, list(envs.agents))
    _check_env(env_id)
    return Evaluation(policy, env_id, env_kwargs, _evaluate_single(loaded, spec, env_kwargs, episodes, seed,
                                                                   deterministic), path)


def load_policy(policy: str, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None, seed: int = 0,
                best: bool = False) -> tuple[Any, str]:
    """A policy by name, `baseline:NAME` (of `env_id`; a parallel env's baseline is made for one batched copy) or
    a run folder / saved agent file (its final policy, or with `best` its best evaluated one), and where it came
    from."""
    import gymnasium as gym

    if policy.startswith("baseline:"):
        if env_id is None:
            raise RunError(f"{policy} needs the env it plays")
        env_kwargs = env_kwargs or {}
        baseline = _baseline(policy.partition(":")[2], env_id)
        spec = spec_of(env_id)
        if spec.kind == "parallel":
            envs = _batched_envs(spec, env_kwargs, 1)
            return _constructing(lambda: baseline.make(envs, seed), env_id, env_kwargs), baseline.summary()
        probe = _constructing(lambda: gym.make(env_id, **env_kwargs), env_id, env_kwargs)
        try:
            return _constructing(lambda: baseline.make(probe.unwrapped, seed), env_id, env_kwargs), baseline.summary()
        finally:
            probe.close()
    path = _policy_file(Path(policy), best)
    cls = agent_class(_load(path).get("agent", "?"))
    return _constructing(lambda: cls.load(path), str(path), {}), str(path)


def _evaluate_baseline(policy: str, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int,
                       deterministic: bool) -> Evaluation:
    name = policy.partition(":")[2]
    spec = spec_of(env_id)
    if spec.kind == "single":
        _check_env(env_id)
    if spec.kind == "parallel":
        baseline = _baseline(name, env_id)
        envs = _batched_envs(spec, env_kwargs, episodes)
        heuristic = _constructing(lambda: baseline.make(envs, seed), env_id, env_kwargs)
        result = evaluate_multiagent(heuristic, envs, episodes, seed, deterministic)
        return Evaluation(policy, env_id, env_kwargs, result, baseline.summary(), list(envs.agents))
    heuristic, source = load_policy(policy, env_id, env_kwargs, seed)
    return Evaluation(policy, env_id, env_kwargs, _evaluate_single(heuristic, spec, env_kwargs, episodes, seed,
                                                                   deterministic), source)


def _evaluate_single(policy: Any, spec: EnvSpec, env_kwargs: dict[str, Any], episodes: int, seed: int,
                     deterministic: bool) -> EvalResult:
    """Evaluate on a Gymnasium env, or on a turn-based game's single-seat view in whole deals: the episodes are
    rounded up to a multiple of the seats, so every deal is played once from each seat (duplicate format)."""
    import gymnasium as gym

    parallel = 32
    if spec.kind == "aec":
        probe = _constructing(lambda: gym.make(spec.id, **env_kwargs), spec.id, env_kwargs)
        seats = len(probe.unwrapped.seats)
        probe.close()
        deals = -(-episodes // seats)
        episodes, parallel = deals * seats, deal_parallelism(deals)
    return _constructing(lambda: evaluate_policy(policy, spec.id, episodes, seed, env_kwargs, deterministic,
                                                 parallel), spec.id, env_kwargs)


def _baseline(name: str, env_id: str) -> Baseline:
    fitting = baselines_for(env_id)
    if name not in fitting:
        raise RunError(f"no baseline {name!r} for {env_id}; valid choices: {', '.join(fitting)}")
    return fitting[name]


def _policy_file(path: Path, best: bool) -> Path:
    """The saved policy a run folder holds: its final checkpoint, or its best evaluated policy with `best`; a
    folder holding agent.pt itself (RUN/best) or a file is taken as it is."""
    if not path.is_dir():
        if best:
            raise RunError("--best needs a run folder, not a file")
        return path
    if best:
        chosen = path / "best" / CHECKPOINT_FILE
        if not chosen.is_file():
            raise RunError(f"{path} holds no best policy (best/: the run made no evaluation)")
        return chosen
    for chosen in (checkpoint_path(path), path / CHECKPOINT_FILE):
        if chosen.is_file():
            return chosen
    raise RunError(f"{path} holds no saved agent (checkpoint/{CHECKPOINT_FILE} or {CHECKPOINT_FILE}); give a run "
                   f"folder, a saved agent file or baseline:NAME")


def _load(path: Path) -> dict[str, Any]:
    try:
        return load_file(path)
    except (FileNotFoundError, ValueError) as error:
        raise RunError(f"{error}; give a run folder, a saved agent file or baseline:NAME") from None


def _same_env(env_id: str, trained_on: str | None) -> bool:
    """Whether `env_id` is the run's env (ours or mpe2's of the same particle scenario), so its keywords apply."""
    return trained_on is not None and env_id.partition("/")[2] == trained_on.partition("/")[2]


def _batched_envs(spec: EnvSpec, env_kwargs: dict[str, Any], episodes: int) -> Any:
    """Copies of a parallel multi-agent env as one batched env (appliedrl.envs.multiagent's interface)."""
    copies = min(episodes, MAX_EVAL_COPIES)
    return _constructing(lambda: spec.load()(spec.id, copies, **env_kwargs), spec.id, env_kwargs)


def _check_same_agents(policy: Any, envs: Any, env_id: str) -> None:
    if envs.agents != policy.agents or list(envs.obs_dims) != policy.obs_dims:
        raise RunError(f"the run's agents {policy.agents} do not match {env_id}'s {envs.agents}")
    if envs.action_spaces != policy.action_spaces:
        raise RunError(f"the run acts in {list(policy.action_spaces.values())}, {env_id} with these keywords in "
                       f"{list(envs.action_spaces.values())} (continuous_actions differs?)")


def _check_env(env_id: str) -> None:
    """Raise RunError for an id neither Gymnasium nor appliedrl knows, naming close ones of both."""
    import gymnasium as gym

    try:
        check_env_id(env_id)
    except UnknownEnvError:
        close = difflib.get_close_matches(env_id, [*gym.registry, *env_specs()], n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise RunError(f"unknown environment {env_id!r}{hint} (`appliedrl list` shows appliedrl's; any registered "
                       f"Gymnasium id works)") from None


def _constructing(make: Any, env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """Call `make`, turning a bad env keyword, parameter value or unsupported space into a RunError."""
    import gymnasium as gym

    from appliedrl.agents.networks import UnsupportedSpaceError

    try:
        return make()
    except (RunError, ConfigError):
        raise
    except UnsupportedSpaceError as error:
        raise RunError(str(error)) from None
    except TypeError as error:
        if "argument" in str(error) and env_kwargs:
            raise RunError(f"environment {env_id} rejected the keywords {sorted(env_kwargs)}: {error}") from None
        raise
    except (ValueError, gym.error.Error) as error:  # gymnasium's: a missing dependency, a bad id or version
        raise RunError(str(error)) from None
