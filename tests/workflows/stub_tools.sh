#!/bin/bash
# Stand-in for kind, kubectl, helm, pulumi and curl in tests/workflows/test_scripts.py: records every call in
# $STUB_STATE/calls.log and keeps just enough state (cluster, releases, stack, port-forward) to answer the
# scripts' "does it exist?" questions. Installed under each tool's name; `#!/bin/bash` (not env) so that a
# running port-forward shows up as `kubectl` in `ps -o comm=`, as the real one does.
name="${0##*/}"
state="${STUB_STATE:?}"
printf '%s %s\n' "$name" "$*" >>"$state/calls.log"

arg_after() { # the value following option $1 in the remaining arguments
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

case "$name" in
  kind)
    case "$1 $2" in
      "get clusters") [[ -f "$state/cluster" ]] && cat "$state/cluster" ;;
      "create cluster") arg_after --name "$@" >"$state/cluster" ;;
      "delete cluster") rm -f "$state/cluster" ;;
    esac
    exit 0
    ;;
  helm)
    case "$1" in
      list)
        release="$(arg_after --filter "$@")"
        release="${release#^}"
        release="${release%\$}"
        if [[ -f "$state/release-$release" ]]; then cat "$state/release-$release"; else echo '[]'; fi
        ;;
      upgrade)
        release="$3"
        echo "[{\"name\":\"$release\",\"status\":\"deployed\",\"chart\":\"$4-$(arg_after --version "$@")\"}]" \
          >"$state/release-$release"
        values="$(arg_after --values "$@")"
        if [[ -n "$values" ]]; then cp "$values" "$state/values-$release.yaml"; fi
        ;;
      status) [[ -f "$state/release-$2" ]] || exit 1 ;;
      get) echo '{"server":{"dev":{"devRootToken":"token-from-the-release"}}}' ;;
    esac
    exit 0
    ;;
  kubectl)
    if [[ " $* " == *" port-forward "* ]]; then
      touch "$state/port-forward"
      sleep 300 &
      trap 'kill "$!"; rm -f "$state/port-forward"; exit 0' TERM
      wait
      exit 0
    fi
    exit 0
    ;;
  curl)
    [[ -f "$state/port-forward" ]]
    exit
    ;;
  pulumi)
    printf 'pulumi-env PULUMI_BACKEND_URL=%s PULUMI_CONFIG_PASSPHRASE=%s VAULT_ADDR=%s VAULT_TOKEN=%s\n' \
      "${PULUMI_BACKEND_URL:-}" "${PULUMI_CONFIG_PASSPHRASE:-}" "${VAULT_ADDR:-}" "${VAULT_TOKEN:-}" >>"$state/calls.log"
    case "$1 $2" in
      "stack select") [[ -f "$state/stack-$3" ]] || exit 1 ;;
      "stack init") touch "$state/stack-$3" ;;
    esac
    exit 0
    ;;
esac
echo "stub_tools.sh: unexpected tool $name" >&2
exit 99
