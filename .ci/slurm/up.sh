#!/usr/bin/env bash
# Start a throwaway single-node Slurm for CI: munge + slurmctld + slurmd on localhost,
# with 2 fake GPUs. Idempotent: daemons already running (per their pid files) are left alone.
# Env: SLURM_CI_DIR (state/log/pid folder, default /var/tmp/balenas-slurm),
#      SLURM_CI_WAIT (seconds to wait for the node to become idle, default 60),
#      SLURM_CI_MEM_MB (declared node memory, default 65536: may exceed the real memory thanks
#        to SlurmdParameters=config_overrides and is not enforced, so that realistic per-rule
#        mem_mb requests are accepted; CPUs stay the real count).
set -euo pipefail

CI_DIR=${SLURM_CI_DIR:-/var/tmp/balenas-slurm}
WAIT=${SLURM_CI_WAIT:-60}
CONF=/etc/slurm/slurm.conf   # must be here: the plugin's job step drops SLURM_CONF
MARK="# written by balenas .ci/slurm/up.sh"
MUNGE_PID=/run/munge/munged.pid
t0=$(date +%s.%N)

log() { echo "[slurm-up] $*"; }
die() { echo "[slurm-up] ERROR: $*" >&2; exit 1; }
alive() { # alive PIDFILE NAME: the pid file names a live process called NAME
  local pid
  [[ -s $1 ]] && pid=$(<"$1") && [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$2" ]] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"
}

[[ $(id -u) == 0 ]] || die "must run as root"

# 1. Packages (Debian 12: slurm 22.05, munge 0.5.15). Their scripts create users and key only.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v sinfo >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# 2. Config. Refuse to overwrite a slurm.conf that this script did not write.
if [[ -e $CONF ]] && ! grep -qxF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script; not touching a real cluster"
fi
mkdir -p /etc/slurm "$CI_DIR"/{ctld,spool,log}
ncpu=$(nproc)
mem_mb=${SLURM_CI_MEM_MB:-65536}
new_conf=$(cat <<CONF_EOF
$MARK
ClusterName=balenas-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
SlurmdParameters=config_overrides
# keep finished jobs visible to squeue/scontrol: there is no slurmdbd, hence no sacct
MinJobAge=600
GresTypes=gpu
StateSaveLocation=$CI_DIR/ctld
SlurmdSpoolDir=$CI_DIR/spool
SlurmctldPidFile=$CI_DIR/slurmctld.pid
SlurmdPidFile=$CI_DIR/slurmd.pid
SlurmctldLogFile=$CI_DIR/log/slurmctld.log
SlurmdLogFile=$CI_DIR/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=$mem_mb Gres=gpu:2 State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF_EOF
)
# fake GPUs: one existing character device each (regular files leave CUDA_VISIBLE_DEVICES empty)
new_gres=$'AutoDetect=off\nNodeName=localhost Name=gpu File=/dev/null,/dev/zero'
changed=0
[[ -e $CONF && $(<"$CONF") == "$new_conf" ]] || { printf '%s\n' "$new_conf" >"$CONF"; changed=1; }
[[ -e /etc/slurm/gres.conf && $(</etc/slurm/gres.conf) == "$new_gres" ]] ||
  { printf '%s\n' "$new_gres" >/etc/slurm/gres.conf; changed=1; }
((changed)) && log "wrote $CONF and /etc/slurm/gres.conf (CPUs=$ncpu RealMemory=${mem_mb}MB gpu:2)"

# 3. munge
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  log "creating /etc/munge/munge.key"
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
fi
if alive "$MUNGE_PID" munged; then
  log "munged already running (pid $(<"$MUNGE_PID"))"
else
  runuser -u munge -- /usr/sbin/munged
  log "started munged"
fi
for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
munge -n </dev/null >/dev/null || die "munge does not answer; see /var/log/munge/munged.log"

# 4. slurmctld, then slurmd
if alive "$CI_DIR/slurmctld.pid" slurmctld; then
  log "slurmctld already running (pid $(<"$CI_DIR/slurmctld.pid"))"
  ((changed)) && { log "config changed: reconfiguring (some settings need down.sh + up.sh)"; scontrol reconfigure; }
else
  rm -f "$CI_DIR/slurmctld.pid"; slurmctld -i
  log "started slurmctld"
fi
if alive "$CI_DIR/slurmd.pid" slurmd; then
  log "slurmd already running (pid $(<"$CI_DIR/slurmd.pid"))"
else
  rm -f "$CI_DIR/slurmd.pid"; slurmd -N localhost
  log "started slurmd"
fi

# 5. Wait until slurmd has registered (-r: responding) and the node is idle.
# A daemon counts as dead when its pid file names no live process, or is still missing after 10 s.
dead() { if [[ -s $CI_DIR/$1.pid ]]; then alive "$CI_DIR/$1.pid" "$1" && return 1; return 0; fi; ((SECONDS - start > 10)); }
start=$SECONDS; deadline=$((SECONDS + WAIT)); state=
while ((SECONDS < deadline)); do
  for d in slurmctld slurmd; do dead $d && { state="dead: $d"; break 2; }; done
  state=$(sinfo -h -r -n localhost -o %T 2>/dev/null || true)
  case $state in idle | mixed | allocated) break ;; esac
  sleep 0.2
done
case $state in
  idle | mixed | allocated) ;;
  *) scontrol show node localhost >&2 || true
     tail -n 20 "$CI_DIR"/log/slurm{ctld,d}.log >&2 || true
     die "node state is '${state:-unknown}' (waited up to ${WAIT}s)" ;;
esac
log "node localhost is $state ($(sinfo -h -o '%c CPUs, %G')); up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
