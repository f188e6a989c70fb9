"""Onboarding that stays current (issue 18): who may move a database connection, and how the gateway gets its chain.

* ``POL-DB-ADDRESS``: an identity that can write a database connection's configuration
  (``<database mount>/config/<name>``) is a catalog watcher and may do exactly that: ``update`` (never
  ``create``, which would let it make new connections, nor read/delete/list) on one exact connection path,
  with ``allowed_parameters`` naming ``connection_url`` alone and values that pin the database and the
  ``sslmode`` (``*/<db>?sslmode=<mode>``; how strong that mode must be is ``DB-TLS``'s business). Vault
  refuses any parameter a non-empty ``allowed_parameters`` does not name (``vault/acl.go``), so the identity
  cannot change the root username or password, the plugin, the allowed roles or ``verify_connection``.
  ``POL-LEAST`` leaves exactly these exact update-only grants to this rule.
* ``PKI-GW-CHAIN``: a Vault Secrets Operator ``VaultPKISecret`` writes a ``kubernetes.io/tls`` Secret it
  creates, in PEM (``tls.crt`` = certificate + ``ca_chain``, roots removed: VSO
  ``controllers/vaultpkisecret_controller.go`` ``convertToK8sTLSSecretData`` and
  ``api/v1beta1/vaultpkisecret_types.go``, which always sends ``remove_roots_from_chain=true``), never
  ``pem_bundle`` (which appends the private key to the certificate PEM) or ``der``, and renews before
  expiry (``expiryOffset``). Advisory: a Gateway listener Secret synced by the Secrets Store CSI driver
  holds the leaf alone, so clients without the intermediate cannot verify it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import types as t
from .consumers import database_mounts
from .framework import ADVISORY, Res, StackView, as_list, resource_rule, stack_rule
from .index import identities, policies_by_name
from .vaultpaths import Reach, reach, target

Finding = tuple[str, str | None]

VAULT_PKI_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultPKISecret"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ADDRESS_PARAMETER = "connection_url"
PINNED = re.compile(r"\*/[^/?*]+\?sslmode=[a-z-]+")
"""An allowed ``connection_url`` value that frees the address only: ``*/<database>?sslmode=<mode>`` (a leading
``*`` is the only glob Vault allows besides a trailing one: ``strutil.GlobbedStringsMatch``)."""
WRITES = frozenset({"create", "update", "patch"})
_FIX = "give each connection's watcher its own role and policy: update on its one config path, connection_url only"
OFFSET = re.compile(r"([0-9]+(\.[0-9]+)?)[smh]")
r"""VSO's ``expiryOffset`` syntax (``api/v1beta1/vaultpkisecret_types.go``: ``^([0-9]+(\.[0-9]+)?(s|m|h))$``)."""


def is_address_update(found: Reach, mount: str) -> bool:
    """An exact ``<mount>/config/<name>`` grant of ``update`` alone (what a catalog watcher holds)."""
    parts = found.path[len(mount) + 1 :].split("/")
    return (
        found.rule.pattern.is_exact
        and len(parts) == 2
        and parts[0] == "config"
        and found.capabilities == frozenset({"update"})
    )


def _allowed_parameters(policy_text: Any, pattern: str) -> Any:
    """The ``allowed_parameters`` of one path of a JSON policy (None when absent or unreadable)."""
    try:
        document = json.loads(str(policy_text))
        return document["path"][pattern].get("allowed_parameters")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _parameter_problem(allowed: Any) -> str | None:
    """Why ``allowed_parameters`` do not pin the write to the address with TLS (None when they do)."""
    if not isinstance(allowed, Mapping) or set(allowed) != {ADDRESS_PARAMETER}:
        return f"allowed_parameters must name '{ADDRESS_PARAMETER}' alone (given: {allowed!r})"
    values = as_list(allowed[ADDRESS_PARAMETER])
    if not values:
        return f"'{ADDRESS_PARAMETER}' accepts any value (an empty list): pin the database and sslmode"
    loose = [v for v in values if not isinstance(v, str) or not PINNED.fullmatch(v)]
    if loose:
        return f"'{ADDRESS_PARAMETER}' values {loose!r} do not pin the database and sslmode ('*/<db>?sslmode=<mode>')"
    return None


