#!/bin/bash
# Ballast's end-to-end suite against a real Kubernetes: a one-node v1.20 cluster on this machine
# (cluster.sh), the real CSI sidecars, the Ballast image, `deploy/` applied with kustomize, the
# node plugin as the real DaemonSet pod on the kubelet node and two more storage nodes as host
# processes so that volumes have 3 replicas. See tests/e2e/README.md.
#
#   tests/e2e/run.sh --kubernetes DIR --sidecars DIR [--image TAR] [--work DIR] [--record FILE] [--keep]
#
#   --kubernetes  output of tests/e2e/build-kubernetes.sh (bin/ and the source tree)
#   --sidecars    output of tests/e2e/build-sidecars.sh (bin/ and snapshot/)
#   --image       Ballast's image archive (default: target/image/ballast-0.1.0.oci.tar, from deploy/image/build.sh)
#   --record      append the summary to this file (docs/e2e.md) with the date and commit
#   --keep        leave the cluster running at the end (stop it with: tests/e2e/run.sh --down --work DIR ...)
#
# Root only. Exits non-zero when any check fails.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KUBE="" SIDECARS="" IMAGE="$ROOT/target/image/ballast-0.1.0.oci.tar" E2E_WORK=/var/tmp/ballast-e2e RECORD="" KEEP="" DOWN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kubernetes) KUBE=$(realpath "$2"); shift 2;;
    --sidecars) SIDECARS=$(realpath "$2"); shift 2;;
    --image) IMAGE=$(realpath "$2"); shift 2;;
    --work) E2E_WORK=$(realpath -m "$2"); shift 2;;
    --record) RECORD=$(realpath -m "$2"); shift 2;;
    --keep) KEEP=1; shift;;
    --down) DOWN=1; shift;;
    -h|--help) sed -n '2,17p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (containerd, kubelet, mounts)" >&2; exit 2; }
[ -n "$KUBE" ] && [ -x "$KUBE/bin/kubelet" ] || { echo "run.sh: --kubernetes DIR with bin/kubelet (tests/e2e/build-kubernetes.sh)" >&2; exit 2; }
. "$ROOT/tests/e2e/cluster.sh"
. "$ROOT/tests/e2e/images.sh"
. "$ROOT/bin/find-jdk"
export E2E_WORK
HOSTNODES=(e2e-n2 e2e-n3)

stop_host_nodes() {
  for n in "${HOSTNODES[@]}" s3proxy; do
    [ -f "$E2E_WORK/pids/$n" ] && kill "$(cat "$E2E_WORK/pids/$n")" 2>/dev/null && rm -f "$E2E_WORK/pids/$n"
  done
}

teardown() {
  log "teardown"
  stop_host_nodes
  cluster_down "$KUBE"
  # Loop devices over the node plugin's FUSE files, the FUSE mounts, the data.
  # (A device bound through a mount of a container that is gone shows only "(/volume)".)
  losetup -a 2>/dev/null | grep -E '/var/lib/ballast|\(/volume\)' | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null
  grep -F " /var/lib/ballast" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf /var/lib/ballast "$E2E_WORK"
}

if [ -n "$DOWN" ]; then teardown; exit 0; fi
for tool in etcd containerd runc ctr kubectl umoci skopeo openssl gcc curl losetup; do
  command -v $tool >/dev/null || { echo "run.sh: needs $tool (see tests/e2e/README.md)" >&2; exit 2; }
done
[ -x "$SIDECARS/bin/csi-provisioner" ] || { echo "run.sh: --sidecars DIR with bin/csi-provisioner (tests/e2e/build-sidecars.sh)" >&2; exit 2; }
[ -f "$IMAGE" ] || { echo "run.sh: no Ballast image at $IMAGE (deploy/image/build.sh)" >&2; exit 2; }
[ -f "$ROOT/csi/target/ballast.jar" ] || { echo "run.sh: build Ballast first (./mvnw -DskipTests package)" >&2; exit 2; }
[ -e "$E2E_WORK" ] && teardown
mkdir -p "$E2E_WORK"
[ -n "$KEEP" ] || trap teardown EXIT

# ---- results -------------------------------------------------------------------------------
RESULTS=() FAILED=0
result() { # result CHECK PASS|FAIL|SKIP SECONDS DETAIL
  RESULTS+=("| $1 | $2 | $3 | $4 |")
  [ "$2" = FAIL ] && FAILED=1
  log "$2: $1 ($3 s) $4"
}
ms() { date +%s%N | cut -c1-13; }
secs() { awk -v a="$1" -v b="$(ms)" 'BEGIN {printf "%.1f", (b-a)/1000}'; }

