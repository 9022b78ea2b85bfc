# Sourced by run.sh and down.sh: what the test must leave as it found it, and the comparison.
#
# host_snapshot DIR   writes one file per fact into DIR
# host_compare BEFORE AFTER   prints each difference; fails when there is one

# The machine-wide kernel settings a kubelet or kube-proxy may write (see node.sh).
host_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.netfilter.nf_conntrack_max
  net.ipv4.ip_forward)

# Programs a node runs: none may outlive the test.
host_programs='^(containerd|containerd-shim.*|runc|kubelet|kube-apiserver|kube-controller|kube-scheduler|kube-proxy|etcd|pause|systemd-journal)$'

host_snapshot() {
  local dir=$1 key
  mkdir -p "$dir"
  cat /proc/1/cgroup >"$dir/pid1-cgroup"
  # Mount points, sources and types of the host's mount namespace (PID 1's).
  awk '{ print $5, $(NF-2), $(NF-1) }' /proc/1/mountinfo | sort >"$dir/mounts"
  ip netns list 2>/dev/null | awk '{ print $1 }' | sort >"$dir/netns"
  ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort >"$dir/links"
  { iptables-save 2>/dev/null || true; } | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]//' >"$dir/iptables"
  { ip6tables-save 2>/dev/null || true; } | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]//' >"$dir/ip6tables"
  if command -v nft >/dev/null; then nft list ruleset >"$dir/nft" 2>&1 || true; else : >"$dir/nft"; fi
  for key in "${host_sysctls[@]}"; do
    echo "$key=$(sysctl -n "$key" 2>/dev/null || echo absent)"
  done >"$dir/sysctls"
  ps -e -o comm= | grep -E "$host_programs" | sort | uniq -c >"$dir/programs" || true
  # Cgroups at the top of each hierarchy (the test's own live one level down, then are removed).
  find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | grep -v '/kube-bootstrap-e2e-' | sort >"$dir/cgroups" || true
}

host_compare() {
  local before=$1 after=$2 fact differs=0
  for fact in pid1-cgroup mounts netns links iptables ip6tables nft sysctls programs cgroups; do
    if ! diff -q "$before/$fact" "$after/$fact" >/dev/null 2>&1; then
      differs=1
      say "the host's $fact differ from before the test:"
      diff "$before/$fact" "$after/$fact" | sed 's/^/    /' | head -20 >&2
    fi
  done
  return "$differs"
}
