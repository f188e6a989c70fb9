"""Every resource rule, called through its policy's ``validate``: compliant cases pass, violating cases are caught.

Each case is (policy, resource type, props, expected fragment of the message or None for compliant).
Where Vault's default is insecure, both the "unset" and the "explicitly insecure" form are cases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from secure_mesh_policy import types as t

from tests.policy.support import CASE_FINDINGS, RULES, as_pinned, check, pinned

SERVER_DOMAINS = [
    "dc1.consul",
    "consul-consul-server",
    "consul-consul-server.consul",
    "consul-consul-server.consul.svc",
]


def policy_doc(paths: dict[str, list[str]]) -> str:
    return json.dumps({"path": {p: {"capabilities": c} for p, c in paths.items()}})


TIDY = {
    "backend": "b",
    "enabled": True,
    "tidyCertStore": True,
    "tidyRevokedCerts": True,
    "tidyExpiredIssuers": True,
    "intervalDuration": "12h",
}
"""A compliant auto-tidy configuration."""


def good_role(**over: Any) -> dict[str, Any]:
    props = {
        "backend": "consul/gateway/pki_int1",
        "name": "api-gateway",
        "allowedDomains": ["apps.example.com"],
        "allowSubdomains": True,
        "allowLocalhost": False,
        "allowIpSans": False,
        "allowWildcardCertificates": False,
        "clientFlag": False,
        "serverFlag": True,
        "keyType": "ec",
        "keyBits": 256.0,
        "ttl": "720h",
        "maxTtl": "720h",
        "generateLease": False,
    }
    props.update(over)
    return {k: v for k, v in props.items() if v is not None}


def good_k8s_role(**over: Any) -> dict[str, Any]:
    props = {
        "backend": "kubernetes-dc1",
        "roleName": "consul-server",
        "boundServiceAccountNames": ["consul-consul-server"],
        "boundServiceAccountNamespaces": ["consul"],
        "tokenPolicies": ["consul-dc1-server"],
        "audience": "vault",
        "aliasNameSource": "serviceaccount_uid",
        "tokenTtl": 3600.0,
        "tokenMaxTtl": 14400.0,
    }
    props.update(over)
    return {k: v for k, v in props.items() if v is not None}


def consul_values(**over: Any) -> dict[str, Any]:
    """Compliant consul chart values; ``over`` replaces dotted keys (None deletes)."""
    values: dict[str, Any] = {
        "global": {
            "tls": {
                "enabled": True,
                "enableAutoEncrypt": True,
                "verify": True,
                "httpsOnly": True,
                "caCert": {"secretName": "consul/server/pki_int2/cert/ca"},
            },
            "acls": {
                "manageSystemACLs": True,
                "bootstrapToken": {"secretName": "consul/kv/data/consul/bootstrap-token", "secretKey": "token"},
            },
            "gossipEncryption": {"secretName": "consul/kv/data/consul/gossip", "secretKey": "key"},
            "secretsBackend": {
                "vault": {
                    "enabled": True,
                    "consulServerRole": "consul-server",
                    "ca": {"secretName": "consul-vault-ca", "secretKey": "tls.crt"},
                    "connectCA": {
                        "address": "https://vault.example.com:8200",
                        "rootPKIPath": "consul/connect/pki_int2",
                        "intermediatePKIPath": "consul/connect/pki_consul_dc1",
                        "additionalConfig": json.dumps({"connect": [{"ca_config": [{"leaf_cert_ttl": "72h"}]}]}),
                    },
                }
            },
        },
        "server": {
            "replicas": 3.0,
            "serverCert": {"secretName": "consul/server/pki_int2/issue/consul-server"},
            "extraConfig": json.dumps({"log_level": "INFO"}),
            "snapshotAgent": {
                "enabled": True,
                "configSecret": {"secretName": "consul/kv/data/consul/snap", "secretKey": "config"},
            },
        },
    }
    for dotted, value in over.items():
        node = values
        keys = dotted.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return values


LICENSE = {"secretName": "consul/kv/data/consul/license", "secretKey": "license", "enableLicenseAutoload": True}


def release(**over: Any) -> dict[str, Any]:
    return {
        "chart": "consul",
        "version": "2.0.3",
        "name": "consul",
        "namespace": "consul",
        "values": consul_values(**over),
    }


def crd(destination: str, sources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": "ServiceIntentions",
        "metadata": {"name": destination},
        "spec": {"destination": {"name": destination}, "sources": sources},
    }


PEERED: dict[str, Any] = {
    "global__datacenter": "east",
    "global__peering__enabled": True,
    "global__secretsBackend__vault__connectCA__authMethodPath": "kubernetes-east",
    "global__secretsBackend__vault__agentAnnotations": '"vault.hashicorp.com/auth-path": "auth/kubernetes-east"',
    "global__secretsBackend__vault__connectCA__intermediatePKIPath": "consul-east/connect/pki_consul_east",
    "meshGateway__enabled": True,
}
"""A peering member's values: its own auth mount (in both places) and its own intermediate path."""


@dataclass
class Case:
    policy: str
    type: str
    props: dict[str, Any]
    expect: str | None
    """A fragment every reported message must contain (None: compliant, nothing reported)."""
    id: str
    stack: str = "dev"
    config: dict[str, Any] = field(default_factory=dict)


def ok(policy: str, type_: str, props: dict[str, Any], id: str, **kw: Any) -> Case:
    return Case(policy, type_, props, None, id, **kw)


def bad(policy: str, type_: str, props: dict[str, Any], expect: str, id: str, **kw: Any) -> Case:
    return Case(policy, type_, props, expect, id, **kw)


PKI_MOUNT = {"path": "consul/server/pki_int1", "type": "pki", "maxLeaseTtlSeconds": 157680000.0}
DB_URL = "postgresql://{{username}}:{{password}}@orders-db.internal:5432/orders?sslmode=verify-full"
DB_CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def db_connection(url: str = DB_URL, **postgresql: Any) -> dict[str, Any]:
    """A database connection as the program registers it (root password elided), with postgresql fields changed."""
    block = {"connectionUrl": url, "username": "vault-root", "passwordWoVersion": 1.0, "tlsCa": DB_CA, **postgresql}
    return {
        "backend": "consul/database",
        "name": "orders-orders",
        "pluginName": "postgresql-database-plugin",
        "postgresql": {k: v for k, v in block.items() if v is not None},
    }


DB_CONNECTION = db_connection()
VAULT_PKI_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultPKISecret"


def vso_pki_secret(**spec: Any) -> dict[str, Any]:
    """A VaultPKISecret as the program declares it; ``spec`` overrides fields (None removes one)."""
    base: dict[str, Any] = {
        "vaultAuthRef": "api-gateway-vault",
        "mount": "consul/gateway/pki_int1",
        "role": "api-gateway",
        "format": "pem",
        "expiryOffset": "240h",
        "destination": {"name": "api-gateway-tls", "create": True, "overwrite": True, "type": "kubernetes.io/tls"},
    }
    merged = {k: v for k, v in {**base, **spec}.items() if v is not None}
    return {"apiVersion": "secrets.hashicorp.com/v1beta1", "kind": "VaultPKISecret", "spec": merged}


