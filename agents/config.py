"""Typed agent configs: dataclasses filled from YAML files and `key=value` overrides, unknown keys rejected."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import torch
import yaml

from appliedrl.agents.networks import ACTIVATIONS
from appliedrl.agents.vec_env import VECTORIZATIONS


class ConfigError(ValueError):
    """A configuration key or value that cannot be used; the message names the valid choices."""


@dataclasses.dataclass
class RunConfig:
    """Run settings every agent shares; frequencies count the agent's own budget unit (steps, transitions or
    epochs), and 0 means only at the end."""

    eval_freq: int = 10_000
    checkpoint_freq: int = 100_000
    log_freq: int = 1_000  # metrics rows (CSV, TensorBoard) at most once per this many units
    tensorboard: bool = True
    device: str = "cpu"
    torch_threads: int | None = 1  # small networks train fastest on one thread; None: torch's default (all cores)
    # stop once an evaluation's score reaches this (SB3's StopTrainingOnRewardThreshold; the agent's score
    # direction decides "reaches"); None: train for the whole budget
    stop_score: float | None = None

    def validate(self) -> None:
        """Raise ConfigError for values that cannot work; subclasses extend it."""
        _check(self.eval_freq >= 0 and self.checkpoint_freq >= 0, "eval_freq and checkpoint_freq must be >= 0")
        _check(self.log_freq >= 1, "log_freq must be >= 1")
        _check(self.torch_threads is None or self.torch_threads >= 1, "torch_threads must be >= 1 (or null)")
        check_device(self.device)

    def apply_threads(self) -> None:
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)


@dataclasses.dataclass
class AgentConfig(RunConfig):
    """Settings of the agents that step Gymnasium envs: vectorisation and evaluation episodes."""

    n_envs: int = 1
    vectorization: str = "auto"  # auto | sync | async | vector_entry_point | ray (see vec_env.make_vec_env)
    # vectorization "ray": Ray actors sharing the n_envs copies; None: one per CPU Ray offers, at most n_envs
    rollout_workers: int | None = None
    eval_episodes: int = 10
    # a domain network instead of the MLP, "package.module:Class" (see networks.build_network), and its keywords
    network: str | None = None
    network_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # env keywords a recipe gives the env (rl-zoo's env_kwargs, e.g. a lower-variance reward); the user's own
    # env keywords win over them
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # env keywords for the trainer's evaluation episodes, over the training env's (e.g. a fixed opponent)
    eval_env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # turn-based games whose opponents include "self": iterations between snapshots of the learner (SelfPlay)
    self_play_every: int = 5
    # start from the policy saved in a run folder (its final policy), a folder holding agent.pt (RUN/pretrained,
    # RUN/best) or an agent file, then train with this run's own settings (rl-zoo's --trained-agent)
    init_from: str | None = None

    def validate(self) -> None:
        super().validate()
        _check(self.n_envs >= 1, "n_envs must be >= 1")
        _check(self.self_play_every >= 1, "self_play_every must be >= 1")
        _check(self.vectorization in VECTORIZATIONS, f"vectorization must be one of: {', '.join(VECTORIZATIONS)}")
        _check(self.rollout_workers is None or self.vectorization == "ray",
               f"rollout_workers applies to vectorization 'ray' only, not {self.vectorization!r}")
        _check(self.rollout_workers is None or 1 <= self.rollout_workers <= self.n_envs,
               f"rollout_workers must be between 1 and n_envs={self.n_envs} (or null: one per CPU)")
        _check(self.eval_episodes >= 1, "eval_episodes must be >= 1")
        _check(self.init_from is None or self.init_from.strip() != "",
               "init_from must name a run folder or a saved agent, or be null")


C = TypeVar("C", bound=RunConfig)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_device(device: str) -> None:
    """Raise ConfigError unless `device` is cpu, or cuda[:N] naming a CUDA device torch can see."""
    _check(re.fullmatch(r"cpu|cuda(:\d+)?", device) is not None, f"device must be cpu or cuda[:N], not {device!r}")
    if device.startswith("cuda"):
        count = torch.cuda.device_count()
        _check(count > 0, f"device {device} requested but torch sees no CUDA device; valid choices here: cpu")
        index = int(device.partition(":")[2] or 0)
        _check(index < count, f"device {device} requested but torch sees {count} CUDA device(s); valid choices "
                              f"here: cpu, cuda, cuda:0 to cuda:{count - 1}")


def check_network(net_arch: list[int], activation: str) -> None:
    """Raise ConfigError unless net_arch lists positive layer widths and activation is one the networks know."""
    _check(all(isinstance(width, int) and width >= 1 for width in net_arch),
           f"net_arch must list layer widths >= 1, e.g. [64, 64]; got {net_arch}")
    _check(activation in ACTIVATIONS, f"activation must be one of: {', '.join(ACTIVATIONS)}")


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # what YAML 1.1 reads as a string


def parse_assignments(pairs: list[str] | None, what: str = "--set") -> dict[str, Any]:
    """Turn ["gamma=0.98", "net_arch=[64, 64]"] into a dict; values are read as YAML scalars or lists, and a
    number YAML 1.1 leaves as a string (2e-5, 1e6: no dot) as the number."""
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} expects key=value, got {pair!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and EXPONENT_NUMBER.fullmatch(value.strip()):
            value = float(value)
        result[key.strip()] = value
    return result


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of key: value")
    return data


def make_config(cls: type[C], *layers: dict[str, Any], agent: str = "") -> C:
    """Build a `cls` from dict layers (later layers win), coercing types and rejecting unknown keys."""
    hints = typing.get_type_hints(cls)
    valid = field_names(cls)
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key not in hints:
                label = f" for {agent}" if agent else ""
                raise ConfigError(f"unknown config key {key!r}{label}; valid keys: {', '.join(valid)}")
            values[key] = _coerce(key, value, hints[key])
    config = cls(**values)
    config.validate()
    return config


# keys of runs saved before every agent shared one trainer (appliedrl 0.1): old name -> new name (None: dropped,
# the budget is the trainer's)
RENAMED_KEYS = {"num_envs": "n_envs", "hidden": "net_arch", "update_every": "train_freq", "eval_every": "eval_freq",
                "max_epochs": None}


def make_loaded_config(cls: type[C], saved: dict[str, Any], *layers: dict[str, Any]) -> C:
    """The config of a saved agent: keys of older runs renamed; a run trained on CUDA acts on the CPU where torch
    sees no GPU."""
    saved = {RENAMED_KEYS.get(key, key): value for key, value in saved.items() if RENAMED_KEYS.get(key, key)}
    if str(saved.get("device", "cpu")).startswith("cuda") and not torch.cuda.is_available():
        layers = ({"device": "cpu"}, *layers)
    return make_config(cls, saved, *layers)


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert a YAML value to the annotated type (1e5 read as a string by YAML 1.1 becomes 100000)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in typing.get_args(hint):
                return None
        for option in options:
            try:
                return _coerce(key, value, option)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key!r} expects {hint}, got {value!r}")
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} expects a mapping such as {{dim: 64}}, got {value!r}")
        return dict(value)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} expects a list, got {value!r}")
        return [_coerce(key, v, item) for v in value]
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"config key {key!r} expects {hint.__name__}, got {value!r}") from None
    return value


def config_to_dict(config: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)
