"""Batched particle-world physics: every environment's entities stepped together as torch tensors.

The dynamics are mpe2 v3's: each step the position moves with the old velocity, then the velocity is damped,
gets force / mass * dt and is clamped to the entity's maximum speed. Forces are the agents' controls plus a
softplus contact force between every pair of colliding entities, applied only to movable ones.
"""

from __future__ import annotations

import dataclasses

import torch

DT = 0.1
DAMPING = 0.25
CONTACT_FORCE = 100.0
CONTACT_MARGIN = 1e-3
DEFAULT_ACCEL = 5.0


@dataclasses.dataclass
class Entity:
    """Static properties of one agent or landmark (the same in every environment of a batch)."""

    name: str
    size: float = 0.05
    movable: bool = False
    collide: bool = True
    silent: bool = False  # agents only: cannot send communication
    accel: float | None = None  # agents only: action force scale (mpe2's "sensitivity"); None = 5.0
    max_speed: float | None = None
    mass: float = 1.0


class World:
    """Positions, velocities and utterances of `num_envs` copies of one world of entities (agents first)."""

    def __init__(self, agents: list[Entity], landmarks: list[Entity], dim_c: int, num_envs: int,
                 device: torch.device, dtype: torch.dtype) -> None:
        self.agents, self.landmarks, self.dim_c = agents, landmarks, dim_c
        self.entities = agents + landmarks
        self.num_envs, self.device, self.dtype = num_envs, device, dtype
        n_entities = len(self.entities)
        self.pos = torch.zeros(num_envs, n_entities, 2, device=device, dtype=dtype)
        self.vel = torch.zeros_like(self.pos)
        self.comm = torch.zeros(num_envs, len(agents), dim_c, device=device, dtype=dtype)
        self.size = torch.tensor([e.size for e in self.entities], device=device, dtype=dtype)
        self.movable = torch.tensor([e.movable for e in self.entities], device=device)
        self.silent = torch.tensor([a.silent for a in agents], device=device)
        self.accel = torch.tensor([DEFAULT_ACCEL if a.accel is None else a.accel for a in agents],
                                  device=device, dtype=dtype)
        self.mass = torch.tensor([e.mass for e in self.entities], device=device, dtype=dtype)
        self.max_speed = torch.tensor([float("inf") if e.max_speed is None else e.max_speed for e in self.entities],
                                      device=device, dtype=dtype)
        self.clamped = bool(torch.isfinite(self.max_speed[self.movable]).any())
        colliders = [i for i, e in enumerate(self.entities) if e.collide]
        pairs = [(a, b) for a in colliders for b in colliders if a < b
                 and (self.entities[a].movable or self.entities[b].movable)]
        self.pair_a = torch.tensor([a for a, _ in pairs], device=device, dtype=torch.long)
        self.pair_b = torch.tensor([b for _, b in pairs], device=device, dtype=torch.long)
        self.pair_min_dist = self.size[self.pair_a] + self.size[self.pair_b]
        self.n_agents = len(agents)

    def step(self, control: torch.Tensor, utterance: torch.Tensor) -> None:
        """Advance every environment by one step; `control` [B, agents, 2] is the agents' force before accel."""
        force = torch.zeros_like(self.pos)
        force[:, : self.n_agents] = control * self.accel[:, None]
        if len(self.pair_a):
            delta = self.pos[:, self.pair_a] - self.pos[:, self.pair_b]
            dist = delta.square().sum(-1).sqrt()
            penetration = torch.logaddexp(torch.zeros_like(dist), -(dist - self.pair_min_dist) / CONTACT_MARGIN)
            pair_force = CONTACT_FORCE * delta / dist[..., None] * (penetration * CONTACT_MARGIN)[..., None]
            force.index_add_(1, self.pair_a, pair_force)
            force.index_add_(1, self.pair_b, -pair_force)
        moving = self.movable[None, :, None]
        self.pos = torch.where(moving, self.pos + self.vel * DT, self.pos)
        vel = self.vel * (1 - DAMPING) + force / self.mass[:, None] * DT
        if self.clamped:
            speed = vel.square().sum(-1, keepdim=True).sqrt()
            limit = self.max_speed[:, None]
            vel = torch.where(speed > limit, vel / speed * limit, vel)
        self.vel = torch.where(moving, vel, self.vel)
        self.comm = torch.where(self.silent[None, :, None], torch.zeros_like(utterance), utterance)

    def distance(self, i: int, j: int) -> torch.Tensor:
        """Euclidean distance [B] between entities i and j in every environment."""
        return (self.pos[:, i] - self.pos[:, j]).square().sum(-1).sqrt()

    def touching(self, i: int, j: int) -> torch.Tensor:
        """mpe2's is_collision: centres closer than the sum of the two sizes."""
        return self.distance(i, j) < self.entities[i].size + self.entities[j].size
