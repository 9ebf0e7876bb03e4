#!/usr/bin/env bash
# A real single-node Slurm for fractale's tests and CI, run from a private directory.
#
#   .ci/slurm.sh [start]      start munged, slurmctld and slurmd unless already healthy;
#                             the last line printed is the SLURM_CONF path clients need
#   .ci/slurm.sh stop         stop every daemon this script (or slurmctld for it) started
#   .ci/slurm.sh status       exit 0 when healthy, 1 otherwise
#   .ci/slurm.sh --print-conf print the SLURM_CONF path and nothing else
#
# Debian's slurm-wlm and munge are installed with apt-get when missing (root only).
# Partition "debug" (the default) holds this host's node, with the CPUs and memory
# `slurmd -C` reports, and three powered-down cloud nodes of the same shape, future[1-3]:
# Slurm counts them when it judges a job (`sbatch --test-only` accepts a 2-node job) but
# prefers the real node, and `scontrol show node` lists them only while powered up. Should
# a job be placed on one, slurmctld powers it up by starting one more slurmd on this host
# under that node's name, and powers it down again after half a minute idle, so the job still
# runs here. Starting takes a few seconds; running it again while healthy is a no-op.
set -euo pipefail

ROOT=/var/lib/fractale-slurm
CONF_DIR=$ROOT/etc
CONF=$CONF_DIR/slurm.conf
BIN_DIR=$ROOT/bin
LOG_DIR=$ROOT/log
RUN_DIR=$ROOT/run
STATE_DIR=$ROOT/state
SPOOL_DIR=$ROOT/spool
MUNGE_DIR=$ROOT/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket
MUNGE_PID=$MUNGE_DIR/munged.pid
MUNGE_LOG=$MUNGE_DIR/munged.log
MUNGE_KEY=/etc/munge/munge.key
CTLD_PID=$RUN_DIR/slurmctld.pid
CTLD_LOG=$LOG_DIR/slurmctld.log
# Ports away from Slurm's defaults so that a site Slurm on the same host is left alone.
CTLD_PORT=17817
SLURMD_PORT=17818
CLOUD_NODES=3
START_TIMEOUT=${FRACTALE_SLURM_TIMEOUT:-60}

export SLURM_CONF=$CONF

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

slurmd_pid_file() { echo "$RUN_DIR/slurmd-$1.pid"; }
slurmd_log() { echo "$LOG_DIR/slurmd-$1.log"; }

show_logs() {
  local log
  for log in "$MUNGE_LOG" "$CTLD_LOG" "$(slurmd_log "$1")"; do
    [ -r "$log" ] || continue
    echo "----- last lines of $log -----" >&2
    tail -n 25 "$log" >&2
  done
}

# This host's shape (CPUs=… RealMemory=…) as slurmd itself detects it.
node_shape() {
  local detected
  detected=$(slurmd -C 2>/dev/null | head -n 1) || return 1
  case $detected in NodeName=*" CPUs="*) ;; *) return 1 ;; esac
  echo "${detected#NodeName=* }"
}

render_conf() {
  local host=$1 shape=$2 i
  cat <<EOF
# Written by fractale's .ci/slurm.sh; rewritten whenever it starts Slurm.
ClusterName=fractale
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR/slurmd-%n
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$RUN_DIR/slurmd-%n.pid
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$LOG_DIR/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
# Finished jobs stay visible to scontrol for an hour (there is no slurmdbd for sacct).
MinJobAge=3600
InactiveLimit=0
KillWait=5
Waittime=0
# Cloud nodes are reached by address, not through slurmd's forwarding tree.
TreeWidth=65533
ResumeProgram=$BIN_DIR/power-up
SuspendProgram=$BIN_DIR/power-down
ResumeTimeout=60
SuspendTimeout=5
SuspendTime=30
SuspendExcNodes=$host
NodeName=$host NodeAddr=127.0.0.1 $shape State=UNKNOWN Weight=1
NodeName=DEFAULT $shape State=CLOUD Weight=100
EOF
  for i in $(seq 1 "$CLOUD_NODES"); do
    echo "NodeName=future$i NodeHostname=future$i NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + i))"
  done
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
}

