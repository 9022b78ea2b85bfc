#!/usr/bin/env bash
# Builds the fully static binary that packaging/build.sh packages (the same cargo invocation, so
# CI compiles it once) and checks that it is static, runs, and resolves host names without
# glibc's NSS (it fetches from http://localhost:PORT served on loopback).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bin=$(bash packaging/build.sh binary)

ldd_out=$(ldd "$bin" 2>&1 || true)
case "$ldd_out" in
  *"statically linked"*|*"not a dynamic executable"*) echo "static: $ldd_out" ;;
  *) echo "not static: $ldd_out" >&2; exit 1 ;;
esac
"$bin" version

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
dir="$work/mirror/v1.36.4/bin/linux/amd64"
mkdir -p "$dir"
cp /bin/true "$dir/kubelet"
(cd "$dir" && sha256sum kubelet > kubelet.sha256)

port_file="$work/port"
python3 - "$work/mirror" "$port_file" <<'PY' &
import http.server, os, socketserver, sys
os.chdir(sys.argv[1])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
with socketserver.TCPServer(("127.0.0.1", 0), Quiet) as httpd:
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(httpd.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    httpd.serve_forever()
PY
server_pid=$!
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")

env -i PATH="$PATH" KUBE_ARCH=amd64 KUBE_ALLOW_HTTP=1 KUBE_FETCH_RETRIES=1 \
  KUBE_MIRRORS="http://localhost:$port" "$bin" --root "$work/root" fetch kubelet
cmp "$dir/kubelet" "$work/root/opt/bin/kubelet"
echo "static binary resolved localhost and installed a verified kubelet"
