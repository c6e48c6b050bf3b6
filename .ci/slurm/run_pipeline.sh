#!/usr/bin/env bash
# Run a Snakemake workflow through the CI Slurm cluster (start it first with up.sh), then
# unlock, cancel leftover jobs, and check that every job of a GPU rule asked Slurm for a GPU.
#   .ci/slurm/run_pipeline.sh WORKDIR [SNAKEMAKE_ARG ...]   (targets, -s SNAKEFILE, --config ...)
# Env: TIMEOUT (s, default 3600), GPU_RULES (default "search score_proxies proxy_correlation";
#      rules whose jobs Snakemake gives a gpu resource are checked too), PROFILE (default
#      profiles/slurm of this repo), SNAKEMAKE (default the repo's .venv/bin/snakemake),
#      MAX_THREADS (default: CPUs of the largest node), STATUS_SECONDS (default 5),
#      LOG (default WORKDIR/.snakemake/ci-slurm/run.log).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
(($#)) || { echo "usage: $0 WORKDIR [SNAKEMAKE_ARG ...]" >&2; exit 2; }
WORKDIR=$(cd "$1" && pwd); shift
TIMEOUT=${TIMEOUT:-3600}
GPU_RULES=${GPU_RULES:-search score_proxies proxy_correlation}
PROFILE=${PROFILE:-$REPO/profiles/slurm}
SNAKEMAKE=${SNAKEMAKE:-$REPO/.venv/bin/snakemake}
LOG=${LOG:-$WORKDIR/.snakemake/ci-slurm/run.log}
log() { echo "[run-pipeline] $*" | tee -a "$LOG"; }

sinfo -h -o %T >/dev/null 2>&1 || { echo "[run-pipeline] ERROR: no Slurm controller; run up.sh first" >&2; exit 1; }
MAX_THREADS=${MAX_THREADS:-$(sinfo -h -o %c | sort -n | tail -n 1)}
mkdir -p "$(dirname "$LOG")"; : >"$LOG"
cd "$WORKDIR"

# Record every job while the run goes on (one file per job id, overwritten: bounded size),
# so the GPU check does not depend on MinJobAge.
cap=$(mktemp -d); poller=
cleanup() { [[ -n $poller ]] && kill "$poller" 2>/dev/null; rm -rf "$cap"; }
trap cleanup EXIT
snap() { scontrol -o show job 2>/dev/null | while read -r l; do
  [[ $l == JobId=* ]] && { id=${l#JobId=}; printf '%s\n' "$l" >"$cap/${id%% *}"; }; done; }
(while :; do snap; sleep 5; done) & poller=$!

log "snakemake in $WORKDIR, profile $PROFILE, timeout ${TIMEOUT}s, max threads $MAX_THREADS"
t0=$SECONDS; rc=0
timeout -k 30 "$TIMEOUT" "$SNAKEMAKE" --profile "$PROFILE" \
  --slurm-status-command squeue --slurm-init-seconds-before-status-checks "${STATUS_SECONDS:-5}" \
  --slurm-keep-successful-logs --max-threads "$MAX_THREADS" "$@" 2>&1 | tee -a "$LOG" || rc=$?
log "snakemake exit code $rc after $((SECONDS - t0)) s"
((rc == 124 || rc == 137)) && log "ERROR: timed out after ${TIMEOUT}s"

"$SNAKEMAKE" --unlock "$@" >/dev/null 2>&1 || log "warning: snakemake --unlock failed"
run_id=$(grep -oPm1 'SLURM run ID: \K\S+' "$LOG" || true)
if [[ -n $run_id ]]; then
  left=$(squeue -h --name="$run_id" -o %i | tr '\n' ' ')
  [[ -n ${left// /} ]] && { log "cancelling leftover jobs: $left"; scancel --name="$run_id" || true; }
fi
kill "$poller" 2>/dev/null || true; poller=; snap

# GPU check. Snakemake prints each job's resources; jobs with gpu/gres gpu add their rule.
gpu_rules=" $GPU_RULES $(awk '/^ *(localrule|rule) /{r=$2; sub(/:$/,"",r)}
  /^ +resources:/ && /(^|[ ,])(gpu=[1-9]|gres=[^,]*gpu)/ {print r}' "$LOG") "
gpu_rules=" $(tr ' ' '\n' <<<"$gpu_rules" | sed '/^$/d' | sort -u | tr '\n' ' ')"
submitted=$(grep -oP 'submitted with SLURM jobid \K[0-9]+' "$LOG" | sort -un || true)
log "GPU rules:$gpu_rules| Slurm jobs submitted: $(wc -w <<<"$submitted") (TresPerJob=gres:gpu:N is sbatch --gpus=N, TresPerNode --gres=gpu:N)"
bad=0
for id in $submitted; do
  line=$(cat "$cap/$id" 2>/dev/null || true)
  if [[ -z $line ]]; then log "job $id: ERROR not seen by scontrol"; bad=1; continue; fi
  # a group job's comment is rule_<group>_<its rules, joined by _>: it needs a GPU if one of them does
  rule=$(grep -oP 'Comment=rule_\K\S+' <<<"$line" || true); rule=${rule%%_wildcards_*}
  needs_gpu=0
  for r in $gpu_rules; do [[ _${rule}_ == *_${r}_* ]] && needs_gpu=1; done
  gpu=$(grep -oP '\b(TresPer(Job|Node|Task|Socket)|Gres)=\S*gpu\S*' <<<"$line" | paste -sd' ' || true)
  state=$(grep -oP 'JobState=\K\S+' <<<"$line" || true)
  other=$(grep -oP '\b(NumCPUs|TimeLimit|MinMemoryNode)=\S+' <<<"$line" | paste -sd' ' || true)
  msg="job $id rule=${rule:-?} state=$state gpu_request=${gpu:-none} $other"
  if ((needs_gpu)) && [[ -z $gpu ]]; then msg+="  <-- ERROR: GPU rule without GPU request"; bad=1; fi
  log "$msg"
done
((bad)) && { log "FAILED: GPU request check"; exit 1; }
((rc)) && { log "FAILED: snakemake exit code $rc"; exit "$rc"; }
log "OK"
