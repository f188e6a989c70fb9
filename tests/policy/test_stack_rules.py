"""Every stack rule, called through its policy's ``validate``.

Compliant case: the checked-in stacks as the program registers them (dev and prod under mocks).
Violating cases: the dev (or prod) stack with one resource weakened, removed or added, so each case
differs from a real, passing stack by exactly the fault the rule exists to catch.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from secure_mesh_policy import types as t
from secure_mesh_policy.topology import is_peering_token

from tests.conftest import stack_run
from tests.policy.support import (
    CASE_FINDINGS,
    RULES,
    Subject,
    as_pinned,
    check_stack,
    from_run,
    pinned,
    private_subjects,
    subject,
)

STACK_RULES = sorted(name for name, rule in RULES.items() if rule.info.scope == "stack")


def stack_subjects(stack: str) -> list[Subject]:
    """A private deep copy of a checked-in stack's resources (the cached run stays untouched)."""
    return private_subjects(stack_run(stack).resources)


def named(subjects: list[Subject], name: str) -> Subject:
    found = [s for s in subjects if s.name == name]
    assert len(found) == 1, f"expected one resource named {name}, found {[s.name for s in found]}"
    return found[0]


def set_props(subjects: list[Subject], name: str, **changes: Any) -> list[Subject]:
    target = named(subjects, name)
    props = dict(target.props)
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    target.props = props
    return subjects


def drop(subjects: list[Subject], name: str) -> list[Subject]:
    named(subjects, name)
    return [s for s in subjects if s.name != name]


def consul_release(subjects: list[Subject]) -> Subject:
    return named(subjects, "secure-mesh-consul-release")


def set_value(subjects: list[Subject], dotted: str, value: Any) -> list[Subject]:
    """Change one Helm value of the Consul release (None deletes the key)."""
    release = consul_release(subjects)
    values = copy.deepcopy(release.props["values"])
    node = values
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value
    release.props = {**release.props, "values": values}
    return subjects


def edit_policy(
    subjects: list[Subject], name: str, add: dict[str, list[str]] | None = None, remove: tuple[str, ...] = ()
) -> list[Subject]:
    """Add or remove paths in a declared Vault policy's JSON document."""
    target = named(subjects, name)
    document = json.loads(target.props["policy"])
    for path in remove:
        document["path"].pop(path)
    for path, capabilities in (add or {}).items():
        document["path"][path] = {"capabilities": capabilities}
    target.props = {**target.props, "policy": json.dumps(document)}
    return subjects


def add(subjects: list[Subject], type_token: str, name: str, props: dict[str, Any], **extra: Any) -> list[Subject]:
    return [*subjects, subject(type_token, name, props, **extra)]


def without_dependencies(subjects: list[Subject], name: str) -> list[Subject]:
    named(subjects, name).property_dependencies = {}
    return subjects


def without_all_dependencies(subjects: list[Subject], name: str) -> list[Subject]:
    named(subjects, name).dependencies = []
    return subjects


def protect_off(subjects: list[Subject], name: str) -> list[Subject]:
    named(subjects, name).protect = False
    return subjects


POLICY = "secure-mesh-identities-{}-policy"
ROLE = "secure-mesh-identities-{}-role"
CONNECTION_CONFIG = "consul/database/config/orders-orders"


def connection_writer(
    subjects: list[Subject], capabilities: list[str], allowed: Any = None, path: str = CONNECTION_CONFIG
) -> list[Subject]:
    """A database connection in the stack and the connect injector's policy granting a write on its config."""
    subjects = add(
        subjects, t.DB_CONNECTION, "orders-connection", {"backend": "consul/database", "name": "orders-orders"}
    )
    target = named(subjects, POLICY.format("connect-injector"))
    document = json.loads(target.props["policy"])
    rule: dict[str, Any] = {"capabilities": capabilities}
    if allowed is not None:
        rule["allowed_parameters"] = allowed
    document["path"][path] = rule
    target.props = {**target.props, "policy": json.dumps(document)}
    return subjects


def csi_synced_listener(subjects: list[Subject]) -> list[Subject]:
    """A SecretProviderClass that syncs the Gateway listener's Secret (the CSI delivery: the leaf alone)."""
    spc = {
        "metadata": {"name": "api-gateway-vault-tls", "namespace": "consul"},
        "spec": {
            "provider": "vault",
            "secretObjects": [{"secretName": "api-gateway-tls", "type": "kubernetes.io/tls"}],
        },
    }
    return add(subjects, t.SECRET_PROVIDER_CLASS, "gateway-spc", spc)


@dataclass
class StackCase:
    policy: str
    id: str
    weaken: Callable[[list[Subject]], list[Subject]]
    expect: str
    """A fragment of at least one message."""
    at: str
    """The resource the finding must point at (by URN)."""
    stack: str = "dev"
    config: dict[str, Any] = field(default_factory=dict)


