"""Consul Helm values rules (consul-k8s chart 2.0.3): TLS, ACLs, gossip, scripts, the Vault CA, quorum, tokens.

Each rule walks the release's ``values`` by key path with the pinned chart's defaults (an unset key
is what the chart does by default, so ``global.tls.enabled`` unset is TLS off).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .chart import VAULT, ConsulValues, consul_values, is_consul_release, mesh_intermediate_paths
from .documents import find_keys, parse_json_text, value_at
from .framework import (
    ADVISORY,
    ENVIRONMENT_SETTING,
    UNSET,
    Res,
    StackView,
    as_bool,
    as_int,
    is_production,
    norm_path,
    resource_rule,
    stack_rule,
)
from .index import pki_mounts

Finding = tuple[str, str | None]
EXTRA_CONFIG_KEYS = ("server.extraConfig", "client.extraConfig")


def _consul(res: Res) -> ConsulValues | None:
    return ConsulValues.of(res) if is_consul_release(res) else None


def _extra_configs(values: ConsulValues) -> Iterator[tuple[str, Any, str | None]]:
    """(values key, parsed JSON, parse error) of each agent extraConfig that is set."""
    for key in EXTRA_CONFIG_KEYS:
        raw = value_at(values.values, key)
        if raw is UNSET:
            continue
        data, error = parse_json_text(raw)
        yield key, data, error


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


@resource_rule(
    "CSL-TLS",
    checks="global.tls.enabled, verify, httpsOnly and enableAutoEncrypt are all true.",
    why="Consul security model: without TLS and verification, RPC and the HTTP API are open on the network.",
    fix="Set global.tls.enabled, global.tls.verify, global.tls.httpsOnly and global.tls.enableAutoEncrypt to true.",
    types=(t.HELM_RELEASE,),
)
def csl_tls(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Consul runs TLS-only with verification."""
    values = _consul(res)
    if values is None:
        return
    for key in ("enabled", "verify", "httpsOnly", "enableAutoEncrypt"):
        dotted = f"global.tls.{key}"
        if values.get(dotted) is not True:
            yield res.finding(f"values.{dotted}", value_at(values.values, dotted), "not true", f"set {dotted}: true")


