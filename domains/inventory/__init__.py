"""Inventory control domain: heuristics with closed-form levels, HDPO's differentiable problem, GNN policies."""

from appliedrl.domains.inventory.baselines import baseline_factories
from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent
from appliedrl.domains.inventory.picture import inventory_picture
from appliedrl.domains.registry import Baseline, Domain, Metric, Setting

ENV_ID = "appliedrl/Inventory-v0"

DOMAIN = Domain(
    "inventory", "inventory networks (Alvo, Russo & Kanoria): HDPO through a differentiable simulator",
    baselines=tuple(Baseline(name, make, (ENV_ID,), description=make.__doc__ or "")
                    for name, make in baseline_factories().items()),
    agent_builders={"hdpo": make_hdpo_agent},
    settings=(
        Setting("lost_sales", ENV_ID, {"setting": "one_store_lost", "lead_time": 4, "shortage_cost": 9}),
        Setting("backlogged", ENV_ID, {"setting": "one_store_backlogged"}),
        Setting("serial", ENV_ID, {"setting": "serial"}, baselines=("echelon_base_stock", "constant_order", "random")),
    ),
    agents=("hdpo", "ppo"),
    metric=Metric("average_cost", higher_is_better=False,
                  description="cost per period and store after the first ignore_periods; the return is minus "
                              "the cost per store summed over every period, warm-up included"),
    picture=inventory_picture,
)