def peering_token_config_map(subjects: list[Subject]) -> list[Subject]:
    """The acceptor's stack with the token pasted into a ConfigMap (as a careless copy to the dialer would)."""
    from tests.mocks.consul import peering_token_value

    return add(subjects, t.CONFIG_MAP, "peering-handoff", {"data": {"token": peering_token_value("west")}})


def _set_secret_outputs(subjects: list[Subject], name: str, outputs: tuple[str, ...]) -> list[Subject]:
    named(subjects, name).additional_secret_outputs = outputs
    return subjects


def set_spec(subjects: list[Subject], name: str, spec: dict[str, Any]) -> list[Subject]:
    return set_props(subjects, name, spec=spec)


def _jwt_provider_and_intentions(subjects: list[Subject], ordered: bool) -> list[Subject]:
    """The dev stack plus a JWT provider and an intentions resource whose permission requires its tokens."""
    provider = subject(t.CRD_JWT_PROVIDER, "idp-jwt-provider", {"metadata": {"name": "idp"}, "spec": {}})
    spec = {
        "destination": {"name": "api"},
        "sources": [
            {
                "name": "web",
                "permissions": [
                    {
                        "action": "allow",
                        "http": {"pathPrefix": "/"},
                        "jwt": {"providers": [{"name": "idp", "verifyClaims": [{"path": ["a"], "value": "b"}]}]},
                    }
                ],
            }
        ],
    }
    intentions = subject(
        t.CRD_SERVICE_INTENTIONS, "api-jwt-intentions", {"spec": spec}, dependencies=[provider.urn] if ordered else []
    )
    return [*subjects, provider, intentions]


def _oidc_day_long_role(subjects: list[Subject]) -> list[Subject]:
    """The dev stack plus an OIDC key and a role issuing day-long tokens, not ordered after its key."""
    key = subject(t.OIDC_KEY, "web-oidc-key", {"name": "k", "verificationTtl": 86400, "allowedClientIds": ["aud"]})
    role = subject(t.OIDC_ROLE, "web-oidc-role", {"name": "r", "key": "k", "ttl": 86400, "clientId": "aud"})
    return [*subjects, key, role]


