#!/bin/bash
# Stand-in for kind, kubectl, helm, pulumi, curl (and, for the macOS test, ps) in tests/workflows/test_scripts.py.
# Installed under each tool's name. It records every call in $STUB_STATE/calls.log, keeps the state the real tools
# keep (clusters and their kubeconfig contexts, namespaces, objects, Helm releases and their values, the dev Vault's
# in-memory KV, running port-forwards, Pulumi stacks), and REFUSES every call the real tool refuses, with the real
# tool's message and exit status, so a script that would die on a real laptop dies here too:
#
# kind (sigs.k8s.io/kind)
#   create cluster <existing>  ERROR: failed to create cluster: node(s) already exist for a cluster with the name "x"
#                              (pkg/cluster/internal/create/create.go), exit 1. A new cluster adds kubeconfig context
#                              kind-<name> (pkg/cluster/internal/kubeconfig) and namespaces default, kube-system.
#   get clusters (none)        "No kind clusters found." on stderr, exit 0. delete cluster <missing>: exit 0.
# kubectl (kubernetes/kubectl, client-go)
#   --context <unknown>        "Error in configuration: context was not found for specified context: x", exit 1
#                              (client-go tools/clientcmd/validation.go; kubectl pkg/cmd/util/helpers.go). The scripts
#                              always pass --context; a call without it fails here on purpose (it would act on
#                              whatever context happens to be current).
#   missing object             Error from server (NotFound): <resource> "<name>" not found, exit 1
#   create <existing>          Error from server (AlreadyExists): <resource> "<name>" already exists, exit 1
#   rollout status             "error: rollout status is only available for RollingUpdate strategy type" for a
#                              StatefulSet or DaemonSet whose updateStrategy is not RollingUpdate; "no status viewer
#                              has been implemented for <Kind>" for other kinds (pkg/polymorphichelpers/
#                              rollout_status.go). Exit 1.
#   wait --for=condition=Ready error: timed out waiting for the condition on pods/<name>, exit 1, while the pod is
#                              not Ready: here, while a secret its volumes name does not exist (the kubelet cannot
#                              mount it and the container never starts).
#   port-forward               port taken: "unable to listen on any of the requested ports", exit 1 (client-go
#                              tools/portforward/portforward.go); the service must exist.
# helm (helm/helm v3)
#   unknown --kube-context     Error: Kubernetes cluster unreachable: ..., exit 1 (pkg/kube/client.go IsReachable)
#   install <existing>         Error: INSTALLATION FAILED: cannot re-use a name that is still in use (pkg/action/
#                              install.go availableName), exit 1; upgrade (no --install) of a missing release:
#                              Error: UPGRADE FAILED: "x" has no deployed releases (pkg/action/upgrade.go)
#   status / get values        Error: release: not found (pkg/storage/driver/driver.go ErrReleaseNotFound), exit 1
#   unpublished chart version  Error: chart "x" version "y" not found in <repo> repository (pkg/repo/chartrepo.go)
#   missing namespace          Error: INSTALLATION FAILED: create: failed to create: namespaces "x" not found,
#                              unless --create-namespace
# curl, in front of the dev Vault (hashicorp/vault) reached through a port-forward
#   no port-forward            curl: (7) Failed to connect ..., exit 7
#   TLS not verifiable         curl: (60) SSL certificate problem: unable to get local issuer certificate, exit 60:
#                              the certificate Vault serves (tls.crt of the secret the chart values mount) must
#                              verify against --cacert for 127.0.0.1 (checked with the real `openssl verify`)
#   https to a plain listener  curl: (35) ... wrong version number, exit 35 (the chart's default tlsDisable: true)
#   Vault answers              403 "permission denied" without the root token; 404 for a KV entry that is not there
#                              (with --fail: exit 22). The KV lives in memory: deleting the pod or the cluster (or
#                              tests/workflows' restart_vault) empties it, as it empties a dev server.
# pulumi
#   missing stack              error: no stack named 'x' found, exit 255; stack init <existing>: error: stack 'x'
#                              already exists; up/refresh/destroy without --yes (never a terminal here): error:
#                              --yes or --skip-preview must be passed in to proceed when running in
#                              non-interactive mode
# ps (the macOS test only)     prints the full path of the executable for `-o comm=` as macOS ps does.
#
# The chart facts come from the pinned charts: vault-helm v0.30.1 (values.yaml server.updateStrategyType "OnDelete";
# templates/server-statefulset.yaml names the StatefulSet and templates/server-service.yaml the Service after the
# release; templates/injector-deployment.yaml "<release>-agent-injector"; templates/csi-daemonset.yaml
# "<release>-csi-provider" with csi.daemonSet.updateStrategy.type "RollingUpdate"; dev mode runs one replica,
# pod "<release>-0") and secrets-store-csi-driver 1.5.5. A chart version the stub does not know is "not published":
# bumping a pin means re-reading that chart's defaults here first.
# `#!/bin/bash` (not env) so that a running port-forward shows up as `kubectl` in `ps -o comm=`, as the real one does.
name="${0##*/}"
state="${STUB_STATE:?}"
printf '%s %s\n' "$name" "$*" >>"$state/calls.log"