pvc_phase() { kc get pvc "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
pod_phase() { kc get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
until_phase() { # until_phase pvc|pod NAME PHASE LIMIT
  local t0=$SECONDS
  while [ "$("${1}_phase" "$2")" != "$3" ]; do
    if [ "$("${1}_phase" "$2")" = Failed ] || (( SECONDS - t0 >= $4 )); then return 1; fi
    sleep 0.5
  done
}
pod_log() { kc logs "$1" 2>/dev/null; }

pvc() { # pvc NAME CLASS SIZE [Block]
  cat <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: $2
  volumeMode: ${4:-Filesystem}
  resources: {requests: {storage: $3}}
EOF
}
pod() { # pod NAME PVC BLOCK(yes|no) RESTART SCRIPT
  local vol
  if [ "$3" = yes ]; then vol="volumeDevices: [{name: v, devicePath: /dev/xvda}]"; else vol="volumeMounts: [{name: v, mountPath: /data}]"; fi
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  restartPolicy: $4
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: e2e.local/busybox:1
      imagePullPolicy: Never
      command: [/bin/sh, -c, '$5']
      $vol
  volumes: [{name: v, persistentVolumeClaim: {claimName: $2}}]
EOF
}

# ---- cluster and install -------------------------------------------------------------------
log "cluster up (logs: $E2E_WORK/logs)"
t=$(ms)
cluster_up "$KUBE/bin" || { result "cluster up" FAIL "$(secs "$t")" "see $E2E_WORK/logs"; exit 1; }
result "one-node Kubernetes v1.20.2 Ready" PASS "$(secs "$t")" "etcd, apiserver, controller-manager, scheduler, containerd, kubelet, kube-proxy"
t=$(ms)
build_images "$KUBE" "$SIDECARS" "$IMAGE"
result "images built and imported" PASS "$(secs "$t")" "pause, busybox, 7 sidecars, ballast:0.1.0"

warnings=$(kubectl kustomize "$ROOT/deploy/kubernetes" 2>&1 >/dev/null; kubectl kustomize "$ROOT/deploy/overlays/snapshots" 2>&1 >/dev/null)
[ -z "$warnings" ] && result "kubectl kustomize deploy/kubernetes, deploy/overlays/snapshots" PASS 0 "no warnings" \
  || result "kubectl kustomize" FAIL 0 "$warnings"

log "snapshot CRDs and snapshot-controller (external-snapshotter v6.3.4)"
kc apply -f "$SIDECARS/snapshot/" >/dev/null 2>"$E2E_WORK/logs/snapshot-apply.err" || true
kc apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: snapshot-controller, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {app: snapshot-controller}}
  template:
    metadata: {labels: {app: snapshot-controller}}
    spec:
      serviceAccountName: snapshot-controller
      hostNetwork: true
      containers:
        - name: snapshot-controller
          image: registry.k8s.io/sig-storage/snapshot-controller:v6.3.4
          imagePullPolicy: IfNotPresent
          args: [--v=2, --leader-election=false]
EOF

kc wait --for condition=established --timeout=60s crd/volumesnapshotclasses.snapshot.storage.k8s.io >/dev/null
# A server dry run only pretends to create the namespace, so its namespaced objects would be
# refused: the namespace goes first, for real (the apply below creates it anyway).
kc apply -f "$ROOT/deploy/kubernetes/namespace.yaml" >/dev/null
out=$(kc apply --dry-run=server -k "$ROOT/deploy/overlays/snapshots" 2>&1)
rc=$?
echo "$out" >"$E2E_WORK/logs/dry-run.out"
if [ $rc -eq 0 ] && ! grep -qi "warning\|error" <<<"$out"; then
  result "kubectl apply --dry-run=server -k deploy/overlays/snapshots" PASS 0 "$(grep -c . <<<"$out") objects, no warnings"
else
  result "kubectl apply --dry-run=server -k" FAIL 0 "$(grep -iE 'warning|error' <<<"$out" | head -3 | tr '\n' ' ' | cut -c1-300)"
fi
# The node's zone, as a cloud provider would label it: Ballast's node plugin takes it from there.
kc label node "$E2E_NODE" topology.kubernetes.io/zone=e2e-zone-a --overwrite >/dev/null
t=$(ms)
kc apply -k "$ROOT/deploy/overlays/snapshots" >/dev/null
if wait_for 240 "the node plugin registered" sh -c "kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig get csinode $E2E_NODE \
     -o jsonpath='{.spec.drivers[*].name}' | grep -q ballast.csi.io" \
   && kc -n ballast-system rollout status deploy/ballast-controller --timeout=180s >/dev/null \
   && kc get csinode $E2E_NODE -o jsonpath='{.spec.drivers[0].topologyKeys}' | grep -q topology.ballast.csi.io/zone; then
  result "install: kubectl apply -k, node plugin registered (zone from the node's label), controller ready" PASS "$(secs "$t")" \
    "CSINode keys: $(kc get csinode $E2E_NODE -o jsonpath='{.spec.drivers[0].topologyKeys}')"
else
  result "install" FAIL "$(secs "$t")" "see kubectl -n ballast-system get pods; $E2E_WORK/logs"
  kc -n ballast-system get pods -o wide >&2
  exit 1
fi

# ---- least privilege: what the manifests promise, checked on the running pods --------------
uid=$(kc -n ballast-system exec deploy/ballast-controller -c ballast -- id -u 2>/dev/null | tr -d '\r')
caps=$(kc -n ballast-system exec deploy/ballast-controller -c ballast -- grep CapEff /proc/1/status 2>/dev/null | awk '{print $2}')
data_mode=$(stat -c %a /var/lib/ballast 2>/dev/null)
sock_mode=$(stat -c %a /var/lib/kubelet/plugins/ballast.csi.io/csi.sock 2>/dev/null)
if [ "$uid" = 65532 ] && [ "$caps" = 0000000000000000 ] && [ "$data_mode" = 700 ] && [ "$sock_mode" = 600 ]; then
  result "least privilege: controller non-root without capabilities; node data dir and CSI socket root's alone" PASS 0 \
    "controller uid $uid, CapEff $caps; /var/lib/ballast $data_mode, plugin csi.sock $sock_mode"
else
  result "least privilege" FAIL 0 "controller uid '$uid' CapEff '$caps'; /var/lib/ballast '$data_mode', csi.sock '$sock_mode'"
fi

# ---- TLS: every port mutual TLS; the node's certificate from a request the controller signed ----
t=$(ms)
ballast() { "$ROOT/bin/ballast" "$@"; }
umask 077
mkdir -p "$E2E_WORK/ca" "$E2E_WORK/tls"
# The controller made the cluster's CA at its first start (Secret ballast-ca, cert-manager's layout):
# what an operator extracts to issue the CLI's certificate and those of nodes outside Kubernetes.
kc -n ballast-system get secret ballast-ca -o jsonpath='{.data.tls\.crt}' | base64 -d >"$E2E_WORK/ca/tls.crt"
kc -n ballast-system get secret ballast-ca -o jsonpath='{.data.tls\.key}' | base64 -d >"$E2E_WORK/ca/tls.key"
umask 022
csr=$(kc get csr -o jsonpath='{range .items[*]}{.metadata.name} {.spec.signerName} {.status.conditions[0].type}{"\n"}{end}' \
  | grep " ballast.csi.io/node Approved" | head -1 | cut -d' ' -f1)
node_crt=/var/lib/ballast/tls/tls.crt
cert=$(openssl x509 -in "$node_crt" -noout -subject -ext subjectAltName 2>/dev/null | tr '\n' ' ' | tr -s ' ')
verified=$(openssl verify -CAfile "$E2E_WORK/ca/tls.crt" "$node_crt" 2>&1)
modes="$(stat -c %a /var/lib/ballast/tls 2>/dev/null) $(stat -c %a /var/lib/ballast/tls/tls.key 2>/dev/null)"
plain=$(ballast status --cluster "$E2E_IP:7001" 2>&1 >/dev/null | head -1)
if [ -n "$csr" ] && grep -q "CN *= *$E2E_NODE" <<<"$cert" && grep -q "IP Address:$E2E_IP" <<<"$cert" \
   && [ "$verified" = "$node_crt: OK" ] && [ "$modes" = "700 600" ] && [ -n "$plain" ]; then
  result "TLS: the node plugin's key stays on its node, its certificate from a CSR the controller signed; plaintext refused" \
    PASS "$(secs "$t")" "CSR $csr Approved; $cert; tls dir $modes; CLI without a certificate: ${plain:0:90}"
else
  result "TLS: node certificate from the controller" FAIL "$(secs "$t")" \
    "csr '$csr'; cert '$cert'; verify '$verified'; modes '$modes'; plaintext '$plain'"
fi

# Another key asking for the enrolled node's name, as the node plugin's service account: denied.
t=$(ms)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$E2E_WORK/impostor.key" -subj "/CN=$E2E_NODE" \
  -out "$E2E_WORK/impostor.csr" 2>/dev/null
kc --as=system:serviceaccount:ballast-system:ballast-node apply -f - >/dev/null <<IMPOSTOR
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: e2e-impostor}
spec:
  signerName: ballast.csi.io/node
  usages: [digital signature, key agreement, server auth, client auth]
  request: $(base64 -w0 "$E2E_WORK/impostor.csr")
