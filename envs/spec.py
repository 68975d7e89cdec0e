"""Environment specs: what each environment is and how to make it, declared by each env subpackage.

Every subpackage of appliedrl.envs with environments has a light `specs.py` holding `ENV_SPECS`, a list of
`EnvSpec`; `env_specs()` finds them all (a new subpackage cannot be forgotten), and `register_envs()` registers
the Gymnasium-facing ones. Declaring needs no heavy import: entry points are "module:attribute" strings.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from typing import Any

import gymnasium as gym

# single: a Gymnasium env; parallel: a batched multi-agent env (appliedrl.envs.multiagent's interface);
# aec: a turn-based PettingZoo AEC game, trained one seat at a time through its single-seat Gymnasium view
# (registered under the same id by appliedrl.domains.registry.register_single_seat_views).
KINDS = ("single", "parallel", "aec")


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """One environment: its id, kind, domain and entry points ("module:attribute")."""

    id: str
    kind: str
    domain: str
    entry_point: str  # single: the Gymnasium env class; parallel: a maker (env_id, num_envs, device, **kw); aec: env()
    vector_entry_point: str | None = None  # single: a native batched Gymnasium vector env
    max_episode_steps: int | None = None
    description: str = ""
    # keywords under which outside checkers (Gymnasium's, SB3's), which step random actions without masks, run an
    # env that rejects masked actions by default
    checker_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # what an optional env needs beyond the install: Python modules and programs on PATH (see `missing`)
    requires: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        """The requirements not available here (a module that does not import, a program not on PATH)."""
        import importlib.util
        import shutil

        return [name for name in self.requires if importlib.util.find_spec(name) is None and not shutil.which(name)]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"env spec {self.id}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    def load(self, entry_point: str | None = None) -> Any:
        """The object an entry point names (the main one by default)."""
        module, _, attribute = (entry_point or self.entry_point).partition(":")
        return getattr(importlib.import_module(module), attribute)


@functools.cache
def env_specs() -> dict[str, EnvSpec]:
    """Every environment the project declares, by id."""
    import appliedrl.envs as package

    specs: dict[str, EnvSpec] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if not module.ispkg:
            continue
        try:
            declared = importlib.import_module(f"{package.__name__}.{module.name}.specs").ENV_SPECS
        except ModuleNotFoundError as error:
            if error.name != f"{package.__name__}.{module.name}.specs":
                raise
            continue
        for spec in declared:
            if spec.id in specs:
                raise ValueError(f"env id {spec.id} is declared twice")
            specs[spec.id] = spec
    return specs


def register_envs() -> None:
    """Register the single-agent environments with Gymnasium; idempotent."""
    for spec in env_specs().values():
        if spec.kind == "single" and spec.id not in gym.registry:
            gym.register(id=spec.id, entry_point=spec.entry_point, max_episode_steps=spec.max_episode_steps,
                         vector_entry_point=spec.vector_entry_point)
