"""The inventory domain's environments."""

from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec("appliedrl/Inventory-v0", "single", "inventory", "appliedrl.envs.inventory:InventoryEnv",
            vector_entry_point="appliedrl.envs.inventory:InventoryVectorEnv",
            description="inventory networks: one store to a warehouse with many stores (setting=...)"),
]
