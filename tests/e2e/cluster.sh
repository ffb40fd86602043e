#!/bin/bash
# A one-node Kubernetes (v1.20, built by build-kubernetes.sh) on this machine, for the e2e suite:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd + runc + the bridge CNI,
# kubelet and kube-proxy, all as processes of this script's caller, on a private address added to lo. Sourced by run.sh; every function works in $E2E_WORK.
#
# What is special about these machines (../../docs/e2e.md has the details): no CAP_SYS_RESOURCE
# (containerd must not set a negative OOM score), cgroups v1 (cgroupfs driver), no registry
# (images are built locally and imported), kubectl/exec need the node name to resolve.

E2E_IP=${E2E_IP:-10.250.0.1}
E2E_NODE=${E2E_NODE:-e2e-node}
KUBELET_ROOT=/var/lib/kubelet

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# start NAME CMD...: runs CMD in the background, output to $E2E_WORK/logs/NAME.log, PID recorded.
start() {
  local name=$1; shift
  "$@" >"$E2E_WORK/logs/$name.log" 2>&1 &
  echo $! >"$E2E_WORK/pids/$name"
}

wait_for() { # wait_for SECONDS WHAT CMD...
  local limit=$1 what=$2; shift 2
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - t0 >= limit )); then log "timed out after ${limit}s waiting for $what"; return 1; fi
    sleep 1
  done
}

kc() { kubectl --kubeconfig "$E2E_WORK/pki/admin.kubeconfig" "$@"; }
ctr_() { ctr --address "$E2E_WORK/containerd/containerd.sock" -n k8s.io "$@"; }

make_pki() {
  local d=$E2E_WORK/pki
  mkdir -p "$d" && cd "$d" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ballast-e2e-ca 2>/dev/null
  cert() { # cert NAME SUBJECT [SAN]
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\n' "$3" >"$1.ext"; else : >"$1.ext"; fi
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
  }
  cert apiserver /CN=kube-apiserver \
    "IP:10.96.0.1,IP:$E2E_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:localhost"
  # One administrator identity for the harness's own components: a test node, not a secure setup.
  cert admin "/CN=admin/O=system:masters"
  openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  local k=admin.kubeconfig
  kubectl config --kubeconfig=$k set-cluster e2e --server="https://$E2E_IP:6443" --certificate-authority=ca.crt --embed-certs >/dev/null
  kubectl config --kubeconfig=$k set-credentials admin --client-certificate=admin.crt --client-key=admin.key --embed-certs >/dev/null
  kubectl config --kubeconfig=$k set-context e2e --cluster=e2e --user=admin >/dev/null
  kubectl config --kubeconfig=$k use-context e2e >/dev/null
  cd - >/dev/null || exit 1
}

