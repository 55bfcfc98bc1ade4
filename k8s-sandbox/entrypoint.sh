#!/usr/bin/env bash
# Entry point of the k8s-sandbox container: bring up (or reuse) the k3d
# cluster that runs Kafka, apply the manifests, hand out least-privilege
# kubeconfigs, signal readiness, then exec the Go agent, which does the
# real work. See docs/deploy.md.
set -euo pipefail

readonly CLUSTER=kafkatune
readonly NODE="k3d-${CLUSTER}-server-0"
readonly API="https://${NODE}:6443"
readonly NETWORK="${K3D_NETWORK:-kafkatune}"
readonly K3S_IMAGE="${K3S_IMAGE:?K3S_IMAGE must name a pinned rancher/k3s image}"
readonly CPU_LIMIT="${K8S_SANDBOX_CPU_LIMIT:-4}"
readonly MEM_LIMIT="${K8S_SANDBOX_MEM_LIMIT:-4G}"
readonly STATUS_DIR="${STATUS_DIR:-/tmp/status}"
readonly READY_FILE="${STATUS_DIR}/sandbox_ready"
readonly SHARED_KUBE="${STATUS_DIR}/kube"
readonly PRIVATE_KUBE=/var/lib/kafkatune
readonly SHARE=/opt/kafkatune
readonly TOKEN_TTL="${SA_TOKEN_TTL:-168h}"
readonly APP_UID="${APP_UID:-10001}"

log() { printf '%s k8s-sandbox: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# cluster_up creates the single-node cluster on the compose network, or
# starts the one a previous run left. Memory is capped by k3d (which also
# shows the cap to the kubelet); CPU through the Docker API, every start.
cluster_up() {
  if k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
    log "reusing cluster $CLUSTER"
    k3d cluster start "$CLUSTER" --wait
  else
    log "creating cluster $CLUSTER ($K3S_IMAGE, $CPU_LIMIT CPUs, $MEM_LIMIT)"
    k3d cluster create "$CLUSTER" --image "$K3S_IMAGE" \
      --network "$NETWORK" --servers 1 --agents 0 --no-lb \
      --api-port 127.0.0.1:6550 --servers-memory "$MEM_LIMIT" \
      --k3s-arg "--disable=traefik@server:0" \
      --k3s-arg "--tls-san=${NODE}@server:0" \
      --kubeconfig-update-default=false --wait --timeout 5m
  fi
  local nano
  nano=$(awk -v c="$CPU_LIMIT" 'BEGIN { printf "%.0f", c * 1e9 }')
  curl -fsS --unix-socket /var/run/docker.sock -X POST \
    -H 'Content-Type: application/json' -d "{\"NanoCpus\": ${nano}}" \
    "http://docker/containers/${NODE}/update" >/dev/null
}

# deploy applies the manifests (restoring the de-optimized start values)
# and waits until the broker answers on its listener.
deploy() {
  kubectl apply -f "$SHARE/manifests/00-namespace.yaml"
  kubectl -n kafka create configmap kafka-jmx-exporter \
    --from-file=jmx-exporter.yml="$SHARE/jmx-exporter.yml" \
    --dry-run=client -o yaml | kubectl apply -f -
  kubectl apply -f "$SHARE/manifests/"
  kubectl -n kafka rollout status statefulset/kafka-controller --timeout=10m
}

# write_kubeconfig SA FILE OWNER writes a kubeconfig for ServiceAccount SA
# (a fresh token) to FILE, readable by OWNER only, replaced atomically.
write_kubeconfig() {
  local sa=$1 file=$2 owner=$3 ca token tmp
  ca=$(kubectl config view --raw --minify \
    -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
  token=$(kubectl -n kafka create token "$sa" --duration="$TOKEN_TTL")
  tmp=$(mktemp "${file}.XXXXXX")
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: ${CLUSTER}
    cluster:
      server: ${API}
      certificate-authority-data: ${ca}
users:
  - name: ${sa}
    user:
      token: ${token}
contexts:
  - name: ${sa}
    context: {cluster: ${CLUSTER}, user: ${sa}, namespace: kafka}
current-context: ${sa}
EOF
  chown "$owner" "$tmp"
  chmod 0400 "$tmp"
  mv -f "$tmp" "$file"
}

main() {
  umask 077
  rm -f "$READY_FILE"
  install -d -m 0755 -o "$APP_UID" -g "$APP_UID" "$STATUS_DIR"
  install -d -m 0755 "$SHARED_KUBE" "$PRIVATE_KUBE"

  cluster_up
  export KUBECONFIG="$PRIVATE_KUBE/admin.kubeconfig"
  k3d kubeconfig get "$CLUSTER" >"$KUBECONFIG"
  kubectl config set-cluster "k3d-${CLUSTER}" --server="$API" >/dev/null
  deploy

  write_kubeconfig kafkatune-agent "$PRIVATE_KUBE/agent.kubeconfig" 0
  write_kubeconfig kafkatune-vibectl "$SHARED_KUBE/vibectl.kubeconfig" 0
  write_kubeconfig kafkatune-exporter "$SHARED_KUBE/exporter.kubeconfig" \
    "$APP_UID"
  rm -f "$KUBECONFIG"
  export KUBECONFIG="$PRIVATE_KUBE/agent.kubeconfig"
  # The agent derives its knob bounds from the sandbox limits, in MiB.
  K8S_SANDBOX_MEM_LIMIT_MB=$(mem_mib "$MEM_LIMIT")
  export K8S_SANDBOX_MEM_LIMIT_MB K8S_SANDBOX_CPU_LIMIT="$CPU_LIMIT"
  touch "$READY_FILE"
  log "kafka is ready; kubeconfigs are in $SHARED_KUBE"

  if [[ -n "${ANTHROPIC_API_KEY:-}" && "${AGENT_MODE:-}" != tune ]]; then
    export VIBECTL_ANTHROPIC_API_KEY="$ANTHROPIC_API_KEY"
    log "starting agent vibectl"
    exec agent vibectl --kubeconfig "$KUBECONFIG" \
      --vibectl-kubeconfig "$SHARED_KUBE/vibectl.kubeconfig"
  fi
  log "starting agent tune (AGENT_MODE=${AGENT_MODE:-unset}, API key set: $([[ -n "${ANTHROPIC_API_KEY:-}" ]] && echo yes || echo no))"
  exec agent tune --kubeconfig "$KUBECONFIG"
}

# mem_mib converts a Docker memory size (4G, 4096M, 4g, 4294967296) to MiB.
mem_mib() {
  local v="${1,,}"
  case "$v" in
    *g|*gb) echo $(( ${v%%g*} * 1024 )) ;;
    *m|*mb) echo "${v%%m*}" ;;
    *k|*kb) echo $(( ${v%%k*} / 1024 )) ;;
    *) echo $(( v / 1024 / 1024 )) ;;
  esac
}

main "$@"
