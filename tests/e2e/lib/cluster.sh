# Sourced by run.sh and down.sh: the test network, nodes, the mirror host, and their teardown.
#
# The network: a "lan" namespace holding a bridge (the switch) and the mirror host's address,
# and one namespace per node with a veth into the bridge. Nothing is routed out of the lan: the
# host's own namespace gets no link, address or rule.
#
# State lives in $work/state.env, so down.sh can tear a kept cluster down from another shell.

E2E_LAN_NET=10.213.0
E2E_LAN_GW=$E2E_LAN_NET.1
E2E_LEADER_IP=$E2E_LAN_NET.10
E2E_WORKER_IP=$E2E_LAN_NET.11
E2E_MIRROR_URL=http://$E2E_LAN_GW:8088
E2E_CLUSTER_CIDR=10.244.0.0/16
# Each node's pods, routed between the nodes by the test (no overlay network).
E2E_LEADER_PODS=10.244.0.0/24
E2E_WORKER_PODS=10.244.1.0/24

state_set() { echo "$1=${2@Q}" >>"$work/state.env"; }

net_up() {
  # The first `ip netns add` on a machine bind-mounts /run/netns over itself, for good: the
  # teardown takes that mount (and the directory) away again when this run made them.
  mountpoint -q /run/netns || state_set E2E_RUN_NETNS_MOUNTED_BY_US 1
  [ -d /run/netns ] || state_set E2E_RUN_NETNS_MADE_BY_US 1
  ip netns add "$id-lan"
  state_set E2E_NETNS_LAN "$id-lan"
  ip -n "$id-lan" link set lo up
  ip -n "$id-lan" link add br0 type bridge
  ip -n "$id-lan" addr add "$E2E_LAN_GW/24" dev br0
  ip -n "$id-lan" link set br0 up
}

# net_node NAME IP: the node's namespace, its eth0 on the lan, a default route to the lan.
net_node() {
  local name=$1 ip=$2 ns=$id-$1
  ip netns add "$ns"
  state_set "E2E_NETNS_$(tr a-z- A-Z_ <<<"$name")" "$ns"
  ip -n "$ns" link set lo up
  ip -n "$id-lan" link add "v-$name" type veth peer name eth0 netns "$ns"
  ip -n "$id-lan" link set "v-$name" master br0 up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$E2E_LAN_GW"
}

# mirror_up DIR: the mirror host, serving DIR over http on the lan.
mirror_up() {
  setsid ip netns exec "$id-lan" python3 -m http.server --bind "$E2E_LAN_GW" 8088 --directory "$1" \
    </dev/null >>"$work/mirror.log" 2>&1 &
  mirror_pid=$!
  state_set mirror_pid "$mirror_pid"
  wait_until 20 "the mirror on $E2E_MIRROR_URL" ip netns exec "$id-lan" \
    python3 -c "import urllib.request; urllib.request.urlopen('$E2E_MIRROR_URL/', timeout=2)"
}

mirror_down() {
  [ -n "${mirror_pid:-}" ] || return 0
  kill -TERM "$mirror_pid" 2>/dev/null || true
  wait_until 10 "the mirror to stop" exited "$mirror_pid" || kill -KILL "$mirror_pid" 2>/dev/null || true
  mirror_pid=
  state_set mirror_pid ""
}

