# Sourced by run.sh: the rules that only past releases exercise, on those releases' real
# binaries. The e2e control plane is too new for them, so the leader's own units run an older
# controller-manager or scheduler beside it, pinned the way an operator pins one unit to a
# release: a drop-in naming an environment file with that release's KUBE_VERSION and pins (as
# `kube-bootstrap mirror` wrote them). Then the unit goes back to the node's release.
#
# Needs from run.sh and leader.sh: bin, work, id, E2E_CACHE, on(), k(), check(), wait_until,
# listeners_as_documented.

# The releases run, and their binaries (built by build-kubernetes.sh, mirrored by `mirror`):
# 1.20 and 1.21 turn both insecure ports off with --port=0; 1.22's scheduler does it without
# --config and its controller-manager has no insecure port left; 1.23's scheduler has none left
# either and takes its config file again; 1.19's controller-manager, on the seed's insecure
# topology, puts --root-ca-file into service-account token secrets.
E2E_PAST_SECURE=(v1.20.15 v1.21.14 v1.22.16 v1.23.17)
E2E_PAST_RELEASES=()
for _release in "${E2E_PAST_SECURE[@]}"; do
  E2E_PAST_RELEASES+=("$_release kube-controller-manager kube-scheduler")
done
E2E_PAST_RELEASES+=("v1.19.16 kube-controller-manager")
unset _release

# past_release_env VERSION: the environment file a drop-in pins a unit to VERSION with: the
# release's pins, and the skew guard off (these releases are far older than the apiserver,
# which the guard refuses, rightly).
past_release_env() {
  {
    cat "$work/mirror/$1/pins-amd64.env"
    echo "KUBE_SKEW_CHECK=off"
  } | on leader sh -c "mkdir -p /run/e2e-release && cat >/run/e2e-release/$1.env"
}

# pin_units VERSION UNIT...: each UNIT runs VERSION from now on (a runtime drop-in), restarted.
pin_units() {
  local version=$1 unit
  shift
  past_release_env "$version"
  for unit in "$@"; do
    printf '[Service]\nEnvironmentFile=/run/e2e-release/%s.env\n' "$version" |
      on leader sh -c "mkdir -p /run/systemd/system/$unit.d && cat >/run/systemd/system/$unit.d/e2e-release.conf"
  done
  on leader systemctl daemon-reload
  on leader systemctl restart "$@"
}

# unpin_units UNIT...: back to the node's release.
unpin_units() {
  local unit
  for unit in "$@"; do on leader rm -f "/run/systemd/system/$unit.d/e2e-release.conf"; done
  on leader systemctl daemon-reload
  on leader systemctl restart "$@"
}

# runs_release UNIT VERSION: the unit's main process (the component itself, exec'd in place)
# is VERSION's binary.
runs_release() {
  local pid
  pid=$(unit_pid leader "$1")
  [ "${pid:-0}" != 0 ] && [ "$(on leader "/proc/$pid/exe" --version 2>/dev/null)" = "Kubernetes $2" ]
}

# listens PROCESS ADDRESS...: ss shows PROCESS listening on one of the ADDRESSes in the leader's
# namespace.
listens() {
  local proc=$1
  shift
  ip netns exec "$id-leader" ss -ltnpH | awk -v want=" $* " -v proc="((\"$proc\"," \
    'index(want, " " $4 " ") && index($0, proc) { found = 1 } END { exit !found }'
}

