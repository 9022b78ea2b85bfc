#!/usr/bin/env bash
# Builds the upstream programs a node of the e2e test runs besides Kubernetes itself, from their
# Go modules, into the e2e cache:
#
#   $KUBE_E2E_CACHE/deps/containerd-X.Y.Z/bin/{containerd,containerd-shim-runc-v2,ctr}
#   $KUBE_E2E_CACHE/deps/etcd-X.Y.Z/bin/{etcd,etcdctl}
#
# each with NAME.sha256 next to it. A program whose binaries are in place and match their recorded
# sha256 is not built again. runc, the CNI plugins and iptables come from Debian packages.
#
# Versions:
#
# - containerd v2.3.7: containerd's RELEASES.md (v2.3.7, "Kubernetes Support") recommends 2.3.0+ or
#   2.2.0+ for Kubernetes 1.36 and 2.1.3+ (so 2.3 as well) for 1.34; 2.3 is containerd's LTS branch
#   (April 2026 to April 2028). Its go.mod says go 1.26.8, which the local toolchain is; 2.4.x is
#   newer than what 1.36 was tested with.
# - etcd v3.6.17: Debian 12's etcd-server (3.4.23) does not qualify.
#     * kubeadm's cmd/kubeadm/app/constants/constants.go: MinExternalEtcdVersion = "3.5.24-0" in
#       both v1.34.4 and v1.36.5; SupportedEtcdVersion maps 1.34 to 3.6.5-0 (in v1.34.4) and 1.34,
#       1.35, 1.36 to 3.6.8-0 (in v1.36.5).
#     * build/dependencies.yaml and hack/lib/etcd.sh (ETCD_VERSION, what the integration tests
#       run): etcd 3.6.5 in v1.34.4, 3.6.8 in v1.36.5; both releases' go.mod require the etcd 3.6
#       client (v3.6.4 and v3.6.8).
#     * k8s.io/apiserver pkg/storage/feature/feature_support_checker.go (v0.36.5): watch progress
#       requests, which consistent reads from the watch cache rely on, need etcd 3.4.31+ or 3.5.13+.
#     * kubernetes.io "Operating etcd clusters for Kubernetes": minimum recommended versions in
#       production 3.4.29+ and 3.5.11+.
#   So at least 3.5.24, and 3.6.x is what both releases are built and tested against: the latest
#   3.6 patch the module proxy serves, etcdctl from the same release (it shares the build).
#
# Build flags follow upstream's static release builds: containerd's Makefile with STATIC=1
# (CGO off; tags urfave_cli_no_docs osusergo netgo static_build, plus no_grpc for the shim; we add
# no_btrfs no_devmapper no_zfs as its CI does, snapshotters the test never uses; version stamps in
# version.Version/Revision/Package), etcd's scripts/build_lib.sh (CGO off, GitSHA stamp).
#
# usage: tests/e2e/build-deps.sh [--print]
#
# Progress goes to stderr; stdout gets only shell assignments to eval:
#   E2E_CONTAINERD_BIN (the directory holding containerd, containerd-shim-runc-v2 and ctr),
#   E2E_CONTAINERD_VERSION, E2E_ETCD, E2E_ETCDCTL, E2E_ETCD_VERSION.
# --print prints them without building anything, failing if something is not built.
# KUBE_E2E_CONTAINERD_VERSION and KUBE_E2E_ETCD_VERSION choose other releases.
set -euo pipefail

print_only=false
case ${1:-} in
  "") ;;
  --print) print_only=true ;;
  *)
    echo "usage: build-deps.sh [--print]" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib/go.sh
. "$here/lib/go.sh"