# The programs slurmctld runs to power cloud nodes up (power-up) and down (power-down).
# It runs them with a minimal PATH, hence the absolute paths.
render_power_program() {
  local scontrol
  scontrol=$(command -v scontrol)
  case $1 in
    power-up)
      cat <<EOF
#!/bin/sh
# ResumeProgram: slurmctld passes the nodes to power up; each gets its own slurmd here.
# slurmctld counts a node as up once its slurmd reports a boot later than the request:
# -b makes slurmd report its own start as the boot. It must not inherit slurmctld's
# descriptors, or it would listen on one of them.
export SLURM_CONF=$CONF
exec </dev/null >>"$LOG_DIR/power.log" 2>&1
for node in \$("$scontrol" show hostnames "\$1"); do
  "$(command -v slurmd)" -b -N "\$node"
done
EOF
      ;;
    power-down)
      cat <<EOF
#!/bin/sh
# SuspendProgram: slurmctld passes the idle nodes to power down; their slurmd stops.
export SLURM_CONF=$CONF
for node in \$("$scontrol" show hostnames "\$1"); do
  pid=\$(cat "$RUN_DIR/slurmd-\$node.pid" 2>/dev/null) || continue
  [ "\$(cat "/proc/\$pid/comm" 2>/dev/null)" = slurmd ] && kill "\$pid"
done
exit 0
EOF
      ;;
  esac
}

write_power_programs() {
  local program
  for program in power-up power-down; do
    render_power_program "$program" >"$BIN_DIR/$program"
    chmod 755 "$BIN_DIR/$program"
  done
}

munge_ok() {
  munge -n --socket="$MUNGE_SOCKET" 2>/dev/null | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1
}

# The state of a node as scontrol reports it (IDLE, MIXED, DOWN+NOT_RESPONDING…).
node_state() {
  scontrol show node "$1" --oneliner 2>/dev/null | sed -n 's/.* State=\([^ ]*\).*/\1/p'
}

# Healthy: munged and slurmctld answer, and this host's node has registered and takes jobs.
healthy() {
  local host=$1 state
  live_pid "$MUNGE_PID" munged >/dev/null || return 1
  munge_ok || return 1
  live_pid "$CTLD_PID" slurmctld >/dev/null || return 1
  live_pid "$(slurmd_pid_file "$host")" slurmd >/dev/null || return 1
  scontrol ping 2>/dev/null | grep -q 'is UP' || return 1
  state=$(node_state "$host")
  case $state in
    "" | *DOWN* | *DRAIN* | *FAIL* | *NOT_RESPONDING* | *UNKNOWN* | *FUTURE* | *POWER*) return 1 ;;
  esac
}

ensure_packages() {
  local tool missing=""
  for tool in slurmctld slurmd munged munge sbatch scontrol; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
  done
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null || die "missing:$missing, and apt-get is not available to install slurm-wlm and munge"
  say "missing:$missing; installing slurm-wlm and munge with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge >&2 || die "apt-get install slurm-wlm munge failed"
}

# Pids of the COMMAND processes serving this Slurm: their command line or environment names
# its private files. Pid files alone miss daemons whose start was interrupted.
our_pids() {
  local command=$1 dir pid
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$(cat "$dir/comm" 2>/dev/null)" = "$command" ] || continue
    if tr '\0' '\n' 2>/dev/null <"$dir/cmdline" | grep -qF -e "$CONF" -e "$MUNGE_SOCKET" ||
      tr '\0' '\n' 2>/dev/null <"$dir/environ" | grep -qxF "SLURM_CONF=$CONF"; then
      running "$pid" && echo "$pid"
    fi
  done
}

stop_all() {
  local command pid
  # slurmctld first, so that it does not power cloud nodes up again meanwhile.
  for command in slurmctld slurmd munged; do
    for pid in $(our_pids "$command"); do
      stop_process "$pid" "$command"
    done
  done
  rm -f "$CTLD_PID" "$RUN_DIR"/slurmd-*.pid "$MUNGE_PID"
}