declare -A PUBLISHED_CHARTS=(
  ["vault"]="0.30.1"
  ["secrets-store-csi-driver"]="1.5.5"
)

arg_after() { # the value following option $1 in the remaining arguments (--opt value or --opt=value)
  local wanted="$1"
  shift
  while (($# > 0)); do
    if [[ "$1" == "$wanted" ]]; then
      echo "$2"
      return
    fi
    if [[ "$1" == "$wanted="* ]]; then
      echo "${1#*=}"
      return
    fi
    shift
  done
}

has_arg() { # true when option $1 is among the remaining arguments
  local wanted="$1"
  shift
  local arg
  for arg in "$@"; do
    [[ "$arg" == "$wanted" ]] && return 0
  done
  return 1
}

positional() { # the remaining arguments that are not options (nor option values), one per line
  local skip_next=false arg
  for arg in "$@"; do
    if [[ "$skip_next" == true ]]; then
      skip_next=false
      continue
    fi
    case "$arg" in
      --context | --namespace | -n | --kube-context | --repo | --version | --values | -f | --timeout | --filter | \
        --output | -o | --name | --address | --stack | -s | --secrets-provider | --policy-pack | --for | \
        --from-file | --max-time | --cacert | --header | -H | --request | -X | --data | --write-out | -w | \
        --set | --type)
        skip_next=true
        ;;
      -*) ;;
      *) echo "$arg" ;;
    esac
  done
}

fail() { # print $2 on stderr, exit $1
  printf '%s\n' "$2" >&2
  exit "$1"
}

# ------------------------------------------------------------------------------------------------- cluster
cluster_dir() { echo "$state/clusters/$1"; }
context_cluster() { # the cluster behind kubeconfig context $1, or nothing
  [[ "$1" == kind-* && -d "$(cluster_dir "${1#kind-}")" ]] && echo "${1#kind-}"
}
ns_dir() { echo "$(cluster_dir "$1")/namespaces/$2"; }
object_file() { echo "$(ns_dir "$1" "$2")/$3/$4"; } # cluster namespace kind name

resource_name() { # the API resource kubectl prints in errors, for a kind as the scripts write it
  case "$1" in
    statefulset | statefulsets | sts) echo "statefulsets.apps" ;;
    deployment | deployments | deploy) echo "deployments.apps" ;;
    daemonset | daemonsets | ds) echo "daemonsets.apps" ;;
    pod | pods | po) echo "pods" ;;
    service | services | svc) echo "services" ;;
    secret | secrets) echo "secrets" ;;
    namespace | namespaces | ns) echo "namespaces" ;;
    *) echo "$1" ;;
  esac
}
canonical_kind() { resource_name "$1" | sed 's/\..*//; s/s$//'; } # statefulsets.apps -> statefulset

put_object() { # cluster namespace kind name content
  mkdir -p "$(dirname "$(object_file "$1" "$2" "$3" "$4")")"
  printf '%s\n' "$5" >"$(object_file "$1" "$2" "$3" "$4")"
}

vault_memory() { echo "$(cluster_dir "$1")/vault-memory"; }

