# Sourced by run.sh: the two-node scenario on top of the leader (lib/leader.sh). A worker joins
# as the README tells an operator, Services work across the nodes, a node identity cannot act
# as another node, the version-skew policy holds against the real apiserver, the worker is
# upgraded, rolled back offline and the leader's control plane upgraded in the policy's order,
# and faults heal on their own.
#
# Needs: everything lib/leader.sh needs, E2E_OLD (the worker's first release, older than the
# control plane) and E2E_NEW (the control plane's upgrade).

node_units=(kube-kubelet kube-proxy)

# kubelet_version NODE-IP: the release the node's kubelet reports.
kubelet_version() { k get node "$1" -o 'jsonpath={.status.nodeInfo.kubeletVersion}' 2>/dev/null; }
kubelet_at() { [ "$(kubelet_version "$1")" = "$2" ]; }
apiserver_at() { [ "$(k version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])' 2>/dev/null)" = "$1" ]; }

# The operator's join, step by step (README "Joining a worker with a token"): a bootstrap token
# made on the leader, two lines in the worker's settings, then the worker's units. The kubelet
# fetches the CA (checked against the pinned hash), makes its own key and asks for its
# certificate with a CSR; kube-proxy uses the kubelet's identity. No private key moves.
worker_join() {
  local version=$1
  net_node worker "$E2E_WORKER_IP"
  # The pod networks, one /24 per node, routed through the nodes' own addresses.
  ip -n "$id-leader" route add "$E2E_WORKER_PODS" via "$E2E_WORKER_IP"
  ip -n "$id-worker" route add "$E2E_LEADER_PODS" via "$E2E_LEADER_IP"
  mkdir -p "$work/worker"
  seed_node "$work/worker/seed" worker "$version" "$E2E_WORKER_PODS"
  node_start worker
  node_runtime worker
  (umask 077 && on leader kube-bootstrap pki token --ttl 2h >"$work/join.env")
  # The worker's settings as node_env writes them, with the two lines appended.
  set_release worker "$version"
  # /etc/network-environment comes from kube-bootstrap network-env inside the worker's namespace.
  on worker systemctl enable --now kube-network-env.service
  on worker systemctl enable --now --no-block "${node_units[@]/%/.service}"
  wait_until 300 "node $E2E_WORKER_IP to be Ready" node_ready "$E2E_WORKER_IP" || {
    debug_dump worker
    return 1
  }
}

# join_refuses_a_wrong_hash: pki join with a hash other than the CA's refuses it, naming both,
# and writes nothing (run on the worker with its token, before anything else is checked).
join_refuses_a_wrong_hash() {
  local out rc=0 wrong=sha256:0000000000000000000000000000000000000000000000000000000000000000
  out=$(on worker env KUBE_PKI_DIR=/run/e2e-wrong-hash KUBE_DISCOVERY_TOKEN_CA_CERT_HASH=$wrong \
    kube-bootstrap pki join --wait 30 2>&1) || rc=$?
  echo "$out"
  [ "$rc" != 0 ] && grep -q "pins $wrong" <<<"$out" &&
    grep -q "$(sed -n 's/^KUBE_DISCOVERY_TOKEN_CA_CERT_HASH=//p' "$work/join.env")" <<<"$out" &&
    ! on worker test -e /run/e2e-wrong-hash/ca.crt
}

