# Sourced by run.sh: the files a node boots with (its SEED, copied over / by node.sh).
#
# seed_node DIR NAME VERSION SUBNET  writes DIR/{etc,opt} for a node of release VERSION whose
# pods get addresses from SUBNET. Inside the node, the e2e cache is at /run/e2e/cache
# (read-only). A leader and a worker get the same files; which units start makes the role.
#
# Needs: bin (kube-bootstrap), repo, E2E_CACHE, E2E_CONTAINERD_BIN, E2E_ETCD, E2E_LAN_GW,
# E2E_MIRROR_URL, E2E_POD_SUBNET, E2E_CLUSTER_CIDR, work.

in_node() { echo "/run/e2e/cache${1#"$E2E_CACHE"}"; }

seed_node() {
  local dir=$1 name=$2 version=$3 subnet=$4 unit ctrd etcd
  ctrd=$(in_node "$E2E_CONTAINERD_BIN")
  # CAP_SYS_RESOURCE is bit 24 of the bounding set.
  E2E_RESTRICT_OOM=false
  (( (0x$(awk '/^CapBnd/ { print $2 }' /proc/self/status) >> 24) & 1 )) || E2E_RESTRICT_OOM=true
  etcd=$(in_node "$E2E_ETCD")
  mkdir -p "$dir/opt/bin" "$dir/etc/systemd/system" "$dir/etc/containerd" "$dir/etc/cni/net.d"
  install -m 0755 "$bin" "$dir/opt/bin/kube-bootstrap"

  # The project's units, exactly as shipped.
  for unit in "$repo"/systemd/*.service; do
    install -m 0644 "$unit" "$dir/etc/systemd/system/"
  done

  # What the node boots into: journald and D-Bus (the kubelet's and runc's systemd cgroup driver
  # talk to systemd over the system bus), nothing else; the test starts the rest.
  cat >"$dir/etc/systemd/system/kube-e2e.target" <<'EOF'
[Unit]
Description=kube-bootstrap e2e node
Wants=systemd-journald.socket systemd-journald.service dbus.socket dbus.service
AllowIsolate=yes
EOF

  # etcd as the OS runs it beside the apiserver (the units order after etcd.service), shaped
  # like Debian's etcd-server unit (ETCD_* variables, etcd itself with no flags), with the
  # project's TLS drop-in exactly as shipped: clients and peers over TLS only.
  cat >"$dir/etc/systemd/system/etcd.service" <<EOF
[Unit]
Description=etcd for the e2e leader

[Service]
Type=notify
Environment=ETCD_NAME=%H
Environment=ETCD_DATA_DIR=/var/lib/etcd
ExecStart=$etcd
Restart=always
RestartSec=2
EOF
  mkdir -p "$dir/etc/systemd/system/etcd.service.d"
  install -m 0644 "$repo/systemd/etcd.service.d/kube-bootstrap-tls.conf" "$dir/etc/systemd/system/etcd.service.d/"

  cat >"$dir/etc/systemd/system/containerd.service" <<EOF
[Unit]
Description=containerd for the e2e node

[Service]
Type=notify
Environment=PATH=$ctrd:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ExecStart=$ctrd/containerd --config /etc/containerd/config.toml
Delegate=yes
KillMode=process
Restart=always
RestartSec=2
LimitNOFILE=1048576
EOF

  cat >"$dir/etc/containerd/config.toml" <<EOF
version = 3
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$E2E_SANDBOX_IMAGE"

[plugins.'io.containerd.cri.v1.runtime']
  # Hosts (such as this workplace's) may withhold CAP_SYS_RESOURCE from everyone, root included:
  # no process can lower its oom_score_adj there, and runc fails to start a pod sandbox at the
  # -998 it asks for. Never below containerd's own score (0, as started).
  restrict_oom_score_adj = $E2E_RESTRICT_OOM
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "/etc/cni/net.d"
EOF

  cat >"$dir/etc/cni/net.d/10-e2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$subnet" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

  # The node's own files, as an operator writes them (the README's "Deploying the units").
  echo "LEADER_ENDPOINT=$E2E_LEADER_IP" >"$dir/etc/leader"
  node_env "$name" "$version" >"$dir/etc/kube-bootstrap.env"
  chmod 0600 "$dir/etc/kube-bootstrap.env"
}

# node_env NAME VERSION: the node's /etc/kube-bootstrap.env for VERSION: the test's settings,
# then the release's pins file as `mirror` wrote it (the README's upgrade: change KUBE_VERSION
# and the pins together).
node_env() {
  local name=$1 version=$2
  echo "# kube-bootstrap settings of the e2e node $name"
  echo "KUBE_MIRRORS=$E2E_MIRROR_URL"
  echo "KUBE_CLUSTER_CIDR=$E2E_CLUSTER_CIDR"
  # The node's /proc/sys shows the kubelet's values (node.sh): it checks, never writes.
  echo "KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS=true"
  # nf_conntrack_max is machine-wide: kube-proxy leaves it alone, as in kind's nodes.
  echo "KUBE_PROXY_CONNTRACK_MAX_PER_CORE=0"
  if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
    echo "# This host runs cgroup v1 controllers (hybrid): a 1.35+ kubelet starts only when told."
    echo "KUBE_KUBELET_FAIL_CGROUPV1=false"
  fi
  cat "$work/mirror/$version/pins-amd64.env"
  # The worker joins with the token and CA hash 'pki token' printed on the leader.
  if [ "$name" = worker ] && [ -f "$work/join.env" ]; then
    echo "# joining with a bootstrap token (kube-bootstrap pki token on the leader)"
    cat "$work/join.env"
  fi
}

# set_release NODE VERSION: rewrites the node's /etc/kube-bootstrap.env for VERSION.
set_release() {
  node_env "$1" "$2" | on "$1" sh -c 'umask 077 && cat >/etc/kube-bootstrap.env.new && mv /etc/kube-bootstrap.env.new /etc/kube-bootstrap.env'
}