# Objects a release of a known chart creates (see the header for where each fact comes from).
chart_objects() { # cluster namespace release chart values-file upgrade(true|false)
  local cluster="$1" ns="$2" release="$3" chart="$4" values="$5" upgrade="$6"
  case "$chart" in
    vault)
      local strategy
      strategy="$(json_get "$values" server.updateStrategyType OnDelete)"
      put_object "$cluster" "$ns" statefulset "$release" "$strategy"
      put_object "$cluster" "$ns" service "$release" ""
      if [[ "$(json_get "$values" injector.enabled True)" == True ]]; then
        put_object "$cluster" "$ns" deployment "${release}-agent-injector" RollingUpdate
      fi
      if [[ "$(json_get "$values" csi.enabled False)" == True ]]; then
        put_object "$cluster" "$ns" daemonset "${release}-csi-provider" RollingUpdate
      fi
      if [[ "$upgrade" == true && "$strategy" == OnDelete ]]; then
        return # the template changed, the running pod (and the dev server's memory) did not
      fi
      put_object "$cluster" "$ns" pod "${release}-0" ""
      cp "$values" "$(object_file "$cluster" "$ns" pod "${release}-0")" # the pod runs with these values
      rm -rf "$(vault_memory "$cluster")"
      mkdir -p "$(vault_memory "$cluster")"
      ;;
    secrets-store-csi-driver)
      put_object "$cluster" "$ns" daemonset "${release}-secrets-store-csi-driver" RollingUpdate
      ;;
  esac
}

json_get() { # file dotted.key default: a value of a JSON document (Python's str() of it), or the default
  python3 - "$@" <<'PY'
import json, sys
path, key, default = sys.argv[1:4]
try:
    value = json.load(open(path))
    for part in key.split("."):
        value = value[part]
    print(value)
except (OSError, ValueError, KeyError, TypeError):
    print(default)
PY
}

pod_secrets() { # values-file: the secret names the Vault pod mounts (server.volumes)
  python3 - "$1" <<'PY'
import json, sys
try:
    volumes = json.load(open(sys.argv[1]))["server"].get("volumes") or []
except (OSError, ValueError, KeyError):
    volumes = []
for volume in volumes:
    if "secret" in volume:
        print(volume["secret"]["secretName"])
PY
}

# ------------------------------------------------------------------------------------------------------ kind
run_kind() {
  local cluster
  case "$1 $2" in
    "get clusters")
      if compgen -G "$state/clusters/*" >/dev/null; then
        for cluster in "$state"/clusters/*; do echo "${cluster##*/}"; done
      else
        echo "No kind clusters found." >&2
      fi
      ;;
    "create cluster")
      cluster="$(arg_after --name "$@")"
      cluster="${cluster:-kind}"
      if [[ -d "$(cluster_dir "$cluster")" ]]; then
        fail 1 "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"$cluster\""
      fi
      mkdir -p "$(ns_dir "$cluster" default)" "$(ns_dir "$cluster" kube-system)"
      ;;
    "delete cluster")
      cluster="$(arg_after --name "$@")"
      echo "Deleting cluster \"${cluster:-kind}\" ..." >&2
      rm -rf "$(cluster_dir "${cluster:-kind}")"
      ;;
    *) fail 99 "stub_tools.sh: kind $* is not modelled" ;;
  esac
}

# --------------------------------------------------------------------------------------------------- kubectl
run_kubectl() {
  local context cluster ns
  context="$(arg_after --context "$@")"
  [[ -n "$context" ]] || fail 99 "stub_tools.sh: kubectl without --context would use whatever context is current"
  cluster="$(context_cluster "$context")"
  [[ -n "$cluster" ]] || fail 1 "Error in configuration: context was not found for specified context: $context"
  ns="$(arg_after --namespace "$@")"
  ns="${ns:-default}"
  mapfile -t words < <(positional "$@")
  local verb="${words[0]:-}"
  case "$verb" in
    get) kubectl_get "$cluster" "$ns" "$@" ;;
    create) kubectl_create "$cluster" "$ns" "$@" ;;
    delete) kubectl_delete "$cluster" "$ns" "${words[@]:1}" ;;
    rollout) kubectl_rollout "$cluster" "$ns" "${words[@]:1}" ;;
    wait) kubectl_wait "$cluster" "$ns" "$(arg_after --for "$@")" "${words[1]}" ;;
    port-forward) kubectl_port_forward "$cluster" "$ns" "${words[1]}" "${words[2]}" ;;
    *) fail 99 "stub_tools.sh: kubectl $verb is not modelled" ;;
  esac
}

