"""The particle-world scenarios of mpe2 1.1.1 (the nine classic ones and simple_line, simple_formation and
collect_treasure), vectorised over a batch of environments.

Each scenario declares its entities, draws initial states in exactly mpe2's order (so one environment seeded
like mpe2 starts in mpe2's state), and computes every agent's observation and reward as tensors [B, ...].
"""

from __future__ import annotations

import copy
import functools
import itertools
import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from appliedrl.envs.particles.world import Entity, World


class Scenario:
    """One scenario: its entities, resets, observations, rewards and termination."""

    name: str
    dim_c: int = 0
    local_ratio: float | None = None  # blend of the agent's own and the global reward, where the scenario has one

    def __init__(self) -> None:
        self.agents: list[Entity] = []
        self.landmarks: list[Entity] = []

    curriculum_stages: int = 1  # scenarios with a curriculum (curriculum=True) have more
    curriculum_stage: int = 0

    def advance_curriculum(self) -> None:
        """Move to the next curriculum stage; no-op at the last one."""
        self.set_curriculum_stage(self.curriculum_stage + 1)

    def set_curriculum_stage(self, stage: int) -> None:
        """Jump to a curriculum stage, clamped to the valid range (as mpe2)."""
        self.curriculum_stage = max(0, min(stage, self.curriculum_stages - 1))

    def reset(self, world: World, envs: torch.Tensor, rng: np.random.Generator) -> None:
        """Draw new initial states for the environments `envs` (mpe2's draws, in mpe2's order)."""
        raise NotImplementedError

    def observations(self, world: World) -> list[torch.Tensor]:
        """Each agent's observation [B, obs_dim]."""
        raise NotImplementedError

    def rewards(self, world: World) -> torch.Tensor:
        """Each agent's reward [B, agents], before any local/global blend."""
        raise NotImplementedError

    def global_reward(self, world: World) -> torch.Tensor:
        return torch.zeros(world.num_envs, device=world.device, dtype=world.dtype)

    def is_terminal(self, world: World) -> torch.Tensor:
        return torch.zeros(world.num_envs, device=world.device, dtype=torch.bool)

    def post_step(self, world: World) -> None:
        """Scenario events after the physics and before the rewards (mpe2's post_step)."""

    def entity_colors(self, world: World, env: int) -> list[tuple[float, float, float] | None]:
        """Display colour of every entity in one environment, None for one not drawn (for rendering only)."""
        return [(0.25, 0.25, 0.25)] * len(world.entities)

    # helpers shared by the scenarios
    def _place(self, world: World, envs: torch.Tensor, first: int, count: int, low: float, high: float,
               rng: np.random.Generator) -> None:
        draws = rng.uniform(low, high, (len(envs), count, 2))
        world.pos[envs, first:first + count] = torch.as_tensor(draws, device=world.device, dtype=world.dtype)
        world.vel[envs, first:first + count] = 0.0

    def _reset_agents_and_landmarks(self, world: World, envs: torch.Tensor, rng: np.random.Generator,
                                    landmark_low: float = -1.0, landmark_high: float = 1.0) -> None:
        self._place(world, envs, 0, len(self.agents), -1.0, 1.0, rng)
        world.comm[envs] = 0.0
        self._place(world, envs, len(self.agents), len(self.landmarks), landmark_low, landmark_high, rng)

    def _choose(self, world: World, envs: torch.Tensor, n: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.as_tensor(rng.integers(n, size=len(envs)), device=world.device)

    def _rel(self, world: World, entities: list[int], agent: int) -> list[torch.Tensor]:
        return [world.pos[:, e] - world.pos[:, agent] for e in entities]

    def _nearest(self, world: World, entities: list[int], agent: int, n: int | None) -> torch.Tensor | None:
        """Indices into `entities` [B, n] of the n nearest to `agent`, closest first, with -1 in slots beyond
        len(entities) (mpe2's zero padding for partial observability); None (all, in order) if n is None."""
        if n is None:
            return None
        if not entities:
            return torch.full((world.num_envs, n), -1, device=world.device)
        distance = torch.stack([world.distance(e, agent) for e in entities], -1)
        order = distance.argsort(dim=-1, stable=True)[:, :n]
        return torch.nn.functional.pad(order, (0, n - order.shape[1]), value=-1)

    def _pick(self, world: World, items: list[torch.Tensor], index: torch.Tensor | None) -> list[torch.Tensor]:
        """The [B, 2] tensors `items` in the order of index [B, slots] (-1 gives zeros; None: all, as given)."""
        if index is None:
            return items
        if not items:
            return [_zeros(world, 2)] * index.shape[1]
        values = torch.stack(items, 1)
        picked = values.gather(1, index.clamp(min=0)[..., None].expand(-1, -1, values.shape[-1]))
        return list(torch.where(index[..., None] >= 0, picked, 0.0).unbind(1))

    def _landmark_ids(self) -> list[int]:
        return list(range(len(self.agents), len(self.agents) + len(self.landmarks)))


def _zeros(world: World, *shape: int) -> torch.Tensor:
    return torch.zeros(world.num_envs, *shape, device=world.device, dtype=world.dtype)


def _gather_entity(world: World, index: torch.Tensor) -> torch.Tensor:
    """Position [B, 2] of entity index[b] in each environment b."""
    return world.pos[torch.arange(world.num_envs, device=world.device), index]


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distances [B, P, Q] between points a [B, P, 2] and b [B, Q, 2]."""
    return (a[:, :, None] - b[:, None]).square().sum(-1).sqrt()


def _gather_entities(world: World, index: torch.Tensor) -> torch.Tensor:
    """Position [B, K, 2] of entity index[b, k] in each environment b."""
    return world.pos.gather(1, index[..., None].expand(-1, -1, 2))


class Simple(Scenario):
    name = "simple_v3"

    def __init__(self) -> None:
        super().__init__()
        self.agents = [Entity("agent_0", movable=True, collide=False, silent=True)]
        self.landmarks = [Entity("landmark 0", collide=False)]

    def reset(self, world, envs, rng):
        self._reset_agents_and_landmarks(world, envs, rng)

    def observations(self, world):
        return [torch.cat([world.vel[:, 0], world.pos[:, 1] - world.pos[:, 0]], -1)]

    def rewards(self, world):
        return -(world.pos[:, 0] - world.pos[:, 1]).square().sum(-1, keepdim=True)

    def entity_colors(self, world, env):
        return [(0.25, 0.25, 0.25), (0.75, 0.25, 0.25)]


class SimpleSpread(Scenario):
    name = "simple_spread_v3"
    dim_c = 2
    capture_radius = 0.1
    curriculum_stages = 2  # stage 0 has no collision penalty (only with curriculum=True)

    def __init__(self, N: int = 3, local_ratio: float = 0.5, curriculum: bool = False,
                 terminate_on_success: bool = False, num_agent_neighbors: int | None = None,
                 num_landmark_neighbors: int | None = None) -> None:
        super().__init__()
        _check_int("N", N, 1)
        self.num_agent_neighbors, self.num_landmark_neighbors = _neighbors(num_agent_neighbors, num_landmark_neighbors)
        _check_proportion("local_ratio", local_ratio)
        _check_bool(curriculum=curriculum, terminate_on_success=terminate_on_success)
        self.local_ratio, self.curriculum, self.terminate_on_success = local_ratio, curriculum, terminate_on_success
        self.agents = [Entity(f"agent_{i}", size=0.15, movable=True, silent=True) for i in range(N)]
        self.landmarks = [Entity(f"landmark {i}", collide=False) for i in range(N)]

    def reset(self, world, envs, rng):
        self._reset_agents_and_landmarks(world, envs, rng)

    def observations(self, world):
        n = len(self.agents)
        landmarks = self._landmark_ids()
        out = []
        for i in range(n):
            others = [j for j in range(n) if j != i]
            seen_landmarks = self._nearest(world, landmarks, i, self.num_landmark_neighbors)
            seen_agents = self._nearest(world, others, i, self.num_agent_neighbors)
            out.append(torch.cat([world.vel[:, i], world.pos[:, i],
                                  *self._pick(world, self._rel(world, landmarks, i), seen_landmarks),
                                  *self._pick(world, self._rel(world, others, i), seen_agents),
                                  *self._pick(world, [world.comm[:, j] for j in others], seen_agents)], -1))
        return out

    def _min_distances(self, world: World) -> torch.Tensor:
        """Distance from each landmark to its nearest agent [B, landmarks]."""
        n = len(self.agents)
        delta = world.pos[:, :n, None] - world.pos[:, None, n:]
        return delta.square().sum(-1).sqrt().amin(1)

    def rewards(self, world):
        n = len(self.agents)
        if self.curriculum and self.curriculum_stage == 0:
            return _zeros(world, n)
        delta = world.pos[:, :n, None] - world.pos[:, None, :n]
        touching = delta.square().sum(-1).sqrt() < 2 * self.agents[0].size
        return -(touching.sum(-1) - 1).to(world.dtype)  # an agent always "touches" itself

    def global_reward(self, world):
        distances = self._min_distances(world)
        total = -distances[:, 0]
        for k in range(1, distances.shape[1]):
            total = total - distances[:, k]
        return total

    def is_terminal(self, world):
        if not self.terminate_on_success:
            return super().is_terminal(world)
        return (self._min_distances(world) < self.capture_radius).all(-1)

    def entity_colors(self, world, env):
        return [(0.35, 0.35, 0.85)] * len(self.agents) + [(0.25, 0.25, 0.25)] * len(self.landmarks)


class SimpleAdversary(Scenario):
    name = "simple_adversary_v3"
    dim_c = 2

    def __init__(self, N: int = 2, num_agent_neighbors: int | None = None,
                 num_landmark_neighbors: int | None = None) -> None:
        super().__init__()
        _check_int("N", N, 1)
        self.num_agent_neighbors, self.num_landmark_neighbors = _neighbors(num_agent_neighbors, num_landmark_neighbors)
        self.agents = [Entity("adversary_0", size=0.15, movable=True, collide=False, silent=True)]
        self.agents += [Entity(f"agent_{i}", size=0.15, movable=True, collide=False, silent=True) for i in range(N)]
        self.landmarks = [Entity(f"landmark {i}", size=0.08, collide=False) for i in range(N)]
        self.goal: torch.Tensor | None = None

    def reset(self, world, envs, rng):
        if self.goal is None:
            self.goal = torch.zeros(world.num_envs, dtype=torch.long, device=world.device)
        self.goal[envs] = self._choose(world, envs, len(self.landmarks), rng) + len(self.agents)
        self._reset_agents_and_landmarks(world, envs, rng)

    def observations(self, world):
        n = len(self.agents)
        landmarks = self._landmark_ids()
        goal = _gather_entity(world, self.goal)
        out = []
        for i in range(n):
            others = [j for j in range(n) if j != i]
            parts = self._pick(world, self._rel(world, landmarks, i),
                               self._nearest(world, landmarks, i, self.num_landmark_neighbors)) + \
                self._pick(world, self._rel(world, others, i),
                           self._nearest(world, others, i, self.num_agent_neighbors))
            if i > 0:
                parts = [goal - world.pos[:, i]] + parts
            out.append(torch.cat(parts, -1))
        return out

    def rewards(self, world):
        goal = _gather_entity(world, self.goal)
        to_goal = (world.pos[:, : len(self.agents)] - goal[:, None]).square().sum(-1).sqrt()
        adversary = -to_goal[:, 0]
        good = -to_goal[:, 1:].amin(-1) + to_goal[:, 0]
        return torch.stack([adversary] + [good] * (len(self.agents) - 1), -1)

    def entity_colors(self, world, env):
        colors = [(0.85, 0.35, 0.35)] + [(0.35, 0.35, 0.85)] * (len(self.agents) - 1)
        goal = int(self.goal[env]) - len(self.agents)
        return colors + [(0.15, 0.65, 0.15) if k == goal else (0.15, 0.15, 0.15) for k in range(len(self.landmarks))]


def _bound_penalty(x: torch.Tensor) -> torch.Tensor:
    """mpe2's penalty for leaving the screen, per coordinate |x|: 0 below 0.9, linear to 1, then exponential."""
    return torch.where(x < 0.9, torch.zeros_like(x),
                       torch.where(x < 1.0, (x - 0.9) * 10, torch.clamp(torch.exp(2 * x - 2), max=10.0)))


class SimpleTag(Scenario):
    name = "simple_tag_v3"
    dim_c = 2
    prey_speed_factors = (0.5, 0.75, 1.0)  # by curriculum stage
    curriculum_stages = 3

    def __init__(self, num_good: int = 1, num_adversaries: int = 3, num_obstacles: int = 2,
                 curriculum: bool = False, terminate_on_success: bool = False,
                 num_agent_neighbors: int | None = None, num_landmark_neighbors: int | None = None) -> None:
        super().__init__()
        for key, value in (("num_good", num_good), ("num_adversaries", num_adversaries)):
            _check_int(key, value, 1)
        self.num_agent_neighbors, self.num_landmark_neighbors = _neighbors(num_agent_neighbors, num_landmark_neighbors)
        _check_int("num_obstacles", num_obstacles, 0)
        _check_bool(curriculum=curriculum, terminate_on_success=terminate_on_success)
        self.curriculum, self.terminate_on_success = curriculum, terminate_on_success
        self.n_adversaries = num_adversaries
        self.agents = [Entity(f"adversary_{i}", size=0.075, movable=True, silent=True, accel=3.0, max_speed=1.0)
                       for i in range(num_adversaries)]
        self.agents += [Entity(f"agent_{i}", size=0.05, movable=True, silent=True, accel=4.0, max_speed=1.3)
                        for i in range(num_good)]
        self.landmarks = [Entity(f"landmark {i}", size=0.2) for i in range(num_obstacles)]

    def reset(self, world, envs, rng):
        self._reset_agents_and_landmarks(world, envs, rng, -0.9, 0.9)
        if self.curriculum:  # prey speed follows the stage; takes effect from this reset on, as in mpe2
            factor = self.prey_speed_factors[self.curriculum_stage]
            for i in range(self.n_adversaries, len(self.agents)):
                world.accel[i] = 4.0 * factor
                world.max_speed[i] = 1.3 * factor

    def observations(self, world):
        n = len(self.agents)
        landmarks = self._landmark_ids()
        out = []
        for i in range(n):
            others = [j for j in range(n) if j != i]
            seen = self._nearest(world, others, i, self.num_agent_neighbors)
            if self.num_agent_neighbors is None:  # only the prey's velocities, as the original observation
                prey_vel = [world.vel[:, j] for j in others if j >= self.n_adversaries]
            else:  # a velocity slot per seen agent, zeros for predators
                velocities = [world.vel[:, j] if j >= self.n_adversaries else torch.zeros_like(world.vel[:, j])
                              for j in others]
                prey_vel = self._pick(world, velocities, seen)
            out.append(torch.cat([world.vel[:, i], world.pos[:, i],
                                  *self._pick(world, self._rel(world, landmarks, i),
                                              self._nearest(world, landmarks, i, self.num_landmark_neighbors)),
                                  *self._pick(world, self._rel(world, others, i), seen), *prey_vel], -1))
        return out

    def rewards(self, world):
        n, adversaries = len(self.agents), range(self.n_adversaries)
        caught = [sum(world.touching(a, g).to(world.dtype) for a in adversaries) for g in range(self.n_adversaries, n)]
        total_caught = sum(caught)
        rewards = [10 * total_caught] * self.n_adversaries
        for k, g in enumerate(range(self.n_adversaries, n)):
            rewards.append(-10 * caught[k] - _bound_penalty(world.pos[:, g, 0].abs())
                           - _bound_penalty(world.pos[:, g, 1].abs()))
        return torch.stack(rewards, -1)

    def is_terminal(self, world):
        if not self.terminate_on_success:
            return super().is_terminal(world)
        done = torch.ones(world.num_envs, dtype=torch.bool, device=world.device)
        for g in range(self.n_adversaries, len(self.agents)):
            done &= torch.stack([world.touching(g, a) for a in range(self.n_adversaries)], -1).any(-1)
        return done

    def entity_colors(self, world, env):
        return ([(0.85, 0.35, 0.35)] * self.n_adversaries + [(0.35, 0.85, 0.35)] *
                (len(self.agents) - self.n_adversaries) + [(0.25, 0.25, 0.25)] * len(self.landmarks))


LANDMARK_COLORS_RGB = [(0.65, 0.15, 0.15), (0.15, 0.65, 0.15), (0.15, 0.15, 0.65)]


class SimpleSpeakerListener(Scenario):
    name = "simple_speaker_listener_v4"
    dim_c = 3

    def __init__(self) -> None:
        super().__init__()
        self.agents = [Entity("speaker_0", size=0.075, collide=False),
                       Entity("listener_0", size=0.075, movable=True, collide=False, silent=True)]
        self.landmarks = [Entity(f"landmark {i}", size=0.04, collide=False) for i in range(3)]
        self.goal: torch.Tensor | None = None
        self.colors: torch.Tensor | None = None

    def reset(self, world, envs, rng):
        if self.goal is None:
            self.goal = torch.zeros(world.num_envs, dtype=torch.long, device=world.device)
            self.colors = torch.tensor(LANDMARK_COLORS_RGB, device=world.device, dtype=world.dtype)
        self.goal[envs] = self._choose(world, envs, 3, rng)
        self._reset_agents_and_landmarks(world, envs, rng)

    def observations(self, world):
        speaker = self.colors[self.goal]
        listener = torch.cat([world.vel[:, 1], *self._rel(world, self._landmark_ids(), 1), world.comm[:, 0]], -1)
        return [speaker, listener]

    def rewards(self, world):
        reward = -(world.pos[:, 1] - _gather_entity(world, self.goal + 2)).square().sum(-1)
        return torch.stack([reward, reward], -1)

    def entity_colors(self, world, env):
        goal = int(self.goal[env])
        listener = tuple(c + 0.45 for c in LANDMARK_COLORS_RGB[goal])
        return [(0.25, 0.25, 0.25), listener] + LANDMARK_COLORS_RGB


REFERENCE_COLORS_RGB = [(0.75, 0.25, 0.25), (0.25, 0.75, 0.25), (0.25, 0.25, 0.75)]


class SimpleReference(Scenario):
    name = "simple_reference_v3"
    dim_c = 10

    def __init__(self, local_ratio: float = 0.5) -> None:
        super().__init__()
        _check_proportion("local_ratio", local_ratio)
        self.local_ratio = local_ratio
        self.agents = [Entity(f"agent_{i}", movable=True, collide=False) for i in range(2)]
        self.landmarks = [Entity(f"landmark {i}", collide=False) for i in range(3)]
        self.goals: torch.Tensor | None = None  # [B, 2]: the landmark each agent wants the OTHER agent to reach
        self.colors: torch.Tensor | None = None

    def reset(self, world, envs, rng):
        if self.goals is None:
            self.goals = torch.zeros(world.num_envs, 2, dtype=torch.long, device=world.device)
            self.colors = torch.tensor(REFERENCE_COLORS_RGB, device=world.device, dtype=world.dtype)
        first = self._choose(world, envs, 3, rng)
        self.goals[envs] = torch.stack([first, self._choose(world, envs, 3, rng)], -1)
        self._reset_agents_and_landmarks(world, envs, rng)

    def observations(self, world):
        landmarks = self._landmark_ids()
        return [torch.cat([world.vel[:, i], *self._rel(world, landmarks, i), self.colors[self.goals[:, i]],
                           world.comm[:, 1 - i]], -1) for i in range(2)]

    def rewards(self, world):
        return torch.stack([-(world.pos[:, 1 - i] - _gather_entity(world, self.goals[:, i] + 2)).square().sum(-1)
                            .sqrt() for i in range(2)], -1)

    def global_reward(self, world):
        rewards = self.rewards(world)
        return (rewards[:, 0] + rewards[:, 1]) / 2

    def entity_colors(self, world, env):
        return [REFERENCE_COLORS_RGB[int(self.goals[env, 1 - i])] for i in range(2)] + REFERENCE_COLORS_RGB


class SimplePush(Scenario):
    name = "simple_push_v3"
    dim_c = 2

    def __init__(self) -> None:
        super().__init__()
        self.agents = [Entity("adversary_0", movable=True, silent=True), Entity("agent_0", movable=True, silent=True)]
        self.landmarks = [Entity(f"landmark {i}", collide=False) for i in range(2)]
        self.goal: torch.Tensor | None = None
        self.landmark_colors = torch.tensor([[0.1, 0.1 + 0.8, 0.1], [0.1, 0.1, 0.1 + 0.8]], dtype=torch.float64)  # mpe2's arithmetic

    def reset(self, world, envs, rng):
        if self.goal is None:
            self.goal = torch.zeros(world.num_envs, dtype=torch.long, device=world.device)
            self.landmark_colors = self.landmark_colors.to(world.device, world.dtype)
        self.goal[envs] = self._choose(world, envs, 2, rng)
        self._reset_agents_and_landmarks(world, envs, rng)

    def _good_color(self) -> torch.Tensor:
        color = torch.full((len(self.goal), 3), 0.25, device=self.goal.device, dtype=self.landmark_colors.dtype)
        color[torch.arange(len(self.goal)), self.goal + 1] += 0.5
        return color

    def observations(self, world):
        landmarks = self._landmark_ids()
        goal = _gather_entity(world, self.goal + 2)
        colors = [self.landmark_colors[k].expand(world.num_envs, 3) for k in range(2)]
        good = torch.cat([world.vel[:, 1], goal - world.pos[:, 1], self._good_color(),
                          *self._rel(world, landmarks, 1), *colors, world.pos[:, 0] - world.pos[:, 1]], -1)
        adversary = torch.cat([world.vel[:, 0], *self._rel(world, landmarks, 0), world.pos[:, 1] - world.pos[:, 0]], -1)
        return [adversary, good]

    def rewards(self, world):
        goal = _gather_entity(world, self.goal + 2)
        good_distance = (world.pos[:, 1] - goal).square().sum(-1).sqrt()
        adversary_distance = (goal - world.pos[:, 0]).square().sum(-1).sqrt()
        return torch.stack([good_distance - adversary_distance, -good_distance], -1)

    def entity_colors(self, world, env):
        good = tuple(self._good_color()[env].tolist())
        return [(0.75, 0.25, 0.25), good] + [tuple(c) for c in self.landmark_colors.tolist()]


class SimpleCrypto(Scenario):
    name = "simple_crypto_v3"
    dim_c = 4

    def __init__(self) -> None:
        super().__init__()
        self.agents = [Entity(name, collide=False) for name in ("eve_0", "bob_0", "alice_0")]
        self.landmarks = [Entity(f"landmark {i}", collide=False) for i in range(2)]
        self.goal: torch.Tensor | None = None
        self.key: torch.Tensor | None = None

    def reset(self, world, envs, rng):
        if self.goal is None:
            self.goal = torch.zeros(world.num_envs, dtype=torch.long, device=world.device)
            self.key = torch.zeros_like(self.goal)
        self.goal[envs] = self._choose(world, envs, 2, rng)
        self.key[envs] = self._choose(world, envs, 2, rng)
        self._reset_agents_and_landmarks(world, envs, rng)

    def _one_hot(self, world: World, index: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(index, self.dim_c).to(world.dtype)

    def observations(self, world):
        key, alice = self._one_hot(world, self.key), world.comm[:, 2]
        return [alice, torch.cat([key, alice], -1), torch.cat([self._one_hot(world, self.goal), key], -1)]

    def rewards(self, world):
        goal = self._one_hot(world, self.goal)
        eve, bob = world.comm[:, 0], world.comm[:, 1]
        eve_error = torch.where((eve != 0).any(-1), (eve - goal).square().sum(-1), torch.zeros_like(eve[:, 0]))
        bob_error = torch.where((bob != 0).any(-1), (bob - goal).square().sum(-1), torch.zeros_like(bob[:, 0]))
        good = eve_error - bob_error
        return torch.stack([-eve_error, good, good], -1)

    def entity_colors(self, world, env):
        return [(0.75, 0.25, 0.25), (0.25, 0.25, 0.25), (0.25, 0.25, 0.25), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]


class SimpleWorldComm(Scenario):
    name = "simple_world_comm_v3"
    dim_c = 4

    def __init__(self, num_good: int = 2, num_adversaries: int = 4, num_obstacles: int = 1, num_food: int = 2,
                 num_forests: int = 2) -> None:
        super().__init__()
        _check_int("num_good", num_good, 1)
        _check_int("num_adversaries", num_adversaries, 1)
        for key, value in (("num_obstacles", num_obstacles), ("num_food", num_food), ("num_forests", num_forests)):
            _check_int(key, value, 0)
        if num_food < 1:
            raise ValueError("num_food must be >= 1: good agents are rewarded by their distance to the nearest food")
        self.n_adversaries = num_adversaries
        for i in range(num_adversaries + num_good):
            adversary = i < num_adversaries
            name = "leadadversary_0" if i == 0 else (f"adversary_{i - 1}" if adversary else
                                                    f"agent_{i - num_adversaries}")
            self.agents.append(Entity(name, size=0.075 if adversary else 0.045, movable=True, silent=i > 0,
                                      accel=3.0 if adversary else 4.0, max_speed=1.0 if adversary else 1.3))
        self.landmarks = [Entity(f"landmark {i}", size=0.2) for i in range(num_obstacles)]
        self.landmarks += [Entity(f"food {i}", size=0.03, collide=False) for i in range(num_food)]
        self.landmarks += [Entity(f"forest {i}", size=0.3, collide=False) for i in range(num_forests)]
        first = len(self.agents) + num_obstacles
        self.food = list(range(first, first + num_food))
        self.forests = list(range(first + num_food, first + num_food + num_forests))

    def reset(self, world, envs, rng):
        self._reset_agents_and_landmarks(world, envs, rng, -0.9, 0.9)
        # mpe2 places food and forests a second time, after all landmarks (its landmark list includes them)
        self._place(world, envs, self.food[0], len(self.food), -0.9, 0.9, rng)
        if self.forests:
            self._place(world, envs, self.forests[0], len(self.forests), -0.9, 0.9, rng)

    def observations(self, world):
        n = len(self.agents)
        landmarks = self._landmark_ids()
        in_forest = [torch.stack([world.touching(i, f) for f in self.forests], -1) if self.forests else
                     torch.zeros(world.num_envs, 0, dtype=torch.bool, device=world.device) for i in range(n)]
        out = []
        for i in range(n):
            others = [j for j in range(n) if j != i]
            other_pos, other_vel = [], []
            for j in others:
                # j is visible when both share a forest, or when neither is in any forest; the leader sees all
                shared = (in_forest[i] & in_forest[j]).any(-1)
                visible = shared | (~in_forest[i].any(-1) & ~in_forest[j].any(-1))
                if i == 0:
                    visible = torch.ones_like(visible)
                other_pos.append(torch.where(visible[:, None], world.pos[:, j] - world.pos[:, i], 0.0))
                if j >= self.n_adversaries:
                    other_vel.append(torch.where(visible[:, None], world.vel[:, j], 0.0))
            forest_flags = in_forest[i].to(world.dtype) * 2 - 1
            head = [world.vel[:, i], world.pos[:, i], *self._rel(world, landmarks, i), *other_pos]
            if i < self.n_adversaries:
                out.append(torch.cat(head + other_vel + [forest_flags, world.comm[:, 0]], -1))
            else:
                out.append(torch.cat(head + [forest_flags] + other_vel, -1))
        return out

    def rewards(self, world):
        n, adversaries = len(self.agents), range(self.n_adversaries)
        good = range(self.n_adversaries, n)
        caught = {g: sum(world.touching(a, g).to(world.dtype) for a in adversaries) for g in good}
        total_caught = sum(caught.values())
        rewards = []
        for a in adversaries:
            nearest = torch.stack([world.distance(g, a) for g in good], -1).amin(-1)
            rewards.append(-0.1 * nearest + 5 * total_caught)
        for g in good:
            reward = -5 * caught[g] - 2 * _bound_penalty(world.pos[:, g, 0].abs()) \
                - 2 * _bound_penalty(world.pos[:, g, 1].abs())
            reward = reward + 2 * sum(world.touching(g, f).to(world.dtype) for f in self.food)
            nearest_food = torch.stack([world.distance(f, g) for f in self.food], -1).amin(-1)
            rewards.append(reward - 0.05 * nearest_food)
        return torch.stack(rewards, -1)

    def entity_colors(self, world, env):
        colors = [(0.65, 0.15, 0.15)] + [(0.95, 0.45, 0.45)] * (self.n_adversaries - 1)
        colors += [(0.45, 0.95, 0.45)] * (len(self.agents) - self.n_adversaries)
        n_obstacles = len(self.landmarks) - len(self.food) - len(self.forests)
        return colors + [(0.25, 0.25, 0.25)] * n_obstacles + [(0.15, 0.15, 0.65)] * len(self.food) + \
            [(0.6, 0.9, 0.6)] * len(self.forests)


class _MatchedTargets(Scenario):
    """simple_line and simple_formation: each step the agents are assigned to the N target positions by the
    Hungarian method (minimum total distance); every agent gets −mean(min(assigned distance, 2)), and with
    terminate_on_success the episode ends when every assigned distance is below 0.05."""

    local_ratio = 0.0  # mpe2's reward is all global
    success_distance = 0.05

    def __init__(self, N: int, terminate_on_success: bool, agent_size: float, landmark_size: float,
                 n_landmarks: int) -> None:
        super().__init__()
        _check_int("N", N, 1)
        _check_bool(terminate_on_success=terminate_on_success)
        self.terminate_on_success = terminate_on_success
        self.agents = [Entity(f"agent_{i}", size=agent_size, movable=True, silent=True) for i in range(N)]
        self.landmarks = [Entity(f"landmark_{i}", size=landmark_size, collide=False) for i in range(n_landmarks)]

    def targets(self, world: World) -> torch.Tensor:
        """The N target positions [B, N, 2]."""
        raise NotImplementedError

    def _assigned_distances(self, world: World) -> torch.Tensor:
        return _assigned(_distances(world.pos[:, : len(self.agents)], self.targets(world)))

    def observations(self, world):
        n = len(self.agents)
        return [torch.cat([world.vel[:, i], world.pos[:, i], *self._rel(world, self._landmark_ids(), i)], -1)
                for i in range(n)]

    def rewards(self, world):
        return _zeros(world, len(self.agents))

    def global_reward(self, world):
        return -self._assigned_distances(world).clamp(0.0, 2.0).mean(-1)

    def is_terminal(self, world):
        if not self.terminate_on_success:
            return super().is_terminal(world)
        return (self._assigned_distances(world) < self.success_distance).all(-1)

    def entity_colors(self, world, env):
        return [(0.35, 0.35, 0.85)] * len(self.agents) + [(0.25, 0.25, 0.25)] * len(self.landmarks)


# up to 4 agents all 4! = 24 assignments are compared in one tensor op; beyond, scipy per environment is faster
MAX_ENUMERATED_AGENTS = 4


@functools.lru_cache
def _permutations(n: int, device: torch.device) -> torch.Tensor:
    return torch.tensor(list(itertools.permutations(range(n))), device=device)


def _assigned(distances: torch.Tensor) -> torch.Tensor:
    """Row i's distance [B, N] to the column that the minimum-total-distance assignment of rows to columns of
    distances [B, N, N] gives it (the assignment scipy's linear_sum_assignment finds)."""
    n = distances.shape[-1]
    if n <= MAX_ENUMERATED_AGENTS:
        chosen = distances[:, torch.arange(n, device=distances.device), _permutations(n, distances.device)]
        best = chosen.sum(-1).argmin(-1)
        return chosen[torch.arange(len(chosen), device=distances.device), best]
    matrices = distances.cpu().numpy()
    assigned = np.stack([matrix[linear_sum_assignment(matrix)] for matrix in matrices])
    return torch.as_tensor(assigned, device=distances.device)


class SimpleLine(_MatchedTargets):
    name = "simple_line_v1"
    separation = 1.25  # between the two landmarks, the ends of the line

    def __init__(self, N: int = 4, terminate_on_success: bool = False) -> None:
        super().__init__(N, terminate_on_success, agent_size=0.03, landmark_size=0.02, n_landmarks=2)
        self.line_targets: torch.Tensor | None = None  # [B, N, 2], drawn at reset

    def reset(self, world, envs, rng):
        n = len(self.agents)
        if self.line_targets is None:
            self.line_targets = _zeros(world, n, 2)
        self._place(world, envs, 0, n, -1.0, 1.0, rng)
        start = rng.uniform(-0.25, 0.25, (len(envs), 2))
        theta = rng.uniform(0, 2 * np.pi, len(envs))
        end, direction = self._end(start, theta)
        outside = ~(np.abs(end) < 1.0).all(-1)
        while outside.any():  # mpe2 turns the line by 5 degrees until its far end is inside (-1, 1)^2
            theta[outside] += np.radians(5)
            end[outside], direction[outside] = self._end(start[outside], theta[outside])
            outside = ~(np.abs(end) < 1.0).all(-1)
        spacing = self.separation / (n - 1) if n > 1 else 0.0
        targets = start[:, None] + (np.arange(n) * spacing)[None, :, None] * direction[:, None]
        as_tensor = functools.partial(torch.as_tensor, device=world.device, dtype=world.dtype)
        world.pos[envs, n:] = as_tensor(np.stack([start, end], 1))
        world.vel[envs, n:] = 0.0
        self.line_targets[envs] = as_tensor(targets)

    def _end(self, start: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        direction = np.stack([np.cos(theta), np.sin(theta)], -1)
        return start + self.separation * direction, direction

    def targets(self, world):
        return self.line_targets


class SimpleFormation(_MatchedTargets):
    name = "simple_formation_v1"
    radius = 0.5

    def __init__(self, N: int = 4, terminate_on_success: bool = False) -> None:
        super().__init__(N, terminate_on_success, agent_size=0.05, landmark_size=0.03, n_landmarks=1)

    def reset(self, world, envs, rng):
        self._reset_agents_and_landmarks(world, envs, rng, -0.5, 0.5)

    def targets(self, world):
        """N points evenly spaced on the circle around the landmark, the first at the smallest agent angle."""
        n = len(self.agents)
        centre = world.pos[:, n]
        relative = world.pos[:, :n] - centre[:, None]
        angle = torch.atan2(relative[..., 1], relative[..., 0])
        angle = torch.where(angle < 0, angle + 2 * math.pi, angle)
        steps = torch.arange(n, device=world.device, dtype=world.dtype) * (2 * math.pi / n)
        theta = angle.amin(-1, keepdim=True) + steps
        return centre[:, None] + self.radius * torch.stack([theta.cos(), theta.sin()], -1)


TREASURE_COLORS_RGB = [(0.212, 0.408, 0.776), (0.945, 0.553, 0.0), (0.169, 0.627, 0.173), (0.839, 0.149, 0.157),
                       (0.58, 0.404, 0.741), (0.549, 0.337, 0.294)]  # one per treasure type (mpe2's palette)


class CollectTreasure(Scenario):
    name = "collect_treasure_v1"
    treasure_bound = 0.95  # treasures appear in (-0.95, 0.95)^2
    dead_position = -999.0  # where mpe2 moves a picked-up treasure until it respawns

    def __init__(self, num_collectors: int = 6, num_deposits: int = 2, num_treasures: int = 6) -> None:
        super().__init__()
        for key, value in (("num_collectors", num_collectors), ("num_deposits", num_deposits),
                           ("num_treasures", num_treasures)):
            _check_int(key, value, 1)
        if num_deposits > len(TREASURE_COLORS_RGB):
            raise ValueError(f"num_deposits must be <= {len(TREASURE_COLORS_RGB)} (mpe2 has a colour for each "
                             f"treasure type), got {num_deposits}")
        self.n_collectors, self.n_types = num_collectors, num_deposits
        self.agents = [Entity(f"collector_{i}", size=0.05, movable=True, collide=False, silent=True, accel=1.5,
                              max_speed=1.0) for i in range(num_collectors)]
        self.agents += [Entity(f"deposit_{i}", size=0.075, movable=True, collide=False, silent=True, accel=1.5,
                               max_speed=1.0, mass=2.25) for i in range(num_deposits)]
        self.landmarks = [Entity(f"treasure_{i}", size=0.025, collide=False) for i in range(num_treasures)]
        self.holding: torch.Tensor | None = None  # [B, collectors]: the type of treasure carried, -1 for none
        self.types: torch.Tensor | None = None  # [B, treasures]
        self.alive: torch.Tensor | None = None  # [B, treasures]: False from pickup until the next step's respawn
        self.events: torch.Tensor | None = None  # [B]: pickups + deliveries in the last step
        self.respawn_rng: np.random.Generator | None = None

    def reset(self, world, envs, rng):
        if self.holding is None:
            self.holding = torch.zeros(world.num_envs, self.n_collectors, dtype=torch.long, device=world.device)
            self.types = torch.zeros(world.num_envs, len(self.landmarks), dtype=torch.long, device=world.device)
            self.alive = torch.ones_like(self.types, dtype=torch.bool)
        # mpe2 respawns with a copy of the generator as it is here, so respawns repeat this reset's draws
        self.respawn_rng = copy.deepcopy(rng)
        self._place(world, envs, 0, len(self.agents), -1.0, 1.0, rng)
        self.holding[envs] = -1
        for k in range(len(self.landmarks)):
            self.types[envs, k] = self._choose(world, envs, self.n_types, rng)
            self._spawn_at(world, envs, k, rng)
        self.alive[envs] = True

    def _spawn_at(self, world: World, envs: torch.Tensor, k: int, rng: np.random.Generator) -> None:
        self._place(world, envs, len(self.agents) + k, 1, -self.treasure_bound, self.treasure_bound, rng)

    def post_step(self, world):
        """Pickups (each treasure by the first free collector touching it, in order), respawns of the treasures
        picked up in the step before, then deliveries of carried treasures to the deposit of their type."""
        n, m = len(self.agents), self.n_collectors
        dead = ~self.alive
        reach = self.landmarks[0].size + self.agents[0].size
        touching = _distances(world.pos[:, n:], world.pos[:, :m]) < reach  # [B, treasures, collectors]
        events = _zeros(world)
        for k in range(len(self.landmarks)):
            takers = touching[:, k] & (self.holding < 0) & self.alive[:, k, None]
            taker = takers & (takers.cumsum(-1) == 1)
            taken = takers.any(-1)
            self.holding = torch.where(taker, self.types[:, k, None], self.holding)
            self.alive[:, k] &= ~taken
            world.pos[:, n + k] = torch.where(taken[:, None], self.dead_position, world.pos[:, n + k])
            events += taken
        for k in dead.any(0).nonzero().flatten().tolist():
            envs = dead[:, k].nonzero().flatten()
            self.respawn_rng.uniform(size=len(envs))  # mpe2's respawn chance, which is 1
            self._spawn_at(world, envs, k, self.respawn_rng)
            self.types[envs, k] = self._choose(world, envs, self.n_types, self.respawn_rng)
            self.alive[envs, k] = True
        deposit = _gather_entities(world, m + self.holding.clamp(min=0))
        reach = self.agents[0].size + self.agents[n - 1].size
        delivered = (self.holding >= 0) & ((world.pos[:, :m] - deposit).square().sum(-1).sqrt() < reach)
        self.holding = torch.where(delivered, -1, self.holding)
        self.events = events + delivered.sum(-1)

    def _encodings(self, world: World) -> torch.Tensor:
        """Each agent's [deposit type one-hot, carried type one-hot] [B, agents, 2 * types]."""
        carried = torch.nn.functional.one_hot(self.holding + 1, self.n_types + 1)[..., 1:].to(world.dtype)
        deposits = torch.eye(self.n_types, device=world.device, dtype=world.dtype).expand(world.num_envs, -1, -1)
        return torch.cat([torch.cat([torch.zeros_like(carried), carried], -1),
                          torch.cat([deposits, torch.zeros_like(deposits)], -1)], 1)

    def observations(self, world):
        """Own position, velocity (and a collector's carried type); the other agents nearest first (relative
        position, velocity, encoding); the treasures nearest first (relative position, type), dead ones as zeros."""
        n = len(self.agents)
        agents, treasures = world.pos[:, :n], world.pos[:, n:]
        encodings = self._encodings(world)
        to_agents = agents[:, None] - agents[:, :, None]  # [B, i, j, 2]: agent j relative to agent i
        key = torch.where(torch.eye(n, dtype=torch.bool, device=world.device), -1.0, _distances(agents, agents))
        order = key.argsort(dim=-1, stable=True)[..., 1:]  # agent i itself first, then dropped
        others = torch.cat([to_agents, world.vel[:, None, :n].expand(-1, n, -1, -1),
                            encodings[:, None].expand(-1, n, -1, -1)], -1)
        others = others.gather(2, order[..., None].expand(-1, -1, -1, others.shape[-1]))
        key = torch.where(self.alive[:, None], _distances(agents, treasures), 1e6)
        order = key.argsort(dim=-1, stable=True)
        types = torch.nn.functional.one_hot(self.types, self.n_types).to(world.dtype)
        seen = torch.cat([treasures[:, None] - agents[:, :, None], types[:, None].expand(-1, n, -1, -1)], -1)
        seen = torch.where(self.alive[:, None, :, None], seen, 0.0)
        seen = seen.gather(2, order[..., None].expand(-1, -1, -1, seen.shape[-1]))
        tail = torch.cat([others.flatten(2), seen.flatten(2)], -1)
        m = self.n_collectors
        collectors = torch.cat([agents[:, :m], world.vel[:, :m], encodings[:, :m, self.n_types:], tail[:, :m]], -1)
        deposits = torch.cat([agents[:, m:], world.vel[:, m:n], tail[:, m:]], -1)
        return list(collectors.unbind(1)) + list(deposits.unbind(1))

    def rewards(self, world):
        """Collectors: −5 per other collector overlapping, −0.1 × distance to the nearest live treasure (or, when
        carrying, to the deposit of its type); deposits: −0.1 × distance to the nearest collector carrying their
        type (or to the collectors' centroid); everyone: +5 per pickup and per delivery in the step."""
        n, m = len(self.agents), self.n_collectors
        bonus = 5 * self.events
        collectors = world.pos[:, :m]
        overlaps = (_distances(collectors, collectors) < 2 * self.agents[0].size).sum(-1) - 1  # self included
        to_treasure = _distances(world.pos[:, n:], collectors)
        nearest_treasure = torch.where(self.alive[..., None], to_treasure, torch.inf).amin(1)
        deposit = _gather_entities(world, m + self.holding.clamp(min=0))
        to_deposit = (deposit - collectors).square().sum(-1).sqrt()
        shaping = torch.where(self.holding >= 0, to_deposit,
                              torch.where(self.alive.any(-1, keepdim=True), nearest_treasure, 0.0))
        rewards = [-5 * overlaps.to(world.dtype) - 0.1 * shaping + bonus[:, None]]
        centroid = collectors.mean(1)
        for d in range(self.n_types):
            carriers = self.holding == d
            to_carriers = (collectors - world.pos[:, m + d, None]).square().sum(-1).sqrt()
            nearest = torch.where(carriers, to_carriers, torch.inf).amin(-1)
            to_centroid = (centroid - world.pos[:, m + d]).square().sum(-1).sqrt()
            rewards.append((-0.1 * torch.where(carriers.any(-1), nearest, to_centroid) + bonus)[:, None])
        return torch.cat(rewards, -1)

    def entity_colors(self, world, env):
        collectors = [(0.85, 0.85, 0.85) if h < 0 else tuple(0.85 * c for c in TREASURE_COLORS_RGB[h])
                      for h in self.holding[env].tolist()]
        deposits = [tuple(0.35 * c for c in TREASURE_COLORS_RGB[d]) for d in range(self.n_types)]
        treasures = [TREASURE_COLORS_RGB[t] if alive else None
                     for t, alive in zip(self.types[env].tolist(), self.alive[env].tolist())]
        return collectors + deposits + treasures


def _neighbors(agents: int | None, landmarks: int | None) -> tuple[int | None, int | None]:
    """mpe2's partial observability: see only the n nearest agents / landmarks (None = all)."""
    for key, value in (("num_agent_neighbors", agents), ("num_landmark_neighbors", landmarks)):
        if value is not None:
            _check_int(key, value, 1)
    return agents, landmarks


def _check_bool(**flags: object) -> None:
    for key, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{key} must be true or false, got {value!r}")


def _check_proportion(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{key} is a proportion: must be a number in [0, 1], got {value!r}")


def _check_int(key: str, value: object, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")


SCENARIOS: dict[str, type[Scenario]] = {cls.name: cls for cls in (
    Simple, SimpleSpread, SimpleAdversary, SimpleTag, SimpleSpeakerListener, SimpleReference, SimplePush,
    SimpleCrypto, SimpleWorldComm, SimpleLine, SimpleFormation, CollectTreasure)}
