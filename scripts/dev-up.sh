#!/usr/bin/env bash
# Bring up the laptop dev environment and deploy the `dev` stack into it:
#   1. a kind cluster (the context Pulumi.dev.yaml names),
#   2. the Secrets Store CSI driver (kubernetes-sigs chart, syncSecret on) that Vault's CSI provider plugs into,
#   3. the laptop Vault's TLS: a CA and a certificate for every name Vault is reached by, in the secret
#      vault-dev-tls (created once; the CA's key is never written), and the CA copied to the stack's
#      vault.tls.caCertFile (.pulumi-state/vault-ca.pem) for the program, curl and the vault CLI,
#   4. HashiCorp's Vault chart in dev mode serving that certificate, with the agent injector and the CSI provider,
#   5. a background port-forward to Vault at the stack's vault.providerAddress (https://127.0.0.1:8200),
#   6. a local Pulumi backend under .pulumi-state (file://, no Pulumi Cloud account), the `dev` stack selected
#      or created, `pulumi refresh` when Vault came back empty (the dev server keeps everything in memory: a
#      marker written into Vault before each `up` is gone after a restart), and
#      `pulumi up --yes --stack dev --policy-pack policy`.
# The Gateway API CRDs are not installed here: the Consul chart installs them itself
# (connectInject.apiGateway.manageExternalCRDs, which the program sets when consul.apiGateway is on).
#
# Every name and version comes from the dev stack's settings and the program's layout through
# scripts/stack_env.py. Re-running skips what already exists. `--env-only` stops before Pulumi (CI uses it to
# prepare the environment for a preview or for the integration tests).
#
# Usage: scripts/dev-up.sh [--env-only]
# Afterwards: `source .pulumi-state/dev.env` gives your shell VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN and the Pulumi
# backend.
set -euo pipefail

readonly SCRIPT_NAME="dev-up"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

env_only=false
for arg in "$@"; do
  case "$arg" in
    --env-only) env_only=true ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$arg' (usage: scripts/dev-up.sh [--env-only])" ;;
  esac
done

# ------------------------------------------------------------------------------------------ prerequisites
required=(kind kubectl helm python3 make curl)
if [[ "$env_only" == false ]]; then
  required+=(pulumi)
fi
missing=()
for tool in "${required[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
  die "missing prerequisites: ${missing[*]} (needs kind, kubectl, helm, pulumi, python3 3.11+, make and curl on PATH;
  see https://kind.sigs.k8s.io, https://helm.sh, https://www.pulumi.com/docs/install/)"
fi

cd "$REPO_ROOT"
if [[ ! -x .venv/bin/python ]]; then
  log "creating the project's virtualenv (.venv) with make"
  make .venv/.installed
fi

stack_env="$(.venv/bin/python scripts/stack_env.py dev-shell)" || die "cannot derive the dev environment from Pulumi.dev.yaml"
eval "$stack_env"
: "${STACK:?}" "${KUBE_CONTEXT:?}" "${KIND_CLUSTER:?}" "${VAULT_NAMESPACE:?}" "${VAULT_RELEASE:?}" "${VAULT_SERVICE:?}"
: "${VAULT_SERVICE_PORT:?}" "${VAULT_CHART:?}" "${VAULT_CHART_REPOSITORY:?}" "${VAULT_CHART_VERSION:?}"
: "${VAULT_INJECTOR_AUTH_PATH:?}" "${LOCAL_VAULT_ADDR:?}" "${LOCAL_VAULT_PORT:?}" "${CSI_DRIVER_CHART:?}"
: "${CSI_DRIVER_REPOSITORY:?}" "${CSI_DRIVER_VERSION:?}" "${CSI_DRIVER_RELEASE:?}" "${CSI_DRIVER_NAMESPACE:?}"
: "${CSI_ROTATION_POLL_INTERVAL:?}"
: "${STATE_DIR:?}" "${BACKEND_URL:?}" "${DEV_PASSPHRASE:?}" "${VAULT_TOKEN_FILE:?}" "${VAULT_VALUES_FILE:?}"
: "${PORT_FORWARD_PID_FILE:?}" "${PORT_FORWARD_LOG_FILE:?}" "${SHELL_ENV_FILE:?}"
: "${VAULT_CA_FILE:?}" "${VAULT_TLS_SECRET:?}" "${VAULT_TLS_NAMES:?}" "${VAULT_MARKER_PATH:?}"
: "${VAULT_CSI_CA_DIRECTORY:?}" "${VAULT_CSI_CA_KEY:?}"

mkdir -p "$STATE_DIR" "$(dirname "$VAULT_CA_FILE")"
chmod 700 "$STATE_DIR"

kc() { kubectl --context "$KUBE_CONTEXT" "$@"; }