CASES = [
    StackCase(
        "topo-peering-token-secret",
        "token-output-in-plain-text",
        lambda s: _set_secret_outputs(s, "secure-mesh-peering-west-token", ()),
        "stored and shown in plain text",
        "secure-mesh-peering-west-token",
        stack="peer-east",
    ),
    StackCase(
        "topo-peering-token-secret",
        "token-in-a-config-map",
        peering_token_config_map,
        "holds a peering token",
        "peering-handoff",
        stack="peer-east",
    ),
    StackCase(
        "topo-mesh-gateways",
        "mesh-entry-without-gateway-peering",
        lambda s: set_spec(s, "secure-mesh-intentions-mesh", {"transparentProxy": {"meshDestinationsOnly": True}}),
        "bypasses the mesh gateways",
        "secure-mesh-intentions-mesh",
        stack="peer-west",
    ),
    StackCase(
        "topo-mesh-gateways",
        "proxy-defaults-mode-none",
        lambda s: set_spec(s, "secure-mesh-intentions-proxy-defaults", {"meshGateway": {"mode": "none"}}),
        "do not route to peers",
        "secure-mesh-intentions-proxy-defaults",
        stack="peer-west",
    ),
    StackCase(
        "topo-mesh-gateways",
        "no-mesh-gateways",
        lambda s: set_value(s, "meshGateway.enabled", False),
        "no mesh gateways",
        "secure-mesh-consul-release",
        stack="peer-west",
    ),
    StackCase(
        "topo-mesh-gateways",
        "one-gateway-in-prod",
        lambda s: set_value(s, "meshGateway.replicas", 1),
        "one gateway for every peer",
        "secure-mesh-consul-release",
        stack="peer-west",
        config={"environment": "prod"},
    ),
    StackCase(
        "topo-mesh-gateways",
        "peering-before-the-mesh-entry",
        lambda s: without_all_dependencies(s, "secure-mesh-peering-east"),
        "before the mesh entry exists",
        "secure-mesh-peering-east",
        stack="peer-west",
    ),
    StackCase(
        "topo-no-plaintext-replication-token",
        "replication-token-in-a-config-map",
        lambda s: add(
            s, t.CONFIG_MAP, "acl-tokens", {"data": {"replication_token": "5e2a4a5c-1d2e-4f3a-9b8c-7d6e5f4a3b2c"}}
        ),
        "replication token in plain text",
        "acl-tokens",
    ),
    StackCase(
        "db-root-rotation",
        "connection-never-rotated",
        lambda s: add(s, t.DB_CONNECTION, "orders-db", {"backend": "consul/database", "name": "orders-orders"}),
        "Vault never rotates this connection's root password",
        "orders-db",
    ),
    StackCase(
        "pki-root-offline-stack",
        "role-on-root",
        lambda s: add(s, t.PKI_ROLE, "leaf-role", {"backend": "consul/pki_root", "name": "leaf"}),
        "root CA's mount",
        "leaf-role",
    ),
    StackCase(
        "pki-root-offline-stack",
        "chart-uses-root",
        lambda s: set_value(s, "server.serverCert.secretName", "consul/pki_root/issue/consul-server"),
        "uses the root CA's mount",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "pki-one-purpose",
        "role-on-root",
        lambda s: add(s, t.PKI_ROLE, "leaf-role", {"backend": "consul/pki_root", "name": "leaf"}),
        "straight from the root",
        "leaf-role",
    ),
    StackCase(
        "pki-one-purpose",
        "root-and-intermediate",
        lambda s: add(s, t.PKI_INT_REQUEST, "extra-csr", {"backend": "consul/pki_root", "type": "internal"}),
        "both a root and an intermediate",
        "extra-csr",
    ),
    StackCase(
        "pki-one-purpose",
        "mesh-root-is-server-mount",
        lambda s: set_value(s, "global.secretsBackend.vault.connectCA.rootPKIPath", "consul/server/pki_int2"),
        "also serves",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "pki-name-constraints-chain",
        "gateway-level-admits-ip-sans",
        lambda s: set_props(s, "secure-mesh-pki-gateway-l1-signed", excludedIpRanges=[]),
        "does not exclude every IP address",
        "secure-mesh-pki-gateway-l1-signed",
    ),
    StackCase(
        "pki-role-hygiene-chain",
        "gateway-role-beyond-its-chain",
        lambda s: set_props(s, "secure-mesh-pki-gateway-role", allowedDomains=["apps.secure-mesh.test", "evil.test"]),
        "outside the name constraints",
        "secure-mesh-pki-gateway-role",
    ),
    StackCase(
        "pki-ttl-cascade",
        "intermediate-outlives-root",
        lambda s: set_props(s, "secure-mesh-pki-server-l1-signed", ttl="90000h"),
        "longer than its signer",
        "secure-mesh-pki-server-l1-signed",
    ),
    StackCase(
        "pki-ttl-cascade",
        "level2-equals-level1",
        lambda s: set_props(s, "secure-mesh-pki-server-l2-signed", ttl="43800h"),
        "as long as or longer",
        "secure-mesh-pki-server-l2-signed",
    ),
    StackCase(
        "pki-ttl-cascade",
        "sign-ttl-unset",
        lambda s: set_props(s, "secure-mesh-pki-server-l2-signed", ttl=None),
        "not set",
        "secure-mesh-pki-server-l2-signed",
    ),
    StackCase(
        "pki-ttl-cascade",
        "leaf-over-max",
        lambda s: set_props(s, "secure-mesh-pki-gateway-role", maxTtl="2160h"),
        "maximum leaf TTL",
        "secure-mesh-pki-gateway-role",
    ),
    StackCase(
        "pki-ttl-cascade",
        "leaf-over-configured-max",
        lambda s: s,
        "maximum leaf TTL",
        "secure-mesh-pki-gateway-role",
        config={"maxLeafTtl": "168h"},
    ),
    StackCase(
        "pki-ttl-cascade",
        "consul-intermediate-outlives-root-path",
        lambda s: set_value(
            s,
            "global.secretsBackend.vault.connectCA.additionalConfig",
            json.dumps({"connect": [{"ca_config": [{"intermediate_cert_ttl": "43800h"}]}]}),
        ),
        "Consul's intermediate",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "pki-mount-ttl-stack",
        "root-mount-ceiling-too-low",
        lambda s: set_props(s, "secure-mesh-pki-root-mount", maxLeaseTtlSeconds=31536000.0),
        "truncate",
        "secure-mesh-pki-root-mount",
    ),
    StackCase(
        "pki-mount-ttl-stack",
        "ceiling-unset",
        lambda s: set_props(s, "secure-mesh-pki-connect-l1-mount", maxLeaseTtlSeconds=None),
        "768h",
        "secure-mesh-pki-connect-l1-mount",
    ),
    StackCase(
        "pki-not-after",
        "intermediate-permit",
        lambda s: set_props(s, "secure-mesh-pki-server-l2-issuer", leafNotAfterBehavior="permit"),
        "outlive",
        "secure-mesh-pki-server-l2-issuer",
    ),
    StackCase(
        "pki-keys-stack",
        "mixed-key-types",
        lambda s: set_props(s, "secure-mesh-pki-connect-l2-csr", keyType="rsa", keyBits=2048.0),
        "differs",
        "secure-mesh-pki-connect-l2-csr",
    ),
    StackCase(
        "pki-role-hygiene-stack",
        "server-shape-elsewhere",
        lambda s: add(
            s,
            t.PKI_ROLE,
            "copycat-role",
            {
                "backend": "consul/gateway/pki_int1",
                "name": "copycat",
                "allowedDomains": [
                    "dc1.consul",
                    "consul-consul-server",
                    "consul-consul-server.consul",
                    "consul-consul-server.consul.svc",
                ],
            },
        ),
        "does not use it",
        "copycat-role",
    ),
    StackCase(
        "pki-urls-stack",
        "urls-missing",
        lambda s: drop(s, "secure-mesh-pki-server-l2-urls"),
        "no URL configuration",
        "secure-mesh-pki-server-l2-mount",
    ),
    StackCase(
        "pki-crl-stack",
        "crl-missing",
        lambda s: drop(s, "secure-mesh-pki-webhook-l1-crl"),
        "no CRL configuration",
        "secure-mesh-pki-webhook-l1-mount",
    ),
    StackCase(
        "pki-tidy-stack",
        "tidy-missing",
        lambda s: drop(s, "secure-mesh-pki-gateway-l1-tidy"),
        "no enabled auto-tidy",
        "secure-mesh-pki-gateway-l1-mount",
    ),
    StackCase(
        "pki-tidy-stack",
        "tidy-in-consul-mount",
        lambda s: add(s, t.PKI_AUTO_TIDY, "consul-tidy", {"backend": "consul/connect/pki_consul_dc1", "enabled": True}),
        "Consul owns",
        "consul-tidy",
    ),
    StackCase(
        "pki-default-issuer",
        "default-missing",
        lambda s: drop(s, "secure-mesh-pki-server-l2-default-issuer"),
        "no explicit default issuer",
        "secure-mesh-pki-server-l2-mount",
    ),
    StackCase(
        "pki-sensitive-paths-stack",
        "whole-pki-mount-glob",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={"consul/webhook/pki_int1/*": ["update"]}),
        "whole PKI mount",
        POLICY.format("connect-injector"),
    ),
    StackCase(
        "pki-sensitive-paths-stack",
        "mesh-exception-on-other-root",
        lambda s: edit_policy(
            s,
            POLICY.format("mesh-ca"),
            add={
                "sys/mounts/consul/server/pki_int2": ["read"],
                "consul/server/pki_int2/root/sign-intermediate": ["update"],
            },
        ),
        "not the chart's connectCA.rootPKIPath",
        POLICY.format("mesh-ca"),
    ),
    StackCase(
        "pol-kv-data-stack",
        "kv-path-without-data",
        lambda s: edit_policy(s, POLICY.format("server"), add={"consul/kv/consul/gossip": ["read"]}),
        "outside data/",
        POLICY.format("server"),
    ),
    StackCase(
        "pol-least-granted",
        "gossip-not-granted",
        lambda s: edit_policy(s, POLICY.format("server"), remove=("consul/kv/data/consul/gossip",)),
        "do not grant ['read'] on consul/kv/data/consul/gossip",
        ROLE.format("server"),
    ),
    StackCase(
        "pol-least-granted",
        "issue-policy-forgotten",
        lambda s: set_props(s, ROLE.format("server"), tokenPolicies=["consul-dc1-server"]),
        "root/sign-intermediate",
        ROLE.format("server"),
    ),
    StackCase(
        "pol-least-granted",
        "webhook-issue-policy-forgotten",
        lambda s: edit_policy(
            s, POLICY.format("connect-injector"), remove=("consul/webhook/pki_int1/issue/connect-injector",)
        ),
        "consul/webhook/pki_int1/issue/connect-injector",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-least-granted",
        "values-name-missing-role",
        lambda s: set_value(s, "global.secretsBackend.vault.manageSystemACLsRole", "consul-acl-init"),
        "no Kubernetes-auth role 'consul-acl-init'",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "pol-least-granted",
        "role-on-other-auth-mount",
        lambda s: set_props(s, ROLE.format("ca-reader"), backend="kubernetes"),
        "found on ['kubernetes']",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "pol-least-purpose",
        "injector-reads-gossip",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={"consul/kv/data/consul/gossip": ["read"]}),
        "may ['read'] consul/kv/data/consul/gossip",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-least-purpose",
        "acl-init-issues-server-certs",
        lambda s: edit_policy(s, POLICY.format("server-acl-init"), add={"consul/server/pki_int2/issue/+": ["update"]}),
        "may ['update'] consul/server/pki_int2/issue/consul-server",
        ROLE.format("server-acl-init"),
    ),
    StackCase(
        "pol-least-purpose",
        "whole-kv-glob",
        lambda s: edit_policy(s, POLICY.format("server"), add={"consul/kv/*": ["read"]}),
        "covers the whole mount(s) ['consul/kv']",
        POLICY.format("server"),
    ),
    StackCase(
        "pol-least-issue",
        "app-issues-gateway-certs",
        lambda s: edit_policy(
            s, "secure-mesh-onboarding-app-api-policy", add={"consul/gateway/pki_int1/issue/api-gateway": ["update"]}
        ),
        "only ['api-gateway'] may use",
        "secure-mesh-onboarding-app-api-role",
    ),
    StackCase(
        "pol-least-sys",
        "tune-kv-mount",
        lambda s: edit_policy(s, POLICY.format("mesh-ca"), add={"sys/mounts/consul/kv/tune": ["update"]}),
        "tunes a mount other than Consul's own mesh intermediate",
        ROLE.format("server"),
    ),
    StackCase(
        "pol-kv-data-stack",
        "glob-reaches-destroy",
        lambda s: edit_policy(
            s, POLICY.format("server-acl-init"), add={"consul/kv/+/consul/bootstrap-token": ["update"]}
        ),
        "destroys KV-v2 versions",
        ROLE.format("server-acl-init"),
    ),
    StackCase(
        "k8s-reviewer-rbac",
        "reviewer-cluster-admin",
        lambda s: set_props(
            s,
            "secure-mesh-identities-vault-clients-auth-delegator",
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        ),
        "broader than system:auth-delegator",
        "secure-mesh-identities-vault-clients-auth-delegator",
        stack="prod",
    ),
    StackCase(
        "kv-no-plaintext-readback",
        "bootstrap-token-read-back",
        lambda s: set_props(s, "secure-mesh-secrets-bootstrap-token", disableRead=False),
        "back into state",
        "secure-mesh-secrets-bootstrap-token",
    ),
    StackCase(
        "kv-cas",
        "pulumi-only-writer",
        lambda s: edit_policy(
            s, POLICY.format("server-acl-init"), add={"consul/kv/data/consul/bootstrap-token": ["read"]}
        ),
        "only Pulumi writes",
        "secure-mesh-secrets-kv-config",
    ),
    StackCase(
        "csl-vault-ca-transport",
        "provider-skips-verify",
        lambda s: set_props(s, "vault", skipTlsVerify="1"),
        "does not verify",
        "vault",
        stack="prod",
    ),
    StackCase(
        "k8s-names-stack",
        "wildcard-role-can-issue",
        lambda s: edit_policy(
            s, POLICY.format("ca-reader"), add={"consul/server/pki_int2/issue/consul-server": ["update"]}
        ),
        "to any service account",
        ROLE.format("ca-reader"),
    ),
    StackCase(
        "k8s-names-stack",
        "wildcard-role-undeclared-policy",
        lambda s: set_props(s, ROLE.format("ca-reader"), tokenPolicies=["somewhere-else"]),
        "not declared",
        ROLE.format("ca-reader"),
    ),
    StackCase(
        "kv-v2-stack",
        "gossip-path-without-data",
        lambda s: set_value(s, "global.gossipEncryption.secretName", "consul/kv/consul/gossip"),
        "missing /data/",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "kv-v2-stack",
        "kv-mount-v1",
        lambda s: set_props(s, "secure-mesh-secrets-kv", options=None),
        "not inside a declared KV-v2 mount",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "kv-v2-stack",
        "secret-undeclared",
        lambda s: drop(s, "secure-mesh-secrets-bootstrap-token"),
        "no vault.kv.SecretV2",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "kv-gossip-format",
        "short-key",
        lambda s: set_props(s, "secure-mesh-secrets-gossip-key", length=16.0),
        "computed from secure-mesh-secrets-gossip-key",
        "secure-mesh-secrets-gossip",
    ),
    StackCase(
        "kv-gossip-format",
        "no-random-source",
        lambda s: without_dependencies(s, "secure-mesh-secrets-gossip"),
        "no random source",
        "secure-mesh-secrets-gossip",
    ),
    StackCase(
        "kv-soft-delete-protect",
        "prod-kv-mount-unprotected",
        lambda s: protect_off(s, "secure-mesh-secrets-kv"),
        "not protected",
        "secure-mesh-secrets-kv",
        stack="prod",
    ),
    StackCase(
        "kv-soft-delete-protect",
        "prod-ca-unprotected",
        lambda s: protect_off(s, "secure-mesh-pki-server-l2-set-signed"),
        "not protected",
        "secure-mesh-pki-server-l2-set-signed",
        stack="prod",
    ),
    StackCase(
        "kv-soft-delete-protect",
        "dev-with-always",
        lambda s: s,
        "not protected",
        "secure-mesh-pki-root-mount",
        config={"requireProtect": "always"},
    ),
    StackCase(
        "kv-soft-delete-protect",
        "dev-declared-prod-by-config",
        lambda s: s,
        "not protected",
        "secure-mesh-secrets-kv",
        config={"environment": "prod"},
    ),
    StackCase(
        "vlt-audit-stack",
        "prod-without-audit-device",
        lambda s: drop(s, "secure-mesh-audit-device"),
        "enables no audit device",
        "secure-mesh-identities-kubernetes-auth",
        stack="prod",
    ),
    StackCase(
        "vlt-audit-stack",
        "dev-with-always",
        lambda s: s,
        "enables no audit device",
        "secure-mesh-identities-kubernetes-auth",
        config={"requireAudit": "always"},
    ),
    StackCase(
        "csl-vault-ca-stack",
        "root-path-is-root-ca",
        lambda s: set_value(s, "global.secretsBackend.vault.connectCA.rootPKIPath", "consul/pki_root"),
        "Vault-signed intermediate",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "csl-vault-ca-stack",
        "role-inside-consul-mount",
        lambda s: add(
            s, t.PKI_ROLE, "consul-mount-role", {"backend": "consul/connect/pki_consul_dc1", "name": "leaf-cert"}
        ),
        "whose role, issuers and tidy Consul writes and owns",
        "consul-mount-role",
    ),
    StackCase(
        "csl-vault-ca-stack",
        "auth-path-annotation-missing",
        lambda s: set_value(s, "global.secretsBackend.vault.agentAnnotations", None),
        "no Kubernetes auth method is mounted there",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "int-default-deny",
        "default-deny-missing",
        lambda s: drop(s, "secure-mesh-intentions-default-deny"),
        "no '*' -> '*' deny",
        "secure-mesh-intentions-api-intentions",
    ),
    StackCase(
        "int-default-deny",
        "default-deny-twice",
        lambda s: add(
            s, t.CONSUL_INTENTIONS, "second-deny", {"name": "*", "sources": [{"name": "*", "action": "deny"}]}
        ),
        "2 default-deny",
        "second-deny",
    ),
    StackCase(
        "int-l7-stack",
        "l7-to-tcp-service",
        lambda s: set_props(s, "secure-mesh-intentions-payments-defaults", spec={"protocol": "tcp"}),
        "'tcp' destination",
        "secure-mesh-intentions-payments-intentions",
    ),
    StackCase(
        "int-order",
        "l7-intentions-not-after-defaults",
        lambda s: without_all_dependencies(s, "secure-mesh-intentions-payments-intentions"),
        "not ordered after the service-defaults of 'payments'",
        "secure-mesh-intentions-payments-intentions",
    ),
    StackCase(
        "mesh-entry",
        "no-mesh-entry",
        lambda s: drop(s, "secure-mesh-intentions-mesh"),
        "no mesh entry",
        "secure-mesh-consul-release",
    ),
    StackCase(
        "mesh-entry",
        "second-proxy-defaults-as-config-entry",
        lambda s: add(
            s,
            t.CONSUL_CONFIG_ENTRY,
            "second-proxy-defaults",
            {"kind": "proxy-defaults", "name": "global", "configJson": '{"MutualTLSMode": "strict"}'},
        ),
        "2 proxy-defaults entries",
        "second-proxy-defaults",
    ),
    StackCase(
        "pol-db-address",
        "no-allowed-parameters",
        lambda s: connection_writer(s, ["update"]),
        "allowed_parameters must name 'connection_url' alone",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-db-address",
        "root-password-allowed",
        lambda s: connection_writer(s, ["update"], {"connection_url": [], "password": []}),
        "allowed_parameters must name 'connection_url' alone",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-db-address",
        "any-url",
        lambda s: connection_writer(s, ["update"], {"connection_url": []}),
        "accepts any value",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-db-address",
        "any-database-or-mode",
        lambda s: connection_writer(s, ["update"], {"connection_url": ["postgresql://{{username}}:{{password}}@*"]}),
        "do not pin the database and sslmode",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-db-address",
        "create-too",
        lambda s: connection_writer(s, ["create", "update"], {"connection_url": ["*/orders?sslmode=verify-full"]}),
        "only update on one exact connection path",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pol-db-address",
        "every-connection",
        lambda s: connection_writer(
            s, ["update"], {"connection_url": ["*?sslmode=verify-full"]}, path="consul/database/config/*"
        ),
        "only update on one exact connection path",
        ROLE.format("connect-injector"),
    ),
    StackCase(
        "pki-gw-chain-csi",
        "listener-from-csi-sync",
        csi_synced_listener,
        "the leaf without its issuing chain",
        "secure-mesh-onboarding-gateway",
    ),
    StackCase(
        "int-jwt-order",
        "intentions-naming-a-provider-without-waiting-for-it",
        lambda s: _jwt_provider_and_intentions(s, ordered=False),
        "not ordered after the JWT provider 'idp'",
        "api-jwt-intentions",
    ),
    StackCase(
        "vlt-oidc-role",
        "a-day-long-token-role-written-before-its-key",
        _oidc_day_long_role,
        "tokens live longer than an hour",
        "web-oidc-role",
    ),

]


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", STACK_RULES)
def test_stack_rule_passes_checked_in_stack(policy: str, stack: str) -> None:
    findings = check_stack(policy, from_run(stack_run(stack).resources))
    assert findings == [], f"{policy} on the {stack} stack: {findings}"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.policy}:{c.id}" for c in CASES])
