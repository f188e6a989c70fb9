"""Every settings problem branch is reached by a named case whose whole error text is pinned (issue 19).

A case is a checked-in stack's config (optionally a *variant* of it: a Vault namespace, a second datacenter,
prod) with one change. The test asserts that the base is valid (so a rule that always fires is caught) and
that the changed config fails with exactly the checked-in ``snapshots/problems.json`` text: every key path
and every message, in order, as ``SettingsError`` prints them to the user. A fragment check would let the
rest of a message (the value, the allowed values) drift unnoticed.

Regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/settings/test_every_problem.py`` and review the diff: every
changed line is a message an operator reads. Settings validation is pure, so no case runs the program.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.settings import SettingsError, load_settings
from secure_mesh.settings.vault_ca_file import OFFLINE_PLACEHOLDER_PEM
from tests import snapshots
from tests.harness import load_stack_config

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "problems.json"
"""Every case's SettingsError text, line by line, by case name."""

DELETE = object()
"""A change value that removes the key."""

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def changed(config: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each ``key.path[i]`` set to its value (a list index one past the end appends).

    Intermediate objects that do not exist yet are created; ``DELETE`` removes the key.
    """
    result: dict[str, Any] = copy.deepcopy(dict(config))
    for path, value in changes.items():
        *parents, last = _steps(path)
        node: Any = result
        for step, following in zip(parents, [*parents, last][1:], strict=True):
            if isinstance(step, str) and step not in node:
                node[step] = [] if isinstance(following, int) else {}
            node = node[step]
        if value is DELETE:
            del node[last]
        elif isinstance(last, int) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    return result


@dataclass(frozen=True)
class Case:
    """A base (stack, variant changes, secret keys) that must be valid, and the change that must be refused."""

    stack: str
    change: Mapping[str, Any]
    variant: Mapping[str, Any] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    """Secret keys set on the changed config (and the base, unless ``base_secrets`` is given)."""
    base_secrets: frozenset[str] | None = None

    def base(self) -> tuple[dict[str, Any], frozenset[str]]:
        secrets = self.secrets if self.base_secrets is None else self.base_secrets
        return changed(_stack(self.stack), self.variant), secrets

    def config(self) -> tuple[dict[str, Any], frozenset[str]]:
        return changed(changed(_stack(self.stack), self.variant), self.change), self.secrets


@cache
def _stack(name: str) -> dict[str, Any]:
    return load_stack_config(name)


def _secret(*keys: str) -> frozenset[str]:
    return frozenset(keys)


PEER = {"name": "north", "role": "dialer", "stack": "acme/secure-mesh/peer-north"}
PROD_FEDERATION = {
    "consul.meshGateway": True,
    "topology.mode": "federation-primary",
    "vault.mountPrefix": "consul-prod",
}
PROD_PEERING = {
    "consul.meshGateway": True,
    "consul.address": "https://localhost:8501",
    "vault.mountPrefix": "consul-prod",
    "topology": {"mode": "peering", "peers": [{"name": "west", "role": "acceptor", "stack": "acme/secure-mesh/w"}]},
}

CASES: dict[str, Case] = {
    # ---- topology_rules.py: standalone
    "standalone with peers": Case("dev", {"topology.peers": [PEER]}),
    # ---- topology_rules.py: federation primary
    "federation primary with peers": Case("fed-primary", {"topology.peers": [PEER]}),
    "federation primary without mesh gateways": Case("fed-primary", {"consul.meshGateway": False}),
    "federation primary with enterprise": Case(
        "fed-primary",
        {"consul.enterprise": True, "images.consul": "hashicorp/consul-enterprise:1.22-ent"},
        base_secrets=_secret(),
        secrets=_secret("consulLicense"),
    ),
    "federation primary naming another primary": Case(
        "fed-primary", {"consul.primaryDatacenter": "dc0"}, variant={"consul.primaryDatacenter": "dc1"}
    ),
    "prod federation primary with one gateway": Case(
        "prod", {"topology.meshGatewayReplicas": 1}, variant=PROD_FEDERATION
    ),
    "federation primary with one gateway outside prod": Case(
        "fed-primary", {"topology.peers": [PEER]}, variant={"topology.meshGatewayReplicas": 1}
    ),
    "federation primary with the default mount prefix": Case("fed-primary", {"vault.mountPrefix": "consul"}),
    "federation primary listing itself and a secondary twice": Case(
        "fed-primary", {"topology.secondaries": ["dc2", "dc1", "dc2"]}
    ),
    # ---- topology_rules.py: federation keys outside their mode
    "federation keys in a standalone stack": Case(
        "dev",
        {
            "topology.secondaries": ["dc2"],
            "topology.primaryStack": "acme/secure-mesh/fed-primary",
            "topology.k8sAuthMethodHost": "https://k8s-api.dc1.example.com:6443",
        },
    ),
    "a secondary's keys on the primary": Case(
        "fed-primary",
        {
            "topology.primaryStack": "acme/secure-mesh/fed-primary",
            "topology.k8sAuthMethodHost": "https://k8s-api.dc1.example.com:6443",
        },
    ),
    # ---- topology_rules.py: federation secondary
    "federation secondary without its primary": Case("fed-secondary", {"topology.primaryStack": DELETE}),
    "federation secondary with peers, listed secondaries and primaryDatacenter": Case(
        "fed-secondary",
        {"topology.peers": [PEER], "topology.secondaries": ["dc3"], "consul.primaryDatacenter": "dc1"},
    ),
    "federation secondary without mesh gateways or a mount prefix": Case(
        "fed-secondary", {"consul.meshGateway": False, "vault.mountPrefix": DELETE}
    ),
    "federation secondary with enterprise": Case(
        "fed-secondary",
        {"consul.enterprise": True, "images.consul": "hashicorp/consul-enterprise:1.22-ent"},
        base_secrets=_secret(),
        secrets=_secret("consulLicense"),
    ),
    "federation secondary unreachable from the primary's servers": Case(
        # the primary's servers review this cluster's tokens at its API server: kubernetes.default.svc is theirs
        "fed-secondary", {"vault.kubernetesHost": DELETE}
    ),
    "federation secondary with its own server and connect chains": Case(
        "fed-secondary",
        {"pki.chains.server": {"levels": 1}, "pki.chains.connect": {"levels": 1}},
    ),
    "federation secondary rotating its server tls ca": Case("fed-secondary", {"rotation.serverTlsGeneration": 2}),
    "federation secondary rotating the gossip key": Case(
        "fed-secondary", {"rotation.gossipKeyVersion": 2}
    ),
    "federation secondary rotating a bootstrap token": Case(
        "fed-secondary", {"rotation.bootstrapTokenVersion": 2}
    ),
    # ---- topology_rules.py: peering
    "peering secondary datacenter": Case(
        "peer-east", {"consul.primaryDatacenter": "dc0"}, variant={"consul.primaryDatacenter": "east"}
    ),
    "peering without peers": Case("peer-east", {"topology.peers": []}),
    "peering without mesh gateways": Case("peer-east", {"consul.meshGateway": False}),
    "peering without consul address": Case(
        "peer-east", {"consul.address": DELETE, "consul.intentionsRendering": "crds"}
    ),
    "peering with the default mount prefix": Case("peer-east", {"vault.mountPrefix": "consul"}),
    "prod peering with one gateway": Case("prod", {"topology.meshGatewayReplicas": 1}, variant=PROD_PEERING),
    "peering with one gateway outside prod": Case(
        "peer-east", {"consul.meshGateway": False}, variant={"topology.meshGatewayReplicas": 1}
    ),
    "peer names repeated after a valid peer": Case(
        "peer-east",
        {"topology.peers[2]": {**PEER, "name": "west", "stack": "acme/secure-mesh/peer-south"}},
        variant={"topology.peers[1]": PEER},
    ),
    "peer names repeated twice each": Case(
        "peer-east",
        {
            "topology.peers[2]": {**PEER, "name": "west", "stack": "acme/secure-mesh/s1"},
            "topology.peers[3]": {**PEER, "stack": "acme/secure-mesh/s2"},
            "topology.peers[4]": {**PEER, "stack": "acme/secure-mesh/s3"},
        },
        variant={"topology.peers[1]": PEER},
    ),
    "peer stacks repeated": Case(
        "peer-east",
        {"topology.peers[2]": {**PEER, "name": "south", "stack": "acme/secure-mesh/peer-north"}},
        variant={"topology.peers[1]": PEER},
    ),
    "peer stacks with one short name": Case(
        "peer-east",
        {"topology.peers[2]": {**PEER, "name": "south", "stack": "other/secure-mesh/peer-north"}},
        variant={"topology.peers[1]": PEER},
    ),
    "peer stacks repeated and one short name": Case(
        "peer-east",
        {
            "topology.peers[2]": {**PEER, "name": "south", "stack": "acme/secure-mesh/peer-north"},
            "topology.peers[3]": {**PEER, "name": "south2", "stack": "other/secure-mesh/peer-north"},
            "topology.peers[4]": {**PEER, "name": "south3", "stack": "x/secure-mesh/peer-west"},
        },
        variant={"topology.peers[1]": PEER},
    ),
    "peer stack repeated and a third with its short name": Case(
        "peer-east",
        {
            "topology.peers[2]": {**PEER, "name": "south", "stack": "acme/secure-mesh/peer-north"},
            "topology.peers[3]": {**PEER, "name": "south2", "stack": "other/secure-mesh/peer-north"},
        },
        variant={"topology.peers[1]": PEER},
    ),
    "peer name of 64 characters": Case(
        "peer-east", {"topology.peers[1].name": "a" * 64}, variant={"topology.peers[1]": {**PEER, "name": "a" * 63}}
    ),
    "import port 65536": Case(
        "peer-west", {"topology.peers[0].imports[0].port": 65536}, variant={"topology.peers[0].imports[0].port": 65535}
    ),
    "import port 0": Case(
        "peer-west", {"topology.peers[0].imports[0].port": 0}, variant={"topology.peers[0].imports[0].port": 1}
    ),
    "peer named like this datacenter, last": Case(
        "peer-east", {"topology.peers[1].name": "east"}, variant={"topology.peers[1]": PEER}
    ),
    "export listed twice": Case(
        "peer-east", {"topology.peers[0].exports[1]": {"service": "inventory", "consumers": ["web"]}}
    ),
    "export of an undeclared service after a valid one": Case(
        "peer-east", {"topology.peers[0].exports[1]": {"service": "billing", "consumers": ["checkout"]}}
    ),
    "export consumers repeated": Case(
        "peer-east",
        {"topology.peers[0].exports[0].consumers": ["checkout", "cart", "checkout", "cart", "a"]},
    ),
    "import listed twice": Case(
        "peer-west",
        {"topology.peers[0].imports[1]": {"service": "inventory", "port": 9002, "apps": ["checkout"]}},
    ),
    "import for an undeclared app after a valid one": Case(
        "peer-west", {"topology.peers[0].imports[0].apps[1]": "billing"}
    ),
    "import for an undeclared app among two apps": Case(
        "peer-west",
        {"topology.peers[0].imports[0].apps[0]": "billing"},
        variant={
            "mesh.services[1]": {"name": "cart", "protocol": "http"},
            "apps[1]": {"name": "cart", "namespace": "cart", "serviceAccount": "cart", "service": "cart"},
        },
    ),
    "import for an undeclared app without apps": Case(
        "peer-west", {"topology.peers[0].imports[0].apps": ["billing"], "apps": []}, variant={}
    ),
    "import port reused by one app": Case(
        "peer-west",
        {"topology.peers[0].imports[1]": {"service": "pricing", "port": 9001, "apps": ["checkout"]}},
        variant={
            "topology.peers[1]": {**PEER, "imports": [{"service": "stock", "port": 9001, "apps": ["other"]}]},
            "apps[1]": {"name": "other", "namespace": "other", "serviceAccount": "other", "service": "checkout"},
        },
    ),
    "export of an undeclared service without services": Case("peer-east", {"mesh.services": [], "apps": []}),
}

PEM = load_stack_config("peer-east")["vault"]["kubernetesCaCertPem"]
"""A CA certificate (public) that fits any PEM setting; not a root of the chains' key type."""
KMS_ROOT = load_stack_config("prod")["pki"]["awsKms"]["rootCertificatePem"]
"""prod's P-384 KMS root (ec/384, path length 4)."""
DATABASE = {"databaseName": "web", "address": {"host": "db.example.com"}}
CREDENTIALS = _secret("databaseRootCredentials", "databaseRootCredentials.web")
DEV_DATABASE = {"apps[0].database": DATABASE}
ENGINE = "rotation.consulSecretsEngine"

CONSISTENCY: dict[str, Case] = {
    # ---- pki keys and custody
    "ec key of 2048 bits": Case("dev", {"pki.keyBits": 2048}, variant={"pki.keyBits": 384}),
    "rsa key of 3072 bits": Case("dev", {"pki.keyBits": 3072}, variant={"pki.keyType": "rsa", "pki.keyBits": 4096}),
    "external settings with vault custody": Case("dev", {"pki.external": {}}),
    "kms settings with vault custody": Case("dev", {"pki.awsKms": {"keyId": "k", "region": "eu-west-1"}}),
    "kms custody without kms settings": Case("dev", {"pki.rootCustody": "aws-kms"}),
    "kms custody without root certificate": Case("prod", {"pki.awsKms.rootCertificatePem": DELETE}),
    "root urls with vault custody": Case(
        "dev", {"pki.rootCrlUrls": ["https://pki.example.com/r.crl"], "pki.rootIssuerUrls": ["https://x/r.crt"]}
    ),
    "root issuer urls with vault custody": Case("dev", {"pki.rootIssuerUrls": ["https://x/r.crt"]}),
    "prod offline root without crl urls": Case("prod", {"pki.rootCrlUrls": DELETE}),
    "prod offline root without issuer urls": Case("prod", {"pki.rootIssuerUrls": []}),
    "staging offline root without urls, then an external without root": Case(
        "prod",
        {"pki.rootCustody": "external", "pki.awsKms": DELETE, "pki.external": {"signedIntermediates": {"server": PEM}}},
        variant={"environment": "staging", "pki.rootCrlUrls": DELETE, "pki.rootIssuerUrls": DELETE},
    ),
    "external root of another key size": Case(
        "prod",
        {"pki.keyBits": 256},
        variant={"pki.rootCustody": "external", "pki.awsKms": DELETE, "pki.external": {"rootCertificatePem": KMS_ROOT}},
    ),
    "kms root of another key type": Case("prod", {"pki.keyType": "rsa", "pki.keyBits": 4096}),
    "three connect levels: consul intermediate as long as level 3": Case(
        "prod",
        {
            "pki.chains.server.levels": 3,
            "pki.chains.server.intermediateTtls": ["17520h", "13140h", "8760h"],
            "pki.chains.connect.levels": 3,
            "pki.chains.connect.intermediateTtls": ["17520h", "13140h", "8760h"],
        },
    ),
    # ---- pki chains: the TTL cascade
    "intermediate ttl count off, then a later chain's leaf": Case(
        "dev", {"pki.chains.server.intermediateTtls": ["17520h"], "pki.chains.webhook.leafTtl": "721h"}
    ),
    "prod level 1 one hour over two years": Case("prod", {"pki.chains.connect.intermediateTtls": ["17521h", "13140h"]}),
    "level 1 as long as the root": Case("dev", {"pki.rootTtl": "17520h"}, variant={"pki.rootTtl": "17521h"}),
    "level 2 as long as level 1": Case(
        "dev",
        {"pki.chains.server.intermediateTtls": ["8760h", "8760h"]},
        variant={"pki.chains.server.intermediateTtls": ["8760h", "8759h"]},
    ),
    "consul intermediate as long as the deepest level": Case(
        "dev", {"pki.consulIntermediateTtl": "13140h"}, variant={"pki.consulIntermediateTtl": "13139h"}
    ),
    "leaf max ttl as long as the level above": Case(
        "dev",
        {"pki.chains.webhook.leafMaxTtl": "17520h", "pki.chains.webhook.leafTtl": "17520h"},
        variant={"pki.chains.webhook.leafMaxTtl": "17519h"},
    ),
    "connect leaf max ttl as long as consul's intermediate": Case(
        "dev", {"pki.chains.connect.leafMaxTtl": "8760h"}, variant={"pki.chains.connect.leafMaxTtl": "8759h"}
    ),
    "leaf ttl one hour over leaf max ttl": Case(
        "dev", {"pki.chains.server.leafTtl": "721h"}, variant={"pki.chains.server.leafTtl": "720h"}
    ),
    "domains on the server chain": Case("dev", {"pki.chains.server.domains": ["example.com"]}),
    "gateway domains repeated": Case(
        "dev", {"pki.chains.gateway.domains": ["b.test", "a.test", "b.test", "a.test", "c.test"]}
    ),
    "api gateway without domains": Case(
        "dev",
        {"consul.apiGateway": True},
        variant={"consul.apiGateway": False, "pki.chains.gateway.domains": [], "apps[0].route": DELETE},
    ),
    # ---- Consul's CA TTL limits
    "connect leaf ttl one second under an hour": Case(
        "dev", {"pki.chains.connect.leafTtl": "3599s"}, variant={"pki.chains.connect.leafTtl": "1h"}
    ),
    "connect leaf ttl one hour over a year": Case(
        "dev",
        {"pki.chains.connect.leafTtl": "8761h"},
        variant={
            "pki.chains.connect.leafTtl": "8760h",
            "pki.chains.connect.leafMaxTtl": "8761h",
            "pki.consulIntermediateTtl": "26280h",
            "pki.rootTtl": "175200h",
            "pki.chains.connect.intermediateTtls": ["87600h", "43800h"],
        },
    ),
    "consul intermediate under three connect leaf ttls": Case(
        "dev",
        {"pki.consulIntermediateTtl": "215h"},
        # The expiry check's threshold stays below half of the intermediate (its own rule).
        variant={"pki.consulIntermediateTtl": "216h", "pki.expiryCheck.thresholdDays": 4},
    ),
    "consul intermediate under three hours": Case(
        "dev",
        {"pki.consulIntermediateTtl": "179m"},
        variant={
            "pki.chains.connect.leafTtl": "1h",
            "pki.chains.connect.leafMaxTtl": "1h",
            "pki.consulIntermediateTtl": "3h",
            "pki.expiryCheck.enabled": False,
        },
    ),
    # ---- the CA expiry check's threshold against Consul's half-life renewal of its intermediate
    "expiry threshold not below half of the consul intermediate": Case(
        "dev", {"pki.expiryCheck.thresholdDays": 183}, variant={"pki.expiryCheck.thresholdDays": 182}
    ),
    "expiry check with a consul intermediate too short for any threshold": Case(
        "dev",
        {"pki.expiryCheck.enabled": True},
        variant={
            "pki.chains.connect.leafTtl": "1h",
            "pki.chains.connect.leafMaxTtl": "1h",
            "pki.consulIntermediateTtl": "47h",
            "pki.expiryCheck.enabled": False,
        },
    ),
    # ---- vault
    "external vault without the kubernetes ca": Case("peer-east", {"vault.kubernetesCaCertPem": DELETE}),
    "external vault with the in-cluster kubernetes host": Case("peer-east", {"vault.kubernetesHost": DELETE}),
    "vault ca pem with an http address": Case(
        "dev", {"vault.address": "http://vault:8200"}, variant={"vault.tls": {"caCertPem": PEM}}
    ),
    "vault ca file and pem": Case("dev", {"vault.tls.caCertPem": PEM}),
    "vault ca file with an http address": Case("dev", {"vault.address": "http://vault:8200"}),
    "mount prefix under sys": Case(
        "dev", {"vault.mountPrefix": "sys/consul"}, variant={"vault.mountPrefix": "system/consul"}
    ),
    "mount prefix auth": Case("dev", {"vault.mountPrefix": "auth"}, variant={"vault.mountPrefix": "authx"}),
    "kubernetes auth mount under token": Case(
        "dev", {"vault.kubernetesAuthMount": "token/k8s"}, variant={"vault.kubernetesAuthMount": "tokens/k8s"}
    ),
    "long-lived reviewer with vault in the cluster": Case(
        "dev", {"vault.tokenReviewer": "long-lived-secret"}, variant={"vault.tokenReviewer": "client-jwt"}
    ),
    "audit enabled in a vault namespace": Case(
        "dev", {"vault.audit.enabled": True}, variant={"vault.namespace": "team-a"}
    ),
    "prod audit unset in a vault namespace": Case("prod", {"vault.namespace": "team-a/consul"}),
    "prod audit off in a vault namespace, then a socket without address": Case(
        "prod", {"vault.audit.type": "socket"}, variant={"vault.namespace": "team-a", "vault.audit.enabled": False}
    ),
    "audit socket keys on a file device": Case(
        "dev",
        {"vault.audit.address": "logs:9090", "vault.audit.facility": "AUTH", "vault.audit.tag": "v"},
        variant={"vault.audit.filePath": "stdout"},
    ),
    "audit file path on a syslog device": Case(
        "dev",
        {"vault.audit.type": "syslog", "vault.audit.filePath": "stdout"},
        variant={"vault.audit.type": "syslog", "vault.audit.facility": "AUTH", "vault.audit.tag": "v"},
    ),
    # ---- consul
    "config entries without a consul address": Case("dev", {"consul.intentionsRendering": "config-entries"}),
    "plain http consul address in dev": Case(
        "dev", {"consul.address": "http://localhost:8500"}, variant={"consul.address": "https://localhost:8501"}
    ),
    "plain http consul address in staging": Case("peer-east", {"consul.address": "http://localhost:8500"}),
    "enterprise without an image": Case(
        "dev", {"consul.enterprise": True}, secrets=_secret("consulLicense"), base_secrets=_secret()
    ),
    "enterprise with an oss image": Case(
        "dev",
        {"consul.enterprise": True, "images.consul": "hashicorp/consul:1.22"},
        secrets=_secret("consulLicense"),
        base_secrets=_secret(),
    ),
    "snapshot agent without enterprise": Case("dev", {"consul.snapshotAgent.enabled": True}),
    "enterprise without a license": Case(
        "dev", {"consul.enterprise": True, "images.consul": "hashicorp/consul-enterprise:1.22-ent"}
    ),
    "license without enterprise": Case("dev", {}, secrets=_secret("consulLicense"), base_secrets=_secret()),
    "the retired replication token secret": Case(
        "dev", {}, variant={"consul.primaryDatacenter": "dc1"}, secrets=_secret("consulReplicationToken"),
        base_secrets=_secret(),
    ),
    "the older secondary switch": Case(
        "dev", {"consul.primaryDatacenter": "dc0"}, variant={"consul.primaryDatacenter": "dc1"}
    ),
    "service name of 64 characters": Case(
        "dev", {"mesh.services[4].name": "s" * 64}, variant={"mesh.services[4]": {"name": "s" * 63}}
    ),
    "release name of 54 characters": Case(
        # 53 is Helm's limit; so long a release is valid only with consul.name (else the chart's names overflow)
        "dev",
        {"consul.releaseName": "r" * 54},
        variant={"consul.releaseName": "r" * 53, "consul.name": "m" * 40},
    ),
    "release name of 39 characters without consul.name": Case(
        # the chart's fullname '<release>-consul' at 46: its '<fullname>-server' StatefulSet would pass 52
        "dev", {"consul.releaseName": "r" * 39}, variant={"consul.releaseName": "r" * 38}
    ),
    # ---- kubernetes
    "consul in the default namespace": Case("dev", {"kubernetes.consulNamespace": "default"}),
    "consul in vault's namespace": Case("dev", {"kubernetes.consulNamespace": "vault"}),
    # ---- mesh
    "service declared twice, last": Case("dev", {"mesh.services[4]": {"name": "api", "protocol": "http"}}),
    "service named like the api gateway": Case(
        "dev",
        {"consul.apiGateway": True},
        variant={"mesh.services[4]": {"name": "api-gateway"}, "consul.apiGateway": False, "apps[0].route": DELETE},
    ),
    "intention between undeclared services": Case(
        "dev", {"mesh.intentions[2]": {"source": "cart", "destination": "billing", "action": "allow"}}
    ),
    "intention repeated, after a valid one": Case(
        "dev", {"mesh.intentions[2]": {"source": "api", "destination": "payments", "action": "allow"}}
    ),
    "intention from a service to itself": Case(
        "dev", {"mesh.intentions[2]": {"source": "web", "destination": "web", "action": "allow"}}
    ),
    "intention with neither action nor permissions": Case(
        "dev", {"mesh.intentions[2]": {"source": "web", "destination": "api"}}
    ),
    "l7 intention to an undeclared destination": Case(
        "dev", {"mesh.intentions[2]": {"source": "web", "destination": "cart", "permissions": [{"pathPrefix": "/"}]}}
    ),
    "l7 intention with empty permissions to tcp": Case(
        "dev", {"mesh.intentions[2]": {"source": "api", "destination": "ledger", "permissions": []}}
    ),
    "l7 permissions that do not fit": Case(
        "dev",
        {
            "mesh.intentions[0].permissions": [
                {"pathPrefix": "/a"},
                {"pathExact": "/a", "pathPrefix": "/a"},
                {},
                {"methods": ["GET", "POST", "GET", "POST", "PUT"]},
            ]
        },
    ),
    # ---- apps
    "app name repeated": Case(
        "dev", {"apps[2]": {"name": "web", "namespace": "web2", "serviceAccount": "web2", "service": "api"}}
    ),
    "app service account repeated, last": Case(
        "dev", {"apps[2]": {"name": "web2", "namespace": "web", "serviceAccount": "web", "service": "api"}}
    ),
    "app in consul's namespace": Case("dev", {"apps[1].namespace": "consul"}),
    "app in a namespace never injected": Case("dev", {"apps[1].namespace": "vault"}),
    "app of an undeclared service": Case("dev", {"apps[1].service": "cart"}),
    "app upstreams: undeclared, itself, denied, after a valid one": Case(
        "dev", {"apps[0].upstreams": ["api", "cart", "web", "ledger", "payments"]}
    ),
    "app secrets repeated": Case("dev", {"apps[0].secrets": ["a", "b", "a", "b", "a"]}),
    "database with host and catalog service": Case(
        "dev",
        {"apps[0].database.address.consulService": "db"},
        variant=DEV_DATABASE,
        secrets=CREDENTIALS,
    ),
    "database without an address": Case(
        "dev", {"apps[0].database.address": {}}, variant=DEV_DATABASE, secrets=CREDENTIALS
    ),
    "database catalog service without consul address": Case(
        "dev",
        {"consul.address": DELETE},
        variant={
            **DEV_DATABASE,
            "consul.address": "https://localhost:8501",
            "apps[0].database.address": {"consulService": "db"},
        },
        secrets=CREDENTIALS,
    ),
    "database static host following the catalog": Case(
        "dev",
        {"apps[0].database.address.followCatalog": True},
        variant={**DEV_DATABASE, "apps[0].database.address.followCatalog": False},
        secrets=CREDENTIALS,
    ),
    "database credential ttl over its max": Case(
        "dev",
        {"apps[0].database.credentialTtl": "25h"},
        variant={**DEV_DATABASE, "apps[0].database.credentialTtl": "24h"},
        secrets=CREDENTIALS,
    ),
    "database credential ttl over its max, credentials unreadable": Case(
        "dev",
        {"apps[0].database.credentialTtl": "25h"},
        variant=DEV_DATABASE,
        secrets=_secret("databaseRootCredentials", "databaseRootCredentials.*"),
    ),
    "route without the api gateway": Case(
        "dev", {"consul.apiGateway": False}, variant={"pki.chains.gateway.domains": ["apps.secure-mesh.test"]}
    ),
    "route hostname only ending like a domain": Case(
        "dev",
        {"apps[0].route.hostname": "xapps.secure-mesh.test"},
        variant={"apps[0].route.hostname": "apps.secure-mesh.test"},
    ),
    "route hostname without gateway domains": Case(
        "dev",
        {"apps[0].route.hostname": "web.example.org", "consul.apiGateway": False, "pki.chains.gateway.domains": DELETE},
    ),
    "route repeated with a trailing slash": Case(
        "dev",
        {"apps[1].route.pathPrefix": "/shop/"},
        variant={
            "apps[0].route.pathPrefix": "/shop",
            "apps[1].route": {"hostname": "web.apps.secure-mesh.test", "pathPrefix": "/cart"},
        },
    ),
    "route repeated at the root": Case(
        "dev",
        {"apps[1].route": {"hostname": "web.apps.secure-mesh.test", "pathPrefix": "//"}},
    ),
    "route to a tcp service": Case(
        "dev",
        {
            "apps[2]": {
                "name": "ledger",
                "namespace": "ledger",
                "serviceAccount": "ledger",
                "service": "ledger",
                "route": {"hostname": "ledger.apps.secure-mesh.test"},
            }
        },
    ),
    # ---- database credentials
    "database without root credentials": Case(
        "dev", {}, variant=DEV_DATABASE, secrets=_secret(), base_secrets=CREDENTIALS
    ),
    "root credentials of apps without a database": Case(
        "dev",
        {},
        variant=DEV_DATABASE,
        secrets=CREDENTIALS | {"databaseRootCredentials.zed", "databaseRootCredentials.api"},
        base_secrets=CREDENTIALS,
    ),
    "root credentials without any database": Case(
        "dev", {}, secrets=_secret("databaseRootCredentials", "databaseRootCredentials.web"), base_secrets=_secret()
    ),
    # ---- production
    "prod with four servers": Case("prod", {"consul.serverReplicas": 4}, variant={"consul.serverReplicas": 5}),
    "prod with one server": Case("prod", {"consul.serverReplicas": 1}),
    "prod with the root in vault": Case(
        "prod",
        {"pki.rootCustody": "vault", "pki.awsKms": DELETE, "pki.rootCrlUrls": DELETE, "pki.rootIssuerUrls": DELETE},
    ),
    "prod image by tag": Case("prod", {"images.vaultAgent": "hashicorp/vault:1.20.1"}),
    "prod image unset": Case("prod", {"images.consul": DELETE}),
    "prod plain http crl url, second": Case("prod", {"pki.rootCrlUrls[1]": "http://pki.example.com/root.crl"}),
    "staging plain http kubernetes host": Case("peer-east", {"vault.kubernetesHost": "http://k8s:6443"}),
    # ---- rotation
    "gossip key rotation without the engine": Case("dev", {"rotation.gossipKeyVersion": 2}),
    "bootstrap token rotation without the engine": Case("dev", {"rotation.bootstrapTokenVersion": 2}),
    "replication token rotation outside a federation": Case("dev", {"rotation.replicationTokenVersion": 2}),
    "replication token rotation in a primary without the engine": Case(
        "fed-primary", {"rotation.replicationTokenVersion": 2}
    ),
    "server tls generation of a level the offline root signs": Case(
        "prod",
        {"rotation.serverTlsGeneration": 2},
        variant={"pki.chains.server.levels": 1, "pki.chains.server.intermediateTtls": ["17520h"]},
    ),
    "connect root generation of a level the offline root signs": Case(
        "prod",
        {"rotation.connectRootGeneration": 2},
        variant={
            "pki.chains.connect.levels": 1,
            "pki.chains.connect.intermediateTtls": ["17520h"],
            "consul.address": "https://localhost:8501",
        },
    ),
    "connect root generation without consul's api": Case("dev", {"rotation.connectRootGeneration": 2}),
    "connect root generation in a federation secondary": Case(
        "fed-secondary", {"rotation.connectRootGeneration": 2}, variant={"consul.address": "https://localhost:8501"}
    ),
    "engine without a consul address": Case("dev", {f"{ENGINE}.enabled": True}),
    "engine with an external vault and no engine address": Case(
        "peer-east",
        {f"{ENGINE}.consulAddress": DELETE},
        variant={
            f"{ENGINE}.enabled": True,
            f"{ENGINE}.consulAddress": "consul.example.com:8501",
            "rotation.gossipKeyVersion": 2,
        },
    ),
    "engine ttls over their max": Case(
        "peer-east",
        {f"{ENGINE}.operatorTtl": "8h1s", f"{ENGINE}.providerTtl": "3h", f"{ENGINE}.jobTtl": "31m"},
        variant={
            f"{ENGINE}.enabled": True,
            f"{ENGINE}.consulAddress": "consul.example.com:8501",
            f"{ENGINE}.operatorTtl": "8h",
            f"{ENGINE}.providerTtl": "2h",
            f"{ENGINE}.jobTtl": "30m",
        },
    ),
    "engine job ttl over its max": Case(
        "dev",
        {f"{ENGINE}.jobTtl": "1h"},
        variant={f"{ENGINE}.enabled": True, "consul.address": "https://localhost:8501"},
    ),
}

STAGING_DATABASE = {"apps[0].database": {**DATABASE, "tls": {"caCertPem": PEM}}}
STAGING_CREDENTIALS = _secret("databaseRootCredentials", "databaseRootCredentials.storefront")
ENTERPRISE_DATABASES = {
    "vault.enterprise": True,
    "apps[0].database": DATABASE,
    "apps[1].database": {**DATABASE, "automatedRootRotation": {"period": "10s"}},
}
BOTH_CREDENTIALS = CREDENTIALS | {"databaseRootCredentials.api"}
ROTATION = "apps[1].database.automatedRootRotation"

DATABASE_RULES: dict[str, Case] = {
    "staging database without full verification": Case(
        "peer-east",
        {"apps[0].database.tls.mode": "verify-ca"},
        variant=STAGING_DATABASE,
        secrets=STAGING_CREDENTIALS,
    ),
    "staging database without a ca": Case(
        "peer-east",
        {"apps[0].database.tls.caCertPem": DELETE},
        variant=STAGING_DATABASE,
        secrets=STAGING_CREDENTIALS,
    ),
    "prod database with the default tls and no ca": Case(
        "prod",
        {"apps[1].database": DATABASE},
        secrets=_secret("databaseRootCredentials", "databaseRootCredentials.checkout"),
        base_secrets=_secret(),
    ),
    "dev database without verification, then rotation on vault community": Case(
        "dev",
        {"apps[0].database.tls.mode": "disable", "apps[0].database.automatedRootRotation": {"period": "1h"}},
        variant=DEV_DATABASE,
        secrets=CREDENTIALS,
    ),
    "rotation period one second under the minimum, after a database without rotation": Case(
        "dev", {f"{ROTATION}.period": "9s"}, variant=ENTERPRISE_DATABASES, secrets=BOTH_CREDENTIALS
    ),
    "rotation with period and schedule": Case(
        "dev", {f"{ROTATION}.schedule": "0 3 * * SAT"}, variant=ENTERPRISE_DATABASES, secrets=BOTH_CREDENTIALS
    ),
    "rotation with neither period nor schedule": Case(
        "dev", {ROTATION: {}}, variant=ENTERPRISE_DATABASES, secrets=BOTH_CREDENTIALS
    ),
    "rotation window without a schedule": Case(
        "dev", {f"{ROTATION}.window": "2h"}, variant=ENTERPRISE_DATABASES, secrets=BOTH_CREDENTIALS
    ),
    "rotation window one second under an hour": Case(
        "dev",
        {f"{ROTATION}.window": "3599s"},
        variant={**ENTERPRISE_DATABASES, ROTATION: {"schedule": "0 3 * * SAT", "window": "1h"}},
        secrets=BOTH_CREDENTIALS,
    ),
}
JWT_PERMISSION = "mesh.intentions[0].permissions[0].jwt"
"""The dev stack's api → payments permission (POST /payments.v1.Payments/), JWT-authorized in the variants."""
REMOTE_PROVIDER = {
    "name": "corp",
    "kind": "remote",
    "issuer": "https://login.example.com/",
    "jwksUri": "https://login.example.com/keys",
    "jwksCaCertPem": OFFLINE_PLACEHOLDER_PEM,
    "audiences": ["mesh-dc1"],
}
JWT = {"mesh.jwtProviders": [{"name": "vault"}, REMOTE_PROVIDER], JWT_PERMISSION: {"provider": "vault"}}
"""A Vault identity-token provider required by the api → payments permission (api is the app ``api``), and a
remote provider."""
JWT_EDGE = {
    **JWT,
    "mesh.jwtProviders[0]": {
        "name": "vault",
        "keyRotationPeriod": "1m",
        "keyVerificationTtl": "10m",
        "tokenTtl": "10m",
        "jwksCacheDuration": "59s",
    },
}
"""Every Vault duration at the edge Vault and this project accept: a one-minute rotation, a verification TTL of
ten rotations, a token TTL of ten minutes equal to it, a cache one second under the rotation."""
SECOND_CALLER = {"name": "api-two", "namespace": "api-two", "serviceAccount": "api-two", "service": "api"}

JWT_RULES: dict[str, Case] = {
    # ---- jwt_rules.py: providers
    "jwt provider declared twice": Case("dev", {"mesh.jwtProviders[2]": {"name": "vault"}}, variant=JWT),
    "remote jwt provider without issuer, key set, CA or audiences": Case(
        "dev", {"mesh.jwtProviders[1]": {"name": "corp", "kind": "remote"}}, variant=JWT
    ),
    "remote jwt provider with the vault-identity settings": Case(
        "dev",
        {
            "mesh.jwtProviders[1].tokenTtl": "15m",
            "mesh.jwtProviders[1].keyRotationPeriod": "24h",
            "mesh.jwtProviders[1].keyVerificationTtl": "24h",
        },
        variant=JWT,
    ),
    "remote jwt key set over plain http in dev": Case(
        "dev", {"mesh.jwtProviders[1].jwksUri": "http://login.example.com/keys"}, variant=JWT
    ),
    "remote jwt key set over plain http in prod": Case(
        "prod", {"mesh.jwtProviders[0].jwksUri": "http://login.example.com/keys"},
        variant={"mesh.jwtProviders": [REMOTE_PROVIDER]},
    ),
    "remote jwt key set cached an hour and a second": Case(
        "dev", {"mesh.jwtProviders[1].jwksCacheDuration": "3601s"}, variant=JWT
    ),
    "vault-identity jwt provider with the remote settings": Case(
        "dev",
        {
            "mesh.jwtProviders[0].jwksUri": "https://vault.example.com/keys",
            "mesh.jwtProviders[0].jwksCaCertPem": OFFLINE_PLACEHOLDER_PEM,
            "mesh.jwtProviders[0].audiences": ["mesh"],
        },
        variant=JWT,
    ),
    "vault-identity jwt provider with Vault over plain http": Case(
        "dev", {"vault.address": "http://vault.vault.svc:8200", "vault.tls": DELETE}, variant=JWT
    ),
    "vault-identity jwt provider without Vault's CA": Case("dev", {"vault.tls": DELETE}, variant=JWT),
    "jwt key rotation one second under a minute": Case(
        "dev", {"mesh.jwtProviders[0].keyRotationPeriod": "59s"}, variant=JWT_EDGE
    ),
    "jwt key verification one second over ten rotations": Case(
        "dev", {"mesh.jwtProviders[0].keyVerificationTtl": "601s"}, variant=JWT_EDGE
    ),
    "jwt token a minute longer than its key's verification": Case(
        "dev", {"mesh.jwtProviders[0].tokenTtl": "11m"}, variant=JWT_EDGE
    ),
    "jwt token one second under ten minutes": Case("dev", {"mesh.jwtProviders[0].tokenTtl": "599s"}, variant=JWT),
    "jwt token one second over an hour": Case("dev", {"mesh.jwtProviders[0].tokenTtl": "3601s"}, variant=JWT),
    "jwt key set cached as long as a key rotation": Case(
        "dev", {"mesh.jwtProviders[0].jwksCacheDuration": "60s"}, variant=JWT_EDGE
    ),
    "jwt providers in a federation secondary": Case("fed-secondary", {"mesh.jwtProviders": [{"name": "vault"}]}),
    # ---- jwt_rules.py: permissions
    "jwt permission naming an undeclared provider": Case("dev", {f"{JWT_PERMISSION}.provider": "okta"}, variant=JWT),
    "jwt permission with the config-entries rendering": Case(
        "dev",
        {"consul.intentionsRendering": "config-entries", "consul.address": "https://localhost:8501"},
        variant=JWT,
    ),
    "remote jwt permission without claims": Case("dev", {JWT_PERMISSION: {"provider": "corp"}}, variant=JWT),
    "vault-identity jwt permission from a service no app runs": Case(
        "dev",
        {
            "mesh.intentions[2]": {
                "source": "payments",
                "destination": "api",
                "permissions": [{"pathPrefix": "/", "jwt": {"provider": "vault"}}],
            }
        },
        variant=JWT,
    ),
    "vault-identity jwt permission from a service two apps run": Case(
        "dev", {"apps[2]": SECOND_CALLER}, variant=JWT
    ),
    "vault-identity jwt permission verifying a claim the provider sets": Case(
        "dev",
        {f"{JWT_PERMISSION}.claims": [{"path": ["team"], "value": "pay"}, {"path": ["k8s_namespace"], "value": "x"}]},
        variant=JWT,
    ),
    # ---- models.py: a claim's shape
    "jwt claim with an empty path and a key with a space": Case(
        "dev",
        {f"{JWT_PERMISSION}.claims": [{"path": [], "value": "pay"}, {"path": ["a b"], "value": "x"}]},
        variant=JWT,
    ),
}

CASES.update(CONSISTENCY)
CASES.update(DATABASE_RULES)
CASES.update(JWT_RULES)


def _problems(config: Mapping[str, Any], secrets: frozenset[str]) -> list[str]:
    try:
        load_settings(config, secrets)
    except SettingsError as error:
        return str(error).splitlines()
    return []


def pinned(name: str, lines: list[str]) -> list[str]:
    """The checked-in text of case ``name`` (tests/snapshots.py)."""
    return snapshots.pinned(SNAPSHOT, name, lines, "UPDATE_SNAPSHOTS=1 pytest tests/settings/test_every_problem.py")


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_is_refused_with_exactly_its_problems(name: str) -> None:
    case = CASES[name]
    assert _problems(*case.base()) == [], f"{name}: the base (stack {case.stack!r} + variant) must be valid"
    lines = _problems(*case.config())
    assert lines, f"{name}: the change was accepted"
    assert lines == pinned(name, lines), (
        f"{name}: the problems changed; if meant, regenerate tests/settings/snapshots/problems.json "
        "(UPDATE_SNAPSHOTS=1 pytest tests/settings/test_every_problem.py) and review every changed line"
    )


def test_snapshot_has_no_stale_cases() -> None:
    assert sorted(json.loads(SNAPSHOT.read_text())) == sorted(CASES)
