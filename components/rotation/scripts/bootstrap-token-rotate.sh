#!/bin/sh
# bootstrap-token-rotate.sh: the body of the Job bootstrap-token-rotate-v<N> (secure-mesh, docs/operations.md
# "Bootstrap / management token").
#
# Replaces Consul's bootstrap (initial management) token with the SecretID Pulumi wrote to KV "<KV_NEXT>" for
# TARGET_VERSION, in the order the failure modes dictate:
#   1. create the new management token with that SecretID (if it does not exist yet)
#   2. write it to KV "<KV_CURRENT>", the secret the chart's servers render as acl.tokens.initial_management
#      and server-acl-init reads on every Helm upgrade (it must exist in Consul before KV names it)
#   3. restart the servers (the StatefulSet's pod-template annotation ROLL_ANNOTATION=<version>, as
#      `kubectl rollout restart` does) and wait, bounded, until the roll is complete by kubectl's own rule
#   4. only then delete the old token by its AccessorID: a leader still configured with the old value
#      re-creates it at its next leadership change (consul agent/consul/leader.go initializeACLs ->
#      initializeManagementToken, "Initial Management Token")
# Every step is idempotent, so a re-run continues where one stopped. The old token's AccessorID is kept in KV
# next to the new token (field "replaced-accessor"), so a re-run after step 2 still knows what to delete. Until
# step 4 both tokens are valid: a failure anywhere leaves a working management token in KV.
#
# Authentication: Vault login with the Job's projected service-account token, then a short-lived Consul token
# (acl = "write" only) from Vault's Consul secrets engine; the Kubernetes API with a second projected token of
# the API server's audience, allowed only get/patch on this one StatefulSet.
set -eu

: "${TARGET_VERSION:?}" "${VAULT_AUTH_PATH:?}" "${VAULT_ROLE:?}" "${SA_TOKEN_FILE:?}" "${CREDS_PATH:?}"
: "${KV_MOUNT:?}" "${KV_CURRENT:?}" "${KV_NEXT:?}" "${KV_FIELD:?}"
: "${NAMESPACE:?}" "${STATEFULSET:?}" "${ROLL_ANNOTATION:?}" "${KUBE_API:?}" "${KUBE_TOKEN_FILE:?}" "${KUBE_CA_FILE:?}"
ROLLOUT_SECONDS="${ROLLOUT_SECONDS:-900}"
POLL_SECONDS="${POLL_SECONDS:-5}"
CALL_SECONDS="${CALL_SECONDS:-30}"
REPLACED_FIELD="replaced-accessor"
STS_PATH="/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/${STATEFULSET}"