IMPOSTOR
impostor=""
for _ in $(seq 1 30); do
  impostor=$(kc get csr e2e-impostor -o jsonpath='{.status.conditions[0].type}: {.status.conditions[0].message}' 2>/dev/null)
  [ -n "$impostor" ] && [ "$impostor" != ": " ] && break
  sleep 1
done
if [[ "$impostor" == Denied:*"enrolled with another key"* ]] && [ -z "$(kc get csr e2e-impostor -o jsonpath='{.status.certificate}')" ]; then
  result "TLS: a request for an enrolled node's name with another key is denied" PASS "$(secs "$t")" "${impostor:0:160}"
else
  result "TLS: impostor request" FAIL "$(secs "$t")" "'$impostor'"
fi
kc delete csr e2e-impostor >/dev/null 2>&1

ballast certs issue --ca "$E2E_WORK/ca" --name cli --out "$E2E_WORK/tls/cli" >/dev/null
export BALLAST_TLS_DIR="$E2E_WORK/tls/cli"   # every CLI call below: the operator's certificate

log "two more storage nodes as host processes (the catalog is found on $E2E_NODE), admitted by the operator"
for i in 2 3; do
  n=e2e-n$i
  mkdir -p "$E2E_WORK/$n"
  ballast certs issue --ca "$E2E_WORK/ca" --name $n --ip "$E2E_IP" --out "$E2E_WORK/tls/$n" >/dev/null
  start $n "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dsun.misc.unsafe.memory.access=allow -Xmx512m \
    -jar "$ROOT/csi/target/ballast.jar" node --data-dir "$E2E_WORK/$n" --node-id $n --cluster-id ballast \
    --raft-listen "$E2E_IP:710$i" --admin-listen "$E2E_IP:700$i" --fd-keeper none --catalog "$E2E_NODE=$E2E_IP:7101" \
    --label zone=e2e-zone-b --tls-dir "$E2E_WORK/tls/$n"
