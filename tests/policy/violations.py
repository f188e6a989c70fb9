"""One violating case per policy of the pack, keyed by policy name: the table behind the "no vacuous rule" test.

``tests/policy/test_no_vacuous_rule.py`` fails when a mandatory rule of ``secure_mesh_policy.RULES`` has no
entry here, or when its entry does not make the rule report the resource the entry blames. A rule that
can never fire protects nothing, so every mandatory rule must be shown firing at least once.

How to add a case for a new rule (one entry, keyed by the rule's policy name):

* a per-resource rule, or any rule a hand-written resource trips::

      "my-rule": shape(t.SOME_TYPE, {"prop": "bad value"}),

  (``stack="prod"`` for production-only rules, ``config={...}`` for a policy-config threshold; the
  finding must name the resource, which is called ``offender`` unless ``name=`` says otherwise);

* a stack rule: a checked-in stack with one change, and the resource the finding must point at::

      "my-rule-stack": weakened(lambda s: set_props(s, "secure-mesh-...", prop="bad"), blame="secure-mesh-..."),

  The same rule must report nothing on the unchanged stack, so the finding is the change's.

The helpers of ``test_resource_rules`` (compliant shapes to start from) and ``test_stack_rules`` (edits of
a checked-in stack) are re-exported below for that purpose. Keep entries in catalogue order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from secure_mesh_policy import types as t

from tests.conftest import stack_run
from tests.policy.support import Subject, from_run, subject
from tests.policy.test_resource_rules import (
    DB_URL,
    LICENSE,
    crd,
    db_connection,
    good_k8s_role,
    good_role,
    policy_doc,
    release,
)
from tests.policy.test_stack_rules import (
    POLICY,
    ROLE,
    add,
    connection_writer,
    drop,
    edit_policy,
    protect_off,
    set_props,
    set_value,
    stack_subjects,
    without_dependencies,
)

__all__ = [
    "LICENSE",
    "POLICY",
    "ROLE",
    "VIOLATIONS",
    "Violating",
    "add",
    "crd",
    "drop",
    "edit_policy",
    "good_k8s_role",
    "good_role",
    "policy_doc",
    "protect_off",
    "release",
    "set_props",
    "set_value",
    "shape",
    "weakened",
    "without_dependencies",
]

Change = Callable[[list[Subject]], list[Subject]]


def _no_dependencies(subjects: list[Subject], name: str) -> list[Subject]:
    """The stack with one resource's dependencies (depends_on and property sources) dropped."""
    for target in subjects:
        if target.name == name:
            target.dependencies = []
    return subjects


def _plain_token_output(subjects: list[Subject], name: str) -> list[Subject]:
    """The stack with a peering token resource whose output is no longer declared secret."""
    for target in subjects:
        if target.name == name:
            target.additional_secret_outputs = ()
    return subjects


@dataclass(frozen=True)
class Violating:
    """A stack (hand-written resources, or a checked-in stack with one change) the rule must report."""

    build: Callable[[], list[Subject]]
    """The resources the rule runs over, exactly as the engine would hand them."""
    blame: str
    """The name of the resource the finding must be about."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The rule's policy config for this case (thresholds, ``environment``)."""
    baseline: Callable[[], list[Subject]] | None = None
    """The unchanged stack, for a weakened one: the rule must report nothing on it."""
    stack: str = "dev"


def shape(
    type_token: str,
    props: Mapping[str, Any],
    *,
    name: str = "offender",
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
) -> Violating:
    """One hand-written resource (a shape a careless change would write) that the rule must report."""
    return Violating(lambda: [subject(type_token, name, dict(props), stack)], name, dict(config or {}), stack=stack)


def weakened(change: Change, *, blame: str, stack: str = "dev", config: Mapping[str, Any] | None = None) -> Violating:
    """A checked-in stack (as the program registers it under mocks) with one change the rule must report."""
    return Violating(
        lambda: change(stack_subjects(stack)),
        blame,
        dict(config or {}),
        baseline=lambda: from_run(stack_run(stack).resources),
        stack=stack,
    )


CONNECT_INJECTOR_POLICY = POLICY.format("connect-injector")