JWT_PROVIDER_SPEC = {
    "issuer": "https://idp.example.com/",
    "audiences": ["mesh"],
    "jsonWebKeySet": {
        "remote": {
            "uri": "https://idp.example.com/keys",
            "jwksCluster": {"discoveryType": "STRICT_DNS", "tlsCertificates": {"trustedCA": {"inlineString": DB_CA}}},
        }
    },
}
"""A JWT provider whose remote key set is fetched over https and verified with a CA."""
JWT_PERMISSION = {
    "action": "allow",
    "http": {"pathPrefix": "/"},
    "jwt": {"providers": [{"name": "idp", "verifyClaims": [{"path": ["team"], "value": "pay"}]}]},
}
"""An L7 permission requiring a token of the provider ``idp`` with one claim."""

CASES = [
    # ------------------------------------------------------------------ PKI
    ok("pki-root-offline", t.PKI_ROOT_CERT, {"backend": "consul/pki_root", "type": "internal"}, "dev-internal-root"),
    bad(
        "pki-root-offline",
        t.PKI_ROOT_CERT,
        {"backend": "consul/pki_root", "type": "exported"},
        "stored in state",
        "exported-root",
    ),
    bad(
        "pki-root-offline",
        t.PKI_ROOT_CERT,
        {"backend": "consul/pki_root", "type": "internal"},
        "production stack",
        "root-in-vault-in-prod",
        stack="prod",
    ),
    bad(
        "pki-root-offline",
        t.PKI_ROOT_CERT,
        {"backend": "consul/pki_root", "type": "internal"},
        "production stack",
        "root-in-vault-prod-by-config",
        config={"environment": "prod"},
    ),
    bad(
        "pki-root-offline",
        t.PKI_CONFIG_CA,
        {"backend": "consul/pki", "pemBundle": "-----BEGIN"},
        "private key",
        "imported-bundle",
    ),
    ok("pki-key-internal", t.PKI_INT_REQUEST, {"backend": "b", "type": "internal"}, "internal"),
    ok("pki-key-internal", t.PKI_ROOT_CERT, {"backend": "b", "type": "kms"}, "kms"),
    bad("pki-key-internal", t.PKI_INT_REQUEST, {"backend": "b", "type": "exported"}, "inside Vault", "exported"),
    bad("pki-key-internal", t.PKI_KEY, {"backend": "b", "type": "existing"}, "inside Vault", "existing"),
    bad("pki-key-internal", t.PKI_INT_REQUEST, {"backend": "b"}, "<unset>", "unset"),
    ok("pki-mount-ttl", t.MOUNT, PKI_MOUNT, "mount-set"),
    ok("pki-mount-ttl", t.MOUNT, {"path": "consul/kv", "type": "kv"}, "not-pki"),
    ok("pki-mount-ttl", t.PKI_ROLE, good_role(), "role-set"),
    bad("pki-mount-ttl", t.MOUNT, {"path": "p", "type": "pki"}, "32 days", "mount-unset"),
    bad("pki-mount-ttl", t.PKI_ROLE, good_role(ttl=None), "default TTL", "role-ttl-unset"),
    bad("pki-mount-ttl", t.PKI_ROLE, good_role(maxTtl=None), "max TTL", "role-max-ttl-unset"),
    bad("pki-mount-ttl", t.PKI_ROLE, good_role(ttl="800h"), "longer than maxTtl", "role-ttl-over-max"),
    ok("pki-keys", t.PKI_INT_REQUEST, {"keyType": "ec", "keyBits": 384.0}, "ec-384"),
    ok("pki-keys", t.PKI_ROOT_CERT, {"keyType": "rsa", "keyBits": 4096.0}, "rsa-4096"),
    ok("pki-keys", t.PKI_ROLE, {}, "role-defaults-rsa-2048"),
    bad("pki-keys", t.PKI_INT_REQUEST, {"keyType": "rsa", "keyBits": 1024.0}, "at least 2048", "rsa-1024"),
    bad(
        "pki-keys",
        t.PKI_INT_REQUEST,
        {"keyType": "rsa", "keyBits": 2048.0},
        "at least 3072",
        "rsa-below-config",
        config={"minRsaKeyBits": 3072},
    ),
    bad("pki-keys", t.PKI_INT_REQUEST, {"keyType": "ec", "keyBits": 521.0}, "P-256 or P-384", "ec-521"),
    bad("pki-keys", t.PKI_ROLE, {"keyType": "any"}, "only RSA and EC", "role-any"),
    bad("pki-keys", t.PKI_KEY, {"keyType": "ed25519"}, "only RSA and EC", "ed25519"),
    ok("pki-name-constraints", t.PKI_SIGN_INTERMEDIATE, {"permittedDnsDomains": ["consul"]}, "constrained"),
    bad("pki-name-constraints", t.PKI_SIGN_INTERMEDIATE, {}, "any name", "unconstrained"),
    # More PKI-NAME-CONSTRAINTS and PKI-ROLE-HYGIENE-scope cases: tests/policy/test_pki_rules.py.
    ok("pki-name-constraints-level", t.PKI_SIGN_INTERMEDIATE, {"maxPathLength": 0.0}, "path-length-set"),
    bad("pki-name-constraints-level", t.PKI_SIGN_INTERMEDIATE, {}, "no path length", "path-length-unset"),
    ok(
        "pki-role-hygiene-scope",
        t.PKI_ROLE,
        good_role(useCsrCommonName=False, useCsrSans=False),
        "scoped-role",
    ),
    bad("pki-role-hygiene-scope", t.PKI_ROLE, good_role(), "taken from a CSR", "csr-names-by-default"),
    ok("pki-role-hygiene", t.PKI_ROLE, good_role(), "gateway-role"),
    ok(
        "pki-role-hygiene",
        t.PKI_ROLE,
        good_role(
            allowedDomains=SERVER_DOMAINS,
            allowLocalhost=True,
            allowIpSans=True,
            allowWildcardCertificates=True,
            allowBareDomains=True,
            clientFlag=True,
        ),
        "consul-server-exception",
    ),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(allowAnyName=True), "any name", "allow-any-name"),
    bad(
        "pki-role-hygiene",
        t.PKI_ROLE,
        good_role(allowedDomains=SERVER_DOMAINS, allowAnyName=True),
        "any name",
        "server-role-still-no-any-name",
    ),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(allowGlobDomains=True), "glob", "glob-domains"),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(enforceHostnames=False), "DNS SAN", "no-enforce-hostnames"),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(allowLocalhost=None), "allowLocalhost = <unset>", "localhost-unset"),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(allowLocalhost=True), "allowLocalhost = True", "localhost-true"),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(allowIpSans=None), "allowIpSans = <unset>", "ip-sans-unset"),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(allowIpSans=True), "allowIpSans = True", "ip-sans-true"),
    bad(
        "pki-role-hygiene",
        t.PKI_ROLE,
        good_role(allowWildcardCertificates=None),
        "allowWildcardCertificates",
        "wildcards-unset",
    ),
    bad("pki-role-hygiene", t.PKI_ROLE, good_role(clientFlag=None), "both server and client", "client-flag-unset"),
    bad(
        "pki-role-hygiene",
        t.PKI_ROLE,
        good_role(allowedDomains=[*SERVER_DOMAINS[:3], "other.example.com.evil"], allowLocalhost=True),
        "allowLocalhost",
        "near-miss-server-shape",
    ),
    bad(
        "pki-role-hygiene",
        t.PKI_ROLE,
        good_role(allowedDomains=[*SERVER_DOMAINS, "extra.example.com"], allowIpSans=True),
        "allowIpSans",
        "server-shape-plus-extra",
    ),
    ok("pki-no-lease", t.PKI_ROLE, good_role(generateLease=None), "lease-unset"),
    bad("pki-no-lease", t.PKI_ROLE, good_role(generateLease=True), "lease", "lease-true"),
    ok(
        "pki-urls",
        t.PKI_CONFIG_URLS,
        {"backend": "b", "issuingCertificates": ["https://v/v1/b/ca"], "crlDistributionPoints": ["https://v/v1/b/crl"]},
        "urls",
    ),
    bad(
        "pki-urls",
        t.PKI_CONFIG_URLS,
        {"backend": "b", "issuingCertificates": ["https://v/v1/b/ca"]},
        "crlDistributionPoints",
        "no-crl-url",
    ),
    bad(
        "pki-urls",
        t.PKI_CONFIG_URLS,
        {"backend": "b", "issuingCertificates": [], "crlDistributionPoints": ["x"]},
        "issuingCertificates",
        "empty-issuing",
    ),
    ok("pki-crl", t.PKI_CRL_CONFIG, {"backend": "b", "autoRebuild": True, "enableDelta": True, "expiry": "72h"}, "crl"),
    bad("pki-crl", t.PKI_CRL_CONFIG, {"backend": "b", "expiry": "72h"}, "Vault's default", "crl-defaults"),
    bad(
        "pki-crl",
        t.PKI_CRL_CONFIG,
        {"backend": "b", "autoRebuild": True, "enableDelta": False, "expiry": "72h"},
        "enableDelta",
        "delta-false",
    ),
    bad(
        "pki-crl",
        t.PKI_CRL_CONFIG,
        {"backend": "b", "autoRebuild": True, "enableDelta": True},
        "expiry",
        "expiry-unset",
    ),
    bad(
        "pki-crl",
        t.PKI_CRL_CONFIG,
        {"backend": "b", "autoRebuild": True, "enableDelta": True, "expiry": "72h", "disable": True},
        "not published",
        "disabled",
    ),
    ok(
        "pki-tidy",
        t.PKI_AUTO_TIDY,
        TIDY,
        "tidy",
    ),
    bad(
        "pki-tidy",
        t.PKI_AUTO_TIDY,
        {"backend": "b", "tidyCertStore": True, "tidyRevokedCerts": True, "tidyExpiredIssuers": True},
        "enabled",
        "tidy-unset-enabled",
    ),
    bad(
        "pki-tidy",
        t.PKI_AUTO_TIDY,
        {
            "backend": "b",
            "enabled": True,
            "tidyCertStore": True,
            "tidyRevokedCerts": True,
            "tidyExpiredIssuers": True,
            "intervalDuration": "168h",
        },
        "48h",
        "tidy-weekly",
    ),
    ok(
        "pki-sensitive-paths",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/server/pki_int2/issue/consul-server": ["create", "update"]})},
        "issue-only",
    ),
    ok(
        "pki-sensitive-paths",
        t.POLICY,
        {
            "name": "mesh",
            "policy": policy_doc(
                {
                    "sys/mounts/consul/connect/pki_int2": ["read"],
                    "consul/connect/pki_int2/root/sign-intermediate": ["update"],
                }
            ),
        },
        "mesh-ca-exception",
    ),
    ok(
        "pki-sensitive-paths",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"pki/sign-verbatim/x": ["deny"]})},
        "explicit-deny",
    ),
    bad(
        "pki-sensitive-paths",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"pki/sign-verbatim/x": ["update"]})},
        "sign-verbatim",
        "sign-verbatim",
    ),
    bad(
        "pki-sensitive-paths",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"pki/+/generate/internal": ["update"]})},
        "generate",
        "plus-generate",
    ),
    bad(
        "pki-sensitive-paths",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"pki/sign-*": ["update"]})},
        "sign-verbatim",
        "partial-glob",
    ),
    bad(
        "pki-sensitive-paths",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/connect/pki_int2/root/sign-intermediate": ["update"]})},
        "root/sign-intermediate",
        "sign-intermediate-without-mesh-shape",
    ),
    # ------------------------------------------------------------- policies
    ok(
        "pol-least",
        t.POLICY,
        {
            "name": "p",
            "policy": policy_doc(
                {
                    "consul/kv/data/consul/gossip": ["read"],
                    "sys/mounts/consul/connect/pki_int2": ["read"],
                    "sys/mounts/x/tune": ["update"],
                    "auth/token/renew-self": ["update"],
                }
            ),
        },
        "narrow",
    ),
    bad(
        "pol-least",
        t.POLICY,
        {"name": "p", "policy": 'path "secret/*" { capabilities = ["read"] }'},
        "JSON",
        "hcl-unparsable",
    ),
    bad("pol-least", t.POLICY, {"name": "p", "policy": json.dumps({"paths": {}})}, '"path"', "wrong-shape"),
    bad("pol-least", t.POLICY, {"name": "p"}, "empty", "policy-unset"),
    bad(
        "pol-least",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/kv/data/x": ["read", "sudo"]})},
        "sudo",
        "sudo",
    ),
    bad(
        "pol-least",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/kv/data/x": ["reed"]})},
        "unknown",
        "typo-capability",
    ),
    bad("pol-least", t.POLICY, {"name": "p", "policy": policy_doc({"*": ["read"]})}, "spans", "star"),
    bad("pol-least", t.POLICY, {"name": "p", "policy": policy_doc({"consul/*": ["read"]})}, "spans", "top-glob"),
    bad(
        "pol-least",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"sys/policies/acl/x": ["update"]})},
        "sys/",
        "sys-policy",
    ),
    bad(
        "pol-least",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"sys/mounts/x": ["update"]})},
        "sys/",
        "sys-mounts-update",
    ),
    bad(
        "pol-least",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"auth/kubernetes/role/x": ["update"]})},
        "auth",
        "auth-role-write",
    ),
    ok(
        "pol-kv-data",
        t.POLICY,
        {
            "name": "p",
            "policy": policy_doc({"consul/kv/data/consul/gossip": ["read"], "consul/kv/metadata/apps/*": ["list"]}),
        },
        "read",
    ),
    bad(
        "pol-kv-data",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/kv/data/x": ["read", "delete"]})},
        "delete",
        "data-delete",
    ),
    bad(
        "pol-kv-data",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/kv/destroy/x": ["update"]})},
        "destruction",
        "destroy",
    ),
    bad(
        "pol-kv-data",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/kv/delete/x": ["update"]})},
        "soft-delete",
        "soft-delete-endpoint",
    ),
    bad(
        "pol-kv-data",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"consul/kv/metadata/x": ["delete"]})},
        "delete",
        "metadata-delete",
    ),
    ok("pol-no-root", t.K8S_AUTH_ROLE, good_k8s_role(), "own-policy"),
    bad("pol-no-root", t.K8S_AUTH_ROLE, good_k8s_role(tokenPolicies=["default", "root"]), "root", "root-policy"),
    bad("pol-no-root", "vault:index/token:Token", {"policies": ["root"]}, "root", "root-token"),
    # ---------------------------------------------------------- kubernetes auth
    ok("k8s-namespace", t.K8S_AUTH_ROLE, good_k8s_role(), "pinned"),
    bad("k8s-namespace", t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNamespaces=["*"]), "wildcard", "star"),
    bad(
        "k8s-namespace",
        t.K8S_AUTH_ROLE,
        good_k8s_role(boundServiceAccountNamespaces=["consul", "*"]),
        "wildcard",
        "mixed",
    ),
    bad("k8s-namespace", t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNamespaces=["cons*"]), "wildcard", "glob"),
    bad("k8s-namespace", t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNamespaces=None), "empty", "unset"),
    ok("k8s-names", t.K8S_AUTH_ROLE, good_k8s_role(), "named"),
    ok(
        "k8s-names",
        t.K8S_AUTH_ROLE,
        good_k8s_role(boundServiceAccountNames=["*"], tokenPolicies=["ca-read"]),
        "ca-read-shape",
    ),
    bad(
        "k8s-names",
        t.K8S_AUTH_ROLE,
        good_k8s_role(boundServiceAccountNames=["*"], tokenPolicies=["a", "b"]),
        "CA-read shape",
        "star-two-policies",
    ),
    bad(
        "k8s-names",
        t.K8S_AUTH_ROLE,
        good_k8s_role(boundServiceAccountNames=["*"], boundServiceAccountNamespaces=["a", "b"]),
        "CA-read shape",
        "star-two-namespaces",
    ),
    bad("k8s-names", t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNames=["consul-*"]), "CA-read shape", "glob"),
    bad("k8s-names", t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNames=None), "empty", "unset"),
    bad("k8s-names", t.K8S_AUTH_ROLE, good_k8s_role(boundServiceAccountNames=["default"]), "'default'", "default-sa"),
    bad(
        "k8s-names",
        t.K8S_AUTH_ROLE,
        good_k8s_role(boundServiceAccountNames=["web", "default"]),
        "'default'",
        "default-sa-after-named",
    ),
    ok("k8s-audience", t.K8S_AUTH_ROLE, good_k8s_role(), "set"),
    bad("k8s-audience", t.K8S_AUTH_ROLE, good_k8s_role(audience=None), "audience", "unset"),
    bad("k8s-audience", t.K8S_AUTH_ROLE, good_k8s_role(audience="*"), "audience", "star"),
    ok("k8s-alias", t.K8S_AUTH_ROLE, good_k8s_role(), "uid"),
    ok("k8s-alias", t.K8S_AUTH_ROLE, good_k8s_role(aliasNameSource=None), "unset-is-uid"),
    bad("k8s-alias", t.K8S_AUTH_ROLE, good_k8s_role(aliasNameSource="serviceaccount_name"), "re-creation", "by-name"),
    ok("k8s-ttl", t.K8S_AUTH_ROLE, good_k8s_role(), "hour"),
    bad("k8s-ttl", t.K8S_AUTH_ROLE, good_k8s_role(tokenTtl=None), "system default", "ttl-unset"),
    bad("k8s-ttl", t.K8S_AUTH_ROLE, good_k8s_role(tokenTtl=86400.0, tokenMaxTtl=86400.0), "longer than 1h", "ttl-day"),
    ok(
        "k8s-ttl",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=7200.0),
        "ttl-2h-allowed-by-config",
        config={"maxTokenTtlSeconds": 7200},
    ),
    bad("k8s-ttl", t.K8S_AUTH_ROLE, good_k8s_role(tokenMaxTtl=None), "token_max_ttl", "max-unset"),
    bad(
        "k8s-ttl",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=3600.0, tokenMaxTtl=1800.0),
        "longer than tokenMaxTtl",
        "ttl-over-max",
    ),
    bad("k8s-ttl", t.K8S_AUTH_ROLE, good_k8s_role(tokenPeriod=3600.0), "periodic", "periodic"),
    ok(
        "k8s-reviewer",
        t.K8S_AUTH_CONFIG,
        {"backend": "k", "kubernetesHost": "https://kubernetes.default.svc"},
        "in-cluster-local-token",
    ),
    ok(
        "k8s-reviewer",
        t.K8S_AUTH_CONFIG,
        {"backend": "k", "kubernetesHost": "https://k8s.example.com:6443", "tokenReviewerJwt": "eyJ"},
        "external-with-jwt",
    ),
    bad(
        "k8s-reviewer",
        t.K8S_AUTH_CONFIG,
        {"backend": "k", "kubernetesHost": "https://kubernetes.default.svc:443", "tokenReviewerJwt": "eyJ"},
        "long-lived",
        "in-cluster-jwt",
    ),
    bad(
        "k8s-reviewer",
        t.K8S_AUTH_CONFIG,
        {"backend": "k", "kubernetesHost": "https://kubernetes.default.svc", "disableLocalCaJwt": True},
        "local token",
        "local-disabled",
    ),
    # ------------------------------------------------------------- Vault tokens and audit
    ok("vlt-no-default-policy", t.K8S_AUTH_ROLE, good_k8s_role(tokenNoDefaultPolicy=True), "k8s-role"),
    bad("vlt-no-default-policy", t.K8S_AUTH_ROLE, good_k8s_role(), "default policy", "k8s-role-unset"),
    bad(
        "vlt-no-default-policy",
        "vault:appRole/authBackendRole:AuthBackendRole",
        {"backend": "approle", "roleName": "ci", "tokenPolicies": ["ci"], "tokenNoDefaultPolicy": False},
        "default policy",
        "approle-false",
    ),
    ok(
        "vlt-audit",
        "vault:index/audit:Audit",
        {"path": "a", "type": "file", "options": {"file_path": "stdout", "hmac_accessor": "true", "log_raw": "false"}},
        "file-stdout",
    ),
    bad(
        "vlt-audit",
        "vault:index/audit:Audit",
        {"path": "a", "type": "file", "options": {"file_path": "stdout", "log_raw": "true"}},
        "plain text",
        "log-raw",
    ),
    # ------------------------------------------------------------------- KV
    ok("kv-v2", t.MOUNT, {"path": "consul/kv", "type": "kv", "options": {"version": "2"}}, "kv2"),
    ok("kv-v2", t.MOUNT, {"path": "consul/kv", "type": "kv-v2"}, "kv-v2-type"),
    bad("kv-v2", t.MOUNT, {"path": "consul/kv", "type": "kv"}, "version 1", "options-unset"),
    bad("kv-v2", t.MOUNT, {"path": "consul/kv", "type": "kv", "options": {"version": "1"}}, "version 1", "v1"),
    bad("kv-v2", t.KV_SECRET_V1, {"path": "secret/x", "dataJson": "{}"}, "version 1", "v1-secret"),
    bad("kv-v2", t.MOUNT, {"path": "consul/kv", "type": "generic"}, "version 1", "generic-mount"),
    bad(
        "kv-v2",
        t.GENERIC_SECRET,
        {"path": "consul/kv/data/apps/web/x", "dataJson": "{}"},
        "vault.generic.Secret",
        "generic-secret-in-kv2",
    ),
    ok("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv", "maxVersions": 10.0, "deleteVersionAfter": 0.0}, "ten"),
    ok("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv"}, "defaults"),
    bad("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv", "maxVersions": 1.0}, "fewer than 5", "one-version"),
    bad("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv", "deleteVersionAfter": 3600.0}, "deleted", "expiring"),
    bad(
        "kv-versions",
        t.KV_SECRET_V2,
        {"mount": "m", "name": "n", "customMetadata": {"deleteVersionAfter": "1h"}},
        "customMetadata.deleteVersionAfter",
        "secret-expiring-duration-string",
    ),
    bad("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv", "maxVersions": "1"}, "fewer than 5", "one-as-string"),
    bad("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv", "maxVersions": 4.0}, "fewer than 5", "four"),
    ok("kv-versions", t.KV_BACKEND_V2, {"mount": "consul/kv", "maxVersions": 5.0}, "five"),
    bad(
        "kv-versions",
        t.KV_SECRET_V2,
        {"mount": "m", "name": "n", "customMetadata": {"maxVersions": 2.0}},
        "customMetadata.maxVersions",
        "secret-metadata",
    ),
    ok("kv-soft-delete", t.KV_SECRET_V2, {"mount": "m", "name": "n", "deleteAllVersions": False}, "keep"),
    bad(
        "kv-soft-delete",
        t.KV_SECRET_V2,
        {"mount": "m", "name": "n", "deleteAllVersions": True},
        "every version",
        "delete-all",
    ),
    ok("kv-no-plaintext", t.HELM_RELEASE, release(), "paths-only"),
    bad(
        "kv-no-plaintext",
        t.HELM_RELEASE,
        release(global__gossipEncryption={"key": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="}),
        "gossip",
        "gossip-key-inline",
    ),
    bad(
        "kv-no-plaintext",
        t.HELM_RELEASE,
        release(global__acls__bootstrapToken={"value": "0b5f1a7e-3c3d-4a56-9e0f-1d2c3b4a5f6e"}),
        "ACL token",
        "uuid-inline",
    ),
    bad(
        "kv-no-plaintext",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"encrypt": "abc"})),
        "extra config",
        "extra-config-encrypt",
    ),
    bad(
        "kv-no-plaintext",
        t.HELM_RELEASE,
        {"chart": "vault", "values": {"server": {"dev": {"devRootToken": "root"}}}},
        "secret-named",
        "vault-dev-token",
    ),
    bad(
        "kv-no-plaintext",
        t.HELM_RELEASE,
        {"chart": "vault", "values": {"tls": "-----BEGIN EC PRIVATE KEY-----"}},
        "private key",
        "pem-key",
    ),
    ok(
        "kv-no-plaintext",
        t.CONFIG_MAP,
        {"metadata": {"name": "app-config"}, "data": {"LOG_LEVEL": "info", "ca.crt": "-----BEGIN CERTIFICATE-----"}},
        "config-map-plain",
    ),
    bad(
        "kv-no-plaintext",
        t.CONFIG_MAP,
        {"metadata": {"name": "app-config"}, "data": {"LOG_LEVEL": "info", "api_token": "abc123"}},
        "secret-named",
        "config-map-token",
    ),
    bad(
        "kv-no-plaintext",
        "kubernetes:apps/v1:Deployment",
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "a", "env": [{"name": "DB_PASSWORD", "value": "x"}]}]}}
            }
        },
        "DB_PASSWORD",
        "deployment-env-password",
    ),
    ok(
        "kv-no-plaintext",
        "kubernetes:apps/v1:Deployment",
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": {"vault.hashicorp.com/agent-inject-secret-api-token": "kv/data/x"}},
                    "spec": {"containers": [{"name": "a", "env": [{"name": "DB_PASSWORD_FILE", "value": "/vault/x"}]}]},
                }
            }
        },
        "deployment-vault-references",
    ),
    bad(
        "kv-no-plaintext",
        t.CRD_SERVICE_DEFAULTS,
        {"spec": {"protocol": "http", "meta": {"token": "0b5f1a7e-3c3d-4a56-9e0f-1d2c3b4a5f6e"}}},
        "ACL token",
        "crd-uuid",
    ),
    bad(
        "kv-no-plaintext",
        t.K8S_SECRET,
        {"metadata": {"annotations": {"note": "-----BEGIN RSA PRIVATE KEY-----"}}, "stringData": {"k": "v"}},
        "private key",
        "secret-annotation-pem",
    ),
    ok(
        "kv-no-plaintext-audit",
        t.MOUNT,
        {"path": "consul/kv", "type": "kv", "options": {"version": "2"}, "auditNonHmacResponseKeys": ["version"]},
        "kv-metadata-only",
    ),
    ok(
        "kv-no-plaintext-audit",
        t.MOUNT,
        {"path": "p", "type": "pki", "auditNonHmacRequestKeys": ["common_name"]},
        "pki-cn",
    ),
    bad(
        "kv-no-plaintext-audit",
        t.MOUNT,
        {"path": "consul/kv", "type": "kv-v2", "auditNonHmacRequestKeys": ["version", "data"]},
        "['data']",
        "kv-data",
    ),
    bad(
        "kv-no-plaintext-audit",
        t.MOUNT,
        {"path": "p", "type": "pki", "auditNonHmacResponseKeys": ["private_key"]},
        "['private_key']",
        "pki-private-key",
    ),
    bad(
        "kv-no-plaintext-audit",
        t.AUTH_BACKEND,
        {"type": "kubernetes", "path": "k", "tune": [{"auditNonHmacRequestKeys": ["jwt"]}]},
        "['jwt']",
        "auth-tune-jwt",
    ),
    bad(
        "kv-no-plaintext-audit",
        t.GENERIC_ENDPOINT,
        {"path": "sys/mounts/consul/kv/tune", "dataJson": json.dumps({"audit_non_hmac_response_keys": ["token"]})},
        "['token']",
        "generic-endpoint-tune",
    ),
    # ------------------------------------------------------------- database (real shapes: test_database_rules.py)
    ok("db-tls", t.DB_CONNECTION, DB_CONNECTION, "verified-db-tls", stack="prod"),
    ok("db-tls", t.DB_CONNECTION, db_connection(url=DB_URL.replace("verify-full", "disable")), "dev-db", stack="dev"),
    bad(
        "db-tls",
        t.DB_CONNECTION,
        db_connection(url=DB_URL.replace("verify-full", "require")),
        "sslmode=require",
        "unverified-db-tls",
        stack="prod",
    ),
    bad("db-tls", t.DB_CONNECTION, db_connection(tlsCa=None), "no database CA", "db-without-ca", stack="prod"),
    # --------------------------------------------------------------- consul
    ok("csl-ca-ttl", t.HELM_RELEASE, release(), "consul-ca-defaults"),
    ok("csl-ca-ttl", t.HELM_RELEASE, {"chart": "vault", "values": {}}, "ca-not-consul"),
    bad(
        "csl-ca-ttl",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"connect": {"ca_config": {"intermediate_cert_ttl": "200h"}}})),
        "below 3h and below 3 × leaf_cert_ttl (72h)",
        "ca-intermediate-short",
    ),
    ok(
        "csl-ca-ttl",
        t.CONSUL_CA,
        {"connectProvider": "vault", "configJson": json.dumps({"LeafCertTTL": "72h", "IntermediateCertTTL": "216h"})},
        "ca-resource-exactly-3x",
    ),
    bad(
        "csl-ca-ttl",
        t.CONSUL_CA,
        {
            "connectProvider": "vault",
            "configJson": json.dumps({"IntermediateCertTTL": "8760h", "RootCertTTL": "8759h"}),
        },
        "root_cert_ttl shorter than intermediate_cert_ttl",
        "ca-resource-root-short",
    ),
    ok("csl-tls", t.HELM_RELEASE, release(), "tls"),
    ok("csl-tls", t.HELM_RELEASE, {"chart": "vault", "values": {}}, "not-consul"),
    bad("csl-tls", t.HELM_RELEASE, release(global__tls__enabled=None), "global.tls.enabled = <unset>", "tls-unset"),
    bad("csl-tls", t.HELM_RELEASE, release(global__tls__enabled=False), "global.tls.enabled = False", "tls-off"),
    bad("csl-tls", t.HELM_RELEASE, release(global__tls__verify=False), "verify", "no-verify"),
    bad("csl-tls", t.HELM_RELEASE, release(global__tls__enableAutoEncrypt=None), "enableAutoEncrypt", "auto-encrypt"),
    ok("csl-acl", t.HELM_RELEASE, release(), "acls"),
    bad("csl-acl", t.HELM_RELEASE, release(global__acls__manageSystemACLs=None), "not managed", "acls-unset"),
    bad(
        "csl-acl",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"acl": {"default_policy": "allow"}})),
        "default policy allow",
        "default-allow",
    ),
    bad("csl-acl", t.HELM_RELEASE, release(server__extraConfig="{not json"), "not valid JSON", "bad-json"),
    ok("csl-gossip", t.HELM_RELEASE, release(), "gossip"),
    bad("csl-gossip", t.HELM_RELEASE, release(global__gossipEncryption=None), "not encrypted", "gossip-unset"),
    bad("csl-gossip", t.HELM_RELEASE, release(global__gossipEncryption={"autoGenerate": True}), "Vault", "autogen"),
    bad(
        "csl-gossip",
        t.HELM_RELEASE,
        release(global__gossipEncryption={"secretName": "consul/kv/consul/gossip", "secretKey": "key"}),
        "KV-v2",
        "no-data-segment",
    ),
    bad(
        "csl-gossip",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"encrypt_verify_incoming": False})),
        "unencrypted",
        "verify-incoming-off",
    ),
    ok("csl-no-scripts", t.HELM_RELEASE, release(), "no-scripts"),
    bad(
        "csl-no-scripts",
        t.HELM_RELEASE,
        release(client__extraConfig=json.dumps({"enable_script_checks": True})),
        "script",
        "script-checks",
    ),
    bad(
        "csl-no-scripts",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"disable_remote_exec": False})),
        "remote exec",
        "remote-exec",
    ),
    ok("csl-vault-ca", t.HELM_RELEASE, release(), "vault-ca"),
    bad(
        "csl-vault-ca",
        t.HELM_RELEASE,
        release(global__secretsBackend__vault__enabled=None),
        "does not use Vault",
        "vault-off",
    ),
    bad(
        "csl-vault-ca",
        t.HELM_RELEASE,
        release(global__secretsBackend__vault__connectCA={"address": "https://v"}),
        "rootPKIPath",
        "no-root-path",
    ),
    bad("csl-vault-ca", t.HELM_RELEASE, release(global__secretsBackend__vault__ca=None), "TLS CA", "no-vault-ca"),
    bad(
        "csl-vault-ca",
        t.HELM_RELEASE,
        release(
            global__secretsBackend__vault__connectCA__additionalConfig=json.dumps(
                {"connect": [{"ca_config": [{"token": "s.abc", "tls_skip_verify": True}]}]}
            )
        ),
        "",
        "static-token-and-skip-verify",
    ),
    bad(
        "csl-vault-ca",
        t.HELM_RELEASE,
        release(global__secretsBackend__vault__connectCA__address="http://vault:8200"),
        "plain http",
        "http-in-prod",
        stack="prod",
    ),
    ok(
        "csl-vault-ca",
        t.HELM_RELEASE,
        release(
            global__secretsBackend__vault__connectCA__address="http://vault:8200",
            global__secretsBackend__vault__ca=None,
        ),
        "http-in-dev",
    ),
    ok("csl-binding", t.HELM_RELEASE, release(), "default-selector"),
    bad(
        "csl-binding",
        t.HELM_RELEASE,
        release(connectInject={"aclBindingRuleSelector": ""}),
        "default service account",
        "selector-cleared",
    ),
    ok("csl-quorum", t.HELM_RELEASE, release(server__replicas=1.0), "dev-single-server"),
    ok("csl-quorum", t.HELM_RELEASE, release(), "prod-three", stack="prod"),
    bad("csl-quorum", t.HELM_RELEASE, release(server__replicas=None), "quorum", "prod-unset", stack="prod"),
    bad("csl-quorum", t.HELM_RELEASE, release(server__replicas=4.0), "quorum", "prod-even", stack="prod"),
    bad(
        "csl-quorum",
        t.HELM_RELEASE,
        release(server__disruptionBudget={"enabled": False}),
        "disruption",
        "prod-no-pdb",
        stack="prod",
    ),
    ok("csl-bootstrap-token", t.HELM_RELEASE, release(), "in-vault"),
    bad("csl-bootstrap-token", t.HELM_RELEASE, release(global__acls__bootstrapToken=None), "not kept", "unset"),
    bad(
        "csl-bootstrap-token",
        t.HELM_RELEASE,
        release(global__acls__bootstrapToken={"secretName": "consul-bootstrap", "secretKey": "token"}),
        "not kept",
        "k8s-secret-name",
    ),
    ok(
        "csl-bootstrap-token",
        t.HELM_RELEASE,
        release(
            global__acls__bootstrapToken=None,
            global__acls__replicationToken={"secretName": "consul/kv/data/consul/replication", "secretKey": "token"},
            global__federation={"enabled": True, "primaryDatacenter": "dc0"},
        ),
        "secondary-replication-token-in-vault",
    ),
    bad(
        "csl-bootstrap-token",
        t.HELM_RELEASE,
        release(
            global__acls__replicationToken={"secretName": "consul-replication", "secretKey": "token"},
            global__federation={"enabled": True, "primaryDatacenter": "dc0"},
        ),
        "replication token is not kept",
        "secondary-k8s-secret",
    ),
    ok("kv-backup", t.HELM_RELEASE, release(global__enterpriseLicense=LICENSE), "snapshots", stack="prod"),
    ok("kv-backup", t.HELM_RELEASE, release(server__snapshotAgent=None), "oss-prod-not-checkable", stack="prod"),
    ok("kv-backup", t.HELM_RELEASE, release(server__snapshotAgent=None, global__enterpriseLicense=LICENSE), "dev"),
    bad(
        "kv-backup",
        t.HELM_RELEASE,
        release(server__snapshotAgent=None, global__enterpriseLicense=LICENSE),
        "no snapshots",
        "prod-unset",
        stack="prod",
    ),
    bad(
        "kv-backup",
        t.HELM_RELEASE,
        release(server__snapshotAgent={"enabled": True}, global__enterpriseLicense=LICENSE),
        "configuration",
        "no-config",
        stack="prod",
    ),
    ok("kv-backup-oss", t.HELM_RELEASE, release(server__snapshotAgent=None), "dev-oss"),
    ok("kv-backup-oss", t.HELM_RELEASE, release(global__enterpriseLicense=LICENSE), "prod-enterprise", stack="prod"),
    bad(
        "kv-backup-oss",
        t.HELM_RELEASE,
        release(server__snapshotAgent=None),
        "no snapshot agent",
        "prod-oss",
        stack="prod",
    ),
    # ----------------------------------------------------------- intentions
    ok("int-no-wildcard-allow", t.CRD_SERVICE_INTENTIONS, crd("*", [{"name": "*", "action": "deny"}]), "default-deny"),
    ok(
        "int-no-wildcard-allow",
        t.CONSUL_INTENTIONS,
        {"name": "api", "sources": [{"name": "web", "action": "allow"}]},
        "named-allow",
    ),
    bad(
        "int-no-wildcard-allow",
        t.CRD_SERVICE_INTENTIONS,
        crd("api", [{"name": "*", "action": "allow"}]),
        "wildcard",
        "crd-allow-from-star",
    ),
    bad(
        "int-no-wildcard-allow",
        t.CONSUL_INTENTIONS,
        {"name": "*", "sources": [{"name": "web", "action": "allow"}]},
        "wildcard",
        "entry-allow-to-star",
    ),
    bad(
        "int-no-wildcard-allow",
        t.CONSUL_CONFIG_ENTRY,
        {
            "kind": "service-intentions",
            "name": "api",
            "configJson": json.dumps({"Sources": [{"Name": "*", "Action": "allow"}]}),
        },
        "wildcard",
        "generic-entry",
    ),
    ok(
        "int-l7",
        t.CRD_SERVICE_INTENTIONS,
        crd("payments", [{"name": "api", "permissions": [{"action": "allow", "http": {"pathPrefix": "/p"}}]}]),
        "l7",
    ),
    ok(
        "int-l7",
        t.CONSUL_INTENTIONS,
        {
            "name": "payments",
            "sources": [{"name": "api", "permissions": [{"action": "allow", "https": [{"pathPrefix": "/p"}]}]}],
        },
        "l7-entry",
    ),
    bad(
        "int-l7",
        t.CRD_SERVICE_INTENTIONS,
        crd(
            "payments",
            [{"name": "api", "action": "allow", "permissions": [{"action": "allow", "http": {"pathPrefix": "/p"}}]}],
        ),
        "together",
        "both",
    ),
    bad(
        "int-l7",
        t.CRD_SERVICE_INTENTIONS,
        crd("payments", [{"name": "*", "permissions": [{"action": "allow", "http": {"pathPrefix": "/p"}}]}]),
        "wildcard",
        "l7-wildcard",
    ),
    bad("int-l7", t.CRD_SERVICE_INTENTIONS, crd("payments", [{"name": "api"}]), "neither", "neither"),
    bad(
        "int-l7",
        t.CONSUL_INTENTIONS,
        {"name": "payments", "sources": [{"name": "api", "permissions": [{"action": "maybe", "https": [{}]}]}]},
        "allow or deny",
        "bad-permission-action",
    ),
    # ------------------------------------------------- Consul free-form keys, exposure, chart pins (issue 14 class 7)
    # (more cases, from the program's own release: tests/policy/test_consul_rules.py)
    ok("csl-extra-config", t.HELM_RELEASE, release(), "info-log-level"),
    bad(
        "csl-extra-config",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"tls": {"defaults": {"verify_incoming": False}}})),
        "verification off",
        "verify-off",
    ),
    ok("csl-expose", t.HELM_RELEASE, release(), "cluster-ip-ui"),
    ok("csl-expose", t.K8S_SERVICE, {"spec": "LoadBalancer"}, "service-spec-not-a-map"),
    bad("csl-expose", t.HELM_RELEASE, release(ui__service__type="LoadBalancer"), "exposes", "lb-ui"),
    ok("csl-chart-pin", t.HELM_RELEASE, release(), "pinned"),
    ok("img-digest", t.HELM_RELEASE, release(), "dev-keeps-chart-tags"),
    bad("img-digest", t.HELM_RELEASE, release(), "chart's default tag", "prod-unset-images", stack="prod"),
    bad("csl-chart-pin", t.HELM_RELEASE, {**release(), "version": "^2.0"}, "exact", "range"),
    # ------------------------------------------------------------------- mesh bypasses (issue 14 class 8)
    # (more cases, in every rendering: tests/policy/test_mesh_rules.py)
    ok("mesh-mtls-strict", t.CRD_PROXY_DEFAULTS, {"spec": {"mutualTLSMode": "strict"}}, "strict"),
    bad("mesh-mtls-strict", t.CRD_PROXY_DEFAULTS, {"spec": {"mutualTLSMode": "permissive"}}, "plain-text", "perm"),
    ok("mesh-destinations", t.CRD_MESH, {"spec": {"transparentProxy": {"meshDestinationsOnly": True}}}, "only"),
    bad("mesh-destinations", t.CRD_MESH, {"spec": {}}, "outside the mesh", "unset"),
    ok(
        "mesh-tls-version",
        t.CRD_MESH,
        {"spec": {"tls": {"incoming": {"tlsMinVersion": "TLSv1_2"}, "outgoing": {"tlsMinVersion": "TLSv1_3"}}}},
        "tls12-tls13",
    ),
    bad(
        "mesh-tls-version",
        t.CRD_MESH,
        {"spec": {"tls": {"incoming": {"tlsMinVersion": "TLSv1_0"}, "outgoing": {"tlsMinVersion": "TLSv1_3"}}}},
        "TLS 1.2+",
        "tls10-incoming",
    ),
    ok("mesh-tproxy", "kubernetes:core/v1:Pod", {"metadata": {"annotations": {}}}, "no-exclusions"),
    bad(
        "mesh-tproxy",
        "kubernetes:core/v1:Pod",
        {"metadata": {"annotations": {"consul.hashicorp.com/transparent-proxy": "false"}}},
        "bypasses",
        "tproxy-off",
    ),
    ok(
        "mesh-gateway-routes",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        {"spec": {"listeners": [{"name": "https", "allowedRoutes": {"namespaces": {"from": "Same"}}}]}},
        "same-namespace",
    ),
    bad(
        "mesh-gateway-routes",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        {"spec": {"listeners": [{"name": "https", "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
        "every namespace",
        "all-namespaces",
    ),
    # ------------------------------------------------------------------ gateway certificate chain (VSO)
    ok("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(), "tls-pem-renewed"),
    ok("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(format=None, expiryOffset="90.5m"), "format-unset"),
    bad(
        "pki-gw-chain",
        VAULT_PKI_SECRET,
        vso_pki_secret(destination={"name": "api-gateway-tls", "create": True, "type": "Opaque"}),
        "not created as kubernetes.io/tls",
        "opaque-destination",
    ),
    bad(
        "pki-gw-chain",
        VAULT_PKI_SECRET,
        vso_pki_secret(destination={"name": "api-gateway-tls", "type": "kubernetes.io/tls"}),
        "not created as kubernetes.io/tls",
        "existing-secret-not-created",
    ),
    bad("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(format="pem_bundle"), "private key", "pem-bundle"),
    bad("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(format="der"), "private key", "der"),
    bad("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(expiryOffset=None), "no renewal", "no-offset"),
    bad("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(expiryOffset="0s"), "no renewal", "zero-offset"),
    bad("pki-gw-chain", VAULT_PKI_SECRET, vso_pki_secret(expiryOffset="10d"), "no renewal", "days-not-accepted"),
    # ------------------------------------------------------------------ multi-cluster
    ok("topo-unique-paths", t.HELM_RELEASE, release(), "standalone-release"),
    ok("topo-unique-paths", t.HELM_RELEASE, release(**PEERED), "own-paths"),
    bad(
        "topo-unique-paths",
        t.HELM_RELEASE,
        release(**{**PEERED, "global__secretsBackend__vault__connectCA__authMethodPath": "kubernetes"}),
        "shared default auth mount",
        "shared-auth-mount",
    ),
    bad(
        "topo-unique-paths",
        t.HELM_RELEASE,
        release(**{**PEERED, "global__secretsBackend__vault__agentAnnotations": None}),
        "do not log in at auth/kubernetes-east",
        "agents-elsewhere",
    ),
    bad(
        "topo-unique-paths",
        t.HELM_RELEASE,
        release(**{**PEERED, "global__secretsBackend__vault__connectCA__intermediatePKIPath": "consul/connect/inter"}),
        "not this datacenter's own intermediate",
        "shared-intermediate",
    ),
    bad(
        "topo-unique-paths",
        t.HELM_RELEASE,
        release(
            **{
                **PEERED,
                "global__federation__enabled": True,
                "global__peering__enabled": None,
                "global__secretsBackend__vault__connectCA__intermediatePKIPath": "consul/connect/pki_int2",
                "global__secretsBackend__vault__connectCA__rootPKIPath": "consul/connect/pki_int2",
            }
        ),
        "not this datacenter's own intermediate",
        "federated-root-as-intermediate",
    ),
    # ------------------------------------------------------------------ JWT-authorized intentions
    ok("int-jwt-provider", t.CRD_JWT_PROVIDER, {"spec": JWT_PROVIDER_SPEC}, "remote-key-set-verified"),
    bad(
        "int-jwt-provider",
        t.CRD_JWT_PROVIDER,
        {"spec": {**JWT_PROVIDER_SPEC, "audiences": []}},
        "no audience",
        "no-audience",
    ),
    ok(
        "int-jwt-claims",
        t.CRD_SERVICE_INTENTIONS,
        crd("api", [{"name": "web", "permissions": [JWT_PERMISSION]}]),
        "permission-with-a-claim",
    ),
    bad(
        "int-jwt-claims",
        t.CRD_SERVICE_INTENTIONS,
        crd("api", [{"name": "web", "permissions": [{**JWT_PERMISSION, "jwt": {"providers": [{"name": "idp"}]}}]}]),
        "no claim to verify",
        "permission-without-claims",
    ),
    ok("vlt-oidc-key", t.OIDC_KEY, {"name": "k", "allowedClientIds": ["aud"]}, "one-client-id-vault-defaults"),
    bad("vlt-oidc-key", t.OIDC_KEY, {"name": "k", "allowedClientIds": ["*"]}, "every role", "any-client-id"),

]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.policy}:{c.id}" for c in CASES])
def test_resource_rule_case(case: Case) -> None:
    messages = check(case.policy, case.type, case.props, name=f"{case.id}-res", stack=case.stack, config=case.config)
    if case.expect is None:
        assert messages == [], f"{case.policy} flagged compliant resource {case.id}-res: {messages}"
        return
    assert messages, f"{case.policy} missed {case.id}-res ({case.type}) with {case.props}"
    assert any(case.expect in m for m in messages), f"{case.policy} on {case.id}-res said {messages}"
    for message in messages:
        assert f"'{case.id}-res'" in message, f"message does not name the resource: {message}"
        assert "Fix:" in message and " = " in message, f"message lacks property/value/fix: {message}"
    found = as_pinned(case.policy, messages)
    assert found == pinned(CASE_FINDINGS, f"{case.policy}:{case.id}", found), (
        f"{case.policy}'s findings on {case.id} changed; if meant, UPDATE_SNAPSHOTS=1 pytest tests/policy and review"
    )


def test_every_resource_rule_has_compliant_and_violating_cases() -> None:
    resource_rules = {name for name, rule in RULES.items() if rule.info.scope == "resource"}
    compliant = {c.policy for c in CASES if c.expect is None}
    violating = {c.policy for c in CASES if c.expect is not None}
    assert resource_rules - compliant == set(), "resource rules without a compliant case"
    assert resource_rules - violating == set(), "resource rules without a violating case"


def test_rules_ignore_other_resource_types() -> None:
    for name, rule in RULES.items():
        if rule.info.scope == "resource":
            assert check(name, "aws:s3/bucket:Bucket", {"acl": "public-read"}) == [], name
