"""Two interfaces over one batched implementation: `ParticleWorlds` (many environments as tensors, for
training) and `ParticleParallelEnv` (one environment, a PettingZoo ParallelEnv that is a drop-in for mpe2's).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from appliedrl.envs.particles.scenarios import SCENARIOS, Scenario
from appliedrl.envs.particles.world import World

MOVES = 5  # none, -x, +x, -y, +y
MOVE_VECTORS = torch.tensor([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]], dtype=torch.float64)
BATCHED_KWARGS = ("max_cycles", "continuous_actions")  # besides the scenario's own
PARALLEL_ENV_KWARGS = (*BATCHED_KWARGS, "render_mode", "dynamic_rescaling")


def make_scenario(name: str, also_valid: tuple[str, ...] = BATCHED_KWARGS, **kwargs: Any) -> Scenario:
    """The scenario `name` (mpe2 module name, e.g. "simple_spread_v3") with its keyword arguments checked;
    `also_valid` are the caller's own keywords, listed with the scenario's when one is unknown."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown particle scenario {name!r}; valid: {', '.join(SCENARIOS)}")
    cls = SCENARIOS[name]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise ValueError(f"unknown keyword {unknown[0]!r} for {name}; valid: {', '.join(valid + list(also_valid))}")
    return cls(**kwargs)