def test_stack_rule_catches_weakened_stack(case: StackCase) -> None:
    subjects = case.weaken(stack_subjects(case.stack))
    findings = check_stack(case.policy, subjects, case.config)
    assert findings, f"{case.policy} missed {case.id}"
    matching = [(m, urn) for m, urn in findings if case.expect in m]
    assert matching, f"{case.policy} ({case.id}) reported {findings}"
    urns = {urn for _, urn in matching}
    assert named(subjects, case.at).urn in urns, f"{case.policy} ({case.id}) blamed {urns}, not {case.at}"
    for message, _ in matching:
        assert "Fix:" in message, message
    messages = as_pinned(case.policy, [m for m, _ in findings])
    assert messages == pinned(CASE_FINDINGS, f"{case.policy}:{case.id}", messages), (
        f"{case.policy}'s findings on {case.id} changed; if meant, UPDATE_SNAPSHOTS=1 pytest tests/policy and review"
    )


def test_every_stack_rule_has_a_violating_case() -> None:
    assert set(STACK_RULES) - {c.policy for c in CASES} == set()


def _token_text(document: dict[str, Any], remainder: int) -> str:
    """base64 of ``document`` without its '=' padding, padded inside the JSON until its length is ``remainder``
    modulo 4 (a token copied without its padding still decodes)."""
    for pad in range(8):
        text = base64.b64encode(json.dumps({**document, "Pad": "x" * pad}).encode()).decode().rstrip("=")
        if len(text) % 4 == remainder:
            return text
    raise AssertionError("no padding gives that remainder")


