"""KV-v2 rules: version 2 only, version history kept, nothing secret in plain text, the gossip key's format."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .chart import consul_values
from .documents import find_keys, parse_json_text, walk
from .framework import ADVISORY, UNSET, Res, StackView, as_bool, as_int, norm_path, resource_rule, stack_rule
from .index import is_kv2_mount, kv2_mounts

Finding = tuple[str, str | None]


@resource_rule(
    "KV-V2",
    checks="KV mounts are version 2 (type 'kv' with options.version '2', or 'kv-v2'); no KV version 1 secrets.",
    why="Chart contract §5: the chart reads KV-v2 paths with /data/; KV-v1 has no version history.",
    fix="Mount KV with options = {'version': '2'} and write secrets with vault.kv.SecretV2.",
    types=(t.MOUNT, t.KV_SECRET_V1),
)
def kv_v2(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """KV is version 2."""
    if res.type == t.KV_SECRET_V1:
        yield res.finding(
            "path",
            res.get("path"),
            "a KV version 1 secret has no version history",
            "use vault.kv.SecretV2 in a KV-v2 mount",
        )
        return
    if res.get("type") in ("kv", "generic") and not is_kv2_mount(res):
        yield res.finding(
            "options", res.get("options", UNSET), "a KV version 1 mount", "set options = {'version': '2'}"
        )


@stack_rule(
    "KV-V2",
    part="stack",
    checks="Every KV path the Consul chart reads is <mount>/data/<name> in a declared KV-v2 mount, and that secret "
    "is declared.",
    why="Chart contract §2 and §5: secretName values are KV-v2 API paths with /data/.",
    fix="Point the values at <kv-mount>/data/<name> and declare the secret with vault.kv.SecretV2.",
)
def kv_v2_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The chart's KV paths exist in KV-v2."""
    mounts = kv2_mounts(view)
    secrets = {f"{norm_path(s.get('mount'))}/data/{norm_path(s.get('name'))}" for s in view.of(t.KV_SECRET_V2)}
    for values in consul_values(view):
        release = values.release
        for key, path in values.kv_paths().items():
            prop = f"values.{key}.secretName"
            mount = next((m for m in sorted(mounts, key=len, reverse=True) if path.startswith(m + "/")), None)
            if mount is None:
                yield (
                    release.finding(prop, path, "not inside a declared KV-v2 mount", "use <kv-mount>/data/<name>"),
                    release.urn,
                )
            elif not path.startswith(f"{mount}/data/"):
                yield (
                    release.finding(
                        prop, path, f"missing /data/ after the KV-v2 mount {mount}", f"use {mount}/data/<name>"
                    ),
                    release.urn,
                )
            elif path not in secrets:
                yield (
                    release.finding(
                        prop,
                        path,
                        "no vault.kv.SecretV2 declares this secret",
                        "declare it (empty value for the ACL bootstrap token)",
                    ),
                    release.urn,
                )


