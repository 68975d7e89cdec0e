"""Restaurant dialogue domain: the handcrafted policy, and actor-critic agents trained in two stages (supervised
and batch RL on the handcrafted policy's dialogues, then online A2C) after Fatemi et al. (2016)."""

from appliedrl.domains.dialogue.chat import chat
from appliedrl.domains.dialogue.handcrafted import HandcraftedPolicy
from appliedrl.domains.dialogue.picture import dialogue_picture
from appliedrl.domains.registry import Baseline, Chat, Domain, Metric, Setting

ENV_ID = "appliedrl/RestaurantDialogue-v0"
ERROR_RATES = (0.0, 0.15, 0.3)


HANDCRAFTED = ("PyDial's handcrafted policy: confirm or select uncertain slots, request missing ones, offer when the "
               "venues cannot be narrowed, answer requests")


def _handcrafted(env, seed: int) -> HandcraftedPolicy:
    return HandcraftedPolicy(env)


DOMAIN = Domain(
    "dialogue", "restaurant-finding dialogue with an agenda-based simulated user and semantic errors (Fatemi et al. "
    "2016): handcrafted policy, two-stage A2C",
    baselines=(Baseline("handcrafted", _handcrafted, (ENV_ID,), description=HANDCRAFTED),),
    settings=(*(Setting(f"error_{round(rate * 100)}", ENV_ID, {"semantic_error_rate": rate}) for rate in ERROR_RATES),
              # the handcrafted policy acts in the summary space, and so does pre-training from it
              Setting("error_15_master", ENV_ID, {"semantic_error_rate": 0.15, "action_space": "master"},
                      agents=("dqn",), baselines=("random",))),
    agents=("a2c", "dqn"),
    metric=Metric("success_rate", description="the share of dialogues that end with a suitable venue accepted and "
                                               "every request answered; the return is 20·success − turns"),
    picture=dialogue_picture,
    chats=(Chat("restaurant", ENV_ID, chat, "baseline:handcrafted",
                "you are the user looking for a restaurant; the policy is the system"),),
)

__all__ = ["DOMAIN", "ENV_ID", "ERROR_RATES", "HandcraftedPolicy"]
