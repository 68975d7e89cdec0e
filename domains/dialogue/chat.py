"""`appliedrl chat restaurant`: a person plays the user, typing sentences; a policy plays the system."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from appliedrl.envs.dialogue import Act, RestaurantDialogueEnv, RestaurantDomain, SystemAct, load_domain
from appliedrl.envs.dialogue.language import GREETING, parse_user_text, system_text

QUIT_WORDS = ("quit", "exit")


class TypingUser:
    """The env's user side played by a person: each reply is read from `read`, parsed into user acts and echoed
    as understood; the system's sentences go to `write`. Typing quit (or end of input) hangs up."""

    def __init__(self, domain: RestaurantDomain, read: Callable[[str], str], write: Callable[[str], None]) -> None:
        self.domain, self.read, self.write = domain, read, write
        self.hung_up, self.success = False, False  # a person's success is theirs to judge
        self.last: SystemAct | None = None

    def start(self, rng: np.random.Generator) -> list[Act]:
        self.write(f"system> {GREETING}")
        return self._listen()

    def respond(self, system: SystemAct) -> list[Act]:
        self.last = system
        self.write(f"system> {system_text(system, self.domain)}")
        return [] if system.type == "bye" else self._listen()

    def _listen(self) -> list[Act]:
        try:
            text = self.read("you> ")
        except EOFError:
            text = QUIT_WORDS[0]
        if text.strip().lower() in QUIT_WORDS:
            self.hung_up = True
            return [Act("bye")]
        acts = parse_user_text(text, self.domain, self.last)
        self.write(f"        (understood: {', '.join(map(str, acts))})")
        return acts


def chat(policy: Any, env_kwargs: dict[str, Any], seed: int, read: Callable[[str], str] = input,
         write: Callable[[str], None] = print) -> int:
    """Run one dialogue between a person and `policy` (any object with predict(obs, mask)); returns the number
    of system turns."""
    domain = load_domain(env_kwargs.get("ontology"), env_kwargs.get("database"))
    env = RestaurantDialogueEnv(user=TypingUser(domain, read, write), **env_kwargs)
    write("(you are the user: ask for a restaurant by area, price range and food, then for its phone, address, "
          "postcode, signature dish or description; say bye when done, quit to leave)")
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        action = policy.predict(obs, mask=info["action_mask"], deterministic=True)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    if truncated:
        write(f"(the dialogue reached its limit of {env.max_turns} turns)")
    return env.state.turn
