"""Restaurant dialogue: an agenda-based simulated user, simulated semantic errors, a rule-based belief tracker,
and the system's summary and master action spaces (the Cambridge restaurant domain, as in PyDial)."""

from appliedrl.envs.dialogue.actions import SUMMARY_ACTIONS
from appliedrl.envs.dialogue.acts import Act, SystemAct
from appliedrl.envs.dialogue.data import OntologyError, RestaurantDomain, load_domain
from appliedrl.envs.dialogue.env import InvalidActionError, RestaurantDialogueEnv

__all__ = ["Act", "InvalidActionError", "OntologyError", "RestaurantDialogueEnv", "RestaurantDomain",
           "SUMMARY_ACTIONS", "SystemAct", "load_domain"]
