"""Inventory policies as torch modules: observations (the env's flat layout) in, order quantities per node out.

All of them are differentiable in their parameters, so HDPO can fit a neural network or just the levels of a
heuristic (base-stock, capped base-stock, echelon base-stock, constant order) through the simulator.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from appliedrl.agents.networks import mlp
from appliedrl.envs.inventory import InventoryProblem


class InventoryPolicy(nn.Module):
    """Knows the observation layout of a problem: on-hand per node, then each node's pipeline slots."""

    def __init__(self, problem: InventoryProblem) -> None:
        super().__init__()
        self.n_nodes = problem.n_nodes
        self.slots = max(problem.max_lead_time - 1, 0)
        self.n_features = problem.n_features
        self.observation_shape = (self.n_nodes * (self.slots + 1) + self.n_features,)
        # typical order size per node: the demand it serves per period
        means = torch.tensor(problem.demand_means, dtype=torch.float32)
        scale = torch.cat([means, torch.full((self.n_nodes - problem.n_stores,), float(means.sum()))])
        self.register_buffer("scale", scale)

    def unpack(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        on_hand = obs[:, : self.n_nodes]
        pipeline = obs[:, self.n_nodes : self.n_nodes * (self.slots + 1)]
        return on_hand, pipeline.reshape(len(obs), self.n_nodes, self.slots)

    def inventory_position(self, obs: torch.Tensor) -> torch.Tensor:
        on_hand, pipeline = self.unpack(obs)
        return on_hand + pipeline.sum(-1)


class MLPPolicy(InventoryPolicy):
    """A multilayer perceptron on observations divided by typical demand; orders = scale · softplus(output)."""

    def __init__(self, problem: InventoryProblem, hidden: list[int], activation: str = "elu") -> None:
        super().__init__(problem)
        self.net = mlp(self.observation_shape[0], hidden, self.n_nodes, activation, out_gain=1.0)
        # stock is scaled by typical demand; exogenous features come scaled already
        obs_scale = torch.cat([self.scale, self.scale.repeat_interleave(self.slots), torch.ones(self.n_features)])
        self.register_buffer("obs_scale", obs_scale)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.scale * F.softplus(self.net(obs / self.obs_scale))


class BaseStockPolicy(InventoryPolicy):
    """Order up to level S per node: q = max(S − inventory position, 0); optionally capped at `cap`."""

    def __init__(self, problem: InventoryProblem, levels: torch.Tensor | None = None, capped: bool = False) -> None:
        super().__init__(problem)
        lead = torch.tensor(problem.lead_times, dtype=torch.float32)
        self.level = nn.Parameter(levels.float().clone() if levels is not None else (lead + 1) * self.scale)
        self.cap = nn.Parameter(2 * self.scale.clone()) if capped else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        orders = F.relu(self.level - self.inventory_position(obs))
        return torch.minimum(orders, F.relu(self.cap)) if self.cap is not None else orders


class EchelonBaseStockPolicy(InventoryPolicy):
    """Serial systems: node k orders up to its echelon level, q_k = max(S_k − echelon position_k, 0), where the
    echelon position sums on-hand and in-transit stock of node k and every node below it (Clark–Scarf)."""

    def __init__(self, problem: InventoryProblem, levels: torch.Tensor | None = None) -> None:
        super().__init__(problem)
        if list(problem.supplier) != [*range(1, problem.n_nodes), -1]:
            raise ValueError(f"echelon base-stock needs a serial network; setting {problem.setting} is not one")
        lead = torch.tensor(problem.lead_times, dtype=torch.float32)
        default = torch.cumsum(lead + 1, 0) * self.scale
        self.level = nn.Parameter(levels.float().clone() if levels is not None else default)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        echelon_position = torch.cumsum(self.inventory_position(obs), dim=1)
        return F.relu(self.level - echelon_position)


class ConstantOrderPolicy(InventoryPolicy):
    """The same order every period, per node."""

    def __init__(self, problem: InventoryProblem) -> None:
        super().__init__(problem)
        self.quantity = nn.Parameter(self.scale.clone())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return F.relu(self.quantity).expand(len(obs), -1)


def _gnn(problem: InventoryProblem, activation: str) -> InventoryPolicy:
    from appliedrl.domains.inventory.gnn import GNNPolicy  # imported here: torch-geometric is only needed for it

    return GNNPolicy(problem, activation=activation)


def make_policy(name: str, problem: InventoryProblem, hidden: list[int] | None = None,
                activation: str = "elu") -> InventoryPolicy:
    """A policy by name, with its default starting parameters."""
    builders = {
        "mlp": lambda: MLPPolicy(problem, hidden or [32, 32, 32], activation),
        "base_stock": lambda: BaseStockPolicy(problem),
        "capped_base_stock": lambda: BaseStockPolicy(problem, capped=True),
        "echelon_base_stock": lambda: EchelonBaseStockPolicy(problem),
        "constant": lambda: ConstantOrderPolicy(problem),
        "gnn": lambda: _gnn(problem, activation),
    }
    if name not in builders:
        raise ValueError(f"unknown inventory policy {name!r}; valid choices: {', '.join(builders)}")
    return builders[name]()