done
ballast node admit e2e-n2 e2e-n3 --cluster "$E2E_IP:7001" >"$E2E_WORK/logs/admit.out" 2>&1 \
  || log "admit failed: $(cat "$E2E_WORK/logs/admit.out")"
status() { "$ROOT/bin/ballast" status --cluster "$E2E_IP:7001" "$@"; }
if wait_for 90 "3 storage nodes up" sh -c "$ROOT/bin/ballast status --cluster $E2E_IP:7001 --output json \
     | grep -o '\"up\": *true' | wc -l | grep -qx 3"; then
  result "3 storage nodes in the catalog" PASS 0 "$E2E_NODE (DaemonSet pod), e2e-n2, e2e-n3 (host processes)"
else
  result "3 storage nodes in the catalog" FAIL 0 "$(status 2>&1 | head -20 | tr '\n' ' ')"
fi

# ---- filesystem PVC: written by one pod, read back by the next -----------------------------
t=$(ms)
{ pvc fs ballast 1Gi; echo ---; pod fs-writer fs no Never \
  'dd if=/dev/urandom of=/data/blob bs=1M count=32 2>/dev/null && md5sum /data/blob > /data/blob.md5 && sync && cat /data/blob.md5'; } \
  | kc apply -f - >/dev/null
until_phase pvc fs Bound 120; bound=$(secs "$t")
if until_phase pod fs-writer Succeeded 180; then
  written=$(secs "$t"); sum=$(pod_log fs-writer | cut -c1-32)
  # pod created -> its container started: scheduling, attach, stage (mkfs), publish, container start
  running=$(kc get pod fs-writer -o jsonpath='{.metadata.creationTimestamp} {.status.containerStatuses[0].state.terminated.startedAt}' \
    | { read -r a b; echo $(( $(date -d "$b" +%s) - $(date -d "$a" +%s) )); })
  kc delete pod fs-writer --wait=true >/dev/null
  pod fs-reader fs no Never 'md5sum -c /data/blob.md5' | kc apply -f - >/dev/null
  if until_phase pod fs-reader Succeeded 180; then
    result "filesystem PVC (ext4): written, pod deleted, read back by a new pod" PASS "$(secs "$t")" \
      "PVC bound ${bound} s, pod running ${running} s, writer done ${written} s; md5 $sum equal"
  else
    result "filesystem PVC read back" FAIL "$(secs "$t")" "$(pod_log fs-reader | tail -3 | tr '\n' ' ')"
  fi
else
  result "filesystem PVC" FAIL "$(secs "$t")" "pvc $(pvc_phase fs), writer $(pod_phase fs-writer): $(kc describe pod fs-writer | tail -5 | tr '\n' ' ')"
fi
replicas=$(status --output json 2>/dev/null | tr -d ' \n' | grep -o '"placement":\[[^]]*\]' | head -1)
log "replicas of the first volume: $replicas"

# ---- block PVC -----------------------------------------------------------------------------
t=$(ms)
{ pvc blk ballast 64Mi Block; echo ---; pod blk-writer blk yes Never \
  'dd if=/dev/urandom of=/tmp/x bs=1M count=16 2>/dev/null && dd if=/tmp/x of=/dev/xvda bs=1M conv=fsync 2>/dev/null && md5sum /tmp/x'; } \
  | kc apply -f - >/dev/null
if until_phase pod blk-writer Succeeded 180; then
  w=$(pod_log blk-writer | cut -c1-32)
  kc delete pod blk-writer --wait=true >/dev/null
  pod blk-reader blk yes Never 'dd if=/dev/xvda bs=1M count=16 2>/dev/null | md5sum' | kc apply -f - >/dev/null
  until_phase pod blk-reader Succeeded 180
  r=$(pod_log blk-reader | cut -c1-32)
  [ -n "$w" ] && [ "$w" = "$r" ] && result "block PVC: 16 MiB written raw, read back by a new pod" PASS "$(secs "$t")" "md5 $w equal" \
    || result "block PVC" FAIL "$(secs "$t")" "written $w, read $r"
else
  result "block PVC" FAIL "$(secs "$t")" "writer $(pod_phase blk-writer)"
fi

