"""The dialogue domain's environments."""

from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec("appliedrl/RestaurantDialogue-v0", "single", "dialogue", "appliedrl.envs.dialogue:RestaurantDialogueEnv",
            description="find a restaurant for an agenda-based simulated user heard through semantic errors",
            checker_kwargs={"action_masks": False}),  # masked actions raise InvalidActionError
]
