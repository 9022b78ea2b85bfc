#!/usr/bin/env bash
# The first run: builds kube-bootstrap and runs `fetch` end to end in a sandbox, offline.
# A sample component is served from a file:// mirror laid out like dl.k8s.io; nothing on the
# host outside the sandbox directory is touched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
cargo build --release --locked --quiet
kb="$here/target/release/kube-bootstrap"

sandbox=${1:-$(mktemp -d -t kube-bootstrap-demo.XXXXXX)}
version=v1.36.4
arch=amd64
mirror_dir="$sandbox/srv/mirror/$version/bin/linux/$arch"
mkdir -p "$mirror_dir" "$sandbox/etc"

# A sample "kubelet": any real x86-64 executable passes the ELF check.
cp /bin/true "$mirror_dir/kubelet"
(cd "$mirror_dir" && sha256sum kubelet > kubelet.sha256)

cat > "$sandbox/etc/kube-bootstrap.env" <<CONF
KUBE_VERSION=$version
KUBE_ARCH=$arch
KUBE_MIRRORS=file:///srv/mirror
CONF

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "kube-bootstrap --root $sandbox fetch kubelet   (cold: download, verify, install)"
"$kb" --root "$sandbox" fetch kubelet

step "installed binary, record and environment file"
ls -l "$sandbox/opt/bin/kubelet"
cat "$sandbox/var/lib/kube-bootstrap/kubelet.json"
cat "$sandbox/run/kube-bootstrap/kubelet.env"

step "fetch again   (warm: the record and the file identity match, nothing is read from the mirror)"
"$kb" --root "$sandbox" fetch kubelet

step "a corrupted mirror copy is refused and the installed binary stays"
printf 'garbage' >> "$mirror_dir/kubelet"
rm "$sandbox/var/lib/kube-bootstrap/kubelet.json"
if "$kb" --root "$sandbox" fetch kubelet; then
  echo "unexpected: the corrupted artifact was accepted" >&2
  exit 1
fi
cmp /bin/true "$sandbox/opt/bin/kubelet" && echo "previous kubelet untouched"

step "done; sandbox: $sandbox"
