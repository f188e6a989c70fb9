#!/bin/sh
# rotation-lib.sh: what the token rotation Jobs' scripts share (secure-mesh components/rotation/scripts).
# Sourced, never run: each script sets JOB_NAME (for the log) and the variables the functions read.

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$JOB_NAME" "$*" >&2; }
fail() {
    log "FAILED: $*"
    exit 1
}
# Every call to Consul, Vault or the Kubernetes API is bounded: a hung connection fails the step.
call() { timeout "$CALL_SECONDS" "$@"; }

# Log in to Vault with the Job's projected service-account token; exports VAULT_TOKEN.
vault_login() {
    log "logging in to Vault at ${VAULT_AUTH_PATH} as role ${VAULT_ROLE}"
    VAULT_TOKEN=$(call vault write -field=token "${VAULT_AUTH_PATH}/login" role="$VAULT_ROLE" jwt=@"$SA_TOKEN_FILE") ||
        fail "Vault login refused (see the error above); nothing was changed"
    export VAULT_TOKEN
}

# A short-lived Consul token from Vault's Consul secrets engine (CREDS_PATH); exports CONSUL_HTTP_TOKEN.
engine_consul_token() {
    CONSUL_HTTP_TOKEN=$(call vault read -field=token "$CREDS_PATH") ||
        fail "no Consul token from ${CREDS_PATH}; nothing was changed"
    export CONSUL_HTTP_TOKEN
}

# The value Pulumi wrote to KV "<KV_NEXT>" for TARGET_VERSION, into NEXT_VALUE; refused unless the secret holds
# exactly this version and a non-empty value. $1: what the value is (for the messages).
read_next_value() {
    next_version=$(call vault kv get -mount="$KV_MOUNT" -field=version "$KV_NEXT") ||
        fail "cannot read ${KV_MOUNT}/${KV_NEXT}; nothing was changed"
    [ "$next_version" = "$TARGET_VERSION" ] ||
        fail "${KV_MOUNT}/${KV_NEXT} holds version ${next_version}, not ${TARGET_VERSION}; nothing was changed"
    NEXT_VALUE=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_NEXT") ||
        fail "cannot read the new $1; nothing was changed"
    [ -n "$NEXT_VALUE" ] || fail "the new $1 is empty; nothing was changed"
}

# The AccessorID of the token whose SecretID is $1 (`consul acl token read -self` needs no ACL privilege:
# a token may always read itself). Fails with Consul's "403 (ACL not found)" when no such token exists.
# (No pipeline from consul to jq: sh has no pipefail, so the pipeline would take jq's status, not Consul's.)
accessor_of() {
    token_json=$(CONSUL_HTTP_TOKEN="$1" call consul acl token read -self -format=json) || return 1
    printf '%s' "$token_json" | jq -er .AccessorID
}

# The Kubernetes API (the Consul image ships curl and jq: hashicorp/consul Dockerfile, target "default").
# --fail-with-body: an HTTP error exits non-zero and still prints the API's Status (its message names the cause).
kube() {
    method="$1"
    shift
    call curl -sS --fail-with-body --cacert "$KUBE_CA_FILE" -H "Authorization: Bearer $(cat "$KUBE_TOKEN_FILE")" \
        -X "$method" "$@"
}

# kubectl's StatefulSet rollout status (kubectl pkg/polymorphichelpers/rollout_status.go,
# StatefulSetStatusViewer): spec observed, every replica ready, and every pod above the partition updated (with a
# rollingUpdate block, which the API server defaults) or the current revision equal to the update revision.
# Prints "done", "waiting: <why>" or "unsupported: <why>".
rollout_state() {
    printf '%s' "$1" | jq -r --arg annotation "$ROLL_ANNOTATION" --arg version "$TARGET_VERSION" '
        (.spec.replicas // 1) as $replicas
        | if (.spec.updateStrategy.type // "RollingUpdate") != "RollingUpdate" then
            "unsupported: updateStrategy \(.spec.updateStrategy.type) never restarts pods on a template change"
          elif (.spec.template.metadata.annotations[$annotation] // "") != $version then
            "waiting: the restart annotation is not set"
          elif (.status.observedGeneration // 0) == 0 or .metadata.generation > (.status.observedGeneration // 0) then
            "waiting: the StatefulSet controller has not observed the change"
          elif (.status.readyReplicas // 0) < $replicas then
            "waiting: \($replicas - (.status.readyReplicas // 0)) pod(s) not ready"
          elif .spec.updateStrategy.rollingUpdate.partition != null then
            if (.status.updatedReplicas // 0) < ($replicas - .spec.updateStrategy.rollingUpdate.partition) then
              "waiting: \(.status.updatedReplicas // 0) of \($replicas - .spec.updateStrategy.rollingUpdate.partition) pod(s) restarted"
            else "done" end
          elif .status.updateRevision != .status.currentRevision then
            "waiting: revision \(.status.currentRevision) still running"
          else "done" end'
}

# Restart the servers' StatefulSet (the pod-template annotation ROLL_ANNOTATION=<version>, as `kubectl rollout
# restart` does, so a re-run of the same version does not roll again) and wait, bounded, until the roll is
# complete. $1: the step label; $2: what stays true when this fails (for the message).
roll_servers() {
    sts_path="/apis/apps/v1/namespaces/${NAMESPACE:?}/statefulsets/${STATEFULSET:?}"
    statefulset=$(kube GET "${KUBE_API}${sts_path}") ||
        fail "cannot read StatefulSet ${NAMESPACE}/${STATEFULSET} (${statefulset:-no answer}); $2"
    state=$(rollout_state "$statefulset")
    case "$state" in
    unsupported:*) fail "StatefulSet ${NAMESPACE}/${STATEFULSET}: ${state#unsupported: }; $2" ;;
    esac
    current=$(printf '%s' "$statefulset" | jq -r --arg a "$ROLL_ANNOTATION" '.spec.template.metadata.annotations[$a] // ""')
    if [ "$current" = "$TARGET_VERSION" ]; then
        log "$1: the servers were restarted for this version already"
    else
        log "$1: restarting the servers (StatefulSet ${NAMESPACE}/${STATEFULSET})"
        patch=$(jq -cn --arg a "$ROLL_ANNOTATION" --arg v "$TARGET_VERSION" \
            '{spec: {template: {metadata: {annotations: {($a): $v}}}}}')
        answer=$(kube PATCH -H "Content-Type: application/strategic-merge-patch+json" --data "$patch" \
            "${KUBE_API}${sts_path}") || fail "restart refused (${answer:-no answer}); $2"
    fi
    log "$1: waiting up to ${ROLLOUT_SECONDS}s for the rolling restart"
    started=$(date +%s)
    while :; do
        statefulset=$(kube GET "${KUBE_API}${sts_path}") || statefulset=""
        state=$(rollout_state "$statefulset" 2>/dev/null) || state="waiting: the StatefulSet could not be read"
        [ "$state" = "done" ] && break
        if [ $(($(date +%s) - started)) -ge "$ROLLOUT_SECONDS" ]; then
            fail "the servers did not finish restarting after ${ROLLOUT_SECONDS}s (${state}); $2"
        fi
        sleep "$POLL_SECONDS"
    done
}
