#!/usr/bin/env bash
# Builds the release artifacts with packaging/build.sh and checks them: the static binary runs
# and fits in 5 MiB, SHA256SUMS verifies, the tarball, .deb and sysext image hold the binary and
# the units (rewritten for /usr/bin where they are installed there), the man pages and the bash,
# zsh and fish completions, lintian finds no errors and no missing man page,
# and the example Butane and cloud-config files parse with the keys operators rely on and run a
# Kubernetes release that fits their host's etcd and cgroup hierarchy.
# Installs the Debian packages it needs when they are missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# --- tools ------------------------------------------------------------------------------------

yaml_python() {
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import yaml' 2>/dev/null; then
      command -v "$py"
      return 0
    fi
  done
  return 1
}
need=()
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v lintian >/dev/null || need+=(lintian)
command -v mksquashfs >/dev/null && command -v unsquashfs >/dev/null || need+=(squashfs-tools)
command -v python3 >/dev/null || need+=(python3)
command -v man >/dev/null || need+=(man-db)
yaml_python >/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
py=$(yaml_python) || { echo "check.sh: no python3 with PyYAML" >&2; exit 1; }

# --- build ------------------------------------------------------------------------------------

bash packaging/build.sh

failures=0
pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...: runs COMMAND quietly, reports DESCRIPTION
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
dist="$here/dist"
name="kube-bootstrap-$version-linux-amd64"
bin="$dist/$name"
deb="$dist/kube-bootstrap_${version}-1_amd64.deb"
raw="$dist/kube-bootstrap-$version-x86-64.raw"
units=()
for unit in systemd/*.service; do [ -f "$unit" ] && units+=("$(basename "$unit")"); done
if [ ${#units[@]} -gt 0 ]; then pass "units to package: ${units[*]}"; else fail "no systemd/*.service to package"; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- binary -----------------------------------------------------------------------------------

if info=$(python3 packaging/elf_check.py "$bin"); then pass "static and stripped: $info"; else fail "not static and stripped: $info"; fi
size=$(stat -c %s "$bin")
limit=$((5 * 1024 * 1024))
if [ "$size" -le "$limit" ]; then
  pass "size $size bytes ($(awk "BEGIN { printf \"%.2f\", $size / 1048576 }") MiB) <= 5 MiB"
else
  fail "size $size bytes > 5 MiB"
fi
out=$("$bin" version 2>&1) || fail "'$name version' exited with $?"
# The cloud-config examples recognise an installed release by this prefix.
case "$out" in "kube-bootstrap $version "*) pass "version: $out" ;; *) fail "version prints '$out'" ;; esac
if [ -z "${KUBE_BOOTSTRAP_COMMIT:-}" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  commit=$(git rev-parse --short=12 HEAD)
  case "$out" in *"$commit"*) pass "version names commit $commit" ;; *) fail "version does not name commit $commit" ;; esac
fi

# --- checksums --------------------------------------------------------------------------------

check "sha256sum -c SHA256SUMS" bash -c "cd '$dist' && sha256sum -c --strict SHA256SUMS"
for f in "$name" "$name.tar.gz" "$(basename "$deb")" "$(basename "$raw")"; do
  check "SHA256SUMS covers $f" grep -q "  $f\$" "$dist/SHA256SUMS"
done

# --- tarball ----------------------------------------------------------------------------------

# The man pages and completions each artifact ships: kube-bootstrap(1) and one per subcommand.
pages=(kube-bootstrap.1.gz)
for sub in fetch exec flags env doctor network-env pki pki-init pki-node pki-install pki-check mirror releases version; do
  pages+=("kube-bootstrap-$sub.1.gz")
done
usr_docs=("${pages[@]/#/usr/share/man/man1/}" usr/share/bash-completion/completions/kube-bootstrap
  usr/share/zsh/vendor-completions/_kube-bootstrap usr/share/fish/vendor_completions.d/kube-bootstrap.fish)
# etcd's TLS drop-ins: in the tarball beside the units, in packages as examples (opt-in).
dropins=()
for f in systemd/*.service.d/*.conf; do [ -f "$f" ] && dropins+=("$f"); done
usr_docs+=("${dropins[@]/#/usr/share/doc/kube-bootstrap/examples/}")

tar -tzf "$dist/$name.tar.gz" > "$work/tar.list"
for f in kube-bootstrap README.md LICENSE THIRD-PARTY-LICENSES "${units[@]/#/systemd/}" "${dropins[@]}" \
  "${pages[@]/#/man/}" completions/kube-bootstrap.bash completions/_kube-bootstrap completions/kube-bootstrap.fish; do
  check "tarball has $name/$f" grep -qx "$name/$f" "$work/tar.list"
done
tar -xzf "$dist/$name.tar.gz" -C "$work" "$name/kube-bootstrap"
check "tarball's kube-bootstrap is the released binary" cmp "$bin" "$work/$name/kube-bootstrap"

# --- Debian package ---------------------------------------------------------------------------

dpkg-deb -c "$deb" | awk '{ print $NF }' > "$work/deb.list"
for f in ./usr/bin/kube-bootstrap ./usr/share/doc/kube-bootstrap/copyright \
  ./usr/share/doc/kube-bootstrap/changelog.Debian.gz "${units[@]/#/./usr/lib/systemd/system/}" \
  "${usr_docs[@]/#/./}"; do
  check ".deb has $f" grep -qx "$f" "$work/deb.list"
done
for timer in systemd/*.timer; do
  [ -f "$timer" ] || continue
  check ".deb has its timer ./usr/lib/systemd/system/$(basename "$timer")" \
    grep -qx "./usr/lib/systemd/system/$(basename "$timer")" "$work/deb.list"
done
check ".deb version is $version-1" test "$(dpkg-deb -f "$deb" Version)" = "$version-1"
mkdir "$work/deb"
dpkg-deb -x "$deb" "$work/deb"
check ".deb's kube-bootstrap is the released binary" cmp "$bin" "$work/deb/usr/bin/kube-bootstrap"
for unit in "${units[@]}"; do
  f="$work/deb/usr/lib/systemd/system/$unit"
  check ".deb's $unit runs /usr/bin/kube-bootstrap" grep -q '^ExecStart=/usr/bin/kube-bootstrap ' "$f"
  check ".deb's $unit has no /opt/bin/kube-bootstrap" bash -c "! grep -q /opt/bin/kube-bootstrap '$f'"
done
# lintian refuses to run as root without this note on stderr; keep the report, drop the note.
lintian_out=$(lintian --fail-on error "$deb" 2>&1) && lintian_rc=0 || lintian_rc=$?
lintian_out=$(grep -v 'running with root privileges' <<<"$lintian_out" || true)
[ -z "$lintian_out" ] || sed 's/^/      lintian: /' <<<"$lintian_out"
if [ "$lintian_rc" -eq 0 ] && ! grep -q '^E:' <<<"$lintian_out"; then
  pass "lintian: no errors"
else
  fail "lintian reports errors (exit $lintian_rc)"
fi
if grep -q 'no-manual-page' <<<"$lintian_out"; then fail "lintian: no-manual-page"; else pass "lintian: every binary has a man page"; fi
man_out=$(man --warnings -E UTF-8 -l "$work/deb/usr/share/man/man1/kube-bootstrap.1.gz" 2>&1 >/dev/null) || man_out="man exited with $?"
if [ -z "$man_out" ]; then pass ".deb's kube-bootstrap(1) renders without warnings"; else fail "kube-bootstrap(1): $man_out"; fi

# --- sysext image -----------------------------------------------------------------------------

unsquashfs -l "$raw" | sed 's#^squashfs-root/##' > "$work/raw.list"
for f in usr/bin/kube-bootstrap usr/lib/extension-release.d/extension-release.kube-bootstrap \
  "${units[@]/#/usr/lib/systemd/system/}" "${usr_docs[@]}"; do
  check "sysext has $f" grep -qx "$f" "$work/raw.list"
done
check "sysext has nothing outside /usr" bash -c "! grep -v -e '^squashfs-root\$' -e '^usr\$' -e '^usr/' '$work/raw.list'"
unsquashfs -q -n -d "$work/sysext" "$raw" >/dev/null
release="$work/sysext/usr/lib/extension-release.d/extension-release.kube-bootstrap"
check "extension-release: ID=_any or flatcar" grep -qxE 'ID=(_any|flatcar)' "$release"
check "extension-release: ARCHITECTURE=x86-64" grep -qx 'ARCHITECTURE=x86-64' "$release"
check "sysext's kube-bootstrap is the released binary" cmp "$bin" "$work/sysext/usr/bin/kube-bootstrap"
for unit in "${units[@]}"; do
  check "sysext's $unit runs /usr/bin/kube-bootstrap" \
    grep -q '^ExecStart=/usr/bin/kube-bootstrap ' "$work/sysext/usr/lib/systemd/system/$unit"
done

# --- examples ---------------------------------------------------------------------------------

if "$py" packaging/check_examples.py "$version" systemd src/env_vars.rs packaging/examples; then
  pass "examples parse with the expected keys"
else
  fail "examples (see above)"
fi

echo
if [ "$failures" -gt 0 ]; then
  echo "packaging check: $failures failure(s)" >&2
  exit 1
fi
echo "packaging check: all passed; artifacts in dist/"
