#!/usr/bin/env bash
# A throwaway node for the systemd tests: a real systemd-journald and a real `systemd --user`
# manager, with the node's /etc, /opt, /run and /var/lib, none of them the host's.
#
#   unshare -m -C --propagation private bash node.sh KUBE_BOOTSTRAP_BINARY SCRATCH_DIR MAX_SECONDS
#
# Inside the private mount namespace it mounts tmpfs over /run, /opt and /var/lib, an overlay
# (upper layer on tmpfs) over /etc, and a fresh view of the cgroup2 hierarchy over
# /sys/fs/cgroup. The private cgroup namespace (-C) makes the caller's cgroup look like the
# root, wherever the caller runs: the root cgroup, /init.scope, a login session's scope or a CI
# runner's service. journald names a sender's unit from its cgroup path as it sees it, and
# from /init.scope/... it would record _SYSTEMD_UNIT=init.scope and no user unit.
# The manager runs in its own cgroup, SLICE/user@0.service, so that it never sees, let alone
# moves, any process but its own (a manager that finds itself in the root cgroup moves every
# process it sees into init.scope), and so that journald attributes entries to user units
# (_SYSTEMD_USER_UNIT) as on a real node. This script and journald wait in SLICE/node.scope.
#
# When the host cannot run a node (no cgroup2, no cgroup namespace, a read-only cgroup tree,
# no systemd), it says what is missing on stderr and exits 1 before printing "ready".
#
# Prints "ready PID" on stdout, then waits until stdin closes (or MAX_SECONDS pass) and tears
# everything down: the manager (which stops its units), any process left in its cgroup,
# journald, and the cgroups it created. Diagnostics go to stderr and SCRATCH_DIR/*.log.
set -euo pipefail

bin=$1
scratch=$2
max_seconds=$3

manager_pid=
journald_pid=
own_cgroup=
slice=
cgroot=

say() { echo "node.sh: $*" >&2; }

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 50 ms; fails after SECONDS.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      say "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.05
  done
}

# Whether PID is gone or a zombie.
exited() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [ "${stat%% *}" = Z ]
}

# stop PID SECONDS: SIGTERM, then SIGKILL after SECONDS; reaps it (it is our child).
stop() {
  local pid=$1 limit=$2
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$limit" "pid $pid to exit" exited "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 "pid $pid to die" exited "$pid" || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Processes left in the manager's cgroups.
strays() {
  [ -n "$slice" ] && [ -d "$cgroot$slice/user@0.service" ] || return 0
  find "$cgroot$slice/user@0.service" -name cgroup.procs -exec cat {} + 2>/dev/null
}

no_strays() { [ -z "$(strays)" ]; }

sweep() {
  local pid
  for pid in $(strays); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait_until 10 "the node's processes to die" no_strays || true
}

remove_cgroups() {
  [ -d "$cgroot$slice" ] || return 0
  find "$cgroot$slice" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [ ! -d "$cgroot$slice" ]
}

teardown() {
  local status=$?
  set +e
  trap - EXIT INT TERM HUP
  if [ -n "$manager_pid" ]; then
    # SIGTERM makes a user manager start exit.target: it stops its units, then exits.
    stop "$manager_pid" 15
  fi
  sweep
  if [ -n "$journald_pid" ]; then
    stop "$journald_pid" 5
  fi
  if [ -n "$slice" ]; then
    echo $$ >"$cgroot$own_cgroup/cgroup.procs" ||
      say "cannot move back to cgroup $own_cgroup"
    wait_until 10 "the node's cgroups to be removed" remove_cgroups ||
      say "left behind: cgroup $slice"
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM HUP

missing() {
  say "this host cannot run a systemd test node: $*"
  exit 1
}

libexec=/usr/lib/systemd
[ -x "$libexec/systemd" ] || libexec=/lib/systemd
for program in "$libexec/systemd" "$libexec/systemd-journald"; do
  [ -x "$program" ] || missing "no $program (install Debian's systemd package)"
done
command -v systemctl >/dev/null || missing "no systemctl (install Debian's systemd package)"
grep -qw cgroup2 /proc/filesystems || missing "the kernel has no cgroup2 filesystem"
[ -e /proc/self/ns/cgroup ] || missing "the kernel has no cgroup namespaces (needs Linux 4.6+)"
own_cgroup=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ "$own_cgroup" = / ] ||
  missing "not in a private cgroup namespace (cgroup '$own_cgroup'): start node.sh with 'unshare -m -C'"

# A fresh cgroup2 mount made inside the cgroup namespace shows the caller's cgroup as its root,
# on a unified host and on a hybrid one (cgroup2 at /sys/fs/cgroup/unified) alike. The manager
# then runs in pure cgroup2 mode and touches no v1 controller hierarchy.
mount -t cgroup2 cgroup2 /sys/fs/cgroup ||
  missing "cannot mount cgroup2 on /sys/fs/cgroup (needs root and a private mount namespace)"
cgroot=/sys/fs/cgroup
own_cgroup=
slice="/kube-bootstrap-it-$$.slice"
mkdir -p "$cgroot$slice/node.scope" "$cgroot$slice/user@0.service" ||
  missing "cannot create cgroups under the caller's cgroup (read-only cgroup tree, or not delegated to this user)"
echo $$ >"$cgroot$slice/node.scope/cgroup.procs" ||
  missing "cannot move a process into cgroup $slice/node.scope"

mkdir -p "$scratch/ns"
mount -t tmpfs -o mode=0700 tmpfs "$scratch/ns"
mkdir "$scratch/ns/upper" "$scratch/ns/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$scratch/ns/upper,workdir=$scratch/ns/work" /etc
for dir in /run /opt /var/lib; do
  mount -t tmpfs -o mode=0755 tmpfs "$dir"
done

mkdir -p /opt/bin
install -m 0755 "$bin" /opt/bin/kube-bootstrap
mkdir -p /run/systemd/system /run/systemd/journald.conf.d /run/log/journal /run/home
mkdir -p -m 0700 /run/user/0
mkdir -p /run/user/0/systemd/user
cat >/run/systemd/journald.conf.d/node.conf <<'EOF'
[Journal]
# Only /run/log/journal, never the host's /var/log/journal.
Storage=volatile
# Empty: leave the kernel's audit setting alone (the machine is shared).
Audit=
ReadKMsg=no
ForwardToSyslog=no
ForwardToWall=no
RateLimitBurst=0
EOF

export XDG_RUNTIME_DIR=/run/user/0 HOME=/run/home LANG=C.UTF-8
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

"$libexec/systemd-journald" </dev/null >>"$scratch/journald.log" 2>&1 &
journald_pid=$!
wait_until 10 "journald's socket" test -S /run/systemd/journal/socket

(
  echo "$BASHPID" >"$cgroot$slice/user@0.service/cgroup.procs" || exit 1
  exec "$libexec/systemd" --user --log-target=journal
) </dev/null >>"$scratch/manager.log" 2>&1 &
manager_pid=$!
manager_up() {
  exited "$manager_pid" && { say "the user manager exited"; exit 1; }
  case $(systemctl --user is-system-running 2>/dev/null) in
    running | degraded) return 0 ;;
    *) return 1 ;;
  esac
}
wait_until 30 "the user manager" manager_up

echo "ready $$"
deadline=$((SECONDS + max_seconds))
while ((SECONDS < deadline)); do
  status=0
  read -r -t 1 _ || status=$?
  # 1: end of input (the test is done with the node); >128: timeout, keep waiting.
  if ((status > 0 && status <= 128)); then
    break
  fi
done