@resource_rule(
    "KV-VERSIONS",
    checks="KV-v2 keeps history: max_versions 0 (=10) or >= 5, never 1-4; delete_version_after 0.",
    why="Vault KV-v2 API: a short history or automatic version deletion loses the previous secret.",
    fix="Set max_versions >= 5 (or leave 0) and delete_version_after 0.",
    types=(t.KV_BACKEND_V2, t.KV_SECRET_V2),
)
def kv_versions(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Enough versions are kept, none expire."""
    if res.type == t.KV_SECRET_V2:
        metadata = res.get("customMetadata", {})
        if not isinstance(metadata, Mapping):
            return
        scope, source = "customMetadata.", metadata
    else:
        scope, source = "", res.props
    versions = as_int(source.get("maxVersions"))
    if versions is not None and 0 < versions < 5:
        yield res.finding(f"{scope}maxVersions", versions, "keeps fewer than 5 versions", "set max_versions >= 5")
    after = as_int(source.get("deleteVersionAfter"))
    if after is not None and after > 0:
        yield res.finding(
            f"{scope}deleteVersionAfter", after, "versions are deleted automatically", "set delete_version_after = 0"
        )


@resource_rule(
    "KV-CAS",
    checks="The KV-v2 mount requires check-and-set for writers.",
    why="Vault KV-v2 API: cas_required stops concurrent writers from overwriting each other.",
    fix="Set cas_required = true on kv.SecretBackendV2.",
    types=(t.KV_BACKEND_V2,),
    enforcement=ADVISORY,
)
def kv_cas(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Writers pass cas."""
    if not as_bool(res.get("casRequired"), False):
        yield res.finding(
            "casRequired", res.get("casRequired", UNSET), "writes do not need check-and-set", "set cas_required = true"
        )


@resource_rule(
    "KV-SOFT-DELETE",
    checks="Pulumi never destroys secret history: delete_all_versions is not true on KV-v2 secrets.",
    why="Vault KV-v2 API: delete_all_versions destroys every version and the metadata when Pulumi deletes.",
    fix="Leave delete_all_versions false (the default).",
    types=(t.KV_SECRET_V2,),
)
def kv_soft_delete(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Deleting the resource keeps the versions."""
    if as_bool(res.get("deleteAllVersions"), False):
        yield res.finding(
            "deleteAllVersions", True, "deleting the resource destroys every version", "set delete_all_versions = false"
        )


# ------------------------------------------------------------------------------------ plain text

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SECRET_KEY_NAMES = re.compile(r"(token|password|passwd|secret|privatekey|gossipkey|encrypt|license)$", re.IGNORECASE)
_EXTRA_CONFIG_SECRETS = ("encrypt", "tokens", "initial_management", "master", "agent_master", "license")


def _looks_like_gossip_key(text: str) -> bool:
    if len(text) != 44 or not text.endswith("="):
        return False
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@resource_rule(
    "KV-NO-PLAINTEXT",
    checks="No secret value in Helm values (stored in plain text in state): no private keys, ACL tokens (UUIDs), "
    "gossip keys, secret-named scalars, or secrets in extraConfig.",
    why="Pulumi stores Helm values in plain text in state; the chart reads every secret from Vault.",
    fix="Keep the secret in Vault KV and point the values at its path (secretName/secretKey).",
    types=(t.HELM_RELEASE,),
)
def kv_no_plaintext(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Helm values carry no secrets."""
    values = res.get("values", {})
    for path, value in walk(values):
        if not isinstance(value, str) or not value:
            continue
        prop = f"values.{path}"
        last = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if "PRIVATE KEY" in value:
            yield res.finding(prop, "<PEM private key>", "a private key in Helm values", "keep it in Vault")
        elif _UUID.match(value.strip()):
            yield res.finding(prop, "<UUID>", "looks like a Consul ACL token", "keep tokens in Vault KV")
        elif _looks_like_gossip_key(value.strip()):
            yield res.finding(prop, "<base64 32 bytes>", "looks like a gossip encryption key", "keep it in Vault KV")
        elif _SECRET_KEY_NAMES.search(last) and not last.lower().endswith(("secretname", "secretkey")):
            yield res.finding(prop, "<redacted>", "a secret-named value in plain text", "read it from Vault instead")
        elif last.lower() == "extraconfig":
            data, _ = parse_json_text(value)
            for key, _found in find_keys(data, _EXTRA_CONFIG_SECRETS):
                yield res.finding(
                    f"{prop}.{key}",
                    "<redacted>",
                    "a secret in the agent's extra config",
                    "let the chart read it from Vault",
                )


# ------------------------------------------------------------------------------------ gossip key


@stack_rule(
    "KV-GOSSIP-FORMAT",
    checks="The gossip key the chart reads is 32 random bytes, base64: its KV secret is computed from a "
    "random.RandomBytes(length=32) or random.RandomId(byte_length=32).",
    why="Consul gossip encryption docs: the key is what `consul keygen` prints (32 bytes, base64).",
    fix="Generate the key with random.RandomBytes(length=32) and store its base64 in the gossip secret.",
)
def kv_gossip_format(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The gossip secret is 32 random bytes."""
    for values in consul_values(view):
        path = values.kv_paths().get("global.gossipEncryption")
        if not path:
            continue
        secret = next(
            (
                s
                for s in view.of(t.KV_SECRET_V2)
                if f"{norm_path(s.get('mount'))}/data/{norm_path(s.get('name'))}" == path
            ),
            None,
        )
        if secret is None:
            yield (
                values.release.finding(
                    "values.global.gossipEncryption.secretName",
                    path,
                    "no declared KV secret holds the gossip key, so its format cannot be checked",
                    "declare it with vault.kv.SecretV2",
                ),
                values.release.urn,
            )
            continue
        sources = view.sources_of(secret, "dataJson") + view.sources_of(secret, "dataJsonWo")
        good = [
            s
            for s in sources
            if (s.type == t.RANDOM_BYTES and as_int(s.get("length")) == 32)
            or (s.type == t.RANDOM_ID and as_int(s.get("byteLength")) == 32)
        ]
        if not good:
            found = ", ".join(f"{s.name} ({s.type.rsplit(':', 1)[-1]})" for s in sources) or "no random source"
            yield (
                secret.finding(
                    "dataJson",
                    "<secret>",
                    f"the gossip key is computed from {found}",
                    "compute it from random.RandomBytes(length=32).base64",
                ),
                secret.urn,
            )
