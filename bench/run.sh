#!/usr/bin/env bash
# Benchmarks kube-bootstrap's fetch and exec against curl, wget, sha256sum and direct exec, in
# one run, each set of commands interleaved. Writes bench/RESULTS.md.
#
#   bash bench/run.sh            # full run (a few minutes)
#   bash bench/run.sh --smoke    # one iteration of everything, small artifacts (CI)
#   KUBE_BENCH_E2E=0 bash bench/run.sh   # without the real leader node (tests/e2e)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wget >/dev/null || need+=(wget)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The static binary the release ships, built the same way.
kb=$(bash "$here/packaging/build.sh" binary)

work=$(mktemp -d -t kb-bench.XXXXXX)
chmod 755 "$work"  # nginx workers run as an unprivileged user
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/www" "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
  }
}
CONF
/usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
  [ -f "$work/www/index.html" ] || echo ok > "$work/www/index.html"
  sleep 0.05
done

python3 "$here/bench/bench.py" --kb "$kb" --work "$work" --mirror "http://127.0.0.1:$port" \
  --www "$work/www" --smoke "$smoke" --results "$here/bench/RESULTS.md"

# A real leader node (tests/e2e): from `systemctl start` of the five units to the node being
# Ready, split into kube-bootstrap's part and the components' own start, in the same run.
# Skipped by --smoke (CI runs the e2e test itself) and by KUBE_BENCH_E2E=0.
if [ "$smoke" = 0 ] && [ "${KUBE_BENCH_E2E:-1}" != 0 ]; then
  KUBE_E2E_NODES=1 KUBE_E2E_BENCH_OUT=$work/e2e.md bash "$here/tests/e2e/run.sh" >&2
  {
    echo
    echo "## A real leader node (tests/e2e/run.sh)"
    echo
    echo "The official components built from Kubernetes' Go modules, started by the project's units"
    echo "under a real systemd in the e2e test's namespaces; the binaries are fetched from a mirror"
    echo "on the test's network (plain http with every checksum pinned). One bring-up; ratios are"
    echo "shares of the whole."
    echo
    echo "| Scenario | Span | Time | Share |"
    echo "| --- | --- | ---: | ---: |"
    cat "$work/e2e.md"
  } >>"$here/bench/RESULTS.md"
fi