# ---- kubectl cordon drains the node in Ballast; uncordon lifts it --------------------------
# Before the next pods: a cordoned single node schedules nothing. The fs and blk volumes have
# a replica on the kubelet node, which may lead them.
t=$(ms)
led_before=$(status --output json 2>/dev/null | tr -d ' \n' | grep -o "\"leader\":\"$E2E_NODE\"" | wc -l)
kc cordon "$E2E_NODE" >/dev/null
if wait_for 60 "the cordon drains $E2E_NODE and its leaderships move" sh -c "$ROOT/bin/ballast status --cluster $E2E_IP:7001 \
     --output json | tr -d ' \n' | grep -q '\"drainFromCordon\":true' && ! $ROOT/bin/ballast status --cluster $E2E_IP:7001 \
     --output json | tr -d ' \n' | grep -q '\"leader\":\"$E2E_NODE\"'"; then
  drained=$(secs "$t")
  kc uncordon "$E2E_NODE" >/dev/null
  if wait_for 60 "the uncordon lifts the drain" sh -c "! $ROOT/bin/ballast status --cluster $E2E_IP:7001 --output json \
       | tr -d ' \n' | grep -qE '\"drain\":\"NODE_DRAIN_(LEADERS|EVACUATE)'"; then
    result "kubectl cordon drains the node (leaderships move off), uncordon lifts it" PASS "$(secs "$t")" \
      "led $led_before volume(s) before; drained and led none ${drained} s after the cordon"
  else
    result "kubectl uncordon lifts the drain" FAIL "$(secs "$t")" "$(status 2>&1 | head -8 | tr '\n' ' ')"
  fi
else
  kc uncordon "$E2E_NODE" >/dev/null
  result "kubectl cordon drains the node" FAIL "$(secs "$t")" "$(status 2>&1 | head -8 | tr '\n' ' ')"
fi

# ---- a pod on a node without a replica (diskless frontend) ---------------------------------
# Replicas only in zone b (the host-process nodes); the pod runs on the kubelet node (zone a).
t=$(ms)
{ cat <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ballast-zone-b}
provisioner: ballast.csi.io
parameters: {replicas: "2"}
volumeBindingMode: Immediate
allowedTopologies:
  - matchLabelExpressions: [{key: topology.ballast.csi.io/zone, values: [e2e-zone-b]}]
EOF
  echo ---; pvc remote ballast-zone-b 256Mi; echo ---; pod remote-writer remote no Never \
  'dd if=/dev/urandom of=/data/blob bs=1M count=16 2>/dev/null && md5sum /data/blob > /data/blob.md5 && sync && md5sum -c /data/blob.md5'; } \
  | kc apply -f - >/dev/null
if until_phase pod remote-writer Succeeded 180; then
  placement=$(status --output json 2>/dev/null | tr -d ' \n' | grep -o '"name":"pvc-[^"]*"[^}]*' \
    | grep "$(kc get pvc remote -o jsonpath='{.spec.volumeName}')" | grep -o '"placement":\[[^]]*\]')
  if [ -n "$placement" ] && ! grep -q "\"$E2E_NODE\"" <<<"$placement"; then
    result "pod on a node without a replica (diskless frontend through the leader)" PASS "$(secs "$t")" \
      "replicas $placement, pod on $E2E_NODE: $(pod_log remote-writer | tail -1)"
  else
    result "pod on a node without a replica" FAIL "$(secs "$t")" "placement '$placement' should leave out $E2E_NODE"
  fi
else
  result "pod on a node without a replica" FAIL "$(secs "$t")" "pvc $(pvc_phase remote), pod $(pod_phase remote-writer): \
$(kc describe pvc remote | tail -3 | tr '\n' ' ') $(kc describe pod remote-writer | tail -3 | tr '\n' ' ')"
fi

# ---- expansion -----------------------------------------------------------------------------
expand_check() { # expand_check CLASS FS
  local name=grow-$2 t0; t0=$(ms)
  { pvc "$name" "$1" 1Gi; echo ---; pod "$name" "$name" no Always 'sleep 3600'; } | kc apply -f - >/dev/null
  until_phase pod "$name" Running 180 || { result "expansion ($2)" FAIL "$(secs "$t0")" "pod $(pod_phase "$name")"; return; }
  local before; before=$(kc exec "$name" -- df -k /data | awk 'NR==2 {print $2}')
  kc patch pvc "$name" -p '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}' >/dev/null
  if wait_for 180 "$2 grown" sh -c "kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig exec $name -- df -k /data \
       | awk 'NR==2 {exit (\$2 <= 1900000)}'"; then
    result "online expansion 1 -> 2 GiB ($2), seen by df in the pod" PASS "$(secs "$t0")" \
      "df: ${before} KiB -> $(kc exec "$name" -- df -k /data | awk 'NR==2 {print $2}') KiB"
  else
    result "online expansion ($2)" FAIL "$(secs "$t0")" "df still $(kc exec "$name" -- df -k /data | awk 'NR==2 {print $2}') KiB; \
$(kc describe pvc "$name" | grep -iE 'resiz|fail' | tail -3 | tr '\n' ' ')"
  fi
}
expand_check ballast-xfs xfs
# Growing a mounted ext4 (resize2fs) needs CAP_SYS_RESOURCE; root on these machines lacks it.
if (( ( 0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 ) & 1 )); then
  expand_check ballast ext4
else
  result "online expansion (ext4)" SKIP 0 "resize2fs of a mounted ext4 needs CAP_SYS_RESOURCE, which root lacks on this machine"
fi

