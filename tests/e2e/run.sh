#!/usr/bin/env bash
# The one-node end-to-end test on real Kubernetes: official components built from their Go
# modules, brought up on a leader node by the project's own units under a real systemd, in
# namespaces of the test's own. See the README's "Proven on a real cluster".
#
#   bash tests/e2e/run.sh
#
# KUBE_E2E_VERSIONS   control-plane releases to run, space-separated (default: one current release)
# KUBE_E2E_NODES      2 (default): a leader and a worker that joins it; 1: the leader alone
# KUBE_E2E_OLD_VERSION, KUBE_E2E_NEW_VERSION   the two-node run's older worker release and the
#                     control plane's upgrade (default v1.34.12 and v1.37.2)
# KUBE_E2E_CACHE      where built binaries and images live (default /var/cache/kube-bootstrap-e2e)
# KUBE_E2E_KEEP=1     leave the cluster running; writes WORKDIR/cluster.env, torn down by
#                     `bash tests/e2e/down.sh WORKDIR`
# KUBE_E2E_BENCH_OUT  append the bring-up's bench rows (markdown) to this file (bench/run.sh)
# KUBE_BOOTSTRAP_SKIP_E2E=1   skip it, saying so
#
# Last line: "e2e: N/M checks hold"; exit status 0 only when all hold.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/e2e/lib/common.sh
. "$here/lib/common.sh"

if [ "${KUBE_BOOTSTRAP_SKIP_E2E:-}" = 1 ]; then
  say "skipped (KUBE_BOOTSTRAP_SKIP_E2E=1)"
  exit 0
fi

default_version=v1.36.5
versions=${KUBE_E2E_VERSIONS:-$default_version}
keep=${KUBE_E2E_KEEP:-}
# Two nodes by default (a leader and a worker that joins it); 1 for the leader alone.
nodes=${KUBE_E2E_NODES:-2}
# The two-node run's worker starts on E2E_OLD under the control plane's release, and the
# control plane is upgraded to E2E_NEW at the end.
E2E_OLD=${KUBE_E2E_OLD_VERSION:-v1.34.12}
E2E_NEW=${KUBE_E2E_NEW_VERSION:-v1.37.2}
case $nodes in 1 | 2) ;; *)
  say "KUBE_E2E_NODES='$nodes': expected 1 (the leader alone) or 2 (a leader and a worker)"
  exit 2
  ;;
esac

# --- what the host must offer ------------------------------------------------------------------
missing=()
[ "$(id -u)" = 0 ] || missing+=("root (namespaces, mounts, cgroups)")
for tool in unshare nsenter ip iptables iptables-save python3 cargo gcc sha256sum; do
  command -v "$tool" >/dev/null || missing+=("the command '$tool'")
done
libexec=/usr/lib/systemd
[ -x "$libexec/systemd" ] || libexec=/lib/systemd
[ -x "$libexec/systemd" ] || missing+=("systemd (Debian's systemd package)")
command -v dbus-daemon >/dev/null || missing+=("dbus-daemon (Debian's dbus package)")
[ -x /usr/sbin/runc ] || missing+=("runc at /usr/sbin/runc (Debian's runc package)")
[ -x /usr/lib/cni/bridge ] || missing+=("CNI plugins in /usr/lib/cni (Debian's containernetworking-plugins)")
[ -x /bin/busybox ] || missing+=("/bin/busybox (Debian's busybox-static)")
grep -qw overlay /proc/filesystems || missing+=("overlayfs in the kernel")
grep -qw cgroup2 /proc/filesystems || missing+=("cgroup2 in the kernel")
[ -e /proc/self/ns/cgroup ] || missing+=("cgroup namespaces (Linux 4.6+)")
[ -c /dev/net/tun ] || missing+=("/dev/net/tun")
[ -c /dev/kmsg ] || missing+=("/dev/kmsg (the kubelet reads it)")
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] && [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ]; then
  missing+=("a cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified")
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "this host cannot run the e2e test; missing:"
  printf '    %s\n' "${missing[@]}" >&2
  say "(KUBE_BOOTSTRAP_SKIP_E2E=1 skips it)"
  exit 1