@stack_rule(
    "POL-DB-ADDRESS",
    checks="An identity that can write a database connection's configuration (<db mount>/config/<name>) holds "
    "'update' alone on exactly one connection path (no glob, no create/read/delete/list), and the granting policy "
    "restricts the write with allowed_parameters to connection_url alone, with values of the form "
    "'*/<database>?sslmode=<mode>' (the address is free, the database and TLS mode are not).",
    why="A catalog watcher only moves the address (issue 18). Vault merges an update into the stored connection "
    "(builtin/logical/database/path_config_connection_ce.go) and refuses parameters allowed_parameters does not "
    "name (vault/acl.go); without that restriction the identity could rewrite the root credentials, the plugin or "
    "the allowed roles, or change the database or the TLS mode; with create it could make new connections.",
    fix="Grant update on the one <db mount>/config/<connection> path with allowed_parameters = "
    '{"connection_url": ["*/<database>?sslmode=<the connection sslmode>"]}.',
)
def pol_db_address(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Connection-config writers are narrow catalog watchers."""
    policies = policies_by_name(view)
    mounts = database_mounts(view)
    for identity in identities(view):
        paths: set[str] = set()
        for mount in sorted(mounts):
            for found in reach(identity.acl, target(f"{mount}/config", subtree=True)):
                if not found.capabilities & WRITES:
                    continue
                problem: str | None
                if not is_address_update(found, mount):
                    problem = (
                        f"may {sorted(found.capabilities)} {found.shown} via {found.rule.pattern.raw!r}: only update "
                        "on one exact connection path"
                    )
                else:
                    paths.add(found.path)
                    texts = [policies[p].res.get("policy") for p in found.rule.policies if p in policies]
                    allowed = [_allowed_parameters(text, found.rule.pattern.raw) for text in texts]
                    problem = next((p for p in map(_parameter_problem, allowed) if p), None)
                    if problem:
                        problem = f"{found.path} in {list(found.rule.policies)}: {problem}"
                if problem:
                    finding = identity.res.finding(identity.prop, list(identity.policy_names), problem, _FIX)
                    yield finding, identity.res.urn
        if len(paths) > 1:
            yield (
                identity.res.finding(
                    identity.prop,
                    list(identity.policy_names),
                    f"updates {len(paths)} connections ({sorted(paths)}): one watcher identity per connection",
                    _FIX,
                ),
                identity.res.urn,
            )


def _spec(res: Res) -> Mapping[str, Any]:
    spec = res.get("spec")
    return spec if isinstance(spec, Mapping) else {}


@resource_rule(
    "PKI-GW-CHAIN",
    checks="A VaultPKISecret creates its destination Secret as kubernetes.io/tls, in PEM ('format' unset or 'pem'; "
    "never 'pem_bundle', which puts the private key into tls.crt, nor 'der'), and renews before expiry "
    "(a non-zero expiryOffset).",
    why="VSO builds tls.crt as the certificate followed by ca_chain (roots removed) only for a kubernetes.io/tls "
    "destination (vault-secrets-operator controllers/vaultpkisecret_controller.go); a listener without its chain "
    "fails for clients that do not hold the intermediate, one without renewal expires.",
    fix="Set destination {create: true, type: kubernetes.io/tls}, format: pem and expiryOffset (e.g. a third of the "
    "certificate's TTL).",
    types=(VAULT_PKI_SECRET,),
)
def pki_gw_chain(res: Res, config: Mapping[str, Any]) -> Iterator[str]:
    """The operator writes a TLS Secret with the chain, in PEM, renewed ahead of expiry."""
    spec = _spec(res)
    destination = spec.get("destination")
    destination = destination if isinstance(destination, Mapping) else {}
    if destination.get("type") != "kubernetes.io/tls" or destination.get("create") is not True:
        yield res.finding(
            "spec.destination",
            {"type": destination.get("type"), "create": destination.get("create")},
            "the Secret is not created as kubernetes.io/tls, so tls.crt does not get the issuing chain",
            "set destination.create: true and destination.type: kubernetes.io/tls",
        )
    if spec.get("format") not in (None, "pem"):
        yield res.finding(
            "spec.format",
            spec.get("format"),
            "pem_bundle appends the private key to tls.crt; der is not what a TLS listener reads",
            "leave format unset or set 'pem'",
        )
    offset = spec.get("expiryOffset")
    matched = OFFSET.fullmatch(offset) if isinstance(offset, str) else None
    if matched is None or float(matched.group(1)) <= 0:
        yield res.finding(
            "spec.expiryOffset",
            offset,
            "no renewal ahead of expiry: the operator renews only when the certificate has expired",
            "set expiryOffset (e.g. a third of the TTL)",
        )


@stack_rule(
    "PKI-GW-CHAIN",
    part="csi",
    enforcement=ADVISORY,
    checks="A Gateway listener's certificate Secret is not written by the Secrets Store CSI driver's secret sync "
    "(which carries the leaf alone).",
    why="The Vault CSI provider returns one field per object, so the synced tls.crt has no issuing chain; clients "
    "that do not already hold the intermediate cannot verify the gateway (issue 18).",
    fix="Set consul.apiGatewayCertificateDelivery: vso (Vault Secrets Operator writes the leaf and its chain).",
)
def pki_gw_chain_csi(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Listener Secrets synced from a CSI volume have no chain."""
    synced: set[tuple[str, str]] = set()
    for spc in view.of(t.SECRET_PROVIDER_CLASS):
        metadata = spc.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "default") if isinstance(metadata, Mapping) else "default"
        for entry in as_list(_spec(spc).get("secretObjects")):
            if isinstance(entry, Mapping) and entry.get("secretName"):
                synced.add((namespace, str(entry["secretName"])))
    for gateway in view.of(GATEWAY):
        metadata = gateway.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "default") if isinstance(metadata, Mapping) else "default"
        for index, listener in enumerate(as_list(_spec(gateway).get("listeners"))):
            tls = listener.get("tls") if isinstance(listener, Mapping) else None
            refs = as_list(tls.get("certificateRefs")) if isinstance(tls, Mapping) else []
            for ref in refs:
                if not isinstance(ref, Mapping):
                    continue
                key = (str(ref.get("namespace") or namespace), str(ref.get("name")))
                if key in synced:
                    yield (
                        gateway.finding(
                            f"spec.listeners[{index}].tls.certificateRefs",
                            ref.get("name"),
                            "the Secret is synced by the CSI driver: the leaf without its issuing chain",
                            "deliver it with Vault Secrets Operator (consul.apiGatewayCertificateDelivery: vso)",
                        ),
                        gateway.urn,
                    )
