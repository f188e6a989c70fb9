#!/usr/bin/env bash
# Create a stack of this project with the secrets provider its environment requires (run once per stack):
#   scripts/stack-init.sh prod KMS_KEY   awskms:// with the key bootstrap/ created (or SECURE_MESH_SECRETS_KEY);
#                                        KMS_KEY is alias/NAME, a key ID, or a whole awskms://...?region=... URL
#   scripts/stack-init.sh dev            passphrase (PULUMI_CONFIG_PASSPHRASE or _FILE), the dev stack only
# The stack's environment comes from Pulumi.<stack>.yaml (secure-mesh:environment). Every stack other than a
# dev one must use KMS; without a key the script refuses. State goes to PULUMI_BACKEND_URL (required; e.g.
# s3://bucket?region=eu-west-1 for prod). An existing stack is left alone when its provider is the one asked for.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "stack-init: $*" >&2
  exit 1
}

stack="${1:-}"
key="${2:-${SECURE_MESH_SECRETS_KEY:-}}"
[[ -n "$stack" ]] || die "usage: scripts/stack-init.sh STACK [KMS_KEY]  (make stack-init STACK=prod KMS_KEY=alias/...)"
[[ "$stack" =~ ^[A-Za-z0-9_.-]+$ ]] || die "invalid stack name '$stack'"
stack_file="Pulumi.$stack.yaml"
[[ -f "$stack_file" ]] || die "no $stack_file: write the stack's settings first (see Pulumi.prod.yaml and docs/pipelines.md)"
environment="$(sed -n 's/^  secure-mesh:environment:[[:space:]]*\([A-Za-z]*\).*$/\1/p' "$stack_file")"
[[ -n "$environment" ]] || die "$stack_file sets no secure-mesh:environment"
command -v pulumi >/dev/null 2>&1 || die "the Pulumi CLI is not on PATH (https://www.pulumi.com/docs/install/)"
[[ -n "${PULUMI_BACKEND_URL:-}" ]] ||
  die "set PULUMI_BACKEND_URL to the stack's self-managed backend (prod: s3://<state bucket>?region=<region>)"

if [[ "$environment" == "dev" ]]; then
  [[ -z "$key" ]] || die "$stack is a dev stack: it uses the passphrase provider, not a KMS key"
  [[ -n "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]] ||
    die "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE for the dev stack's passphrase provider"
  provider="passphrase"
else
  [[ -n "$key" ]] || die "$stack ($environment) needs a KMS key: pass KMS_KEY (or set SECURE_MESH_SECRETS_KEY) to the" \
    "key bootstrap/ created: \`pulumi stack output secretsProvider\` in bootstrap/; the passphrase provider is for dev only"
  case "$key" in
    awskms://*\?*region=*) provider="$key" ;;
    awskms://*) die "KMS_KEY '$key' names no region (awskms://alias/NAME?region=REGION)" ;;
    alias/* | [0-9a-f]*-*-*-*-* | mrk-*)
      region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
      [[ -n "$region" ]] || die "set AWS_REGION (the region of KMS key '$key')"
      provider="awskms://$key?region=$region"
      ;;
    *) die "KMS_KEY '$key' is not alias/NAME, a key ID or an awskms:// URL" ;;
  esac
fi

echo "stack-init: creating stack '$stack' ($environment) in $PULUMI_BACKEND_URL with secrets provider $provider"
if ! output="$(pulumi stack init "$stack" --secrets-provider "$provider" --non-interactive 2>&1)"; then
  if [[ "$output" != *"stack '$stack' already exists"* ]]; then
    printf '%s\n' "$output" >&2
    die "pulumi stack init failed"
  fi
  # The stack exists (pkg/backend/backend.go StackAlreadyExistsError): keep it if it already uses this provider.
  recorded="$(sed -n 's/^secretsprovider:[[:space:]]*//p' "$stack_file")"
  if [[ "$provider" == "passphrase" && -z "$recorded" ]] || [[ "$recorded" == "$provider" ]]; then
    echo "stack-init: stack '$stack' already exists with this secrets provider; nothing to do"
    exit 0
  fi
  die "stack '$stack' already exists with secrets provider '${recorded:-passphrase}', not '$provider';" \
    "change it deliberately: pulumi stack change-secrets-provider --stack $stack '$provider'"
fi
printf '%s\n' "$output"
if [[ "$provider" != "passphrase" ]] && ! grep -q '^encryptedkey:' "$stack_file"; then
  die "pulumi stack init did not record an encryptedkey in $stack_file"
fi
echo "stack-init: done; commit $stack_file (it now records the stack's secrets provider and encrypted data key)"