start_munge() {
  if [ ! -s "$MUNGE_KEY" ]; then
    say "creating the munge key $MUNGE_KEY"
    install -d -o munge -g munge -m 700 "$(dirname "$MUNGE_KEY")"
    mungekey --create --keyfile="$MUNGE_KEY" --force >&2 ||
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
  fi
  chown munge:munge "$MUNGE_KEY"
  chmod 400 "$MUNGE_KEY"
  install -d -o munge -g munge -m 755 "$MUNGE_DIR"
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  # munged refuses to run as root; it runs as its own user, as its service unit would.
  runuser -u munge -- munged --socket="$MUNGE_SOCKET" --pid-file="$MUNGE_PID" \
    --log-file="$MUNGE_LOG" --seed-file="$MUNGE_DIR/munged.seed" 9>&- || {
    show_logs none
    die "munged did not start"
  }
  local i
  for i in $(seq 1 20); do
    munge_ok && return 0
    sleep 0.5
  done
  show_logs none
  die "munged started but does not answer on $MUNGE_SOCKET"
}

# True when Slurm runs healthy with exactly the configuration this host calls for.
up_to_date() {
  local host=$1 shape
  command -v slurmd >/dev/null && [ -r "$CONF" ] && healthy "$host" || return 1
  shape=$(node_shape) || return 1
  [ "$(render_conf "$host" "$shape")" = "$(cat "$CONF")" ] || return 1
  local program
  for program in power-up power-down; do
    [ "$(render_power_program "$program")" = "$(cat "$BIN_DIR/$program" 2>/dev/null)" ] || return 1
  done
}

start() {
  local host shape i missing=""
  host=$(hostname -s)
  [ -n "$host" ] || die "hostname -s printed nothing"
  if up_to_date "$host"; then
    say "already running and healthy"
    echo "$CONF"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    for i in slurmctld slurmd munged; do
      command -v "$i" >/dev/null || missing="$missing $i"
    done
    die "Slurm is not running and starting it needs root${missing:+ (also missing:$missing)}"
  fi
  take_lock "$ROOT" 180
  # Another start may have finished while this one waited for the lock.
  if up_to_date "$host"; then
    say "already running and healthy"
    echo "$CONF"
    return 0
  fi
  ensure_packages
  say "starting Slurm from $ROOT"
  stop_all
  shape=$(node_shape) || die "slurmd -C could not describe this host"

  install -d -m 755 "$ROOT" "$CONF_DIR" "$BIN_DIR" "$LOG_DIR" "$RUN_DIR" "$SPOOL_DIR"
  install -d -m 700 "$STATE_DIR"
  for i in $(seq 1 "$CLOUD_NODES"); do
    install -d -m 755 "$SPOOL_DIR/slurmd-future$i"
  done
  install -d -m 755 "$SPOOL_DIR/slurmd-$host"
  render_conf "$host" "$shape" >"$CONF.tmp"
  chmod 644 "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
  write_power_programs
  # Nodes start from the configuration, not from a saved state: this host's node then
  # counts as ready only once its slurmd has registered, and the cloud nodes powered down.
  rm -f "$STATE_DIR"/node_state "$STATE_DIR"/node_state.old

  start_munge
  slurmctld -f "$CONF" 9>&- || {
    show_logs "$host"
    die "slurmctld did not start"
  }
  slurmd -f "$CONF" -N "$host" 9>&- || {
    show_logs "$host"
    die "slurmd did not start"
  }

  local waited=0
  until healthy "$host"; do
    if [ "$waited" -ge "$START_TIMEOUT" ]; then
      say "node $host is '$(node_state "$host")' after ${START_TIMEOUT}s"
      show_logs "$host"
      die "Slurm did not become ready within ${START_TIMEOUT}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "ready after ${waited}s (node $host is $(node_state "$host"))"
  echo "$CONF"
}

status() {
  local host
  host=$(hostname -s)
  if [ -r "$CONF" ] && command -v scontrol >/dev/null && healthy "$host"; then
    say "healthy (node $host is $(node_state "$host"))"
    return 0
  fi
  say "not running or not healthy"
  return 1
}

case ${1:-start} in
  start) start ;;
  stop)
    [ "$(id -u)" = 0 ] || die "stopping Slurm needs root"
    take_lock "$ROOT" 180
    stop_all
    say "stopped"
    ;;
  status) status ;;
  --print-conf) echo "$CONF" ;;
  -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0" ;;
  *)
    say "unknown argument '$1' (expected start, stop, status or --print-conf)"
    exit 2
    ;;
esac