kubectl_get() {
  local cluster="$1" ns="$2"
  shift 2
  if has_arg --raw "$@"; then
    echo ok
    return
  fi
  mapfile -t words < <(positional "$@")
  local kind="${words[1]}" object="${words[2]}"
  if [[ "$(canonical_kind "$kind")" == namespace ]]; then
    [[ -d "$(ns_dir "$cluster" "$object")" ]] || fail 1 "Error from server (NotFound): namespaces \"$object\" not found"
    echo "namespace/$object"
    return
  fi
  local file
  file="$(object_file "$cluster" "$ns" "$(canonical_kind "$kind")" "$object")"
  [[ -e "$file" ]] || fail 1 "Error from server (NotFound): $(resource_name "$kind") \"$object\" not found"
  local output
  output="$(arg_after --output "$@")"
  if [[ "$output" == jsonpath=\{.data.*\} ]]; then # {.data.ca\.crt}: a secret's key, base64 as the API returns it
    local key="${output#jsonpath=\{.data.}"
    key="${key%\}}"
    key="${key//\\/}"
    [[ -f "$file/$key" ]] && base64 -w0 <"$file/$key"
    return
  fi
  echo "$(canonical_kind "$kind")/$object"
}

kubectl_create() {
  local cluster="$1" ns="$2"
  shift 2
  mapfile -t words < <(positional "$@")
  if [[ "${words[1]}" == namespace ]]; then
    [[ -d "$(ns_dir "$cluster" "${words[2]}")" ]] &&
      fail 1 "Error from server (AlreadyExists): namespaces \"${words[2]}\" already exists"
    mkdir -p "$(ns_dir "$cluster" "${words[2]}")"
    echo "namespace/${words[2]} created"
    return
  fi
  [[ "${words[1]} ${words[2]}" == "secret generic" ]] || fail 99 "stub_tools.sh: kubectl create ${words[1]} is not modelled"
  [[ -d "$(ns_dir "$cluster" "$ns")" ]] || fail 1 "Error from server (NotFound): namespaces \"$ns\" not found"
  local secret="${words[3]}" dir
  dir="$(object_file "$cluster" "$ns" secret "$secret")"
  [[ -e "$dir" ]] && fail 1 "Error from server (AlreadyExists): secrets \"$secret\" already exists"
  mkdir -p "$dir"
  local arg spec
  for arg in "$@"; do
    case "$arg" in
      --from-file=*)
        spec="${arg#--from-file=}"
        [[ -f "${spec#*=}" ]] || { rm -rf "$dir"; fail 1 "error: error reading ${spec#*=}: no such file or directory"; }
        cp "${spec#*=}" "$dir/${spec%%=*}"
        ;;
    esac
  done
  echo "secret/$secret created"
}