fi

# shellcheck source=tests/e2e/lib/go.sh
. "$here/lib/go.sh"
# shellcheck source=tests/e2e/lib/host.sh
. "$here/lib/host.sh"
# shellcheck source=tests/e2e/lib/cgroups.sh
. "$here/lib/cgroups.sh"
# shellcheck source=tests/e2e/lib/seed.sh
. "$here/lib/seed.sh"
# shellcheck source=tests/e2e/lib/cluster.sh
. "$here/lib/cluster.sh"
# shellcheck source=tests/e2e/lib/leader.sh
. "$here/lib/leader.sh"
# shellcheck source=tests/e2e/lib/worker.sh
. "$here/lib/worker.sh"
# shellcheck source=tests/e2e/lib/past.sh
. "$here/lib/past.sh"

minor() { cut -d. -f2 <<<"$1"; }
if [ "$nodes" = 2 ]; then
  for version in $versions; do
    if (($(minor "$version") <= $(minor "$E2E_OLD") || $(minor "$version") >= $(minor "$E2E_NEW"))); then
      say "KUBE_E2E_VERSIONS: $version is no control plane for the two-node run, whose worker starts on"
      say "$E2E_OLD and whose control plane is upgraded to $E2E_NEW: expected a minor between them"
      say "(or KUBE_E2E_NODES=1, or KUBE_E2E_OLD_VERSION / KUBE_E2E_NEW_VERSION)"
      exit 2
    fi
  done
fi

# --- build (cached) -----------------------------------------------------------------------------
phase build
(cd "$repo" && cargo build --release --locked --quiet)
bin=$repo/target/release/kube-bootstrap
builds=$versions
[ "$nodes" = 1 ] || builds="$builds $E2E_OLD $E2E_NEW"
for version in $(tr ' ' '\n' <<<"$builds" | sort -u); do
  bash "$here/build-kubernetes.sh" "$version"
done
# The older releases' controller-manager and scheduler only (lib/past.sh).
for spec in "${E2E_PAST_RELEASES[@]}"; do
  # shellcheck disable=SC2086 # a release, then its binaries
  bash "$here/build-kubernetes.sh" $spec
done
bash "$here/build-deps.sh" >/dev/null
eval "$(bash "$here/build-deps.sh" --print)"
phase images
bash "$here/build-images.sh" >/dev/null
eval "$(bash "$here/build-images.sh" --print)"
E2E_SANDBOX_IMAGE=$E2E_PAUSE_IMAGE
E2E_TEST_IMAGE=$E2E_BUSYBOX_IMAGE
E2E_IMAGE_ARCHIVES="$E2E_PAUSE_ARCHIVE $E2E_BUSYBOX_ARCHIVE"
phase

held=0
total=0
# check NAME COMMAND...: one numbered check; its output goes to the run's log.
check() {
  local what=$1
  shift
  total=$((total + 1))
  echo "== check: $what" >>"$work/checks.log"
  if "$@" >>"$work/checks.log" 2>&1; then
    held=$((held + 1))
    say "ok    $what"
  else
    say "FAIL  $what"
    sed -n '/^== check: /h; /^== check: /!H; ${x; p}' "$work/checks.log" | tail -n 25 | sed 's/^/    | /' >&2
    [ -z "${live:-}" ] || debug_dump
  fi
}

live=
on_exit() {
  local status=$?
  trap - EXIT INT TERM HUP
  set +e
  finish_cluster
  echo "e2e: $held/$total checks hold"
  if [ "$status" = 0 ] && { [ "$held" != "$total" ] || [ "$total" = 0 ]; }; then status=1; fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

for version in $versions; do
  run_cluster "$version"
  finish_cluster
  if [ -n "$keep" ]; then break; fi
done
