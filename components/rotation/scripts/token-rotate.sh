#!/bin/sh
# token-rotate.sh: the body of the Jobs bootstrap-token-rotate-v<N> and replication-token-rotate-v<N>
# (secure-mesh, docs/operations.md "Bootstrap / management token" and "Replication token").
#
# Replaces a Consul ACL token that a KV-v2 secret names (KV_CURRENT) with the SecretID Pulumi wrote to KV
# "<KV_NEXT>" for TARGET_VERSION, in the order the failure modes dictate:
#   1. create the new token with that SecretID and TOKEN_POLICY (if it does not exist yet)
#   2. write it to KV "<KV_CURRENT>" with its version: KV may only name a token that exists, because the chart
#      uses a non-empty value as-is (server-acl-init on every Helm upgrade, the servers' Vault agents)
#   3. wait until nothing is configured with the old token any more:
#      - bootstrap token (STATEFULSET set): restart this datacenter's servers and wait for the roll; a leader
#        still configured with the old initial_management token re-creates it (consul agent/consul/leader.go
#        initializeManagementToken);
#      - replication token (ACK_NAMES set): wait, bounded, until every secondary's Job acknowledged the version
#        in KV "<ACK_NAMES>" (each secondary restarts its own servers first: replication-token-roll.sh)
#   4. only then delete the old token by its AccessorID
# Every step is idempotent, so a re-run continues where one stopped. The old token's AccessorID is kept in KV
# next to the new token (field "replaced-accessor"), so a re-run after step 2 still knows what to delete. Until
# step 4 both tokens are valid: a failure anywhere leaves a working token in KV.
#
# Authentication: Vault login with the Job's projected service-account token, then a short-lived Consul token
# (acl = "write" only) from Vault's Consul secrets engine; for the restart, the Kubernetes API with a second
# projected token of the API server's audience, allowed only get/patch on this one StatefulSet.
set -eu

: "${JOB_NAME:?}" "${TARGET_VERSION:?}" "${VAULT_AUTH_PATH:?}" "${VAULT_ROLE:?}" "${SA_TOKEN_FILE:?}"
: "${CREDS_PATH:?}" "${KV_MOUNT:?}" "${KV_CURRENT:?}" "${KV_NEXT:?}" "${KV_FIELD:?}" "${TOKEN_POLICY:?}"
ROLLOUT_SECONDS="${ROLLOUT_SECONDS:-900}"
ACK_SECONDS="${ACK_SECONDS:-900}"
POLL_SECONDS="${POLL_SECONDS:-5}"
CALL_SECONDS="${CALL_SECONDS:-30}"
STATEFULSET="${STATEFULSET:-}"
ACK_NAMES="${ACK_NAMES:-}"
REPLACED_FIELD="replaced-accessor"
if [ -n "$STATEFULSET" ]; then
    : "${NAMESPACE:?}" "${ROLL_ANNOTATION:?}" "${KUBE_API:?}" "${KUBE_TOKEN_FILE:?}" "${KUBE_CA_FILE:?}"
elif [ -z "$ACK_NAMES" ]; then
    echo "token-rotate.sh: set STATEFULSET (restart the servers) or ACK_NAMES (wait for the secondaries)" >&2
    exit 2
fi
# shellcheck source-path=SCRIPTDIR source=rotation-lib.sh
. "$(dirname "$0")/rotation-lib.sh"

vault_login
engine_consul_token
read_next_value token
new_token=$NEXT_VALUE
current=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") ||
    fail "cannot read ${KV_MOUNT}/${KV_CURRENT}; nothing was changed"

# Which token is replaced: the one KV names now, or (KV already updated by an earlier run) the one recorded then.
if [ "$current" = "$new_token" ]; then
    old_accessor=$(call vault kv get -mount="$KV_MOUNT" -field="$REPLACED_FIELD" "$KV_CURRENT") ||
        fail "${KV_MOUNT}/${KV_CURRENT} holds the new token but not the replaced token's AccessorID"
    log "steps 1-2/4: done by an earlier run (KV holds the new token)"
else
    [ -n "$current" ] || fail "${KV_MOUNT}/${KV_CURRENT} is empty: no token to replace; nothing was changed"
    old_accessor=$(accessor_of "$current") ||
        fail "the token in ${KV_MOUNT}/${KV_CURRENT} is not a Consul token (see the error above); nothing was changed"

    # 1. create
    if new_accessor=$(accessor_of "$new_token" 2>/dev/null); then
        log "step 1/4: the new token exists already (AccessorID ${new_accessor})"
    else
        log "step 1/4: creating the new token (policy ${TOKEN_POLICY})"
        call consul acl token create -secret="$new_token" -policy-name="$TOKEN_POLICY" \
            -description="secure-mesh ${JOB_NAME%-v*} v${TARGET_VERSION}" -format=json >/dev/null ||
            fail "token create failed; the old token is still the one in KV"
        accessor_of "$new_token" >/dev/null || fail "the new token does not read back; the old token is still in KV"
    fi

    # 2. KV, with the version and the replaced token's AccessorID for a re-run
    log "step 2/4: writing the new token to ${KV_MOUNT}/${KV_CURRENT}"
    printf '%s' "$new_token" | call vault kv put -mount="$KV_MOUNT" "$KV_CURRENT" "${KV_FIELD}=-" \
        "version=${TARGET_VERSION}" "${REPLACED_FIELD}=${old_accessor}" >/dev/null ||
        fail "KV write failed; the old token is still in KV and valid, the new one exists unused"
    written=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") || written=""
    [ "$written" = "$new_token" ] || fail "KV does not read back the new token; both tokens stay valid"
fi

# 3. nothing may still be configured with the old token
if [ -n "$STATEFULSET" ]; then
    roll_servers "step 3/4" "KV holds the new token, the old one stays valid"
else
    log "step 3/4: waiting up to ${ACK_SECONDS}s until every secondary restarted its servers (${ACK_NAMES})"
    started=$(date +%s)
    for ack in $ACK_NAMES; do
        until acked=$(call vault kv get -mount="$KV_MOUNT" -field=version "$ack" 2>/dev/null) &&
            [ "$acked" = "$TARGET_VERSION" ]; do
            if [ $(($(date +%s) - started)) -ge "$ACK_SECONDS" ]; then
                fail "${KV_MOUNT}/${ack} has not acknowledged version ${TARGET_VERSION} after ${ACK_SECONDS}s (run that secondary's \`pulumi up\` with this version); the old token stays valid"
            fi
            sleep "$POLL_SECONDS"
        done
        log "step 3/4: ${ack} acknowledged version ${TARGET_VERSION}"
    done
fi

# 4. delete the old token, only now that nothing is configured with it
if [ "$old_accessor" = "$(accessor_of "$new_token")" ]; then
    fail "the replaced token is the new token; nothing to delete"
fi
log "step 4/4: deleting the old token (AccessorID ${old_accessor})"
# Deleting a token that no longer exists succeeds in the primary datacenter (consul agent/consul/acl_endpoint.go
# TokenDelete: "the token does not exist - return early"), so a re-run after this step passes.
call consul acl token delete -accessor-id="$old_accessor" >/dev/null ||
    fail "delete failed; the new token is in use, the old one is still valid"
log "done: version ${TARGET_VERSION} is the token in KV, and the old one is deleted"