TOKEN_FIELDS = {"CA": ["pem"], "ServerAddresses": ["10.0.0.1:443"], "ServerName": "server.east.consul", "Note": "."}


@pytest.mark.parametrize("remainder", [0, 2, 3])
def test_a_peering_token_without_its_base64_padding_is_still_one(remainder: int) -> None:
    assert is_peering_token(_token_text(TOKEN_FIELDS, remainder)) is True


def test_a_peering_token_needs_three_of_its_fields_in_a_json_object() -> None:
    """Three of Consul's PeeringToken fields make a token; two, or another object of the same size, do not."""
    assert is_peering_token(_token_text(TOKEN_FIELDS, 0)) is True
    two = {k: v for k, v in TOKEN_FIELDS.items() if k != "CA"}
    assert is_peering_token(_token_text({**two, "Other": ["pem"]}, 0)) is False
    assert is_peering_token(_token_text({"A": ["pem"], "B": ["10.0.0.1:443"], "C": "server.east.consul"}, 0)) is False


@pytest.mark.parametrize("value", [None, 12, ["x"], {"a": 1}, "", "not base64!", "e30"])
def test_only_a_string_of_consuls_peering_token_json_is_a_peering_token(value: Any) -> None:
    """Consul's generate-token answer is base64 of a JSON object with CA, ServerAddresses, ServerName, PeerID…
    (agent/structs/peering.go PeeringToken); anything else, of any type, is not one."""
    assert is_peering_token(value) is False


