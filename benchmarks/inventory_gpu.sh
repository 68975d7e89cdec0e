#!/usr/bin/env bash
# HDPO on one GPU side by side with the reference implementation, in one sitting (about 8 minutes):
# the CUDA-only tests, then the speed benchmark (lost sales, L = 4, p = 9, the reference's sizes) for ours with
# CUDA graphs (seeds 0-2) and eager (seed 0), then the reference, unmodified, for REF_SECONDS.
#
#   bash benchmarks/inventory_gpu.sh PATH/TO/Neural_inventory_control [RESULTS_DIR]
#
# Needs torch with CUDA, gymnasium, pandas, pyyaml, rich, scipy and torch-geometric importable (not appliedrl itself:
# the checkout is linked in when it is not installed); where gymnasium is missing, pip-install its wheel first.
# Each step writes RESULTS_DIR/<step>.json, all output goes to RESULTS_DIR/log.txt (the reference's own, timestamped,
# to RESULTS_DIR/reference.log); a step that fails does not stop the others.
set -u
reference=${1:?usage: bash benchmarks/inventory_gpu.sh PATH/TO/Neural_inventory_control [RESULTS_DIR]}
results=${2:-runs/inventory-gpu}
ref_seconds=${REF_SECONDS:-270}
python=${PYTHON:-python3}
tuned=(--set learning_rate=0.01 --set max_grad_norm=1)  # the tuned CPU settings (docs/benchmarks.md)
mkdir -p "$results"
repo=$PWD
elsewhere=$(mktemp -d)  # pytest runs from here: in the checkout, its appliedrl/ folder would shadow the package
if ! (cd "$elsewhere" && "$python" -c "import appliedrl" 2>/dev/null); then  # not installed: link this checkout
    mkdir "$elsewhere/appliedrl" && ln -s "$repo"/appliedrl/*.py "$elsewhere/appliedrl/"
    for part in envs agents domains data; do ln -s "$repo/$part" "$elsewhere/appliedrl/$part"; done
    export PYTHONPATH="$elsewhere${PYTHONPATH:+:$PYTHONPATH}"
fi
log="$results/log.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$log"

(cd "$elsewhere" && "$python" -m pytest -q -p no:warnings -p no:cacheprovider "$repo/tests/test_inventory.py" -k cuda) \
    2>&1 | tee -a "$log"
for seed in 0 1 2; do
    "$python" benchmarks/inventory_speed.py --device cuda --minutes 0.5 --cuda-graph "${tuned[@]}" --seed $seed \
        --json "$results/ours-graph-seed$seed.json" 2>&1 | tee -a "$log"
done
"$python" benchmarks/inventory_speed.py --device cuda --minutes 0.75 "${tuned[@]}" \
    --json "$results/ours-eager.json" 2>&1 | tee -a "$log"
"$python" benchmarks/inventory_reference_speed.py --reference "$reference" --seconds "$ref_seconds" \
    --python "$python" --log "$results/reference.log" --json "$results/reference.json" 2>&1 | tee -a "$log"
