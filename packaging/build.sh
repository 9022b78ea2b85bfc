#!/usr/bin/env bash
# Builds kube-bootstrap's release artifacts into dist/:
#
#   kube-bootstrap-<version>-linux-amd64          static, stripped binary (at most 5 MiB)
#   kube-bootstrap-<version>-linux-amd64.tar.gz   binary, systemd/ units, man/, completions/, README.md, licences
#   kube-bootstrap_<version>-1_amd64.deb          /usr/bin/kube-bootstrap, units in /usr/lib/systemd/system,
#                                                 man pages, bash, zsh and fish completions
#   kube-bootstrap-<version>-x86-64.raw           systemd-sysext image for Flatcar / Fedora CoreOS
#   SHA256SUMS                                    over all of the above, for `sha256sum -c`
#
# Usage: packaging/build.sh           build everything
#        packaging/build.sh binary    only the static binary; prints its path on stdout
#
# Needs cargo, git (for the commit; optional), dpkg-deb, mksquashfs and python3.
# The man pages and completions come from the clap definitions (examples/gen-docs.rs, with
# clap_mangen and clap_complete), so the release binary carries neither generator.
# packaging/check.sh installs the tools and checks the result.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

triple=x86_64-unknown-linux-gnu
# The release profile (Cargo.toml: opt-level "z" for the 5 MiB budget, sha2 at opt-level 3).
profile=release
# Fully static (no glibc NSS; host names go through hickory-dns) and not position-independent:
# a static-pie binary relocates itself at every start, and the page faults that costs are most
# of exec's overhead. The binary image loses ASLR, as Go's static binaries (kubelet itself) do.
rustflags='-C target-feature=+crt-static -C relocation-model=static'

max_size=$((5 * 1024 * 1024))

log() { printf '%s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# --- what we are building -------------------------------------------------------------------

mode=${1:-all}
case "$mode" in all | binary) ;; *) die "unknown argument '$mode' (expected 'binary' or nothing)" ;; esac

# Plain shell here (no python3): `build.sh binary` is the README's first command's build.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version in Cargo.toml"
target_dir=${CARGO_TARGET_DIR:-$here/target}

# The commit `kube-bootstrap version` prints (build.rs embeds KUBE_BOOTSTRAP_COMMIT; set it to
# build outside a clone). A build from a modified tree is marked, so a release binary always
# names the exact source.
commit=${KUBE_BOOTSTRAP_COMMIT:-}
epoch=${SOURCE_DATE_EPOCH:-}
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if [ -z "$commit" ]; then
    commit=$(git rev-parse --short=12 HEAD)
    [ -z "$(git status --porcelain)" ] || commit="$commit-dirty"
  fi
  : "${epoch:=$(git log -1 --format=%ct)}"
fi
: "${commit:=unknown}"
# Timestamps inside the tarball, .deb and sysext come from the commit, so rebuilding the same
# commit gives the same files.
: "${epoch:=$(stat -c %Y Cargo.toml)}"
export SOURCE_DATE_EPOCH=$epoch

build_binary() {
  log "== cargo build --profile $profile --target $triple (static, commit $commit)"
  RUSTFLAGS=$rustflags KUBE_BOOTSTRAP_COMMIT=$commit \
    cargo build --locked --quiet --target "$triple" --profile "$profile"
  bin="$target_dir/$triple/$profile/kube-bootstrap"
  [ -x "$bin" ] || die "cargo did not produce '$bin'"
}

build_binary
if [ "$mode" = binary ]; then
  printf '%s\n' "$bin"
  exit 0
fi

# Static (no program interpreter, no NEEDED entry) and stripped (no symbol table), read from
# the ELF headers: no `file` needed.
python3 packaging/elf_check.py "$bin" || die "'$bin' is not a static, stripped binary"
size=$(stat -c %s "$bin")
[ "$size" -le "$max_size" ] || die "binary is $size bytes, over the 5 MiB limit ($max_size)"
"$bin" version >&2

