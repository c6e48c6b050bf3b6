#!/usr/bin/env bash
# CI proof on a real Slurm: bring up a single-node cluster with 2 fake GPUs (up.sh), run the tiny
# pipeline through `--executor slurm` with profiles/slurm and the workflow profile
# (run_pipeline.sh: fails if a job of a GPU rule was submitted without a GPU request), check the
# final outputs, and stop the daemons by PID on exit whatever happened (down.sh).
#   .ci/slurm/ci.sh            (as root; about 2-4 minutes on 2 cores)
# Env: SLURM_CI_WORKDIR (default: a fresh folder under /var/tmp, removed on success),
#      TIMEOUT (s for the Snakemake run, default 1200), GPU_RULES (see run_pipeline.sh).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/.ci/slurm
WORK=${SLURM_CI_WORKDIR:-$(mktemp -d /var/tmp/balenas-slurm-run.XXXXXX)}
mkdir -p "$WORK"
log() { echo "[slurm-ci] $*"; }

finish() {
  local rc=$?
  bash "$HERE/down.sh" || rc=1
  if ((rc)); then
    log "FAILED (exit $rc); job logs:"
    find "$WORK/.snakemake/slurm_logs" -name '*.log' 2>/dev/null | sort | while read -r f; do
      echo "--- $f"; tail -n 30 "$f"; done
    find "$WORK/logs" -name '*.log' 2>/dev/null | sort | while read -r f; do
      echo "--- $f"; tail -n 15 "$f"; done
    log "work folder kept: $WORK"
  elif [[ -z ${SLURM_CI_WORKDIR:-} ]]; then
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap finish EXIT

bash "$HERE/up.sh"

# The tiny pipeline: the embedded default (merged first) shrunk to one epoch on 128 digits, one seed,
# one search order, K=4 samples scored by one proxy (score_proxies is a GPU rule). device:
# auto makes the GPU rules request a GPU (config device: cpu requests none); the fake GPUs have no CUDA
# behind them, so the jobs fall back to the CPU.
cat >"$WORK/ci.yaml" <<'EOF'
device: auto
threads: 1
experiments:
  - {space: nb201, dataset: digits, method: darts, orders: [1], seeds: [0]}
  - {space: nb201, dataset: digits, method: balenas, orders: [1], seeds: [0]}
space_settings:
  nb201:
    supernet: {channels: 4, cells_per_stage: 1}
    network: {channels: 4, cells_per_stage: 1}
search:
  epochs: 1
  batch_size: 32
selection:
  ks: [4]
  proxies: [synflow]
  zero_cost_seeds: [0]
  batch_size: 32
report:
  table1:
    tf: {order: 1, proxy: synflow, k: 4}
    zero_cost: {proxy: synflow, k: 4}
data:
  digits:
    source: digits
    input_size: 8
    max_examples: 128
    crop_padding: 1
    flip: false
EOF
# Benchmark lookups (Table 1, Table 2) when the ground truth is beside the checkout, as in CI.
truth=$REPO/../shared/data/nb201/nb201_groundtruth.csv
if [[ -f $truth ]]; then printf 'benchmarks:\n  nb201: %s\n' "$(readlink -f "$truth")" >>"$WORK/ci.yaml"; fi
log "config: $(tr '\n' ' ' <"$WORK/ci.yaml")"

TIMEOUT=${TIMEOUT:-1200} bash "$HERE/run_pipeline.sh" "$WORK" \
  -s "$REPO/workflow/Snakefile" --configfile "$WORK/ci.yaml"

# The run completed: a dry run with the same config finds nothing left to do (no output missing or stale).
dry=$("${SNAKEMAKE:-$REPO/.venv/bin/snakemake}" -n -s "$REPO/workflow/Snakefile" -d "$WORK" \
  --configfile "$WORK/ci.yaml" 2>&1) || { echo "$dry" | tail -n 30; exit 1; }
grep -q 'Nothing to be done' <<<"$dry" || { log "ERROR: the run left work undone:"; echo "$dry" | tail -n 40; exit 1; }
log "all outputs present: $(find "$WORK/results" -type f | wc -l) files under results/"
log "GPU requests of the submitted jobs (TresPerJob=gres:gpu:1 is sbatch --gpus=1):"
grep -E '^\[run-pipeline\] job [0-9]+ ' "$WORK/.snakemake/ci-slurm/run.log" | sed 's/^/  /'
grep -qE 'rule=retrain state=\S+ gpu_request=\S*gpu' "$WORK/.snakemake/ci-slurm/run.log" \
  || { log "ERROR: no retrain job was submitted with a GPU request"; exit 1; }
log "OK"
