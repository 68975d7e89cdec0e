"""A graph-neural-network inventory policy: message passing along the network's supply links (torch-geometric).

Nodes are locations, edges the supply links in both directions. Every node starts from its own features (stock,
pipeline, demand and cost parameters, all scaled by the demand it serves), a few rounds of message passing mix
in the mean of its neighbours' messages, and one shared output network turns each node's embedding into its
order. The same weights serve every store, so the policy is permutation-equivariant (permuting stores permutes
their orders) and works for any number of stores; orders beyond a supplier's stock are scaled down
proportionally by the simulator. Averaging (not summing) the messages and bounding upstream orders by a multiple
of the demand they serve keep the untrained policy's orders at the scale of demand for any number of stores.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import MessagePassing

from appliedrl.agents.networks import mlp
from appliedrl.domains.inventory.policies import InventoryPolicy
from appliedrl.envs.inventory import InventoryProblem


class SupplyLinkLayer(MessagePassing):
    """One round: each node averages messages computed from (its embedding, a neighbour's embedding) and updates
    its embedding residually."""

    def __init__(self, dim: int, activation: str) -> None:
        super().__init__(aggr="mean")
        self.message_net = mlp(2 * dim, [dim], dim, activation)
        self.update_net = mlp(2 * dim, [dim], dim, activation)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.propagate(edge_index, x=x)

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        return self.message_net(torch.cat([x_i, x_j], dim=-1))

    def update(self, aggregated: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x + self.update_net(torch.cat([x, aggregated], dim=-1))


class GNNPolicy(InventoryPolicy):
    """Message-passing policy over the supply network (defaults: 32 units, 2 rounds, as the reference's GNN).

    Store orders are scale · softplus(output); upstream orders are bounded: `upstream_bound` · scale · sigmoid(output),
    scale being the summed mean demand of the stores below (the reference bounds its warehouse orders alike)."""

    def __init__(self, problem: InventoryProblem, dim: int = 32, rounds: int = 2, activation: str = "elu",
                 upstream_bound: float = 4.0) -> None:
        super().__init__(problem)
        n, stores = problem.n_nodes, problem.n_stores
        self.register_buffer("is_store", torch.arange(n) < stores)
        self.upstream_bound = upstream_bound
        shortage = torch.zeros(n)
        shortage[:stores] = torch.tensor(problem.shortage_costs)
        stds = torch.zeros(n)
        stds[:stores] = torch.tensor(problem.demand_stds) / torch.tensor(problem.demand_means)
        static = torch.stack([torch.tensor(problem.holding_costs), shortage, stds,
                              torch.tensor(problem.lead_times, dtype=torch.float32) / problem.max_lead_time,
                              self.is_store.float(), torch.tensor(problem.holds_stock).float()], dim=1)
        self.register_buffer("static", static.float())
        links = [(c, u) for c, u in enumerate(problem.supplier) if u >= 0]
        edges = torch.tensor(links + [(u, c) for c, u in links], dtype=torch.long).T if links else torch.zeros(2, 0, dtype=torch.long)
        self.register_buffer("edges", edges)
        in_dim = 1 + self.slots + static.shape[1]
        self.encode = mlp(in_dim, [dim], dim, activation)
        self.layers = nn.ModuleList(SupplyLinkLayer(dim, activation) for _ in range(rounds))
        self.decode = mlp(dim, [dim], 1, activation)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.decode(self.embed(obs)).reshape(len(obs), self.n_nodes)
        return self.scale * torch.where(self.is_store, F.softplus(out), self.upstream_bound * torch.sigmoid(out))

    def embed(self, obs: torch.Tensor) -> torch.Tensor:
        """Every node's embedding after the message-passing rounds, [batch * nodes, dim]."""
        batch = len(obs)
        on_hand, pipeline = self.unpack(obs)
        scale = self.scale[:, None]
        features = torch.cat([on_hand[..., None] / scale, pipeline / scale[None], self.static.expand(batch, -1, -1)], -1)
        x = self.encode(features.reshape(batch * self.n_nodes, -1))
        # one disjoint copy of the network per scenario: offset each copy's node indices
        offsets = torch.arange(batch, device=obs.device)[:, None, None] * self.n_nodes
        edge_index = (self.edges[None] + offsets).permute(1, 0, 2).reshape(2, -1)
        for layer in self.layers:
            x = layer(x, edge_index)
        return x


class InventoryGNN(nn.Module):
    """The GNN as a network of the backbone's agents (`network: appliedrl.domains.inventory.gnn:InventoryGNN`):
    with one output per node it gives each node's order (PPO's action mean); with one output, a value from the
    mean of the node embeddings (PPO's critic)."""

    def __init__(self, observation_space: spaces.Space, out_dim: int, env: Any, dim: int = 32, rounds: int = 2,
                 activation: str = "elu") -> None:
        super().__init__()
        problem = getattr(env, "problem", None)
        if not isinstance(problem, InventoryProblem):
            raise ValueError("InventoryGNN needs an appliedrl/Inventory-v0 environment")
        if out_dim not in (1, problem.n_nodes):
            raise ValueError(f"InventoryGNN outputs one order per node ({problem.n_nodes}) or one value, not {out_dim}: "
                             f"use continuous orders (order_levels=0)")
        self.gnn = GNNPolicy(problem, dim, rounds, activation)
        self.value_head = mlp(dim, [dim], 1, activation) if out_dim == 1 else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.value_head is None:
            return self.gnn(obs)
        nodes = self.gnn.embed(obs).reshape(len(obs), self.gnn.n_nodes, -1)
        return self.value_head(nodes.mean(1))
