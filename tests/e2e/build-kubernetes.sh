#!/usr/bin/env bash
# Builds the official Kubernetes components of one release from the module k8s.io/kubernetes,
# consumed as a dependency (kubernetes/kubernetes#79384): a go.mod of ours requires
# k8s.io/kubernetes vX.Y.Z and replaces each staging module the release's own go.mod points at
# ./staging with its published v0.Y.Z. The binaries are laid out like dl.k8s.io:
#
#   $KUBE_E2E_CACHE/mirror/vX.Y.Z/bin/linux/amd64/NAME and NAME.sha256
#
# A release whose binaries and side files are all in place is not built again.
#
# usage: tests/e2e/build-kubernetes.sh vX.Y.Z [BINARY...]   (default: the five components and kubectl)
set -euo pipefail

version=${1:?usage: build-kubernetes.sh vX.Y.Z [BINARY...]}
[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || {
  echo "build-kubernetes: '$version' is not a release (expected vMAJOR.MINOR.PATCH, e.g. v1.36.5)" >&2
  exit 2
}
minor=${BASH_REMATCH[1]}
patch=${BASH_REMATCH[2]}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib/go.sh
. "$here/lib/go.sh"

binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
if [ $# -gt 1 ]; then
  binaries=("${@:2}")
  for name in "${binaries[@]}"; do
    case $name in
      kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kubectl) ;;
      *)
        echo "build-kubernetes: '$name' is not a binary of a release (expected kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy or kubectl)" >&2
        exit 2
        ;;
    esac
  done
fi
out=$E2E_CACHE/mirror/$version/bin/linux/amd64

cached() {
  local name
  for name in "${binaries[@]}"; do
    [ -f "$out/$name" ] && [ -f "$out/$name.sha256" ] || return 1
    [ "$(cat "$out/$name.sha256")" = "$(sha256sum "$out/$name" | cut -d' ' -f1)" ] || return 1
  done
}
if cached; then
  echo "build-kubernetes: $version is cached in $out"
  exit 0
fi

work=$E2E_CACHE/build/kubernetes-$version
rm -rf "$work"
mkdir -p "$work" "$out"
cd "$work"

# The release's own go.mod says which modules are staged in-tree and which Go it needs.
upstream_mod=$(go_mod_file k8s.io/kubernetes "$version")
go_directive=$(awk '$1 == "go" { print $2; exit }' "$upstream_mod")
{
  echo "module kube-bootstrap.test/e2e/kubernetes"
  echo
  echo "go $go_directive"
  echo
  # The main module decides the GODEBUG defaults: keep the release's.
  grep -E '^godebug ' "$upstream_mod" || true
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  awk '/=> \.\/staging\/src\// { print "replace " $1 " => " $1 " v0.'"$minor.$patch"'" }' "$upstream_mod"
} >go.mod
# Modules whose vanity host is gone, so the module proxy cannot serve them, while the release's
# go.mod still requires them (before Go's module graph pruning, every go.mod of the graph is
# read): an empty module of the same path stands in for its go.mod. It holds no package, so a
# command that imported one would fail to build: none of the binaries built here does.
for gone in vbom.ml/util; do
  if grep -q "^[[:space:]]*$gone " "$upstream_mod"; then
    mkdir -p "gone/$gone"
    echo "module $gone" >"gone/$gone/go.mod"
    echo "replace $gone => ./gone/$gone" >>go.mod
  fi
done
staged=$(grep -c '^replace .* v0\.' go.mod)
[ "$staged" -gt 10 ] || {
  echo "build-kubernetes: found only $staged staging modules in $upstream_mod" >&2
  exit 1
}
echo "build-kubernetes: $version with $staged staging modules at v0.$minor.$patch (go $go_directive)"

# Version stamps as hack/lib/version.sh sets them, so /version and the node report the release.
# The proxy's .info file carries the tag's time and, when it knows it, the commit.
info=$(cat "$(go_mod_info k8s.io/kubernetes "$version" | sed -n 's/.*"Info": *"\([^"]*\)".*/\1/p')")
commit=$(sed -n 's/.*"Hash": *"\([0-9a-f]*\)".*/\1/p' <<<"$info" | head -1)
date=$(sed -n 's/.*"Time": *"\([^".]*\)\(\.[0-9]*\)\{0,1\}Z*".*/\1Z/p' <<<"$info" | head -1)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=${date:-1970-01-01T00:00:00Z}"
done

packages=()
for name in "${binaries[@]}"; do packages+=("k8s.io/kubernetes/cmd/$name"); done
started=$SECONDS
# -mod=mod records the go.sum lines of exactly the packages these commands import.
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/bin/" "${packages[@]}"
echo "build-kubernetes: built $version in $((SECONDS - started)) s"

for name in "${binaries[@]}"; do
  install -m 0755 "$work/bin/$name" "$out/.$name.tmp"
  mv "$out/.$name.tmp" "$out/$name"
  sha256sum "$out/$name" | cut -d' ' -f1 >"$out/$name.sha256"
done
rm -rf "$work/bin"
echo "build-kubernetes: $version is in $out"
