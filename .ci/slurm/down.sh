#!/usr/bin/env bash
# Stop the CI Slurm started by up.sh: cancel its jobs, then stop slurmd, slurmctld, munged
# by the PIDs in their pid files (never by name). Safe to run when nothing is running.
# Env: SLURM_CI_DIR (as for up.sh).
set -euo pipefail

CI_DIR=${SLURM_CI_DIR:-/var/tmp/balenas-slurm}
log() { echo "[slurm-down] $*"; }
running() { [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }  # zombies count as gone

stop() { # stop NAME PIDFILE
  local name=$1 pidfile=$2 pid
  if [[ ! -s $pidfile ]]; then log "$name: no pid file"; return 0; fi
  pid=$(<"$pidfile")
  if [[ ! -r /proc/$pid/comm || $(</proc/"$pid"/comm) != "$name" ]]; then
    log "$name: pid $pid from $pidfile is not running"; rm -f "$pidfile"; return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then log "$name: still alive after 10 s, SIGKILL"; kill -KILL "$pid" || true; fi
  rm -f "$pidfile"
  log "$name (pid $pid) stopped"
}

# Jobs first, so no slurmstepd outlives the cluster (the whole cluster is ours).
if [[ -s $CI_DIR/slurmctld.pid ]] && mapfile -t jobs < <(squeue -h -o %i 2>/dev/null) && ((${#jobs[@]})); then
  log "cancelling jobs: ${jobs[*]}"
  scancel "${jobs[@]}" || true
  for _ in $(seq 50); do [[ -z $(squeue -h -t R,CG -o %i 2>/dev/null) ]] && break; sleep 0.2; done
fi
stop slurmd "$CI_DIR/slurmd.pid"
stop slurmctld "$CI_DIR/slurmctld.pid"
stop munged /run/munge/munged.pid

# Report any live daemon left (zombies, gone but not yet reaped by init, do not count).
left=$(ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^(slurmctld|slurmd|slurmstepd|munged)$/')
if [[ -n $left ]]; then log "ERROR: still running:"; echo "$left" >&2; exit 1; fi
log "no slurmctld/slurmd/slurmstepd/munged left"