# node_start NAME: boots the node from $work/NAME/seed; sets node_pid_NAME (the node's PID 1).
node_start() {
  local name=$1 ns=$id-$1 launcher pid=
  : >"$work/$name/console.log"
  cg_create "kube-bootstrap-e2e-$id-$name"
  cg_dirs "kube-bootstrap-e2e-$id-$name" >"$work/$name/cgroups"
  state_set "E2E_CGROUP_$(tr a-z- A-Z_ <<<"$name")" "$(cat "$work/$name/cgroups")"
  # nsenter, not `ip netns exec`: that remounts /sys for the namespace and hides the host's
  # cgroup mounts, which node.sh reproduces. node.sh moves itself into the node's cgroups.
  setsid nsenter --net="/run/netns/$ns" unshare -m -u -p -f --mount-proc --propagation private \
    bash "$here/node.sh" "$name" "$work/$name/seed" "$E2E_CACHE" "$work/$name/console.log" \
    "$work/$name/cgroups" </dev/null >>"$work/$name/node.log" 2>&1 &
  launcher=$!
  # The node's PID 1: unshare's child, the launcher's child in another PID namespace.
  wait_until 20 "node $name's PID 1" node_init "$launcher" || return 1
  pid=$(node_init "$launcher")
  eval "node_pid_${name//-/_}=$pid"
  state_set "E2E_PID_$(tr a-z- A-Z_ <<<"$name")" "$pid"
  wait_until 60 "node $name's systemd" node_booted "$name" || {
    tail -n 20 "$work/$name/node.log" "$work/$name/console.log" >&2
    return 1
  }
}

node_init() {
  local child
  for child in $(pgrep -P "$1"); do
    if [ "$(readlink "/proc/$child/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
      echo "$child"
      return 0
    fi
  done
  return 1
}

# node_runtime NAME: the node's container runtime, with the test's images imported (no registry).
node_runtime() {
  local image
  on "$1" systemctl start containerd.service
  for image in $E2E_IMAGE_ARCHIVES; do
    on "$1" "$(in_node "$E2E_CONTAINERD_BIN")/ctr" -n k8s.io images import "$(in_node "$image")" >/dev/null
  done
}

node_pid() { local v="node_pid_${1//-/_}"; echo "${!v}"; }

# on NODE COMMAND...: runs COMMAND inside the node (its mounts, network, PIDs, cgroups), with a
# clean environment as a login on the node would have.
on() {
  local name=$1
  shift
  nsenter -t "$(node_pid "$name")" -m -u -n -p -C -- \
    env -i PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 HOME=/root "$@"
}

node_booted() {
  case $(on "$1" systemctl is-system-running 2>/dev/null) in
    running | degraded) return 0 ;;
    *) return 1 ;;
  esac
}

# node_stop PID: powers the node's systemd off (SIGRTMIN+4), then kills its PID namespace.
node_stop() {
  local pid=$1
  exited "$pid" && return 0
  kill -s RTMIN+4 "$pid" 2>/dev/null || true
  if ! wait_until 90 "node PID $pid to power off" exited "$pid"; then
    # Killing a PID namespace's init kills every process in it.
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 20 "node PID $pid to die" exited "$pid" || true
  fi
}

# teardown_all: everything state.env names, in reverse; says what it could not remove.
teardown_all() {
  local left=0 var
  # shellcheck disable=SC1091
  . "$work/state.env"
  mirror_down
  for var in $(compgen -v E2E_PID_); do node_stop "${!var}"; done
  for var in $(compgen -v E2E_CGROUP_); do cg_remove "${!var}" || left=1; done
  for var in $(compgen -v E2E_NETNS_); do
    [ "$var" = E2E_NETNS_LAN ] && continue
    ip netns del "${!var}" 2>/dev/null || true
  done
  [ -z "${E2E_NETNS_LAN:-}" ] || ip netns del "$E2E_NETNS_LAN" 2>/dev/null || true
  for var in $(compgen -v E2E_NETNS_); do
    if ip netns list | grep -qw "${!var}"; then
      say "left behind: network namespace ${!var}"
      left=1
    fi
  done
  # Only when no namespace is left in it (another program's included).
  if [ -n "${E2E_RUN_NETNS_MOUNTED_BY_US:-}" ] && mountpoint -q /run/netns && [ -z "$(ls -A /run/netns)" ]; then
    umount /run/netns || { say "left behind: the mount of /run/netns"; left=1; }
  fi
  if [ -n "${E2E_RUN_NETNS_MADE_BY_US:-}" ] && [ -d /run/netns ] && ! mountpoint -q /run/netns; then
    rmdir /run/netns 2>/dev/null || true
  fi
  return "$left"
}