# secure_healthz PORT: the component's TLS port answers /healthz (always allowed under delegated
# authorization) with ok.
secure_healthz() {
  [ "$(on leader curl -sk --max-time 5 "https://127.0.0.1:$1/healthz")" = ok ]
}

# past_secure_only VERSION: the release's controller-manager and scheduler, run by the leader's
# units, serve only their TLS ports on loopback; nothing on 10251 or 10252, and the node's
# listeners are all in the README's table.
past_secure_only() {
  local version=$1 unit
  local -A port=([kube-controller-manager]=10257 [kube-scheduler]=10259)
  local -A comm=([kube-controller-manager]=kube-controller [kube-scheduler]=kube-scheduler)
  pin_units "$version" kube-controller-manager.service kube-scheduler.service
  for unit in kube-controller-manager kube-scheduler; do
    wait_until 120 "$unit.service to run $version" runs_release "$unit.service" "$version" || return 1
    wait_until 120 "$unit $version on 127.0.0.1:${port[$unit]}" listens "${comm[$unit]}" "127.0.0.1:${port[$unit]}" || return 1
    wait_until 60 "$unit $version's /healthz" secure_healthz "${port[$unit]}" || return 1
    echo "$unit.service runs $version: $(cmdline "$unit.service" | tr '\n' ' ')"
  done
  # Both have been up for a while (healthz answered): an insecure listener would be open now.
  ip netns exec "$id-leader" ss -ltnpH | grep -E ':1025[12] ' && return 1
  listeners_as_documented leader
}

# insecure_without_port0 VERSION: the control for past_secure_only: the same scheduler, with an
# operator's `--port=10251` after kube-bootstrap's flags (the last one wins), opens the plain-http
# port on every address, and the README's table check refuses the node.
insecure_without_port0() {
  local version=$1 rc=0
  past_release_env "$version"
  on leader systemctl stop kube-scheduler.service
  # As the unit runs it (fetch, then exec), with the operator's flag after kube-bootstrap's.
  on leader systemd-run --quiet --unit=e2e-insecure-scheduler --property=Type=exec \
    --property=EnvironmentFile=/etc/kube-bootstrap.env --property=EnvironmentFile="/run/e2e-release/$version.env" \
    --property="ExecStartPre=/opt/bin/kube-bootstrap fetch scheduler" \
    /opt/bin/kube-bootstrap exec scheduler -- --port=10251
  if ! wait_until 120 "the scheduler $version on every address's 10251" \
    listens kube-scheduler '*:10251' '0.0.0.0:10251' '[::]:10251'; then
    on leader journalctl --no-pager -n 30 -u e2e-insecure-scheduler.service
    rc=1
  fi
  on leader curl -sS --max-time 5 http://127.0.0.1:10251/healthz && echo " (plain http, no authentication)"
  if [ "$rc" = 0 ] && listeners_as_documented leader; then
    echo "the README's table check passed with 10251 open"
    rc=1
  fi
  on leader systemctl stop e2e-insecure-scheduler.service
  on leader systemctl start kube-scheduler.service
  return "$rc"
}

# insecure_port_standin: the seed's insecure port (http://127.0.0.1:9090 on the leader, before
# 1.20), which the e2e's apiserver no longer has: `kubectl proxy` with admin.conf serves the API
# there without authentication, as that port did.
insecure_port_standin() {
  on leader systemd-run --quiet --unit=e2e-insecure-port --property=Type=exec \
    "$(in_node "$KUBECTL")" --kubeconfig /etc/kubernetes/admin.conf proxy --address=127.0.0.1 --port=9090
  wait_until 30 "the insecure port stand-in" on leader curl -sf --max-time 5 http://127.0.0.1:9090/readyz
}

# root_ca_in_token_secrets VERSION: before 1.20 (the seed's topology, through the stand-in), the
# release's controller-manager, started by its unit with kube-bootstrap's flags, writes token
# secrets whose ca.crt is the cluster CA (--root-ca-file) and whose token, signed with sa.key,
# authenticates as the service account.
root_ca_in_token_secrets() {
  local version=$1 secret ca token who rc=0
  insecure_port_standin || return 1
  pin_units "$version" kube-controller-manager.service
  wait_until 120 "kube-controller-manager.service to run $version" runs_release kube-controller-manager.service "$version" || rc=1
  [ "$rc" = 1 ] || echo "kube-controller-manager.service runs $version: $(cmdline kube-controller-manager.service | tr '\n' ' ')"
  # What the README says the seed's topology exposes: plain http on every address, no
  # authentication.
  if [ "$rc" = 0 ] && wait_until 60 "the controller-manager $version on every address's 10252" \
    listens kube-controller '*:10252' '0.0.0.0:10252' '[::]:10252'; then
    echo "plain http on 10252 of every address: /healthz says $(on leader curl -sS --max-time 5 http://127.0.0.1:10252/healthz)"
  else
    rc=1
  fi
  secret_of_default() {
    secret=$(k -n default get secrets -o 'jsonpath={range .items[?(@.type=="kubernetes.io/service-account-token")]}{.metadata.name}{"\n"}{end}' | head -1)
    [ -n "$secret" ]
  }
  if [ "$rc" = 0 ] && wait_until 180 "a token secret of the default service account" secret_of_default; then
    secret_of_default
    echo "token secret: default/$secret"
    ca=$(k -n default get secret "$secret" -o 'jsonpath={.data.ca\.crt}' | base64 -d)
    if [ "$ca" = "$(on leader cat /etc/kubernetes/pki/ca.crt)" ]; then
      echo "its ca.crt is the cluster CA"
    else
      echo "its ca.crt is not the cluster CA: ${ca:-(empty)}"
      rc=1
    fi
    token=$(k -n default get secret "$secret" -o 'jsonpath={.data.token}' | base64 -d)
    printf '%s\n' "$ca" >"$work/token-ca.crt"
    # (The apiserver warns that auto-generated token secrets are legacy: on stderr.)
    who=$(ip netns exec "$id-leader" "$KUBECTL" --server "https://$E2E_LEADER_IP:6443" \
      --certificate-authority "$work/token-ca.crt" --token "$token" --request-timeout=20s \
      auth whoami -o 'jsonpath={.status.userInfo.username}') || rc=1
    echo "its token authenticates as: $who"
    [ "$who" = system:serviceaccount:default:default ] || rc=1
  else
    rc=1
  fi
  unpin_units kube-controller-manager.service
  on leader systemctl stop e2e-insecure-port.service
  # The token secrets that release made, in every namespace: 1.24 and later make none.
  k delete secrets --all-namespaces --field-selector type=kubernetes.io/service-account-token >/dev/null || true
  return "$rc"
}

# past_secure_only_then_back VERSION: past_secure_only, then the units back on the node's release
# whatever it found.
past_secure_only_then_back() {
  local rc=0
  past_secure_only "$1" || rc=1
  unpin_units kube-controller-manager.service kube-scheduler.service
  return "$rc"
}

# back_on_release VERSION: the controller-manager and the scheduler run VERSION again.
back_on_release() {
  units_active && runs_release kube-controller-manager.service "$1" && runs_release kube-scheduler.service "$1"
}

# past_releases VERSION: the checks above, on a leader whose release is VERSION; the units go back
# to VERSION after each.
past_releases() {
  local version=$1 old
  for old in "${E2E_PAST_SECURE[@]}"; do
    check "$old: the controller-manager and the scheduler serve TLS on loopback only, nothing on 10251 or 10252 (--port=0 before 1.22; no scheduler --config before 1.23)" \
      past_secure_only_then_back "$old"
  done
  check "v1.21.14: without kube-bootstrap's --port=0 the scheduler opens plain http on 10251, and the README's table check refuses the node" \
    insecure_without_port0 v1.21.14
  check "v1.19.16: the controller-manager's token secrets carry the cluster CA (--root-ca-file) and a token the apiserver accepts" \
    root_ca_in_token_secrets v1.19.16
  check "$version: the controller-manager and the scheduler are back on the node's release" \
    wait_until 120 "the units back on $version" back_on_release "$version"
}
