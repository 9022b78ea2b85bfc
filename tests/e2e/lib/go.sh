# Sourced by the e2e build scripts: where the cache is, and a Go toolchain that builds the
# upstream programs the tests run (never the product).

E2E_CACHE=${KUBE_E2E_CACHE:-/var/cache/kube-bootstrap-e2e}
mkdir -p "$E2E_CACHE"
E2E_CACHE=$(cd "$E2E_CACHE" && pwd)

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null || {
  echo "e2e: no Go toolchain (expected 'go' on PATH or /usr/local/go/bin/go)" >&2
  exit 1
}
# The module and build caches live in the e2e cache, so a warm machine rebuilds nothing and
# removing that one directory removes everything the builds left.
export GOMODCACHE=$E2E_CACHE/go/mod GOCACHE=$E2E_CACHE/go/build GOPATH=$E2E_CACHE/go/path
export GOFLAGS=-modcacherw GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOTELEMETRY=off

# go_mod_file MODULE VERSION: the path of that version's go.mod in the module cache.
go_mod_file() {
  go mod download -json "$1@$2" | sed -n 's/.*"GoMod": *"\([^"]*\)".*/\1/p'
}

# go_mod_info MODULE VERSION: the JSON `go mod download` prints (with Origin: Hash, Time).
go_mod_info() {
  go mod download -json "$1@$2"
}

# go_mod_commit MODULE VERSION: the commit the module proxy recorded for that version (its
# Origin.Hash), or nothing when the proxy does not say.
go_mod_commit() {
  go_mod_info "$1" "$2" | sed -n 's/.*"Hash": *"\([0-9a-f]*\)".*/\1/p' | head -1
}

# go_main_mod NAME MODULE@VERSION...: writes ./go.mod of a main module of ours that requires those
# released modules, so their commands build with `go build MODULE/cmd/x` even where their own
# go.mod has replace directives (which `go install x@version` refuses). Its go directive is the
# highest of theirs and it keeps the first module's godebug lines (the main module sets the
# GODEBUG defaults). A replace upstream that points at another module (not at a directory of
# its own repository) would change what gets built: refused.
go_main_mod() {
  local name=$1 spec module version mod directive=0 godebug="" requires=""
  shift
  for spec in "$@"; do
    module=${spec%@*}
    version=${spec##*@}
    mod=$(go_mod_file "$module" "$version")
    [ -f "$mod" ] || {
      echo "e2e: no go.mod for $module@$version" >&2
      return 1
    }
    if awk '/^replace[ \t]*\(/ { block = 1; next } block && /^\)/ { block = 0; next }
            (block || /^replace /) && /=>/ { sub(/.*=>[ \t]*/, ""); if ($0 !~ /^\.\.?\//) bad = 1 }
            END { exit !bad }' "$mod"; then
      echo "e2e: $module@$version replaces a module by another module: not built like upstream" >&2
      return 1
    fi
    local d
    d=$(awk '$1 == "go" { print $2; exit }' "$mod")
    if [ "$(printf '%s\n%s\n' "$directive" "$d" | sort -V | tail -1)" = "$d" ]; then directive=$d; fi
    [ -n "$godebug" ] || godebug=$(grep -E '^godebug ' "$mod" || true)
    requires+="require $module $version"$'\n'
  done
  {
    echo "module kube-bootstrap.test/e2e/$name"
    echo
    echo "go $directive"
    echo
    [ -z "$godebug" ] || printf '%s\n\n' "$godebug"
    printf '%s' "$requires"
  } >go.mod
}

# go_bins_cached DIR NAME...: every DIR/NAME is in place and matches the sha256 recorded next to
# it in DIR/NAME.sha256.
go_bins_cached() {
  local dir=$1 name
  shift
  for name in "$@"; do
    [ -f "$dir/$name" ] && [ -f "$dir/$name.sha256" ] || return 1
    [ "$(cat "$dir/$name.sha256")" = "$(sha256sum "$dir/$name" | cut -d' ' -f1)" ] || return 1
  done
}

# go_bins_install FROM TO NAME...: installs each FROM/NAME as TO/NAME (renamed into place, so a
# reader never sees half a binary) and records its sha256 in TO/NAME.sha256.
go_bins_install() {
  local from=$1 to=$2 name
  shift 2
  mkdir -p "$to"
  for name in "$@"; do
    install -m 0755 "$from/$name" "$to/.$name.tmp"
    mv "$to/.$name.tmp" "$to/$name"
    sha256sum "$to/$name" | cut -d' ' -f1 >"$to/$name.sha256"
  done
}