containerd_version=${KUBE_E2E_CONTAINERD_VERSION:-v2.3.7}
etcd_version=${KUBE_E2E_ETCD_VERSION:-v3.6.17}
for v in "$containerd_version" "$etcd_version"; do
  [[ $v =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
    echo "build-deps: '$v' is not a release (expected vMAJOR.MINOR.PATCH)" >&2
    exit 2
  }
done

containerd_bins=(containerd containerd-shim-runc-v2 ctr)
containerd_out=$E2E_CACHE/deps/containerd-${containerd_version#v}/bin
etcd_bins=(etcd etcdctl)
etcd_out=$E2E_CACHE/deps/etcd-${etcd_version#v}/bin

print_assignments() {
  printf 'E2E_CONTAINERD_BIN=%q\n' "$containerd_out"
  printf 'E2E_CONTAINERD_VERSION=%q\n' "$containerd_version"
  printf 'E2E_ETCD=%q\n' "$etcd_out/etcd"
  printf 'E2E_ETCDCTL=%q\n' "$etcd_out/etcdctl"
  printf 'E2E_ETCD_VERSION=%q\n' "$etcd_version"
}

if $print_only; then
  missing=()
  go_bins_cached "$containerd_out" "${containerd_bins[@]}" || missing+=("containerd $containerd_version")
  go_bins_cached "$etcd_out" "${etcd_bins[@]}" || missing+=("etcd $etcd_version")
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'build-deps: not built (or not matching its sha256): %s; run build-deps.sh\n' "${missing[*]}" >&2
    exit 1
  fi
  print_assignments
  exit 0
fi

built=0

build_containerd() {
  local module=github.com/containerd/containerd/v2 work commit tags ldflags started
  work=$E2E_CACHE/build/containerd-$containerd_version
  rm -rf "$work"
  mkdir -p "$work"
  cd "$work"
  go_main_mod containerd "$module@$containerd_version"
  commit=$(go_mod_commit "$module" "$containerd_version")
  tags="urfave_cli_no_docs osusergo netgo static_build no_btrfs no_devmapper no_zfs"
  ldflags="-s -w -X $module/version.Version=$containerd_version -X $module/version.Package=$module"
  [ -z "$commit" ] || ldflags+=" -X $module/version.Revision=$commit"
  echo "build-deps: building containerd $containerd_version ($(awk '$1 == "go" { print "go " $2 }' go.mod))" >&2
  started=$SECONDS
  # -mod=mod records the go.sum lines of exactly the packages these commands import.
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "$ldflags" \
    -o "$work/bin/" "$module/cmd/containerd" "$module/cmd/ctr"
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -tags "$tags no_grpc" -ldflags "$ldflags" \
    -o "$work/bin/" "$module/cmd/containerd-shim-runc-v2"
  echo "build-deps: built containerd $containerd_version in $((SECONDS - started)) s" >&2
  go_bins_install "$work/bin" "$containerd_out" "${containerd_bins[@]}"
  rm -rf "$work/bin"
  built=$((built + 1))
}

build_etcd() {
  local work commit ldflags started
  work=$E2E_CACHE/build/etcd-$etcd_version
  rm -rf "$work"
  mkdir -p "$work"
  cd "$work"
  go_main_mod etcd "go.etcd.io/etcd/server/v3@$etcd_version" "go.etcd.io/etcd/etcdctl/v3@$etcd_version"
  commit=$(go_mod_commit go.etcd.io/etcd/server/v3 "$etcd_version")
  ldflags="-s -w"
  [ -z "$commit" ] || ldflags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=${commit:0:9}"
  echo "build-deps: building etcd $etcd_version ($(awk '$1 == "go" { print "go " $2 }' go.mod))" >&2
  started=$SECONDS
  # The etcd command is the main package at the root of the server module: named by -o.
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3
  echo "build-deps: built etcd $etcd_version in $((SECONDS - started)) s" >&2
  go_bins_install "$work/bin" "$etcd_out" "${etcd_bins[@]}"
  rm -rf "$work/bin"
  built=$((built + 1))
}

if go_bins_cached "$containerd_out" "${containerd_bins[@]}"; then
  echo "build-deps: containerd $containerd_version is cached in $containerd_out" >&2
else
  build_containerd
fi
if go_bins_cached "$etcd_out" "${etcd_bins[@]}"; then
  echo "build-deps: etcd $etcd_version is cached in $etcd_out" >&2
else
  build_etcd
fi
[ "$built" -gt 0 ] || echo "build-deps: everything is cached, nothing built" >&2
print_assignments