# True when Helm release $1 in namespace $2 is deployed from chart $3 at version $4.
release_is() {
  helm list --kube-context "$KUBE_CONTEXT" --namespace "$2" --filter "^$1\$" --deployed --output json 2>/dev/null |
    grep -q "\"chart\":\"$3-$4\""
}

# ------------------------------------------------------------------------------------------ 1. kind cluster
if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
  log "kind cluster '$KIND_CLUSTER' exists"
else
  log "creating kind cluster '$KIND_CLUSTER'"
  kind create cluster --name "$KIND_CLUSTER" --wait 180s
fi
kubectl --context "$KUBE_CONTEXT" get --raw /readyz >/dev/null || die "the cluster behind context '$KUBE_CONTEXT' is not ready"

# ------------------------------------------------------------------------------ 2. Secrets Store CSI driver
if release_is "$CSI_DRIVER_RELEASE" "$CSI_DRIVER_NAMESPACE" "$CSI_DRIVER_CHART" "$CSI_DRIVER_VERSION"; then
  log "Secrets Store CSI driver $CSI_DRIVER_VERSION is installed"
else
  log "installing the Secrets Store CSI driver chart $CSI_DRIVER_VERSION"
  helm upgrade --install "$CSI_DRIVER_RELEASE" "$CSI_DRIVER_CHART" \
    --repo "$CSI_DRIVER_REPOSITORY" --version "$CSI_DRIVER_VERSION" \
    --kube-context "$KUBE_CONTEXT" --namespace "$CSI_DRIVER_NAMESPACE" \
    --set syncSecret.enabled=true \
    --set enableSecretRotation=true --set rotationPollInterval="$CSI_ROTATION_POLL_INTERVAL" \
    --wait --timeout 5m
fi

# --------------------------------------------------------------------------------------------- 3. Vault TLS
# Vault reads its certificate from this secret at start; it outlives the pod (a restart keeps the same CA, so
# Consul and the apps keep trusting it). Created once; the CA is always read back from it.
if ! kc get namespace "$VAULT_NAMESPACE" >/dev/null 2>&1; then
  kc create namespace "$VAULT_NAMESPACE"
fi
if ! kc --namespace "$VAULT_NAMESPACE" get secret "$VAULT_TLS_SECRET" >/dev/null 2>&1; then
  log "creating the laptop Vault's CA and certificate (secret '$VAULT_TLS_SECRET'; the CA key is discarded)"
  tls_dir="$(mktemp -d)"
  trap 'rm -rf "$tls_dir"' EXIT
  KIND_CLUSTER="$KIND_CLUSTER" VAULT_TLS_NAMES="$VAULT_TLS_NAMES" .venv/bin/python scripts/dev_vault.py tls "$tls_dir"
  kc --namespace "$VAULT_NAMESPACE" create secret generic "$VAULT_TLS_SECRET" \
    --from-file=ca.crt="$tls_dir/ca.crt" --from-file=tls.crt="$tls_dir/tls.crt" \
    --from-file=tls.key="$tls_dir/tls.key" --from-file=listener.hcl="$tls_dir/listener.hcl" >/dev/null
  rm -rf "$tls_dir"
fi
kc --namespace "$VAULT_NAMESPACE" get secret "$VAULT_TLS_SECRET" --output 'jsonpath={.data.ca\.crt}' |
  .venv/bin/python -c 'import base64, sys; sys.stdout.write(base64.b64decode(sys.stdin.read()).decode())' \
    >"$VAULT_CA_FILE.tmp"
mv "$VAULT_CA_FILE.tmp" "$VAULT_CA_FILE"
grep -q 'BEGIN CERTIFICATE' "$VAULT_CA_FILE" || die "secret '$VAULT_TLS_SECRET' holds no ca.crt"

# ------------------------------------------------------------------------------------ 4. Vault (dev mode)
# The dev server's root token is random per environment, kept in .pulumi-state (mode 600), never "root".
if [[ ! -s "$VAULT_TOKEN_FILE" ]]; then
  if helm status "$VAULT_RELEASE" --kube-context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" >/dev/null 2>&1; then
    # Vault is installed but the token file is gone: read the token back from the release's values.
    helm get values "$VAULT_RELEASE" --kube-context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" --output json |
      .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["server"]["dev"]["devRootToken"])' \
        >"$VAULT_TOKEN_FILE"
  else
    .venv/bin/python -c 'import secrets; print("hvs.dev-" + secrets.token_hex(16))' >"$VAULT_TOKEN_FILE"
  fi
  chmod 600 "$VAULT_TOKEN_FILE"
