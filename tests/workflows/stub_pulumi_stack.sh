#!/bin/bash
# Stand-in for `pulumi` in tests/workflows/test_stack_init.py. It answers `pulumi stack init` the way the real
# CLI does (pulumi/pulumi v3), failing where the real one fails; every call is logged to $STUB_STATE/calls.log.
#   - no backend: the CLI would log in to Pulumi Cloud and, non-interactively, fails without PULUMI_ACCESS_TOKEN;
#   - an existing stack: "error: stack 'NAME' already exists" (pkg/backend/backend.go StackAlreadyExistsError);
#   - the passphrase provider without PULUMI_CONFIG_PASSPHRASE(_FILE), non-interactive: "passphrase must be set
#     with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables" (pkg/secrets/passphrase);
#   - success writes the provider into Pulumi.NAME.yaml: `secretsprovider` + `encryptedkey` for a cloud KMS,
#     `encryptionsalt` for the passphrase (workspace.ProjectStack's YAML keys).
# The CLI prints errors as "error: ..." on stderr and exits 255.
state="${STUB_STATE:?}"
printf 'pulumi %s\n' "$*" >>"$state/calls.log"
fail() {
  echo "error: $*" >&2
  exit 255
}
arg_after() {
  local wanted="$1"
  shift
  while (($# > 0)); do
    if [[ "$1" == "$wanted" ]]; then
      echo "$2"
      return
    fi
    shift
  done
}
[[ "$1 $2" == "stack init" ]] || {
  echo "stub_pulumi_stack.sh: unexpected call: pulumi $*" >&2
  exit 99
}
stack="$3"
provider="$(arg_after --secrets-provider "$@")"
[[ -n "${PULUMI_BACKEND_URL:-}" ]] || fail "PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
mkdir -p "$state/stacks"
[[ ! -f "$state/stacks/$stack" ]] || fail "stack '$stack' already exists"
case "$provider" in
  passphrase | "")
    [[ -n "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]] ||
      fail "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
    printf 'encryptionsalt: v1:c3R1Yg==:v1:c3R1Yg==:c3R1Yg==\n' >>"Pulumi.$stack.yaml"
    ;;
  awskms://*)
    printf 'secretsprovider: %s\nencryptedkey: c3R1Yi1lbmNyeXB0ZWQta2V5\n' "$provider" >>"Pulumi.$stack.yaml"
    ;;
  *)
    echo "stub_pulumi_stack.sh: secrets provider '$provider' is not modelled" >&2
    exit 99
    ;;
esac
echo "$provider" >"$state/stacks/$stack"
echo "Created stack '$stack'"