log() { printf '%s bootstrap-token-rotate-v%s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$TARGET_VERSION" "$*" >&2; }
fail() {
    log "FAILED: $*"
    exit 1
}
# Every call to Consul, Vault or the Kubernetes API is bounded: a hung connection fails the step.
call() { timeout "$CALL_SECONDS" "$@"; }

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

log "logging in to Vault at ${VAULT_AUTH_PATH} as role ${VAULT_ROLE}"
VAULT_TOKEN=$(call vault write -field=token "${VAULT_AUTH_PATH}/login" role="$VAULT_ROLE" jwt=@"$SA_TOKEN_FILE") ||
    fail "Vault login refused (see the error above); nothing was changed"
export VAULT_TOKEN

CONSUL_HTTP_TOKEN=$(call vault read -field=token "$CREDS_PATH") ||
    fail "no Consul token from ${CREDS_PATH}; nothing was changed"
export CONSUL_HTTP_TOKEN

next_version=$(call vault kv get -mount="$KV_MOUNT" -field=version "$KV_NEXT") ||
    fail "cannot read ${KV_MOUNT}/${KV_NEXT}; nothing was changed"
[ "$next_version" = "$TARGET_VERSION" ] ||
    fail "${KV_MOUNT}/${KV_NEXT} holds version ${next_version}, not ${TARGET_VERSION}; nothing was changed"
new_token=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_NEXT") ||
    fail "cannot read the new token; nothing was changed"
[ -n "$new_token" ] || fail "the new token is empty; nothing was changed"
current=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") ||
    fail "cannot read ${KV_MOUNT}/${KV_CURRENT}; nothing was changed"

# Which token is replaced: the one KV names now, or (KV already updated by an earlier run) the one recorded then.
if [ "$current" = "$new_token" ]; then
    old_accessor=$(call vault kv get -mount="$KV_MOUNT" -field="$REPLACED_FIELD" "$KV_CURRENT") ||
        fail "${KV_MOUNT}/${KV_CURRENT} holds the new token but not the replaced token's AccessorID"
    log "steps 1-2/4: done by an earlier run (KV holds the new token)"
else
    [ -n "$current" ] || fail "${KV_MOUNT}/${KV_CURRENT} is empty: ACLs were never bootstrapped; nothing was changed"
    old_accessor=$(accessor_of "$current") ||
        fail "the token in ${KV_MOUNT}/${KV_CURRENT} is not a Consul token (see the error above); nothing was changed"

    # 1. create
    if new_accessor=$(accessor_of "$new_token" 2>/dev/null); then
        log "step 1/4: the new token exists already (AccessorID ${new_accessor})"
    else
        log "step 1/4: creating the new management token"
        call consul acl token create -secret="$new_token" -policy-name=global-management \
            -description="secure-mesh bootstrap token v${TARGET_VERSION}" -format=json >/dev/null ||
            fail "token create failed; the old token is still the bootstrap token"
        accessor_of "$new_token" >/dev/null || fail "the new token does not read back; the old token is still in KV"
    fi

    # 2. KV, with the replaced token's AccessorID for a re-run
    log "step 2/4: writing the new token to ${KV_MOUNT}/${KV_CURRENT}"
    printf '%s' "$new_token" |
        call vault kv put -mount="$KV_MOUNT" "$KV_CURRENT" "${KV_FIELD}=-" "${REPLACED_FIELD}=${old_accessor}" >/dev/null ||
        fail "KV write failed; the old token is still in KV and valid, the new one exists unused"
    written=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") || written=""
    [ "$written" = "$new_token" ] || fail "KV does not read back the new token; both tokens stay valid"
fi

# 3. restart the servers so none is still configured with the old token, and wait for the roll
statefulset=$(kube GET "${KUBE_API}${STS_PATH}") ||
    fail "cannot read StatefulSet ${NAMESPACE}/${STATEFULSET} (${statefulset:-no answer}); KV holds the new token, the old one stays valid"
state=$(rollout_state "$statefulset")
case "$state" in
unsupported:*) fail "StatefulSet ${NAMESPACE}/${STATEFULSET}: ${state#unsupported: }; both tokens stay valid" ;;
esac
if [ "$(printf '%s' "$statefulset" | jq -r --arg a "$ROLL_ANNOTATION" '.spec.template.metadata.annotations[$a] // ""')" = "$TARGET_VERSION" ]; then
    log "step 3/4: the servers were restarted for this version already"
else
    log "step 3/4: restarting the servers (StatefulSet ${NAMESPACE}/${STATEFULSET})"
    patch=$(jq -cn --arg a "$ROLL_ANNOTATION" --arg v "$TARGET_VERSION" '{spec: {template: {metadata: {annotations: {($a): $v}}}}}')
    answer=$(kube PATCH -H "Content-Type: application/strategic-merge-patch+json" --data "$patch" "${KUBE_API}${STS_PATH}") ||
        fail "restart refused (${answer:-no answer}); KV holds the new token, the old one stays valid"
fi
log "step 3/4: waiting up to ${ROLLOUT_SECONDS}s for the rolling restart"
started=$(date +%s)
while :; do
    statefulset=$(kube GET "${KUBE_API}${STS_PATH}") || statefulset=""
    state=$(rollout_state "$statefulset" 2>/dev/null) || state="waiting: the StatefulSet could not be read"
    [ "$state" = "done" ] && break
    if [ $(($(date +%s) - started)) -ge "$ROLLOUT_SECONDS" ]; then
        fail "the servers did not finish restarting after ${ROLLOUT_SECONDS}s (${state}); the old token stays valid"
    fi
    sleep "$POLL_SECONDS"
done

# 4. delete the old token, only now that no server is configured with it
if [ "$old_accessor" = "$(accessor_of "$new_token")" ]; then
    fail "the replaced token is the new token; nothing to delete"
fi
log "step 4/4: deleting the old token (AccessorID ${old_accessor})"
# Deleting a token that no longer exists succeeds in the primary datacenter (consul agent/consul/acl_endpoint.go
# TokenDelete: "the token does not exist - return early"), so a re-run after this step passes.
call consul acl token delete -accessor-id="$old_accessor" >/dev/null ||
    fail "delete failed; the new token is in use, the old one is still valid"
log "done: version ${TARGET_VERSION} is the bootstrap token, in KV and on every server"