fi
vault_token="$(<"$VAULT_TOKEN_FILE")"
(
  umask 077
  VAULT_TOKEN_FILE="$VAULT_TOKEN_FILE" VAULT_TLS_SECRET="$VAULT_TLS_SECRET" \
    VAULT_INJECTOR_AUTH_PATH="$VAULT_INJECTOR_AUTH_PATH" VAULT_CSI_CA_DIRECTORY="$VAULT_CSI_CA_DIRECTORY" \
    VAULT_CSI_CA_KEY="$VAULT_CSI_CA_KEY" .venv/bin/python scripts/dev_vault.py values >"$VAULT_VALUES_FILE"
)

# True when the installed release was given exactly the values file (helm get values: the user-supplied values).
values_match() {
  helm get values "$VAULT_RELEASE" --kube-context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" --output json \
    2>/dev/null | .venv/bin/python -c 'import json, sys; sys.exit(json.load(sys.stdin) != json.load(open(sys.argv[1])))' \
    "$VAULT_VALUES_FILE"
}

vault_pod="${VAULT_RELEASE}-0" # the StatefulSet's only pod (dev mode runs one replica)
if release_is "$VAULT_RELEASE" "$VAULT_NAMESPACE" "$VAULT_CHART" "$VAULT_CHART_VERSION" && values_match; then
  log "Vault chart $VAULT_CHART_VERSION is installed in namespace '$VAULT_NAMESPACE'"
else
  upgrading=false
  if helm status "$VAULT_RELEASE" --kube-context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" >/dev/null 2>&1; then
    upgrading=true
  fi
  log "installing HashiCorp's Vault chart $VAULT_CHART_VERSION (dev server with TLS, agent injector, CSI provider)"
  helm upgrade --install "$VAULT_RELEASE" "$VAULT_CHART" \
    --repo "$VAULT_CHART_REPOSITORY" --version "$VAULT_CHART_VERSION" \
    --kube-context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" --create-namespace \
    --values "$VAULT_VALUES_FILE" \
    --wait --timeout 5m
  if [[ "$upgrading" == true ]]; then
    # The chart's StatefulSet uses the OnDelete update strategy (server.updateStrategyType): an upgrade changes
    # its template but not the running pod. Delete the pod so it restarts with the new values.
    log "restarting $vault_pod for the new values (OnDelete update strategy)"
    kc --namespace "$VAULT_NAMESPACE" delete pod "$vault_pod" --wait=true
  fi
fi

# `kubectl rollout status` refuses the Vault StatefulSet ("rollout status is only available for RollingUpdate
# strategy type": OnDelete, kubectl pkg/polymorphichelpers/rollout_status.go), and helm --wait does not wait for an
# OnDelete StatefulSet's pods. Wait for the pod itself; right after a (re)install it may not exist yet.
log "waiting for Vault, its agent injector and its CSI provider"
deadline=$((SECONDS + 180))
until wait_output="$(kc --namespace "$VAULT_NAMESPACE" wait --for=condition=Ready "pod/$vault_pod" --timeout 10s 2>&1)"; do
  ((SECONDS < deadline)) || die "Vault's pod $vault_pod is not Ready after 180s ($wait_output);
  see: kubectl --context $KUBE_CONTEXT --namespace $VAULT_NAMESPACE describe pod $vault_pod"
  sleep 2
done
kc --namespace "$VAULT_NAMESPACE" rollout status "deployment/${VAULT_RELEASE}-agent-injector" --timeout 180s
kc --namespace "$VAULT_NAMESPACE" rollout status "daemonset/${VAULT_RELEASE}-csi-provider" --timeout 180s

# --------------------------------------------------------------------------------------- 5. port-forward
vault_healthy() {
  curl --silent --fail --max-time 2 --cacert "$VAULT_CA_FILE" "$LOCAL_VAULT_ADDR/v1/sys/health" >/dev/null
}

# The pid file names a running kubectl. `ps -o comm=` prints the executable's name on Linux but its full path on
# macOS (/usr/local/bin/kubectl), so compare the last path element.
port_forward_running() {
  [[ -s "$PORT_FORWARD_PID_FILE" ]] || return 1
  local pid comm
  pid="$(<"$PORT_FORWARD_PID_FILE")"
  comm="$(ps -p "$pid" -o comm= 2>/dev/null || true)"
  [[ "${comm##*/}" == kubectl ]]
}

if port_forward_running && vault_healthy; then
  log "Vault is reachable at $LOCAL_VAULT_ADDR (port-forward pid $(<"$PORT_FORWARD_PID_FILE"))"