# ------------------------------------------------------------------- POL-LEAST granted and INT-DEFAULT-DENY edges


def test_a_secondarys_servers_must_be_granted_the_replication_token_they_template() -> None:
    # Chart 2.0.3 templates/server-statefulset.yaml L101-104: without createReplicationToken the servers read the
    # replication token (their agent and replication tokens); a primary that creates it needs no server grant.
    subjects = stack_subjects("fed-secondary")
    assert check_stack("pol-least-granted", subjects) == []
    path = "consul-dc1/kv/data/consul/replication-token"
    found = check_stack("pol-least-granted", edit_policy(subjects, POLICY.format("server"), remove=(path,)))
    assert [(urn.rsplit("::", 1)[-1] if urn else None) for _, urn in found] == [ROLE.format("server")]
    assert f"do not grant ['read'] on {path} (needed for values.global.acls.replicationToken.secretName)" in found[0][0]
    assert check_stack("pol-least-granted", stack_subjects("fed-primary")) == []


def test_the_mesh_ca_provider_is_checked_on_its_own_auth_mount_and_the_agents_on_theirs() -> None:
    # connectCA.authMethodPath and the agents' auth-path annotation are two mounts: each need is looked up on its own.
    from secure_mesh_policy.chart import ConsulValues
    from secure_mesh_policy.stack import needs_of

    props = consul_release(stack_subjects("dev")).props
    needs = needs_of(ConsulValues.of(SimpleNamespace(get=lambda key, default=None: props.get(key, default))))
    connect = [need for need in needs if need[3] == "global.secretsBackend.vault.connectCA"]
    assert len(connect) == 5 and len(needs) > len(connect)
    other = set_value(stack_subjects("dev"), "global.secretsBackend.vault.connectCA.authMethodPath", "kubernetes-other")
    found = check_stack("pol-least-granted", other)
    assert len(found) == len(connect), found
    assert all("no Kubernetes-auth role 'consul-server' on auth mount 'kubernetes-other'" in m for m, _ in found)
    annotations = '"vault.hashicorp.com/auth-path": "auth/kubernetes-other"'
    agents = set_value(stack_subjects("dev"), "global.secretsBackend.vault.agentAnnotations", annotations)
    found = check_stack("pol-least-granted", agents)
    assert len(found) == len(needs) - len(connect), found
    assert all("on auth mount 'kubernetes-other'" in m for m, _ in found)


