#!/usr/bin/env bash
# Tear down what scripts/dev-up.sh built:
#   1. `pulumi destroy --yes` for the `dev` stack in the local backend (skipped when there is no such stack,
#      no Pulumi CLI, or no cluster left to destroy from),
#   2. the background port-forward to Vault,
#   3. the kind cluster (Vault's dev server keeps everything in memory, so its data goes with it, and so does
#      the secret holding the laptop Vault's certificate),
#   4. the dev token, Vault values, Vault CA (once the cluster is gone) and shell env files in .pulumi-state
#      (the stack's state stays).
# Safe to re-run: each step skips what is already gone.
#
# Usage: scripts/dev-down.sh
set -euo pipefail

readonly SCRIPT_NAME="dev-down"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if (($# > 0)); then
  case "$1" in
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$1' (usage: scripts/dev-down.sh)" ;;
  esac
fi

missing=()
for tool in kind kubectl python3 make curl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
  die "missing prerequisites: ${missing[*]}"
fi

cd "$REPO_ROOT"
if [[ ! -x .venv/bin/python ]]; then
  log "creating the project's virtualenv (.venv) with make"
  make .venv/.installed
fi
stack_env="$(.venv/bin/python scripts/stack_env.py dev-shell)" || die "cannot derive the dev environment from Pulumi.dev.yaml"
eval "$stack_env"
: "${STACK:?}" "${KUBE_CONTEXT:?}" "${KIND_CLUSTER:?}" "${VAULT_NAMESPACE:?}" "${VAULT_SERVICE:?}"
: "${VAULT_SERVICE_PORT:?}" "${LOCAL_VAULT_ADDR:?}" "${LOCAL_VAULT_PORT:?}" "${STATE_DIR:?}" "${BACKEND_URL:?}"
: "${DEV_PASSPHRASE:?}" "${VAULT_TOKEN_FILE:?}" "${VAULT_VALUES_FILE:?}" "${PORT_FORWARD_PID_FILE:?}"
: "${PORT_FORWARD_LOG_FILE:?}" "${SHELL_ENV_FILE:?}" "${VAULT_CA_FILE:?}" "${VAULT_TLS_SECRET:?}"

cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; }
vault_healthy() {
  [[ -s "$VAULT_CA_FILE" ]] || return 1
  curl --silent --fail --max-time 2 --cacert "$VAULT_CA_FILE" "$LOCAL_VAULT_ADDR/v1/sys/health" >/dev/null
}
# `ps -o comm=` prints the executable's name on Linux, its full path on macOS: compare the last path element.
port_forward_pid() {
  [[ -s "$PORT_FORWARD_PID_FILE" ]] || return 1
  local pid comm
  pid="$(<"$PORT_FORWARD_PID_FILE")"
  comm="$(ps -p "$pid" -o comm= 2>/dev/null || true)"
  [[ "${comm##*/}" == kubectl ]] || return 1
  echo "$pid"
}

# --------------------------------------------------------------------------------------- 1. pulumi destroy
export PULUMI_BACKEND_URL="$BACKEND_URL"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-$DEV_PASSPHRASE}"
if ! command -v pulumi >/dev/null 2>&1; then
  log "no pulumi CLI on PATH: skipping 'pulumi destroy' (the cluster's deletion removes the resources)"
elif ! pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  log "no stack '$STACK' in $PULUMI_BACKEND_URL: nothing to destroy"
elif ! cluster_exists; then
  log "kind cluster '$KIND_CLUSTER' is gone, so are the stack's resources: skipping 'pulumi destroy'"
  log "to forget them too, run: PULUMI_BACKEND_URL=$BACKEND_URL pulumi stack rm $STACK --force"
else
  if [[ ! -s "$VAULT_CA_FILE" ]]; then
    # The stack's Vault provider verifies Vault with this file (vault.tls.caCertFile): read it back from the cluster.
    mkdir -p "$(dirname "$VAULT_CA_FILE")"
    kubectl --context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" get secret "$VAULT_TLS_SECRET" \
      --output 'jsonpath={.data.ca\.crt}' |
      .venv/bin/python -c 'import base64, sys; sys.stdout.write(base64.b64decode(sys.stdin.read()).decode())' \
        >"$VAULT_CA_FILE"
  fi
  if ! vault_healthy; then
    # Destroy talks to Vault through the port-forward dev-up started; bring it back for the duration.
    log "port-forwarding Vault to $LOCAL_VAULT_ADDR for the destroy"
    nohup kubectl --context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" port-forward --address 127.0.0.1 \
      "service/$VAULT_SERVICE" "${LOCAL_VAULT_PORT}:${VAULT_SERVICE_PORT}" >"$PORT_FORWARD_LOG_FILE" 2>&1 &
    forward_pid=$!
    echo "$forward_pid" >"$PORT_FORWARD_PID_FILE"
    for _ in $(seq 1 150); do # up to 30 s
      vault_healthy && break
      kill -0 "$forward_pid" 2>/dev/null || die "the port-forward to $LOCAL_VAULT_ADDR failed: $(tail -n 3 "$PORT_FORWARD_LOG_FILE")"
      sleep 0.2
    done
  fi
  if [[ -s "$VAULT_TOKEN_FILE" ]]; then
    VAULT_TOKEN="$(<"$VAULT_TOKEN_FILE")"
    export VAULT_TOKEN
  fi
  export VAULT_ADDR="$LOCAL_VAULT_ADDR" VAULT_CACERT="$VAULT_CA_FILE"
  log "destroying stack '$STACK'"
  pulumi destroy --yes --stack "$STACK"
fi

# ----------------------------------------------------------------------------------------- 2. port-forward
if pid="$(port_forward_pid)"; then
  log "stopping the Vault port-forward (pid $pid)"
  kill "$pid" 2>/dev/null || true
fi
rm -f "$PORT_FORWARD_PID_FILE"

# ------------------------------------------------------------------------------------------- 3. kind cluster
if cluster_exists; then
  log "deleting kind cluster '$KIND_CLUSTER'"
  kind delete cluster --name "$KIND_CLUSTER"
else
  log "kind cluster '$KIND_CLUSTER' does not exist"
fi

# --------------------------------------------------------------------------------------------- 4. dev files
rm -f "$VAULT_TOKEN_FILE" "$VAULT_VALUES_FILE" "$SHELL_ENV_FILE" "$PORT_FORWARD_LOG_FILE"
if ! cluster_exists; then
  rm -f "$VAULT_CA_FILE" # the CA of a Vault that no longer exists
fi
log "done"
