"""Train QWeb with Double DQN on login-user (with potential-based shaping), then compare it with the oracle on 200
held-out episodes (names and words it never saw) in the in-process DOM and in real headless Chromium.

Run: `python examples/web_qweb.py` (a few minutes; the Chromium half needs `apt-get install chromium`). The
recipe (domains/recipes/dqn.appliedrl__WebNav-v0.yaml) names the network: `appliedrl.domains.web.qweb:QWeb`.
"""

import shutil
from pathlib import Path

from appliedrl.runner import RunSpec, evaluate, run

ENV_ID, TASK, STEPS, SEED, EPISODES = "appliedrl/WebNav-v0", "login-user", 30_000, 0, 200
RUN_DIR = Path("runs/example-web")

shutil.rmtree(RUN_DIR, ignore_errors=True)
run(RunSpec(ENV_ID, "dqn", SEED, STEPS, {"task": TASK, "shaping": True, "gamma": 0.9}, run_dir=RUN_DIR))
print(f"{'policy':<20}{'backend':<10}{'success':>9}{'steps':>7}")
for policy in (str(RUN_DIR), "baseline:oracle"):
    for backend in ("dom", "chromium"):
        held_out = {"task": TASK, "split": "test", "backend": backend}
        result = evaluate(policy, ENV_ID, held_out, episodes=EPISODES, seed=5_000_000).result
        print(f"{policy:<20}{backend:<10}{result.metrics['success_rate']:>9.1%}{result.lengths.mean():>7.2f}")