kubectl_delete() {
  local cluster="$1" ns="$2" target="$3" file
  [[ "$target" == */* ]] || target="$3/$4"
  file="$(object_file "$cluster" "$ns" "$(canonical_kind "${target%%/*}")" "${target#*/}")"
  [[ -e "$file" ]] || fail 1 "Error from server (NotFound): $(resource_name "${target%%/*}") \"${target#*/}\" not found"
  echo "$(canonical_kind "${target%%/*}") \"${target#*/}\" deleted"
  if [[ "$(canonical_kind "${target%%/*}")" == pod ]]; then
    # The StatefulSet controller recreates its pod from the current template (the release's current values);
    # a dev Vault restarts empty.
    cp "$(cluster_dir "$cluster")/releases/$ns/$(basename "${target#*/}" -0).values.json" "$file" 2>/dev/null || true
    rm -rf "$(vault_memory "$cluster")"
    mkdir -p "$(vault_memory "$cluster")"
  else
    rm -rf "$file"
  fi
}

kubectl_rollout() {
  local cluster="$1" ns="$2" sub="$3" target="$4" kind file
  [[ "$sub" == status ]] || fail 99 "stub_tools.sh: kubectl rollout $sub is not modelled"
  kind="$(canonical_kind "${target%%/*}")"
  case "$kind" in
    statefulset | daemonset | deployment) ;;
    *) fail 1 "error: no status viewer has been implemented for ${kind^}" ;;
  esac
  file="$(object_file "$cluster" "$ns" "$kind" "${target#*/}")"
  [[ -e "$file" ]] || fail 1 "Error from server (NotFound): $(resource_name "$kind") \"${target#*/}\" not found"
  if [[ "$kind" != deployment && "$(<"$file")" != RollingUpdate ]]; then
    fail 1 "error: rollout status is only available for RollingUpdate strategy type"
  fi
  echo "$kind \"${target#*/}\" successfully rolled out"
}

kubectl_wait() {
  local cluster="$1" ns="$2" condition="$3" target="$4" kind file secret
  kind="$(canonical_kind "${target%%/*}")"
  file="$(object_file "$cluster" "$ns" "$kind" "${target#*/}")"
  [[ -e "$file" ]] || fail 1 "Error from server (NotFound): $(resource_name "$kind") \"${target#*/}\" not found"
  [[ "$kind" == pod && "$condition" == condition=Ready ]] || fail 99 "stub_tools.sh: kubectl wait --for=$condition $target is not modelled"
  while read -r secret; do
    [[ -z "$secret" || -e "$(object_file "$cluster" "$ns" secret "$secret")" ]] ||
      fail 1 "error: timed out waiting for the condition on pods/${target#*/}"
  done < <(pod_secrets "$file")
  echo "pod/${target#*/} condition met"
}

kubectl_port_forward() {
  local cluster="$1" ns="$2" target="$3" ports="$4" local_port
  local_port="${ports%%:*}"
  local kind
  kind="$(canonical_kind "${target%%/*}")"
  [[ -e "$(object_file "$cluster" "$ns" "$kind" "${target#*/}")" ]] ||
    fail 1 "Error from server (NotFound): $(resource_name "$kind") \"${target#*/}\" not found"
  if [[ -e "$state/port-taken-$local_port" ]] || { [[ -s "$state/forward-$local_port" ]] && kill -0 "$(<"$state/forward-$local_port")" 2>/dev/null; }; then
    echo "Unable to listen on port $local_port: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:$local_port: bind: address already in use]" >&2
    fail 1 "error: unable to listen on any of the requested ports: [{$local_port ${ports#*:}}]"
  fi
  echo "$$" >"$state/forward-$local_port"
  echo "$cluster/$ns/${target#*/}" >"$state/forward-$local_port.target"
  echo "Forwarding from 127.0.0.1:$local_port -> ${ports#*:}"
  sleep 300 &
  trap 'kill "$!"; rm -f "$state/forward-$local_port" "$state/forward-$local_port.target"; exit 0' TERM
  wait
}

# ------------------------------------------------------------------------------------------------------ helm
run_helm() {
  local context cluster ns
  context="$(arg_after --kube-context "$@")"
  [[ -n "$context" ]] || fail 99 "stub_tools.sh: helm without --kube-context would use whatever context is current"
  cluster="$(context_cluster "$context")"
  [[ -n "$cluster" ]] || fail 1 "Error: Kubernetes cluster unreachable: context was not found for specified context: $context"
  ns="$(arg_after --namespace "$@")"
  ns="${ns:-default}"
  local releases
  releases="$(cluster_dir "$cluster")/releases/$ns"
  mapfile -t words < <(positional "$@")
  case "${words[0]}" in
    list)
      local release
      release="$(arg_after --filter "$@")"
      release="${release#^}"
      release="${release%\$}"
      if [[ -f "$releases/$release.json" ]]; then cat "$releases/$release.json"; else echo '[]'; fi
      ;;
    status)
      [[ -f "$releases/${words[1]}.json" ]] || fail 1 "Error: release: not found"
      echo "STATUS: deployed"
      ;;
    get)
      [[ "${words[1]}" == values ]] || fail 99 "stub_tools.sh: helm get ${words[1]} is not modelled"
      [[ -f "$releases/${words[2]}.json" ]] || fail 1 "Error: release: not found"
      cat "$releases/${words[2]}.values.json"
      ;;
    install | upgrade)
      helm_install "$cluster" "$ns" "$releases" "$@"
      ;;
    *) fail 99 "stub_tools.sh: helm ${words[0]} is not modelled" ;;
  esac
}

