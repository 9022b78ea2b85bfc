# Sourced by run.sh and down.sh: a cgroup of the node's own in every hierarchy of the host.
#
# A node's systemd and kubelet must never see the host's cgroups (a manager that finds itself
# in the root cgroup moves every process on the machine into init.scope). Each node runs in
# NAME (kube-bootstrap-e2e-...) behind a private cgroup namespace, which makes NAME its root.
#
# Where NAME goes: on a v1 controller hierarchy, below the caller's own cgroup there (so limits
# the caller is under still apply). On the cgroup2 hierarchy of a unified host, below the root:
# the node needs controllers enabled in its parent, and cgroup2 enables controllers only in a
# cgroup without processes of its own, which the caller's cgroup is not; the root is exempt.
# On a hybrid host the cgroup2 hierarchy carries no controllers, so the caller's cgroup does.

# cg_dirs NAME: one "MOUNTPOINT/PATH/NAME" per hierarchy.
cg_dirs() {
  local name=$1 point type options path hierarchy unified=
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && unified=1
  while read -r point type options; do
    if [ "$type" = cgroup2 ]; then
      if [ -n "$unified" ]; then path=; else path=$(sed -n 's/^0:://p' /proc/self/cgroup); fi
    else
      hierarchy=$(tr , '\n' <<<"$options" | grep -vE '^(rw|ro|relatime|nosuid|nodev|noexec)$' | paste -sd,)
      path=$(awk -F: -v h="$hierarchy" '$2 == h { print $3 }' /proc/self/cgroup)
    fi
    path=${path%/}
    echo "$point$path/$name"
  done < <(awk '$9 == "cgroup" || $9 == "cgroup2" { print $5, $9, $NF }' /proc/self/mountinfo)
}

# cg_create NAME: creates NAME in every hierarchy.
cg_create() {
  local dir parent
  while read -r dir; do
    mkdir -p "$dir"
    parent=${dir%/*}
    # A v1 cpuset admits no process before it has CPUs and memory nodes.
    if [ -f "$dir/cpuset.cpus" ] && [ -z "$(cat "$dir/cpuset.cpus")" ]; then
      cat "$parent/cpuset.cpus" >"$dir/cpuset.cpus"
      cat "$parent/cpuset.mems" >"$dir/cpuset.mems"
    fi
    # cgroup2: hand the node every controller its parent has.
    if [ -f "$dir/cgroup.subtree_control" ] && [ -f "$parent/cgroup.subtree_control" ]; then
      local c
      for c in $(cat "$parent/cgroup.controllers"); do
        grep -qw "$c" "$parent/cgroup.subtree_control" || echo "+$c" >"$parent/cgroup.subtree_control" 2>/dev/null || true
      done
    fi
  done < <(cg_dirs "$1")
}

# cg_remove DIRS: kills what is left in each of DIRS (cg_dirs' lines) and removes it, deepest
# first. Takes the directories, not the name: down.sh may run from another cgroup than run.sh.
cg_remove() {
  local dir pid left=0 tries
  while read -r dir; do
    [ -n "$dir" ] || continue
    [ -d "$dir" ] || continue
    for tries in 1 2 3 4 5 6 7 8 9 10; do
      for pid in $(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null || true
      done
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$dir" ] || break
      sleep 1
    done
    if [ -d "$dir" ]; then
      say "left behind: cgroup $dir"
      left=1
    fi
  done <<<"$1"
  return "$left"
}
