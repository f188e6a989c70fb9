#!/bin/sh
# replication-token-roll.sh: the body of the Job replication-token-rotate-v<N> in a WAN-federation secondary
# (secure-mesh, docs/operations.md "Replication token").
#
# The primary's Job (token-rotate.sh) creates the new replication token, writes it to the primary's KV
# "<KV_CURRENT>" with its version, and deletes the old token only once every secondary acknowledged. Here:
#   1. wait, bounded, until the primary's KV names version TARGET_VERSION
#   2. check that this datacenter's servers accept the new token (`consul acl token read -self` with it:
#      replicated, or resolved by the primary)
#   3. restart this datacenter's servers, so none still uses the old token, and wait for the roll
#   4. acknowledge: write {version} to the primary's KV "<ACK_NAME>", which the primary's Job waits for
# Each step is idempotent. A failure leaves both tokens valid: the primary deletes nothing before step 4.
set -eu

: "${JOB_NAME:?}" "${TARGET_VERSION:?}" "${VAULT_AUTH_PATH:?}" "${VAULT_ROLE:?}" "${SA_TOKEN_FILE:?}"
: "${KV_MOUNT:?}" "${KV_CURRENT:?}" "${KV_FIELD:?}" "${ACK_NAME:?}"
: "${NAMESPACE:?}" "${STATEFULSET:?}" "${ROLL_ANNOTATION:?}" "${KUBE_API:?}" "${KUBE_TOKEN_FILE:?}" "${KUBE_CA_FILE:?}"
ROLLOUT_SECONDS="${ROLLOUT_SECONDS:-900}"
WAIT_SECONDS="${WAIT_SECONDS:-900}"
POLL_SECONDS="${POLL_SECONDS:-5}"
CALL_SECONDS="${CALL_SECONDS:-30}"
# shellcheck source-path=SCRIPTDIR source=rotation-lib.sh
. "$(dirname "$0")/rotation-lib.sh"

vault_login

# 1. the primary's KV names this version
log "step 1/4: waiting up to ${WAIT_SECONDS}s until ${KV_MOUNT}/${KV_CURRENT} holds version ${TARGET_VERSION}"
started=$(date +%s)
until version=$(call vault kv get -mount="$KV_MOUNT" -field=version "$KV_CURRENT" 2>/dev/null) &&
    [ "$version" = "$TARGET_VERSION" ]; do
    if [ $(($(date +%s) - started)) -ge "$WAIT_SECONDS" ]; then
        fail "${KV_MOUNT}/${KV_CURRENT} does not hold version ${TARGET_VERSION} after ${WAIT_SECONDS}s (run the primary's \`pulumi up\` with this version first); nothing was changed"
    fi
    sleep "$POLL_SECONDS"
done
token=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") ||
    fail "cannot read the new token; nothing was changed"

# 2. this datacenter accepts it
accessor=$(accessor_of "$token") ||
    fail "this datacenter's servers do not accept the new token (see the error above); nothing was changed"
log "step 2/4: the new token (AccessorID ${accessor}) is known here"

# 3. restart
roll_servers "step 3/4" "the primary keeps the old token until this datacenter acknowledges"

# 4. acknowledge
log "step 4/4: acknowledging version ${TARGET_VERSION} in ${KV_MOUNT}/${ACK_NAME}"
call vault kv put -mount="$KV_MOUNT" "$ACK_NAME" "version=${TARGET_VERSION}" >/dev/null ||
    fail "the acknowledgement was refused; the primary keeps the old token until it is written"
log "done: this datacenter's servers use version ${TARGET_VERSION}"