# ---- snapshot and restore ------------------------------------------------------------------
t=$(ms)
kc apply -f - >/dev/null <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: fs-snap}
spec:
  volumeSnapshotClassName: ballast
  source: {persistentVolumeClaimName: fs}
EOF
if wait_for 120 "snapshot ready" sh -c "kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig get volumesnapshot fs-snap \
     -o jsonpath='{.status.readyToUse}' | grep -q true"; then
  { cat <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: restored}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ballast
  resources: {requests: {storage: 1Gi}}
  dataSource: {name: fs-snap, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io}
EOF
  echo ---; pod restored-reader restored no Never 'md5sum -c /data/blob.md5'; } | kc apply -f - >/dev/null
  if until_phase pod restored-reader Succeeded 240; then
    result "snapshot of the filesystem PVC restored into a new PVC, data equal" PASS "$(secs "$t")" "$(pod_log restored-reader)"
  else
    result "snapshot restore" FAIL "$(secs "$t")" "pvc $(pvc_phase restored), pod $(pod_phase restored-reader): \
$(kc describe pvc restored | tail -4 | tr '\n' ' ')"
  fi
else
  result "snapshot" FAIL "$(secs "$t")" "$(kc describe volumesnapshot fs-snap | tail -5 | tr '\n' ' ')"
fi

# ---- a backup to S3: VolumeSnapshot of class ballast-backup, restored by a PVC -------------
# The S3 server is S3Proxy (the S3 REST API over a directory, signatures checked: the backup tests'
# peer) as a host process; the nodes, which upload and download, reach it at the node's address.
t=$(ms)
S3_DIR="$E2E_WORK/s3"
mkdir -p "$S3_DIR/data/e2e-backups"
if (cd "$ROOT" && ./mvnw -q -B -o org.apache.maven.plugins:maven-dependency-plugin:3.7.0:build-classpath -pl csi \
      -Dmdep.includeScope=test -Dmdep.outputFile="$S3_DIR/cp.txt" >"$E2E_WORK/logs/s3-classpath.log" 2>&1); then
  printf '%s\n' "s3proxy.endpoint=http://$E2E_IP:19100" s3proxy.authorization=aws-v2-or-v4 s3proxy.identity=e2e \
    s3proxy.credential=e2e-secret-key jclouds.provider=filesystem jclouds.identity=e2e jclouds.credential=e2e \
    "jclouds.filesystem.basedir=$S3_DIR/data" > "$S3_DIR/s3proxy.conf"
  echo '<configuration><root level="WARN"/></configuration>' > "$S3_DIR/logback.xml"
  # Two SLF4J providers on the test classpath: S3Proxy's logback stays, the other goes.
  start s3proxy "$JAVA_HOME/bin/java" -Dlogback.configurationFile="$S3_DIR/logback.xml" \
    -cp "$(tr ':' '\n' < "$S3_DIR/cp.txt" | grep -v slf4j-simple | paste -sd:)" org.gaul.s3proxy.Main --properties "$S3_DIR/s3proxy.conf"
  wait_for 60 "S3Proxy" sh -c "curl -s -o /dev/null -w '%{http_code}' http://$E2E_IP:19100/ | grep -q 403"
  { cat <<EOF
apiVersion: v1
kind: Secret
metadata: {name: backup-bucket, namespace: ballast-system}
stringData: {endpoint: "http://$E2E_IP:19100", bucket: e2e-backups, region: us-east-1, accessKeyId: e2e, secretAccessKey: e2e-secret-key}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: fs-backup}
spec:
  volumeSnapshotClassName: ballast-backup
  source: {persistentVolumeClaimName: fs}
EOF
  } | kc apply -f - >/dev/null
  if wait_for 300 "backup uploaded" sh -c "kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig get volumesnapshot fs-backup \
       -o jsonpath='{.status.readyToUse}' | grep -q true"; then
    manifests=$(find "$S3_DIR/data/e2e-backups" -name '*.manifest' | wc -l)
    chunks=$(find "$S3_DIR/data/e2e-backups" -path '*chunks*' -type f | wc -l)
    { cat <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ballast-from-backup}
provisioner: ballast.csi.io
parameters:
  csi.storage.k8s.io/provisioner-secret-name: backup-bucket
  csi.storage.k8s.io/provisioner-secret-namespace: ballast-system
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: from-backup}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ballast-from-backup
  resources: {requests: {storage: 1Gi}}
  dataSource: {name: fs-backup, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io}
EOF
      echo ---; pod backup-reader from-backup no Never 'md5sum -c /data/blob.md5'; } | kc apply -f - >/dev/null
    if until_phase pod backup-reader Succeeded 300; then
      result "backup of the filesystem PVC to S3 (VolumeSnapshotClass type: backup), restored into a new PVC, data equal" \
        PASS "$(secs "$t")" "bucket: $manifests manifest, $chunks chunk objects; $(pod_log backup-reader)"
    else
      result "restore from a backup" FAIL "$(secs "$t")" "pvc $(pvc_phase from-backup), pod $(pod_phase backup-reader): \
$(kc describe pvc from-backup | tail -4 | tr '\n' ' ')"
    fi
  else
    result "backup to S3" FAIL "$(secs "$t")" "$(kc describe volumesnapshot fs-backup | tail -5 | tr '\n' ' ')"
  fi