@resource_rule(
    "CSL-ACL",
    checks="global.acls.manageSystemACLs is true and no extraConfig sets the ACL default policy to allow or disables "
    "ACLs (extraConfig must be valid JSON).",
    why="Consul security model: ACLs with default deny are the authorization layer.",
    fix="Set global.acls.manageSystemACLs: true and remove acl overrides from server/client extraConfig.",
    types=(t.HELM_RELEASE,),
)
def csl_acl(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """ACLs are on, default deny."""
    values = _consul(res)
    if values is None:
        return
    if values.get("global.acls.manageSystemACLs") is not True:
        yield res.finding(
            "values.global.acls.manageSystemACLs",
            value_at(values.values, "global.acls.manageSystemACLs"),
            "ACLs are not managed (off by default)",
            "set global.acls.manageSystemACLs: true",
        )
    for key, data, error in _extra_configs(values):
        if error:
            yield res.finding(
                f"values.{key}", value_at(values.values, key), error, "write extraConfig as a JSON string"
            )
            continue
        for name, value in find_keys(data, ("default_policy", "acl_default_policy")):
            if str(value).lower() == "allow":
                yield res.finding(f"values.{key}.{name}", value, "ACL default policy allow", "remove it (default deny)")
        for name, value in find_keys(data, ("acl",)):
            if isinstance(value, Mapping) and _is_false(value.get("enabled")):
                yield res.finding(f"values.{key}.{name}.enabled", value.get("enabled"), "ACLs disabled", "remove it")


@resource_rule(
    "CSL-GOSSIP",
    checks="Gossip encryption comes from Vault KV (secretName with /data/ and secretKey, no autoGenerate) and "
    "encrypt_verify_incoming/outgoing are never false.",
    why="Consul gossip encryption docs; chart contract §2: autoGenerate does not work with Vault.",
    fix="Set global.gossipEncryption.secretName: <kv>/data/<path>, secretKey: key; remove encrypt_verify overrides.",
    types=(t.HELM_RELEASE,),
)
def csl_gossip(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Gossip is encrypted with a key from Vault."""
    values = _consul(res)
    if values is None:
        return
    yield from _kv_reference(
        res,
        values,
        "global.gossipEncryption",
        "gossip is not encrypted with a KV-v2 key",
        "the key's field is not named",
        "set secretKey (e.g. 'key')",
    )
    if as_bool(values.get("global.gossipEncryption.autoGenerate"), False):
        yield res.finding(
            "values.global.gossipEncryption.autoGenerate", True, "does not work with Vault", "set autoGenerate: false"
        )
    for extra, data, error in _extra_configs(values):
        if error:
            continue
        for option, value in find_keys(data, ("encrypt_verify_incoming", "encrypt_verify_outgoing")):
            if _is_false(value):
                yield res.finding(
                    f"values.{extra}.{option}", value, "unencrypted gossip accepted or sent", "remove it (default true)"
                )


@resource_rule(
    "CSL-NO-SCRIPTS",
    checks="Script checks and remote exec stay disabled in server/client extraConfig.",
    why="Consul security model: script checks and exec run arbitrary commands on agents.",
    fix="Remove enable_script_checks / enable_local_script_checks and keep disable_remote_exec true.",
    types=(t.HELM_RELEASE,),
)
def csl_no_scripts(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Agents do not run scripts."""
    values = _consul(res)
    if values is None:
        return
    for extra, data, error in _extra_configs(values):
        if error:
            continue
        for option, value in find_keys(data, ("enable_script_checks", "enable_local_script_checks")):
            if as_bool(value, False):
                yield res.finding(f"values.{extra}.{option}", value, "script checks enabled", "remove it")
        for option, value in find_keys(data, ("disable_remote_exec",)):
            if _is_false(value):
                yield res.finding(f"values.{extra}.{option}", value, "remote exec enabled", "remove it")


@resource_rule(
    "CSL-VAULT-CA",
    checks="The secrets backend and mesh CA are Vault with Kubernetes auth: vault enabled, connectCA address, "
    "rootPKIPath and intermediatePKIPath set, no static token or tls_skip_verify, and Vault's CA secret set when "
    "the address is https (https required in production).",
    why="Consul Vault CA provider docs; chart contract §2.",
    fix="Set global.secretsBackend.vault.enabled, connectCA.{address,rootPKIPath,intermediatePKIPath}, ca.secretName/"
    "secretKey for an https Vault; never put a token or tls_skip_verify in additionalConfig.",
    types=(t.HELM_RELEASE,),
    settings=(ENVIRONMENT_SETTING,),
)
def csl_vault_ca(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Consul trusts and logs in to Vault properly."""
    values = _consul(res)
    if values is None:
        return
    if not values.vault_enabled:
        yield res.finding(
            f"values.{VAULT}.enabled",
            value_at(values.values, f"{VAULT}.enabled"),
            "Consul does not use Vault",
            f"set {VAULT}.enabled: true",
        )
        return
    connect = f"{VAULT}.connectCA"
    for key in ("address", "rootPKIPath", "intermediatePKIPath"):
        if not value_at(values.values, f"{connect}.{key}"):
            yield res.finding(
                f"values.{connect}.{key}", UNSET, "the mesh CA block does not render", f"set {connect}.{key}"
            )
    address = str(value_at(values.values, f"{connect}.address") or "")
    if address.startswith("https://"):
        for key in ("secretName", "secretKey"):
            if not value_at(values.values, f"{VAULT}.ca.{key}"):
                yield res.finding(
                    f"values.{VAULT}.ca.{key}",
                    UNSET,
                    "Vault's TLS CA is not given to Consul's pods",
                    f"set {VAULT}.ca.{key}",
                )
    elif address and is_production(config, res.urn):
        yield res.finding(f"values.{connect}.address", address, "plain http to Vault in production", "use https")
    additional, error = parse_json_text(value_at(values.values, f"{connect}.additionalConfig"))
    if error:
        yield res.finding(
            f"values.{connect}.additionalConfig",
            value_at(values.values, f"{connect}.additionalConfig"),
            error,
            "write additionalConfig as a JSON string",
        )
    for name, _value in find_keys(additional, ("token",)):
        yield res.finding(
            f"values.{connect}.additionalConfig.{name}",
            "<redacted>",
            "a static Vault token",
            "remove it; Consul logs in with Kubernetes auth",
        )
    for name, value in find_keys(additional, ("tls_skip_verify", "TLSSkipVerify")):
        if as_bool(value, False):
            yield res.finding(
                f"values.{connect}.additionalConfig.{name}", value, "Vault's certificate is not verified", "remove it"
            )
    annotations = value_at(values.values, f"{VAULT}.agentAnnotations")
    if isinstance(annotations, str) and "tls-skip-verify" in annotations and '"true"' in annotations.replace("'", '"'):
        yield res.finding(
            f"values.{VAULT}.agentAnnotations",
            annotations,
            "Vault agents skip TLS verification",
            "remove vault.hashicorp.com/tls-skip-verify",
        )


@stack_rule(
    "CSL-VAULT-CA",
    part="stack",
    checks="The mesh CA's rootPKIPath is a declared PKI mount holding a signed intermediate (not a root; in a "
    "federation secondary it may be the primary's, outside this stack's mounts); intermediatePKIPath is a declared, "
    "empty PKI mount (no role, tidy, URL or CRL config inside: Consul writes those); the agents' and the CA "
    "provider's auth mount is a declared Kubernetes auth method.",
    why="Chart contract §2–§3: Consul signs with rootPKIPath and owns what is inside intermediatePKIPath; with the "
    "Vault-managed paths policy (sys/mounts/<path> read only) Consul cannot mount it itself (consul "
    "agent/connect/ca/provider_vault.go setupIntermediatePKIPath); a non-default auth mount needs the auth-path "
    "annotation.",
    fix="Point rootPKIPath at the mesh chain's deepest intermediate; declare an empty pki mount at "
    "intermediatePKIPath and nothing inside it; set vault.hashicorp.com/auth-path and connectCA.authMethodPath to "
    "the Kubernetes auth mount.",
)
def csl_vault_ca_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The chart's Vault paths line up with the declared Vault."""
    mounts = pki_mounts(view)
    roots = {norm_path(r.get("backend")) for r in view.of(t.PKI_ROOT_CERT)}
    auth_mounts = {norm_path(a.get("path") or a.get("type")) for a in view.of(t.AUTH_BACKEND)}
    owned = mesh_intermediate_paths(view)
    for values in consul_values(view):
        release = values.release
        if not values.vault_enabled:
            continue
        prefix = f"values.{VAULT}"
        # A federation secondary signs under its primary's connect root, a mount of the primary's stack (checked
        # there); one of this stack's own mounts must still be an intermediate.
        root = values.root_pki_path
        theirs = values.is_federation_secondary and root not in mounts
        if root and not theirs and (root not in mounts or root in roots):
            yield (
                release.finding(
                    f"{prefix}.connectCA.rootPKIPath",
                    values.root_pki_path,
                    "not a declared PKI mount holding a Vault-signed intermediate",
                    "use the mesh chain's deepest intermediate mount",
                ),
                release.urn,
            )
        for path, label in (
            (values.auth_mount, "agentAnnotations auth-path"),
            (values.connect_auth_mount, "connectCA.authMethodPath"),
        ):
            if auth_mounts and path not in auth_mounts:
                yield (
                    release.finding(
                        f"{prefix}.{label}",
                        path,
                        f"no Kubernetes auth method is mounted there (declared: {sorted(auth_mounts)})",
                        "set vault.hashicorp.com/auth-path and connectCA.authMethodPath",
                    ),
                    release.urn,
                )
        intermediate = values.intermediate_pki_path
        if intermediate and intermediate not in mounts:
            yield (
                release.finding(
                    f"{prefix}.connectCA.intermediatePKIPath",
                    intermediate,
                    "no PKI mount is declared there, and the servers' policy (sys/mounts/<path> read only) does "
                    "not let Consul mount it: the Connect CA fails to initialise",
                    "declare an empty pki mount at intermediatePKIPath",
                ),
                release.urn,
            )
    for res in view.of(t.PKI_ROLE, t.PKI_AUTO_TIDY, t.PKI_CONFIG_URLS, t.PKI_CRL_CONFIG):
        path = norm_path(res.get("backend"))
        if path in owned:
            yield (
                res.finding(
                    "backend",
                    path,
                    "declared inside intermediatePKIPath, whose role, issuers and tidy Consul writes and owns",
                    "remove it; Consul manages what is inside that mount",
                ),
                res.urn,
            )


@resource_rule(
    "CSL-BINDING",
    checks="connectInject.aclBindingRuleSelector keeps serviceaccount.name!=default.",
    why="Consul on Kubernetes: the default service account must not get a mesh identity.",
    fix="Leave aclBindingRuleSelector unset or keep 'serviceaccount.name!=default' in it.",
    types=(t.HELM_RELEASE,),
)
def csl_binding(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The default service account gets no ACL token."""
    values = _consul(res)
    if values is None:
        return
    selector = values.get("connectInject.aclBindingRuleSelector")
    if "serviceaccount.name!=default" not in str(selector).replace(" ", ""):
        yield res.finding(
            "values.connectInject.aclBindingRuleSelector",
            selector,
            "the default service account can log in to Consul",
            "keep 'serviceaccount.name!=default'",
        )


@resource_rule(
    "CSL-QUORUM",
    checks="Production: server.replicas >= 3 and odd, and the disruption budget on.",
    why="Consul deployment guide: raft needs an odd quorum of 3+ to survive one server failure.",
    fix="Set server.replicas: 3 (or 5) and server.disruptionBudget.enabled: true.",
    types=(t.HELM_RELEASE,),
    settings=(ENVIRONMENT_SETTING,),
)
def csl_quorum(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """A production cluster survives losing a server."""
    values = _consul(res)
    if values is None or not is_production(config, res.urn):
        return
    replicas = as_int(values.get("server.replicas"))
    if replicas is None or replicas < 3 or replicas % 2 == 0:
        yield res.finding("values.server.replicas", replicas, "no fault-tolerant quorum", "set server.replicas: 3 or 5")
    if values.get("server.disruptionBudget.enabled") is not True:
        yield res.finding(
            "values.server.disruptionBudget.enabled",
            value_at(values.values, "server.disruptionBudget.enabled"),
            "voluntary disruptions can break quorum",
            "set server.disruptionBudget.enabled: true",
        )


@resource_rule(
    "CSL-BOOTSTRAP-TOKEN",
    checks="With managed ACLs the bootstrap token lives only in Vault KV: global.acls.bootstrapToken.secretName "
    "(a /data/ path) and secretKey are set (in a federation secondary: global.acls.replicationToken).",
    why="Chart contract §2: the bootstrap token is a KV-v2 path + field; a Kubernetes secret or plain value leaks it.",
    fix="Set global.acls.bootstrapToken.secretName: <kv>/data/<path> and secretKey: token.",
    types=(t.HELM_RELEASE,),
)
def csl_bootstrap_token(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The bootstrap token (a secondary datacenter's replication token) is in Vault."""
    values = _consul(res)
    if values is None or values.get("global.acls.manageSystemACLs") is not True:
        return
    if values.is_federation_secondary:
        # A secondary never bootstraps ACLs: it replicates them from the primary with the replication token, and
        # the chart ignores replicationToken when bootstrapToken is set (values.yaml, chart 2.0.3).
        yield from _kv_reference(
            res,
            values,
            "global.acls.replicationToken",
            "the replication token is not kept in Vault KV-v2",
            "the token's field is not named",
            "set secretKey: token",
        )
        return
    yield from _kv_reference(
        res,
        values,
        "global.acls.bootstrapToken",
        "the bootstrap token is not kept in Vault KV-v2",
        "the token's field is not named",
        "set secretKey: token",
    )


def _kv_reference(
    res: Res, values: ConsulValues, block: str, not_in_kv: str, no_field: str, field_fix: str
) -> Iterator[str]:
    """Findings for a chart secret reference (``<block>.secretName``/``secretKey``) that is not a KV-v2 field."""
    name = value_at(values.values, f"{block}.secretName")
    key = value_at(values.values, f"{block}.secretKey")
    if not isinstance(name, str) or "/data/" not in name:
        yield res.finding(f"values.{block}.secretName", name, not_in_kv, "set it to <kv>/data/<path>")
    if not isinstance(key, str) or not key:
        yield res.finding(f"values.{block}.secretKey", key, no_field, field_fix)


def _is_enterprise(values: ConsulValues) -> bool:
    return bool(value_at(values.values, "global.enterpriseLicense.secretName"))


@resource_rule(
    "KV-BACKUP",
    checks="Production Consul Enterprise: the snapshot agent is enabled with its config read from Vault KV "
    "(Vault's own Raft snapshots are outside the program and are not checked).",
    why="Consul and Vault operations guides: snapshots are the recovery path for lost quorum or data.",
    fix="Set server.snapshotAgent.enabled: true and server.snapshotAgent.configSecret.secretName/secretKey.",
    types=(t.HELM_RELEASE,),
    settings=(ENVIRONMENT_SETTING,),
)
def kv_backup(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Production Consul Enterprise takes snapshots (the agent does not exist in Consul OSS)."""
    values = _consul(res)
    if values is None or not is_production(config, res.urn) or not _is_enterprise(values):
        return
    if values.get("server.snapshotAgent.enabled") is not True:
        yield res.finding(
            "values.server.snapshotAgent.enabled",
            value_at(values.values, "server.snapshotAgent.enabled"),
            "no snapshots in production",
            "set server.snapshotAgent.enabled: true",
        )
    elif not value_at(values.values, "server.snapshotAgent.configSecret.secretName"):
        yield res.finding(
            "values.server.snapshotAgent.configSecret.secretName",
            UNSET,
            "the snapshot agent has no configuration from Vault",
            "set configSecret.secretName/secretKey",
        )


@resource_rule(
    "KV-BACKUP",
    part="oss",
    checks="Production Consul OSS: reminds that snapshots must be taken out of band (the snapshot agent is "
    "Enterprise only, so nothing in the release can be checked).",
    why="Consul operations guide: `consul snapshot save` on a schedule is the OSS recovery path.",
    fix="Schedule `consul snapshot save` (for example a CronJob with a snapshot-scoped ACL token), or use Enterprise.",
    types=(t.HELM_RELEASE,),
    enforcement=ADVISORY,
    settings=(ENVIRONMENT_SETTING,),
)
def kv_backup_oss(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Production Consul OSS gets an advisory reminder that backups happen outside the release."""
    values = _consul(res)
    if values is None or not is_production(config, res.urn) or _is_enterprise(values):
        return
    yield res.finding(
        "values.global.enterpriseLicense",
        UNSET,
        "Consul OSS has no snapshot agent, so this release takes no snapshots",
        "schedule `consul snapshot save` out of band, or run Consul Enterprise with server.snapshotAgent",
    )
