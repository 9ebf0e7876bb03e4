# Helpers .ci/slurm.sh and .ci/gridengine.sh share (sourced, not run): their messages, the
# checks on the daemons they start, stopping them, and the lock that serializes starts.

SCRIPT=${0##*/}

say() { echo "$SCRIPT: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# True while PID runs (a zombie has finished).
running() {
  local state
  state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# The pid in FILE when that process is alive and runs COMMAND, else nothing.
live_pid() {
  local file=$1 command=$2 pid
  [ -r "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$command" ] &&
    running "$pid" || return 1
  echo "$pid"
}

# Stops PID (running COMMAND), waiting up to 15 s before SIGKILL.
stop_process() {
  local pid=$1 command=$2 i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 30); do
    running "$pid" || return 0
    sleep 0.5
  done
  say "$command (pid $pid) ignored SIGTERM; killing it"
  kill -9 "$pid" 2>/dev/null || true
}

# Takes DIR/lock, waiting up to SECONDS: test sessions running side by side may all call
# start. Daemons started under it are given "9>&-", or they would hold the lock for life.
take_lock() {
  local dir=$1 seconds=$2
  install -d -m 755 "$dir"
  exec 9>"$dir/lock"
  flock -w "$seconds" 9 || die "another .ci/$SCRIPT still holds $dir/lock after ${seconds}s"
}
