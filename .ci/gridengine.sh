#!/usr/bin/env bash
# A real single-host Grid Engine (Debian's Son of Grid Engine 8.1.9) for fractale's tests.
#
#   .ci/gridengine.sh [start]   install (root, apt-get) and start sge_qmaster and sge_execd
#                               unless already healthy; the last line printed is SGE_ROOT
#                               (the cell is "default")
#   .ci/gridengine.sh stop      stop both daemons
#   .ci/gridengine.sh status    exit 0 when healthy, 1 otherwise
#
# Debian's packages create the cell but start no daemon and add no submit host, exec host or
# queue: this script does. This host's name resolves to 127.0.0.1, which qmaster refuses as
# "localhost" unless host_aliases says they are one host. Root may run jobs (min_uid and
# min_gid 0); the scheduler runs every second; queue all.q on this host has no load
# thresholds, starts scripts with their own #! line (unix_behavior) and offers the PEs "mpi"
# ($fill_up) and "smp" ($pe_slots); the complexes "gpu" (per-slot consumable) and
# "exclusive" (whole host) exist as sites define them. Mail goes nowhere. Running it again
# while healthy is a no-op.
set -euo pipefail

export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
COMMON=$SGE_ROOT/$SGE_CELL/common
SPOOL=/var/spool/gridengine
QMASTER_PID=$SPOOL/qmaster/qmaster.pid
STATE=/var/lib/fractale-gridengine
STAMP=$STATE/applied
START_TIMEOUT=${FRACTALE_GRIDENGINE_TIMEOUT:-60}
PACKAGES="gridengine-master gridengine-exec gridengine-client"

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

host() { hostname -s; }
# execd spools under the name it resolves for itself (here "localhost").
execd_pid() {
  local file
  for file in "$SPOOL"/execd/*/execd.pid; do
    live_pid "$file" sge_execd && return 0
  done
  return 1
}

show_logs() {
  local log
  for log in "$SPOOL/qmaster/messages" "$SPOOL"/execd/*/messages; do
    [ -r "$log" ] || continue
    echo "----- last lines of $log -----" >&2
    tail -n 15 "$log" >&2
  done
}

# The state letters of queue instance all.q on this host ("" when it takes jobs).
queue_state() {
  qstat -f -q "all.q@$(host)" 2>/dev/null | awk -v q="all.q@$(host)" '$1 == q { print $6 }'
}

healthy() {
  live_pid "$QMASTER_PID" sge_qmaster >/dev/null || return 1
  execd_pid >/dev/null || return 1
  qstat -f -q "all.q@$(host)" 2>/dev/null | grep -q "^all.q@$(host) " || return 1
  [ -z "$(queue_state)" ]
}

# ---------------------------------------------------------------- what is configured

render_pe() {
  cat <<EOF
pe_name            $1
slots              9999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    $2
control_slaves     TRUE
job_is_first_task  FALSE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
}

render_queue() {
  local slots
  slots=$(nproc)
  [ "$slots" -ge 2 ] || slots=2
  # Every attribute qconf -sq prints for a new queue, from its own template.
  qconf -sq | sed \
    -e "s/^qname .*/qname all.q/" \
    -e "s/^hostlist .*/hostlist $(host)/" \
    -e "s/^slots .*/slots $slots/" \
    -e "s/^load_thresholds .*/load_thresholds NONE/" \
    -e "s/^shell_start_mode .*/shell_start_mode unix_behavior/" \
    -e "s/^pe_list .*/pe_list mpi smp/"
}

# Complexes sites add: GPUs per slot, and whole hosts.
SITE_COMPLEXES='gpu                 gpu        INT       <=    YES         YES        0        0
exclusive           excl       BOOL      EXCL  YES         YES        0        1000'

# Everything configuration applies, as text: a change of any of it applies it again.
desired() {
  echo "host $(host)"
  render_pe mpi '$fill_up'
  render_pe smp '$pe_slots'
  echo "$SITE_COMPLEXES"
  echo "slots $(nproc)"
  # Any change to this script (to what configure does) applies it again.
  sha256sum <"$0"
}

# ---------------------------------------------------------------- installing and starting

check_dev_null() {
  [ -c /dev/null ] || die "/dev/null is not a character device on this machine: exim's setup \
(pulled in through mailx) fails on it and leaves the gridengine packages unconfigured; \
recreate it (rm /dev/null; mknod -m 666 /dev/null c 1 3) and run this again"
}

packages_configured() {
  local package
  for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || return 1
  done
  [ -r "$COMMON/bootstrap" ] && [ -r "$COMMON/act_qmaster" ]
}

ensure_packages() {
  packages_configured && return 0
  command -v apt-get >/dev/null || die "Grid Engine is not installed and apt-get is not available"
  say "installing $PACKAGES with apt-get"
  local owner question
  for owner in gridengine-common gridengine-client gridengine-master gridengine-exec; do
    for question in "shared/gridengineconfig boolean true" "shared/gridenginecell string default" \
      "shared/gridenginemaster string $(host)"; do
      echo "$owner $question"
    done
  done | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >&2 ||
    die "apt-get install $PACKAGES failed"
  packages_configured || die "the gridengine packages installed but are not configured \
(dpkg -l gridengine-\\*; is /dev/null a character device?)"
}

