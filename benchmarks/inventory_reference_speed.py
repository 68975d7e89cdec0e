"""Time the public reference implementation (github.com/MatiasAlvo/Neural_inventory_control) to a dev-cost gap on
the problem of benchmarks/inventory_speed.py (one store, lost sales, Poisson(5), L = 4, p = 9, optimum 6.836), so
the two can be run side by side on one machine. The reference is run unmodified, at its published settings
(`main_run.py train one_store_lost vanilla_one_store`); each line it prints is timestamped here as it arrives.

    python benchmarks/inventory_reference_speed.py --reference PATH/TO/Neural_inventory_control --seconds 300

It uses the GPU when its torch sees one (the reference's own choice). Prints seconds per epoch, the start-up time,
and the time (from the process start, and from the first epoch) at which its dev cost first came within 1% and
0.5% of the optimum; the reference evaluates on its dev set every 10 epochs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

OPTIMUM = 6.836  # Zipkin's DP optimum for Poisson(5), L = 4, p = 9, h = 1 (appliedrl.domains.inventory.optima)
EPOCH = re.compile(r"^epoch: (\d+)")
DEV = re.compile(r"^Average per-period dev loss: ([-+0-9.eE]+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="a checkout of Neural_inventory_control")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop the reference after this long")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to run it with")
    parser.add_argument("--log", type=Path, help="also write its timestamped output to this file")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    args = parser.parse_args()
    if not (args.reference / "main_run.py").is_file():
        parser.error(f"--reference {args.reference} holds no main_run.py; point it at a Neural_inventory_control "
                     "checkout")

    start = time.perf_counter()
    process = subprocess.Popen([args.python, "-u", "main_run.py", "train", "one_store_lost", "vanilla_one_store"],
                               cwd=args.reference, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    epoch_times: dict[int, float] = {}
    dev_costs: dict[int, float] = {}  # epoch -> dev cost, on the epochs the reference evaluates
    lines = []
    epoch = 0
    try:
        for line in process.stdout:
            now = time.perf_counter() - start
            lines.append(f"{now:9.3f} {line.rstrip()}")
            if match := EPOCH.match(line):
                epoch = int(match.group(1))
                epoch_times[epoch] = now
            elif (match := DEV.match(line)) and float(match.group(1)) > 0:  # it prints 0 between evaluations
                dev_costs[epoch] = float(match.group(1))
            if now > args.seconds:
                break
    finally:
        process.kill()
        process.wait()
    if args.log:
        args.log.write_text("\n".join(lines) + "\n")
    if len(epoch_times) < 3:
        sys.exit(f"the reference printed {len(epoch_times)} epochs in {args.seconds:.0f} s; its output ends:\n"
                 + "\n".join(lines[-20:]))

    epochs = sorted(epoch_times)
    per_epoch = (epoch_times[epochs[-1]] - epoch_times[epochs[0]]) / (epochs[-1] - epochs[0])
    startup = epoch_times[epochs[0]] - per_epoch  # the first epoch's line comes once that epoch is done
    result = {"implementation": "reference", "epochs": epochs[-1], "seconds_per_epoch": per_epoch,
              "startup_seconds": startup, "best_dev": min(dev_costs.values(), default=None), "optimal": OPTIMUM}
    for gap in (1.0, 0.5):
        hit = [e for e in sorted(dev_costs) if 100 * (dev_costs[e] / OPTIMUM - 1) <= gap]
        result[f"epochs_to_{gap}%"] = hit[0] if hit else None
        result[f"seconds_from_start_to_{gap}%"] = epoch_times[hit[0]] if hit else None
        result[f"seconds_to_{gap}%"] = epoch_times[hit[0]] - startup if hit else None
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
