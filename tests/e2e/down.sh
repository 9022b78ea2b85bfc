#!/usr/bin/env bash
# Tears down a cluster that `KUBE_E2E_KEEP=1 bash tests/e2e/run.sh` left running, then asserts
# that the host is as it was before that run started.
#
#   bash tests/e2e/down.sh WORKDIR      (the directory run.sh printed, holding cluster.env)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:?usage: down.sh WORKDIR (the directory holding cluster.env and state.env)}
# shellcheck source=tests/e2e/lib/common.sh
. "$here/lib/common.sh"
[ -f "$work/state.env" ] || {
  say "no $work/state.env: not the work directory of a kept e2e cluster"
  exit 2
}
work=$(cd "$work" && pwd)
# shellcheck source=tests/e2e/lib/host.sh
. "$here/lib/host.sh"
# shellcheck source=tests/e2e/lib/cgroups.sh
. "$here/lib/cgroups.sh"
# shellcheck source=tests/e2e/lib/cluster.sh
. "$here/lib/cluster.sh"

status=0
teardown_all || status=1
host_snapshot "$work/host-after"
if host_compare "$work/host-before" "$work/host-after" && [ "$status" = 0 ]; then
  say "torn down; the host is as it was before the test"
  rm -rf "$work"
else
  say "torn down, but the host differs from before the test (see above); logs kept in $work"
  exit 1
fi