wait_for() {
  local what=$1 waited=0
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$waited" -ge "$START_TIMEOUT" ]; then
      show_logs
      die "$what after ${START_TIMEOUT}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

start_qmaster() {
  live_pid "$QMASTER_PID" sge_qmaster >/dev/null && return 0
  # The host name resolves to 127.0.0.1, which qmaster would otherwise call "localhost".
  echo "$(host) localhost" >"$COMMON/host_aliases"
  /usr/sbin/sge_qmaster 9>&- || {
    show_logs
    die "sge_qmaster did not start"
  }
  wait_for "sge_qmaster does not answer" qconf -sh
}

start_execd() {
  execd_pid >/dev/null && return 0
  /usr/sbin/sge_execd 9>&- || {
    show_logs
    die "sge_execd did not start"
  }
}

# The cluster configuration execd reads when it starts: root may run jobs, mail goes nowhere.
configure_global() {
  local dir
  dir=$(mktemp -d)
  qconf -ss 2>/dev/null | grep -qx "$(host)" || qconf -as "$(host)" >&2
  # qconf -Mconf takes the configuration's name from the file's: it must be "global".
  qconf -sconf global | sed -e 's/^min_uid .*/min_uid 0/' -e 's/^min_gid .*/min_gid 0/' \
    -e 's|^mailer .*|mailer /bin/true|' >"$dir/global"
  qconf -Mconf "$dir/global" >&2
  rm -rf "$dir"
}

# Scheduler, complexes, PEs and the queue; each qconf -M/-A call is idempotent.
configure() {
  local dir
  dir=$(mktemp -d)
  qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' >"$dir/sched"
  qconf -Msconf "$dir/sched" >&2
  if [ "$(qconf -sc | grep -E '^(gpu|exclusive) ')" != "$SITE_COMPLEXES" ]; then
    qconf -sc | grep -v -E '^(gpu|exclusive) ' >"$dir/complexes"
    echo "$SITE_COMPLEXES" >>"$dir/complexes"
    qconf -Mc "$dir/complexes" >&2
  fi
  render_pe mpi '$fill_up' >"$dir/mpi"
  render_pe smp '$pe_slots' >"$dir/smp"
  for pe in mpi smp; do
    if qconf -sp "$pe" >/dev/null 2>&1; then qconf -Mp "$dir/$pe" >&2; else qconf -Ap "$dir/$pe" >&2; fi
  done
  render_queue >"$dir/all.q"
  if qconf -sq all.q >/dev/null 2>&1; then qconf -Mq "$dir/all.q" >&2; else qconf -Aq "$dir/all.q" >&2; fi
  # -rattr sets the list whole (-mattr would only change an entry already there).
  qconf -rattr queue pe_list "mpi smp" all.q >&2
  rm -rf "$dir"
}

up_to_date() {
  command -v qconf >/dev/null && healthy && [ "$(desired)" = "$(cat "$STAMP" 2>/dev/null)" ]
}

start() {
  local began=$SECONDS
  [ -n "$(host)" ] || die "hostname -s printed nothing"
  if up_to_date; then
    say "already running and healthy"
    echo "$SGE_ROOT"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "Grid Engine is not running healthy and starting it needs root"
  take_lock "$STATE" 300
  if up_to_date; then
    say "already running and healthy"
    echo "$SGE_ROOT"
    return 0
  fi
  check_dev_null
  ensure_packages
  say "starting Grid Engine (SGE_ROOT=$SGE_ROOT, cell $SGE_CELL)"
  start_qmaster
  configure_global
  # The exec host registers itself when its execd first reports.
  start_execd
  wait_for "the exec host $(host) did not register" sh -c "qconf -sel | grep -qx '$(host)'"
  configure
  wait_for "queue all.q@$(host) does not take jobs (state '$(queue_state)')" healthy
  desired >"$STAMP"
  say "ready after $((SECONDS - began))s"
  echo "$SGE_ROOT"
}

stop() {
  local pid
  [ "$(id -u)" = 0 ] || die "stopping Grid Engine needs root"
  take_lock "$STATE" 300
  if pid=$(execd_pid); then stop_process "$pid" sge_execd; fi
  if pid=$(live_pid "$QMASTER_PID" sge_qmaster); then stop_process "$pid" sge_qmaster; fi
  rm -f "$STAMP"
  say "stopped"
}

status() {
  if command -v qstat >/dev/null && healthy; then
    say "healthy (queue all.q@$(host) takes jobs)"
    return 0
  fi
  say "not running or not healthy"
  return 1
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0" ;;
  *)
    say "unknown argument '$1' (expected start, stop or status)"
    exit 2
    ;;
esac
