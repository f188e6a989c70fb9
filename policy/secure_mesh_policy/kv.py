"""KV-v2 rules: version 2 only, version history kept, nothing secret in plain text, the gossip key's format."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .chart import consul_values
from .consumers import pod_templates
from .documents import duration_seconds, find_keys, names, parse_json_text, walk
from .framework import (
    ADVISORY,
    UNSET,
    Res,
    StackView,
    as_bool,
    as_int,
    as_list,
    norm_path,
    resource_rule,
    stack_rule,
)
from .index import declared_kv2_mounts, identities, is_kv2_mount, kv2_mounts
from .vaultpaths import reach, target

Finding = tuple[str, str | None]


@resource_rule(
    "KV-V2",
    checks="KV mounts are version 2 (type 'kv' with options.version '2', or 'kv-v2'); no KV version 1 secrets and no "
    "vault.generic.Secret writes.",
    why="Chart contract §5: the chart reads KV-v2 paths with /data/; KV-v1 has no version history.",
    fix="Mount KV with options = {'version': '2'} and write secrets with vault.kv.SecretV2.",
    types=(t.MOUNT, t.KV_SECRET_V1, t.GENERIC_SECRET),
)
def kv_v2(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """KV is version 2."""
    if res.type == t.GENERIC_SECRET:
        yield res.finding(
            "path",
            res.get("path"),
            "vault.generic.Secret writes through the unversioned generic API (KV version 1 semantics: no "
            "customMetadata, no version-aware delete, and in a KV-v2 mount a path without data/ fails)",
            "use vault.kv.SecretV2 in the KV-v2 mount",
        )
        return
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


FEDERATION_SHARED_KV = frozenset({"global.gossipEncryption", "global.acls.replicationToken"})
"""The chart's KV secrets a WAN-federation secondary reads from its primary (one gossip key for the WAN pool, the
replication token the primary's server-acl-init created)."""


