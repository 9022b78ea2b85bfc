# Sourced by the e2e scripts: messages, bounded waits, phase timing.

say() { echo "e2e: $*" >&2; }

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every E2E_POLL seconds (default 1); fails
# after SECONDS.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      say "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep "${E2E_POLL:-1}"
  done
}

# Whether PID is gone or a zombie.
exited() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [ "${stat%% *}" = Z ]
}

# phase NAME: closes the previous phase (printing its time) and opens NAME. `phase` alone closes.
_phase=
_phase_started=0
phase() {
  if [ -n "$_phase" ]; then
    say "phase $_phase: $((SECONDS - _phase_started)) s"
  fi
  _phase=${1:-}
  _phase_started=$SECONDS
  [ -z "$_phase" ] || say "phase $_phase ..."
}
