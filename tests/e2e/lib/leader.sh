# Sourced by run.sh: one release on a one-node cluster (the leader runs all five components),
# brought up as the README tells an operator, then the checks of issue 18.
#
# Needs from run.sh: bin, repo, here, E2E_CACHE, keep, check(), the deps and images variables.

units=(kube-apiserver kube-controller-manager kube-scheduler kube-kubelet kube-proxy)

# k ARGS...: the built kubectl with the admin kubeconfig, from the leader's network namespace.
k() { ip netns exec "$id-leader" "$KUBECTL" --kubeconfig "$work/admin.kubeconfig" --request-timeout=20s "$@"; }

readyz_ok() { [ "$(k get --raw /readyz 2>/dev/null)" = ok ]; }

# node_ready [NODE-IP]: the node (default the leader) is Ready.
node_ready() {
  [ "$(k get node "${1:-$E2E_LEADER_IP}" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

pod_phase() { k get pod "$1" -o 'jsonpath={.status.phase}' 2>/dev/null; }
pod_succeeded() { [ "$(pod_phase "$1")" = Succeeded ]; }
pod_running() { [ "$(pod_phase "$1")" = Running ]; }

# pod NAME SCRIPT [RESTART [NODE-IP]]: a pod of the test image that runs SCRIPT (sh -c), on
# NODE-IP when given.
pod() {
  local name=$1 script=$2 restart=${3:-Never} node=${4:-} selector=
  [ -z "$node" ] || selector="nodeSelector: { kubernetes.io/hostname: \"$node\" }"
  k apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
spec:
  restartPolicy: $restart
  $selector
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $E2E_TEST_IMAGE
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", $(printf '%s' "$script" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')]
EOF
}

leases_held() {
  local lease holder
  for lease in kube-controller-manager kube-scheduler; do
    holder=$(k -n kube-system get lease "$lease" -o 'jsonpath={.spec.holderIdentity}') || return 1
    echo "lease $lease held by $holder"
    [ -n "$holder" ] || return 1
  done
}

hello_logs() {
  local logs
  logs=$(k logs e2e-hello)
  echo "kubectl logs e2e-hello: $logs"
  [ "$logs" = "hello from a pod of kube-bootstrap's e2e" ]
}

exec_works() {
  local out
  out=$(k exec e2e-sleeper -- /bin/sh -c 'echo exec in $(cat /etc/hostname)')
  echo "kubectl exec: $out"
  [ "$out" = "exec in e2e-sleeper" ]
}

# A pod calls the API over https with its projected service-account token and the mounted
# ca.crt (kubectl's in-cluster config verifies the apiserver against that CA).
service_account_works() {
  k apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: e2e-sa
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  volumes:
  - name: kubectl
    hostPath: { path: $(dirname "$(in_node "$KUBECTL")"), type: Directory }
  containers:
  - name: main
    image: $E2E_TEST_IMAGE
    imagePullPolicy: Never
    env: [{ name: HOME, value: /tmp }]
    volumeMounts: [{ name: kubectl, mountPath: /k, readOnly: true }]
    command: ["/bin/sh", "-c", "/k/kubectl auth whoami -o jsonpath='{.status.userInfo.username}' && echo && /k/kubectl get --raw /readyz && echo && ls /var/run/secrets/kubernetes.io/serviceaccount/"]
EOF
  wait_until 120 "pod e2e-sa to complete" pod_succeeded e2e-sa || { k describe pod e2e-sa; k logs e2e-sa; return 1; }
  local logs
  logs=$(k logs e2e-sa)
  echo "pod e2e-sa: $logs"
  grep -qx 'system:serviceaccount:default:default' <<<"$logs" && grep -qx ok <<<"$logs" && grep -qx ca.crt <<<"$logs"
}

# etcd_tls_only: the leader's etcd, run with the project's TLS drop-in, answers only TLS clients
# whose certificate the etcd CA signed: plain http and a client without a certificate get no
# health answer, nor does one with a certificate of the cluster CA (a kubelet's); the
# apiserver's own etcd client pair does, and the apiserver is started with the TLS flags.
etcd_tls_only() {
  local pki=/etc/kubernetes/pki url=https://127.0.0.1:2379/health out
  curl_node() { on leader curl -sS --max-time 5 "$@" 2>&1; }
  if out=$(curl_node http://127.0.0.1:2379/health); then
    echo "plain http answered: $out"
    return 1
  fi
  echo "plain http refused: $out"
  if out=$(curl_node --cacert $pki/etcd/ca.crt $url); then
    echo "TLS without a client certificate answered: $out"
    return 1
  fi
  echo "TLS without a client certificate refused: $out"
  if out=$(curl_node --cacert $pki/etcd/ca.crt --cert $pki/kubelet.crt --key $pki/kubelet.key $url); then
    echo "a certificate of the cluster CA answered: $out"
    return 1
  fi
  echo "a certificate of the cluster CA refused: $out"
  out=$(curl_node --cacert $pki/etcd/ca.crt --cert $pki/apiserver-etcd-client.crt --key $pki/apiserver-etcd-client.key $url) || {
    echo "the apiserver's etcd client certificate was refused: $out"
    return 1
  }
  echo "apiserver-etcd-client: $out"
  grep -q '"health":"true"' <<<"$out" || return 1
  local args
  args=$(cmdline kube-apiserver.service)
  echo "$args" | grep -E '^--etcd-'
  grep -qx -- '--etcd-servers=https://127.0.0.1:2379' <<<"$args" &&
    grep -qx -- "--etcd-cafile=$pki/etcd/ca.crt" <<<"$args" &&
    grep -qx -- "--etcd-certfile=$pki/apiserver-etcd-client.crt" <<<"$args" &&
    grep -qx -- "--etcd-keyfile=$pki/apiserver-etcd-client.key" <<<"$args"
}

# admin_outside_masters: admin.conf's identity is in kube-bootstrap:cluster-admins, not
# system:masters, and holds cluster-admin only through the binding kube-bootstrap-rbac made:
# revoked with RBAC alone (as super-admin.conf, the break-glass system:masters identity), it is
# refused; the unit makes the binding again.
admin_outside_masters() {
  local groups super
  [ "$(on leader systemctl show -P ActiveState kube-bootstrap-rbac.service)" = active ] || {
    on leader systemctl status --no-pager kube-bootstrap-rbac.service
    return 1
  }
  groups=$(k auth whoami -o 'jsonpath={.status.userInfo.groups}')
  echo "admin.conf groups: $groups"
  grep -q '"kube-bootstrap:cluster-admins"' <<<"$groups" || return 1
  ! grep -q 'system:masters' <<<"$groups" || return 1
  super() { on leader "$(in_node "$KUBECTL")" --kubeconfig /etc/kubernetes/super-admin.conf --request-timeout=20s "$@"; }
  super=$(super auth whoami -o 'jsonpath={.status.userInfo.groups}')
  echo "super-admin.conf groups: $super"
  grep -q '"system:masters"' <<<"$super" || return 1
  k get clusterrolebinding kube-bootstrap:cluster-admins kube-bootstrap:apiserver-kubelet-client \
    -o 'custom-columns=NAME:.metadata.name,ROLE:.roleRef.name,MANAGED-BY:.metadata.labels.app\.kubernetes\.io/managed-by' || return 1
  super delete clusterrolebinding kube-bootstrap:cluster-admins || return 1
  if wait_until 30 "admin.conf to lose cluster-admin" eval '! k get namespaces >/dev/null 2>&1'; then
    echo "without the binding: $(k get namespaces 2>&1 | tail -1)"
  else
    return 1
  fi
  on leader systemctl restart kube-bootstrap-rbac.service || return 1
  wait_until 60 "admin.conf to hold cluster-admin again" k get namespaces
}

# certificates_renewed: the renewal timer's service, run with a window longer than the leaves'
# life (KUBE_PKI_RENEW_BEFORE=400 over 365-day leaves, re-issued for 401 days), re-issues every
# leaf and restarts each running component once, one at a time, the apiserver last; etcd keeps
# running and takes its new pair on the next connection; the cluster keeps serving.
certificates_renewed() {
  local pki=/etc/kubernetes/pki before after unit t rc=0 last_unit=
  local -A started
  before=$(on leader openssl x509 -noout -serial -in $pki/apiserver.crt)
  for unit in "${units[@]}"; do
    started[$unit]=$(unit_usec "$unit.service" ExecMainStartTimestampMonotonic)
  done
  local etcd_pid
  etcd_pid=$(unit_pid leader etcd.service)
  on leader sh -c 'cp -p /etc/kube-bootstrap.env /etc/kube-bootstrap.env.before-renew &&
    printf "KUBE_PKI_RENEW_BEFORE=400\nKUBE_PKI_CERT_DAYS=401\n" >>/etc/kube-bootstrap.env'
  on leader systemctl start kube-bootstrap-pki-renew.service || rc=1
  on leader mv /etc/kube-bootstrap.env.before-renew /etc/kube-bootstrap.env
  local said
  said=$(on leader journalctl --no-pager -o cat -u kube-bootstrap-pki-renew.service | grep -E '^(re-issued|restarted) ' | cut -c1-160)
  echo "$said"
  [ "$rc" = 0 ] || return 1
  after=$(on leader openssl x509 -noout -serial -in $pki/apiserver.crt)
  echo "apiserver.crt: $before -> $after"
  [ "$before" != "$after" ] || return 1
  on leader openssl x509 -noout -checkend $((400 * 86400)) -in $pki/apiserver.crt || return 1
  # Each unit started again. (The controller-manager and the scheduler may also restart on their
  # own after the apiserver, when they lose their leases while it is down: the order is what
  # pki renew did, one restart at a time.)
  for unit in "${units[@]}"; do
    t=$(unit_usec "$unit.service" ExecMainStartTimestampMonotonic)
    echo "$unit: started $(((t - started[$unit]) / 1000)) ms later than before"
    ((t > started[$unit])) || return 1
    [ "$(grep -c "^restarted $unit.service " <<<"$said")" = 1 ] || return 1
  done
  last_unit=$(grep '^restarted ' <<<"$said" | tail -1 | awk '{print $2}')
  echo "restarted last: $last_unit"
  [ "$last_unit" = kube-apiserver.service ] || return 1
  [ "$(unit_pid leader etcd.service)" = "$etcd_pid" ] || return 1
  wait_until 120 "/readyz after the renewal" readyz_ok &&
    wait_until 120 "the node Ready after the renewal" node_ready &&
    wait_until 120 "every unit active after the renewal" units_active &&
    pod e2e-after-renewal "echo renewed" && wait_until 120 "pod e2e-after-renewal" pod_succeeded e2e-after-renewal
}

doctor_clean() {
  local out rc=0
  out=$(on leader kube-bootstrap doctor 2>&1) || rc=$?
  echo "$out"
  # Warnings are allowed when doctor explains them (each carries a hint): show them.
  grep -E '^ *warn' <<<"$out" | sed 's/^/    doctor: /' >&2 || true
  [ "$rc" = 0 ] || return 1
  ! grep -qE '^ *fail' <<<"$out"
}

# The admin kubeconfig pki init wrote, with its certificates embedded, for kubectl on the host.
export_admin_kubeconfig() {
  on leader "$(in_node "$KUBECTL")" --kubeconfig /etc/kubernetes/admin.conf config view --raw --flatten \
    >"$work/admin.kubeconfig"
  chmod 0600 "$work/admin.kubeconfig"
}

# units_active [NODE [UNIT...]]: each unit (default: the five) is active on NODE (default leader).
units_active() {
  local node=${1:-leader} unit
  shift || true
  for unit in "${@:-${units[@]}}"; do
    [ "$(on "$node" systemctl is-active "$unit")" = active ] || return 1
  done
}

# unit_pid NODE UNIT: the unit's main process, as the node sees it.
unit_pid() { on "$1" systemctl show -P MainPID "$2"; }

# cmdline UNIT: the arguments of the leader unit's main process (the component itself, which
# `exec` replaced), one per line.
cmdline() {
  on leader sh -c "tr '\0' '\n' </proc/$(unit_pid leader "$1")/cmdline"
}

# unit_usec UNIT PROPERTY: a monotonic timestamp of the unit, in microseconds.
unit_usec() { on leader systemctl show -P "$2" "$1"; }
monotonic_usec() { python3 -c 'import time; print(time.monotonic_ns() // 1000)'; }

# bench_bring_up VERSION START READY: the leader's start, split into kube-bootstrap's part
# (each unit's ExecStartPre fetch, then exec until the component runs: ExecMainStartTimestamp is
# when `exec` began, and it execs the component in place within about a millisecond) and the
# components' own start (from the last component's start to the node being Ready).
bench_bring_up() {
  local version=$1 start=$2 ready=$3 unit main last=0
  for unit in "${units[@]}"; do
    main=$(unit_usec "$unit" ExecMainStartTimestampMonotonic)
    ((main > last)) && last=$main
    echo "$unit $(((main - start) / 1000))"
  done >"$work/bench-units"
  python3 - "$version" "$start" "$ready" "$last" "$work/bench-units" <<'EOF' | tee -a "$work/bench.md" >&2
import sys
version, start, ready, last, units = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
total = (ready - start) / 1e6
ours = (last - start) / 1e6
own = (ready - last) / 1e6
print(f"| {version} leader, cold (fetch from the mirror) | systemctl start of the five units -> node Ready | {total:.2f} s | 1.00x |")
print(f"| {version} leader, cold | kube-bootstrap: fetch and exec, until the last component runs | {ours:.2f} s | {ours / total:.2f}x |")
print(f"| {version} leader, cold | the components' own start: last component running -> node Ready | {own:.2f} s | {own / total:.2f}x |")
for line in open(units):
    unit, ms = line.split()
    print(f"| {version} leader, cold | {unit}: systemctl start -> component running | {int(ms) / 1000:.2f} s | |")
EOF
}

# debug_dump: what a failed check needs, for every node that is up: kubectl describe of the
# nodes and of pods not running, each unit's journal and doctor's report. All of it goes to
# $work/debug.log; the last lines of each part are shown.
debug_dump() {
  local node unit
  {
    echo "== kubectl describe nodes"
    k describe nodes 2>&1 | tail -n 40
    echo "== pods"
    k get pods -A -o wide 2>&1
    for pod in $(k get pods --field-selector=status.phase!=Running,status.phase!=Succeeded -o name 2>/dev/null); do
      echo "== kubectl describe $pod"
      k describe "$pod" 2>&1 | tail -n 15
    done
    for node in $(compgen -v node_pid_); do
      node=${node#node_pid_}
      exited "$(node_pid "$node")" && continue
      for unit in "${units[@]}" etcd containerd; do
        [ "$(on "$node" systemctl is-enabled "$unit" 2>/dev/null || true)" != "" ] || continue
        echo "== $node: journalctl -u $unit"
        on "$node" journalctl --no-pager -n 25 -u "$unit" 2>&1 | cut -c1-300
      done
      echo "== $node: kube-bootstrap doctor"
      on "$node" kube-bootstrap doctor 2>&1
    done
  } >>"$work/debug.log" 2>&1
  tail -n 150 "$work/debug.log" | sed 's/^/    | /' >&2
  say "the whole dump is in $work/debug.log"
}

write_cluster_env() {
  {
    echo "# The e2e cluster kept by KUBE_E2E_KEEP=1; tear it down with: bash tests/e2e/down.sh $work"
    echo "KUBECTL=${KUBECTL@Q}"
    echo "KUBECONFIG=${work@Q}/admin.kubeconfig"
    local nodes=() node
    for node in $(compgen -v node_pid_); do nodes+=("${node#node_pid_}"); done
    printf 'E2E_NODES=%q\n' "${nodes[*]}"
    for node in "${nodes[@]}"; do
      echo "E2E_NETNS_${node^^}=${id@Q}-$node"
      echo "E2E_PID_${node^^}=$(node_pid "$node")"
    done
    echo "# e.g.: ip netns exec \$E2E_NETNS_LEADER \$KUBECTL --kubeconfig \$KUBECONFIG get nodes"
    echo "#       nsenter -t \$E2E_PID_LEADER -m -u -n -p -C systemctl status kube-kubelet"
  } >"$work/cluster.env"
}

# finish_cluster: keeps the cluster (KUBE_E2E_KEEP=1) or tears it down and checks the host.
finish_cluster() {
  [ -n "${live:-}" ] || return 0
  live=
  if [ -n "$keep" ]; then
    write_cluster_env
    say "the cluster is kept: $work/cluster.env (bash tests/e2e/down.sh $work tears it down)"
    return 0
  fi
  phase teardown
  local torn=0
  teardown_all || torn=1
  host_snapshot "$work/host-after"
  check "the host is as it was before the test (cgroups, mounts, netns, packet filter, sysctls, processes)" \
    eval '[ "$torn" = 0 ] && host_compare "$work/host-before" "$work/host-after"'
  phase
  if [ "$held" = "$total" ]; then rm -rf "$work"; else say "logs kept in $work"; fi
}

run_cluster() {
  local version=$1 t_start t_ready
  mkdir -p "${KUBE_E2E_WORK:-/var/tmp}"
  work=$(mktemp -d "${KUBE_E2E_WORK:-/var/tmp}/kube-bootstrap-e2e.XXXXXX")
  id=kbe$$
  KUBECTL=$E2E_CACHE/mirror/$version/bin/linux/amd64/kubectl
  : >"$work/state.env"
  state_set work "$work"
  host_snapshot "$work/host-before"
  live=1
  say "$version: work directory $work"

  phase bring-up
  # The mirror, as the README's air-gapped section makes one: `mirror` through fetch's verified
  # download, from the build cache laid out like dl.k8s.io, writing the release's pins.
  : >"$work/empty.env"
  local releases=(--kube-version "$version")
  if [ "$nodes" -ge 2 ]; then releases+=(--kube-version "$E2E_OLD" --kube-version "$E2E_NEW"); fi
  "$bin" --config "$work/empty.env" -q mirror "$work/mirror" --mirror "file://$E2E_CACHE/mirror" \
    "${releases[@]}" --arch amd64
  local spec old
  for spec in "${E2E_PAST_RELEASES[@]}"; do
    read -r -a old <<<"$spec" # a release, then its binaries
    "$bin" --config "$work/empty.env" -q mirror "$work/mirror" "${old[@]:1}" --mirror "file://$E2E_CACHE/mirror" \
      --kube-version "${old[0]}" --arch amd64
  done
  net_up
  net_node leader "$E2E_LEADER_IP"
  mirror_up "$work/mirror"
  mkdir -p "$work/leader"
  seed_node "$work/leader/seed" leader "$version" "$E2E_LEADER_PODS"
  node_start leader
  on leader systemctl start etcd.service
  node_runtime leader
  on leader kube-bootstrap pki init
  # The units as the README deploys them: enabled, and started now.
  on leader systemctl enable --now kube-network-env.service
  # systemd's timestamps are CLOCK_MONOTONIC, which the node shares with the host.
  t_start=$(monotonic_usec)
  on leader systemctl enable --now --no-block "${units[@]/%/.service}" kube-bootstrap-rbac.service
  E2E_POLL=0.1 wait_until 300 "the apiserver's /readyz" eval 'export_admin_kubeconfig && readyz_ok' || {
    debug_dump
    return 1
  }
  E2E_POLL=0.1 wait_until 300 "node $E2E_LEADER_IP to be Ready" node_ready || {
    debug_dump
    return 1
  }
  t_ready=$(monotonic_usec)
  bench_bring_up "$version" "$t_start" "$t_ready"
  [ -z "${KUBE_E2E_BENCH_OUT:-}" ] || cat "$work/bench.md" >>"$KUBE_E2E_BENCH_OUT"

  phase checks
  check "$version: /readyz is ok over TLS" readyz_ok
  check "$version: the controller-manager and the scheduler hold their leases" \
    wait_until 120 "the leases" leases_held
  check "$version: the default ServiceAccount exists" \
    wait_until 120 "the default ServiceAccount" k get serviceaccount default
  check "$version: node $E2E_LEADER_IP is Ready" node_ready
  check "$version: a pod runs to completion" eval \
    'pod e2e-hello "echo \"hello from a pod of kube-bootstrap'"'"'s e2e\"" && wait_until 120 "pod e2e-hello" pod_succeeded e2e-hello'
  check "$version: kubectl logs returns its output (apiserver to kubelet TLS)" hello_logs
  check "$version: kubectl exec into a running pod" eval \
    'pod e2e-sleeper "trap \"exit 0\" TERM; sleep 3600 & wait" Always && wait_until 120 "pod e2e-sleeper" pod_running e2e-sleeper && exec_works'
  check "$version: a pod's service-account token and ca.crt reach the API over https" service_account_works
  check "$version: admin.conf is cluster-admin through kube-bootstrap's binding, not system:masters; revoking it works" admin_outside_masters
  check "$version: etcd serves TLS only, to client certificates of the etcd CA; the apiserver dials it so" etcd_tls_only
  check "$version: kube-bootstrap doctor on the node has no failure" doctor_clean
  check "$version: the leader listens only where the README's table of ports says" listeners_as_documented leader
  check "$version: the renewal timer's service re-issues every leaf and restarts each component once, the apiserver last; the cluster keeps serving" certificates_renewed
  # The rules of older releases, once per run (lib/past.sh).
  if [ -z "${past_releases_run:-}" ]; then
    past_releases_run=1
    past_releases "$version"
  fi

  # The offline promise on real components: every unit restarts with the mirror gone.
  mirror_down
  on leader systemctl restart "${units[@]/%/.service}"
  check "$version: with the mirror gone, every unit restarts and the cluster comes back" eval \
    'wait_until 300 "/readyz after the restart" readyz_ok && wait_until 300 "Ready after the restart" node_ready &&
     wait_until 120 "every unit to be active again" units_active &&
     pod e2e-after-restart "echo back" && wait_until 120 "pod e2e-after-restart" pod_succeeded e2e-after-restart'
  if [ "$nodes" -ge 2 ]; then two_nodes "$version"; fi
}

# listeners_as_documented NODE: every listening TCP socket in the node's network namespace is a
# row of the README's "Listening ports" table (process, address and port).
listeners_as_documented() {
  local node=$1
  ip netns exec "$id-$node" ss -ltnpH >"$work/listeners-$node"
  python3 - "$repo/README.md" "$work/listeners-$node" "$node" <<'PY'
import re, sys
readme, listeners, node = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(readme).read()
section = text.split("### Listening ports", 1)[1].split("\n### ", 1)[0].split("\n**", 1)[0]
allowed = []
for row in section.splitlines():
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    if len(cells) != 4 or not cells[0].startswith("`") or cells[0].startswith("`-"):
        continue
    process = cells[0].strip("`")
    where = cells[2]
    if where not in ("every node", node):
        continue
    for addr in re.findall(r"`([^`]+)`", cells[1]):
        allowed.append((process, addr))
bad = []
for line in open(listeners):
    fields = line.split()
    local, users = fields[3], " ".join(fields[5:])
    procs = re.findall(r'\(\("([^"]+)"', users) or ["?"]
    host, port = local.rsplit(":", 1)
    host = host.strip("[]")
    ok = any(p == procs[0] and (a == f"{host}:{port}" or a == f"{host}:*" or (a.startswith("*:") and host in ("*", "0.0.0.0", "::") and a == f"*:{port}")) for p, a in allowed)
    print(("ok   " if ok else "NOT IN THE README ") + f"{procs[0]} {local}")
    if not ok:
        bad.append(local)
if not allowed:
    print("no table found in", readme)
    sys.exit(1)
sys.exit(1 if bad else 0)
PY
}