else
  result "backup to S3" FAIL "$(secs "$t")" "no classpath for S3Proxy: $(tail -3 "$E2E_WORK/logs/s3-classpath.log" | tr '\n' ' ')"
fi

# ---- the node plugin container killed under a writing pod ----------------------------------
t=$(ms)
{ pvc busy ballast 256Mi; echo ---; pod busy busy no Always \
  'i=0; while [ ! -f /data/stop ]; do i=$((i+1)); if dd if=/dev/urandom of=/data/f.$((i % 16)) bs=64k count=16 conv=fsync 2>/dev/null; then echo "ok $i"; else echo "WRITE-ERROR $i"; fi; sleep 0.1; done; echo stopped; sleep 3600'; } \
  | kc apply -f - >/dev/null
if until_phase pod busy Running 180 && wait_for 60 "writes" sh -c "kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig logs busy | grep -q 'ok 20'"; then
  restarts0=$(kc -n ballast-system get pod -l app=ballast-node -o jsonpath='{.items[0].status.containerStatuses[?(@.name=="ballast")].restartCount}')
  pid=$(pgrep -f -- "node --data-dir=/var/lib/ballast " | head -1)
  before=$(pod_log busy | grep -c '^ok')
  kill -9 "$pid"
  log "killed the node plugin's ballast process (pid $pid) with $before writes done"
  if wait_for 180 "the node plugin restarted" sh -c "[ \"\$(kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig -n ballast-system get pod \
       -l app=ballast-node -o jsonpath='{.items[0].status.containerStatuses[?(@.name==\"ballast\")].restartCount}')\" -gt $restarts0 ]" \
     && wait_for 180 "writes after the restart" sh -c "[ \$(kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig logs busy | grep -c '^ok') -gt $((before + 30)) ]"; then
    errors=$(pod_log busy | grep -c WRITE-ERROR)
    kc exec busy -- touch /data/stop
    sleep 2
    fsck=$(kc exec busy -- sh -c 'ls /data | wc -l')
    if [ "$errors" = 0 ]; then
      result "node plugin container killed (kill -9) under a writing pod: I/O resumes, no error" PASS "$(secs "$t")" \
        "$before writes before, $(pod_log busy | grep -c '^ok') after the restart, 0 write errors, $fsck files"
    else
      result "node plugin killed under a writing pod" FAIL "$(secs "$t")" "$errors write errors: $(pod_log busy | grep WRITE-ERROR | head -3 | tr '\n' ' ')"
    fi
  else
    result "node plugin killed under a writing pod" FAIL "$(secs "$t")" "no restart or writes stalled: $(pod_log busy | tail -3 | tr '\n' ' ')"
  fi
else
  result "node plugin killed under a writing pod" FAIL "$(secs "$t")" "writer did not start: $(pod_phase busy)"
fi

# ---- an encrypted PVC: the passphrase from a Secret, ciphertext on every replica ----------------
t=$(ms)
marker="ballast-e2e-marker-$(date +%s%N)"
{ cat <<ENCRYPTED
apiVersion: v1
kind: Secret
metadata: {name: volume-passphrase, namespace: ballast-system}
stringData: {encryptionPassphrase: "e2e $(head -c 24 /dev/urandom | base64)"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ballast-encrypted}
provisioner: ballast.csi.io
parameters:
  encrypted: "true"
  csi.storage.k8s.io/node-stage-secret-name: volume-passphrase
  csi.storage.k8s.io/node-stage-secret-namespace: ballast-system
ENCRYPTED
  echo ---; pvc enc ballast-encrypted 64Mi
  echo ---; pod enc-writer enc no Never "yes $marker | head -n 4000 > /data/m && sync && grep -c $marker /data/m"; } \
  | kc apply -f - >/dev/null
if until_phase pod enc-writer Succeeded 180; then
  kc delete pod enc-writer --wait=true >/dev/null
  pod enc-reader enc no Never "grep -c $marker /data/m" | kc apply -f - >/dev/null
  until_phase pod enc-reader Succeeded 180
  read_back=$(pod_log enc-reader | tr -d '\r\n')
  # Every replica's files (store, Raft log, journal) on the three nodes; run/ holds the FUSE mount
  # points, whose files are the attached volume as the kernel sees it, so they are left out.
  scanned=$(find /var/lib/ballast "$E2E_WORK/e2e-n2" "$E2E_WORK/e2e-n3" -path '*/run' -prune -o -type f -print 2>/dev/null | wc -l)
  found=$(grep -rl --binary-files=text --exclude-dir=run "$marker" /var/lib/ballast "$E2E_WORK/e2e-n2" "$E2E_WORK/e2e-n3" 2>/dev/null | wc -l)
  # The control: the same scan finds a marker written to a plain PVC (so a miss above means ciphertext).
  { pvc plainm ballast 64Mi; echo ---; pod plain-writer plainm no Never "yes $marker-plain | head -n 4000 > /data/m && sync"; } \
    | kc apply -f - >/dev/null
  until_phase pod plain-writer Succeeded 180
  control=$(grep -rl --binary-files=text --exclude-dir=run "$marker-plain" /var/lib/ballast "$E2E_WORK/e2e-n2" "$E2E_WORK/e2e-n3" 2>/dev/null | wc -l)
  if [ "$read_back" = 4000 ] && [ "$found" = 0 ] && [ "$scanned" -gt 0 ] && [ "$control" -gt 0 ]; then
    result "encrypted PVC (passphrase from a Secret): read back by a new pod, no replica file holds the plaintext" PASS "$(secs "$t")" \
      "4000 marker lines read back; marker found in 0 of $scanned files on the 3 nodes (written to a plain PVC: found in $control)"
  else
    result "encrypted PVC" FAIL "$(secs "$t")" "read back '$read_back' lines; marker in $found of $scanned files; plain control in $control"
  fi