@stack_rule(
    "KV-V2",
    part="stack",
    checks="Every KV path the Consul chart reads is <mount>/data/<name> in a declared KV-v2 mount, and that secret "
    "is declared; a federation secondary's gossip key and replication token may be its primary's (outside this "
    "stack's mounts, still a /data/ path).",
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
            if mount is None and values.is_federation_secondary and key in FEDERATION_SHARED_KV:
                # The primary's secret, in the primary's stack (declared and checked there): only its form here.
                if "/data/" not in path.strip("/"):
                    yield (
                        release.finding(
                            prop, path, "not a KV-v2 API path (no /data/)", "use the primary's <kv-mount>/data/<name>"
                        ),
                        release.urn,
                    )
                continue
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
    if versions is not None and (versions < 0 or 0 < versions < 5):
        yield res.finding(f"{scope}maxVersions", versions, "keeps fewer than 5 versions", "set max_versions >= 5")
    after = duration_seconds(source.get("deleteVersionAfter"))
    if after is not None and after > 0:
        yield res.finding(
            f"{scope}deleteVersionAfter", after, "versions are deleted automatically", "set delete_version_after = 0"
        )


WRITE = frozenset({"create", "update", "patch"})


@stack_rule(
    "KV-CAS",
    checks="A KV-v2 mount that only Pulumi writes (no Vault identity may write in its data/) requires check-and-set. "
    "A mount where Consul writes (server-acl-init stores the bootstrap token without cas) cannot, and is not "
    "reported.",
    why="Vault KV-v2 API: cas_required makes every writer state the version it replaces, so two writers cannot "
    "silently overwrite each other; consul-k8s writes its tokens without cas, so the flag would break it there.",
    fix="Set cas_required = true on the mount's kv.SecretBackendV2 (Pulumi's kv.SecretV2 then passes cas).",
    enforcement=ADVISORY,
)
def kv_cas(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Mounts whose only writer can pass cas require it."""
    settings = {norm_path(s.get("mount")): s for s in view.of(t.KV_BACKEND_V2)}
    writers = identities(view)
    for mount, res in sorted(declared_kv2_mounts(view).items()):
        setting = settings.get(mount)
        if setting is not None and as_bool(setting.get("casRequired"), False):
            continue
        if any(reach(i.acl, target(f"{mount}/data", subtree=True), WRITE) for i in writers):
            continue
        culprit = setting or res
        yield (
            culprit.finding(
                "casRequired",
                setting.get("casRequired", UNSET) if setting is not None else UNSET,
                f"only Pulumi writes the KV-v2 mount {mount}, yet writes do not need check-and-set",
                "set cas_required = true",
            ),
            culprit.urn,
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


def _value_problem(value: str) -> tuple[str, str] | None:
    """(shown value, problem) when a string's content is a secret whatever its key: PEM keys, tokens, gossip keys."""
    text = value.strip()
    if "PRIVATE KEY" in text:
        return "<PEM private key>", "a private key in plain text"
    if _UUID.match(text):
        return "<UUID>", "looks like a Consul ACL token"
    if _looks_like_gossip_key(text):
        return "<base64 32 bytes>", "looks like a gossip encryption key"
    return None


def _secret_named(key: str) -> bool:
    """A key (or env var) named like a secret (``token``, ``password``, …), not a reference to one (``secretName``)."""
    last = key.rsplit(".", 1)[-1].split("[", 1)[0]
    return bool(_SECRET_KEY_NAMES.search(last.replace("_", "").replace("-", ""))) and not last.lower().endswith(
        ("secretname", "secretkey", "secretref", "secretobjects")
    )


def _scan(res: Res, prop: str, tree: Any, by_name: bool = True) -> Iterator[str]:
    """Findings for every secret-looking scalar in a tree (by content, and by key name when ``by_name``)."""
    for path, value in walk(tree, prop):
        if not isinstance(value, str) or not value:
            continue
        found = _value_problem(value)
        if found is not None:
            yield res.finding(path, found[0], found[1], "keep it in Vault and reference its path")
        elif by_name and _secret_named(path):
            yield res.finding(path, "<redacted>", "a secret-named value in plain text", "read it from Vault instead")
        elif path.rsplit(".", 1)[-1].lower() == "extraconfig":
            data, _ = parse_json_text(value)
            for key, _found in find_keys(data, _EXTRA_CONFIG_SECRETS):
                yield res.finding(
                    f"{path}.{key}",
                    "<redacted>",
                    "a secret in the agent's extra config",
                    "let the chart read it from Vault",
                )


def _env_findings(res: Res) -> Iterator[str]:
    """Plain ``env[].value`` entries of every container of a workload, judged by content and by variable name."""
    for prefix, template in pod_templates(res):
        spec = template.get("spec")
        if not isinstance(spec, Mapping):
            continue
        for group in ("initContainers", "containers", "ephemeralContainers"):
            for c_index, container in enumerate(as_list(spec.get(group))):
                if not isinstance(container, Mapping):
                    continue
                for e_index, env in enumerate(as_list(container.get("env"))):
                    if not isinstance(env, Mapping) or not isinstance(env.get("value"), str) or not env["value"]:
                        continue
                    prop = f"{prefix}spec.{group}[{c_index}].env[{e_index}]"
                    found = _value_problem(env["value"])
                    name = str(env.get("name") or "")
                    if found is not None:
                        yield res.finding(f"{prop}.value", found[0], f"{name}: {found[1]}", "use valueFrom or Vault")
                    elif _SECRET_KEY_NAMES.search(name.replace("_", "").replace("-", "")):
                        yield res.finding(
                            f"{prop}.value",
                            "<redacted>",
                            f"the secret-named variable {name} is set in plain text",
                            "read it from Vault (agent or CSI) or a Secret through valueFrom",
                        )
        metadata = template.get("metadata")
        if isinstance(metadata, Mapping):
            yield from _scan(res, f"{prefix}metadata.annotations", metadata.get("annotations"), by_name=False)


_K8S_BUILTIN = re.compile(
    r"^kubernetes:(core|apps|batch|rbac\.authorization\.k8s\.io|helm\.sh|networking\.k8s\.io|policy)/"
)


def is_custom_resource(res: Res) -> bool:
    """A Kubernetes custom resource (Consul's CRDs, Gateway API, the CSI SecretProviderClass, …)."""
    return res.type.startswith("kubernetes:") and not _K8S_BUILTIN.match(res.type) and res.has("spec")


@resource_rule(
    "KV-NO-PLAINTEXT",
    checks="No secret value in plain text in state, wherever values enter: Helm values, ConfigMap data, container "
    "env values and pod annotations of every workload, custom resources' specs (Consul CRDs, SecretProviderClass, "
    "Gateway API), and the annotations and labels of Secrets: no private keys, ACL tokens (UUIDs), gossip keys, "
    "secret-named scalars, or secrets in extraConfig.",
    why="Pulumi stores these inputs in plain text in state (a Secret's data and stringData are marked secret by "
    "pulumi-kubernetes, its metadata is not); the chart and the apps read every secret from Vault.",
    fix="Keep the secret in Vault KV and point the values at its path (secretName/secretKey), or use valueFrom.",
    types=None,
)
def kv_no_plaintext(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Plain-text inputs carry no secrets."""
    if res.type == t.HELM_RELEASE:
        yield from _scan(res, "values", res.get("values", {}))
    elif res.type == t.CONFIG_MAP:
        yield from _scan(res, "data", res.get("data", {}))
        yield from _scan(res, "metadata.annotations", _metadata(res, "annotations"), by_name=False)
    elif res.type in t.WORKLOADS:
        yield from _env_findings(res)
    elif res.type == t.K8S_SECRET:
        # data/stringData are secret in state: pulumi-kubernetes marks them (core/v1/Secret.py,
        # additional_secret_outputs=["data", "stringData"]; pulumi/pulumi-kubernetes#915, pulumi/pulumi#7128
        # encrypts the matching inputs). Its metadata is plain text.
        for field in ("annotations", "labels"):
            yield from _scan(res, f"metadata.{field}", _metadata(res, field), by_name=False)
    elif is_custom_resource(res):
        yield from _scan(res, "spec", res.get("spec", {}))


def _metadata(res: Res, field: str) -> Any:
    metadata = res.get("metadata", {})
    return metadata.get(field) if isinstance(metadata, Mapping) else None


# ----------------------------------------------------------------------------------------- audit

AUDIT_KEYS = ("auditNonHmacRequestKeys", "auditNonHmacResponseKeys")
AUDIT_KEYS_API = ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys")
KV_METADATA_KEYS = frozenset(
    {
        "version",
        "versions",
        "current_version",
        "oldest_version",
        "created_time",
        "updated_time",
        "deletion_time",
        "destroyed",
        "cas_required",
        "max_versions",
        "delete_version_after",
        "options",
    }
)
"""KV-v2 keys that never hold a secret value: the only ones a KV mount may log without HMAC."""
SENSITIVE_AUDIT_KEYS = frozenset(
    {
        "data",
        "value",
        "values",
        "token",
        "client_token",
        "accessor",
        "client_token_accessor",
        "password",
        "secret_id",
        "private_key",
        "key",
        "keys",
        "secret",
        "jwt",
        "plaintext",
        "serial_number",
        "custom_metadata",
        "csr",
    }
)
"""Keys whose values are secrets (or identify a credential) in any engine's requests and responses."""
_TUNE_PATH = re.compile(r"^sys/(mounts|auth)/(?P<mount>.+?)(/tune)?$")


def _audit_findings(res: Res, prop: str, keys: list[str], kv: bool) -> Iterator[str]:
    """A finding when a non-HMAC key list names a secret field (on a KV mount: anything but version metadata)."""
    if kv:
        bad = [k for k in keys if k not in KV_METADATA_KEYS]
    else:
        bad = [k for k in keys if k.lower() in SENSITIVE_AUDIT_KEYS or _SECRET_KEY_NAMES.search(k.replace("_", ""))]
    if bad:
        yield res.finding(
            prop,
            keys,
            f"audit devices log {sorted(bad)} in clear text (Vault HMACs every other value)",
            "remove them; leave audit_non_hmac_*_keys unset (or list only non-secret metadata keys)",
        )


@resource_rule(
    "KV-NO-PLAINTEXT",
    part="audit",
    checks="No mount or auth method tells Vault's audit devices to log secret values unhashed: on a KV mount "
    "audit_non_hmac_request_keys/response_keys list only version metadata; on any mount, auth method tune or "
    "sys/mounts|auth/<path>/tune write they list no secret field (data, value, token, password, secret_id, "
    "private_key, key, …).",
    why="Vault audit docs: audit devices HMAC every string except the keys a mount lists as non-HMAC; a listed secret "
    "field is written to the audit log in clear text.",
    fix="Leave audit_non_hmac_request_keys and audit_non_hmac_response_keys unset.",
    types=(t.MOUNT, t.AUTH_BACKEND, t.GENERIC_ENDPOINT),
)
def kv_no_plaintext_audit(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Audit logs HMAC every secret value."""
    if res.type == t.MOUNT:
        kv = res.get("type") in ("kv", "kv-v2", "generic")
        for key in AUDIT_KEYS:
            yield from _audit_findings(res, key, names(res.get(key)), kv)
    elif res.type == t.AUTH_BACKEND:
        for index, tune in enumerate(as_list(res.get("tune"))):
            if isinstance(tune, Mapping):
                for key in AUDIT_KEYS:
                    yield from _audit_findings(res, f"tune[{index}].{key}", names(tune.get(key)), False)
    else:
        path = norm_path(res.get("path", ""))
        if not _TUNE_PATH.match(path):
            return
        data, _ = parse_json_text(res.get("dataJson"))
        sources = [data, data.get("config")] if isinstance(data, Mapping) else []
        for source in sources:
            if not isinstance(source, Mapping):
                continue
            for key in AUDIT_KEYS_API:
                yield from _audit_findings(res, f"dataJson.{key}", names(source.get(key)), False)


# -------------------------------------------------------------------------------------- read-back


@stack_rule(
    "KV-NO-PLAINTEXT",
    part="readback",
    checks="A KV secret that a Vault identity writes at runtime (Consul's server-acl-init stores the ACL bootstrap "
    "token; any identity with create/update/patch on its data path) is declared with disable_read, so Pulumi never "
    "reads the written value back into state.",
    why="pulumi-vault kv.SecretV2 reads the secret on refresh unless disable_read is set: the management token "
    "would land in Pulumi state (KV-NO-PLAINTEXT, CSL-BOOTSTRAP-TOKEN: it lives only in Vault).",
    fix="Set disable_read = true on the vault.kv.SecretV2 (and declare it with an empty placeholder value).",
)
def kv_no_plaintext_readback(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Runtime-written secrets are write-only for Pulumi."""
    writers = identities(view)
    written_by_chart: set[str] = set()
    for values in consul_values(view):
        for key in ("global.acls.bootstrapToken", "global.acls.replicationToken", "global.acls.partitionToken"):
            if key in values.kv_paths():
                written_by_chart.add(values.kv_paths()[key])
    for secret in view.of(t.KV_SECRET_V2):
        path = f"{norm_path(secret.get('mount'))}/data/{norm_path(secret.get('name'))}"
        if as_bool(secret.get("disableRead"), False):
            continue
        who = sorted(i.name for i in writers if reach(i.acl, target(path), WRITE))
        if not who and path not in written_by_chart:
            continue
        reason = f"{who} may write it" if who else "the Consul chart writes it (an ACL token)"
        yield (
            secret.finding(
                "disableRead",
                secret.get("disableRead", UNSET),
                f"{reason}, so Pulumi would read the runtime value back into state",
                "set disable_read = true",
            ),
            secret.urn,
        )


# ------------------------------------------------------------------------------------ gossip key


@stack_rule(
    "KV-GOSSIP-FORMAT",
    checks="The gossip key the chart reads is 32 random bytes, base64: its KV secret is computed from a "
    "random.RandomBytes(length=32) or random.RandomId(byte_length=32) (a federation secondary's key outside its own "
    "mounts is its primary's, checked in the primary's stack).",
    why="Consul gossip encryption docs: the key is what `consul keygen` prints (32 bytes, base64).",
    fix="Generate the key with random.RandomBytes(length=32) and store its base64 in the gossip secret.",
)
def kv_gossip_format(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The gossip secret is 32 random bytes."""
    for values in consul_values(view):
        path = values.kv_paths().get("global.gossipEncryption")
        if not path:
            continue
        if values.is_federation_secondary and not any(path.startswith(m + "/") for m in kv2_mounts(view)):
            continue  # the primary's key, generated and checked in the primary's stack
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
