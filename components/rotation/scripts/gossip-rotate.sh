#!/bin/sh
# gossip-rotate.sh: the body of the Job gossip-rotate-v<N> (secure-mesh, docs/operations.md "Gossip key").
#
# Rotates Consul's gossip encryption key to the one Pulumi wrote to KV "<KV_NEXT>" for TARGET_VERSION,
# in the order Consul's docs give (consul website docs/k8s/operations/gossip-encryption-key-rotation.mdx):
#   1. install the new key       (consul keyring -install)
#   2. wait until every member of every pool holds it ([n/n] in `consul keyring -list`), bounded
#   3. make it the primary key   (consul keyring -use)
#   4. write it to KV "<KV_CURRENT>", the secret the chart's servers read at start
#   5. only then remove every other key (removing first would strand a server that starts from KV)
# Every step is idempotent, so a re-run (Job retry, or a new Job after a failure) continues where one
# stopped. A failure before step 3 leaves the old primary in use; after it, every member holds and uses
# the new key and the old one stays installed, so the cluster always runs on a key every member has.
#
# Authentication: the Job logs in to Vault with its projected service-account token, then reads a
# short-lived Consul token (keyring = "write" only) from Vault's Consul secrets engine. Both expire on
# their own (the Vault token within rotation.consulSecretsEngine.jobMaxTtl, revoking the Consul lease).
set -eu

: "${TARGET_VERSION:?}" "${VAULT_AUTH_PATH:?}" "${VAULT_ROLE:?}" "${SA_TOKEN_FILE:?}" "${CREDS_PATH:?}"
: "${KV_MOUNT:?}" "${KV_CURRENT:?}" "${KV_NEXT:?}" "${KV_FIELD:?}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"
POLL_SECONDS="${POLL_SECONDS:-5}"
CALL_SECONDS="${CALL_SECONDS:-30}"
JOB_NAME="gossip-rotate-v${TARGET_VERSION}"
# log, fail, call (every call bounded) and vault_login, shared with the token rotations.
# shellcheck source-path=SCRIPTDIR source=rotation-lib.sh
. "$(dirname "$0")/rotation-lib.sh"

# Keys listed by `consul keyring -list` (lines "  <key> [<holders>/<members>]", consul command/keyring/keyring.go).
listed_keys() { printf '%s\n' "$1" | awk '/^  [^ ]+ \[[0-9]+\/[0-9]+\]$/ { print $1 }' | sort -u; }

# True when every pool (the "WAN:" and "<dc> (LAN):" headers) lists the key as held by all of its members.
held_everywhere() {
    printf '%s\n' "$1" | awk -v key="$2" '
        /^[^ ].*:$/ && !/^==>/ { pools++; next }
        $1 == key { count = $2; gsub(/[][]/, "", count); split(count, n, "/"); if (n[1] == n[2] && n[2] > 0) full++ }
        END { exit !(pools > 0 && full == pools) }'
}

vault_login
engine_consul_token
read_next_value key
new_key=$NEXT_VALUE

# 1. install
listing=$(call consul keyring -list) || fail "consul keyring -list failed; nothing was changed"
if listed_keys "$listing" | grep -qxF -e "$new_key"; then
    log "step 1/5: the new key is already installed"
else
    log "step 1/5: installing the new key"
    call consul keyring -install="$new_key" >/dev/null || fail "install failed; the old primary key is still in use"
fi

# 2. wait until every member holds it (a failed or partitioned member never answers: time out, never force)
log "step 2/5: waiting up to ${WAIT_SECONDS}s until every member holds the new key"
started=$(date +%s)
until listing=$(call consul keyring -list) && held_everywhere "$listing" "$new_key"; do
    if [ $(($(date +%s) - started)) -ge "$WAIT_SECONDS" ]; then
        log "last listing:"
        printf '%s\n' "${listing:-<none>}" >&2
        fail "not every member holds the new key after ${WAIT_SECONDS}s; the old primary key is still in use"
    fi
    sleep "$POLL_SECONDS"
done

# 3. use
log "step 3/5: making the new key primary"
call consul keyring -use="$new_key" >/dev/null ||
    fail "use failed; every member holds both keys, the previous primary may still be in use"

# 4. KV: servers that start later (new PVC, scale-up) read the key from here
current=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") ||
    fail "cannot read ${KV_MOUNT}/${KV_CURRENT}; the cluster uses the new key, the old one stays installed"
if [ "$current" = "$new_key" ]; then
    log "step 4/5: ${KV_MOUNT}/${KV_CURRENT} already holds the new key"
else
    log "step 4/5: writing the new key to ${KV_MOUNT}/${KV_CURRENT}"
    printf '%s' "$new_key" | call vault kv put -mount="$KV_MOUNT" "$KV_CURRENT" "${KV_FIELD}=-" >/dev/null ||
        fail "KV write failed; the cluster uses the new key, the old one stays installed"
    written=$(call vault kv get -mount="$KV_MOUNT" -field="$KV_FIELD" "$KV_CURRENT") || written=""
    [ "$written" = "$new_key" ] ||
        fail "KV does not read back the new key; the cluster uses the new key, the old one stays installed"
fi

# 5. remove every other key, only now that KV holds the new one
for old_key in $(listed_keys "$listing" | grep -vxF -e "$new_key" || true); do
    log "step 5/5: removing an old key"
    call consul keyring -remove="$old_key" >/dev/null ||
        fail "remove failed; the cluster uses the new key (also in KV), an old key stays installed"
done
listing=$(call consul keyring -list) || fail "final consul keyring -list failed"
remaining=$(listed_keys "$listing")
[ "$remaining" = "$new_key" ] || fail "keys other than the new one are still installed"
log "done: version ${TARGET_VERSION} is the only gossip key, in use and in KV"