VIOLATIONS: dict[str, Violating] = {
    # ------------------------------------------------------------------------------------------- PKI
    "pki-crl": shape(t.PKI_CRL_CONFIG, {"backend": "b", "expiry": "72h"}),
    "pki-crl-stack": weakened(
        lambda s: drop(s, "secure-mesh-pki-webhook-l1-crl"), blame="secure-mesh-pki-webhook-l1-mount"
    ),
    "pki-default-issuer": weakened(
        lambda s: drop(s, "secure-mesh-pki-server-l2-default-issuer"), blame="secure-mesh-pki-server-l2-mount"
    ),
    "pki-key-internal": shape(t.PKI_INT_REQUEST, {"backend": "b", "type": "exported"}),
    "pki-keys": shape(t.PKI_INT_REQUEST, {"keyType": "rsa", "keyBits": 1024.0}),
    "pki-keys-stack": weakened(
        lambda s: set_props(s, "secure-mesh-pki-connect-l2-csr", keyType="rsa", keyBits=2048.0),
        blame="secure-mesh-pki-connect-l2-csr",
    ),
    "pki-mount-ttl": shape(t.MOUNT, {"path": "p", "type": "pki"}),
    "pki-mount-ttl-stack": weakened(
        lambda s: set_props(s, "secure-mesh-pki-root-mount", maxLeaseTtlSeconds=31536000.0),
        blame="secure-mesh-pki-root-mount",
    ),
    "pki-name-constraints": shape(t.PKI_SIGN_INTERMEDIATE, {}),
    "pki-name-constraints-chain": weakened(
        lambda s: set_props(s, "secure-mesh-pki-gateway-l1-signed", excludedIpRanges=[]),
        blame="secure-mesh-pki-gateway-l1-signed",
    ),
    "pki-name-constraints-level": shape(
        t.PKI_SIGN_INTERMEDIATE, {"backend": "consul/pki_root", "permittedDnsDomains": ["consul"]}
    ),
    "pki-no-lease": shape(t.PKI_ROLE, good_role(generateLease=True)),
    "pki-not-after": weakened(
        lambda s: set_props(s, "secure-mesh-pki-server-l2-issuer", leafNotAfterBehavior="permit"),
        blame="secure-mesh-pki-server-l2-issuer",
    ),
    "pki-one-purpose": weakened(
        lambda s: add(s, t.PKI_ROLE, "leaf-role", {"backend": "consul/pki_root", "name": "leaf"}), blame="leaf-role"
    ),
    "pki-role-hygiene": shape(t.PKI_ROLE, good_role(allowAnyName=True)),
    "pki-role-hygiene-chain": weakened(
        lambda s: set_props(s, "secure-mesh-pki-gateway-role", allowedDomains=["apps.secure-mesh.test", "evil.test"]),
        blame="secure-mesh-pki-gateway-role",
    ),
    "pki-role-hygiene-scope": shape(t.PKI_ROLE, good_role(codeSigningFlag=True)),
    "pki-role-hygiene-stack": weakened(
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
        blame="copycat-role",
    ),
    "pki-root-offline": shape(t.PKI_ROOT_CERT, {"backend": "consul/pki_root", "type": "exported"}),
    "pki-root-offline-stack": weakened(
        lambda s: add(s, t.PKI_ROLE, "leaf-role", {"backend": "consul/pki_root", "name": "leaf"}), blame="leaf-role"
    ),
    "pki-sensitive-paths": shape(t.POLICY, {"name": "p", "policy": policy_doc({"pki/sign-verbatim/x": ["update"]})}),
    "pki-sensitive-paths-stack": weakened(
        lambda s: edit_policy(s, CONNECT_INJECTOR_POLICY, add={"consul/webhook/pki_int1/*": ["update"]}),
        blame=CONNECT_INJECTOR_POLICY,
    ),
    "pki-tidy": shape(
        t.PKI_AUTO_TIDY, {"backend": "b", "tidyCertStore": True, "tidyRevokedCerts": True, "tidyExpiredIssuers": True}
    ),
    "pki-tidy-stack": weakened(
        lambda s: drop(s, "secure-mesh-pki-gateway-l1-tidy"), blame="secure-mesh-pki-gateway-l1-mount"
    ),
    "pki-ttl-cascade": weakened(
        lambda s: set_props(s, "secure-mesh-pki-server-l1-signed", ttl="90000h"),
        blame="secure-mesh-pki-server-l1-signed",
    ),
    "pki-urls": shape(t.PKI_CONFIG_URLS, {"backend": "b", "issuingCertificates": ["https://v/v1/b/ca"]}),
    "pki-urls-stack": weakened(
        lambda s: drop(s, "secure-mesh-pki-server-l2-urls"), blame="secure-mesh-pki-server-l2-mount"
    ),
    "pki-gw-chain": shape(
        "kubernetes:secrets.hashicorp.com/v1beta1:VaultPKISecret",
        {
            "spec": {
                "mount": "consul/gateway/pki_int1",
                "role": "api-gateway",
                "format": "pem_bundle",
                "expiryOffset": "240h",
                "destination": {"name": "t", "create": True, "type": "kubernetes.io/tls"},
            }
        },
    ),
    # -------------------------------------------------------------------------------------- policies
    "pol-db-address": weakened(
        lambda s: connection_writer(s, ["update"], {"connection_url": []}), blame=ROLE.format("connect-injector")
    ),
    "pol-kv-data": shape(t.POLICY, {"name": "p", "policy": policy_doc({"consul/kv/destroy/x": ["update"]})}),
    "pol-kv-data-stack": weakened(
        lambda s: edit_policy(s, POLICY.format("server"), add={"consul/kv/consul/gossip": ["read"]}),
        blame=POLICY.format("server"),
    ),
    "pol-least": shape(t.POLICY, {"name": "p", "policy": policy_doc({"consul/kv/data/x": ["read", "sudo"]})}),
    "pol-least-granted": weakened(
        lambda s: edit_policy(s, POLICY.format("server"), remove=("consul/kv/data/consul/gossip",)),
        blame=ROLE.format("server"),
    ),
    "pol-least-purpose": weakened(
        lambda s: edit_policy(s, CONNECT_INJECTOR_POLICY, add={"consul/kv/data/consul/gossip": ["read"]}),
        blame=ROLE.format("connect-injector"),
    ),
    "pol-least-issue": weakened(
        lambda s: edit_policy(
            s, "secure-mesh-onboarding-app-api-policy", add={"consul/gateway/pki_int1/issue/+": ["update"]}
        ),
        blame="secure-mesh-onboarding-app-api-role",
    ),
    "pol-least-sys": weakened(
        lambda s: edit_policy(s, POLICY.format("mesh-ca"), add={"sys/mounts/+/tune": ["update"]}),
        blame=ROLE.format("server"),
    ),
    "pol-no-root": shape(t.K8S_AUTH_ROLE, good_k8s_role(tokenPolicies=["default", "root"])),
    # ------------------------------------------------------------------------------- Kubernetes auth
    "k8s-alias": shape(t.K8S_AUTH_ROLE, good_k8s_role(aliasNameSource="serviceaccount_name")),
    "k8s-audience": shape(t.K8S_AUTH_ROLE, good_k8s_role(audience=None)),
    "k8s-names": shape(t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNames=["consul-*"])),
    "k8s-names-stack": weakened(
        lambda s: edit_policy(
            s, POLICY.format("ca-reader"), add={"consul/server/pki_int2/issue/consul-server": ["update"]}
        ),
        blame=ROLE.format("ca-reader"),
    ),
    "k8s-namespace": shape(t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNamespaces=["*"])),
    "k8s-reviewer": shape(
        t.K8S_AUTH_CONFIG,
        {"backend": "k", "kubernetesHost": "https://kubernetes.default.svc:443", "tokenReviewerJwt": "eyJ"},
    ),
    "k8s-reviewer-rbac": weakened(
        lambda s: set_props(
            s,
            "secure-mesh-identities-vault-clients-auth-delegator",
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        ),
        blame="secure-mesh-identities-vault-clients-auth-delegator",
        stack="prod",
    ),
    "k8s-ttl": shape(t.K8S_AUTH_ROLE, good_k8s_role(tokenPeriod=3600.0)),
    # ----------------------------------------------------------------------------- Vault tokens and audit
    "vlt-audit": shape(
        "vault:index/audit:Audit", {"path": "secure-mesh-dc1", "type": "file", "options": {"file_path": "discard"}}
    ),
    "vlt-audit-stack": weakened(
        lambda s: drop(s, "secure-mesh-audit-device"), blame="secure-mesh-identities-kubernetes-auth", stack="prod"
    ),
    "vlt-oidc-key": shape(
        t.OIDC_KEY, {"name": "k", "rotationPeriod": 3600, "verificationTtl": 3600, "allowedClientIds": ["*"]}
    ),
    "vlt-oidc-role": Violating(
        lambda: [
            subject(t.OIDC_KEY, "key", {"name": "k", "verificationTtl": 86400, "allowedClientIds": ["aud"]}),
            subject(t.OIDC_ROLE, "offender", {"name": "r", "key": "k", "ttl": 86400, "clientId": "aud"}),
        ],
        "offender",
    ),
    "vlt-no-default-policy": weakened(
        lambda s: set_props(s, "secure-mesh-identities-server-role", tokenNoDefaultPolicy=None),
        blame="secure-mesh-identities-server-role",
    ),
    # -------------------------------------------------------------------------------------------- KV
    "kv-backup": shape(
        t.HELM_RELEASE, release(server__snapshotAgent=None, global__enterpriseLicense=LICENSE), stack="prod"
    ),
    "kv-backup-oss": shape(t.HELM_RELEASE, release(server__snapshotAgent=None), stack="prod"),
    "kv-cas": weakened(
        lambda s: edit_policy(
            s, POLICY.format("server-acl-init"), add={"consul/kv/data/consul/bootstrap-token": ["read"]}
        ),
        blame="secure-mesh-secrets-kv-config",
    ),
    "kv-gossip-format": weakened(
        lambda s: set_props(s, "secure-mesh-secrets-gossip-key", length=16.0), blame="secure-mesh-secrets-gossip"
    ),
    "kv-no-plaintext": shape(
        t.HELM_RELEASE, release(global__acls__bootstrapToken={"value": "0b5f1a7e-3c3d-4a56-9e0f-1d2c3b4a5f6e"})
    ),
    "kv-no-plaintext-audit": shape(
        t.MOUNT, {"path": "consul/kv", "type": "kv", "options": {"version": "2"}, "auditNonHmacResponseKeys": ["data"]}
    ),
    "kv-no-plaintext-readback": weakened(
        lambda s: set_props(s, "secure-mesh-secrets-bootstrap-token", disableRead=None),
        blame="secure-mesh-secrets-bootstrap-token",
    ),
    "kv-soft-delete": shape(t.KV_SECRET_V2, {"mount": "m", "name": "n", "deleteAllVersions": True}),
    "kv-soft-delete-protect": weakened(
        lambda s: protect_off(s, "secure-mesh-secrets-kv"), blame="secure-mesh-secrets-kv", stack="prod"
    ),
    "kv-v2": shape(t.MOUNT, {"path": "consul/kv", "type": "kv", "options": {"version": "1"}}),
    "kv-v2-stack": weakened(
        lambda s: set_value(s, "global.gossipEncryption.secretName", "consul/kv/consul/gossip"),
        blame="secure-mesh-consul-release",
    ),
    "kv-versions": shape(t.KV_BACKEND_V2, {"mount": "consul/kv", "maxVersions": 1.0}),
    # ------------------------------------------------------------------------------------- databases
    "db-root-rotation": shape(t.DB_CONNECTION, {"backend": "consul/database", "name": "orders-orders"}),
    "db-tls": shape(t.DB_CONNECTION, db_connection(url=DB_URL.replace("verify-full", "require")), stack="prod"),
    # ---------------------------------------------------------------------------------------- Consul
    "csl-ca-ttl": shape(
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"connect": {"ca_config": {"leaf_cert_ttl": "30m"}}})),
    ),
    "csl-acl": shape(t.HELM_RELEASE, release(global__acls__manageSystemACLs=None)),
    "csl-binding": shape(t.HELM_RELEASE, release(connectInject={"aclBindingRuleSelector": ""})),
    "csl-bootstrap-token": shape(t.HELM_RELEASE, release(global__acls__bootstrapToken=None)),
    "csl-gossip": shape(t.HELM_RELEASE, release(global__gossipEncryption=None)),
    "csl-no-scripts": shape(t.HELM_RELEASE, release(client__extraConfig=json.dumps({"enable_script_checks": True}))),
    "csl-chart-pin": shape(t.HELM_RELEASE, {**release(), "version": "^2.0"}),
    "img-digest": shape(t.HELM_RELEASE, release(), stack="prod"),
    "csl-expose": shape(t.HELM_RELEASE, release(ui__service__type="LoadBalancer")),
    "csl-extra-config": shape(t.HELM_RELEASE, release(server__extraConfig=json.dumps({"ports": {"http": 8500}}))),
    "csl-quorum": shape(t.HELM_RELEASE, release(server__replicas=4.0), stack="prod"),
    "csl-tls": shape(t.HELM_RELEASE, release(global__tls__enabled=False)),
    "csl-vault-ca": shape(t.HELM_RELEASE, release(global__secretsBackend__vault__enabled=None)),
    "csl-vault-ca-transport": weakened(
        lambda s: set_props(s, "vault", skipTlsVerify="true"), blame="vault", stack="prod"
    ),
    "csl-vault-ca-stack": weakened(
        lambda s: set_value(s, "global.secretsBackend.vault.connectCA.rootPKIPath", "consul/pki_root"),
        blame="secure-mesh-consul-release",
    ),
    # ------------------------------------------------------------------------------------ intentions
    "int-default-deny": weakened(
        lambda s: drop(s, "secure-mesh-intentions-default-deny"), blame="secure-mesh-intentions-api-intentions"
    ),
    "int-l7": shape(t.CRD_SERVICE_INTENTIONS, crd("payments", [{"name": "api"}])),
    "int-l7-stack": weakened(
        lambda s: set_props(s, "secure-mesh-intentions-payments-defaults", spec={"protocol": "tcp"}),
        blame="secure-mesh-intentions-payments-intentions",
    ),
    "int-order": weakened(
        lambda s: _no_dependencies(s, "secure-mesh-intentions-payments-intentions"),
        blame="secure-mesh-intentions-payments-intentions",
    ),
    "int-no-wildcard-allow": shape(t.CRD_SERVICE_INTENTIONS, crd("api", [{"name": "*", "action": "allow"}])),
    # A JWT provider whose key set any server answering for its host could forge, a permission taking any token of
    # its provider, an intentions entry written before the provider it names (JWT-authorized intentions).
    "int-jwt-provider": shape(
        t.CRD_JWT_PROVIDER,
        {
            "spec": {
                "issuer": "https://idp.example.com/",
                "audiences": ["mesh"],
                "jsonWebKeySet": {"remote": {"uri": "https://idp.example.com/keys"}},
            }
        },
    ),
    "int-jwt-claims": shape(
        t.CRD_SERVICE_INTENTIONS,
        {
            "spec": {
                "destination": {"name": "api"},
                "sources": [
                    {
                        "name": "web",
                        "permissions": [
                            {"action": "allow", "http": {"pathPrefix": "/"}, "jwt": {"providers": [{"name": "idp"}]}}
                        ],
                    }
                ],
            }
        },
    ),
    "int-jwt-order": Violating(
        lambda: [
            subject(
                t.CRD_JWT_PROVIDER, "idp", {"metadata": {"name": "idp"}, "spec": {"issuer": "i", "audiences": ["a"]}}
            ),
            subject(
                t.CRD_SERVICE_INTENTIONS,
                "offender",
                {
                    "spec": {
                        "destination": {"name": "api"},
                        "jwt": {"providers": [{"name": "idp", "verifyClaims": [{"path": ["a"], "value": "b"}]}]},
                        "sources": [{"name": "web", "action": "allow"}],
                    }
                },
            ),
        ],
        "offender",
    ),
    # ------------------------------------------------------------------------------------ mesh
    "mesh-destinations": shape(t.CRD_MESH, {"spec": {"transparentProxy": {"meshDestinationsOnly": False}}}),
    "mesh-entry": weakened(lambda s: drop(s, "secure-mesh-intentions-mesh"), blame="secure-mesh-consul-release"),
    "mesh-gateway-routes": shape(
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        {"spec": {"listeners": [{"name": "https", "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
    ),
    "mesh-mtls-strict": shape(
        t.CONSUL_CONFIG_ENTRY,
        {"kind": "service-defaults", "name": "web", "configJson": json.dumps({"MutualTLSMode": "permissive"})},
    ),
    "mesh-tproxy": shape(
        "kubernetes:core/v1:Pod",
        {"metadata": {"annotations": {"consul.hashicorp.com/transparent-proxy-exclude-inbound-ports": "8080"}}},
    ),
    "mesh-tls-version": shape(t.CRD_MESH, {"spec": {"tls": {"incoming": {"tlsMinVersion": "TLSv1_1"}}}}),
    # ------------------------------------------------------------------------------------ multi-cluster
    "topo-peering-token-secret": weakened(
        lambda s: _plain_token_output(s, "secure-mesh-peering-west-token"),
        blame="secure-mesh-peering-west-token",
        stack="peer-east",
    ),
    "topo-mesh-gateways": weakened(
        lambda s: set_props(
            s, "secure-mesh-intentions-mesh", spec={"transparentProxy": {"meshDestinationsOnly": True}}
        ),
        blame="secure-mesh-intentions-mesh",
        stack="peer-west",
    ),
    "topo-unique-paths": shape(
        t.HELM_RELEASE,
        release(
            global__peering__enabled=True,
            global__secretsBackend__vault__connectCA__authMethodPath="kubernetes",
            meshGateway__enabled=True,
        ),
    ),
    "topo-no-plaintext-replication-token": shape(
        t.CONFIG_MAP, {"data": {"replicationToken": "5e2a4a5c-1d2e-4f3a-9b8c-7d6e5f4a3b2c"}}
    ),
}
"""Policy name → a case the rule must report. Mandatory rules must have one; advisory rules may."""
