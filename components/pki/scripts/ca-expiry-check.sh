#!/bin/sh
# ca-expiry-check.sh: the body of the CronJob <fullname>-ca-expiry-check (secure-mesh, docs/operations.md "CA expiry").
#
# Reads every CA's live certificate and fails (exit 1) naming the CA and its notAfter when one expires within
# THRESHOLD_DAYS, or when a CA cannot be read at all (exit 2: an unreadable CA is not a healthy one):
#   * each Vault PKI mount in VAULT_CA_MOUNTS: GET /v1/<mount>/ca/pem, the mount's default issuer as PEM. The
#     endpoint is unauthenticated (Vault builtin/logical/pki/backend.go PathsSpecial.Unauthenticated lists
#     "ca/pem"), so the check holds no Vault token at all;
#   * Consul's Connect CA: GET /v1/connect/ca/roots, the active root (Roots[].Active) and the intermediates
#     Consul signs leaves with (Roots[].IntermediateCerts), consul api/connect_ca.go CARoot. "ACL Required: none"
#     (developer.hashicorp.com/consul/api-docs/connect/ca), so no Consul token either.
# Consul's HTTPS API is verified with the server TLS chain read from Vault the same unauthenticated way
# (GET /v1/<CONSUL_CA_MOUNT>/ca_chain), so the check follows a rotated server CA without being redeployed.
# Dates come from the certificates themselves (openssl x509 -enddate/-checkend), never from a JSON date string.
# Tools: sh, curl, jq and openssl, all in the hashicorp/consul image (its Dockerfile installs them).
set -eu

: "${THRESHOLD_DAYS:?}" "${CONSUL_HTTP_ADDR:?}" "${VAULT_ADDR:?}"
VAULT_CA_MOUNTS="${VAULT_CA_MOUNTS:-}"
CALL_SECONDS="${CALL_SECONDS:-30}"

case "$THRESHOLD_DAYS" in
'' | *[!0-9]*)
    printf 'ca-expiry-check: THRESHOLD_DAYS must be a whole number of days, not "%s"\n' "$THRESHOLD_DAYS" >&2
    exit 2
    ;;
esac
threshold_seconds=$((THRESHOLD_DAYS * 86400))
expiring=0
unreadable=0

log() { printf '%s ca-expiry-check: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# Every call is bounded and fails on an HTTP error (--fail: exit 22 on a status >= 400, curl(1) EXIT CODES).
fetch() {
    url=$1
    ca=$2
    shift 2
    if [ -n "$ca" ]; then
        curl --silent --show-error --fail --max-time "$CALL_SECONDS" --cacert "$ca" "$@" "$url"
    else
        curl --silent --show-error --fail --max-time "$CALL_SECONDS" "$@" "$url"
    fi
}

# check <what> <pem>: report the certificate's notAfter, counting it when within the threshold.
check() {
    what=$1
    pem=$2
    if ! end=$(printf '%s\n' "$pem" | openssl x509 -noout -enddate 2>/dev/null); then
        log "UNREADABLE: ${what}: not a PEM certificate"
        unreadable=$((unreadable + 1))
        return 0
    fi
    end=${end#notAfter=}
    if printf '%s\n' "$pem" | openssl x509 -noout -checkend "$threshold_seconds" >/dev/null 2>&1; then
        log "ok: ${what} is valid until ${end}"
    else
        log "EXPIRING: ${what} expires ${end}, within ${THRESHOLD_DAYS} days"
        expiring=$((expiring + 1))
    fi
}

# vault_get <path>: an unauthenticated read of /v1/<path> (in VAULT_NAMESPACE when set).
vault_get() {
    if [ -n "${VAULT_NAMESPACE:-}" ]; then
        fetch "${VAULT_ADDR}/v1/$1" "${VAULT_CACERT:-}" --header "X-Vault-Namespace: ${VAULT_NAMESPACE}"
    else
        fetch "${VAULT_ADDR}/v1/$1" "${VAULT_CACERT:-}"
    fi
}

# --- Vault-held CAs ------------------------------------------------------------------------------------------
for mount in $VAULT_CA_MOUNTS; do
    pem=$(vault_get "${mount}/ca/pem") || pem=""
    if [ -z "$pem" ]; then
        log "UNREADABLE: Vault CA ${mount}: no certificate from ${VAULT_ADDR}/v1/${mount}/ca/pem (see the error above)"
        unreadable=$((unreadable + 1))
        continue
    fi
    check "Vault CA ${mount}" "$pem"
done

# --- Consul's Connect CA ---------------------------------------------------------------------------------------
consul_ca="${CONSUL_CACERT:-}"
if [ -n "${CONSUL_CA_MOUNT:-}" ]; then
    consul_ca="${TMPDIR:-/tmp}/consul-ca.pem"
    chain=$(vault_get "${CONSUL_CA_MOUNT}/ca_chain") || chain=""
    printf '%s\n' "$chain" >"$consul_ca"
    [ -n "$chain" ] || log "no server CA chain from ${VAULT_ADDR}/v1/${CONSUL_CA_MOUNT}/ca_chain to verify Consul with"
fi
if [ -n "${chain-x}" ] && roots=$(fetch "${CONSUL_HTTP_ADDR}/v1/connect/ca/roots" "$consul_ca") &&
    active=$(printf '%s' "$roots" | jq -ce '[.Roots[] | select(.Active == true)] | if length == 1 then .[0] else error("no single active root") end' 2>/dev/null); then
    name=$(printf '%s' "$active" | jq -r '.Name // .ID')
    check "Consul Connect root ${name}" "$(printf '%s' "$active" | jq -r '.RootCert')"
    count=$(printf '%s' "$active" | jq '.IntermediateCerts // [] | length')
    index=0
    while [ "$index" -lt "$count" ]; do
        check "Consul Connect intermediate $((index + 1)) of root ${name}" \
            "$(printf '%s' "$active" | jq -r ".IntermediateCerts[${index}]")"
        index=$((index + 1))
    done
else
    log "UNREADABLE: Consul Connect CA: no single active root from ${CONSUL_HTTP_ADDR}/v1/connect/ca/roots"
    unreadable=$((unreadable + 1))
fi

if [ "$unreadable" -gt 0 ]; then
    log "FAILED: ${unreadable} CA(s) could not be read, ${expiring} expire within ${THRESHOLD_DAYS} days"
    exit 2
fi
if [ "$expiring" -gt 0 ]; then
    log "FAILED: ${expiring} CA(s) expire within ${THRESHOLD_DAYS} days: rotate them (docs/operations.md)"
    exit 1
fi
log "done: every CA is valid for more than ${THRESHOLD_DAYS} days"
