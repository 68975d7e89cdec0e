"""Inventory networks (Alvo, Russo & Kanoria): a batched differentiable torch simulator and Gymnasium envs."""

from appliedrl.envs.inventory.env import InventoryEnv, InventoryVectorEnv
from appliedrl.envs.inventory.problem import SETTINGS, InventoryProblem, make_problem
from appliedrl.envs.inventory.simulator import InventorySimulator, InventoryState

__all__ = ["SETTINGS", "InventoryEnv", "InventoryProblem", "InventorySimulator", "InventoryState",
           "InventoryVectorEnv", "make_problem"]