units=()
for unit in systemd/*.service systemd/*.socket systemd/*.timer systemd/*.target systemd/*.path; do
  [ -f "$unit" ] && units+=("$unit")
done
[ ${#units[@]} -gt 0 ] || log "warning: no unit files in systemd/; packaging the binary alone"
# Drop-ins for units the OS ships (etcd's TLS): opt-in, so packages carry them as examples in
# their documentation, never active in /usr/lib/systemd/system.
dropins=()
for dropin in systemd/*.service.d/*.conf; do
  [ -f "$dropin" ] && dropins+=("$dropin")
done

# --- layout ---------------------------------------------------------------------------------

# dist/ holds only this script's output (it is in .gitignore); start it afresh.
dist="$here/dist"
stage="$dist/.stage"
rm -rf "$dist"
mkdir -p "$stage"
trap 'rm -rf "$stage"' EXIT
umask 022

name="kube-bootstrap-$version-linux-amd64"
deb_version="$version-1"
deb="kube-bootstrap_${deb_version}_amd64.deb"
raw="kube-bootstrap-$version-x86-64.raw"

cp "$bin" "$dist/$name"
chmod 0755 "$dist/$name"

# Man pages (kube-bootstrap(1), one per subcommand) and completions, dated by the commit.
log "== man pages and completions (examples/gen-docs.rs)"
gen="$stage/gen"
KUBE_BOOTSTRAP_COMMIT=$commit cargo run --locked --quiet --example gen-docs -- "$gen"
ls "$gen"/man/kube-bootstrap.1 "$gen"/completions/kube-bootstrap.bash >/dev/null \
  || die "examples/gen-docs.rs wrote no man page or completion"
for page in "$gen"/man/*.1; do gzip -9n "$page"; done
chmod 0644 "$gen"/man/* "$gen"/completions/*

# Where Debian, Flatcar and Fedora look for them under /usr.
install_docs_for_usr() {
  local usr=$1
  mkdir -p "$usr/share/man/man1" "$usr/share/bash-completion/completions" \
    "$usr/share/zsh/vendor-completions" "$usr/share/fish/vendor_completions.d"
  install -m 0644 "$gen"/man/*.1.gz "$usr/share/man/man1/"
  install -m 0644 "$gen/completions/kube-bootstrap.bash" "$usr/share/bash-completion/completions/kube-bootstrap"
  install -m 0644 "$gen/completions/_kube-bootstrap" "$usr/share/zsh/vendor-completions/_kube-bootstrap"
  install -m 0644 "$gen/completions/kube-bootstrap.fish" "$usr/share/fish/vendor_completions.d/kube-bootstrap.fish"
}

# Licences of what the static binary contains besides our code: the Rust crates and glibc.
python3 packaging/third_party_licenses.py "$triple" > "$stage/THIRD-PARTY-LICENSES"

# The units in systemd/ run /opt/bin/kube-bootstrap (the CoreOS/Flatcar place for local
# binaries); a package or sysext installs it as /usr/bin/kube-bootstrap.
install_units_for_usr() {
  local dest=$1 unit dropin example
  mkdir -p "$dest"
  for dropin in "${dropins[@]}"; do
    example="${dest%/lib/systemd/system}/share/doc/kube-bootstrap/examples/$dropin"
    mkdir -p "$(dirname "$example")"
    sed 's#/opt/bin/kube-bootstrap#/usr/bin/kube-bootstrap#g' "$dropin" > "$example"
    chmod 0644 "$example"
  done
  for unit in "${units[@]}"; do
    sed 's#/opt/bin/kube-bootstrap#/usr/bin/kube-bootstrap#g' "$unit" > "$dest/$(basename "$unit")"
    chmod 0644 "$dest/$(basename "$unit")"
    if grep -q '/opt/bin/kube-bootstrap' "$dest/$(basename "$unit")"; then
      die "'$unit' still runs /opt/bin/kube-bootstrap after rewriting"
    fi
  done
}

# Directory trees are archived with fixed owners, modes and times.
normalize_tree() {
  find "$1" -type d -exec chmod 0755 {} +
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# --- tarball --------------------------------------------------------------------------------

log "== $name.tar.gz"
tree="$stage/tar/$name"
mkdir -p "$tree/systemd"
install -m 0755 "$bin" "$tree/kube-bootstrap"
for unit in "${units[@]}"; do install -m 0644 "$unit" "$tree/systemd/"; done
[ ! -f systemd/README.md ] || install -m 0644 systemd/README.md "$tree/systemd/"
for dropin in "${dropins[@]}"; do install -D -m 0644 "$dropin" "$tree/$dropin"; done
install -m 0644 README.md LICENSE "$stage/THIRD-PARTY-LICENSES" "$tree/"
mkdir -p "$tree/man" "$tree/completions"
install -m 0644 "$gen"/man/*.1.gz "$tree/man/"
install -m 0644 "$gen"/completions/* "$tree/completions/"
normalize_tree "$stage/tar"
tar -C "$stage/tar" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$SOURCE_DATE_EPOCH" -cf - "$name" | gzip -9n > "$dist/$name.tar.gz"

# --- Debian package -------------------------------------------------------------------------

log "== $deb"
maintainer=${DEB_MAINTAINER:-kube-bootstrap maintainers <kube-bootstrap@example.org>}
root="$stage/deb"
doc="$root/usr/share/doc/kube-bootstrap"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$doc"
install -m 0755 "$bin" "$root/usr/bin/kube-bootstrap"
[ ${#units[@]} -eq 0 ] || install_units_for_usr "$root/usr/lib/systemd/system"
install_docs_for_usr "$root/usr"
install -m 0644 packaging/debian/copyright "$doc/copyright"
gzip -9n < README.md > "$doc/README.md.gz"
gzip -9n < "$stage/THIRD-PARTY-LICENSES" > "$doc/THIRD-PARTY-LICENSES.gz"
{
  printf 'kube-bootstrap (%s) unstable; urgency=medium\n\n' "$deb_version"
  printf '  * Release %s, built from commit %s.\n\n' "$version" "$commit"
  printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$doc/changelog.Debian.gz"
chmod 0644 "$doc"/*
install -D -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/kube-bootstrap"
for script in postinst postrm; do
  install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
sed -e "s|@VERSION@|$deb_version|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@INSTALLED_SIZE@|$(du -sk --exclude=DEBIAN "$root" | cut -f1)|" \
  packaging/debian/control.in > "$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums"
normalize_tree "$root"
dpkg-deb --root-owner-group -Zxz --build "$root" "$dist/$deb" >/dev/null

# --- systemd-sysext image -------------------------------------------------------------------

log "== $raw"
root="$stage/sysext"
mkdir -p "$root/usr/bin" "$root/usr/lib/extension-release.d" "$root/usr/share/doc/kube-bootstrap"
install -m 0755 "$bin" "$root/usr/bin/kube-bootstrap"
[ ${#units[@]} -eq 0 ] || install_units_for_usr "$root/usr/lib/systemd/system"
install_docs_for_usr "$root/usr"
install -m 0644 LICENSE "$stage/THIRD-PARTY-LICENSES" "$root/usr/share/doc/kube-bootstrap/"
# A static binary depends on nothing in the host's /usr, so the image matches any OS release
# (ID=_any) rather than one Flatcar version; systemd reloads its units when it is merged.
cat > "$root/usr/lib/extension-release.d/extension-release.kube-bootstrap" <<EOF
ID=_any
ARCHITECTURE=x86-64
EXTENSION_RELOAD_MANAGER=1
EOF
chmod 0644 "$root/usr/lib/extension-release.d/extension-release.kube-bootstrap"
normalize_tree "$root"
# mksquashfs takes its timestamps from SOURCE_DATE_EPOCH.
mksquashfs "$root" "$dist/$raw" -all-root -noappend -no-xattrs -quiet -no-progress >/dev/null

# --- checksums ------------------------------------------------------------------------------

(cd "$dist" && sha256sum "$name" "$name.tar.gz" "$deb" "$raw" > SHA256SUMS)
log "== dist/"
(cd "$dist" && ls -l "$name" "$name.tar.gz" "$deb" "$raw" SHA256SUMS) >&2