else
  result "encrypted PVC" FAIL "$(secs "$t")" "writer $(pod_phase enc-writer): $(kc describe pod enc-writer | tail -4 | tr '\n' ' ')"
fi

# ---- a bad StorageClass parameter ----------------------------------------------------------
t=$(ms)
{ cat <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ballast-bad}
provisioner: ballast.csi.io
parameters: {replicas: "seven"}
volumeBindingMode: Immediate
EOF
  echo ---; pvc bad ballast-bad 1Gi; } | kc apply -f - >/dev/null
if wait_for 90 "the refusal" sh -c "kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig describe pvc bad | grep -q InvalidArgument"; then
  result "bad StorageClass parameter: INVALID_ARGUMENT shown by kubectl describe pvc" PASS "$(secs "$t")" \
    "$(kc describe pvc bad | grep -o 'InvalidArgument.*' | head -1 | cut -c1-160)"
else
  result "bad StorageClass parameter" FAIL "$(secs "$t")" "$(kc describe pvc bad | tail -4 | tr '\n' ' ')"
fi

# ---- everything deleted leaves nothing behind ----------------------------------------------
t=$(ms)
kc delete pod --all --wait=true --timeout=120s >/dev/null 2>&1
kc delete volumesnapshot --all --wait=true --timeout=120s >/dev/null 2>&1
kc delete pvc --all --wait=true --timeout=120s >/dev/null 2>&1
kc delete storageclass ballast-bad ballast-zone-b ballast-encrypted ballast-from-backup >/dev/null 2>&1
wait_for 180 "PVs deleted" sh -c "[ -z \"\$(kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig get pv -o name)\" ]"
wait_for 60 "VolumeAttachments deleted" sh -c "[ -z \"\$(kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig get volumeattachment -o name)\" ]"
sleep 12   # replicas of deleted volumes are swept by the nodes' heartbeat cleanup (every 10 s)
left_pv=$(kc get pv -o name | wc -l)
left_va=$(kc get volumeattachment -o name | wc -l)
left_vol=$(status --output json 2>/dev/null | tr -d ' \n' | grep -o '"volumes":\[[^]]*' | grep -o '"name"' | wc -l)
left_loop=$(losetup -a | grep -cE '/var/lib/ballast|\(/volume\)')
left_snap=$(kc get volumesnapshotcontent -o name 2>/dev/null | wc -l)
# The backup's VolumeSnapshot went with the others: DeleteSnapshot deleted it from the bucket.
left_bak=$(find "$E2E_WORK/s3/data/e2e-backups" -name '*.manifest' 2>/dev/null | wc -l)
if [ "$left_pv$left_va$left_vol$left_loop$left_snap$left_bak" = 000000 ]; then
  result "everything deleted leaves nothing behind" PASS "$(secs "$t")" \
    "0 PVs, VolumeAttachments, snapshot contents, catalog volumes, loop devices, backups in the bucket"
else
  result "everything deleted leaves nothing behind" FAIL "$(secs "$t")" \
    "left: $left_pv PVs, $left_va attachments, $left_snap snapshot contents, $left_vol volumes, $left_loop loop devices, $left_bak backups"
fi
t=$(ms)
stop_host_nodes
kc delete -k "$ROOT/deploy/overlays/snapshots" --wait=true --timeout=120s >/dev/null 2>&1
if wait_for 120 "namespace gone" sh -c "! kubectl --kubeconfig $E2E_WORK/pki/admin.kubeconfig get ns ballast-system >/dev/null 2>&1"; then
  result "kubectl delete -k: Ballast uninstalled" PASS "$(secs "$t")" "namespace, DaemonSet, Deployment, CSIDriver gone"
else
  result "kubectl delete -k" FAIL "$(secs "$t")" "namespace ballast-system remains"
fi

# ---- summary -------------------------------------------------------------------------------
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo "+changes")
summary=$(printf '### %s, commit %s: %s\n\n| check | result | seconds | detail |\n|---|---|---|---|\n' \
  "$(date -u +'%Y-%m-%d %H:%M UTC')" "$commit" "$([ $FAILED = 0 ] && echo 'all passed' || echo FAILED)"; printf '%s\n' "${RESULTS[@]}")
echo
echo "$summary"
if [ -n "$RECORD" ]; then printf '\n%s\n' "$summary" >>"$RECORD"; log "summary appended to $RECORD"; fi
exit $FAILED