def test_every_need_is_checked_after_one_without_a_named_role() -> None:
    # No role named for server-acl-init (its bootstrap-token need) must not end the walk: a later need of another
    # identity (the server's issue path) is still reported.
    subjects = set_value(stack_subjects("dev"), "global.secretsBackend.vault.manageSystemACLsRole", None)
    issue = "consul/server/pki_int2/issue/consul-server"
    found = check_stack("pol-least-granted", edit_policy(subjects, POLICY.format("server"), remove=(issue,)))
    messages = [message for message, _ in found]
    assert any("no role is named for the pods that use" in m for m in messages), messages
    assert any(f"do not grant ['update'] on {issue}" in m for m in messages), messages


def test_a_partition_reader_is_needed_only_where_its_role_is_named() -> None:
    from tests.identities.variants import everything_run

    subjects = private_subjects(everything_run().resources)
    assert check_stack("pol-least-granted", subjects) == []
    unnamed = set_value(subjects, "global.secretsBackend.vault.adminPartitionsRole", None)
    assert check_stack("pol-least-granted", unnamed) == [], "no partition-init pods log in without the role key"


def test_a_root_path_without_an_intermediate_path_adds_no_mesh_ca_needs() -> None:
    subjects = set_value(stack_subjects("dev"), "global.secretsBackend.vault.connectCA.intermediatePKIPath", None)
    assert check_stack("pol-least-granted", subjects) == []


