"""Batched, differentiable inventory-network dynamics in torch: every scenario is stepped at once.

Timing of one period (as in Alvo, Russo & Kanoria's reference code):
1. shipments placed L periods ago arrive (each node's pipeline moves one slot; slot 0 lands on hand);
2. the policy observes on-hand stock and pipelines and orders for every node;
3. each upstream node ships its children's orders from its on-hand stock, scaled down proportionally when they
   exceed it (a node that holds no stock, transshipment's centre, ships everything it has in proportion to the
   orders, in equal shares when nobody orders); the top node's orders go to an unlimited external supplier; shipments enter the receiving node's
   pipeline and arrive L periods later, at the start of that period;
4. stores serve demand from on-hand stock; unmet demand is lost or backlogged;
5. cost: stores pay h on leftover stock and p on unmet demand; upstream nodes pay h on on-hand stock after
   shipping; stock in transit costs nothing.
Costs are reported per period per store. Everything is differentiable in the orders (ReLU kinks aside), which is
what HDPO's pathwise gradients need.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from appliedrl.envs.inventory.problem import InventoryProblem

Policy = Callable[[torch.Tensor], torch.Tensor]  # observations [batch, obs] -> orders [batch, n_nodes]


@dataclasses.dataclass
class InventoryState:
    """State at decision time (after this period's arrivals)."""

    on_hand: torch.Tensor  # [batch, nodes]; stores may be negative under backlog
    pipeline: torch.Tensor  # [batch, nodes, max_lead - 1]: slot k arrives k + 1 periods from now

    def observation(self) -> torch.Tensor:
        """Flat features [batch, nodes * max_lead]: on-hand stock, then each node's pipeline."""
        return torch.cat([self.on_hand, self.pipeline.flatten(1)], dim=1)


class InventorySimulator:
    """Steps `InventoryState`s of one `InventoryProblem` on a device."""

    def __init__(self, problem: InventoryProblem, device: str | torch.device = "cpu") -> None:
        self.problem, self.device = problem, torch.device(device)
        n, slots = problem.n_nodes, max(problem.max_lead_time - 1, 0)
        self.slots = slots
        f32 = dict(dtype=torch.float32, device=self.device)
        self.holding = torch.tensor(problem.holding_costs, **f32)
        self.shortage = torch.tensor(problem.shortage_costs, **f32)
        # arrival[n, k] = 1 for the pipeline slot a shipment to node n enters (k = L_n - 1; slot L-1 = "on hand next period")
        self.entry = torch.zeros(n, slots + 1, **f32)
        self.entry[torch.arange(n), torch.tensor(problem.lead_times) - 1] = 1.0
        # supplies[c, u] = 1 when node u ships to node c
        self.supplies = torch.zeros(n, n, **f32)
        internal = [(c, u) for c, u in enumerate(problem.supplier) if u >= 0]
        for c, u in internal:
            self.supplies[c, u] = 1.0
        self.holds_stock = torch.tensor(problem.holds_stock, device=self.device)
        self.has_stockless_node = not all(problem.holds_stock)
        self.n_children = self.supplies.sum(0).clamp(min=1.0)
        self.has_internal_supplier = torch.tensor([u >= 0 for u in problem.supplier], device=self.device)
        self.supplier_index = torch.tensor([max(u, 0) for u in problem.supplier], device=self.device)
        self.n_stores = problem.n_stores
        self._compiled_period = None

    def initial_state(self, batch: int, seed: int) -> InventoryState:
        """Random starting stock around typical levels, so training sees varied states (warm-up periods are
        excluded from reported costs): store on-hand U[0, (L+1)·mean], each pipeline slot U[0, 2·mean]; upstream
        nodes likewise with the total demand they serve. Rounded for Poisson demand."""
        gen = torch.Generator().manual_seed(seed)
        p = self.problem
        means = torch.tensor(p.demand_means)
        node_mean = torch.cat([means, torch.full((p.n_nodes - p.n_stores,), float(means.sum()))])
        lead = torch.tensor(p.lead_times, dtype=torch.float32)
        on_hand = torch.rand(batch, p.n_nodes, generator=gen) * (lead + 1) * node_mean
        pipeline = torch.rand(batch, p.n_nodes, self.slots, generator=gen) * 2 * node_mean[:, None]
        # a node with a shorter lead time has fewer outstanding slots
        pipeline = pipeline * (torch.arange(self.slots) < (lead[:, None] - 1))
        if p.demand_distribution == "poisson":
            on_hand, pipeline = on_hand.round(), pipeline.round()
        return InventoryState(on_hand.to(self.device), pipeline.to(self.device))

    def step(self, state: InventoryState, orders: torch.Tensor, demand: torch.Tensor) -> tuple[InventoryState, torch.Tensor]:
        """Ship `orders` [batch, nodes], serve `demand` [batch, stores]; returns next state and cost [batch]."""
        orders = orders.clamp(min=0.0)
        on_hand = state.on_hand
        # proportional scaling of children's orders that exceed the supplier's on-hand stock
        requested = orders @ self.supplies  # [batch, nodes]: total asked of each node
        available = on_hand.clamp(min=0.0)
        ratio = available / requested.clamp(min=1e-9)
        # a stock-holding node ships at most what is asked; one that holds no stock ships all it has, pro rata
        fill = torch.where(self.holds_stock, ratio.clamp(max=1.0), ratio)
        # index_select, not fill[:, index]: its backward adds with atomics, which a CUDA graph can capture
        supplier_fill = fill.index_select(1, self.supplier_index)
        shipped = orders * torch.where(self.has_internal_supplier, supplier_fill, torch.ones_like(orders))
        if self.has_stockless_node:  # asked for nothing, a node that holds no stock ships in equal shares
            idle = ~self.holds_stock & (requested <= 0)
            equal_share = (available / self.n_children).index_select(1, self.supplier_index)
            shipped = torch.where(idle.index_select(1, self.supplier_index) & self.has_internal_supplier,
                                  equal_share, shipped)
        on_hand = on_hand - shipped @ self.supplies  # each supplier loses what it shipped
        full_pipeline = torch.cat([state.pipeline, torch.zeros_like(on_hand)[..., None]], dim=-1)
        full_pipeline = full_pipeline + shipped[..., None] * self.entry

        stores = on_hand[:, : self.n_stores]
        leftover, unmet = (stores - demand).clamp(min=0.0), (demand - stores).clamp(min=0.0)
        cost = (self.holding[: self.n_stores] * leftover + self.shortage * unmet).sum(-1)
        cost = cost + (self.holding[self.n_stores :] * on_hand[:, self.n_stores :]).sum(-1)
        stores = leftover if self.problem.lost_sales else stores - demand

        # the next period's arrivals: slot 0 lands on hand, the rest move one slot closer
        on_hand = torch.cat([stores, on_hand[:, self.n_stores :]], dim=1) + full_pipeline[..., 0]
        return InventoryState(on_hand, full_pipeline[..., 1:]), cost

    def rollout(self, policy: Policy, demand: torch.Tensor, state: InventoryState, ignore_periods: int = 0,
                round_orders: bool = False, compile: bool = False, features: torch.Tensor | None = None) -> torch.Tensor:
        """Average cost per period per store of each scenario [batch] over `demand` [batch, periods, stores],
        excluding the first `ignore_periods`; differentiable unless `round_orders` (integer orders, for test).
        `features` [batch, periods, F] are exogenous observations appended to the state's (real-data setting).
        `compile` runs each period through torch.compile (fewer, fused kernels: worth it on GPUs)."""
        periods = demand.shape[1]
        if not 0 <= ignore_periods < periods:
            raise ValueError(f"ignore_periods={ignore_periods} must be in [0, {periods})")
        period = self._period
        if compile:
            if self._compiled_period is None:
                self._compiled_period = torch.compile(self._period)
            period = self._compiled_period
        on_hand, pipeline = state.on_hand, state.pipeline
        total = torch.zeros(demand.shape[0], device=self.device)
        for t in range(periods):
            period_features = None if features is None else features[:, t]
            on_hand, pipeline, cost = period(policy, on_hand, pipeline, demand[:, t], round_orders, period_features)
            if t >= ignore_periods:
                total = total + cost
        return total / ((periods - ignore_periods) * self.n_stores)

    def _period(self, policy: Policy, on_hand: torch.Tensor, pipeline: torch.Tensor, demand: torch.Tensor,
                round_orders: bool, features: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        state = InventoryState(on_hand, pipeline)
        obs = state.observation()
        orders = policy(obs if features is None else torch.cat([obs, features], dim=1))
        if round_orders:
            orders = orders.round()
        state, cost = self.step(state, orders, demand)
        return state.on_hand, state.pipeline, cost