write_containerd_config() {
  local c=$E2E_WORK/containerd
  mkdir -p "$c" "$E2E_WORK/cni"
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
[grpc]
  address = "$c/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "e2e.local/pause:1"
  # root here lacks CAP_SYS_RESOURCE: a negative OOM score makes runc fail
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$E2E_WORK/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
EOF
  cat >"$E2E_WORK/cni/10-e2e.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "e2e", "plugins": [
  {"type": "bridge", "bridge": "ballast-e2e-br", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
}

write_kubelet_config() {
  cat >"$E2E_WORK/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
clusterDomain: cluster.local
EOF
}

# cluster_up KUBE_BIN: starts everything and waits until the node is Ready.
cluster_up() {
  local bin=$1
  mkdir -p "$E2E_WORK/logs" "$E2E_WORK/pids" "$E2E_WORK/etcd"
  # The node's address, on lo (this kernel has no dummy interfaces); traffic stays on this machine.
  ip addr add "$E2E_IP/32" dev lo 2>/dev/null || true
  grep -q " $E2E_NODE\$" /etc/hosts || echo "$E2E_IP $E2E_NODE" >>/etc/hosts   # kubectl logs/exec reach the kubelet by name
  # Bidirectional mount propagation (the node plugin's data and kubelet dirs) needs a shared host
  # mount. systemd makes / shared; this machine's PID 1 is not systemd, so / is private: share the
  # data dir by a bind mount on itself (kubelet does the same for its root dir).
  mkdir -p /var/lib/ballast
  if ! grep -q " /var/lib/ballast .*shared:" /proc/self/mountinfo; then
    mount --bind /var/lib/ballast /var/lib/ballast && mount --make-rshared /var/lib/ballast
  fi
  make_pki
  local pki=$E2E_WORK/pki
  start etcd etcd --data-dir "$E2E_WORK/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380
  wait_for 30 etcd curl -sf http://127.0.0.1:2379/health || return 1
  start apiserver "$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 --bind-address=0.0.0.0 --secure-port=6443 \
    --advertise-address="$E2E_IP" --service-cluster-ip-range=10.96.0.0/16 \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --authorization-mode=Node,RBAC --allow-privileged=true \
    --kubelet-client-certificate="$pki/admin.crt" --kubelet-client-key="$pki/admin.key"
  wait_for 120 "the API server" kc get --raw /readyz || return 1
  start controller-manager "$bin/kube-controller-manager" --kubeconfig="$pki/admin.kubeconfig" \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" --leader-elect=false
  start scheduler "$bin/kube-scheduler" --kubeconfig="$pki/admin.kubeconfig" --leader-elect=false
  write_containerd_config
  start containerd containerd --config "$E2E_WORK/containerd/config.toml"
  wait_for 30 containerd ctr_ version || return 1
  write_kubelet_config
  mkdir -p "$KUBELET_ROOT"
  start kubelet "$bin/kubelet" --config="$E2E_WORK/kubelet.yaml" --kubeconfig="$pki/admin.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$E2E_WORK/containerd/containerd.sock" \
    --hostname-override="$E2E_NODE" --node-ip="$E2E_IP" --root-dir="$KUBELET_ROOT"
  # Service addresses (the pods' in-cluster API address) need kube-proxy's rules.
  start kube-proxy "$bin/kube-proxy" --kubeconfig="$pki/admin.kubeconfig" --hostname-override="$E2E_NODE" \
    --proxy-mode=iptables --cluster-cidr=10.244.0.0/16 --conntrack-max-per-core=0
  wait_for 120 "node $E2E_NODE Ready" sh -c "kubectl --kubeconfig $pki/admin.kubeconfig get node $E2E_NODE \
    -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True" || return 1
}

# cluster_down KUBE_BIN: stops what cluster_up started and removes its traces (mounts, rules, addresses).
cluster_down() {
  local bin=$1
  if [ -S "$E2E_WORK/containerd/containerd.sock" ]; then
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  fi
  for name in kubelet kube-proxy scheduler controller-manager apiserver etcd containerd; do
    [ -f "$E2E_WORK/pids/$name" ] && kill "$(cat "$E2E_WORK/pids/$name")" 2>/dev/null
  done
  sleep 2
  pkill -9 -f containerd-shim-runc-v2 2>/dev/null
  for name in kubelet kube-proxy scheduler controller-manager apiserver etcd containerd; do
    [ -f "$E2E_WORK/pids/$name" ] && kill -9 "$(cat "$E2E_WORK/pids/$name")" 2>/dev/null
    rm -f "$E2E_WORK/pids/$name"
  done
  [ -x "$bin/kube-proxy" ] && "$bin/kube-proxy" --cleanup >/dev/null 2>&1
  # kube-proxy's cleanup leaves kubelet's own chains (KUBE-MARK-*, KUBE-FIREWALL, canaries): drop
  # every KUBE rule and chain, keeping whatever else the machine has.
  iptables-save 2>/dev/null | grep -q KUBE && iptables-save | grep -v KUBE | iptables-restore
  # Deepest mounts first: pod volumes, then kubelet's bind mount of its own root, containerd's netns.
  grep -E " ($KUBELET_ROOT|$E2E_WORK|/run/netns|/run/containerd)" /proc/mounts | awk '{print $2}' | sort -r \
    | while read -r m; do umount -l "$m" 2>/dev/null; done
  ip addr del "$E2E_IP/32" dev lo 2>/dev/null
  ip link del ballast-e2e-br 2>/dev/null
  sed -i "/ $E2E_NODE\$/d" /etc/hosts
  rm -rf "$KUBELET_ROOT"
}