class ParticleWorlds:
    """`num_envs` copies of one scenario stepped together; observations, rewards and flags are tensors.

    reset(seed) -> obs [B, agents, max_obs_dim] (agent i's observation is obs[:, i, :obs_dims[i]], zero-padded).
    step(actions) with actions [B, agents] (discrete) or [B, agents, max_action_dim] (continuous, zero-padded) ->
    obs, rewards [B, agents], terminated [B, agents], truncated [B, agents], info. Finished environments are
    reset in the same call (autoreset); info["final_obs"] holds the observation they ended on.
    """

    def __init__(self, scenario: str | Scenario, num_envs: int = 1, max_cycles: int = 25,
                 continuous_actions: bool = False, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, autoreset: bool = True, **scenario_kwargs: Any) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if not isinstance(max_cycles, int) or isinstance(max_cycles, bool) or max_cycles < 1:
            raise ValueError(f"max_cycles must be an integer >= 1, got {max_cycles!r}")
        if not isinstance(continuous_actions, bool):
            raise ValueError(f"continuous_actions must be true or false, got {continuous_actions!r}")
        self.scenario = scenario if isinstance(scenario, Scenario) else make_scenario(scenario, **scenario_kwargs)
        self.num_envs, self.max_cycles, self.continuous_actions = num_envs, max_cycles, continuous_actions
        self.device, self.dtype, self.autoreset = torch.device(device), dtype, autoreset
        self.world = World(self.scenario.agents, self.scenario.landmarks, self.scenario.dim_c, num_envs,
                           self.device, dtype)
        self.agents = [a.name for a in self.scenario.agents]
        self.action_spaces = {a.name: self._action_space(a) for a in self.scenario.agents}
        self.steps = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.rng, _ = seeding.np_random(None)
        self.reset()
        self.obs_dims = [o.shape[-1] for o in self.scenario.observations(self.world)]
        self.observation_spaces = {name: spaces.Box(-np.inf, np.inf, (dim,), np.float32)
                                   for name, dim in zip(self.agents, self.obs_dims)}
        self.action_dims = [_flat_dim(self.action_spaces[name]) for name in self.agents]
        self._movable = torch.tensor([a.movable for a in self.scenario.agents], device=self.device)
        self._action_limits = torch.tensor([getattr(s, "n", 0) for s in self.action_spaces.values()], device=self.device)
        self._silent = torch.tensor([a.silent for a in self.scenario.agents], device=self.device)
        # column of each utterance component in a continuous action row (after the 5 move entries if movable)
        columns = [[min((MOVES if a.movable else 0) + k, max(self.action_dims) - 1) for k in range(self.scenario.dim_c)]
                   for a in self.scenario.agents]
        self._comm_columns = torch.tensor(columns, device=self.device, dtype=torch.long).reshape(
            1, len(self.agents), self.scenario.dim_c)

    def _action_space(self, agent: Any) -> spaces.Space:
        dim_c = self.scenario.dim_c
        if self.continuous_actions:
            return spaces.Box(0.0, 1.0, ((MOVES if agent.movable else 0) + (0 if agent.silent else dim_c),),
                              np.float32)
        return spaces.Discrete((MOVES if agent.movable else 1) * (1 if agent.silent else dim_c))

    def reset(self, seed: int | None = None, envs: torch.Tensor | None = None) -> torch.Tensor:
        """Reset all environments (or those in `envs`); a seed reseeds the generator first, as mpe2 does."""
        if seed is not None:
            self.rng, _ = seeding.np_random(seed)
        envs = torch.arange(self.num_envs, device=self.device) if envs is None else envs
        self.scenario.reset(self.world, envs, self.rng)
        self.steps[envs] = 0
        return self.observe()

    def observe(self) -> torch.Tensor:
        """Every agent's observation, stacked and zero-padded to [B, agents, max_obs_dim]."""
        observations = self.scenario.observations(self.world)
        width = max(o.shape[-1] for o in observations)
        return torch.stack([torch.nn.functional.pad(o, (0, width - o.shape[-1])) for o in observations], 1)

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """Advance every environment one step (see the class docstring for shapes and autoreset)."""
        control, utterance = self._decode(actions)
        self.world.step(control, utterance)
        self.scenario.post_step(self.world)
        rewards = self.scenario.rewards(self.world)
        if self.scenario.local_ratio is not None:
            ratio = self.scenario.local_ratio
            rewards = self.scenario.global_reward(self.world)[:, None] * (1 - ratio) + rewards * ratio
        self.steps += 1
        truncated = self.steps >= self.max_cycles
        terminated = self.scenario.is_terminal(self.world) & ~truncated
        obs = self.observe()
        info: dict[str, Any] = {}
        done = terminated | truncated
        if self.autoreset and bool(done.any()):
            info["final_obs"] = obs
            obs = torch.where(done[:, None, None], self.reset(envs=done.nonzero().squeeze(-1)), obs)
        n_agents = len(self.agents)
        return (obs, rewards, terminated[:, None].expand(-1, n_agents), truncated[:, None].expand(-1, n_agents), info)

    def _decode(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions -> (control [B, agents, 2] before accel, utterance [B, agents, dim_c]), as mpe2's _set_action."""
        actions = torch.as_tensor(actions, device=self.device)
        n_agents, dim_c = len(self.agents), self.scenario.dim_c
        if self.continuous_actions:
            expected = (self.num_envs, n_agents, max(self.action_dims))
            if tuple(actions.shape) != expected:
                raise ValueError(f"actions must have shape {expected} (continuous), got {tuple(actions.shape)}")
            if bool(((actions < 0) | (actions > 1)).any()):
                bad = int(((actions < 0) | (actions > 1)).flatten(0, 1).any(-1).nonzero()[0]) % n_agents
                raise ValueError(f"action of {self.agents[bad]} outside {self.action_spaces[self.agents[bad]]}")
        else:
            if tuple(actions.shape) != (self.num_envs, n_agents):
                raise ValueError(f"actions must have shape {(self.num_envs, n_agents)} (discrete), "
                                 f"got {tuple(actions.shape)}")
            outside = (actions < 0) | (actions >= self._action_limits)
            if bool(outside.any()):
                bad = int(outside.any(0).nonzero()[0])
                raise ValueError(f"action of {self.agents[bad]} outside {self.action_spaces[self.agents[bad]]}")
        movable, silent = self._movable, self._silent
        if self.continuous_actions:
            # differences in the action's own dtype first, as mpe2 computes them
            if actions.shape[-1] >= MOVES:
                control = torch.stack([actions[..., 2] - actions[..., 1], actions[..., 4] - actions[..., 3]], -1)
                control = torch.where(movable[:, None], control.to(self.dtype), 0.0)
            else:  # no agent moves (simple_crypto)
                control = torch.zeros(self.num_envs, n_agents, 2, device=self.device, dtype=self.dtype)
            utterance = actions.gather(2, self._comm_columns.expand(self.num_envs, -1, -1)).to(self.dtype)
        else:
            actions = actions.long()
            control = MOVE_VECTORS.to(self.device, self.dtype)[torch.where(movable, actions % MOVES, 0)]
            word = torch.where(movable, actions // MOVES, actions)
            utterance = torch.nn.functional.one_hot(word.clamp(max=max(dim_c - 1, 0)), max(dim_c, 1))[..., :dim_c]
            utterance = utterance.to(self.dtype)
        utterance = torch.where(silent[:, None], 0.0, utterance)
        return control, utterance

    def render(self, env: int = 0, size: int = 700, dynamic_rescaling: bool = True) -> np.ndarray:
        """An RGB image [size, size, 3] of one environment: entities as discs, the camera fitted to the shown ones."""
        pos = self.world.pos[env].double().cpu().numpy()
        colors = self.scenario.entity_colors(self.world, env)
        order = [len(self.world.agents) + k for k in range(len(self.world.landmarks))] + \
            list(range(len(self.world.agents)))  # landmarks first, agents on top
        order = [e for e in order if colors[e] is not None]
        cam_range = max(float(np.abs(pos[order]).max()), 1e-6)
        scale = 0.9 * (size / 2) / cam_range
        grid = np.arange(size) + 0.5
        image = np.full((size, size, 3), 255, dtype=np.uint8)
        for e in order:
            x, y = size / 2 + pos[e, 0] * scale, size / 2 - pos[e, 1] * scale
            radius = self.world.entities[e].size * (scale if dynamic_rescaling else 350)
            inside = (grid[None, :] - x) ** 2 + (grid[:, None] - y) ** 2 <= radius ** 2
            image[inside] = (np.clip(np.array(colors[e]), 0, 1) * 200).astype(np.uint8)
        return image


def _flat_dim(space: spaces.Space) -> int:
    return int(space.shape[0]) if isinstance(space, spaces.Box) else 1


class ParticleParallelEnv(ParallelEnv):
    """One particle world as a PettingZoo ParallelEnv with mpe2's spaces, seeding, rewards and truncation."""

    metadata = {"render_modes": ["human", "rgb_array"], "is_parallelizable": True, "render_fps": 10}

    def __init__(self, scenario: str, max_cycles: int = 25, continuous_actions: bool = False,
                 render_mode: str | None = None, dynamic_rescaling: bool = True, **scenario_kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None, 'human' or 'rgb_array', got {render_mode!r}")
        self.worlds = ParticleWorlds(make_scenario(scenario, PARALLEL_ENV_KWARGS, **scenario_kwargs), 1, max_cycles,
                                     continuous_actions, dtype=torch.float64, autoreset=False)
        self.metadata = dict(self.metadata, name=scenario)
        self.render_mode, self.dynamic_rescaling = render_mode, dynamic_rescaling
        self._window: Any = None  # the pygame window of render_mode="human", opened by the first render()
        self.possible_agents = list(self.worlds.agents)
        self.agents = list(self.possible_agents)
        self.observation_spaces = self.worlds.observation_spaces
        self.action_spaces = self.worlds.action_spaces
        self.state_space = spaces.Box(-np.inf, np.inf, (sum(self.worlds.obs_dims),), np.float32)
        self._last_obs = self._observations(self.worlds.observe())  # mpe2 also has a state before reset()

    @property
    def unwrapped(self) -> "ParticleParallelEnv":
        return self

    @property
    def scenario(self) -> Scenario:
        return self.worlds.scenario

    def advance_curriculum(self) -> None:
        """Next curriculum stage (scenarios built with curriculum=True); applies from the next reset."""
        self.scenario.advance_curriculum()

    def set_curriculum_stage(self, stage: int) -> None:
        self.scenario.set_curriculum_stage(stage)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def _observations(self, stacked: torch.Tensor) -> dict[str, np.ndarray]:
        obs = stacked[0].cpu().numpy()
        return {name: obs[i, :dim].astype(np.float32) for i, (name, dim) in
                enumerate(zip(self.possible_agents, self.worlds.obs_dims))}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._last_obs = self._observations(self.worlds.reset(seed))
        self.agents = list(self.possible_agents)
        return dict(self._last_obs), {name: {} for name in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the episode is over: call reset() before step()")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"no action for agent {missing[0]!r}; step needs one for each of {self.agents}")
        stacked, rewards, terminated, truncated, _ = self.worlds.step(self._batch(actions))
        self._last_obs = self._observations(stacked)
        rewards_np = rewards[0].cpu().numpy()
        term, trunc = bool(terminated[0, 0]), bool(truncated[0, 0])
        names = self.possible_agents
        out = (dict(self._last_obs), {n: float(rewards_np[i]) for i, n in enumerate(names)},
               {n: term for n in names}, {n: trunc for n in names}, {n: {} for n in names})
        if term or trunc:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return out

    def _batch(self, actions: dict[str, Any]) -> torch.Tensor:
        """Check each agent's action against its space and stack them the way ParticleWorlds.step takes them."""
        rows = []
        for name in self.possible_agents:
            space, action = self.action_spaces[name], actions[name]
            if isinstance(space, spaces.Discrete):
                if not _is_integral(action) or not 0 <= int(action) < space.n:
                    raise ValueError(f"action {action!r} of agent {name!r} is outside its space {space}")
                rows.append(int(action))
            else:
                array = np.asarray(action)
                if array.shape != space.shape or not np.all((array >= 0) & (array <= 1)):
                    raise ValueError(f"action {action!r} of agent {name!r} is outside its space {space}")
                rows.append(np.pad(array.astype(space.dtype), (0, max(self.worlds.action_dims) - array.shape[0])))
        dtype = torch.long if not self.worlds.continuous_actions else torch.float32
        return torch.as_tensor(np.array(rows)[None], dtype=dtype)

    def state(self) -> np.ndarray:
        return np.concatenate([self._last_obs[name] for name in self.possible_agents])

    def render(self) -> np.ndarray | None:
        """The frame as an image ("rgb_array"), or shown in a pygame window at `render_fps` ("human")."""
        if self.render_mode is None:
            return None
        image = self.worlds.render(0, dynamic_rescaling=self.dynamic_rescaling)
        if self.render_mode == "rgb_array":
            return image
        try:
            import pygame
        except ImportError:
            raise ImportError("render_mode='human' needs pygame: pip install pygame-ce") from None
        if self._window is None:
            pygame.display.init()
            self._window = pygame.display.set_mode(image.shape[1::-1])
            self._clock = pygame.time.Clock()
        pygame.surfarray.blit_array(self._window, image.swapaxes(0, 1))
        pygame.event.pump()  # keeps the window responsive
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None


def _is_integral(action: Any) -> bool:
    return isinstance(action, (int, np.integer)) or (isinstance(action, np.ndarray) and action.ndim == 0
                                                     and np.issubdtype(action.dtype, np.integer))
