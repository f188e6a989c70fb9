#!/bin/sh
# secure-mesh db-address-watcher: run by consul-template each time the rendered address file changes.
#
# The template (components/onboarding/catalog_watcher.py) renders "<host> <port>" of the first healthy
# instance of the database's Consul service, or nothing when there is none. This script turns that into
# Vault's connection_url and writes only that field to <database mount>/config/<connection>: Vault merges
# an update into the stored connection (builtin/logical/database/path_config_connection_ce.go: on
# UpdateOperation every absent field keeps its stored value), so the root username, the rotated root
# password, plugin_name and allowed_roles stay as they are.
#
# Failure behaviour (each case logs a line starting with "ALERT" that a log-based alert can match):
# - nothing rendered (no healthy instance): keep the last good address, write nothing, exit 0;
# - a malformed rendering, no Vault token, or Vault refuses the write (403 permission denied, 400 when
#   the new address does not accept a verified connection): write nothing, exit 1 (consul-template then
#   stops with the command's error, manager/runner.go "failed to execute command" -> ErrCh -> cli.go exit
#   code ExitCodeRunnerError, and Kubernetes restarts it with back-off, retrying the write).
#
# Environment: ADDRESS_FILE, VAULT_CONFIG_PATH, URL_PREFIX, URL_SUFFIX, SERVICE, VAULT_TOKEN_FILE,
# STATE_FILE, plus the vault CLI's own VAULT_ADDR / VAULT_CACERT / VAULT_TLS_SERVER_NAME / VAULT_NAMESPACE.
set -u
set -f

log() {
    printf '%s db-address-watcher service=%s connection=%s %s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SERVICE" "$VAULT_CONFIG_PATH" "$*" >&2
}

rendered=$(cat "$ADDRESS_FILE" 2>/dev/null || true)
# shellcheck disable=SC2086 # split the rendering into its words on purpose (globbing is off: set -f)
set -- $rendered
if [ "$#" -eq 0 ]; then
    log "ALERT level=error event=no-healthy-instance: keeping the last good address, nothing written"
    exit 0
fi
if [ "$#" -ne 2 ]; then
    log "ALERT level=error event=bad-rendering words=$#: nothing written"
    exit 1
fi
host=$1
port=$2
case "$host" in
    "" | *[!0-9A-Za-z.:-]*)
        log "ALERT level=error event=bad-host: nothing written"
        exit 1
        ;;
esac
case "$port" in
    "" | *[!0-9]*)
        log "ALERT level=error event=bad-port: nothing written"
        exit 1
        ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    log "ALERT level=error event=bad-port: nothing written"
    exit 1
fi
case "$host" in
    *:*) url_host="[$host]" ;;
    *) url_host=$host ;;
esac
url="${URL_PREFIX}${url_host}:${port}${URL_SUFFIX}"

if [ -f "$STATE_FILE" ] && [ "$(cat "$STATE_FILE")" = "$url" ]; then
    log "event=unchanged address=${url_host}:${port}"
    exit 0
fi

token=$(cat "$VAULT_TOKEN_FILE" 2>/dev/null || true)
if [ -z "$token" ]; then
    log "ALERT level=error event=no-vault-token file=$VAULT_TOKEN_FILE: nothing written"
    exit 1
fi

if output=$(VAULT_TOKEN=$token vault write "$VAULT_CONFIG_PATH" "connection_url=$url" 2>&1); then
    printf '%s' "$url" >"$STATE_FILE"
    log "event=updated address=${url_host}:${port}"
    exit 0
else
    status=$?
    log "ALERT level=error event=vault-refused status=$status address=${url_host}:${port}: $(printf '%s' "$output" | tr '\n' ' ')"
    exit 1
fi