else
  if port_forward_running; then
    kill "$(<"$PORT_FORWARD_PID_FILE")" 2>/dev/null || true
  fi
  vault_healthy && die "something else already answers at $LOCAL_VAULT_ADDR; stop it or change vault.providerAddress"
  log "port-forwarding Vault to $LOCAL_VAULT_ADDR in the background (log: $PORT_FORWARD_LOG_FILE)"
  nohup kubectl --context "$KUBE_CONTEXT" --namespace "$VAULT_NAMESPACE" port-forward --address 127.0.0.1 \
    "service/$VAULT_SERVICE" "${LOCAL_VAULT_PORT}:${VAULT_SERVICE_PORT}" >"$PORT_FORWARD_LOG_FILE" 2>&1 &
  forward_pid=$!
  echo "$forward_pid" >"$PORT_FORWARD_PID_FILE"
  for _ in $(seq 1 150); do # up to 30 s
    vault_healthy && break
    # kubectl exits at once when it cannot listen (port taken) or cannot find the service.
    kill -0 "$forward_pid" 2>/dev/null || die "the port-forward to $LOCAL_VAULT_ADDR failed: $(tail -n 3 "$PORT_FORWARD_LOG_FILE")"
    sleep 0.2
  done
  vault_healthy || die "Vault did not answer at $LOCAL_VAULT_ADDR; see $PORT_FORWARD_LOG_FILE"
fi

# ------------------------------------------------------------------------------------------ 6. environment
export VAULT_ADDR="$LOCAL_VAULT_ADDR"
export VAULT_CACERT="$VAULT_CA_FILE"
export VAULT_TOKEN="$vault_token"
export PULUMI_BACKEND_URL="$BACKEND_URL"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-$DEV_PASSPHRASE}"
(
  umask 077
  {
    echo "# Written by scripts/dev-up.sh: the dev environment for this shell (source it)."
    printf 'export VAULT_ADDR=%q\n' "$VAULT_ADDR"
    printf 'export VAULT_CACERT=%q\n' "$VAULT_CACERT"
    printf 'export VAULT_TOKEN=%q\n' "$VAULT_TOKEN"
    printf 'export PULUMI_BACKEND_URL=%q\n' "$PULUMI_BACKEND_URL"
    printf 'export PULUMI_CONFIG_PASSPHRASE=%q\n' "$PULUMI_CONFIG_PASSPHRASE"
    printf 'export SECURE_MESH_INTEGRATION=1\n'
  } >"$SHELL_ENV_FILE"
)
if [[ -n "${GITHUB_ENV:-}" ]]; then
  # In GitHub Actions: later steps see the same environment; the token is masked in every log.
  echo "::add-mask::$VAULT_TOKEN"
  {
    echo "VAULT_ADDR=$VAULT_ADDR"
    echo "VAULT_CACERT=$VAULT_CACERT"
    echo "VAULT_TOKEN=$VAULT_TOKEN"
    echo "PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL"
    echo "PULUMI_CONFIG_PASSPHRASE=$PULUMI_CONFIG_PASSPHRASE"
  } >>"$GITHUB_ENV"
fi

if [[ "$env_only" == true ]]; then
  log "environment ready (--env-only: Pulumi not run); source $SHELL_ENV_FILE to use it"
  exit 0
fi

# ----------------------------------------------------------------------------------------------- 7. Pulumi
# PULUMI_BACKEND_URL selects the local file backend for this run only: your global `pulumi login` is untouched.
log "using the local Pulumi backend $PULUMI_BACKEND_URL"
stack_existed=true
if pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  log "stack '$STACK' exists"
else
  stack_existed=false
  log "creating stack '$STACK' (passphrase secrets provider)"
  pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive
fi

# The marker: present while this Vault still holds what the last `up` wrote. The token goes in a header read from
# stdin (not the command line, which other local users can see).
marker_status="$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 10 --cacert "$VAULT_CA_FILE" \
  --header @- "$LOCAL_VAULT_ADDR/v1/$VAULT_MARKER_PATH" <<<"X-Vault-Token: $VAULT_TOKEN")" || true
case "$marker_status" in
  200) ;;
  404)
    if [[ "$stack_existed" == true ]]; then
      log "Vault came back empty (its dev server keeps everything in memory) while stack '$STACK' remembers what it"
      log "wrote there: refreshing the stack from what really exists before the update"
      pulumi refresh --yes --stack "$STACK" --non-interactive
    fi
    ;;
  *) die "cannot read the marker $VAULT_MARKER_PATH from Vault at $LOCAL_VAULT_ADDR (HTTP status '$marker_status')" ;;
esac
curl --silent --show-error --fail --max-time 10 --cacert "$VAULT_CA_FILE" --header @- --request POST \
  --data '{"data":{"stack":"'"$STACK"'","writtenBy":"scripts/dev-up.sh"}}' \
  "$LOCAL_VAULT_ADDR/v1/$VAULT_MARKER_PATH" >/dev/null <<<"X-Vault-Token: $VAULT_TOKEN"

pulumi up --yes --stack "$STACK" --policy-pack policy

log "done. Vault: $VAULT_ADDR (token in $VAULT_TOKEN_FILE, CA in $VAULT_CA_FILE); source $SHELL_ENV_FILE to use pulumi and vault here"
