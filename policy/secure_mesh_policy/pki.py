"""Vault PKI rules: root custody, CA keys, one purpose per mount, the TTL cascade, role hygiene, URLs, CRL, tidy."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import types as t
from .chart import (
    ConsulValues,
    consul_values,
    is_consul_release,
    mesh_intermediate_paths,
    previous_connect_roots,
    split_issue,
)
from .documents import (
    REACH,
    duration_seconds,
    find_keys,
    human,
    is_glob,
    literal_prefix,
    parse_json_text,
    parse_policy,
    value_at,
)
from .framework import (
    ENVIRONMENT_SETTING,
    UNSET,
    Res,
    Setting,
    StackView,
    as_bool,
    as_int,
    as_list,
    is_production,
    norm_path,
    resource_rule,
    stack_rule,
)
from .index import pki_mounts, policies_by_name
from .pki_levels import OFFLINE_ROOT, Level, levels

VAULT_SYSTEM_MAX_TTL = 32 * 24 * 3600
"""Vault's system max lease TTL (768h): what a mount without ``max_lease_ttl_seconds`` truncates to."""

CONSUL_DEFAULT_INTERMEDIATE_TTL = 8760 * 3600
CONSUL_DEFAULT_LEAF_TTL = 72 * 3600

Finding = tuple[str, str | None]


# ------------------------------------------------------------------------------------------ custody