helm_install() {
  local cluster="$1" ns="$2" releases="$3"
  shift 3
  mapfile -t words < <(positional "$@")
  local verb="${words[0]}" release chart version values
  if [[ "$verb" == install ]]; then release="${words[1]}" chart="${words[2]}"; else release="${words[1]}" chart="${words[2]}"; fi
  version="$(arg_after --version "$@")"
  values="$(arg_after --values "$@")"
  if [[ "${PUBLISHED_CHARTS[$chart]:-}" != "$version" ]]; then
    fail 1 "Error: chart \"$chart\" version \"$version\" not found in $(arg_after --repo "$@") repository"
  fi
  if [[ "$verb" == install && -f "$releases/$release.json" ]]; then
    fail 1 "Error: INSTALLATION FAILED: cannot re-use a name that is still in use"
  fi
  if [[ "$verb" == upgrade && ! -f "$releases/$release.json" ]] && ! has_arg --install "$@"; then
    fail 1 "Error: UPGRADE FAILED: \"$release\" has no deployed releases"
  fi
  if [[ ! -d "$(ns_dir "$cluster" "$ns")" ]]; then
    has_arg --create-namespace "$@" || fail 1 "Error: INSTALLATION FAILED: create: failed to create: namespaces \"$ns\" not found"
    mkdir -p "$(ns_dir "$cluster" "$ns")"
  fi
  mkdir -p "$releases"
  local stored="$releases/$release.values.json"
  if [[ -n "$values" ]]; then cp "$values" "$stored"; else echo '{}' >"$stored"; fi
  cp "$stored" "$state/values-$release.json"
  local upgrade=false
  [[ -f "$releases/$release.json" ]] && upgrade=true
  echo "[{\"name\":\"$release\",\"namespace\":\"$ns\",\"status\":\"deployed\",\"chart\":\"$chart-$version\"}]" \
    >"$releases/$release.json"
  chart_objects "$cluster" "$ns" "$release" "$chart" "$stored" "$upgrade"
}

