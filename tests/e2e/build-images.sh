#!/usr/bin/env bash
# Builds the two container images the e2e test's pods run, as OCI image layout archives, with no
# registry, into the e2e cache:
#
#   $KUBE_E2E_CACHE/images/pause.tar    registry.k8s.io/pause:3.10 and registry.k8s.io/pause:3.10.2
#   $KUBE_E2E_CACHE/images/busybox.tar  kube-bootstrap.test/busybox:1
#
# each with NAME.tar.sha256 next to it. Import them with
#   ctr -n k8s.io images import ARCHIVE
# which names the images after the archive's index (org.opencontainers.image.ref.name and
# io.containerd.image.name carry the full names). Not with --index-name set to one of those names:
# containerd 2.3's import (the transfer service, ctr's default) labels the named images to be
# collected with the index image, and the same name makes them that image, gone seconds later.
# Another --index-name is fine (the images then live as long as that one).
#
# - pause: tests/e2e/images/pause.c, compiled static. containerd 2.x's CRI plugin pins
#   registry.k8s.io/pause:3.10.2 as its sandbox image by default (internal/cri/config
#   DefaultSandboxImage in v2.3.7; kubeadm 1.36 uses the same PauseVersion 3.10.2), set by
#     [plugins.'io.containerd.cri.v1.images'.pinned_images]
#       sandbox = 'registry.k8s.io/pause:3.10'
#   (the 1.x key sandbox_image is migrated there). The archive carries both names, so either the
#   default or that setting finds it, and the kubelet never pulls.
# - busybox: Debian's busybox-static (/bin/busybox) with a symlink in /bin for each of its applets,
#   an /etc/passwd and /etc/group with root and nobody, and Cmd /bin/sh.
#
# The archives are deterministic (tests/e2e/images/oci.py): a rebuild from the same inputs gives
# the same digests. When the archives are in place, match their sha256 and were made from the same
# inputs (these scripts, pause.c, the compiler and C library, busybox) nothing is built.
#
# usage: tests/e2e/build-images.sh [--print]
#
# Progress goes to stderr; stdout gets only shell assignments to eval: E2E_PAUSE_IMAGE,
# E2E_PAUSE_ARCHIVE, E2E_BUSYBOX_IMAGE, E2E_BUSYBOX_ARCHIVE. --print prints them without
# building, failing if the archives are not built.
set -euo pipefail

print_only=false
case ${1:-} in
  "") ;;
  --print) print_only=true ;;
  *)
    echo "usage: build-images.sh [--print]" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib/go.sh
. "$here/lib/go.sh"

pause_names=(registry.k8s.io/pause:3.10 registry.k8s.io/pause:3.10.2)
busybox_names=(kube-bootstrap.test/busybox:1)
busybox=/bin/busybox
out=$E2E_CACHE/images
archives=(pause.tar busybox.tar)

print_assignments() {
  printf 'E2E_PAUSE_IMAGE=%q\n' "${pause_names[0]}"
  printf 'E2E_PAUSE_ARCHIVE=%q\n' "$out/pause.tar"
  printf 'E2E_BUSYBOX_IMAGE=%q\n' "${busybox_names[0]}"
  printf 'E2E_BUSYBOX_ARCHIVE=%q\n' "$out/busybox.tar"
}

# go_bins_cached checks files against their recorded sha256, whatever they are.
archives_in_place() { go_bins_cached "$out" "${archives[@]}"; }

if $print_only; then
  archives_in_place || {
    echo "build-images: the archives are not built (or do not match their sha256) in $out; run build-images.sh" >&2
    exit 1
  }
  print_assignments
  exit 0
fi

command -v gcc >/dev/null || { echo "build-images: no gcc (Debian: build-essential)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "build-images: no python3" >&2; exit 1; }
[ -x "$busybox" ] && "$busybox" --list | grep -qx sh || {
  echo "build-images: no static busybox at $busybox (Debian: busybox-static)" >&2
  exit 1
}
cflags=(-static -Os -s -Wall -Wextra -Werror)

# Everything the bytes of the archives depend on.
inputs() {
  sha256sum "$here/build-images.sh" "$here/lib/go.sh" "$here/images/pause.c" "$here/images/oci.py" "$busybox" \
    "$(gcc -print-file-name=libc.a)" | cut -d' ' -f1
  gcc --version | head -1
  python3 --version
  echo "${cflags[*]} | ${pause_names[*]} | ${busybox_names[*]}"
}
stamp=$(inputs | sha256sum | cut -d' ' -f1)

if archives_in_place && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$stamp" ]; then
  echo "build-images: the images are cached in $out, nothing built" >&2
  print_assignments
  exit 0
fi

work=$E2E_CACHE/build/images
rm -rf "$work"
mkdir -p "$work" "$out"
started=$SECONDS
gcc "${cflags[@]}" -o "$work/pause" "$here/images/pause.c"
python3 "$here/images/oci.py" pause "$work/pause.tar" "$work/pause" "${pause_names[@]}" >&2
python3 "$here/images/oci.py" busybox "$work/busybox.tar" "$busybox" "${busybox_names[@]}" >&2
rm -f "$out/inputs.sha256"
for archive in "${archives[@]}"; do
  mv "$work/$archive" "$out/$archive"
  sha256sum "$out/$archive" | cut -d' ' -f1 >"$out/$archive.sha256"
done
echo "$stamp" >"$out/inputs.sha256"
rm -rf "$work"
echo "build-images: built the images in $((SECONDS - started)) s into $out" >&2
print_assignments
