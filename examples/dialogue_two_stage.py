"""Train a dialogue manager in two stages (imitate the handcrafted policy's dialogues, then online A2C) and
compare it with the handcrafted policy on the same 1,000 dialogues, heard through 15% semantic errors.

Run: `python examples/dialogue_two_stage.py` (about a minute). The recipe
(domains/recipes/a2c.appliedrl__RestaurantDialogue-v0.yaml) names the first stage: `pretrain_from:
baseline:handcrafted`. Watch one dialogue with `appliedrl chat restaurant --policy runs/example-dialogue`.
"""

import shutil
from pathlib import Path

from appliedrl.runner import RunSpec, evaluate, run

ENV_ID, ENV_KWARGS, STEPS, SEED, EPISODES = "appliedrl/RestaurantDialogue-v0", {"semantic_error_rate": 0.15}, 50_000, 0, 1_000
RUN_DIR = Path("runs/example-dialogue")

shutil.rmtree(RUN_DIR, ignore_errors=True)
summary = run(RunSpec(ENV_ID, "a2c", SEED, STEPS, ENV_KWARGS, run_dir=RUN_DIR))
print(f"pre-trained on {summary['pretrain']['episodes']} handcrafted dialogues, then {STEPS:,} online steps")
print(f"{'policy':<28}{'success':>9}{'turns':>7}{'return':>8}")
for policy in (str(RUN_DIR), "baseline:handcrafted"):
    result = evaluate(policy, ENV_ID, ENV_KWARGS, episodes=EPISODES, seed=SEED).result
    print(f"{policy:<28}{result.metrics['success_rate']:>9.1%}{result.lengths.mean():>7.2f}{result.mean:>8.2f}")
