#!/usr/bin/env bash
# Runs a command from a given cgroup2 cgroup, as a session, a CI runner or PID 1's own scope
# would start the test suite:
#
#   bash tests/systemd/in-cgroup.sh /init.scope cargo test --locked --test it systemd::
#   bash tests/systemd/in-cgroup.sh /user.slice/user-0.slice/session-ci.scope cargo test ...
#   bash tests/systemd/in-cgroup.sh /system.slice/ci-runner.service cargo test ...
#
# It creates the cgroup (and its parents) where missing, moves its own shell there, runs the
# command (which inherits the cgroup), then moves back to the cgroup it came from and removes
# the cgroups it created. CI runs the systemd tests this way, so that they are proven from
# wherever a host starts them, not only from the root cgroup.
set -euo pipefail

if [ $# -lt 2 ] || [ "${1#/}" = "$1" ]; then
  echo "usage: in-cgroup.sh /CGROUP COMMAND [ARGS...]" >&2
  exit 2
fi
target=${1%/}
shift

say() { echo "in-cgroup.sh: $*" >&2; }

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  v2=/sys/fs/cgroup
elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  v2=/sys/fs/cgroup/unified
else
  say "no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified: cannot place the test"
  exit 1
fi

origin=$(sed -n 's/^0:://p' /proc/self/cgroup)
origin=${origin%/}
# The cgroups below `target`'s first missing ancestor are ours to remove afterwards.
created=()
path=
IFS=/ read -ra parts <<<"${target#/}"
for part in "${parts[@]}"; do
  path="$path/$part"
  if [ ! -d "$v2$path" ]; then
    mkdir "$v2$path" || {
      say "cannot create cgroup $path under $v2 (read-only or not permitted)"
      exit 1
    }
    created+=("$path")
  fi
done

cleanup() {
  local status=$? i
  echo $$ >"$v2$origin/cgroup.procs" 2>/dev/null || say "cannot move back to cgroup ${origin:-/}"
  for ((i = ${#created[@]} - 1; i >= 0; i--)); do
    rmdir "$v2${created[i]}" 2>/dev/null || say "left behind: cgroup ${created[i]}"
  done
  exit "$status"
}
trap cleanup EXIT

echo $$ >"$v2$target/cgroup.procs" || {
  say "cannot move into cgroup $target"
  exit 1
}
say "running from cgroup $(sed -n 's/^0:://p' /proc/self/cgroup): $*"
# Not exec: the trap moves the shell back and removes the cgroups once the command is done.
"$@"
