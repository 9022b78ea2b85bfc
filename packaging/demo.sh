#!/usr/bin/env bash
# The first run: builds kube-bootstrap and runs `fetch` then `exec` end to end in a sandbox,
# offline. A sample component is served from a file:// mirror laid out like dl.k8s.io; nothing
# on the host outside the sandbox directory is touched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
# The static binary the release ships, built the same way.
kb=$(bash "$here/packaging/build.sh" binary)

sandbox=${1:-$(mktemp -d -t kube-bootstrap-demo.XXXXXX)}
version=v1.36.4
arch=amd64
mirror_dir="$sandbox/srv/mirror/$version/bin/linux/$arch"
mkdir -p "$mirror_dir" "$sandbox/etc"

# A sample "kubelet": /bin/echo, a real x86-64 executable that prints the arguments it gets.
cp /bin/echo "$mirror_dir/kubelet"
(cd "$mirror_dir" && sha256sum kubelet > kubelet.sha256)

# The node's files: the leader's address, and what setup-network-environment would write. Both
# are loopback addresses, so that nothing run on this sandbox later (doctor probes the leader)
# connects anywhere but this machine.
echo "LEADER_ENDPOINT=127.0.0.1" > "$sandbox/etc/leader"
printf 'LO_IPV4=127.0.0.1\nDEFAULT_IPV4=127.0.0.1\n' > "$sandbox/etc/network-environment"
# Placeholders where a real node has kubeadm-style certificates (echo does not read them).
mkdir -p "$sandbox/etc/kubernetes/pki"
for f in ca.crt kubelet.crt kubelet.key; do echo "placeholder" > "$sandbox/etc/kubernetes/pki/$f"; done

cat > "$sandbox/etc/kube-bootstrap.env" <<CONF
KUBE_VERSION=$version
KUBE_ARCH=$arch
KUBE_MIRRORS=file:///srv/mirror
CONF

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "kube-bootstrap --root $sandbox fetch kubelet   (cold: download, verify, install)"
"$kb" --root "$sandbox" fetch kubelet

step "installed binary, record, environment file and kubeconfig"
ls -l "$sandbox/opt/bin/kubelet"
cat "$sandbox/var/lib/kube-bootstrap/opt-bin-kubelet.json"
cat "$sandbox/run/kube-bootstrap/kubelet.env"
cat "$sandbox/etc/kubernetes/kubelet.conf"

step "kube-bootstrap flags kubelet --explain   (what exec would run, and why)"
"$kb" --root "$sandbox" flags kubelet --explain

step "kube-bootstrap exec kubelet   (verifies the binary, then execs it: the sample prints its argv)"
"$kb" --root "$sandbox" exec kubelet

step "fetch again   (warm: the record and the file identity match, nothing is read from the mirror)"
"$kb" --root "$sandbox" fetch kubelet

step "a corrupted mirror copy is refused and the installed binary stays"
printf 'garbage' >> "$mirror_dir/kubelet"
rm "$sandbox/var/lib/kube-bootstrap/opt-bin-kubelet.json"
if "$kb" --root "$sandbox" fetch kubelet; then
  echo "unexpected: the corrupted artifact was accepted" >&2
  exit 1
fi
cmp /bin/echo "$sandbox/opt/bin/kubelet" && echo "previous kubelet untouched"

step "the mirror copy is repaired: fetch verifies and installs it again, and exec runs it"
# Without its record the installed file cannot be trusted (nothing says which bytes it should
# hold), so exec would refuse it until a fetch has verified a copy again.
cp /bin/echo "$mirror_dir/kubelet"
"$kb" --root "$sandbox" fetch kubelet
"$kb" --root "$sandbox" exec kubelet >/dev/null && echo "exec runs the verified kubelet again"

step "done; sandbox: $sandbox"