# ------------------------------------------------------------------------------------------------------ curl
run_curl() {
  local url cacert method data status_format output
  mapfile -t words < <(positional "$@")
  url="${words[-1]}"
  cacert="$(arg_after --cacert "$@")"
  method="$(arg_after --request "$@")"
  data="$(arg_after --data "$@")"
  status_format="$(arg_after --write-out "$@")"
  output="$(arg_after --output "$@")"
  local port="${url#*://127.0.0.1:}"
  port="${port%%/*}"
  local forward="$state/forward-$port"
  if [[ ! -s "$forward" ]] || ! kill -0 "$(<"$forward")" 2>/dev/null; then
    [[ -n "$status_format" ]] && printf '000'
    has_arg --silent "$@" || echo "curl: (7) Failed to connect to 127.0.0.1 port $port after 0 ms: Couldn't connect to server" >&2
    exit 7
  fi
  local target cluster ns pod_values secret tls_dir
  target="$(<"$forward.target")"
  cluster="${target%%/*}"
  ns="${target#*/}"
  ns="${ns%%/*}"
  pod_values="$(object_file "$cluster" "$ns" pod "${target##*/}-0")"
  secret="$(pod_secrets "$pod_values" | head -n 1)"
  tls_dir="$(object_file "$cluster" "$ns" secret "$secret")"
  local tls_disabled
  tls_disabled="$(json_get "$pod_values" global.tlsDisable True)"
  if [[ "$url" == https://* ]]; then
    if [[ "$tls_disabled" == True || ! -f "$tls_dir/tls.crt" ]]; then
      [[ -n "$status_format" ]] && printf '000'
      exit 35 # curl: (35) ... wrong version number: Vault's listener speaks plain HTTP
    fi
    if [[ -z "$cacert" ]] || ! openssl verify -CAfile "$cacert" -verify_ip 127.0.0.1 "$tls_dir/tls.crt" >/dev/null 2>&1; then
      [[ -n "$status_format" ]] && printf '000'
      if ! has_arg --silent "$@" || has_arg --show-error "$@"; then
        echo "curl: (60) SSL certificate problem: unable to get local issuer certificate" >&2
      fi
      exit 60
    fi
  elif [[ "$tls_disabled" != True ]]; then
    vault_reply 400 "Client sent an HTTP request to an HTTPS server." "$status_format" "$output" "$@"
  fi
  # Vault's API, in memory.
  local path="${url#*://127.0.0.1:"$port"}"
  local token=""
  if [[ "$(arg_after --header "$@")" == @- ]]; then
    token="$(sed -n 's/^X-Vault-Token: //p')"
  fi
  local memory
  memory="$(vault_memory "$cluster")"
  local root_token
  root_token="$(json_get "$pod_values" server.dev.devRootToken root)"
  case "$path" in
    /v1/sys/health) vault_reply 200 '{"initialized":true,"sealed":false,"standby":false}' "$status_format" "$output" "$@" ;;
    /v1/secret/data/*)
      [[ "$token" == "$root_token" ]] || vault_reply 403 '{"errors":["permission denied"]}' "$status_format" "$output" "$@"
      local key="${path#/v1/secret/data/}"
      local entry="$memory/${key//\//_}"
      if [[ "${method:-GET}" == POST || "${method:-GET}" == PUT ]]; then
        mkdir -p "$memory"
        printf '%s' "$data" >"$entry"
        vault_reply 200 '{"data":{"version":1}}' "$status_format" "$output" "$@"
      fi
      [[ -f "$entry" ]] || vault_reply 404 '{"errors":[]}' "$status_format" "$output" "$@"
      vault_reply 200 "{\"data\":$(<"$entry")}" "$status_format" "$output" "$@"
      ;;
    *) vault_reply 404 '{"errors":[]}' "$status_format" "$output" "$@" ;;
  esac
}

vault_reply() { # status body write-out output-file curl-args...: answer like curl does, then exit
  local status="$1" body="$2" status_format="$3" output="$4"
  shift 4
  if [[ -n "$output" && "$output" != /dev/stdout ]]; then
    [[ "$output" != /dev/null ]] && printf '%s' "$body" >"$output"
  else
    printf '%s' "$body"
  fi
  [[ -n "$status_format" ]] && printf '%s' "$status"
  if ((status >= 400)) && { has_arg --fail "$@" || has_arg -f "$@"; }; then
    has_arg --show-error "$@" && echo "curl: (22) The requested URL returned error: $status" >&2
    exit 22
  fi
  exit 0
}

# ---------------------------------------------------------------------------------------------------- pulumi
run_pulumi() {
  printf 'pulumi-env PULUMI_BACKEND_URL=%s PULUMI_CONFIG_PASSPHRASE=%s VAULT_ADDR=%s VAULT_TOKEN=%s VAULT_CACERT=%s\n' \
    "${PULUMI_BACKEND_URL:-}" "${PULUMI_CONFIG_PASSPHRASE:-}" "${VAULT_ADDR:-}" "${VAULT_TOKEN:-}" \
    "${VAULT_CACERT:-}" >>"$state/calls.log"
  mapfile -t words < <(positional "$@")
  local stack
  case "${words[0]} ${words[1]:-}" in
    "stack select")
      [[ -f "$state/stack-${words[2]}" ]] || fail 255 "error: no stack named '${words[2]}' found"
      ;;
    "stack init")
      [[ -f "$state/stack-${words[2]}" ]] && fail 255 "error: stack '${words[2]}' already exists"
      touch "$state/stack-${words[2]}"
      ;;
    up* | refresh* | destroy* | preview*)
      stack="$(arg_after --stack "$@")"
      [[ -f "$state/stack-$stack" ]] || fail 255 "error: no stack named '$stack' found"
      if [[ "${words[0]}" != preview ]] && ! has_arg --yes "$@" && ! has_arg --skip-preview "$@"; then
        fail 255 "error: --yes or --skip-preview must be passed in to proceed when running in non-interactive mode"
      fi
      # The stack's Vault provider reads vault.tls.caCertFile (dev: .pulumi-state/vault-ca.pem) when it starts.
      if [[ -f .pulumi-state/vault-ca.pem ]]; then cp .pulumi-state/vault-ca.pem "$state/ca-at-${words[0]}.pem"; fi
      ;;
    *) fail 99 "stub_tools.sh: pulumi $* is not modelled" ;;
  esac
}

# -------------------------------------------------------------------------------------------------------- ps
run_ps() { # macOS: `ps -p <pid> -o comm=` prints the executable's full path; exit 1 when no such process
  local pid
  pid="$(arg_after -p "$@")"
  [[ -r "/proc/$pid/comm" ]] || exit 1
  echo "/usr/local/bin/$(<"/proc/$pid/comm")"
}

case "$name" in
  kind) run_kind "$@" ;;
  kubectl) run_kubectl "$@" ;;
  helm) run_helm "$@" ;;
  curl) run_curl "$@" ;;
  pulumi) run_pulumi "$@" ;;
  ps) run_ps "$@" ;;
  *) fail 99 "stub_tools.sh: unexpected tool $name" ;;
esac