def test_the_default_deny_counts_only_a_star_source_on_the_star_destination() -> None:
    subjects = stack_subjects("dev")
    intentions = [s for s in subjects if s.type == t.CRD_SERVICE_INTENTIONS]
    deny = next(s for s in intentions if s.props["spec"]["destination"]["name"] == "*")
    spec = copy.deepcopy(deny.props["spec"])
    spec["sources"] = [{"name": "web", "action": "allow"}, *spec["sources"]]
    deny.props = {**deny.props, "spec": spec}
    assert check_stack("int-default-deny", subjects) == [], "a named source beside the deny is not a second deny"


def test_a_consul_stack_without_any_intention_has_no_default_deny() -> None:
    subjects = [s for s in stack_subjects("dev") if s.type != t.CRD_SERVICE_INTENTIONS]
    found = check_stack("int-default-deny", subjects)
    assert [(message.split(":")[0], urn) for message, urn in found] == [
        ("Release 'secure-mesh-consul-release'", consul_release(subjects).urn)
    ]
    assert "no '*' -> '*' deny intention in the stack" in found[0][0]


def test_intentions_without_a_consul_release_still_need_their_default_deny() -> None:
    subjects = [
        s
        for s in stack_subjects("dev")
        if s.type == t.CRD_SERVICE_INTENTIONS and s.props["spec"]["destination"]["name"] != "*"
    ]
    found = check_stack("int-default-deny", subjects)
    assert len(found) == 1 and "no '*' -> '*' deny intention in the stack" in found[0][0]
    assert check_stack("int-default-deny", []) == []


def test_a_consul_release_without_vault_does_not_end_the_walk_over_releases() -> None:
    # A release that reads nothing from Vault is skipped, and the next release is still checked.
    subjects = edit_policy(stack_subjects("dev"), POLICY.format("server"), remove=("consul/kv/data/consul/gossip",))
    plain = subject(
        "kubernetes:helm.sh/v3:Release",
        "another-consul",
        {"chart": "consul", "name": "another", "namespace": "other", "values": {"global": {"name": "x"}}},
    )
    found = check_stack("pol-least-granted", [plain, *subjects])
    assert [m for m, _ in found if "consul/kv/data/consul/gossip" in m], found


def test_int_order_passes_l7_intentions_whose_destination_has_no_defaults_here() -> None:
    # Nothing to order against (INT-L7 judges their protocol): no finding, and no failure.
    intention = subject(
        t.CRD_SERVICE_INTENTIONS,
        "payments-intentions",
        {
            "apiVersion": "consul.hashicorp.com/v1alpha1",
            "kind": "ServiceIntentions",
            "metadata": {"name": "payments", "namespace": "consul"},
            "spec": {
                "destination": {"name": "payments"},
                "sources": [{"name": "api", "permissions": [{"action": "allow", "http": {"pathPrefix": "/"}}]}],
            },
        },
    )
    assert check_stack("int-order", [intention]) == []