# joined_without_moving_a_key: the worker's kubelet got its certificate through a CSR made with
# the token (approved and issued); no private key file on the worker is one of the leader's,
# and its KUBE_PKI_DIR holds ca.crt alone.
joined_without_moving_a_key() {
  # (not `id`: that names the test's network namespaces)
  local token_id leader_keys worker_keys crossed
  token_id=$(sed -n 's/^KUBE_BOOTSTRAP_TOKEN=\([a-z0-9]*\)\..*/\1/p' "$work/join.env")
  k get csr -o 'custom-columns=NAME:.metadata.name,REQUESTOR:.spec.username,SIGNER:.spec.signerName,CONDITION:.status.conditions[*].type' || return 1
  [ -n "$(k get csr -o "jsonpath={.items[?(@.spec.username==\"system:bootstrap:$token_id\")].status.certificate}")" ] || return 1
  echo "worker KUBE_PKI_DIR: $(on worker ls /etc/kubernetes/pki | tr '\n' ' ')"
  [ "$(on worker ls /etc/kubernetes/pki)" = ca.crt ] || return 1
  keys() { on "$1" sh -c 'for f in $(find /etc/kubernetes /var/lib/kubelet/pki -type f 2>/dev/null); do grep -q "PRIVATE KEY" "$f" && sed -n "/BEGIN .*PRIVATE KEY/,/END .*PRIVATE KEY/p" "$f" | sha256sum | cut -d" " -f1; done' | sort -u; }
  leader_keys=$(keys leader)
  worker_keys=$(keys worker)
  echo "private keys: $(wc -l <<<"$leader_keys") on the leader, $(wc -l <<<"$worker_keys") on the worker"
  crossed=$(comm -12 <(echo "$leader_keys") <(echo "$worker_keys"))
  [ -z "$crossed" ] || { echo "keys on both nodes: $crossed"; return 1; }
  [ -n "$worker_keys" ]
}

# worker_holds_no_leader_secrets: the bundle carried the kubelet's and kube-proxy's pairs and
# ca.crt; nothing of the leader's own (the CAs' keys, super-admin.conf, etcd's keys) is there.
worker_holds_no_leader_secrets() {
  local files
  files=$(on worker sh -c 'cd /etc/kubernetes && find . -type f | sort')
  echo "$files"
  ! grep -Eq '^\./(pki/ca\.key|pki/etcd/|pki/super-admin\.|super-admin\.conf|admin\.conf|pki/sa\.key)' <<<"$files"
}

# kubelet_rotates_its_certificate: the worker's kubelet, given a client certificate near its end
# (signed here with the leader's CA: valid from an hour ago for five more minutes, so past the
# 70-90% of its life at which a kubelet renews), asks for a new one with a CSR that the
# controller-manager approves (kube-bootstrap's selfnodeclient binding) and signs, and goes on
# with it; the node stays Ready.
kubelet_rotates_its_certificate() {
  local d=$work/short-lived rc=0 dir=/var/lib/kubelet/pki
  mkdir -p "$d"
  on leader cat /etc/kubernetes/pki/ca.crt >"$d/ca.crt"
  (umask 077 && on leader cat /etc/kubernetes/pki/ca.key >"$d/ca.key")
  : >"$d/index.txt"
  cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = short
[short]
database = $d/index.txt
new_certs_dir = $d
rand_serial = yes
default_md = sha256
policy = any
preserve = yes
unique_subject = no
copy_extensions = none
x509_extensions = client
[any]
organizationName = supplied
commonName = supplied
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/short.key" \
    -subj "/O=system:nodes/CN=system:node:$E2E_WORKER_IP" -out "$d/short.csr" 2>/dev/null &&
    openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" -in "$d/short.csr" \
      -out "$d/short.crt" -notext -startdate "$(date -u -d '-60 min' +%Y%m%d%H%M%SZ)" \
      -enddate "$(date -u -d '+5 min' +%Y%m%d%H%M%SZ)" 2>&1 | tail -2 || rc=1
  rm -f "$d/ca.key"
  [ "$rc" = 0 ] || return 1
  openssl x509 -noout -subject -enddate -in "$d/short.crt"
  # The kubelet's certificate store: kubelet-client-current.pem links to the pair in use.
  cat "$d/short.crt" "$d/short.key" | on worker sh -c "umask 077 && cat >$dir/kubelet-client-e2e-short.pem &&
    ln -sfn kubelet-client-e2e-short.pem $dir/kubelet-client-current.pem"
  on worker systemctl restart kube-kubelet.service || rc=1
  if [ "$rc" = 0 ]; then
    wait_until 180 "the worker's kubelet to renew its client certificate" \
      on worker openssl x509 -noout -checkend $((300 * 86400)) -in $dir/kubelet-client-current.pem || rc=1
  fi
  on worker openssl x509 -noout -subject -issuer -enddate -in $dir/kubelet-client-current.pem || rc=1
  [ -n "$(k get csr -o "jsonpath={.items[?(@.spec.username==\"system:node:$E2E_WORKER_IP\")].status.certificate}")" ] || rc=1
  wait_until 60 "node $E2E_WORKER_IP Ready with its renewed certificate" node_ready "$E2E_WORKER_IP" || rc=1
  rm -rf "$d"
  return "$rc"
}

network_env_written() {
  local file
  file=$(on worker cat /etc/network-environment)
  echo "$file"
  grep -qx "DEFAULT_IPV4=$E2E_WORKER_IP" <<<"$file"
}

both_ready() { node_ready "$E2E_LEADER_IP" && node_ready "$E2E_WORKER_IP"; }

# A pod pinned to the worker: it runs there, and logs and exec go through the worker's kubelet.
worker_pod_works() {
  pod e2e-on-worker 'echo "on $(cat /etc/hostname)"; trap "exit 0" TERM; sleep 3600 & wait' Always "$E2E_WORKER_IP" &&
    wait_until 120 "pod e2e-on-worker" pod_running e2e-on-worker || return 1
  local where logs out
  where=$(k get pod e2e-on-worker -o 'jsonpath={.spec.nodeName}')
  logs=$(k logs e2e-on-worker)
  out=$(k exec e2e-on-worker -- /bin/sh -c 'echo exec on worker')
  echo "node $where; logs: $logs; exec: $out"
  [ "$where" = "$E2E_WORKER_IP" ] && [ "$logs" = "on e2e-on-worker" ] && [ "$out" = "exec on worker" ]
}

# Two replicas of a web server, one per node, behind a ClusterIP and a NodePort Service.
web_up() {
  k apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: e2e-web }
spec:
  replicas: 2
  selector: { matchLabels: { app: e2e-web } }
  template:
    metadata: { labels: { app: e2e-web } }
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector: { matchLabels: { app: e2e-web } }
      containers:
      - name: web
        image: $E2E_TEST_IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{ containerPort: 8080 }]
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: e2e-web }
spec:
  selector: { app: e2e-web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: e2e-web-nodeport }
spec:
  type: NodePort
  selector: { app: e2e-web }
  ports: [{ port: 80, targetPort: 8080 }]
EOF
}

web_ready() {
  [ "$(k get deployment e2e-web -o 'jsonpath={.status.readyReplicas}' 2>/dev/null)" = 2 ]
}

web_spread() {
  local nodes
  nodes=$(k get pods -l app=e2e-web -o 'jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u)
  echo "e2e-web pods on: $nodes"
  [ "$(wc -l <<<"$nodes")" = 2 ]
}

# From the pod on each node, the ClusterIP reaches the pods on both nodes.
cluster_ip_reaches_both() {
  local ip pod seen all
  ip=$(k get service e2e-web -o 'jsonpath={.spec.clusterIP}')
  all=$(k get pods -l app=e2e-web -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
  for pod in $all; do
    # busybox's nc, not its wget: Debian's static busybox wget crashes on these hosts.
    seen=$(k exec "$pod" -- /bin/sh -c "for i in \$(seq 1 40); do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $ip 80 | tail -n 1; done" | sort -u)
    echo "from $pod ($(k get pod "$pod" -o 'jsonpath={.spec.nodeName}')) http://$ip/ answered: $(echo $seen)"
    [ "$seen" = "$all" ] || return 1
  done
}

# kube-proxy programs a new endpoint a moment after the pod is ready: retry for a minute, then
# once more to show what was answered.
cluster_ip_settles() {
  wait_until 60 "the ClusterIP to reach both pods from each node" cluster_ip_reaches_both || cluster_ip_reaches_both
}

nodeport_answers() {
  local port answer
  port=$(k get service e2e-web-nodeport -o 'jsonpath={.spec.ports[0].nodePort}')
  answer=$(ip netns exec "$id-leader" python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())' "http://$E2E_WORKER_IP:$port/")
  echo "http://$E2E_WORKER_IP:$port/ from the leader's namespace: $answer"
  grep -q '^e2e-web-' <<<"$answer"
}

# kubectl on the worker with the worker kubelet's own credentials.
as_worker() {
  on worker "$(in_node "$KUBECTL")" --kubeconfig /etc/kubernetes/kubelet.conf --request-timeout=20s "$@"
}

# The worker's identity works for itself and is refused for what is not its own
# (the Node authorizer and NodeRestriction, fed by the identities pki makes).
node_identity_confined() {
  k create secret generic e2e-not-for-nodes --from-literal=k=v --dry-run=client -o yaml | k apply -f - || return 1
  as_worker get node "$E2E_WORKER_IP" -o name || return 1
  local out
  if out=$(as_worker get secret e2e-not-for-nodes 2>&1); then
    echo "the worker read a secret none of its pods uses: $out"
    return 1
  fi
  echo "reading the secret: $out"
  grep -q Forbidden <<<"$out" || return 1
  if out=$(as_worker label node "$E2E_LEADER_IP" e2e-forged=yes 2>&1); then
    echo "the worker changed the leader's Node: $out"
    return 1
  fi
  echo "labelling the leader's node: $out"
  grep -q Forbidden <<<"$out"
}

worker_doctor_skew_ok() {
  local out rc=0
  out=$(on worker kube-bootstrap doctor 2>&1) || rc=$?
  echo "$out"
  grep -E '^ *warn' <<<"$out" | sed 's/^/    doctor (worker): /' >&2 || true
  [ "$rc" = 0 ] && grep -E '^ *ok +skew' <<<"$out" | grep -q "within the version-skew policy"
}

# A kubelet newer than the apiserver: fetch refuses it against the real /version.
skew_guard_refuses_newer() {
  local pin out rc=0
  pin=$(sed -n 's/^KUBE_SHA256_KUBELET="\{0,1\}\([0-9a-f]*\)"\{0,1\}$/\1/p' "$work/mirror/$E2E_NEW/pins-amd64.env")
  out=$(on worker env KUBE_VERSION="$E2E_NEW" KUBE_SHA256_KUBELET="$pin" kube-bootstrap fetch kubelet 2>&1) || rc=$?
  echo "fetch kubelet $E2E_NEW (exit $rc): $out"
  [ "$rc" != 0 ] && grep -q "refusing kubelet $E2E_NEW" <<<"$out" && grep -q "runs $control" <<<"$out" &&
    grep -q "version-skew policy" <<<"$out" && kubelet_at "$E2E_WORKER_IP" "$control"
}

# change_release NODE VERSION UNIT...: the README's upgrade: KUBE_VERSION and pins, restart.
change_release() {
  local node=$1 version=$2
  shift 2
  set_release "$node" "$version"
  on "$node" systemctl restart "${@/%/.service}"
}

pods_on_worker_back() {
  wait_until 180 "the pods on the worker to run again" eval \
    'web_ready && pod_running e2e-on-worker && [ "$(k get pod e2e-on-worker -o "jsonpath={.status.containerStatuses[0].ready}")" = true ]'
}

worker_upgraded() {
  change_release worker "$control" "${node_units[@]}" &&
    wait_until 300 "the worker's kubelet at $control" kubelet_at "$E2E_WORKER_IP" "$control" &&
    wait_until 120 "both nodes Ready" both_ready && pods_on_worker_back
}

# node_now NODE: the node's clock as `journalctl --since` takes it.
node_now() { echo "@$(on "$1" date +%s)"; }

# Back to the old release with the mirror down: from the kept copies, pins included.
worker_rolled_back() {
  local since
  since=$(node_now worker)
  mirror_down
  change_release worker "$E2E_OLD" "${node_units[@]}" &&
    wait_until 300 "the worker's kubelet back at $E2E_OLD" kubelet_at "$E2E_WORKER_IP" "$E2E_OLD" &&
    wait_until 120 "both nodes Ready" both_ready && wait_until 60 "the worker's units" units_active worker "${node_units[@]}" &&
    on worker journalctl -u kube-kubelet --since "$since" --no-pager -o cat | grep 'restored a kept release, no network used'
}

# The leader from one minor to the next in the policy's order: apiserver, then
# controller-manager and scheduler, then the kubelets (and kube-proxy beside each).
control_plane_upgraded() {
  mirror_up "$work/mirror"
  set_release leader "$E2E_NEW"
  on leader systemctl restart kube-apiserver.service &&
    wait_until 300 "the apiserver at $E2E_NEW" apiserver_at "$E2E_NEW" &&
    on leader systemctl restart kube-controller-manager.service kube-scheduler.service &&
    wait_until 120 "the control plane's units" units_active leader kube-controller-manager kube-scheduler &&
    wait_until 120 "the leases" leases_held &&
    on leader systemctl restart kube-kubelet.service kube-proxy.service &&
    wait_until 300 "the leader's kubelet at $E2E_NEW" kubelet_at "$E2E_LEADER_IP" "$E2E_NEW" &&
    change_release worker "$E2E_NEW" "${node_units[@]}" &&
    wait_until 300 "the worker's kubelet at $E2E_NEW" kubelet_at "$E2E_WORKER_IP" "$E2E_NEW" &&
    wait_until 120 "both nodes Ready" both_ready && units_active leader && units_active worker "${node_units[@]}" &&
    pods_on_worker_back
}

# kill -9 of the worker's kubelet: systemd restarts it through fetch and exec, offline.
kubelet_killed_comes_back() {
  local before after
  before=$(unit_pid worker kube-kubelet)
  on worker kill -KILL "$before"
  wait_until 60 "a new kubelet" eval '[ "$(unit_pid worker kube-kubelet)" != "$before" ] && [ "$(unit_pid worker kube-kubelet)" != 0 ]' &&
    wait_until 60 "the worker's kubelet" units_active worker kube-kubelet &&
    wait_until 120 "the worker Ready" node_ready "$E2E_WORKER_IP" || return 1
  after=$(unit_pid worker kube-kubelet)
  echo "kubelet PID $before killed; now $after"
}

# The apiserver stopped for 30 s: nothing gives up (StartLimitIntervalSec=0), all recovers.
apiserver_outage_survived() {
  on leader systemctl stop kube-apiserver.service
  sleep 30
  on leader systemctl start kube-apiserver.service
  wait_until 180 "/readyz after the outage" readyz_ok &&
    wait_until 180 "both nodes Ready" both_ready &&
    wait_until 120 "every unit on the leader" units_active leader &&
    wait_until 60 "the worker's units" units_active worker "${node_units[@]}" &&
    wait_until 60 "the Service from the worker's pod" cluster_ip_reaches_both
}

# The worker from cold, mirror down: every unit and containerd stopped, then started again.
worker_cold_start() {
  local since
  since=$(node_now worker)
  # As a shutdown would: the node's units, every pod's containers, containerd.
  on worker systemctl stop "${node_units[@]/%/.service}"
  on worker systemctl stop kubepods.slice containerd.service
  on worker systemctl start containerd.service &&
    on worker systemctl start "${node_units[@]/%/.service}" &&
    wait_until 60 "the worker's units" units_active worker "${node_units[@]}" &&
    wait_until 180 "the worker Ready" node_ready "$E2E_WORKER_IP" && pods_on_worker_back || return 1
  # Nothing was downloaded: every fetch was satisfied by its install record.
  local log
  log=$(on worker journalctl -u kube-kubelet -u kube-proxy --since "$since" -o cat --no-pager | grep -E 'already installed|downloaded and verified')
  echo "fetch on the cold start: $log"
  grep -q 'already installed' <<<"$log" && ! grep -q 'downloaded and verified' <<<"$log"
}

two_nodes() {
  local control=$1
  phase join
  # The one-node checks ended with the mirror gone: a joining worker needs it.
  mirror_up "$work/mirror"
  worker_join "$E2E_OLD"
  phase "two-node checks"
  check "network-env wrote the worker's /etc/network-environment in its namespace" network_env_written
  check "pki join refuses a CA whose hash is not the pinned one, naming both" join_refuses_a_wrong_hash
  check "the worker joined with a token: its kubelet's CSR was approved, and no private key crossed between the nodes" joined_without_moving_a_key
  check "the worker holds none of the leader's keys or kubeconfigs (super-admin.conf, CA and etcd keys)" worker_holds_no_leader_secrets
  check "both nodes are Ready (control plane $control, worker kubelet $E2E_OLD)" both_ready
  check "a pod on the worker runs; logs and exec go through the worker's kubelet" worker_pod_works
  check "the worker's kubelet renews a client certificate near its end through an approved CSR; the node stays Ready" kubelet_rotates_its_certificate
  web_up >/dev/null
  check "a Deployment of 2 spreads one pod per node" eval 'wait_until 180 "e2e-web ready" web_ready && web_spread'
  check "from a pod on each node, the ClusterIP reaches the pods on both nodes" cluster_ip_settles
  check "a NodePort on the worker's address answers from the leader's namespace" \
    eval 'wait_until 60 "the NodePort" nodeport_answers || nodeport_answers'
  check "the worker's kubelet identity is refused another node's Secret and Node" node_identity_confined
  check "doctor on the worker: $E2E_OLD is within the skew policy of the $control apiserver" worker_doctor_skew_ok
  check "the worker listens only where the README's table of ports says" listeners_as_documented worker
  phase "upgrade and rollback"
  check "the worker is upgraded from $E2E_OLD to $control by KUBE_VERSION and a restart" worker_upgraded
  check "fetch refuses a kubelet $E2E_NEW newer than the $control apiserver" skew_guard_refuses_newer
  check "the worker rolls back to $E2E_OLD with every mirror down, from kept releases" worker_rolled_back
  phase faults
  check "kill -9 of the worker's kubelet: systemd brings it back, offline" kubelet_killed_comes_back
  check "the apiserver down for 30 s: every unit recovers on its own" apiserver_outage_survived
  check "the worker from cold with the mirror down: back with no download" worker_cold_start
  phase "control-plane upgrade"
  check "the control plane is upgraded to $E2E_NEW in the skew policy's order; nodes and pods survive" \
    control_plane_upgraded
}
