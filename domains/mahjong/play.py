"""`appliedrl play sanma`: a person plays player_0 in the terminal; a policy (a bot or a trained run) plays the
other two seats. Type a tile to discard it ("5p", "5pr" for the red five, "N"), a word (riichi, pon, kan 9m, kita,
tsumo, ron, pass, nine), or an action number; quit (or end of input) leaves the game."""

from __future__ import annotations

from typing import Any, Callable

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong import sanma_v0
from appliedrl.envs.mahjong.engine import ROUND_NAMES

QUIT_WORDS = ("quit", "exit")
HUMAN = "player_0"


def parse_choice(text: str, legal: list[int]) -> int | None:
    """The legal action a person's words name (an action number, a tile to discard, or an action's name)."""
    text = " ".join(text.strip().lower().split())
    if text.isdigit():
        return int(text) if int(text) in legal else None
    names = {A.describe(action).lower(): action for action in legal}
    names.update({name.removeprefix("discard "): action for name, action in names.items()})
    names.update({"nine": A.NINE_TERMINALS, "nine terminals": A.NINE_TERMINALS} if A.NINE_TERMINALS in legal else {})
    return names.get(text)


def describe_event(event: dict[str, Any]) -> str | None:
    """One line for an event a person should see (None for draws and bookkeeping)."""
    who = f"player_{event.get('actor')}"
    kind = event["type"]
    if kind == "start_kyoku":
        return f"-- round {event['bakaze']}{event['kyoku']}, honba {event['honba']}, scores {event['scores']}"
    if kind == "dahai":
        return f"{who} discards {event['pai']}"
    if kind in ("pon", "daiminkan", "kakan", "ankan", "nukidora", "reach"):
        names = {"daiminkan": "open kan", "kakan": "added kan", "ankan": "closed kan", "nukidora": "kita"}
        tile = event.get("pai") or event.get("consumed", ["?"])[0]
        return f"{who} {names.get(kind, kind)} {tile}"
    if kind == "hora":
        how = "tsumo" if event["actor"] == event["target"] else f"ron from player_{event['target']}"
        return (f"{who} wins by {how} on {event['pai']}: {event['han']} han {event['fu']} fu "
                f"({', '.join(event['yaku'])}); score changes {event['deltas']}")
    if kind == "ryukyoku":
        return f"draw ({event['reason']}); score changes {event['deltas']}"
    if kind == "end_game":
        return f"== game over: scores {event['scores']}"
    return None


def play(policy: Any, env_kwargs: dict[str, Any], seed: int, read: Callable[[str], str] = input,
         write: Callable[[str], None] = print) -> list[int]:
    """Play one game with a person at player_0; returns the final scores (None if the person quit)."""
    kwargs = {key: value for key, value in env_kwargs.items() if key != "opponents"}
    env = sanma_v0.raw_env(render_mode="ansi", **kwargs)
    env.reset(seed=seed)
    shown = 0
    for agent in env.agent_iter():
        for event in env.game.events[shown:]:
            line = describe_event(event)
            if line:
                write(line)
        shown = len(env.game.events)
        observation, _, terminated, truncated, _ = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        legal = env.game.legal_actions()
        if agent != HUMAN:
            env.step(int(policy.predict(observation["observation"], mask=observation["action_mask"],
                                        deterministic=True)))
            continue
        write(env.render())
        while True:
            try:
                text = read(f"{ROUND_NAMES[env.game.round_index]} you> ")
            except EOFError:
                text = QUIT_WORDS[0]
            if text.strip().lower() in QUIT_WORDS:
                write("you left the table")
                return None
            action = parse_choice(text, legal)
            if action is not None:
                break
            write(f"not a choice: {text.strip()!r}; choices: " + ", ".join(A.describe(a) for a in legal))
        env.step(action)
    return list(env.game.scores)