@resource_rule(
    "PKI-ROOT-OFFLINE",
    checks="The root CA's private key is never exported into Pulumi state or imported through it, and a "
    "production stack keeps no root in Vault.",
    why="Vault PKI considerations (keep the root offline); design: root custody is vault (dev only), external or "
    "aws-kms.",
    fix="Generate the root with type 'internal' (dev) or keep it external/in KMS (prod); never pass a PEM bundle "
    "with a private key to Vault through Pulumi.",
    types=(t.PKI_ROOT_CERT, t.PKI_CONFIG_CA),
    settings=(ENVIRONMENT_SETTING,),
)
def pki_root_offline(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """A root in Vault is dev-only and never exported; no CA key is ever imported through Pulumi."""
    if res.type == t.PKI_CONFIG_CA:
        yield res.finding(
            "pemBundle",
            "<PEM bundle>",
            "imports a CA certificate with its private key through Pulumi state",
            "sign intermediates inside Vault (intermediate/generate/internal + root/sign-intermediate) instead",
        )
        return
    if res.get("type") == "exported":
        yield res.finding(
            "type",
            res.get("type"),
            "the root's private key is returned to Pulumi and stored in state",
            "use type 'internal' (or 'kms')",
        )
    if is_production(config, res.urn):
        yield res.finding(
            "backend",
            res.get("backend"),
            "a production stack generates its root CA inside Vault",
            "use rootCustody 'external' or 'aws-kms' in production; the root then only signs level-1 offline",
        )


@stack_rule(
    "PKI-ROOT-OFFLINE",
    part="stack",
    checks="A root that lives in Vault sits alone in its mount: no roles, no intermediates generated there, no "
    "leaf issuance, and the Consul chart never uses it as an issuing or mesh root path.",
    why="Vault PKI considerations: a root only signs intermediates; the chart contract: the offline root cannot be "
    "rootPKIPath.",
    fix="Keep the root mount for root/sign-intermediate only; issue from (and point Consul at) intermediate mounts.",
)
def pki_root_offline_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Nothing but signing intermediates happens in a root mount."""
    roots = {norm_path(r.get("backend")) for r in view.of(t.PKI_ROOT_CERT)}
    for res in view.of(t.PKI_ROLE, t.PKI_INT_REQUEST, t.PKI_CERT, t.PKI_SIGN):
        backend = norm_path(res.get("backend"))
        if backend in roots:
            yield (
                res.finding("backend", backend, "this runs in the root CA's mount", "move it to an intermediate mount"),
                res.urn,
            )
    for values in consul_values(view):
        used = {"global.secretsBackend.vault.connectCA.rootPKIPath": values.root_pki_path}
        used.update({key: (split_issue(p) or (p, ""))[0] for key, p in values.issue_paths().items()})
        for key, mount in used.items():
            if mount and mount in roots:
                yield (
                    values.release.finding(
                        f"values.{key}",
                        mount,
                        "the Consul chart uses the root CA's mount",
                        "point it at the chain's deepest Vault-held intermediate mount",
                    ),
                    values.release.urn,
                )


@resource_rule(
    "PKI-KEY-INTERNAL",
    checks="CA keys are generated inside Vault: type 'internal' or 'kms', never 'exported' or 'existing'.",
    why="Vault PKI considerations: an exported key leaves Vault (and lands in Pulumi state).",
    fix="Set type = 'internal' (or 'kms' with a managed key).",
    types=(t.PKI_ROOT_CERT, t.PKI_INT_REQUEST, t.PKI_KEY),
)
def pki_key_internal(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The key-generation type is internal or kms."""
    kind = res.get("type", UNSET)
    if kind not in ("internal", "kms"):
        yield res.finding("type", kind, "the CA key is not generated and kept inside Vault", "set type 'internal'")


# ------------------------------------------------------------------------------------- one purpose


@stack_rule(
    "PKI-ONE-PURPOSE",
    checks="One CA per mount and one mount per purpose: no role on a root mount, no mount generating both a root "
    "and an intermediate, and the Consul server TLS, webhook and mesh CA paths on distinct mounts.",
    why="Vault PKI considerations and health-check root_issued_leaves: leaves from roots, or mixed purposes, cannot "
    "be rotated or revoked independently.",
    fix="Give each purpose (server TLS, mesh CA, API gateway, webhook) its own chain of mounts; put roles only on "
    "the chain's issuing intermediate.",
)
def pki_one_purpose(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Roots have no roles; each mount holds one kind of CA; each chart purpose has its own mount."""
    roots = {norm_path(r.get("backend")) for r in view.of(t.PKI_ROOT_CERT)}
    intermediates = {norm_path(r.get("backend")): r for r in view.of(t.PKI_INT_REQUEST)}
    for role in view.of(t.PKI_ROLE):
        if norm_path(role.get("backend")) in roots:
            yield (
                role.finding(
                    "backend",
                    role.get("backend"),
                    "a role on a root mount issues leaves straight from the root",
                    "move the role to the chain's issuing intermediate mount",
                ),
                role.urn,
            )
    for mount in sorted(roots & set(intermediates)):
        res = intermediates[mount]
        yield (
            res.finding(
                "backend", mount, "this mount holds both a root and an intermediate CA", "give each CA its own mount"
            ),
            res.urn,
        )
    for values in consul_values(view):
        purposes: dict[str, str] = {}
        for key, path in values.issue_paths().items():
            purposes[key] = (split_issue(path) or (path, ""))[0]
        if values.root_pki_path:
            purposes["global.secretsBackend.vault.connectCA.rootPKIPath"] = values.root_pki_path
        if values.intermediate_pki_path:
            purposes["global.secretsBackend.vault.connectCA.intermediatePKIPath"] = values.intermediate_pki_path
        seen: dict[str, str] = {}
        for key, mount in purposes.items():
            if mount in seen:
                yield (
                    values.release.finding(
                        f"values.{key}",
                        mount,
                        f"the same mount also serves values.{seen[mount]}",
                        "use separate mounts for server TLS, the webhook and the mesh CA",
                    ),
                    values.release.urn,
                )
            seen.setdefault(mount, key)


# ------------------------------------------------------------------------------------------- TTLs


@dataclass
class Chain:
    """The CA TTLs of the declared chain and who signed whom, from every level however it was signed."""

    ca_ttl: dict[str, int]
    """Mount (or the offline root) → TTL (seconds) of the CA certificate it holds."""
    edges: list[tuple[str, str, Level]]
    """(signing mount or the offline root, signed mount, the level)."""


def chain_of(view: StackView) -> Chain:
    """Read the chain: roots' TTLs and each signed level's TTL and parent (Vault, KMS and offline levels)."""
    chain = Chain({}, [])
    for root in view.of(t.PKI_ROOT_CERT):
        seconds = duration_seconds(root.get("ttl"))
        if seconds is not None:
            chain.ca_ttl[norm_path(root.get("backend"))] = seconds
    for level in levels(view):
        if level.root_ttl is not None:
            chain.ca_ttl.setdefault(OFFLINE_ROOT, level.root_ttl)
        if level.mount is None:
            continue
        if level.ttl is not None:
            chain.ca_ttl[level.mount] = level.ttl
        chain.edges.append((level.signer, level.mount, level))
    return chain


MAX_LEAF_TTL = Setting("maxLeafTtl", "string", "720h", "The longest max_ttl a PKI role (or Consul's leaf) may have.")
MAX_LEVEL1_TTL = Setting(
    "maxLevel1Ttl",
    "string",
    "17520h",
    "The longest a production level-1 intermediate (signed by the root) may live: two years by default.",
)


def consul_ca_ttls(values: Any) -> tuple[int, int]:
    """Consul's (intermediate, leaf) TTLs from ``connectCA.additionalConfig``, else Consul's defaults."""
    intermediate, leaf = CONSUL_DEFAULT_INTERMEDIATE_TTL, CONSUL_DEFAULT_LEAF_TTL
    data, _ = parse_json_text(values.get("global.secretsBackend.vault.connectCA.additionalConfig"))
    for _key, value in find_keys(data, ("intermediate_cert_ttl", "IntermediateCertTTL")):
        intermediate = duration_seconds(value) or intermediate
    for _key, value in find_keys(data, ("leaf_cert_ttl", "LeafCertTTL")):
        leaf = duration_seconds(value) or leaf
    return intermediate, leaf


@stack_rule(
    "PKI-TTL-CASCADE",
    checks="TTLs shrink strictly down each chain, however each level was signed (Vault, the KMS root key, an "
    "offline operator): root > level 1 > level 2 > level 3 > every role's max_ttl (and Consul's own intermediate "
    "and leaf TTLs under the mesh root path); no role's max_ttl exceeds the maximum leaf TTL; in production no "
    "level 1 outlives the maximum level-1 TTL (two years).",
    why="Vault health-check ca_validity_period; Vault truncates or refuses certificates that outlive their issuer.",
    fix="Shorten the child: e.g. root 87600h, intermediates 17520h/13140h, leaves <= 720h (mesh 72h).",
    settings=(MAX_LEAF_TTL, MAX_LEVEL1_TTL, ENVIRONMENT_SETTING),
)
def pki_ttl_cascade(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each CA outlives what it signs; leaves are short."""
    chain = chain_of(view)
    roots = {norm_path(r.get("backend")) for r in view.of(t.PKI_ROOT_CERT)} | {OFFLINE_ROOT}
    max_level1 = duration_seconds(config.get("maxLevel1Ttl")) or 17520 * 3600
    for root in view.of(t.PKI_ROOT_CERT):
        if duration_seconds(root.get("ttl")) is None:
            yield root.finding("ttl", root.get("ttl"), "the root's TTL is not set", "set ttl explicitly"), root.urn
    for parent, child, level in chain.edges:
        seconds = level.ttl
        signer = "the offline root" if parent == OFFLINE_ROOT else parent
        if seconds is None:
            yield (
                level.finding(
                    "ttl",
                    level.res.get(level.fields["ttl"]) if level.how != "external" else None,
                    f"the TTL of the CA signed for {child} is not set",
                    "set ttl explicitly, shorter than the signer's",
                ),
                level.res.urn,
            )
            continue
        if parent in chain.ca_ttl and seconds >= chain.ca_ttl[parent]:
            yield (
                level.finding(
                    "ttl",
                    human(seconds),
                    f"the CA signed for {child} lives as long as or longer than its signer {signer} "
                    f"({human(chain.ca_ttl[parent])})",
                    f"make it strictly shorter than {human(chain.ca_ttl[parent])}",
                ),
                level.res.urn,
            )
        if parent in roots and seconds > max_level1 and is_production(config, level.res.urn):
            yield (
                level.finding(
                    "ttl",
                    human(seconds),
                    f"a production level-1 CA ({child}, signed by {signer}) lives longer than {human(max_level1)}",
                    f"sign level 1 for at most {human(max_level1)} (pki.chains.<chain>.intermediateTtls[0])",
                ),
                level.res.urn,
            )
    max_leaf = duration_seconds(config.get("maxLeafTtl")) or 720 * 3600
    for role in view.of(t.PKI_ROLE):
        seconds = duration_seconds(role.get("maxTtl"))
        backend = norm_path(role.get("backend"))
        if seconds is None:
            continue
        if backend in chain.ca_ttl and seconds >= chain.ca_ttl[backend]:
            yield (
                role.finding(
                    "maxTtl",
                    role.get("maxTtl"),
                    f"leaves may live as long as their issuing CA in {backend} ({human(chain.ca_ttl[backend])})",
                    "make max_ttl strictly shorter than the issuing CA's TTL",
                ),
                role.urn,
            )
        if seconds > max_leaf:
            yield (
                role.finding(
                    "maxTtl",
                    role.get("maxTtl"),
                    f"longer than the maximum leaf TTL {human(max_leaf)}",
                    f"set max_ttl <= {human(max_leaf)}",
                ),
                role.urn,
            )
    for values in consul_values(view):
        root_path = values.root_pki_path
        if not root_path:
            continue
        intermediate, leaf = consul_ca_ttls(values)
        if root_path in chain.ca_ttl and intermediate >= chain.ca_ttl[root_path]:
            yield (
                values.release.finding(
                    "values.global.secretsBackend.vault.connectCA.additionalConfig",
                    human(intermediate),
                    f"Consul's intermediate outlives its Vault-held root path {root_path} "
                    f"({human(chain.ca_ttl[root_path])})",
                    "set intermediate_cert_ttl shorter than the mesh chain's deepest intermediate",
                ),
                values.release.urn,
            )
        if leaf >= intermediate or leaf > max_leaf:
            yield (
                values.release.finding(
                    "values.global.secretsBackend.vault.connectCA.additionalConfig",
                    human(leaf),
                    f"Consul's leaf_cert_ttl must be shorter than its intermediate ({human(intermediate)}) and at most "
                    f"{human(max_leaf)}",
                    "set leaf_cert_ttl to 72h",
                ),
                values.release.urn,
            )


# Consul's CA configuration rules (consul agent/structs/connect_ca.go ``CommonCAProviderConfig.Validate``) and the
# defaults it starts from before decoding what is given (agent/connect/ca/common.go ``defaultCommonConfig``).
CONSUL_CA_DEFAULTS = {"leaf": 72 * 3600, "intermediate": 8760 * 3600, "root": 87600 * 3600}
CONSUL_MIN_LEAF_TTL = 3600
"""``MinLeafCertTTL``: 1h."""
CONSUL_MAX_LEAF_TTL = 8760 * 3600
"""``MaxLeafCertTTL``: 365 days."""
CONSUL_MIN_INTERMEDIATE_TTL = 3 * 3600
"""3 × ``IntermediateCertRenewInterval`` (1h): the leader checks hourly and renews past half the lifetime."""
_CONSUL_TTL_KEYS = {
    "leaf": ("leaf_cert_ttl", "LeafCertTTL"),
    "intermediate": ("intermediate_cert_ttl", "IntermediateCertTTL"),
    "root": ("root_cert_ttl", "RootCertTTL"),
}
CONSUL_CA_SOURCES = (
    "global.secretsBackend.vault.connectCA.additionalConfig",
    "server.extraConfig",
)
"""Where a Consul release's values set the CA TTLs: the chart merges ``additionalConfig`` into the servers' agent
config and loads ``server.extraConfig`` after everything else, so a later source wins (chart 2.0.3
templates/server-config-configmap.yaml)."""


def _consul_ca_config(res: Res) -> tuple[dict[str, int], dict[str, str]]:
    """The effective (leaf, intermediate, root) TTLs a Consul CA config gives, and where each non-default came from."""
    ttls = dict(CONSUL_CA_DEFAULTS)
    origin: dict[str, str] = {}
    if res.type == t.CONSUL_CA:
        sources = [("configJson", parse_json_text(res.get("configJson"))[0]), ("config", res.get("config"))]
    else:
        values = res.get("values")
        sources = [(f"values.{key}", parse_json_text(value_at(values, key))[0]) for key in CONSUL_CA_SOURCES]
    for where, data in sources:
        for name, keys in _CONSUL_TTL_KEYS.items():
            for _key, value in find_keys(data if isinstance(data, Mapping) else {}, keys):
                seconds = duration_seconds(value)
                if seconds is not None:
                    ttls[name], origin[name] = seconds, where
    return ttls, origin


@resource_rule(
    "CSL-CA-TTL",
    checks="Every Consul Connect CA configuration (the chart's connectCA.additionalConfig and server.extraConfig, "
    "a consul CertificateAuthority resource) passes Consul's own validation, defaults filled in: leaf_cert_ttl "
    "from 1h to 8760h, intermediate_cert_ttl at least 3h and at least 3 × leaf_cert_ttl, root_cert_ttl at least "
    "intermediate_cert_ttl.",
    why="Consul refuses the whole CA configuration otherwise (consul agent/structs/connect_ca.go "
    "CommonCAProviderConfig.Validate, defaults from agent/connect/ca/common.go defaultCommonConfig): at bootstrap "
    "the servers get no Connect CA, later the update is rejected. 3 × leaf: a proxy only receives a new "
    "intermediate with its next leaf.",
    fix="Keep leaf_cert_ttl 72h and intermediate_cert_ttl >= 3 × that (default 8760h); never set root_cert_ttl "
    "below intermediate_cert_ttl.",
    types=(t.HELM_RELEASE, t.CONSUL_CA),
)
def consul_ca_ttl(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Consul's CA TTL orderings hold for each CA configuration."""
    if res.type == t.HELM_RELEASE and not is_consul_release(res):
        return
    ttls, origin = _consul_ca_config(res)
    leaf, intermediate, root = ttls["leaf"], ttls["intermediate"], ttls["root"]

    def where(name: str) -> str:
        key = _CONSUL_TTL_KEYS[name][0]
        return f"{key} in {origin[name]}" if name in origin else f"{key} (unset: Consul's default)"

    if not CONSUL_MIN_LEAF_TTL <= leaf <= CONSUL_MAX_LEAF_TTL:
        yield res.finding(
            where("leaf"),
            human(leaf),
            f"Consul refuses a leaf_cert_ttl outside {human(CONSUL_MIN_LEAF_TTL)} to {human(CONSUL_MAX_LEAF_TTL)}",
            "set leaf_cert_ttl to 72h",
        )
    minimum = max(CONSUL_MIN_INTERMEDIATE_TTL, 3 * leaf)
    if intermediate < minimum:
        yield res.finding(
            where("intermediate"),
            human(intermediate),
            f"Consul refuses an intermediate_cert_ttl below 3h and below 3 × leaf_cert_ttl ({human(leaf)})",
            f"set intermediate_cert_ttl to at least {human(minimum)}",
        )
    if root < intermediate:
        yield res.finding(
            where("root"),
            human(root),
            f"Consul refuses a root_cert_ttl shorter than intermediate_cert_ttl ({human(intermediate)})",
            f"set root_cert_ttl to at least {human(intermediate)} (or leave it at 87600h)",
        )


@resource_rule(
    "PKI-MOUNT-TTL",
    checks="Each PKI mount sets max_lease_ttl_seconds (else Vault truncates to 32 days) and every role sets ttl "
    "and max_ttl explicitly, ttl <= max_ttl.",
    why="Vault PKI considerations: certificates are silently truncated to the mount's max lease TTL.",
    fix="Set max_lease_ttl_seconds on every PKI mount to at least the CA TTL made in it; set ttl and max_ttl on roles.",
    types=(t.MOUNT, t.PKI_ROLE),
)
def pki_mount_ttl(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Mount and role TTLs are explicit."""
    if res.type == t.MOUNT:
        if res.get("type") != "pki":
            return
        value = as_int(res.get("maxLeaseTtlSeconds"))
        if value is None or value <= 0:
            yield res.finding(
                "maxLeaseTtlSeconds",
                value,
                "unset: Vault caps every certificate in this mount at 32 days",
                "set max_lease_ttl_seconds to at least the TTL of the CA generated or signed here",
            )
        return
    ttl, max_ttl = duration_seconds(res.get("ttl")), duration_seconds(res.get("maxTtl"))
    if ttl is None or ttl == 0:
        yield res.finding("ttl", res.get("ttl"), "the role's default TTL is not set", "set ttl explicitly")
    if max_ttl is None or max_ttl == 0:
        yield res.finding("maxTtl", res.get("maxTtl"), "the role's max TTL is not set", "set max_ttl explicitly")
    if ttl and max_ttl and ttl > max_ttl:
        yield res.finding("ttl", res.get("ttl"), f"longer than maxTtl {res.get('maxTtl')}", "set ttl <= max_ttl")


@stack_rule(
    "PKI-MOUNT-TTL",
    part="stack",
    checks="Each PKI mount's max_lease_ttl_seconds is at least the TTL of the CA generated or signed in it, and at "
    "least the max_ttl of its roles (and Consul's intermediate TTL on the mesh root path).",
    why="Vault PKI considerations: Vault truncates certificates to the mount's max lease TTL without an error.",
    fix="Raise the mount's max_lease_ttl_seconds (or shorten the certificate).",
)
def pki_mount_ttl_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Mount lease ceilings cover what happens in the mount."""
    mounts = pki_mounts(view)

    def ceiling(path: str) -> int:
        value = as_int(mounts[path].get("maxLeaseTtlSeconds"))
        return value if value is not None and value > 0 else VAULT_SYSTEM_MAX_TTL

    wanted: list[tuple[str, int, str]] = []
    for res in view.of(t.PKI_ROOT_CERT, t.PKI_SIGN_INTERMEDIATE):
        seconds = duration_seconds(res.get("ttl"))
        if seconds is not None:
            wanted.append((norm_path(res.get("backend")), seconds, f"{res.name} (ttl {human(seconds)})"))
    for role in view.of(t.PKI_ROLE):
        seconds = duration_seconds(role.get("maxTtl"))
        if seconds is not None:
            wanted.append((norm_path(role.get("backend")), seconds, f"role {role.name} (max_ttl {human(seconds)})"))
    for values in consul_values(view):
        if values.root_pki_path:
            wanted.append((values.root_pki_path, consul_ca_ttls(values)[0], "Consul's mesh intermediate"))
    for path, seconds, what in wanted:
        if path in mounts and ceiling(path) < seconds:
            mount = mounts[path]
            yield (
                mount.finding(
                    "maxLeaseTtlSeconds",
                    mount.get("maxLeaseTtlSeconds"),
                    f"below what {what} needs; Vault would truncate it to {human(ceiling(path))}",
                    f"set it to at least {seconds}",
                ),
                mount.urn,
            )


@stack_rule(
    "PKI-NOT-AFTER",
    checks="Issuers of intermediate mounts use leaf_not_after_behavior 'err' or 'truncate'; 'permit' only on roots.",
    why="Vault PKI considerations: 'permit' issues leaves that outlive their issuer, which clients then reject.",
    fix="Set leaf_not_after_behavior = 'err' (or 'truncate') on every non-root issuer.",
)
def pki_not_after(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """No intermediate issuer permits leaves beyond its own expiry."""
    roots = {norm_path(r.get("backend")) for r in view.of(t.PKI_ROOT_CERT)}
    for issuer in view.of(t.PKI_ISSUER):
        behaviour = issuer.get("leafNotAfterBehavior", UNSET)
        if behaviour is UNSET or behaviour in ("err", "truncate"):
            continue
        if behaviour == "permit" and norm_path(issuer.get("backend")) in roots:
            continue
        yield (
            issuer.finding(
                "leafNotAfterBehavior", behaviour, "an intermediate issuer lets leaves outlive it", "set it to 'err'"
            ),
            issuer.urn,
        )


# ------------------------------------------------------------------------------------------- keys

MIN_RSA_BITS = Setting("minRsaKeyBits", "integer", 2048, "The smallest RSA key size a CA or role may use.")
EC_BITS = (256, 384)


@resource_rule(
    "PKI-KEYS",
    checks="Keys are RSA >= 2048 bits (configurable) or EC P-256/P-384; roles do not accept 'any' key type.",
    why="Vault PKI considerations and NIST SP 800-57; Consul cannot cross-sign across key types.",
    fix="Use key_type 'ec' with key_bits 256 or 384 (or 'rsa' with >= 2048) everywhere in the chain.",
    types=(t.PKI_ROOT_CERT, t.PKI_INT_REQUEST, t.PKI_KEY, t.PKI_ROLE),
    settings=(MIN_RSA_BITS,),
)
def pki_keys(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Key type and size are strong enough."""
    kind = res.get("keyType", "rsa")
    bits = as_int(res.get("keyBits", 0)) or 0
    minimum = int(config.get("minRsaKeyBits") or 2048)
    if kind == "rsa":
        if (bits or 2048) < minimum:
            yield res.finding(
                "keyBits", bits, f"RSA keys must have at least {minimum} bits", f"set key_bits >= {minimum}"
            )
    elif kind == "ec":
        if bits not in (0, *EC_BITS):
            yield res.finding("keyBits", bits, "EC keys must be P-256 or P-384", "set key_bits 256 or 384")
    else:
        yield res.finding("keyType", kind, "only RSA and EC keys are allowed", "set key_type 'ec' (or 'rsa')")


@stack_rule(
    "PKI-KEYS",
    part="stack",
    checks="Every CA in the stack uses one key type (Vault cannot cross-sign a different key type for Consul).",
    why="Vault and Consul CA rotation: Consul's cross-signing needs the same key type throughout.",
    fix="Use the same key_type for the root and every intermediate.",
)
def pki_keys_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """All CA keys share one type: the most common one (the root's on a tie); the others are blamed."""
    cas = view.of(t.PKI_ROOT_CERT, t.PKI_INT_REQUEST, t.PKI_KEY)
    kinds = [str(res.get("keyType", "rsa")) for res in cas]
    if len(set(kinds)) <= 1:
        return
    root_kind = next((k for res, k in zip(cas, kinds, strict=True) if res.type == t.PKI_ROOT_CERT), None)
    expected = max(sorted(set(kinds)), key=lambda k: (kinds.count(k), k == root_kind))
    for res, kind in zip(cas, kinds, strict=True):
        if kind != expected:
            yield (
                res.finding(
                    "keyType", kind, f"differs from the chain's {expected!r}", f"use {expected!r} across the chain"
                ),
                res.urn,
            )


@resource_rule(
    "PKI-NAME-CONSTRAINTS",
    checks="Every signed CA level carries permitted DNS name constraints, however it is signed (Vault's "
    "root/sign-intermediate or the KMS root key).",
    why="Vault PKI considerations: name constraints limit what a compromised intermediate can issue.",
    fix="Set permitted_dns_domains on root/sign-intermediate (or the KMS-signed level) to the chain's domains.",
    types=(t.PKI_SIGN_INTERMEDIATE, t.PKI_KMS_LEVEL1),
)
def pki_name_constraints(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """A signed intermediate is name-constrained."""
    key = "permitted_dns_domains" if res.type == t.PKI_KMS_LEVEL1 else "permittedDnsDomains"
    if not as_list(res.get(key)):
        yield res.finding(
            key,
            res.get(key),
            "the intermediate may issue for any name",
            "set permitted_dns_domains to the domains of this chain's purpose",
        )


# ---------------------------------------------------------------------------------------- roles

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"


def consul_server_exception(domains: list[str]) -> bool:
    """Whether allowed_domains is exactly the Consul server role's (contract §4).

    That is exactly four names: ``<fn>-server``, ``<fn>-server.<ns>``, ``<fn>-server.<ns>.svc`` (one
    ``<fn>``, one namespace label ``<ns>``) and ``<dc>.<domain>`` (at least two labels, not under
    ``<fn>-server``). Only such a role may allow localhost, IP SANs, wildcards, subdomains and bare domains.
    """
    if len(domains) != 4 or len(set(domains)) != 4:
        return False
    servers = [d for d in domains if re.fullmatch(f"{_LABEL}-server", d)]
    if len(servers) != 1:
        return False
    server = servers[0]
    under = [d for d in domains if d.startswith(server + ".")]
    others = [d for d in domains if d != server and d not in under]
    if len(under) != 2 or len(others) != 1:
        return False
    namespaces = [d[len(server) + 1 :] for d in under if re.fullmatch(_LABEL, d[len(server) + 1 :])]
    if len(namespaces) != 1 or f"{server}.{namespaces[0]}.svc" not in under:
        return False
    return re.fullmatch(rf"{_LABEL}(\.{_LABEL})+", others[0]) is not None


def federation_server_roles(view: StackView, values: ConsulValues) -> dict[tuple[str, str], list[str]]:
    """A WAN-federation primary's server roles for its secondaries: (mount, name) → allowed domains.

    Such a role sits on the mount of the chart's server role, is named ``<server role>-<dc>`` for another datacenter
    label, and allows exactly the server role's names with this datacenter's ``<dc>.<domain>`` replaced by the
    secondary's (consul-k8s acceptance/tests/vault/vault_wan_fed_test.go: one server PKI mount, a role per
    datacenter). Nothing else may borrow the server role's exception.
    """
    if not values.is_federation_primary:
        return {}
    split = split_issue(values.issue_paths().get("server.serverCert.secretName") or "")
    if split is None:
        return {}
    mount, own_name = split
    on_mount = [r for r in view.of(t.PKI_ROLE) if norm_path(r.get("backend")) == mount]
    own = next((r for r in on_mount if str(r.get("name")) == own_name), None)
    if own is None:
        return {}
    own_domains = [str(d) for d in as_list(own.get("allowedDomains"))]
    datacenter = str(value_at(values.values, "global.datacenter") or "dc1")
    domain = str(value_at(values.values, "global.domain") or "consul")
    own_dc = f"{datacenter}.{domain}"
    if own_dc not in own_domains:
        return {}
    found: dict[tuple[str, str], list[str]] = {}
    for role in on_mount:
        name = str(role.get("name"))
        label = name.removeprefix(f"{own_name}-")
        if label in (name, datacenter) or not re.fullmatch(_LABEL, label):
            continue
        expected = [f"{label}.{domain}" if d == own_dc else d for d in own_domains]
        if [str(d) for d in as_list(role.get("allowedDomains"))] == expected:
            found[(mount, name)] = expected
    return found


INSECURE_BY_DEFAULT = ("allowLocalhost", "allowIpSans", "allowWildcardCertificates")
"""Role flags that are true when unset (Vault and the provider default them on)."""


@resource_rule(
    "PKI-ROLE-HYGIENE",
    checks="Roles never allow any name or glob domains and enforce hostnames; allow_localhost, allow_ip_sans and "
    "allow_wildcard_certificates (true when unset) are set false except on the Consul server role; a role "
    "serves one purpose (not both server and client auth) unless it is the Consul server role.",
    why="Vault health-checks role_allows_localhost and role_allows_glob_wildcards; the chart contract §4 defines "
    "the one exception: allowed_domains exactly <dc>.<domain>, <fn>-server, <fn>-server.<ns>, <fn>-server.<ns>.svc.",
    fix="Set allow_any_name=false, allow_glob_domains=false, enforce_hostnames=true, allow_localhost=false, "
    "allow_ip_sans=false, allow_wildcard_certificates=false, and client_flag=false on server-certificate roles.",
    types=(t.PKI_ROLE,),
)
def pki_role_hygiene(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Issuance is restricted to the role's own names."""
    if as_bool(res.get("allowAnyName"), False):
        yield res.finding("allowAnyName", True, "the role issues for any name", "set allow_any_name = false")
    if as_bool(res.get("allowGlobDomains"), False):
        yield res.finding(
            "allowGlobDomains", True, "glob patterns widen allowed_domains", "set allow_glob_domains = false"
        )
    if not as_bool(res.get("enforceHostnames"), True):
        yield res.finding("enforceHostnames", False, "any string can become a DNS SAN", "set enforce_hostnames = true")
    domains = [str(d) for d in as_list(res.get("allowedDomains"))]
    exception = consul_server_exception(domains)
    if exception:
        return
    for flag in INSECURE_BY_DEFAULT:
        value = res.get(flag, UNSET)
        if as_bool(value, True):
            yield res.finding(
                flag,
                value,
                "true (Vault's default when unset) on a role that is not the Consul server role",
                f"set {flag} = false explicitly",
            )
    if as_bool(res.get("serverFlag"), True) and as_bool(res.get("clientFlag"), True):
        yield res.finding(
            "clientFlag",
            res.get("clientFlag", UNSET),
            "the role issues certificates valid for both server and client auth (Vault's default)",
            "set client_flag = false on a server-certificate role (or server_flag = false on a client one)",
        )


@stack_rule(
    "PKI-ROLE-HYGIENE",
    part="stack",
    checks="Only the role the Consul chart requests server certificates from (server.serverCert.secretName) may use "
    "the Consul server role's exception, and in a WAN-federation primary a role per secondary beside it "
    "(<role>-<dc>, the same names with the secondary's <dc>.<domain>).",
    why="Chart contract §4: the flags are justified for the server role only.",
    fix="Give other roles their own allowed_domains and turn localhost, IP SANs and wildcards off.",
)
def pki_role_hygiene_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """The exception is used by exactly the chart's server role."""
    server_roles = set()
    for values in consul_values(view):
        issue = values.issue_paths().get("server.serverCert.secretName")
        if issue and split_issue(issue):
            server_roles.add(split_issue(issue))
        server_roles.update(federation_server_roles(view, values))
    for role in view.of(t.PKI_ROLE):
        domains = [str(d) for d in as_list(role.get("allowedDomains"))]
        if not consul_server_exception(domains):
            continue
        key = (norm_path(role.get("backend")), str(role.get("name")))
        if key not in server_roles:
            yield (
                role.finding(
                    "allowedDomains",
                    domains,
                    "shaped like the Consul server role, but the chart's server.serverCert.secretName does not use it",
                    "only the role at server.serverCert.secretName may carry the server exception",
                ),
                role.urn,
            )


@resource_rule(
    "PKI-NO-LEASE",
    checks="Roles do not generate a lease per certificate (generate_lease false).",
    why="Vault PKI considerations: a lease per certificate loads Vault's storage and expiration manager.",
    fix="Set generate_lease = false (and no_store = true for short-lived leaves if wanted).",
    types=(t.PKI_ROLE,),
)
def pki_no_lease(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Certificates come without leases."""
    if as_bool(res.get("generateLease"), False):
        yield res.finding(
            "generateLease", True, "every certificate creates a Vault lease", "set generate_lease = false"
        )


# ----------------------------------------------------------------------------- URLs, CRL, tidy, issuers


def ca_mounts(view: StackView) -> dict[str, Res]:
    """Declared PKI mounts except the ones Consul owns (their settings are Consul's)."""
    owned = mesh_intermediate_paths(view)
    return {p: m for p, m in pki_mounts(view).items() if p not in owned}


def missing_per_mount(view: StackView, token: str, ok: Any, what: str, fix: str) -> Iterator[Finding]:
    """One finding per CA mount that has no resource of ``token`` (on its backend) passing ``ok``."""
    configured = {norm_path(r.get("backend")) for r in view.of(token) if ok(r)}
    for path, mount in ca_mounts(view).items():
        if path not in configured:
            yield mount.finding("path", path, what, fix), mount.urn


@resource_rule(
    "PKI-URLS",
    checks="A mount's URL config names issuing_certificates and crl_distribution_points.",
    why="Vault PKI considerations: certificates issued before the URLs are set carry no AIA/CRL pointers forever.",
    fix="Set issuing_certificates and crl_distribution_points (Vault address + /v1/<mount>/ca and /crl).",
    types=(t.PKI_CONFIG_URLS,),
)
def pki_urls(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Both URL lists are set."""
    for prop in ("issuingCertificates", "crlDistributionPoints"):
        if not as_list(res.get(prop)):
            yield res.finding(prop, res.get(prop), "empty", f"set {prop} to the mount's URL")


def _urls_ok(res: Res) -> bool:
    return bool(as_list(res.get("issuingCertificates"))) and bool(as_list(res.get("crlDistributionPoints")))


@stack_rule(
    "PKI-URLS",
    part="stack",
    checks="Every CA mount has its URLs configured (a SecretBackendConfigUrls or issuer-level URLs).",
    why="Vault PKI considerations: configure URLs before anything is issued.",
    fix="Add a pkiSecret.SecretBackendConfigUrls for the mount.",
)
def pki_urls_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each CA mount has URLs."""
    issuer_urls = {norm_path(r.get("backend")) for r in view.of(t.PKI_ISSUER) if _urls_ok(r)}
    for finding in missing_per_mount(
        view,
        t.PKI_CONFIG_URLS,
        _urls_ok,
        "no URL configuration for this CA mount",
        "add a SecretBackendConfigUrls with issuing_certificates and crl_distribution_points",
    ):
        mount = view.by_urn(finding[1] or "")
        if mount is None or norm_path(mount.get("path")) not in issuer_urls:
            yield finding


@resource_rule(
    "PKI-CRL",
    checks="CRL config is explicit: auto_rebuild and enable_delta true, expiry set, CRL not disabled.",
    why="Vault PKI considerations: Vault's defaults rebuild the CRL on every revocation and have no delta CRLs.",
    fix="Set auto_rebuild = true, enable_delta = true, expiry (e.g. '72h') and leave disable false.",
    types=(t.PKI_CRL_CONFIG,),
)
def pki_crl(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The CRL is rebuilt automatically with deltas."""
    for prop in ("autoRebuild", "enableDelta"):
        if not as_bool(res.get(prop), False):
            yield res.finding(prop, res.get(prop, UNSET), "off (Vault's default)", f"set {prop} = true")
    if not res.get("expiry"):
        yield res.finding(
            "expiry", res.get("expiry", UNSET), "the CRL's lifetime is implicit", "set expiry (e.g. '72h')"
        )
    if as_bool(res.get("disable"), False):
        yield res.finding("disable", True, "revocation is not published", "set disable = false")


@stack_rule(
    "PKI-CRL",
    part="stack",
    checks="Every CA mount has an explicit CRL configuration.",
    why="Vault PKI considerations (CRL defaults are off).",
    fix="Add a pkiSecret.SecretBackendCrlConfig for the mount.",
)
def pki_crl_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each CA mount has a CRL config."""
    yield from missing_per_mount(
        view, t.PKI_CRL_CONFIG, lambda r: True, "no CRL configuration for this CA mount", "add a SecretBackendCrlConfig"
    )


MAX_TIDY_INTERVAL = 48 * 3600


@resource_rule(
    "PKI-TIDY",
    checks="Auto-tidy is enabled with cert store, revoked certs and expired issuers, every 2 days or more often.",
    why="Vault health-check enable_auto_tidy: without tidy, storage grows with every certificate.",
    fix="Set enabled, tidy_cert_store, tidy_revoked_certs, tidy_expired_issuers = true and interval_duration <= 48h.",
    types=(t.PKI_AUTO_TIDY,),
)
def pki_tidy(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """Auto-tidy cleans what it should, often enough."""
    for prop in ("enabled", "tidyCertStore", "tidyRevokedCerts", "tidyExpiredIssuers"):
        if not as_bool(res.get(prop), False):
            yield res.finding(prop, res.get(prop, UNSET), "off", f"set {prop} = true")
    interval = duration_seconds(res.get("intervalDuration"))
    if interval is not None and interval > MAX_TIDY_INTERVAL:
        yield res.finding("intervalDuration", res.get("intervalDuration"), "longer than 48h", "set it to 48h or less")


@stack_rule(
    "PKI-TIDY",
    part="stack",
    checks="Every CA mount the program owns has auto-tidy; Consul's own intermediate mount has none (Consul tidies "
    "it).",
    why="Vault health-check enable_auto_tidy; chart contract §3: Consul owns intermediatePKIPath.",
    fix="Add a pkiSecret.BackendConfigAutoTidy per mount; declare nothing in intermediatePKIPath.",
)
def pki_tidy_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each owned CA mount has auto-tidy."""
    yield from missing_per_mount(
        view,
        t.PKI_AUTO_TIDY,
        lambda r: as_bool(r.get("enabled"), False),
        "no enabled auto-tidy for this CA mount",
        "add a BackendConfigAutoTidy (enabled)",
    )
    owned = mesh_intermediate_paths(view)
    for tidy in view.of(t.PKI_AUTO_TIDY):
        if norm_path(tidy.get("backend")) in owned:
            yield (
                tidy.finding(
                    "backend",
                    tidy.get("backend"),
                    "auto-tidy in the mount Consul owns",
                    "remove it; Consul tidies its intermediate mount",
                ),
                tidy.urn,
            )


@stack_rule(
    "PKI-DEFAULT-ISSUER",
    checks="Each CA mount has an explicit default issuer (SecretBackendConfigIssuers with 'default').",
    why="Vault PKI rotation: switching the default issuer is how rotation takes effect; implicit defaults drift.",
    fix="Add a pkiSecret.SecretBackendConfigIssuers with default = the mount's issuer.",
)
def pki_default_issuer(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Each CA mount names its default issuer."""
    yield from missing_per_mount(
        view,
        t.PKI_CONFIG_ISSUERS,
        lambda r: r.has("default"),
        "no explicit default issuer for this CA mount",
        "add a SecretBackendConfigIssuers with default set",
    )


# ------------------------------------------------------------------------------------ sensitive paths

SENSITIVE_ENDPOINTS = (
    "sign-verbatim",
    "root/sign-intermediate",
    "root/sign-self-issued",
    "issuers/generate",
    "root/generate",
)


def _reaches_endpoint(pattern: str) -> str | None:
    """The sensitive endpoint a pattern can match below some mount, if any.

    Every tail of the pattern (from a segment boundary) is matched, with Vault's ``+``/``*`` rules,
    against the start of each endpoint; a tail must keep at least four literal characters,
    so a bare ``*`` (a whole-mount glob, judged by the stack rule) does not count.
    """
    segments = pattern.strip("/").split("/")
    for start in range(len(segments)):
        tail = "/".join(segments[start:])
        if len(tail.replace("+", "").replace("*", "").replace("/", "")) < 4:
            continue
        for endpoint in SENSITIVE_ENDPOINTS:
            if _tail_reaches(tail.split("/"), endpoint.split("/")):
                return endpoint
    return None


def _tail_reaches(tail: list[str], endpoint: list[str]) -> bool:
    """Whether pattern segments match an endpoint's segments (anything may follow the endpoint)."""
    for index, wanted in enumerate(endpoint):
        if index >= len(tail):
            return False
        segment = tail[index]
        if index == len(tail) - 1 and segment.endswith("*"):
            return wanted.startswith(segment[:-1])
        if segment not in ("+", wanted):
            return False
    return True


def _mesh_ca_exception(pattern: str, rules: Mapping[str, frozenset[str]]) -> str | None:
    """``<R>/root/sign-intermediate`` in a policy shaped like Consul's mesh CA policy (it reads ``sys/mounts/<R>``)."""
    if not pattern.endswith("/root/sign-intermediate") or is_glob(pattern):
        return None
    root = pattern[: -len("/root/sign-intermediate")]
    return root if "read" in rules.get(f"sys/mounts/{root}", frozenset()) else None


CROSS_SIGN = frozenset({"sudo", "update"})
"""What Consul's provider needs on ``<old root>/root/sign-self-issued`` to cross-sign a new root (a root-protected
endpoint: consul provider_vault.go ``CrossSignCA``; Consul docs, Vault CA, "Additional Vault ACL policies for
sensitive operations")."""


def cross_sign_exception(pattern: str, capabilities: frozenset[str], rules: Mapping[str, frozenset[str]]) -> str | None:
    """``<R>/root/sign-self-issued`` with at most sudo and update, exact, in a policy shaped like Consul's mesh CA
    policy (it reads ``sys/mounts/<R>``): the connect root's temporary cross-sign grant. Which ``R`` it may name
    (only a previous connect root) is the stack rule's to decide.
    """
    if not pattern.endswith("/root/sign-self-issued") or is_glob(pattern) or not capabilities <= CROSS_SIGN:
        return None
    root = pattern[: -len("/root/sign-self-issued")]
    return root if "read" in rules.get(f"sys/mounts/{root}", frozenset()) else None


@resource_rule(
    "PKI-SENSITIVE-PATHS",
    checks="No policy reaches sign-verbatim, root/sign-*, issuers/generate or root/generate, except Consul's mesh CA "
    "policy on its own root path (root/sign-intermediate, with its sys/mounts read) and, while it rotates, on the "
    "previous root (also root/sign-self-issued with sudo and update: the cross-sign).",
    why="Vault health-check policy_allow_endpoints: these endpoints mint CAs or sign anything.",
    fix="Grant only <mount>/issue/<role> (create, update) and <mount>/cert/ca (read).",
    types=(t.POLICY,),
)
def pki_sensitive_paths(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """No workload policy reaches CA-minting endpoints."""
    parsed = parse_policy(str(res.get("name") or res.name), res.get("policy"))
    for pattern, capabilities in parsed.rules.items():
        if not capabilities & REACH:
            continue
        endpoint = _reaches_endpoint(pattern)
        if endpoint is None or _mesh_ca_exception(pattern, parsed.rules):
            continue
        if cross_sign_exception(pattern, capabilities, parsed.rules):
            continue
        yield res.finding(
            f"policy.path[{pattern!r}]",
            sorted(capabilities),
            f"reaches the sensitive endpoint {endpoint}",
            "remove the path; grant only issue/<role> and cert/ca",
        )


@stack_rule(
    "PKI-SENSITIVE-PATHS",
    part="stack",
    checks="No policy globs over a whole PKI mount (which reaches its sensitive endpoints) except Consul's own "
    "intermediate mount; the mesh CA exception names the chart's connectCA.rootPKIPath or, while Consul's root "
    "rotates, the previous generation's mount, and the cross-sign exception (root/sign-self-issued) only that "
    "previous mount.",
    why="Vault health-check policy_allow_endpoints; chart contract §3 (mesh CA paths).",
    fix="Replace the glob with the exact issue/<role> and cert/ca paths.",
)
def pki_sensitive_paths_stack(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Whole-mount PKI globs and misdirected mesh CA grants are caught."""
    mounts = set(pki_mounts(view))
    owned = mesh_intermediate_paths(view)
    roots = {v.root_pki_path for v in consul_values(view) if v.root_pki_path}
    previous = previous_connect_roots(view)
    for declared in policies_by_name(view).values():
        res, rules = declared.res, declared.parsed.rules
        for pattern, capabilities in rules.items():
            if not capabilities & REACH:
                continue
            if is_glob(pattern):
                prefix = literal_prefix(pattern.lstrip("/"))
                for mount in sorted(mounts - owned):
                    if (mount + "/").startswith(prefix):
                        yield (
                            res.finding(
                                f"policy.path[{pattern!r}]",
                                sorted(capabilities),
                                f"globs over the whole PKI mount {mount}, including sign-verbatim and root/generate",
                                "grant exact paths only",
                            ),
                            res.urn,
                        )
            root = _mesh_ca_exception(pattern, rules)
            if root is not None and root not in roots and root not in previous:
                yield (
                    res.finding(
                        f"policy.path[{pattern!r}]",
                        sorted(capabilities),
                        f"grants root/sign-intermediate on {root}, which is not the chart's connectCA.rootPKIPath",
                        "grant root/sign-intermediate only on the mesh CA's root path",
                    ),
                    res.urn,
                )
            crossed = cross_sign_exception(pattern, capabilities, rules)
            if crossed is not None and crossed not in previous:
                yield (
                    res.finding(
                        f"policy.path[{pattern!r}]",
                        sorted(capabilities),
                        f"grants the cross-sign on {crossed}, which is not the previous generation of a "
                        "connectCA.rootPKIPath",
                        "grant root/sign-self-issued only on the connect root's previous generation, while it rotates",
                    ),
                    res.urn,
                )
