"""Further violating cases per rule, each with its compliant twin: the table behind ``test_rule_cases``.

``violations.py`` shows every rule firing once; a rule has more finding branches than that (a second
property, a second resource type, a threshold, an entry of a list). A mutant that rewords, drops or
inverts a branch no case reaches survives (issue 19: mutmut left 27 % of ``tokens.py`` alive that way).
So each entry here is a named case whose findings are compared WHOLE with ``snapshots/case_findings.json``
(key ``policy:case``), and the case's compliant twin (the same resource with the one weakness removed,
or the unchanged checked-in stack) must make the rule report nothing, so a rule that fires on everything
does not pass either.

Write cases at the edges a rule draws: exactly at a limit (the twin) and one over (the case); the offending
entry of a list first, last and after a skipped one; paths with and without slashes. Shapes are
resources as the program (or a careless change) would register them, built with the helpers of
``test_resource_rules`` / ``test_stack_rules``.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from secure_mesh_policy import types as t
from secure_mesh_policy.transport import VAULT_CONNECTION

from secure_mesh.pki.certificates import NameConstraints
from tests.mocks import pki as pki_mocks
from tests.onboarding.stacks import onboarding_run
from tests.pki import test_connect_generations as connect_generations
from tests.pki.helpers import OfflineRoot
from tests.policy.support import Subject, private_subjects, subject, urn_of
from tests.policy.test_resource_rules import (
    PEERED,
    TIDY,
    VAULT_PKI_SECRET,
    crd,
    db_connection,
    good_k8s_role,
    good_role,
    policy_doc,
    release,
    vso_pki_secret,
)
from tests.policy.test_stack_rules import (
    POLICY,
    ROLE,
    add,
    connection_writer,
    drop,
    edit_policy,
    named,
    set_props,
    set_value,
    stack_subjects,
)
from tests.policy.violations import Violating, shape, weakened

Change = Callable[[list[Subject]], list[Subject]]
CRD_JWT = "kubernetes:consul.hashicorp.com/v1alpha1:JWTProvider"


@dataclass(frozen=True)
class Twin:
    """A named violating case of one rule and its compliant twin."""

    policy: str
    id: str
    bad: Violating
    """The resources the rule must report; its findings are pinned whole under ``policy:id``."""
    good: Violating | None
    """The same resources without the weakness (None: ``bad.baseline``, the unchanged checked-in stack)."""

    @property
    def key(self) -> str:
        return f"{self.policy}:{self.id}"


def twin(
    policy: str,
    id: str,
    type_token: str,
    bad: Mapping[str, Any],
    good: Mapping[str, Any],
    *,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
) -> Twin:
    """One hand-written resource (named after the case) in its violating and its compliant shape."""
    return Twin(
        policy,
        id,
        shape(type_token, bad, name=id, stack=stack, config=config),
        shape(type_token, good, name=id, stack=stack, config=config),
    )


def stack_twin(
    policy: str,
    id: str,
    bad: Callable[[], list[Subject]],
    good: Callable[[], list[Subject]],
    *,
    blame: str,
    config: Mapping[str, Any] | None = None,
) -> Twin:
    """Hand-written resources for a stack rule, violating and compliant."""
    return Twin(policy, id, Violating(bad, blame, dict(config or {})), Violating(good, blame, dict(config or {})))


def weaker(
    policy: str, id: str, change: Change, *, blame: str, stack: str = "dev", config: Mapping[str, Any] | None = None
) -> Twin:
    """A checked-in stack with one change; the twin is the unchanged stack."""
    return Twin(policy, id, weakened(change, blame=blame, stack=stack, config=config), None)


def twin_of_stack(policy: str, id: str, bad: Change, good: Change, *, blame: str, stack: str = "dev") -> Twin:
    """A checked-in stack with one change, and as its twin the same stack with the harmless variant of it."""
    return Twin(policy, id, weakened(bad, blame=blame, stack=stack), weakened(good, blame=blame, stack=stack))


def _rotating_root() -> list[Subject]:
    """The dev stack while Consul's root switches to generation 2 (``rotation.connectRootGeneration``; the record
    shows 1, so the mesh CA policy holds the cross-sign grant on generation 1's mount)."""
    return private_subjects(connect_generations.run("dev", 2, 1).resources)


def rotating_root_twin(policy: str, id: str, bad: Change, good: Change, *, blame: str) -> Twin:
    """The stack switching Consul's root with one change, and as its twin the same stack with the harmless variant."""
    return Twin(
        policy, id, Violating(lambda: bad(_rotating_root()), blame), Violating(lambda: good(_rotating_root()), blame)
    )


MESH_CA = "secure-mesh-identities-mesh-ca-policy"
OLD_ROOT, NEW_ROOT = "consul/connect/pki_int2", "consul/connect/pki_int2_g2"
"""The connect root's generation 1 and 2 mounts in the dev stack."""


def _unchanged(subjects: list[Subject]) -> list[Subject]:
    return subjects


SERVER_ISSUE = "consul/server/pki_int2/issue/consul-server"
"""The dev stack's server role's issue path."""
TOKEN_POLICIES = ["consul-dc1-server"]
P = "secure-mesh-pki"
AUTH_DELEGATOR_BINDING = "secure-mesh-identities-vault-clients-auth-delegator"
LEVEL = {
    "backend": "consul/pki_root",
    "maxPathLength": 0.0,
    "permittedDnsDomains": ["consul"],
    "permittedUriDomains": [".consul"],
    "excludedIpRanges": ["0.0.0.0/0", "::/0"],
    "useCsrValues": False,
}
"""A compliant level-1 CA signed in Vault (the mesh chain's shape)."""
SCOPED = {"useCsrCommonName": False, "useCsrSans": False}
"""What ``good_role`` needs to pass PKI-ROLE-HYGIENE (scope)."""
CONSUL_TOKEN = "0b5f1a7e-3c3d-4a56-9e0f-1d2c3b4a5f6e"
REPLICATION_UUID = "5e2a4a5c-1d2e-4f3a-9b8c-7d6e5f4a3b2c"
FEDERATED_SERVER_NAMES = ["consul-consul-server", "consul-consul-server.consul", "consul-consul-server.consul.svc"]
DEV_DC2_NAMES = ["dc2.consul", "consul-consul-server", "consul-consul-server.consul", "consul-consul-server.consul.svc"]
"""The dev stack's server names with another datacenter's: the shape of a primary's role for a secondary."""
"""The server Service's names every datacenter of the example federation shares (same fullname and namespace)."""
DEFAULT_DENY_CRD = {
    "apiVersion": "consul.hashicorp.com/v1alpha1",
    "kind": "ServiceIntentions",
    "metadata": {"namespace": "consul", "name": "default-deny"},
    "spec": {"destination": {"name": "*"}, "sources": [{"action": "deny", "name": "*"}]},
}
"""The primary's default deny, as the program renders it."""


def _extend(subjects: list[Subject], name: str, key: str, *more: Any) -> list[Subject]:
    """Append entries to one list property of a resource."""
    target = named(subjects, name)
    target.props = {**target.props, key: [*target.props[key], *more]}
    return subjects


def _group_reviewer(subjects: list[Subject]) -> list[Subject]:
    """The auth-delegator binding also granted to every service account of the cluster (a Group)."""
    return _extend(subjects, AUTH_DELEGATOR_BINDING, "subjects", {"kind": "Group", "name": "system:serviceaccounts"})


def _deployment(env: list[dict[str, Any]], group: str = "containers") -> dict[str, Any]:
    """A Deployment whose second container carries ``env`` (the first has none), in pod template ``group``."""
    containers = [{"name": "app", "image": "app:1"}, {"name": "helper", "image": "helper:1", "env": env}]
    return {
        "metadata": {"name": "orders", "namespace": "orders"},
        "spec": {"template": {"metadata": {"labels": {"app": "orders"}}, "spec": {group: containers}}},
    }


AGENT = "vault.hashicorp.com/"
PINNED_APP = f"ghcr.io/example/app:1.0@sha256:{'b' * 64}"
PROD = {"environment": "prod"}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE_DEFAULTS_ENTRY = "consul:index/configEntryServiceDefaults:ConfigEntryServiceDefaults"


def _agent_pod(**annotations: str) -> dict[str, Any]:
    """A Deployment whose pods get an injected Vault agent, with the given ``vault.hashicorp.com/`` annotations."""
    merged = {
        f"{AGENT}agent-inject": "true",
        f"{AGENT}role": "orders",
        **{AGENT + k: v for k, v in annotations.items()},
    }
    return {
        "metadata": {"name": "orders", "namespace": "orders"},
        "spec": {"template": {"metadata": {"annotations": merged}, "spec": {"containers": [{"name": "app"}]}}},
    }


def _one(type_token: str, name: str, props: Mapping[str, Any], *, stack: str = "dev") -> Callable[[], list[Subject]]:
    """A stack of one hand-written resource."""
    return lambda: [subject(type_token, name, dict(props), stack)]


def _servers_token(token: str) -> Callable[[], list[Subject]]:
    """A custom chart's release with a replication token under a list (``servers[0].replicationToken``)."""
    values = {"servers": [{"replicationToken": token}]}
    return _one(t.HELM_RELEASE, "list-values", {"chart": "custom", "values": values})


def _with_consul(type_token: str, name: str, props: Mapping[str, Any]) -> Callable[[], list[Subject]]:
    """A hand-written resource next to the Consul release (whose values name a private Vault CA)."""
    return lambda: [subject(t.HELM_RELEASE, "consul", release()), subject(type_token, name, dict(props))]


def _vault_chart(values: Mapping[str, Any]) -> dict[str, Any]:
    """The Vault chart (vault-helm 0.30.1) as an injector/CSI-only release."""
    return {"chart": "vault", "version": "0.30.1", "name": "vault", "namespace": "vault", "values": dict(values)}


CACERT = {"VAULT_CACERT": "/vault/tls/ca.crt"}
LOG_LEVEL = {"VAULT_LOG_LEVEL": "debug"}
AZURE_SPC = {"spec": {"provider": "azure", "parameters": {"vaultSkipTLSVerify": "true"}}}
"""Another provider's SecretProviderClass (its parameters mean nothing to Vault)."""


def _spc(**parameters: str) -> dict[str, Any]:
    """A Vault SecretProviderClass with these parameters (Vault's https address always)."""
    return {"spec": {"provider": "vault", "parameters": {"vaultAddress": "https://vault.vault.svc:8200", **parameters}}}


def _with_vault_chart(vault_chart: dict[str, Any], chart: str) -> Callable[[], list[Subject]]:
    """The Consul release (a private Vault CA), a Vault SecretProviderClass without a CA of its own, and a release
    of ``chart`` with the Vault chart's values."""
    return lambda: [
        subject(t.HELM_RELEASE, "consul", release()),
        subject(t.HELM_RELEASE, "vault", {**vault_chart, "chart": chart}),
        subject(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc()),
    ]


def _consul_annotations(text: str) -> Callable[[], list[Subject]]:
    """The Consul release with its Vault agent annotations (a YAML map in a string) replaced."""
    return lambda: [subject(t.HELM_RELEASE, "consul", release(global__secretsBackend__vault__agentAnnotations=text))]


def _rotations(*, ordered: bool) -> list[Subject]:
    """Two database connections and their rotate-root Endpoints (the first only when ``ordered``)."""
    first = subject(t.DB_CONNECTION, "orders-db", {"backend": "consul/database", "name": "orders", "namespace": "apps"})
    second = subject(t.DB_CONNECTION, "orders-db-2", {"backend": "consul/database", "name": "orders2"})
    unrelated = subject(t.K8S_SECRET, "unrelated", {"metadata": {"name": "unrelated"}})
    other = unrelated.urn
    rotate_second = subject(
        t.GENERIC_ENDPOINT,
        "orders-db-2-rotate",
        {"path": "consul/database/rotate-root/orders2", "dataJson": "{}"},
        dependencies=[second.urn if ordered else other],
    )
    found = [first, second, unrelated, rotate_second]
    if ordered:
        rotate_first = subject(
            t.GENERIC_ENDPOINT,
            "orders-db-rotate",
            {"path": "/consul/database/rotate-root/orders/", "namespace": "apps/", "dataJson": "{}"},
            dependencies=[first.urn],
        )
        found.append(rotate_first)
    return found


def _peering_token() -> str:
    """A token as Consul's generate-token endpoint returns it (the mocks' format)."""
    from tests.mocks.consul import peering_token_value

    return str(peering_token_value("east"))


def _token_in_args(arg: str) -> dict[str, Any]:
    """A Deployment whose one container takes ``arg`` as its second argument."""
    container = {"name": "dial", "image": "dialer:1", "args": ["--dial", arg]}
    return {"metadata": {"name": "dialer"}, "spec": {"template": {"spec": {"containers": [container]}}}}


def _gateway_stack(*, peer_through: bool, token_after_mesh: bool = True) -> list[Subject]:
    """A federation release, then a peering release with its mesh entry, proxy defaults and the acceptor's token."""
    gateways = {"meshGateway__enabled": True, "meshGateway__replicas": 2.0}
    federated = release(global__federation__enabled=True, **gateways)
    peered = release(**{**PEERED, **gateways})
    mesh = subject(t.CRD_MESH, "mesh", _crd("Mesh", "mesh", {"peering": {"peerThroughMeshGateways": peer_through}}))
    defaults = _crd("ProxyDefaults", "global", {"meshGateway": {"mode": "remote"}})
    token = subject(
        "consul:index/peeringToken:PeeringToken",
        "west-token",
        {"peerName": "west"},
        dependencies=[mesh.urn] if token_after_mesh else [],
    )
    return [
        subject(t.HELM_RELEASE, "federated", federated),
        subject(t.HELM_RELEASE, "peered", peered),
        mesh,
        subject(t.CRD_PROXY_DEFAULTS, "global", defaults),
        token,
    ]


def transport(
    id: str, bad: Callable[[], list[Subject]], good: Callable[[], list[Subject]], blame: str, **kw: Any
) -> Twin:
    return stack_twin("csl-vault-ca-transport", id, bad, good, blame=blame, **kw)


def extra_config(id: str, agent: str, bad: Mapping[str, Any], good: Mapping[str, Any]) -> Twin:
    """An agent extraConfig (a JSON string in the Consul chart's values) that CSL-EXTRA-CONFIG must report."""
    return twin(
        "csl-extra-config",
        id,
        t.HELM_RELEASE,
        release(**{f"{agent}__extraConfig": json.dumps(bad)}),
        release(**{f"{agent}__extraConfig": json.dumps(good)}),
    )


def _ca_config(key: str, value: bool) -> str:
    """The Connect CA's ``additionalConfig`` (a JSON string) with one TLS-verification key set."""
    return json.dumps({"connect": [{"ca_config": [{key: value}]}]})


def consul_release(id: str, policy: str, bad: Mapping[str, Any], good: Mapping[str, Any], **kw: Any) -> Twin:
    """The Consul release with values changed (``release`` keys: dotted with ``__``, None deletes)."""
    return twin(policy, id, t.HELM_RELEASE, release(**bad), release(**good), **kw)


def _service(kind: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "consul-ui-ext", "namespace": "consul"}, "spec": {"type": kind, **spec}}


def _crd(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Consul config entry as its CRD (consul.hashicorp.com/v1alpha1)."""
    return {
        "apiVersion": "consul.hashicorp.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "consul"},
        "spec": dict(spec),
    }


MESH_TLS = {"incoming": {"tlsMinVersion": "TLSv1_2"}, "outgoing": {"tlsMinVersion": "TLSv1_3"}}
TPROXY = "consul.hashicorp.com/transparent-proxy"


def _meshed(type_token: str, path: tuple[str, ...], **annotations: str) -> dict[str, Any]:
    """A meshed workload (connect-inject on) with annotations on its pod template at ``path``."""
    template = {
        "metadata": {"annotations": {"consul.hashicorp.com/connect-inject": "true", **annotations}},
        "spec": {"containers": [{"name": "app"}]},
    }
    for key in reversed(path):
        template = {key: template}
    return {"metadata": {"name": "orders", "namespace": "orders"}, **template}


def _consul_ca(subjects: list[Subject], **ca_config: str) -> list[Subject]:
    """The Consul release with keys of its Connect CA's ca_config (in additionalConfig) changed."""
    release = named(subjects, "secure-mesh-consul-release")
    connect = release.props["values"]["global"]["secretsBackend"]["vault"]["connectCA"]
    document = json.loads(connect["additionalConfig"])
    document["connect"][0]["ca_config"][0].update(ca_config)
    return set_value(subjects, "global.secretsBackend.vault.connectCA.additionalConfig", json.dumps(document))


def _release_without_connect_ca_first(subjects: list[Subject]) -> list[Subject]:
    """A second Consul release, without a Vault Connect CA, registered before the stack's own."""
    release = named(subjects, "secure-mesh-consul-release")
    values = json.loads(json.dumps(release.props["values"]))
    del values["global"]["secretsBackend"]["vault"]["connectCA"]
    other = subject(t.HELM_RELEASE, "secure-mesh-consul-other-release", {**release.props, "values": values})
    return [other, *subjects]


def _config_pair(
    policy: str,
    id: str,
    bad: Change,
    good: Change,
    *,
    blame: str,
    config: Mapping[str, Any],
    stack: str = "dev",
) -> Twin:
    """A checked-in stack with one change, its twin the harmless variant, both under the rule's ``config``."""
    return Twin(
        policy,
        id,
        weakened(bad, blame=blame, stack=stack, config=config),
        weakened(good, blame=blame, stack=stack, config=config),
    )


def _consul_ca_exactly(subjects: list[Subject], **ca_config: str) -> list[Subject]:
    """The Consul release with its Connect CA's ca_config (in additionalConfig) exactly ``ca_config``."""
    document = {"connect": [{"ca_config": [dict(ca_config)]}]}
    return set_value(subjects, "global.secretsBackend.vault.connectCA.additionalConfig", json.dumps(document))


SERVER_L1_CA_URL = "https://vault.vault.svc.cluster.local:8200/v1/consul/server/pki_int1/ca"
"""The dev stack's server level 1's issuing-certificate URL."""


def _federated_as(subjects: list[Subject], primary: str) -> list[Subject]:
    """The Consul release in a WAN federation whose primary is ``primary``, its own datacenter left to the chart."""
    subjects = set_value(subjects, "global.federation", {"enabled": True, "primaryDatacenter": primary})
    return set_value(subjects, "global.datacenter", None)


def _without_prop(subjects: list[Subject], resource: str, prop: str) -> list[Subject]:
    """The resource ``resource`` without its property ``prop``."""
    target = named(subjects, resource)
    target.props = {k: v for k, v in target.props.items() if k != prop}
    return subjects


def _without_metadata_name(subjects: list[Subject], resource: str) -> list[Subject]:
    """The custom resource ``resource`` without metadata.name."""
    target = named(subjects, resource)
    metadata = {k: v for k, v in target.props["metadata"].items() if k != "name"}
    target.props = {**target.props, "metadata": metadata}
    return subjects


G = "secure-mesh-pki-server"
"""The server chain's resource names (``<component>-<chain>``)."""
GENERATION_TYPES = {"csr": t.PKI_INT_REQUEST, "issuer": t.PKI_ISSUER}


def _generations(*parts: tuple[str, bool]) -> list[Subject]:
    """Server-chain CA resources ``<G>-<suffix>``, each protected or not."""
    return [
        subject(GENERATION_TYPES[suffix.rsplit("-", 1)[-1]], f"{G}-{suffix}", {"backend": "b"}, protect=protected)
        for suffix, protected in parts
    ]


def _with_kv_policy(paths: dict[str, list[str]]) -> Callable[[], list[Subject]]:
    """The KV-v2 mount consul/kv and one policy ``kv-reader`` with ``paths``."""
    return lambda: [
        subject(t.MOUNT, "kv", {"path": "consul/kv", "type": "kv-v2"}),
        subject(t.POLICY, "kv-reader", {"name": "kv-reader", "policy": policy_doc(paths)}),
    ]


CA_READER_ROLE = "secure-mesh-identities-ca-reader-role"
"""The dev stack's Kubernetes-auth role for every service account (it may only read CAs)."""


def _ca_reader_of(mount: str, readable: str) -> Callable[[], list[Subject]]:
    """A PKI mount at ``mount`` and a wildcard Kubernetes-auth role whose one policy reads ``readable``."""
    return lambda: [
        subject(t.MOUNT, "pki", {"path": mount, "type": "pki"}),
        subject(t.POLICY, "ca-read", {"name": "ca-read", "policy": policy_doc({readable: ["read"]})}),
        subject(
            t.K8S_AUTH_ROLE,
            "ca-reader",
            {"backend": "kubernetes", "roleName": "ca-reader", "boundServiceAccountNames": ["*"],
             "boundServiceAccountNamespaces": ["*"], "tokenPolicies": ["ca-read"]},
        ),
    ]


def _kv_mounts(*mounts: tuple[str, bool | None]) -> list[Subject]:
    """KV-v2 mounts ``kv-<n>`` by path, each with (True/False: cas_required set so, or left unset) or without (None)
    a settings resource ``kv-settings-<n>``."""
    found = []
    for index, (path, cas) in enumerate(mounts):
        found.append(subject(t.MOUNT, f"kv-{index}", {"path": path, "type": "kv-v2"}))
        if cas is not None:
            settings = {"mount": path, **({"casRequired": True} if cas else {})}
            found.append(subject(t.KV_BACKEND_V2, f"kv-settings-{index}", settings))
    return found


def _onboarding(stack: str) -> list[Subject]:
    """A private copy of the onboarding stack (apps with a database) as the policy engine sees it."""
    return private_subjects(onboarding_run(stack).resources)


def _endpoint_without_dependencies(subjects: list[Subject]) -> list[Subject]:
    """The orders database's rotate-root Endpoint no longer waits for its connection."""
    named(subjects, "secure-mesh-onboarding-orders-db-rotate-root").dependencies = []
    return subjects


def _pinned(name: str, tag: str = "1.4.1") -> dict[str, str]:
    """A vault-secrets-operator chart image, the digest riding in the tag (vault-helm style repository:tag)."""
    return {"repository": f"hashicorp/{name}", "tag": f"{tag}@sha256:{'a' * 64}"}


def _vso_chart(manager: Mapping[str, str]) -> dict[str, Any]:
    """The vault-secrets-operator chart (1.4.1) with its manager image and a pinned kube-rbac-proxy."""
    values = {
        "controller": {"manager": {"image": dict(manager)}, "kubeRbacProxy": {"image": _pinned("kube-rbac-proxy")}}
    }
    return {"chart": "vault-secrets-operator", "version": "1.4.1", "name": "vso", "namespace": "vso", "values": values}


KMS_LEVEL = {
    "mount": "consul/connect/pki_int1",
    "ttl_seconds": 63072000.0,
    "max_path_length": 2.0,
    "permitted_dns_domains": ["consul"],
    "permitted_uri_domains": [".consul"],
    "excluded_ip_ranges": ["0.0.0.0/0", "::/0"],
    "crl_distribution_points": ["http://pki.example.com/root.crl"],
    "issuing_certificates": ["http://pki.example.com/root.crt"],
}
"""A level 1 the KMS root key signs, as the program's KmsSignedLevel1 dynamic resource declares it."""


@functools.cache
def _offline_signed(constrained: bool) -> str:
    """A level-1 certificate an operator signed offline (with or without name constraints), as a PEM."""
    constraints = NameConstraints(("apps.example.com",), (), (), ("0.0.0.0/0", "::/0")) if constrained else None
    csr = pki_mocks.make_csr("extra", "extra level 1 CA", "secure-mesh")
    return OfflineRoot().sign(csr, 0, constraints=constraints)


def _offline_import(constrained: bool) -> Callable[[], list[Subject]]:
    """A set-signed that imports an offline-signed level 1 into a mount no chart path or role uses (yet)."""
    props = {"backend": "consul/extra/pki_int1", "certificate": _offline_signed(constrained)}
    return lambda: [subject(t.PKI_SET_SIGNED, "extra-l1-set-signed", props)]


def _second_watched_connection(subjects: list[Subject]) -> list[Subject]:
    """The orders address watcher's policy also updating a second connection (narrowly, like the first)."""
    policy = named(subjects, "secure-mesh-onboarding-orders-db-address-watcher-policy")
    document = json.loads(policy.props["policy"])
    document["path"]["consul/database/config/billing-billing"] = {
        "allowed_parameters": {"connection_url": ["*/billing?sslmode=verify-full"]},
        "capabilities": ["update"],
    }
    policy.props = {**policy.props, "policy": json.dumps(document)}
    return subjects


def _secondary_datacenter(with_mesh: bool) -> Callable[[], list[Subject]]:
    """A WAN-federation secondary's Consul release, with or without a mesh entry of its own."""
    federated = release(
        global__datacenter="dc2", global__federation__enabled=True, global__federation__primaryDatacenter="dc1"
    )
    mesh = _crd("Mesh", "mesh", {"tls": MESH_TLS, "transparentProxy": {"meshDestinationsOnly": True}})
    return lambda: [
        subject(t.HELM_RELEASE, "consul", federated),
        *([subject(t.CRD_MESH, "mesh", mesh)] if with_mesh else []),
    ]


RBAC = "rbac.authorization.k8s.io"
REVIEW_RULE = {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]}
NEAR_REVIEW_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["pods"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["get"]},
]
"""Rules that each lack one part of creating tokenreviews (the group, the resource or the verb)."""
GROUP = {"kind": "Group", "name": "system:authenticated"}
SUBJECT_ACCESS_REVIEW_RULE = {
    "apiGroups": ["authorization.k8s.io"],
    "resources": ["subjectaccessreviews"],
    "verbs": ["create"],
}
"""With REVIEW_RULE, what system:auth-delegator grants (one rule per API group: a rule grants the product of its
groups and resources)."""


def _rbac(
    role: tuple[str, list[dict[str, Any]]] | None,
    role_ref: tuple[str, str],
    subjects: list[dict[str, str]],
    *,
    namespace: str | None = None,
    jwt_subject: str | None = None,
) -> Callable[[], list[Subject]]:
    """The prod stack plus a ClusterRole (name, rules) and a binding of it (a RoleBinding in ``namespace``).

    ``jwt_subject``: the auth config holds a long-lived reviewer JWT issued to that service account.
    """

    def build() -> list[Subject]:
        found = stack_subjects("prod")
        if jwt_subject is not None:
            claims = base64.urlsafe_b64encode(json.dumps({"sub": jwt_subject}).encode()).rstrip(b"=").decode()
            set_props(
                found,
                "secure-mesh-identities-kubernetes-auth-config",
                tokenReviewerJwt=f"eyJhbGciOiJSUzI1NiJ9.{claims}.c2ln",
            )
        if role is not None:
            found.append(subject(t.CLUSTER_ROLE, role[0], {"metadata": {"name": role[0]}, "rules": role[1]}, "prod"))
        metadata = {"name": "extra-binding", **({"namespace": namespace} if namespace else {})}
        props = {
            "metadata": metadata,
            "roleRef": {"apiGroup": RBAC, "kind": role_ref[0], "name": role_ref[1]},
            "subjects": subjects,
        }
        found.append(subject(t.ROLE_BINDING if namespace else t.CLUSTER_ROLE_BINDING, "extra-binding", props, "prod"))
        return found

    return build


DEPLOYMENTS = {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}
"""A narrow, harmless rule."""


def _namespaced_role_binding(rule: dict[str, Any]) -> Callable[[], list[Subject]]:
    """The prod stack plus a Role in consul (metadata name ``ops``, resource name ``ops-role``) with ``rule``,
    bound to the server's service account by a RoleBinding naming it ``Role/ops``."""

    def build() -> list[Subject]:
        found = stack_subjects("prod")
        role = {"metadata": {"name": "ops", "namespace": "consul"}, "rules": [rule]}
        found.append(subject(t.ROLE, "ops-role", role, "prod"))
        binding = {
            "metadata": {"name": "extra-binding", "namespace": "consul"},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "ops"},
            "subjects": [{"kind": "ServiceAccount", "name": "consul-consul-server"}],
        }
        found.append(subject(t.ROLE_BINDING, "extra-binding", binding, "prod"))
        return found

    return build


def _aggregated(build: Callable[[], list[Subject]]) -> Callable[[], list[Subject]]:
    """The same stack with the ClusterRole ``reviews`` made an aggregated role."""
    selectors = {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}
    return lambda: set_props(build(), "reviews", aggregationRule=selectors)


def reviewer(id: str, bad: Callable[[], list[Subject]], good: Callable[[], list[Subject]]) -> Twin:
    return stack_twin("k8s-reviewer-rbac", id, bad, good, blame="extra-binding")


SERVER_SA = {"kind": "ServiceAccount", "name": "consul-consul-server", "namespace": "consul"}
OTHER_SA = {"kind": "ServiceAccount", "name": "other", "namespace": "tools"}


def kv_policy(id: str, bad: dict[str, list[str]], good: dict[str, list[str]]) -> Twin:
    """A Vault policy document (POL-KV-DATA) with one path's capabilities changed in the twin."""
    return twin(
        "pol-kv-data", id, t.POLICY, {"name": id, "policy": policy_doc(bad)}, {"name": id, "policy": policy_doc(good)}
    )


ALLOW_GET = {"action": "allow", "http": {"pathPrefix": "/v1/", "methods": ["GET"]}}


def _config_entry_intentions(sources: list[dict[str, Any]]) -> dict[str, Any]:
    """Intentions in the Consul provider's generic ConfigEntry rendering (Consul's own capitalised JSON)."""
    return {"kind": "service-intentions", "name": "api", "configJson": json.dumps({"Sources": sources})}


def _l7_stack(protocol: str) -> Callable[[], list[Subject]]:
    """An L7 intention to payments, whose service-defaults declare ``protocol``."""
    return lambda: [
        subject(
            t.CRD_SERVICE_DEFAULTS, "payments-defaults", _crd("ServiceDefaults", "payments", {"protocol": protocol})
        ),
        subject(
            t.CRD_SERVICE_INTENTIONS,
            "payments-intentions",
            crd("payments", [{"name": "api", "permissions": [ALLOW_GET]}]),
        ),
    ]


NAMELESS_CRD_INTENTIONS = {
    "apiVersion": "consul.hashicorp.com/v1alpha1",
    "kind": "ServiceIntentions",
    "metadata": {"name": "payments", "namespace": "consul"},
    "spec": {"destination": {}, "sources": [{"permissions": [ALLOW_GET]}]},
}
"""Intentions whose destination and source carry no name (both read as '')."""
NAMELESS_TYPED_INTENTIONS = {"sources": [{"name": "api", "permissions": [ALLOW_GET]}]}
"""The provider's typed intentions resource without its destination's name."""
HTTP_PROXY_DEFAULTS = {"config": {"protocol": "http"}}
"""A global proxy-defaults making every service without its own defaults L7."""


def _secondary_role_as(subjects: list[Subject], name: str, datacenter_domain: str) -> list[Subject]:
    """fed-primary with its role for dc2 renamed and given another datacenter's name."""
    role = named(subjects, f"{P}-server-role-consul-server-dc2")
    role.props = {**role.props, "name": name, "allowedDomains": [datacenter_domain, *FEDERATED_SERVER_NAMES]}
    return subjects


def _primary_as(subjects: list[Subject], datacenter: str | None, domain: str | None, secondary: str) -> list[Subject]:
    """fed-primary as datacenter ``datacenter`` of ``domain`` (None: the chart's default, the key removed), its
    server role's names following, and its role for dc2 allowing ``secondary`` as the datacenter name."""
    subjects = set_value(set_value(subjects, "global.datacenter", datacenter), "global.domain", domain)
    own = f"{datacenter or 'dc1'}.{domain or 'consul'}"
    set_props(subjects, f"{P}-server-role", allowedDomains=[own, *FEDERATED_SERVER_NAMES])
    secondary_names = [secondary, *FEDERATED_SERVER_NAMES]
    return set_props(subjects, f"{P}-server-role-consul-server-dc2", allowedDomains=secondary_names)


def _role_named(subjects: list[Subject], resource: str, role: str) -> list[Subject]:
    """The PKI role registered as ``resource`` renamed ``role`` in Vault."""
    target = named(subjects, resource)
    target.props = {**target.props, "name": role}
    return subjects


def _l7_generic_intentions(protocol: str, name: Mapping[str, Any], sources_key: str) -> Callable[[], list[Subject]]:
    """An L7 intention from api as the generic service-intentions entry, beside payments' defaults (``protocol``)."""
    source = {"Name": "api", "Permissions": [{"Action": "allow", "HTTP": {"PathPrefix": "/v1/"}}]}
    entry = {"kind": "service-intentions", **name, "configJson": json.dumps({sources_key: [source]})}
    return lambda: [
        subject(
            t.CRD_SERVICE_DEFAULTS, "payments-defaults", _crd("ServiceDefaults", "payments", {"protocol": protocol})
        ),
        subject(t.CONSUL_CONFIG_ENTRY, "payments-intentions", entry),
    ]


def _l7_generic_entry(kind: str, name: str, config: Mapping[str, Any]) -> Callable[[], list[Subject]]:
    """An L7 intention to payments beside one generic Consul config entry (``consul.ConfigEntry``)."""
    return lambda: [
        subject(t.CONSUL_CONFIG_ENTRY, f"{name}-entry", {"kind": kind, "name": name, "configJson": json.dumps(config)}),
        *_l7_stack("tcp")()[1:],
    ]


def _gossip_from_random_id(subjects: list[Subject], prop: str, byte_length: int) -> list[Subject]:
    """The stack's gossip secret computed (its ``prop``) from a ``random.RandomId`` of ``byte_length`` bytes only."""
    random_id = subject(t.RANDOM_ID, "gossip-id", {"byteLength": float(byte_length)})
    named(subjects, "secure-mesh-secrets-gossip").property_dependencies = {prop: [random_id.urn]}
    return [*subjects, random_id]


def _generic_allow(destination: str, source: str) -> dict[str, Any]:
    """A generic ``service-intentions`` config entry allowing one source at L4."""
    data = {"Sources": [{"Name": source, "Action": "allow"}]}
    return {"kind": "service-intentions", "name": destination, "configJson": json.dumps(data)}


def _ordered_after_generic_defaults(ordered: bool) -> Callable[[], list[Subject]]:
    """payments' defaults and a proxy-defaults named like it as generic config entries, and an L7 intention to it
    that depends on the defaults only when ``ordered``."""

    def build() -> list[Subject]:
        defaults = subject(
            t.CONSUL_CONFIG_ENTRY,
            "payments-defaults",
            {"kind": "service-defaults", "name": "payments", "configJson": json.dumps({"Protocol": "http"})},
        )
        proxy = subject(
            t.CONSUL_CONFIG_ENTRY, "payments-proxy", {"kind": "proxy-defaults", "name": "payments", "configJson": "{}"}
        )
        intentions = subject(
            t.CRD_SERVICE_INTENTIONS,
            "payments-intentions",
            crd("payments", [{"name": "api", "permissions": [ALLOW_GET]}]),
            dependencies=[defaults.urn] if ordered else [],
        )
        return [defaults, proxy, intentions]

    return build


def _l7_provider_defaults(protocol: Mapping[str, Any]) -> Callable[[], list[Subject]]:
    """An L7 intention to payments, whose defaults are the Consul provider's ConfigEntryServiceDefaults."""
    return lambda: [
        subject(t.CONSUL_SERVICE_DEFAULTS, "payments-defaults", {"name": "payments", **protocol}),
        *_l7_stack("tcp")()[1:],
    ]


WEB_POLICY, WEB_ROLE = "secure-mesh-onboarding-app-web-policy", "secure-mesh-onboarding-app-web-role"
MESH_CA_POLICY = POLICY.format("mesh-ca")


def _with_database(subjects: list[Subject]) -> list[Subject]:
    """The stack with the database secrets engine mounted at consul/database."""
    return add(subjects, t.MOUNT, "orders-database", {"path": "consul/database", "type": "database"})


GATEWAY_API = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


def _csi_listener(
    spc_metadata: Any, objects: list[Any], gateway_metadata: Any, listeners: list[Any]
) -> Callable[[], list[Subject]]:
    """A SecretProviderClass syncing Secrets, and a Gateway whose listeners name certificates (PKI-GW-CHAIN's CSI
    part): metadata, entries, listeners and references as a careless change could write them."""
    return lambda: [
        subject(t.SECRET_PROVIDER_CLASS, "gateway-spc", {"metadata": spc_metadata, "spec": {"secretObjects": objects}}),
        subject(GATEWAY_API, "api-gateway", {"metadata": gateway_metadata, "spec": {"listeners": listeners}}),
    ]


def _tls(*refs: Any) -> dict[str, Any]:
    return {"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"certificateRefs": list(refs)}}


SYNCED = {"secretName": "api-gateway-tls", "type": "kubernetes.io/tls"}
MALFORMED_THEN_SYNCED = [
    "https",
    {"name": "no-tls", "tls": "api-gateway-tls"},
    _tls("api-gateway-tls", {"name": "api-gateway-tls"}),
]
"""A listener, a tls and a reference that are not maps, then the reference to the synced Secret."""
IN_CONSUL = {"name": "api-gateway-tls", "namespace": "consul"}
IN_APPS = {"name": "api-gateway-tls", "namespace": "apps"}


TWINS: list[Twin] = [
    # ------------------------------------------------------------------------------------ tokens.py
    twin(
        "vlt-no-default-policy",
        "token-flag-unset",
        t.TOKEN,
        {"policies": TOKEN_POLICIES, "ttl": "1h"},
        {"policies": TOKEN_POLICIES, "ttl": "1h", "noDefaultPolicy": True},
    ),
    twin(
        "vlt-no-default-policy",
        "token-flag-false-as-string",
        t.TOKEN,
        {"policies": TOKEN_POLICIES, "noDefaultPolicy": "false"},
        {"policies": TOKEN_POLICIES, "noDefaultPolicy": "True"},
    ),
    twin(
        "vlt-no-default-policy",
        "token-lists-default",
        t.TOKEN,
        {"policies": ["default", *TOKEN_POLICIES], "noDefaultPolicy": True},
        {"policies": TOKEN_POLICIES, "noDefaultPolicy": True},
    ),
    twin(
        "vlt-no-default-policy",
        "role-lists-default-last",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenPolicies=[*TOKEN_POLICIES, "default"], tokenNoDefaultPolicy=True),
        good_k8s_role(tokenPolicies=[*TOKEN_POLICIES, "default-reader"], tokenNoDefaultPolicy=True),
    ),
    twin(
        "vlt-no-default-policy",
        "role-flag-false-and-default-listed",
        "vault:appRole/authBackendRole:AuthBackendRole",
        {"backend": "approle", "roleName": "ci", "tokenPolicies": ["default"], "tokenNoDefaultPolicy": False},
        {"backend": "approle", "roleName": "ci", "tokenPolicies": ["ci"], "tokenNoDefaultPolicy": True},
    ),
    twin(
        "vlt-no-default-policy",
        "oauth-profile-flag-unset",
        "vault:index/oauthResourceServerConfigProfile:OauthResourceServerConfigProfile",
        {"profileName": "api"},
        {"profileName": "api", "noDefaultPolicy": True},
    ),
    # -------------------------------------------------------------------------------------- auth.py
    weaker(
        "k8s-reviewer-rbac", "auth-delegator-to-a-group", _group_reviewer, blame=AUTH_DELEGATOR_BINDING, stack="prod"
    ),
    reviewer(
        # a custom role is a review role when one of its rules creates tokenreviews, even after a malformed rule;
        # rules missing any one of the three (group, resource, verb) are none, so granting them to a group grants
        # no token review (the twin)
        "custom-review-role-to-a-group",
        _rbac(("reviews", ["not-a-rule", REVIEW_RULE]), ("ClusterRole", "reviews"), [GROUP]),
        _rbac(("reviews", ["not-a-rule", *NEAR_REVIEW_RULES]), ("ClusterRole", "reviews"), [GROUP]),
    ),
    reviewer(
        # the reviewer named without a namespace takes the RoleBinding's
        "reviewer-bound-to-edit-in-its-namespace",
        _rbac(
            None,
            ("ClusterRole", "edit"),
            [{"kind": "ServiceAccount", "name": "consul-consul-server"}],
            namespace="consul",
        ),
        _rbac(
            None,
            ("ClusterRole", "view"),
            [{"kind": "ServiceAccount", "name": "consul-consul-server"}],
            namespace="consul",
        ),
    ),
    reviewer(
        # a role that reviews tokens makes every subject a reviewer: both are over-bound
        "custom-role-reviews-tokens-and-reads-secrets",
        _rbac(
            ("reviews-plus", [REVIEW_RULE, {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
            ("ClusterRole", "reviews-plus"),
            [OTHER_SA, SERVER_SA],
        ),
        _rbac(("reviews-plus", [REVIEW_RULE]), ("ClusterRole", "reviews-plus"), [OTHER_SA, SERVER_SA]),
    ),
    reviewer(
        # creating both review kinds is what system:auth-delegator grants; deleting them is more
        "custom-review-role-that-also-deletes",
        _rbac(("reviews", [{**REVIEW_RULE, "verbs": ["create", "delete"]}]), ("ClusterRole", "reviews"), [SERVER_SA]),
        _rbac(("reviews", [REVIEW_RULE, SUBJECT_ACCESS_REVIEW_RULE]), ("ClusterRole", "reviews"), [SERVER_SA]),
    ),
    reviewer(
        # an aggregated role gathers other roles' rules: it is never "only reviews", whatever its own rules say
        "aggregated-review-role",
        _aggregated(_rbac(("reviews", [REVIEW_RULE]), ("ClusterRole", "reviews"), [SERVER_SA])),
        _rbac(("reviews", [REVIEW_RULE]), ("ClusterRole", "reviews"), [SERVER_SA]),
    ),
    reviewer(
        # a rule naming no resource at all is not a review rule either
        "review-role-with-an-empty-rule",
        _rbac(
            ("reviews", [REVIEW_RULE, {"apiGroups": [], "resources": [], "verbs": ["create"]}]),
            ("ClusterRole", "reviews"),
            [SERVER_SA],
        ),
        _rbac(("reviews", [REVIEW_RULE]), ("ClusterRole", "reviews"), [SERVER_SA]),
    ),
    reviewer(
        # a non-resource URL rule is more than reviews too
        "review-role-with-a-non-resource-url",
        _rbac(
            ("reviews", [REVIEW_RULE, {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
            ("ClusterRole", "reviews"),
            [SERVER_SA],
        ),
        _rbac(("reviews", [REVIEW_RULE]), ("ClusterRole", "reviews"), [SERVER_SA]),
    ),
    reviewer(
        "wildcard-role-for-a-reviewer",
        _rbac(
            (
                "ops",
                [
                    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
                    {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]},
                ],
            ),
            ("ClusterRole", "ops"),
            [OTHER_SA, SERVER_SA],
        ),
        _rbac(
            (
                "ops",
                [
                    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
                ],
            ),
            ("ClusterRole", "ops"),
            [OTHER_SA, SERVER_SA],
        ),
    ),
    stack_twin(
        # Vault strips a policy path's leading slash: /consul/kv/config is outside data/ as much as without it;
        # metadata/ may be read, listed and denied (all three at once) but nothing more
        "pol-kv-data-stack",
        "slash-led-path-outside-data",
        _with_kv_policy({"/consul/kv/config/x": ["read"], "consul/kv/metadata/x": ["read", "list", "deny"]}),
        _with_kv_policy({"/consul/kv/data/x": ["read"], "consul/kv/metadata/x": ["read", "list", "deny"]}),
        blame="kv-reader",
    ),
    twin(
        # the write-only reviewer JWT is as long-lived as the plain one
        "k8s-reviewer",
        "in-cluster-write-only-reviewer-jwt",
        t.K8S_AUTH_CONFIG,
        {"backend": "k", "kubernetesHost": "https://kubernetes.default.svc", "tokenReviewerJwtWo": "eyJ"},
        {"backend": "k", "kubernetesHost": "https://kubernetes.default.svc"},
    ),
    twin_of_stack(
        # Vault's built-in "default" policy is not one the stack declares (skipped); every other undeclared policy is
        # reported, each one
        "k8s-names-stack",
        "wildcard-role-with-two-undeclared-policies",
        lambda s: set_props(s, CA_READER_ROLE, tokenPolicies=["default", "ops-a", "consul-dc1-ca-reader", "ops-b"]),
        lambda s: set_props(s, CA_READER_ROLE, tokenPolicies=["default", "consul-dc1-ca-reader"]),
        blame=CA_READER_ROLE,
    ),
    stack_twin(
        # a PKI mount whose own path holds "/cert/": its CA is read at <mount>/cert/ca, split at the last /cert/;
        # the wildcard role may read it, but not a certificate by serial
        "k8s-names-stack",
        "pki-mount-path-holding-cert",
        _ca_reader_of("team/cert/pki", "team/cert/pki/cert/0a-1b"),
        _ca_reader_of("team/cert/pki", "team/cert/pki/cert/ca"),
        blame="ca-reader",
    ),
    twin(
        # a deny-only path reaches nothing, however broad its glob
        "pol-least",
        "top-level-glob-denied-only",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"*": ["read"]})},
        {"name": "p", "policy": policy_doc({"*": ["deny"]})},
    ),
    twin(
        # a glob after a segment stays under that segment, whatever the segment ends with
        "pol-least",
        "top-level-glob-beside-a-segment-ending-in-x",
        t.POLICY,
        {"name": "p", "policy": policy_doc({"X*": ["read"]})},
        {"name": "p", "policy": policy_doc({"consul/X*": ["read"]})},
    ),
    weaker(
        # the chart writes the replication token into KV at runtime (no identity of the stack does): Pulumi must not
        # read it back
        "kv-no-plaintext-readback",
        "chart-written-replication-token-read-back",
        lambda s: set_props(s, "secure-mesh-secrets-replication-token", disableRead=False),
        blame="secure-mesh-secrets-replication-token",
        stack="fed-primary",
    ),
    weaker(
        # and an admin partition token the chart is told to keep there
        "kv-no-plaintext-readback",
        "chart-written-partition-token-read-back",
        lambda s: add(
            set_value(
                s,
                "global.acls.partitionToken",
                {"secretName": "consul-dc1/kv/data/consul/partition-token", "secretKey": "token"},
            ),
            t.KV_SECRET_V2,
            "partition-token",
            {"mount": "consul-dc1/kv", "name": "consul/partition-token", "dataJson": "{}"},
        ),
        blame="partition-token",
        stack="fed-primary",
    ),
    stack_twin(
        # KV-v2 mounts only Pulumi writes, in path order: one requiring check-and-set (skipped), one without any
        # settings resource, one whose settings leave cas_required unset (Vault's default: off)
        "kv-cas",
        "mounts-after-one-that-requires-cas",
        lambda: _kv_mounts(("a/kv", True), ("b/kv", None), ("c/kv", False)),
        lambda: _kv_mounts(("a/kv", True), ("b/kv", True), ("c/kv", True)),
        blame="kv-",
    ),
    twin(
        # one second is already automatic deletion; 0 keeps versions forever
        "kv-versions",
        "delete-version-after-one-second",
        t.KV_BACKEND_V2,
        {"mount": "consul/kv", "maxVersions": 10.0, "deleteVersionAfter": 1.0},
        {"mount": "consul/kv", "maxVersions": 10.0, "deleteVersionAfter": 0.0},
    ),
    reviewer(
        # a wildcard in a rule's verbs is a wildcard rule as much as one in its resources
        "wildcard-verbs-role-for-a-reviewer",
        _rbac(("ops", [{**DEPLOYMENTS, "verbs": ["*"]}]), ("ClusterRole", "ops"), [SERVER_SA]),
        _rbac(("ops", [DEPLOYMENTS]), ("ClusterRole", "ops"), [SERVER_SA]),
    ),
    reviewer(
        # and in its API groups
        "wildcard-api-group-role-for-a-reviewer",
        _rbac(("ops", [{**DEPLOYMENTS, "apiGroups": ["*"]}]), ("ClusterRole", "ops"), [SERVER_SA]),
        _rbac(("ops", [DEPLOYMENTS]), ("ClusterRole", "ops"), [SERVER_SA]),
    ),
    reviewer(
        # an aggregated role holds whatever the roles it selects grant: as broad as a wildcard
        "aggregated-role-for-a-reviewer",
        lambda: set_props(
            _rbac(("ops", [DEPLOYMENTS]), ("ClusterRole", "ops"), [SERVER_SA])(),
            "ops",
            aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]},
        ),
        _rbac(("ops", [DEPLOYMENTS]), ("ClusterRole", "ops"), [SERVER_SA]),
    ),
    reviewer(
        # a namespaced Role is found by the name in its metadata (not the resource's), and by kind Role
        "namespaced-wildcard-role-for-a-reviewer",
        _namespaced_role_binding({**DEPLOYMENTS, "resources": ["*"]}),
        _namespaced_role_binding(DEPLOYMENTS),
    ),
    reviewer(
        # the long-lived reviewer is known from its JWT's subject; without the JWT the account reviews nothing
        "jwt-reviewer-bound-to-admin",
        _rbac(
            None,
            ("ClusterRole", "admin"),
            [{"kind": "ServiceAccount", "name": "vault-token-reviewer"}],
            namespace="vault-auth",
            jwt_subject="system:serviceaccount:vault-auth:vault-token-reviewer",
        ),
        _rbac(
            None,
            ("ClusterRole", "admin"),
            [{"kind": "ServiceAccount", "name": "vault-token-reviewer"}],
            namespace="vault-auth",
        ),
    ),
    kv_policy(
        # deny reaches nothing: the twin
        "undelete-after-a-read-path",
        {"consul/kv/data/apps/web/config": ["read"], "consul/kv/undelete/apps/web/config": ["update"]},
        {"consul/kv/data/apps/web/config": ["read"], "consul/kv/undelete/apps/web/config": ["deny"]},
    ),
    kv_policy(
        # a leading slash is the same path
        "soft-delete-through-the-delete-endpoint",
        {"/consul/kv/delete/apps/web/config": ["create"]},
        {"/consul/kv/delete/apps/web/config": ["read"]},
    ),
    kv_policy(
        "delete-on-metadata-last",
        {"consul/kv/data/apps/web/config": ["read"], "consul/kv/metadata/apps/web/config": ["read", "delete"]},
        {"consul/kv/data/apps/web/config": ["read"], "consul/kv/metadata/apps/web/config": ["read", "list"]},
    ),
    weaker(
        # a partial-segment glob ('goss*') still reaches the gossip key
        "pol-least-purpose",
        "prefix-glob-reaches-the-gossip-key",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={"consul/kv/data/consul/goss*": ["read"]}),
        blame=ROLE.format("connect-injector"),
    ),
    weaker(
        # '+' matches one segment: apps/+/config reaches every app's config
        "pol-least-purpose",
        "plus-segment-reaches-every-apps-secrets",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={"consul/kv/data/apps/+/config": ["read"]}),
        blame=ROLE.format("connect-injector"),
    ),
    twin(
        # the limit itself (3600 s) passes
        "k8s-ttl",
        "token-ttl-one-second-over-the-limit",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=3601.0),
        good_k8s_role(tokenTtl=3600.0),
    ),
    twin(
        # a threshold configured as 0 means the default hour
        "k8s-ttl",
        "token-ttl-one-second-over-the-default-under-a-zero-threshold",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=3601.0),
        good_k8s_role(tokenTtl=3600.0),
        config={"maxTokenTtlSeconds": 0},
    ),
    twin(
        # zero is Vault's "unset": the system defaults apply, and the finding shows the 0 that was written
        "k8s-ttl",
        "token-ttls-written-as-zero",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=0.0, tokenMaxTtl=0.0),
        good_k8s_role(tokenTtl=600.0, tokenMaxTtl=3600.0),
    ),
    twin(
        "k8s-ttl",
        "token-ttl-over-a-configured-limit",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=1801.0),
        good_k8s_role(tokenTtl=1800.0),
        config={"maxTokenTtlSeconds": 1800},
    ),
    twin(
        # equal to token_max_ttl passes
        "k8s-ttl",
        "token-ttl-over-its-max-ttl",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenTtl=1200.0, tokenMaxTtl=1199.0),
        good_k8s_role(tokenTtl=1200.0, tokenMaxTtl=1200.0),
    ),
    twin(
        "k8s-ttl",
        "max-ttl-unset-and-period-as-a-duration",
        t.K8S_AUTH_ROLE,
        good_k8s_role(tokenMaxTtl=None, tokenPeriod="24h"),
        good_k8s_role(tokenPeriod="0"),
    ),
    # --------------------------------------------------------------------------------------- pki.py
    twin(
        # the configured minimum itself passes
        "pki-keys",
        "rsa-one-size-under-a-configured-minimum",
        t.PKI_ROOT_CERT,
        {"backend": "consul/pki_root", "keyType": "rsa", "keyBits": 3072.0},
        {"backend": "consul/pki_root", "keyType": "rsa", "keyBits": 4096.0},
        config={"minRsaKeyBits": 4096},
    ),
    twin(
        "pki-keys",
        "ec-p521",
        t.PKI_KEY,
        {"backend": "consul/pki_root", "keyType": "ec", "keyBits": 521.0},
        {"backend": "consul/pki_root", "keyType": "ec", "keyBits": 384.0},
    ),
    twin(
        "pki-keys",
        "role-accepts-any-key-type",
        t.PKI_ROLE,
        good_role(keyType="any", keyBits=0.0),
        good_role(keyType="ec", keyBits=0.0),
    ),
    weaker("pki-ttl-cascade", "root-ttl-unset", lambda s: set_props(s, f"{P}-root-ca", ttl=None), blame=f"{P}-root-ca"),
    weaker(
        # the checked-in level 1 is exactly 17520h (the production limit): one hour more is over it
        "pki-ttl-cascade",
        "prod-level1-one-hour-over",
        lambda s: set_props(s, f"{P}-gateway-l1-signed", ttl=str((17520 + 1) * 3600)),
        blame=f"{P}-gateway-l1-signed",
        config={"environment": "prod"},
    ),
    weaker(
        # max_ttl equal to the issuing CA's TTL (and under a raised leaf limit): equal is already too long
        "pki-ttl-cascade",
        "role-max-ttl-equals-its-ca",
        lambda s: set_props(s, f"{P}-gateway-role", maxTtl=str(17520 * 3600)),
        blame=f"{P}-gateway-role",
        config={"maxLeafTtl": "20000h"},
    ),
    _config_pair(
        # a raised production limit is the one applied: one hour over it fires, exactly at it does not
        "pki-ttl-cascade",
        "prod-level1-over-a-raised-maximum",
        lambda s: set_props(s, f"{P}-gateway-l1-signed", ttl=str((20000 + 1) * 3600)),
        lambda s: set_props(s, f"{P}-gateway-l1-signed", ttl=str(20000 * 3600)),
        blame=f"{P}-gateway-l1-signed",
        config={"environment": "prod", "maxLevel1Ttl": "20000h"},
    ),
    _config_pair(
        # a limit written empty (no duration) falls back to the two years of the setting's default
        "pki-ttl-cascade",
        "prod-level1-over-an-empty-maximum",
        lambda s: set_props(s, f"{P}-gateway-l1-signed", ttl=str((17520 + 1) * 3600)),
        lambda s: s,
        blame=f"{P}-gateway-l1-signed",
        config={"environment": "prod", "maxLevel1Ttl": ""},
    ),
    _config_pair(
        # an empty leaf limit falls back to 720h: a role one hour over it fires, one at it does not
        "pki-ttl-cascade",
        "role-over-an-empty-leaf-maximum",
        lambda s: set_props(s, f"{P}-gateway-role", maxTtl=str((720 + 1) * 3600)),
        lambda s: set_props(s, f"{P}-gateway-role", maxTtl=str(720 * 3600)),
        blame=f"{P}-gateway-role",
        config={"maxLeafTtl": ""},
    ),
    weaker(
        # a TTL that is no duration is shown as written
        "pki-ttl-cascade",
        "root-ttl-empty",
        lambda s: set_props(s, f"{P}-root-ca", ttl=""),
        blame=f"{P}-root-ca",
    ),
    weaker(
        # a level whose TTL is no duration (shown as written), and a later level as long as its signer: the rule
        # goes on past the first
        "pki-ttl-cascade",
        "level-ttl-empty-then-a-level-as-long-as-its-signer",
        lambda s: set_props(
            set_props(s, f"{P}-server-l1-signed", ttl=""), f"{P}-connect-l2-signed", ttl=str(17520 * 3600)
        ),
        blame=P,
    ),
    weaker(
        # a role without max_ttl (skipped), then a role as long as its CA: the rule goes on past the first
        "pki-ttl-cascade",
        "role-without-max-ttl-then-one-as-long-as-its-ca",
        lambda s: set_props(
            set_props(s, f"{P}-gateway-role", maxTtl=None),
            f"{P}-server-role",
            maxTtl=str(13140 * 3600),
        ),
        blame=f"{P}-server-role",
        config={"maxLeafTtl": "20000h"},
    ),
    twin_of_stack(
        # Consul's intermediate exactly as long as its root path (the mesh chain's level 2, 13140h) is too long
        "pki-ttl-cascade",
        "consul-intermediate-as-long-as-its-root-path",
        lambda s: _consul_ca(s, intermediate_cert_ttl="13140h"),
        lambda s: _consul_ca(s, intermediate_cert_ttl="13139h"),
        blame="secure-mesh-consul-release",
    ),
    twin_of_stack(
        # Consul's leaf as long as its intermediate (both under the leaf limit) is too long
        "pki-ttl-cascade",
        "consul-leaf-as-long-as-its-intermediate",
        lambda s: _consul_ca(s, intermediate_cert_ttl="720h", leaf_cert_ttl="720h"),
        lambda s: _consul_ca(s, intermediate_cert_ttl="720h", leaf_cert_ttl="719h"),
        blame="secure-mesh-consul-release",
    ),
    weaker(
        # a Consul release without a Vault Connect CA (skipped) before the one whose leaf is too long
        "pki-ttl-cascade",
        "consul-release-without-connect-ca-first",
        lambda s: _consul_ca(_release_without_connect_ca_first(s), leaf_cert_ttl="721h"),
        blame="secure-mesh-consul-release",
    ),
    twin(
        # a lease ceiling of 0 is Vault's unset (the 32-day system maximum); one second is set
        "pki-mount-ttl",
        "mount-lease-ceiling-zero",
        t.MOUNT,
        {"path": "consul/pki_x", "type": "pki", "maxLeaseTtlSeconds": 0.0},
        {"path": "consul/pki_x", "type": "pki", "maxLeaseTtlSeconds": 1.0},
    ),
    twin(
        # a TTL of 0 is Vault's unset; an empty max_ttl is no duration: both shown as written
        "pki-mount-ttl",
        "role-ttl-zero-and-max-ttl-empty",
        t.PKI_ROLE,
        good_role(ttl=0.0, maxTtl=""),
        good_role(),
    ),
    twin(
        "pki-mount-ttl",
        "role-ttl-empty-and-max-ttl-zero",
        t.PKI_ROLE,
        good_role(ttl="", maxTtl=0.0),
        good_role(),
    ),
    twin_of_stack(
        # the issuing mount's ceiling one hour below its role's max_ttl (720h); at it passes
        "pki-mount-ttl-stack",
        "issuing-mount-below-its-roles-max-ttl",
        lambda s: set_props(s, f"{P}-server-l2-mount", maxLeaseTtlSeconds=float(719 * 3600)),
        lambda s: set_props(s, f"{P}-server-l2-mount", maxLeaseTtlSeconds=float(720 * 3600)),
        blame=f"{P}-server-l2-mount",
    ),
    twin_of_stack(
        # Consul signs its intermediate (8760h) on the mesh root path: that mount's ceiling must cover it
        "pki-mount-ttl-stack",
        "mesh-root-path-below-consuls-intermediate",
        lambda s: set_props(s, f"{P}-connect-l2-mount", maxLeaseTtlSeconds=float(8759 * 3600)),
        lambda s: set_props(s, f"{P}-connect-l2-mount", maxLeaseTtlSeconds=float(8760 * 3600)),
        blame=f"{P}-connect-l2-mount",
    ),
    twin_of_stack(
        # a ceiling of one second is one second; 0 is Vault's unset, the 32-day system maximum (above 720h)
        "pki-mount-ttl-stack",
        "issuing-mount-ceiling-one-second",
        lambda s: set_props(s, f"{P}-server-l2-mount", maxLeaseTtlSeconds=1.0),
        lambda s: set_props(s, f"{P}-server-l2-mount", maxLeaseTtlSeconds=0.0),
        blame=f"{P}-server-l2-mount",
    ),
    twin_of_stack(
        # 'permit' on the root's issuer passes and the rule goes on: 'permit' on an intermediate after it fires;
        # the twin's intermediates use 'truncate' and leave the field unset (Vault's default, 'err')
        "pki-not-after",
        "root-permits-then-an-intermediate-permits",
        lambda s: set_props(
            set_props(s, f"{P}-root-issuer", leafNotAfterBehavior="permit"),
            f"{P}-server-l1-issuer",
            leafNotAfterBehavior="permit",
        ),
        lambda s: set_props(
            set_props(
                set_props(s, f"{P}-root-issuer", leafNotAfterBehavior="permit"),
                f"{P}-server-l1-issuer",
                leafNotAfterBehavior=None,
            ),
            f"{P}-gateway-l1-issuer",
            leafNotAfterBehavior="truncate",
        ),
        blame=f"{P}-server-l1-issuer",
    ),
    twin(
        # flags written false and an empty expiry are shown as written
        "pki-crl",
        "auto-rebuild-false-and-expiry-empty",
        t.PKI_CRL_CONFIG,
        {"backend": "b", "autoRebuild": False, "enableDelta": True, "expiry": ""},
        {"backend": "b", "autoRebuild": True, "enableDelta": True, "expiry": "72h"},
    ),
    twin(
        "pki-tidy",
        "every-flag-written-false",
        t.PKI_AUTO_TIDY,
        {**TIDY, "enabled": False, "tidyCertStore": False, "tidyRevokedCerts": False, "tidyExpiredIssuers": False},
        TIDY,
    ),
    twin(
        # exactly 48h is allowed, one hour more is not
        "pki-tidy",
        "interval-one-hour-over-48h",
        t.PKI_AUTO_TIDY,
        {**TIDY, "intervalDuration": "49h"},
        {**TIDY, "intervalDuration": "48h"},
    ),
    twin_of_stack(
        # a CA mount without its own URL configuration is covered by its issuer's URLs (both lists); an issuer
        # with only one of them does not cover it
        "pki-urls-stack",
        "mount-covered-only-by-an-issuer-with-one-url-list",
        lambda s: set_props(
            drop(s, f"{P}-server-l1-urls"), f"{P}-server-l1-issuer", issuingCertificates=[SERVER_L1_CA_URL]
        ),
        lambda s: set_props(
            drop(s, f"{P}-server-l1-urls"),
            f"{P}-server-l1-issuer",
            issuingCertificates=[SERVER_L1_CA_URL],
            crlDistributionPoints=[SERVER_L1_CA_URL.removesuffix("/ca") + "/crl"],
        ),
        blame=f"{P}-server-l1-mount",
    ),
    weaker(
        # a CSR, a certificate and a signature made in the root's mount: each is reported
        "pki-root-offline-stack",
        "csr-certificate-and-signature-in-the-root-mount",
        lambda s: [
            *s,
            subject(t.PKI_INT_REQUEST, "root-mount-csr", {"backend": "consul/pki_root", "type": "internal"}),
            subject(t.PKI_CERT, "root-mount-cert", {"backend": "consul/pki_root", "name": "r", "commonName": "x"}),
            subject(t.PKI_SIGN, "root-mount-sign", {"backend": "/consul/pki_root/", "name": "r", "csr": "x"}),
        ],
        blame="root-mount-",
    ),
    weaker(
        # Consul's Connect CA pointed at the root's mount
        "pki-root-offline-stack",
        "consul-connect-root-path-is-the-root-mount",
        lambda s: set_value(s, "global.secretsBackend.vault.connectCA.rootPKIPath", "consul/pki_root"),
        blame="secure-mesh-consul-release",
    ),
    twin_of_stack(
        # Consul's CA configuration in the API's spelling (IntermediateCertTTL, LeafCertTTL) is read the same
        "pki-ttl-cascade",
        "consul-ttls-in-the-api-spelling",
        lambda s: _consul_ca_exactly(s, IntermediateCertTTL="720h", LeafCertTTL="720h"),
        lambda s: _consul_ca_exactly(s, IntermediateCertTTL="720h", LeafCertTTL="719h"),
        blame="secure-mesh-consul-release",
    ),
    twin_of_stack(
        # a primary that names itself in global.federation.primaryDatacenter and leaves global.datacenter to the
        # chart (dc1) owns the mesh-wide entries; naming dc2 as the primary makes it a secondary, which may not
        "mesh-entry",
        "federation-member-with-the-charts-default-datacenter",
        lambda s: _federated_as(s, "dc2"),
        lambda s: _federated_as(s, "dc1"),
        blame="secure-mesh-intentions-",
    ),
    weaker(
        # a mesh config entry without a name is not the one Consul uses (named mesh); shown as written
        "mesh-entry",
        "mesh-config-entry-without-a-name",
        lambda s: _without_prop(s, "secure-mesh-intentions-mesh", "name"),
        blame="secure-mesh-intentions-mesh",
        stack="peer-east",
    ),
    weaker(
        # a Mesh custom resource without metadata.name
        "mesh-entry",
        "mesh-resource-without-a-name",
        lambda s: _without_metadata_name(s, "secure-mesh-intentions-mesh"),
        blame="secure-mesh-intentions-mesh",
    ),
    twin(
        # a boolean written as a string is read as Consul reads it: ' True ' is true, 'false' is not
        "mesh-mtls-strict",
        "mesh-allows-permissive-as-a-string",
        t.CRD_MESH,
        _crd("Mesh", "mesh", {"allowEnablingPermissiveMutualTLS": " True "}),
        _crd("Mesh", "mesh", {"allowEnablingPermissiveMutualTLS": "false"}),
    ),
    stack_twin(
        # an issuing CA's previous generation may be unprotected while the newer one is protected (a rotation by
        # rotation.serverTlsGeneration); the newer one unprotected beside a protected older one may not
        "kv-soft-delete-protect",
        "newer-generation-unprotected-beside-a-protected-older-one",
        lambda: _generations(("l2-csr", True), ("l2-g2-csr", False)),
        lambda: _generations(("l2-csr", False), ("l2-g2-csr", True)),
        blame=f"{G}-l2-g2-csr",
        config=PROD,
    ),
    stack_twin(
        # a protected generation exempts only the same resource of its own level: not another level, not another part
        "kv-soft-delete-protect",
        "older-generation-of-another-level-or-part",
        lambda: _generations(("l1-csr", False), ("l2-issuer", False), ("l2-g3-csr", True)),
        lambda: _generations(("l2-g2-csr", False), ("l2-csr", False), ("l2-g3-csr", True)),
        blame=f"{G}-l",
        config=PROD,
    ),
    # --------------------------------------------------------------------------------- pki_scope.py
    twin(
        "pki-name-constraints-level",
        "path-length-negative",
        t.PKI_SIGN_INTERMEDIATE,
        {**LEVEL, "maxPathLength": -1.0},
        LEVEL,
    ),
    twin(
        "pki-name-constraints-level",
        "ip-range-not-cidr",
        t.PKI_SIGN_INTERMEDIATE,
        {**LEVEL, "excludedIpRanges": [], "permittedIpRanges": ["127.0.0.1/32", "localhost"]},
        {**LEVEL, "excludedIpRanges": [], "permittedIpRanges": ["127.0.0.1/32"]},
    ),
    twin(
        "pki-name-constraints-level",
        "ip-range-every-v6-address-last",
        t.PKI_SIGN_INTERMEDIATE,
        {**LEVEL, "excludedIpRanges": [], "permittedIpRanges": ["10.0.0.0/8", "::/0"]},
        {**LEVEL, "excludedIpRanges": [], "permittedIpRanges": ["10.0.0.0/8", "fd00::/8"]},
    ),
    twin(
        "pki-name-constraints-level",
        "dns-glob-after-exact",
        t.PKI_SIGN_INTERMEDIATE,
        {**LEVEL, "permittedDnsDomains": ["consul", "*.example.com"]},
        {**LEVEL, "permittedDnsDomains": ["consul", "example.com"]},
    ),
    twin(
        "pki-name-constraints-level",
        "uri-domain-only-dots",
        t.PKI_SIGN_INTERMEDIATE,
        {**LEVEL, "permittedUriDomains": ["."]},
        {**LEVEL, "permittedUriDomains": [".consul"]},
    ),
    twin(
        "pki-name-constraints-level",
        "use-csr-values",
        t.PKI_SIGN_INTERMEDIATE,
        {**LEVEL, "useCsrValues": True},
        {**LEVEL, "useCsrValues": "false"},
    ),
    weaker(
        "pki-name-constraints-chain",
        "server-chain-permits-more-ips",
        lambda s: set_props(s, f"{P}-server-l1-signed", permittedIpRanges=["127.0.0.1/32", "10.0.0.0/8"]),
        blame=f"{P}-server-l1-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "mesh-chain-permits-a-public-domain",
        lambda s: _extend(s, f"{P}-connect-l1-signed", "permittedDnsDomains", "example.com"),
        blame=f"{P}-connect-l1-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "mesh-chain-without-uri-constraint",
        lambda s: set_props(s, f"{P}-connect-l1-signed", permittedUriDomains=[]),
        blame=f"{P}-connect-l1-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "mesh-chain-permits-a-foreign-trust-domain",
        lambda s: _extend(s, f"{P}-connect-l1-signed", "permittedUriDomains", "spiffe.example.com"),
        blame=f"{P}-connect-l1-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "webhook-chain-permits-another-name",
        lambda s: _extend(s, f"{P}-webhook-l1-signed", "permittedDnsDomains", "evil.test"),
        blame=f"{P}-webhook-l1-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "public-chain-permits-an-internal-name",
        lambda s: _extend(s, f"{P}-gateway-l1-signed", "permittedDnsDomains", "consul-consul-server.consul.svc"),
        blame=f"{P}-gateway-l1-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "level2-without-dns-under-a-constrained-level1",
        lambda s: set_props(s, f"{P}-server-l2-signed", permittedDnsDomains=[]),
        blame=f"{P}-server-l2-signed",
    ),
    weaker(
        "pki-name-constraints-chain",
        "level2-stops-excluding-ips",
        lambda s: set_props(s, f"{P}-connect-l2-signed", excludedIpRanges=["0.0.0.0/0"]),
        blame=f"{P}-connect-l2-signed",
    ),
    twin(
        "pki-role-hygiene-scope",
        "email-protection",
        t.PKI_ROLE,
        good_role(**SCOPED, emailProtectionFlag=True),
        good_role(**SCOPED, emailProtectionFlag=False),
    ),
    twin(
        "pki-role-hygiene-scope",
        "basic-constraints-for-non-ca",
        t.PKI_ROLE,
        good_role(**SCOPED, basicConstraintsValidForNonCa="true"),
        good_role(**SCOPED, basicConstraintsValidForNonCa="false"),
    ),
    twin(
        "pki-role-hygiene-scope",
        "ext-key-usage-code-signing",
        t.PKI_ROLE,
        good_role(**SCOPED, extKeyUsages=["ServerAuth", "CodeSigning"]),
        good_role(**SCOPED, extKeyUsages=[]),
    ),
    twin(
        # a blank OID is no usage (the twin); a real one is
        "pki-role-hygiene-scope",
        "ext-key-usage-oid",
        t.PKI_ROLE,
        good_role(**SCOPED, extKeyUsageOids=[" ", "1.3.6.1.5.5.7.3.3"]),
        good_role(**SCOPED, extKeyUsageOids=[" "]),
    ),
    twin(
        "pki-role-hygiene-scope",
        "key-usage-cert-sign",
        t.PKI_ROLE,
        good_role(**SCOPED, keyUsages=["DigitalSignature", "CertSign"]),
        good_role(**SCOPED, keyUsages=["DigitalSignature", "KeyAgreement", "KeyEncipherment"]),
    ),
    twin(
        "pki-role-hygiene-scope",
        "no-common-name-required",
        t.PKI_ROLE,
        good_role(**SCOPED, requireCn=False),
        good_role(**SCOPED, requireCn=True),
    ),
    twin(
        "pki-role-hygiene-scope",
        "csr-sans-only",
        t.PKI_ROLE,
        good_role(useCsrCommonName=False, useCsrSans=True),
        good_role(**SCOPED),
    ),
    twin(
        "pki-role-hygiene-scope",
        "uri-sans",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedUriSans=["spiffe://cluster.local/ns/x/sa/y"]),
        good_role(**SCOPED, allowedUriSans=[""]),
    ),
    twin(
        "pki-role-hygiene-scope",
        "other-sans",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedOtherSans=["1.3.6.1.4.1.311.20.2.3;utf8:*"]),
        good_role(**SCOPED, allowedOtherSans=[]),
    ),
    twin(
        "pki-role-hygiene-scope",
        "uri-sans-template",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedUriSansTemplate=True, allowedDomainsTemplate=True),
        good_role(**SCOPED, allowedUriSansTemplate=False, allowedDomainsTemplate=False),
    ),
    twin(
        "pki-role-hygiene-scope",
        "domains-template",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedDomainsTemplate=True),
        good_role(**SCOPED, allowedDomainsTemplate=False),
    ),
    twin(
        "pki-role-hygiene-scope",
        "glob-domain-last",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedDomains=["apps.example.com", "*.example.com"]),
        good_role(**SCOPED, allowedDomains=["apps.example.com", "web.example.com"]),
    ),
    twin(
        "pki-role-hygiene-scope",
        "empty-domain-first",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedDomains=["", "apps.example.com"]),
        good_role(**SCOPED, allowedDomains=["apps.example.com"]),
    ),
    twin(
        "pki-role-hygiene-scope",
        "subdomains-of-a-top-level-domain",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedDomains=["com"], allowSubdomains=True),
        good_role(**SCOPED, allowedDomains=["com"], allowSubdomains=False),
    ),
    twin(
        "pki-role-hygiene-scope",
        "internal-and-public-names",
        t.PKI_ROLE,
        good_role(**SCOPED, allowedDomains=["apps.example.com", "web.default.svc"]),
        good_role(**SCOPED, allowedDomains=["apps.example.com"]),
    ),
    weaker(
        "pki-role-hygiene-chain",
        "ip-sans-on-a-chain-excluding-every-ip",
        lambda s: set_props(s, f"{P}-gateway-role", allowIpSans=True),
        blame=f"{P}-gateway-role",
    ),
    weaker(
        "pki-role-hygiene-chain",
        "public-role-allows-localhost",
        lambda s: set_props(s, f"{P}-gateway-role", allowLocalhost=None),
        blame=f"{P}-gateway-role",
    ),
    # ---------------------------------------------------------------------------------------- kv.py
    twin(
        # 5 is the least that passes; 0 means Vault's default (10)
        "kv-versions",
        "mount-keeps-four-versions",
        t.KV_BACKEND_V2,
        {"mount": "consul/kv", "maxVersions": 4.0},
        {"mount": "consul/kv", "maxVersions": 5.0},
    ),
    twin(
        "kv-versions",
        "mount-negative-versions",
        t.KV_BACKEND_V2,
        {"mount": "consul/kv", "maxVersions": -1.0},
        {"mount": "consul/kv", "maxVersions": 0.0},
    ),
    twin(
        "kv-versions",
        "secret-metadata-keeps-one-version",
        t.KV_SECRET_V2,
        {"mount": "consul/kv", "name": "consul/gossip", "customMetadata": {"maxVersions": 1.0}},
        {"mount": "consul/kv", "name": "consul/gossip", "customMetadata": {"maxVersions": 10.0}},
    ),
    twin(
        "kv-no-plaintext",
        "token-in-a-second-containers-env",
        "kubernetes:apps/v1:Deployment",
        _deployment([{"name": "LOG_LEVEL", "value": "info"}, {"name": "CONSUL_HTTP_TOKEN", "value": CONSUL_TOKEN}]),
        _deployment(
            [
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "CONSUL_HTTP_TOKEN_FILE", "value": "/vault/secrets/consul-token"},
            ]
        ),
    ),
    *(
        # on a KV mount of any flavour, anything but version metadata is a secret field to the audit log
        twin(
            "kv-no-plaintext-audit",
            f"a-{kind}-mount-logging-a-custom-field-in-clear",
            t.MOUNT,
            {"path": "consul/kv", "type": kind, "auditNonHmacResponseKeys": ["owner"]},
            {"path": "consul/kv", "type": kind, "auditNonHmacResponseKeys": ["version"]},
        )
        for kind in ("kv", "kv-v2", "generic")
    ),
    twin(
        # an auth method is no KV mount: only secret-named fields count there
        "kv-no-plaintext-audit",
        "an-auth-method-logging-a-password-in-clear",
        t.AUTH_BACKEND,
        {"path": "userpass", "type": "userpass", "tune": [{"auditNonHmacRequestKeys": ["owner", "password"]}]},
        {"path": "userpass", "type": "userpass", "tune": [{"auditNonHmacRequestKeys": ["owner"]}]},
    ),
    twin(
        # a ConfigMap's annotations are read by content only: a secret-named annotation with a harmless value passes
        "kv-no-plaintext",
        "token-in-a-config-map-annotation",
        t.CONFIG_MAP,
        {"metadata": {"name": "notes", "annotations": {"note": CONSUL_TOKEN}}, "data": {}},
        {"metadata": {"name": "notes", "annotations": {"db-password": "in Vault at consul/kv"}}, "data": {}},
    ),
    twin(
        # a Secret's data is secret in state, its labels are not (read by content, not by name)
        "kv-no-plaintext",
        "token-in-a-secrets-label",
        t.K8S_SECRET,
        {"metadata": {"name": "acl", "labels": {"token": CONSUL_TOKEN}}, "stringData": {"token": CONSUL_TOKEN}},
        {"metadata": {"name": "acl", "labels": {"token": "acl"}}, "stringData": {"token": CONSUL_TOKEN}},
    ),
    twin(
        # ephemeral containers too; a name's '_' and '-' do not hide the word (PASS_WORD, API-TO-KEN)
        "kv-no-plaintext",
        "secret-named-env-with-separators-in-an-ephemeral-container",
        "kubernetes:apps/v1:Deployment",
        _deployment(
            [{"name": "PASS_WORD", "value": "orders"}, {"name": "API-TO-KEN", "value": "abc"}],
            group="ephemeralContainers",
        ),
        _deployment(
            [{"name": "PASS_WORD_FILE", "value": "/vault/secrets/p"}, {"name": "API-TO-KEN-PATH", "value": "/t"}],
            group="ephemeralContainers",
        ),
    ),
    twin(
        # a malformed container before the real one does not end the search; a nameless variable still shows
        "kv-no-plaintext",
        "token-after-a-malformed-container",
        t.POD,
        {"metadata": {"name": "debug"}, "spec": {"containers": ["not-a-map", {"env": [{"value": CONSUL_TOKEN}]}]}},
        {"metadata": {"name": "debug"}, "spec": {"containers": ["not-a-map", {"env": [{"value": "1"}]}]}},
    ),
    twin(
        # a workload's pod template annotations are read by content
        "kv-no-plaintext",
        "token-in-a-pod-template-annotation",
        "kubernetes:apps/v1:Deployment",
        {"spec": {"template": {"metadata": {"annotations": {"note": CONSUL_TOKEN}}, "spec": {"containers": []}}}},
        {"spec": {"template": {"metadata": {"annotations": {"note": "rotated"}}, "spec": {"containers": []}}}},
    ),
    twin(
        "kv-no-plaintext",
        "secret-named-env-in-an-init-container",
        "kubernetes:apps/v1:Deployment",
        _deployment([{"name": "DB_PASSWORD", "value": "orders"}], group="initContainers"),
        _deployment(
            [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
            group="initContainers",
        ),
    ),
    weaker(
        "kv-gossip-format",
        "gossip-secret-not-declared",
        lambda s: drop(s, "secure-mesh-secrets-gossip"),
        blame="secure-mesh-consul-release",
    ),
    # --------------------------------------------------------------------------------- transport.py
    transport(
        "provider-http-in-prod",
        _one(t.VAULT_PROVIDER, "vault", {"address": "http://vault.example.com:8200"}),
        _one(t.VAULT_PROVIDER, "vault", {"address": "https://vault.example.com:8200"}),
        "vault",
        config=PROD,
    ),
    transport(
        "agent-skips-verify",
        _one(DEPLOYMENT, "orders", _agent_pod(**{"tls-skip-verify": "t", "ca-cert": "/vault/tls/ca.crt"})),
        _one(DEPLOYMENT, "orders", _agent_pod(**{"tls-skip-verify": "false", "ca-cert": "/vault/tls/ca.crt"})),
        "orders",
    ),
    transport(
        "agent-http-in-prod",
        _one(DEPLOYMENT, "orders", _agent_pod(service="http://vault.vault.svc:8200"), stack="prod"),
        _one(DEPLOYMENT, "orders", _agent_pod(service="https://vault.vault.svc:8200"), stack="prod"),
        "orders",
    ),
    transport(
        "agent-without-the-private-vault-ca",
        _with_consul(DEPLOYMENT, "orders", _agent_pod(service="https://vault.vault.svc:8200")),
        _with_consul(DEPLOYMENT, "orders", _agent_pod(service="https://vault.vault.svc:8200", **{"ca-cert": "/c"})),
        "orders",
    ),
    transport(
        "container-env-skips-verify",
        _one(DEPLOYMENT, "orders", _deployment([{"name": "VAULT_SKIP_VERIFY", "value": "1"}])),
        _one(DEPLOYMENT, "orders", _deployment([{"name": "VAULT_SKIP_VERIFY", "value": "0"}])),
        "orders",
    ),
    transport(
        "container-env-http-in-prod",
        _one(DEPLOYMENT, "orders", _deployment([{"name": "VAULT_ADDR", "value": "http://vault:8200"}])),
        _one(DEPLOYMENT, "orders", _deployment([{"name": "VAULT_ADDR", "value": "https://vault:8200"}])),
        "orders",
        config=PROD,
    ),
    transport(
        "csi-class-skips-verify",
        _one(
            t.SECRET_PROVIDER_CLASS,
            "orders-spc",
            {"spec": {"provider": "vault", "parameters": {"vaultSkipTLSVerify": "true"}}},
        ),
        _one(
            t.SECRET_PROVIDER_CLASS,
            "orders-spc",
            {"spec": {"provider": "vault", "parameters": {"vaultSkipTLSVerify": "false"}}},
        ),
        "orders-spc",
    ),
    transport(
        "vso-connection-http-in-prod",
        _one(VAULT_CONNECTION, "orders-vault", {"spec": {"address": "http://vault.vault.svc:8200"}}),
        _one(VAULT_CONNECTION, "orders-vault", {"spec": {"address": "https://vault.vault.svc:8200"}}),
        "orders-vault",
        config=PROD,
    ),
    transport(
        "vso-connection-without-the-private-vault-ca",
        _with_consul(VAULT_CONNECTION, "orders-vault", {"spec": {"address": "https://vault.vault.svc:8200"}}),
        _with_consul(
            VAULT_CONNECTION,
            "orders-vault",
            {"spec": {"address": "https://vault.vault.svc:8200", "caCertSecretRef": "vault-ca"}},
        ),
        "orders-vault",
    ),
    transport(
        "consul-agents-skip-verify",
        _consul_annotations(f'"{AGENT}tls-skip-verify": "TRUE"'),
        _consul_annotations(f'"{AGENT}tls-skip-verify": "false"'),
        "consul",
    ),
    transport(
        "consul-agents-http-in-prod",
        _consul_annotations(f'"{AGENT}service": "http://vault.vault.svc:8200"'),
        _consul_annotations(f'"{AGENT}service": "https://vault.vault.svc:8200"'),
        "consul",
        config=PROD,
    ),
    transport(
        "vault-chart-injector-http-in-prod",
        _one(t.HELM_RELEASE, "vault", _vault_chart({"injector": {"externalVaultAddr": "http://vault.example.com"}})),
        _one(t.HELM_RELEASE, "vault", _vault_chart({"injector": {"externalVaultAddr": "https://vault.example.com"}})),
        "vault",
        config=PROD,
    ),
    transport(
        "vault-chart-csi-agent-skips-verify",
        _one(
            t.HELM_RELEASE,
            "vault",
            _vault_chart({"csi": {"agent": {"extraEnvironmentVars": {"VAULT_SKIP_VERIFY": "true"}}}}),
        ),
        _one(
            t.HELM_RELEASE,
            "vault",
            _vault_chart({"csi": {"agent": {"extraEnvironmentVars": {"VAULT_CACERT": "/v/ca.crt"}}}}),
        ),
        "vault",
    ),
    transport(
        "init-container-env-skips-verify",
        _one(DEPLOYMENT, "orders", _deployment([{"name": "VAULT_SKIP_VERIFY", "value": "y"}], group="initContainers")),
        _one(DEPLOYMENT, "orders", _deployment([{"name": "VAULT_SKIP_VERIFY", "value": "n"}], group="initContainers")),
        "orders",
    ),
    transport(
        "csi-class-without-the-private-vault-ca",
        _with_consul(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc()),
        _with_consul(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc(vaultCACertPath="/vault/tls/ca.crt")),
        "orders-spc",
    ),
    transport(
        "csi-class-with-a-ca-directory",
        _with_consul(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc()),
        _with_consul(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc(vaultCADirectory="/vault/tls")),
        "orders-spc",
    ),
    *(
        # The Vault chart can start the CSI provider with Vault's CA itself: a flag (either dash count) or
        # VAULT_CACERT/VAULT_CAPATH in the agent's environment; only a release of the chart named "vault" counts.
        transport(
            f"csi-class-ca-from-the-vault-chart-{case}",
            _with_vault_chart(_vault_chart(values), chart="vault-secrets-operator"),
            _with_vault_chart(_vault_chart(values), chart=chart),
            "orders-spc",
        )
        for case, chart, values in (
            ("flag", "hashicorp/vault/", {"csi": {"extraArgs": ["-vault-tls-ca-cert=/vault/tls/ca.crt"]}}),
            ("directory-flag", "vault", {"csi": {"extraArgs": ["--vault-tls-ca-directory=/vault/tls"]}}),
            ("cacert-env", "oci://registry/hashicorp/vault", {"csi": {"agent": {"extraEnvironmentVars": CACERT}}}),
            ("capath-env", "vault", {"csi": {"agent": {"extraEnvironmentVars": {"VAULT_CAPATH": "/v"}}}}),
        )
    ),
    transport(
        # the Vault chart's CSI agent has an environment, but no CA in it
        "csi-class-ca-not-in-the-vault-charts-environment",
        _with_vault_chart(_vault_chart({"csi": {"agent": {"extraEnvironmentVars": LOG_LEVEL}}}), "vault"),
        _with_vault_chart(_vault_chart({"csi": {"agent": {"extraEnvironmentVars": CACERT}}}), "vault"),
        "orders-spc",
    ),
    transport(
        "csi-class-checked-after-another-providers-class",
        lambda: [
            subject(t.SECRET_PROVIDER_CLASS, "azure-spc", AZURE_SPC),
            subject(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc(vaultSkipTLSVerify="true")),
        ],
        lambda: [
            # another provider's class is not Vault's client, whatever its parameters say
            subject(t.SECRET_PROVIDER_CLASS, "azure-spc", AZURE_SPC),
            subject(t.SECRET_PROVIDER_CLASS, "orders-spc", _spc(vaultSkipTLSVerify="false")),
        ],
        "orders-spc",
    ),
    transport(
        "vso-connection-skips-verify",
        _one(VAULT_CONNECTION, "orders-vault", {"spec": {"address": "https://v:8200", "skipTLSVerify": True}}),
        _one(VAULT_CONNECTION, "orders-vault", {"spec": {"address": "https://v:8200", "skipTLSVerify": False}}),
        "orders-vault",
    ),
    transport(
        "vso-connection-with-a-ca-path",
        _with_consul(VAULT_CONNECTION, "orders-vault", {"spec": {"address": "https://vault.vault.svc:8200"}}),
        _with_consul(
            VAULT_CONNECTION,
            "orders-vault",
            {"spec": {"address": "https://vault.vault.svc:8200", "caCertPath": "/vault/ca.crt"}},
        ),
        "orders-vault",
    ),
    transport(
        "vault-chart-server-env-http-in-prod",
        _one(t.HELM_RELEASE, "vault", _vault_chart({"server": {"extraEnvironmentVars": {"VAULT_ADDR": "http://v"}}})),
        _one(t.HELM_RELEASE, "vault", _vault_chart({"server": {"extraEnvironmentVars": {"VAULT_ADDR": "https://v"}}})),
        "vault",
        config=PROD,
    ),
    transport(
        "consul-agent-annotations-not-a-map",
        # A YAML list where the chart wants a map: nothing to read (and no crash), while a map's skip is reported.
        _consul_annotations(f'"{AGENT}tls-skip-verify": "true"'),
        _consul_annotations(f'- "{AGENT}tls-skip-verify"'),
        "consul",
    ),
    *(
        # the gossip key may come from a random.RandomId of 32 bytes too, and through the write-only dataJsonWo
        twin_of_stack(
            "kv-gossip-format",
            f"gossip-key-from-a-short-random-id-{prop}",
            lambda s, prop=prop: _gossip_from_random_id(s, prop, 16),  # type: ignore[misc]
            lambda s, prop=prop: _gossip_from_random_id(s, prop, 32),  # type: ignore[misc]
            blame="secure-mesh-secrets-gossip",
        )
        for prop in ("dataJson", "dataJsonWo")
    ),
    # ----------------------------------------------------------------------------- consul_values.py
    consul_release(
        # the legacy top-level spelling of the ACL default policy counts as well as acl.default_policy
        "acl-default-allow-in-the-legacy-spelling",
        "csl-acl",
        {"server__extraConfig": json.dumps({"acl_default_policy": "allow"})},
        {"server__extraConfig": json.dumps({"acl_default_policy": "deny"})},
    ),
    consul_release(
        # the Connect CA config's API spelling of tls_skip_verify counts too
        "connect-ca-skips-verify-in-the-api-spelling",
        "csl-vault-ca",
        {"global__secretsBackend__vault__connectCA__additionalConfig": _ca_config("TLSSkipVerify", True)},
        {"global__secretsBackend__vault__connectCA__additionalConfig": _ca_config("TLSSkipVerify", False)},
    ),
    twin(
        "csl-acl",
        "acls-disabled-in-client-extra-config",
        t.HELM_RELEASE,
        release(client__extraConfig=json.dumps({"log_level": "INFO", "acl": {"enabled": False}})),
        release(client__extraConfig=json.dumps({"log_level": "INFO", "acl": {"enabled": True}})),
    ),
    twin(
        "csl-vault-ca",
        "static-token-in-connect-ca-config",
        t.HELM_RELEASE,
        release(
            global__secretsBackend__vault__connectCA__additionalConfig=json.dumps(
                {"connect": [{"ca_config": [{"leaf_cert_ttl": "72h", "token": "hvs.CAESIJ"}]}]}
            )
        ),
        release(
            global__secretsBackend__vault__connectCA__additionalConfig=json.dumps(
                {"connect": [{"ca_config": [{"leaf_cert_ttl": "72h"}]}]}
            )
        ),
    ),
    twin(
        "csl-vault-ca",
        "agent-annotations-skip-verify",
        t.HELM_RELEASE,
        release(global__secretsBackend__vault__agentAnnotations=f'"{AGENT}tls-skip-verify": "true"'),
        release(global__secretsBackend__vault__agentAnnotations=f'"{AGENT}tls-skip-verify": "false"'),
    ),
    consul_release(
        "even-server-count-in-prod",
        "csl-quorum",
        {"server__replicas": 4.0},
        {"server__replicas": 5.0},
        stack="prod",
    ),
    consul_release(
        "two-servers-in-prod",
        "csl-quorum",
        {"server__replicas": "2"},
        {"server__replicas": "3"},
        stack="prod",
    ),
    # ------------------------------------------------------------------------------ consul_agent.py
    extra_config(
        "tls-below-1-2",
        "server",
        {"tls": {"defaults": {"tls_min_version": "TLSv1_1"}}},
        {"tls": {"defaults": {"tls_min_version": "TLSv1_2"}}},
    ),
    # -1 is Consul's "disabled"; 0 already opens a listener on a random port
    extra_config(
        # HCL's JSON form writes every block as a list of one map; Consul decodes it like the map
        # (lib/decode.HookWeakDecodeFromSlice): a plain port, an ACL token and auto-encrypt off in that form
        "blocks-as-lists-of-one-map",
        "server",
        {"ports": [{"http": 8500}], "acl": [{"tokens": [{"agent": CONSUL_TOKEN}]}], "auto_encrypt": [{"tls": False}]},
        {"ports": [{"http": -1}], "acl": [{"tokens": [{}]}], "auto_encrypt": [{"tls": True}]},
    ),
    extra_config("plain-grpc-port-zero", "client", {"ports": {"grpc": 0}}, {"ports": {"grpc": -1}}),
    extra_config(
        "plain-http-port-as-string",
        "server",
        {"ports": {"https": 8501, "http": "8500"}},
        {"ports": {"https": 8501, "http": "-1"}},
    ),
    twin(
        # Consul's config reader takes the string "false" for a boolean too (any case, padded)
        "csl-gossip",
        "encrypt-verify-incoming-false-as-a-string",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"encrypt_verify_incoming": " False "})),
        release(server__extraConfig=json.dumps({"encrypt_verify_incoming": "true"})),
    ),
    twin(
        "csl-no-scripts",
        "remote-exec-enabled-as-a-string",
        t.HELM_RELEASE,
        release(client__extraConfig=json.dumps({"disable_remote_exec": "FALSE"})),
        release(client__extraConfig=json.dumps({"disable_remote_exec": "True"})),
    ),
    twin(
        "csl-acl",
        "acl-disabled-as-a-string",
        t.HELM_RELEASE,
        release(server__extraConfig=json.dumps({"acl": {"enabled": "false"}})),
        release(server__extraConfig=json.dumps({"acl": {"enabled": "yes"}})),
    ),
    extra_config(
        "acl-down-policy-allow", "client", {"acl": {"down_policy": "allow"}}, {"acl": {"down_policy": "extend-cache"}}
    ),
    extra_config(
        "acl-token-in-tokens-block",
        "client",
        {"acl": {"down_policy": "extend-cache", "tokens": {"agent": CONSUL_TOKEN}}},
        {"acl": {"down_policy": "extend-cache"}},
    ),
    extra_config(
        "legacy-acl-agent-token",
        "server",
        {"log_level": "INFO", "acl_agent_token": CONSUL_TOKEN},
        {"log_level": "INFO"},
    ),
    extra_config("auto-encrypt-tls-off", "client", {"auto_encrypt": {"tls": False}}, {"auto_encrypt": {"tls": True}}),
    consul_release(
        "extra-config-not-json",
        "csl-extra-config",
        {"client__extraConfig": "{log_level: INFO}"},
        {"client__extraConfig": '{"log_level": "INFO"}'},
    ),
    consul_release(
        "client-extra-volume-loaded",
        "csl-extra-config",
        {"client__extraVolumes": [{"type": "configMap", "name": "agent", "load": True}]},
        {"client__extraVolumes": [{"type": "configMap", "name": "agent", "load": False}]},
    ),
    consul_release(
        # no server.extraConfig at all: the client's is still read
        "client-extra-config-without-a-server-one",
        "csl-extra-config",
        {"server__extraConfig": None, "client__extraConfig": json.dumps({"verify_incoming": False})},
        {"server__extraConfig": None, "client__extraConfig": json.dumps({"verify_incoming": True})},
    ),
    consul_release(
        "second-extra-volume-loaded",
        "csl-extra-config",
        {
            "server__extraVolumes": [
                {"type": "secret", "name": "a", "load": False},
                {"type": "configMap", "name": "b", "load": "true"},
            ]
        },
        {
            "server__extraVolumes": [
                {"type": "secret", "name": "a", "load": False},
                {"type": "configMap", "name": "b", "load": False},
            ]
        },
    ),
    twin(
        "csl-extra-config",
        "value-yaml-files",
        t.HELM_RELEASE,
        {**release(), "valueYamlFiles": [{"path": "values-extra.yaml"}]},
        {**release(), "valueYamlFiles": []},
    ),
    consul_release("ui-ingress", "csl-expose", {"ui__ingress__enabled": True}, {"ui__ingress__enabled": False}),
    consul_release(
        "client-host-network", "csl-expose", {"client__hostNetwork": "true"}, {"client__hostNetwork": False}
    ),
    consul_release(
        "server-gossip-and-rpc-on-nodes",
        "csl-expose",
        {"server__exposeGossipAndRPCPorts": True},
        {"server__exposeGossipAndRPCPorts": "false"},
    ),
    consul_release(
        # server.exposeService "-" (the chart default) follows admin partitions
        "servers-exposed-through-admin-partitions",
        "csl-expose",
        {"global__adminPartitions__enabled": True},
        {"global__adminPartitions__enabled": True, "server__exposeService__enabled": False},
    ),
    consul_release(
        # "-" written out (as the chart's values.yaml spells its default) still follows admin partitions
        "servers-exposed-through-an-explicit-dash",
        "csl-expose",
        {"server__exposeService__enabled": "-", "global__adminPartitions__enabled": True},
        {"server__exposeService__enabled": "-", "global__adminPartitions__enabled": False},
    ),
    consul_release(
        "servers-exposed-explicitly",
        "csl-expose",
        {"server__exposeService__enabled": "true"},
        {"server__exposeService__enabled": "-"},
    ),
    twin(
        # the selector alone exposes Consul: a NodePort to the UI pods on a port that is not an API port
        "csl-expose",
        "node-port-service-selecting-the-consul-ui",
        t.K8S_SERVICE,
        _service("NodePort", selector={"app": "consul", "component": "ui"}, ports=[{"port": 80.0}]),
        _service("NodePort", selector={"app": "consul", "component": "mesh-gateway"}, ports=[{"port": 443.0}]),
    ),
    twin(
        "csl-expose",
        "load-balancer-selecting-the-consul-servers",
        t.K8S_SERVICE,
        _service("LoadBalancer", selector={"app": "consul", "component": "server"}, ports=[{"port": 8301.0}]),
        # a Service without a spec (or with spec: null) exposes nothing
        {"metadata": {"name": "consul-ui-ext", "namespace": "consul"}, "spec": None},
    ),
    twin(
        "csl-expose",
        "load-balancer-selecting-all-consul-pods",
        t.K8S_SERVICE,
        _service("LoadBalancer", selector={"app": "consul"}, ports=[{"port": 8080.0}]),
        {"metadata": {"name": "consul-ui-ext", "namespace": "consul"}},
    ),
    twin(
        "csl-expose",
        "node-port-service-for-consul-servers",
        t.K8S_SERVICE,
        _service("NodePort", selector={"app": "consul", "component": "server"}, ports=[{"port": 8501.0}]),
        _service("ClusterIP", selector={"app": "consul", "component": "server"}, ports=[{"port": 8501.0}]),
    ),
    twin(
        "csl-expose",
        "load-balancer-targeting-the-api-port",
        t.K8S_SERVICE,
        _service(
            "LoadBalancer", selector={"app": "web"}, ports=[{"port": 80.0}, {"port": 443.0, "targetPort": 8501.0}]
        ),
        _service(
            "LoadBalancer", selector={"app": "web"}, ports=[{"port": 80.0}, {"port": 443.0, "targetPort": 8443.0}]
        ),
    ),
    twin(
        "csl-chart-pin",
        "consul-chart-not-the-contract",
        t.HELM_RELEASE,
        {**release(), "version": "2.0.2"},
        {**release(), "version": "v2.0.3"},
    ),
    twin(
        "csl-chart-pin",
        "consul-chart-under-another-contract",
        t.HELM_RELEASE,
        {**release(), "version": "2.0.3"},
        {**release(), "version": "2.1.0"},
        config={"consulChartVersion": "2.1.0"},
    ),
    twin(
        # an exact version may start with "v" only ("X2.0.3" is no version at all)
        "csl-chart-pin",
        "consul-chart-version-with-another-prefix",
        t.HELM_RELEASE,
        {**release(), "version": "X2.0.3"},
        {**release(), "version": "v2.0.3"},
    ),
    twin(
        # only trailing slashes are dropped from the chart reference: "consulX" is another chart
        "csl-chart-pin",
        "consul-chart-by-its-exact-last-segment",
        t.HELM_RELEASE,
        {**release(), "chart": "hashicorp/consul/", "version": "2.0.2"},
        {**release(), "chart": "hashicorp/consulX", "version": "2.0.2"},
    ),
    twin(
        "csl-chart-pin",
        "chart-v4-version-range",
        t.HELM_CHART_V4,
        {"chart": "oci://registry.example.com/charts/vault", "version": "~0.30"},
        {"chart": "oci://registry.example.com/charts/vault", "version": "0.30.1"},
    ),
    # -------------------------------------------------------------------------------------- mesh.py
    twin(
        "mesh-mtls-strict",
        "proxy-defaults-permissive-in-capitals",
        t.CRD_PROXY_DEFAULTS,
        _crd("ProxyDefaults", "global", {"mutualTLSMode": "Permissive"}),
        _crd("ProxyDefaults", "global", {"mutualTLSMode": "strict"}),
    ),
    twin(
        "mesh-mtls-strict",
        "service-defaults-expose-paths",
        t.CRD_SERVICE_DEFAULTS,
        _crd(
            "ServiceDefaults",
            "web",
            {"protocol": "http", "expose": {"paths": [{"path": "/metrics", "localPathPort": 9102.0}]}},
        ),
        _crd("ServiceDefaults", "web", {"protocol": "http", "expose": {"paths": []}}),
    ),
    twin(
        "mesh-mtls-strict",
        "provider-service-defaults-second-expose",
        t.CONSUL_SERVICE_DEFAULTS,
        {"name": "web", "protocol": "http", "exposes": [{"checks": False}, {"paths": [{"path": "/health"}]}]},
        {"name": "web", "protocol": "http", "exposes": [{"checks": False}, {"paths": []}]},
    ),
    twin(
        "mesh-mtls-strict",
        "mesh-allows-permissive",
        t.CRD_MESH,
        _crd("Mesh", "mesh", {"tls": MESH_TLS, "allowEnablingPermissiveMutualTLS": True}),
        _crd("Mesh", "mesh", {"tls": MESH_TLS, "allowEnablingPermissiveMutualTLS": False}),
    ),
    twin(
        "mesh-destinations",
        "terminating-gateway-links-every-service-last",
        t.CRD_TERMINATING_GATEWAY,
        _crd("TerminatingGateway", "egress", {"services": [{"name": "billing-db"}, {"name": "*"}]}),
        _crd("TerminatingGateway", "egress", {"services": [{"name": "billing-db"}, {"name": "ledger"}]}),
    ),
    twin(
        "mesh-tls-version",
        "outgoing-floor-unset",
        t.CRD_MESH,
        _crd("Mesh", "mesh", {"tls": {"incoming": {"tlsMinVersion": "TLSv1_2"}}}),
        _crd("Mesh", "mesh", {"tls": MESH_TLS}),
    ),
    twin(
        "mesh-tls-version",
        "incoming-ceiling-below-1-2",
        t.CRD_MESH,
        _crd(
            "Mesh", "mesh", {"tls": {**MESH_TLS, "incoming": {"tlsMinVersion": "TLSv1_2", "tlsMaxVersion": "TLSv1_1"}}}
        ),
        _crd(
            "Mesh", "mesh", {"tls": {**MESH_TLS, "incoming": {"tlsMinVersion": "TLSv1_2", "tlsMaxVersion": "TLSv1_2"}}}
        ),
    ),
    weaker(
        "mesh-entry",
        "mesh-entry-under-another-name",
        lambda s: set_props(s, "secure-mesh-intentions-mesh", metadata={"namespace": "consul", "name": "default"}),
        blame="secure-mesh-intentions-mesh",
    ),
    twin(
        "mesh-gateway-routes",
        "second-listener-empty-selector",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        {
            "spec": {
                "listeners": [
                    {"name": "http", "allowedRoutes": {"namespaces": {"from": "Same"}}},
                    {
                        "name": "https",
                        "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {}}}},
                    },
                ]
            }
        },
        {
            "spec": {
                "listeners": [
                    {"name": "http", "allowedRoutes": {"namespaces": {"from": "Same"}}},
                    {
                        "name": "https",
                        "allowedRoutes": {
                            "namespaces": {"from": "Selector", "selector": {"matchLabels": {"routes": "web"}}}
                        },
                    },
                ]
            }
        },
    ),
    twin(
        "mesh-tproxy",
        "chart-default-off",
        t.HELM_RELEASE,
        release(connectInject__transparentProxy__defaultEnabled="false"),
        release(connectInject__transparentProxy__defaultEnabled=True),
    ),
    twin(
        "mesh-tproxy",
        "namespace-label-off",
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": "orders", "labels": {TPROXY: "false"}}},
        {"metadata": {"name": "orders", "labels": {TPROXY: "true"}}},
    ),
    twin(
        "mesh-tproxy",
        "cron-job-pod-off",
        "kubernetes:batch/v1:CronJob",
        _meshed("kubernetes:batch/v1:CronJob", ("spec", "jobTemplate", "spec", "template"), **{TPROXY: "false"}),
        _meshed("kubernetes:batch/v1:CronJob", ("spec", "jobTemplate", "spec", "template"), **{TPROXY: "true"}),
    ),
    twin(
        "mesh-tproxy",
        "stateful-set-excludes-outbound-cidrs",
        "kubernetes:apps/v1:StatefulSet",
        _meshed(
            "kubernetes:apps/v1:StatefulSet", ("spec", "template"), **{f"{TPROXY}-exclude-outbound-cidrs": "10.0.0.0/8"}
        ),
        _meshed("kubernetes:apps/v1:StatefulSet", ("spec", "template"), **{f"{TPROXY}-exclude-outbound-cidrs": ""}),
    ),
    twin_of_stack(
        # one hour over the maximum leaf TTL (720h, the intermediate is 8760h); exactly at it passes
        "pki-ttl-cascade",
        "consul-leaf-one-hour-over-the-maximum",
        lambda s: _consul_ca(s, leaf_cert_ttl="721h"),
        lambda s: _consul_ca(s, leaf_cert_ttl="720h"),
        blame="secure-mesh-consul-release",
    ),
    twin(
        "pki-name-constraints-level",
        "kms-level-without-the-roots-certificate-url",
        t.PKI_KMS_LEVEL1,
        {**KMS_LEVEL, "issuing_certificates": []},
        KMS_LEVEL,
    ),
    twin(
        "pki-name-constraints-level",
        "kms-level-without-the-roots-crl",
        t.PKI_KMS_LEVEL1,
        {k: v for k, v in KMS_LEVEL.items() if k != "crl_distribution_points"},
        KMS_LEVEL,
    ),
    twin(
        "csl-vault-ca",
        "connect-ca-config-not-json",
        t.HELM_RELEASE,
        release(global__secretsBackend__vault__connectCA__additionalConfig='{"connect": [{"ca_config": [{}]}]'),
        release(global__secretsBackend__vault__connectCA__additionalConfig='{"connect": [{"ca_config": [{}]}]}'),
    ),
    # ------------------------------------------------------------------------------ audit.py, database.py
    twin(
        "vlt-audit",
        "accessors-in-the-clear",
        "vault:index/audit:Audit",
        {"path": "secure-mesh-dc1", "type": "file", "options": {"file_path": "stdout", "hmac_accessor": "false"}},
        {"path": "secure-mesh-dc1", "type": "file", "options": {"file_path": "stdout", "hmac_accessor": "true"}},
    ),
    twin(
        # no tlsCa at all (shown unset) and no connectionUrl (no sslmode): both findings
        "db-tls",
        "no-ca-and-no-connection-url",
        t.DB_CONNECTION,
        db_connection(url=None, tlsCa=None),
        db_connection(),
        stack="prod",
    ),
    twin(
        # a CA that is not a PEM is shown as given; a blank sslmode is one (wrong) mode, not none
        "db-tls",
        "ca-not-a-pem-and-blank-sslmode",
        t.DB_CONNECTION,
        db_connection(url="postgresql://{{username}}:{{password}}@db:5432/orders?sslmode=", tlsCa="db-ca.pem"),
        db_connection(),
        stack="prod",
    ),
    twin(
        "db-tls",
        "empty-ca",
        t.DB_CONNECTION,
        db_connection(tlsCa=""),
        db_connection(),
        stack="prod",
    ),
    twin(
        "db-tls",
        "mysql-connection-in-prod",
        t.DB_CONNECTION,
        {
            "backend": "consul/database",
            "name": "orders-orders",
            "mysql": {"connectionUrl": "{{username}}:{{password}}@tcp(db:3306)/"},
        },
        db_connection(),
        stack="prod",
    ),
    stack_twin(
        # the first connection (in a Vault namespace) has no rotation at all; the second one's rotation waits for
        # something else: both reported, the second after the first
        "db-root-rotation",
        "two-connections-one-unrotated-one-unordered",
        lambda: _rotations(ordered=False),
        lambda: _rotations(ordered=True),
        blame="orders-db",
    ),
    Twin(
        "db-root-rotation",
        "rotation-runs-before-the-connection",
        Violating(
            lambda: _endpoint_without_dependencies(_onboarding("prod")),
            "secure-mesh-onboarding-orders-db-rotate-root",
        ),
        Violating(lambda: _onboarding("prod"), "secure-mesh-onboarding-orders-db-rotate-root"),
    ),
    twin(
        # a destination that is not a map is no TLS Secret; an offset of zero renews nothing, one second does
        "pki-gw-chain",
        "destination-not-a-map-and-zero-offset",
        VAULT_PKI_SECRET,
        vso_pki_secret(destination="api-gateway-tls", expiryOffset="0.0s"),
        vso_pki_secret(expiryOffset="1s"),
    ),
    twin(
        # a VaultPKISecret without a spec (or with one that is not a map) asks for nothing: every finding
        "pki-gw-chain",
        "no-spec",
        VAULT_PKI_SECRET,
        {"apiVersion": "secrets.hashicorp.com/v1beta1", "kind": "VaultPKISecret", "spec": "api-gateway"},
        vso_pki_secret(),
    ),
    twin(
        # no connect CA auth mount at all is the shared default one (and then no agent annotation is expected)
        "topo-unique-paths",
        "auth-mount-unset",
        t.HELM_RELEASE,
        release(**{**PEERED, "global__secretsBackend__vault__connectCA__authMethodPath": None}),
        release(**PEERED),
    ),
    twin(
        "topo-unique-paths",
        "annotations-without-the-auth-path",
        t.HELM_RELEASE,
        release(**{**PEERED, "global__secretsBackend__vault__agentAnnotations": f'"{AGENT}role": "consul"'}),
        release(**PEERED),
    ),
    twin(
        # the intermediate names the datacenter but is the root mount itself; unset, it is shown unset
        "topo-unique-paths",
        "intermediate-is-the-root",
        t.HELM_RELEASE,
        release(
            **{
                **PEERED,
                "global__secretsBackend__vault__connectCA__rootPKIPath": "consul-east/connect/pki_consul_east",
            }
        ),
        release(**{**PEERED, "global__secretsBackend__vault__connectCA__rootPKIPath": "consul/connect/pki_int1"}),
    ),
    twin(
        "topo-unique-paths",
        "intermediate-unset",
        t.HELM_RELEASE,
        release(**{**PEERED, "global__secretsBackend__vault__connectCA__intermediatePKIPath": None}),
        release(**PEERED),
    ),
    twin(
        # a datacenter with dashes may be spelled with underscores in a mount path
        "topo-unique-paths",
        "another-datacenters-intermediate",
        t.HELM_RELEASE,
        release(
            **{
                **PEERED,
                "global__datacenter": "us-east-1",
                "global__secretsBackend__vault__connectCA__intermediatePKIPath": "consul/connect/pki_us_west_1",
            }
        ),
        release(
            **{
                **PEERED,
                "global__datacenter": "us-east-1",
                "global__secretsBackend__vault__connectCA__intermediatePKIPath": "consul/connect/pki_us_east_1",
            }
        ),
    ),
    stack_twin(
        # a token key inside a replication map, and a list under a replication key (nested too), name the token as
        # surely as replicationToken does; a replication map's other keys, and a non-UUID, do not
        "topo-no-plaintext-replication-token",
        "replication-token-nested-and-in-lists",
        _one(
            t.HELM_RELEASE,
            "custom-values",
            {
                "chart": "custom",
                "values": {
                    "acl": {"replication": {"token": REPLICATION_UUID}},
                    "replicationToken": [[REPLICATION_UUID]],
                },
            },
        ),
        _one(
            t.HELM_RELEASE,
            "custom-values",
            {
                "chart": "custom",
                "values": {"acl": {"replication": {"note": REPLICATION_UUID}}, "replicationToken": ["from-vault"]},
            },
        ),
        blame="custom-values",
    ),
    stack_twin(
        # a list before the key (servers[0].replicationToken) drops its index like a list after it does
        "topo-no-plaintext-replication-token",
        "replication-token-under-a-list",
        _servers_token(REPLICATION_UUID),
        _servers_token("from-vault"),
        blame="list-values",
    ),
    stack_twin(
        # a token inside a flag (--token=<token>) or JSON text is found; a number before it does not end the scan
        "topo-peering-token-secret",
        "token-in-a-flag-after-a-number",
        lambda: [subject(DEPLOYMENT, "dialer", {"replicas": 1.0, **_token_in_args(f"--token={_peering_token()}")})],
        lambda: [subject(DEPLOYMENT, "dialer", {"replicas": 1.0, **_token_in_args("--token=from-vault")})],
        blame="dialer",
    ),
    stack_twin(
        # every Consul config entry resource of the provider is scanned, not only the generic ConfigEntry
        "topo-peering-token-secret",
        "token-in-a-service-defaults-entry",
        _one(SERVICE_DEFAULTS_ENTRY, "web-defaults", {"name": "web", "meta": {"handoff": _peering_token()}}),
        _one(SERVICE_DEFAULTS_ENTRY, "web-defaults", {"name": "web", "meta": {"handoff": "none"}}),
        blame="web-defaults",
    ),
    stack_twin(
        # a token in a list (container args, env lists) is found too: the engine hands lists as Sequence proxies
        "topo-peering-token-secret",
        "token-in-a-workload-argument-list",
        lambda: [subject(DEPLOYMENT, "dialer", _token_in_args(_peering_token()), "peer-west")],
        lambda: [subject(DEPLOYMENT, "dialer", _token_in_args("--peer=east"), "peer-west")],
        blame="dialer",
    ),
    stack_twin(
        # a WAN-federation member needs the gateways as much as a peer; one replica, as the engine sends the number
        # (1.0), is one gateway for every peer
        "topo-mesh-gateways",
        "federation-member-without-gateways",
        lambda: [
            subject(
                t.HELM_RELEASE,
                "consul",
                release(global__federation__enabled=True, meshGateway__enabled=False, meshGateway__replicas=1.0),
                "prod",
            )
        ],
        lambda: [
            subject(
                t.HELM_RELEASE,
                "consul",
                release(global__federation__enabled=True, meshGateway__enabled=True, meshGateway__replicas=2.0),
                "prod",
            )
        ],
        blame="consul",
    ),
    stack_twin(
        # a federation-only release is skipped for the mesh entry check, not the end: the peering release after it
        # is checked; the entry's explicit false is shown as given; 'remote' is a routing mode too
        "topo-mesh-gateways",
        "mesh-entry-peering-through-gateways-false",
        lambda: _gateway_stack(peer_through=False),
        lambda: _gateway_stack(peer_through=True),
        blame="mesh",
    ),
    stack_twin(
        # the acceptor's token, like the dialer's peering, waits for the mesh entry
        "topo-mesh-gateways",
        "peering-token-before-the-mesh-entry",
        lambda: _gateway_stack(peer_through=True, token_after_mesh=False),
        lambda: _gateway_stack(peer_through=True, token_after_mesh=True),
        blame="west-token",
    ),
    # ---------------------------------------------------------------------------------------- images.py
    twin(
        "img-digest",
        "second-container-by-tag",
        DEPLOYMENT,
        _deployment([])
        | {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "app", "image": f"ghcr.io/example/app:1.0@sha256:{'b' * 64}"},
                            {"name": "helper", "image": "ghcr.io/example/helper:1.0"},
                        ]
                    }
                }
            }
        },
        _deployment([])
        | {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "app", "image": f"ghcr.io/example/app:1.0@sha256:{'b' * 64}"},
                            {"name": "helper", "image": f"ghcr.io/example/helper:1.0@sha256:{'c' * 64}"},
                        ]
                    }
                }
            }
        },
        stack="prod",
    ),
    twin(
        "img-digest",
        "vso-manager-by-tag",
        t.HELM_RELEASE,
        _vso_chart({"repository": "hashicorp/vault-secrets-operator", "tag": "1.4.1"}),
        _vso_chart(_pinned("vault-secrets-operator")),
        stack="prod",
    ),
    twin(
        # ephemeral containers run images too (kubectl debug)
        "img-digest",
        "ephemeral-container-by-tag",
        t.POD,
        {"spec": {"containers": [{"image": PINNED_APP}], "ephemeralContainers": [{"image": "busybox:1.36"}]}},
        {"spec": {"containers": [{"image": PINNED_APP}], "ephemeralContainers": [{"image": PINNED_APP}]}},
        stack="prod",
    ),
    twin(
        # an entry that is not a container, and a template whose spec is not a map, are skipped, not the end
        "img-digest",
        "container-after-a-skipped-entry",
        "kubernetes:batch/v1:CronJob",
        {
            "spec": {
                "template": {"spec": "not a pod spec"},
                "jobTemplate": {"spec": {"template": {"spec": {"containers": ["junk", {"image": "app:1.0"}]}}}},
            }
        },
        {
            "spec": {
                "template": {"spec": "not a pod spec"},
                "jobTemplate": {"spec": {"template": {"spec": {"containers": ["junk", {"image": PINNED_APP}]}}}},
            }
        },
        stack="prod",
    ),
    twin(
        # a repository without digest or tag, an empty digest (the tag applies), an empty tag (unset)
        "img-digest",
        "vso-manager-empty-digest-and-tag",
        t.HELM_RELEASE,
        {
            **_vso_chart({}),
            "chart": "oci://registry.example.com/charts/vault-secrets-operator/",
        }
        | {
            "values": {
                "controller": {
                    "manager": {"image": {"digest": "", "tag": "1.4.1"}},
                    "kubeRbacProxy": {"image": {"repository": "quay.io/brancz/kube-rbac-proxy", "tag": ""}},
                }
            }
        },
        {
            **_vso_chart(_pinned("vault-secrets-operator")),
            "chart": "oci://registry.example.com/charts/vault-secrets-operator/",
        },
        stack="prod",
    ),
    twin(
        "img-digest",
        "vso-manager-short-digest-without-repository",
        t.HELM_RELEASE,
        _vso_chart({"digest": "sha256:abc"}),
        _vso_chart({"digest": f"sha256:{'a' * 64}"}),
        stack="prod",
    ),
    twin(
        # an empty reference is unset: the chart's default tag runs
        "img-digest",
        "consul-image-empty",
        t.HELM_RELEASE,
        release(global__image="", global__imageK8S=PINNED_APP, global__imageConsulDataplane=PINNED_APP),
        release(global__image=PINNED_APP, global__imageK8S=PINNED_APP, global__imageConsulDataplane=PINNED_APP),
        stack="prod",
    ),
    Twin(
        # a chart is known by its last path segment only: "hashicorp/consulX" is not consul
        "img-digest",
        "chart-named-like-a-known-one",
        shape(t.HELM_RELEASE, {"chart": "hashicorp/consulX", "version": "1", "values": {}}, name="c", stack="prod"),
        shape(t.HELM_RELEASE, {"chart": "hashicorp/consulX", "version": "1", "values": {}}, name="c", stack="dev"),
    ),
    Twin(
        # the unknown-chart finding names the chart as registered (no chart at all: unset)
        "img-digest",
        "release-without-a-chart",
        shape(t.HELM_RELEASE, {"version": "1", "values": {}}, name="nameless", stack="prod"),
        shape(t.HELM_RELEASE, {"version": "1", "values": {}}, name="nameless", stack="dev"),
    ),
    Twin(
        # the pack cannot read an unknown chart's images: reported in production, not in dev
        "img-digest",
        "unknown-chart-in-prod",
        shape(t.HELM_RELEASE, {"chart": "grafana", "version": "8.5.0", "values": {}}, name="grafana", stack="prod"),
        shape(t.HELM_RELEASE, {"chart": "grafana", "version": "8.5.0", "values": {}}, name="grafana", stack="dev"),
    ),
    weaker(
        "pol-least-purpose",
        "app-reads-another-apps-secrets",
        lambda s: edit_policy(s, WEB_POLICY, add={"consul/kv/data/apps/api/config": ["read"]}),
        blame=WEB_ROLE,
    ),
    weaker(
        "pol-least-purpose",
        "glob-over-kv-no-policy-names",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={"consul/kv/data/shared/*": ["read"]}),
        blame=ROLE.format("connect-injector"),
    ),
    weaker(
        "pol-least-purpose",
        "app-reads-another-apps-database-credentials",
        lambda s: edit_policy(_with_database(s), WEB_POLICY, add={"consul/database/creds/app-api": ["read"]}),
        blame=WEB_ROLE,
    ),
    weaker(
        # a static role's credentials (static-creds/<role>) belong to their app as a dynamic role's do
        "pol-least-purpose",
        "app-reads-another-apps-static-credentials",
        lambda s: edit_policy(_with_database(s), WEB_POLICY, add={"consul/database/static-creds/app-api": ["read"]}),
        blame=WEB_ROLE,
    ),
    weaker(
        "pol-least-purpose",
        "app-reads-the-database-engines-config",
        lambda s: edit_policy(_with_database(s), WEB_POLICY, add={"consul/database/config/orders": ["read"]}),
        blame=WEB_ROLE,
    ),
    weaker(
        "pol-least-sys",
        "more-than-read-on-its-own-mount",
        lambda s: edit_policy(s, MESH_CA_POLICY, add={"sys/mounts/consul/connect/pki_int2": ["read", "update"]}),
        blame=ROLE.format("server"),
    ),
    weaker(
        "pol-least-sys",
        "tunes-the-kv-mount",
        lambda s: edit_policy(s, MESH_CA_POLICY, add={"sys/mounts/consul/kv/tune": ["update"]}),
        blame=ROLE.format("server"),
    ),
    weaker(
        "pol-least-sys",
        "reads-policies",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={"sys/policy/consul-dc1-server": ["read"]}),
        blame=ROLE.format("connect-injector"),
    ),
    # ------------------------------------------------------------------------------------ intentions.py
    twin(
        "int-l7",
        "second-permission-without-http-match",
        t.CRD_SERVICE_INTENTIONS,
        crd(
            "payments",
            [
                {
                    "name": "api",
                    "permissions": [
                        {"action": "allow", "http": {"pathPrefix": "/v1/charges", "methods": ["POST"]}},
                        {"action": "deny"},
                    ],
                }
            ],
        ),
        crd(
            "payments",
            [
                {
                    "name": "api",
                    "permissions": [
                        {"action": "allow", "http": {"pathPrefix": "/v1/charges", "methods": ["POST"]}},
                        {"action": "deny", "http": {"pathPrefix": "/"}},
                    ],
                }
            ],
        ),
    ),
    twin(
        "int-no-wildcard-allow",
        "provider-entry-wildcard-source-last",
        t.CONSUL_INTENTIONS,
        {"name": "api", "sources": [{"name": "web", "action": "allow"}, {"name": "*", "action": "allow"}]},
        {"name": "api", "sources": [{"name": "web", "action": "allow"}, {"name": "*", "action": "deny"}]},
    ),
    twin(
        "int-no-wildcard-allow",
        "config-entry-wildcard-l7-allow",
        t.CONSUL_CONFIG_ENTRY,
        _config_entry_intentions([{"Name": "*", "Permissions": [{"Action": "allow", "HTTP": {"PathPrefix": "/"}}]}]),
        _config_entry_intentions([{"Name": "*", "Permissions": [{"Action": "deny", "HTTP": {"PathPrefix": "/"}}]}]),
    ),
    twin(
        "int-no-wildcard-allow",
        "wildcard-destination",
        t.CRD_SERVICE_INTENTIONS,
        crd("*", [{"name": "web", "action": "allow"}]),
        crd("*", [{"name": "web", "action": "deny"}]),
    ),
    twin(
        "int-l7",
        "action-and-permissions",
        t.CRD_SERVICE_INTENTIONS,
        crd("payments", [{"name": "api", "action": "allow", "permissions": [ALLOW_GET]}]),
        crd("payments", [{"name": "api", "permissions": [ALLOW_GET]}]),
    ),
    twin(
        "int-l7",
        "l7-from-a-wildcard-source",
        t.CRD_SERVICE_INTENTIONS,
        crd("payments", [{"name": "*", "permissions": [{"action": "deny", "http": {"pathPrefix": "/admin"}}]}]),
        crd("payments", [{"name": "api", "permissions": [{"action": "deny", "http": {"pathPrefix": "/admin"}}]}]),
    ),
    twin(
        "int-l7",
        "permission-without-action",
        t.CRD_SERVICE_INTENTIONS,
        crd("payments", [{"name": "api", "permissions": [{"http": {"pathPrefix": "/v1/"}}]}]),
        crd("payments", [{"name": "api", "permissions": [{"action": "Deny", "http": {"pathPrefix": "/v1/"}}]}]),
    ),
    twin(
        "int-l7",
        "source-without-action-or-permissions-after-a-good-one",
        t.CRD_SERVICE_INTENTIONS,
        crd("payments", [{"name": "api", "action": "allow"}, {"name": "web"}]),
        crd("payments", [{"name": "api", "action": "allow"}, {"name": "web", "action": "deny"}]),
    ),
    twin(
        # Consul's own JSON capitalises Action and HTTP: a permission with another action, and one without an HTTP
        # match, are found there as in the CRD's camelCase
        "int-l7",
        "config-entry-permissions-capitalised",
        t.CONSUL_CONFIG_ENTRY,
        _config_entry_intentions(
            [{"Name": "web", "Permissions": [{"Action": "permit", "HTTP": {"PathPrefix": "/v1/"}}, {"Action": "deny"}]}]
        ),
        _config_entry_intentions(
            [
                {
                    "Name": "web",
                    "Permissions": [
                        {"Action": "allow", "HTTP": {"PathPrefix": "/v1/"}},
                        {"Action": "deny", "HTTP": {"PathPrefix": "/"}},
                    ],
                }
            ]
        ),
    ),
    stack_twin(
        # INT-ORDER reads every rendering of the destination's defaults: here the generic config entry (a
        # proxy-defaults entry, whatever its name, is not the service's defaults and needs no dependency)
        "int-order",
        "l7-intentions-before-a-generic-service-defaults-entry",
        _ordered_after_generic_defaults(ordered=False),
        _ordered_after_generic_defaults(ordered=True),
        blame="payments-intentions",
    ),
    stack_twin(
        # a stack whose only config entry is the mesh entry declares no intentions: no default deny is required
        "int-default-deny",
        "intentions-entry-without-the-default-deny",
        lambda: [
            subject(t.CONSUL_CONFIG_ENTRY, "mesh-entry", {"kind": "mesh", "name": "mesh", "configJson": "{}"}),
            subject(t.CONSUL_CONFIG_ENTRY, "api-intentions", _generic_allow("api", "web")),
        ],
        lambda: [subject(t.CONSUL_CONFIG_ENTRY, "mesh-entry", {"kind": "mesh", "name": "mesh", "configJson": "{}"})],
        blame="api-intentions",
    ),
    stack_twin("int-l7-stack", "l7-to-a-tcp-service", _l7_stack("tcp"), _l7_stack("grpc"), blame="payments-intentions"),
    stack_twin(
        # the provider's service-defaults resource (config-entry rendering), its protocol read without case
        "int-l7-stack",
        "l7-to-a-tcp-service-by-the-providers-defaults",
        _l7_provider_defaults({"protocol": "tcp"}),
        _l7_provider_defaults({"protocol": "HTTP"}),
        blame="payments-intentions",
    ),
    stack_twin(
        # service-defaults without a protocol: Consul's default, tcp
        "int-l7-stack",
        "l7-to-provider-defaults-without-a-protocol",
        _l7_provider_defaults({}),
        _l7_provider_defaults({"protocol": "grpc"}),
        blame="payments-intentions",
    ),
    stack_twin(
        # the generic config entry (kind service-defaults, JSON config) is read too, its protocol without case
        "int-l7-stack",
        "l7-to-a-tcp-service-by-a-generic-config-entry",
        _l7_generic_entry("service-defaults", "payments", {"Protocol": "tcp"}),
        _l7_generic_entry("service-defaults", "payments", {"Protocol": "HTTP"}),
        blame="payments-intentions",
    ),
    stack_twin(
        # Consul's JSON keys are case-insensitive: "protocol" works like "Protocol"; no protocol at all is tcp
        "int-l7-stack",
        "l7-to-a-generic-config-entry-without-a-protocol",
        _l7_generic_entry("service-defaults", "payments", {}),
        _l7_generic_entry("service-defaults", "payments", {"protocol": "grpc"}),
        blame="payments-intentions",
    ),
    stack_twin(
        # the global proxy-defaults as a generic config entry sets the protocol of every undeclared destination
        "int-l7-stack",
        "l7-under-a-tcp-proxy-defaults-config-entry",
        _l7_generic_entry("proxy-defaults", "global", {"Config": {"protocol": "tcp"}}),
        _l7_generic_entry("proxy-defaults", "global", {"config": {"protocol": "http"}}),
        blame="payments-intentions",
    ),
    stack_twin(
        # ... in either case of its JSON keys
        "int-l7-stack",
        "l7-under-a-tcp-proxy-defaults-config-entry-lowercase",
        _l7_generic_entry("proxy-defaults", "global", {"config": {"protocol": "tcp"}}),
        _l7_generic_entry("proxy-defaults", "global", {"Config": {"protocol": "http"}}),
        blame="payments-intentions",
    ),
    stack_twin(
        # intentions as the generic config entry (kind service-intentions, Consul's JSON) name their destination
        "int-l7-stack",
        "l7-by-a-generic-intentions-entry",
        _l7_generic_intentions("tcp", {"name": "payments"}, "Sources"),
        _l7_generic_intentions("http", {"name": "payments"}, "Sources"),
        blame="payments-intentions",
    ),
    stack_twin(
        # ... with its keys in lower case; without a name the destination is '' (the message shows it)
        "int-l7-stack",
        "l7-by-a-generic-intentions-entry-without-a-name",
        _l7_generic_intentions("tcp", {}, "sources"),
        _l7_generic_intentions("http", {"name": "payments"}, "sources"),
        blame="payments-intentions",
    ),
    stack_twin(
        # a custom resource without a destination name and a source without a name: both read as '' (shown)
        "int-l7-stack",
        "l7-by-nameless-intentions",
        lambda: [subject(t.CRD_SERVICE_INTENTIONS, "payments-intentions", NAMELESS_CRD_INTENTIONS)],
        lambda: [
            subject(t.CRD_PROXY_DEFAULTS, "global-defaults", _crd("ProxyDefaults", "global", HTTP_PROXY_DEFAULTS)),
            subject(t.CRD_SERVICE_INTENTIONS, "payments-intentions", NAMELESS_CRD_INTENTIONS),
        ],
        blame="payments-intentions",
    ),
    stack_twin(
        # the provider's typed intentions resource without a name: destination ''
        "int-l7-stack",
        "l7-by-a-nameless-typed-intentions-resource",
        lambda: [subject(t.CONSUL_INTENTIONS, "payments-intentions", NAMELESS_TYPED_INTENTIONS)],
        lambda: [
            subject(t.CRD_PROXY_DEFAULTS, "global-defaults", _crd("ProxyDefaults", "global", HTTP_PROXY_DEFAULTS)),
            subject(t.CONSUL_INTENTIONS, "payments-intentions", NAMELESS_TYPED_INTENTIONS),
        ],
        blame="payments-intentions",
    ),
    stack_twin(
        # service-defaults as a custom resource without a protocol: tcp
        "int-l7-stack",
        "l7-to-a-service-defaults-resource-without-a-protocol",
        lambda: [
            subject(t.CRD_SERVICE_DEFAULTS, "payments-defaults", _crd("ServiceDefaults", "payments", {})),
            *_l7_stack("tcp")()[1:],
        ],
        _l7_stack("http2"),
        blame="payments-intentions",
    ),
    stack_twin(
        # no service-defaults and no proxy-defaults at all: tcp; an http proxy-defaults makes it L7
        "int-l7-stack",
        "l7-to-an-undeclared-destination",
        lambda: _l7_stack("tcp")()[1:],
        lambda: [
            subject(t.CRD_PROXY_DEFAULTS, "global-defaults", _crd("ProxyDefaults", "global", HTTP_PROXY_DEFAULTS)),
            *_l7_stack("tcp")()[1:],
        ],
        blame="payments-intentions",
    ),
    weaker(
        "int-default-deny",
        "second-default-deny-in-the-other-rendering",
        lambda s: add(
            s, t.CONSUL_INTENTIONS, "extra-default-deny", {"name": "*", "sources": [{"name": "*", "action": "deny"}]}
        ),
        blame="extra-default-deny",
    ),
    # --------------------------------------------------------------------------------------- kv.py (Pod)
    twin(
        "kv-no-plaintext",
        "token-in-a-pods-env",
        t.POD,
        {
            "metadata": {"name": "debug"},
            "spec": {"containers": [{"name": "c", "env": [{"name": "T", "value": CONSUL_TOKEN}]}]},
        },
        {"metadata": {"name": "debug"}, "spec": {"containers": [{"name": "c", "env": [{"name": "T", "value": "1"}]}]}},
    ),
    stack_twin(
        "mesh-entry",
        "secondary-datacenter-declares-the-mesh",
        _secondary_datacenter(with_mesh=True),
        _secondary_datacenter(with_mesh=False),
        blame="mesh",
    ),
    stack_twin(
        # no name constraint, and (no chart path or role below it yet) no IP constraint either
        "pki-name-constraints-chain",
        "offline-signed-level-without-constraints",
        _offline_import(constrained=False),
        _offline_import(constrained=True),
        blame="extra-l1-set-signed",
    ),
    Twin(
        "pol-db-address",
        "watcher-updates-two-connections",
        Violating(
            lambda: _second_watched_connection(_onboarding("dev")),
            "secure-mesh-onboarding-orders-db-address-watcher-role",
        ),
        Violating(lambda: _onboarding("dev"), "secure-mesh-onboarding-orders-db-address-watcher-role"),
    ),
    weaker(
        # reading one connection's config is no write and is skipped, not the end: the write after it is reported
        "pol-db-address",
        "read-one-config-then-create-another",
        lambda s: connection_writer(
            connection_writer(s, ["read"], path="consul/database/config/a-reader"), ["create", "update"]
        ),
        blame=ROLE.format("connect-injector"),
    ),
    weaker(
        # a database engine mounted with the database provider's own SecretsMount (no generic Mount, no role or
        # connection naming it yet) is a database mount too: a write under its config/ is reported
        "pol-db-address",
        "secrets-mount-resource-config-write",
        lambda s: edit_policy(
            add(s, t.DB_MOUNT, "orders-db-mount", {"path": "/consul/orders-db/"}),
            POLICY.format("connect-injector"),
            add={"consul/orders-db/config/orders": ["create", "update"]},
        ),
        blame=ROLE.format("connect-injector"),
    ),
    *(
        weaker(
            # a dynamic or static role alone names its engine's mount (no mount or connection resource in the stack)
            "pol-db-address",
            f"{kind}-names-the-mount-of-a-config-write",
            lambda s, token=token: edit_policy(  # type: ignore[misc]
                add(s, token, "orders-db-role", {"backend": "consul/orders-db", "name": "orders"}),
                POLICY.format("connect-injector"),
                add={"consul/orders-db/config/orders": ["create", "update"]},
            ),
            blame=ROLE.format("connect-injector"),
        )
        for kind, token in (("dynamic-role", t.DB_ROLE), ("static-role", t.DB_STATIC_ROLE))
    ),
    # -------------------------------------------------------------------------------------- stack.py
    weaker(
        # the mesh root's sign-intermediate belongs to Consul's server role alone (its CA provider signs with it)
        "pol-least-purpose",
        "an-app-signing-with-the-mesh-root",
        lambda s: edit_policy(
            s,
            "secure-mesh-onboarding-app-api-policy",
            add={"consul/connect/pki_int2/root/sign-intermediate": ["update"]},
        ),
        blame="secure-mesh-onboarding-app-api-role",
    ),
    twin_of_stack(
        # a glob over a whole KV mount, written with a leading slash as Vault accepts it; one that only denies
        # grants nothing (the twin)
        "pol-least-purpose",
        "a-slash-led-glob-over-the-kv-mount",
        lambda s: edit_policy(s, "secure-mesh-onboarding-app-api-policy", add={"/consul/kv/*": ["read"]}),
        lambda s: edit_policy(s, "secure-mesh-onboarding-app-api-policy", add={"/consul/kv/*": ["deny"]}),
        blame="secure-mesh-onboarding-app-api",  # the role (its reach) and the policy (its glob) are both named
    ),
    weaker(
        # without the chart's server role key, the servers' secrets and the mesh root are nobody's to read
        "pol-least-purpose",
        "the-servers-role-key-removed-from-the-release",
        lambda s: set_value(s, "global.secretsBackend.vault.consulServerRole", None),
        blame=ROLE.format("server"),
    ),
    twin_of_stack(
        # issuing is writing: an exact grant and a glob both reaching the servers' role are one finding each; the
        # same paths granted read only issue nothing (the twin; reading is POL-LEAST-PURPOSE's)
        "pol-least-issue",
        "an-app-issuing-on-the-servers-role-by-path-and-glob",
        lambda s: edit_policy(
            s,
            "secure-mesh-onboarding-app-api-policy",
            add={SERVER_ISSUE: ["update"], "consul/server/pki_int2/issue/*": ["create"]},
        ),
        lambda s: edit_policy(
            s,
            "secure-mesh-onboarding-app-api-policy",
            add={SERVER_ISSUE: ["read"], "consul/server/pki_int2/issue/*": ["read"]},
        ),
        blame="secure-mesh-onboarding-app-api-role",
    ),
    weaker(
        "pol-least-granted",
        "chart-role-key-removed",
        lambda s: set_value(s, "global.secretsBackend.vault.consulServerRole", None),
        blame="secure-mesh-consul-release",
    ),
    weaker(
        # A secondary's server chain is the primary's mount, declared in no resource of its own stack: the rule knows
        # it only from the Consul release's issue path (serverCert.secretName), and must still guard it.
        "pol-least-issue",
        "an-app-issuing-on-the-primarys-server-role-in-a-secondary",
        lambda s: edit_policy(
            s,
            "secure-mesh-onboarding-app-reviews-policy",
            add={"consul-dc1/server/pki_int2/issue/consul-server-dc2": ["update"]},
        ),
        blame="secure-mesh-onboarding-app-reviews-role",
        stack="fed-secondary",
    ),
    weaker(
        "pol-least-issue",
        "an-app-reconfiguring-the-primarys-server-mount-in-a-secondary",
        lambda s: edit_policy(
            s,
            "secure-mesh-onboarding-app-reviews-policy",
            add={"consul-dc1/server/pki_int2/roles/consul-server-dc2": ["create"]},
        ),
        blame="secure-mesh-onboarding-app-reviews-role",
        stack="fed-secondary",
    ),
    weaker(
        # an exact grant on a role no consumer in the stack uses: a role someone may create later
        "pol-least-issue",
        "an-app-issuing-on-a-role-no-consumer-uses",
        lambda s: edit_policy(
            s, "secure-mesh-onboarding-app-api-policy", add={"consul/server/pki_int2/issue/spare": ["update"]}
        ),
        blame="secure-mesh-onboarding-app-api-role",
    ),
    weaker(
        # the servers' own role reached through a glob, not the exact path their consumer (the chart) names
        "pol-least-issue",
        "the-servers-issuing-through-a-glob-over-their-roles",
        lambda s: edit_policy(
            s,
            POLICY.format("server"),
            add={"consul/server/pki_int2/issue/*": ["update"]},
            remove=("consul/server/pki_int2/issue/consul-server",),
        ),
        blame=ROLE.format("server"),
    ),
    weaker(
        "pol-least-issue",
        "identity-reconfigures-a-pki-mount",
        lambda s: edit_policy(
            s, "secure-mesh-onboarding-app-api-policy", add={"consul/gateway/pki_int1/roles/api-gateway": ["update"]}
        ),
        blame="secure-mesh-onboarding-app-api-role",
    ),
    weaker(
        "pol-least-purpose",
        "identity-reads-another-database-role",
        lambda s: edit_policy(
            # the mount declared with slashes around its path, as Vault accepts it
            add(s, t.MOUNT, "orders-database", {"path": "/consul/database/", "type": "database"}),
            POLICY.format("connect-injector"),
            add={"consul/database/creds/orders": ["read"]},
        ),
        blame=ROLE.format("connect-injector"),
    ),
    stack_twin(
        # neither names a namespace: both are in "default"; a SecretProviderClass elsewhere syncs another Secret
        "pki-gw-chain-csi",
        "both-in-the-default-namespace",
        _csi_listener({"name": "spc"}, [SYNCED], {"name": "gw"}, [_tls({"name": "api-gateway-tls"})]),
        _csi_listener({"namespace": "other"}, [SYNCED], {"name": "gw"}, [_tls({"name": "api-gateway-tls"})]),
        blame="api-gateway",
    ),
    stack_twin(
        # metadata that is not a map names no namespace ("default"); an entry without secretName syncs nothing;
        # a listener, a tls and a reference that are not maps are skipped, the next one still counts
        "pki-gw-chain-csi",
        "malformed-entries-before-the-synced-one",
        _csi_listener(
            ["not", "a", "map"],
            ["api-gateway-tls", {"type": "Opaque"}, SYNCED],
            "not a map",
            MALFORMED_THEN_SYNCED,
        ),
        _csi_listener(
            ["not", "a", "map"],
            ["api-gateway-tls", {"type": "Opaque"}, {**SYNCED, "secretName": "other-tls"}],
            "not a map",
            MALFORMED_THEN_SYNCED,
        ),
        blame="api-gateway",
    ),
    stack_twin(
        # a reference's own namespace wins over the Gateway's (a ReferenceGrant lets it cross namespaces)
        "pki-gw-chain-csi",
        "reference-into-the-synced-namespace",
        _csi_listener({"namespace": "consul"}, [SYNCED], {"namespace": "apps"}, [_tls(IN_CONSUL)]),
        _csi_listener({"namespace": "consul"}, [SYNCED], {"namespace": "consul"}, [_tls(IN_APPS)]),
        blame="api-gateway",
    ),
    # ---------------------------------------------------------------- WAN federation (fed-primary, fed-secondary)
    weaker(
        # a per-secondary server role must carry exactly the server role's names with its own datacenter's
        "pki-role-hygiene-stack",
        "federation-role-with-another-datacenters-names",
        lambda s: set_props(
            s,
            f"{P}-server-role-consul-server-dc2",
            allowedDomains=["dc3.consul", *FEDERATED_SERVER_NAMES],
        ),
        blame=f"{P}-server-role-consul-server-dc2",
        stack="fed-primary",
    ),
    weaker(
        # a per-datacenter server role is a federation primary's only: in a stand-alone stack it is a second server role
        "pki-role-hygiene-stack",
        "a-secondarys-server-role-outside-a-federation",
        lambda s: add(
            s,
            t.PKI_ROLE,
            "extra-server-role",
            {**named(s, f"{P}-server-role").props, "name": "consul-server-dc2", "allowedDomains": DEV_DC2_NAMES},
        ),
        blame="extra-server-role",
    ),
    weaker(
        # a "secondary" role for the primary's own datacenter is a second server role
        "pki-role-hygiene-stack",
        "a-secondary-role-for-the-primarys-own-datacenter",
        lambda s: _secondary_role_as(s, "consul-server-dc1", "dc1.consul"),
        blame=f"{P}-server-role-consul-server-dc2",
        stack="fed-primary",
    ),
    weaker(
        # the suffix must be one datacenter label: dc2.evil.consul is shaped like a server name, not a datacenter
        "pki-role-hygiene-stack",
        "a-secondary-role-with-an-invalid-datacenter-label",
        lambda s: _secondary_role_as(s, "consul-server-dc2.evil", "dc2.evil.consul"),
        blame=f"{P}-server-role-consul-server-dc2",
        stack="fed-primary",
    ),
    twin_of_stack(
        # a primary named east in domain mesh: its secondary's role carries dc2.mesh (twin), not dc3.mesh; the
        # names are read from the release's global.datacenter and global.domain, not assumed
        "pki-role-hygiene-stack",
        "federation-primary-east-in-domain-mesh",
        lambda s: _primary_as(s, "east", "mesh", "dc3.mesh"),
        lambda s: _primary_as(s, "east", "mesh", "dc2.mesh"),
        blame=f"{P}-server-role-consul-server-dc2",
        stack="fed-primary",
    ),
    twin_of_stack(
        # a primary that leaves global.datacenter and global.domain to the chart (dc1, consul)
        "pki-role-hygiene-stack",
        "federation-primary-with-the-charts-default-names",
        lambda s: _primary_as(s, None, None, "dc3.consul"),
        lambda s: _primary_as(s, None, None, "dc2.consul"),
        blame=f"{P}-server-role-consul-server-dc2",
        stack="fed-primary",
    ),
    weaker(
        # the chart's server role is not on the mount (renamed): no per-secondary role may borrow its exception
        "pki-role-hygiene-stack",
        "federation-primary-without-the-charts-server-role",
        lambda s: _role_named(s, f"{P}-server-role", "consul-server-renamed"),
        blame=f"{P}-server-role",
        stack="fed-primary",
    ),
    weaker(
        # a secondary's path inside its own KV mount is its own secret: declared there, or refused
        "kv-v2-stack",
        "a-secondarys-replication-token-in-its-own-mount",
        lambda s: set_value(
            s, "global.acls.replicationToken.secretName", "consul-dc2/kv/data/consul/replication-token"
        ),
        blame="secure-mesh-consul-release",
        stack="fed-secondary",
    ),
    weaker(
        # the primary's server chain may permit a secondary's names only beside that secondary's role
        "pki-name-constraints-chain",
        "federation-names-without-the-secondarys-role",
        lambda s: drop(s, f"{P}-server-role-consul-server-dc2"),
        blame=f"{P}-server-l",  # both levels (l1 and l2) carry the chain's constraints
        stack="fed-primary",
    ),
    weaker(
        # the primary's default deny is the federation's: a second owner is refused by consul-k8s
        "int-default-deny",
        "a-federation-secondary-declaring-the-default-deny",
        lambda s: add(s, t.CRD_SERVICE_INTENTIONS, "secure-mesh-intentions-default-deny", DEFAULT_DENY_CRD),
        blame="secure-mesh-intentions-default-deny",
        stack="fed-secondary",
    ),
    weaker(
        # the primary's gossip key, named without /data/
        "kv-v2-stack",
        "a-secondarys-shared-key-without-data",
        lambda s: set_value(s, "global.gossipEncryption.secretName", "consul-dc1/kv/consul/gossip"),
        blame="secure-mesh-consul-release",
        stack="fed-secondary",
    ),
    weaker(
        # a key in the secondary's own mount is its own: it must be declared (and random) here
        "kv-gossip-format",
        "a-secondarys-gossip-key-in-its-own-mount",
        lambda s: set_value(s, "global.gossipEncryption.secretName", "consul-dc2/kv/data/consul/gossip"),
        blame="secure-mesh-consul-release",
        stack="fed-secondary",
    ),
    weaker(
        # only a root outside the stack is the primary's; the secondary's own root mount is still a root
        "csl-vault-ca-stack",
        "a-secondary-signing-with-its-own-root",
        lambda s: set_value(s, "global.secretsBackend.vault.connectCA.rootPKIPath", "consul-dc2/pki_root"),
        blame="secure-mesh-consul-release",
        stack="fed-secondary",
    ),
    weaker(
        # a secondary's CA provider still tunes its own intermediate mount
        "pol-least-granted",
        "a-secondary-without-its-intermediates-tune",
        lambda s: edit_policy(
            s, POLICY.format("mesh-ca"), remove=("sys/mounts/consul-dc2/connect/pki_consul_dc2/tune",)
        ),
        blame=ROLE.format("server"),
        stack="fed-secondary",
    ),
    rotating_root_twin(
        # the cross-sign grant belongs on the root being replaced, never on the one Consul switches to
        "pki-sensitive-paths-stack",
        "cross-sign-on-the-new-root",
        lambda s: edit_policy(
            s,
            MESH_CA,
            add={f"{NEW_ROOT}/root/sign-self-issued": ["sudo", "update"]},
            remove=(f"{OLD_ROOT}/root/sign-self-issued",),
        ),
        _unchanged,
        blame=MESH_CA,
    ),
    twin_of_stack(
        # without a later generation declared there is nothing to cross-sign: the grant is refused on the root
        "pki-sensitive-paths-stack",
        "cross-sign-without-a-rotation",
        lambda s: edit_policy(s, MESH_CA, add={f"{OLD_ROOT}/root/sign-self-issued": ["sudo", "update"]}),
        lambda s: s,
        blame=POLICY.format("mesh-ca"),
    ),
    rotating_root_twin(
        # the cross-sign shape is exactly sudo and update: more is a sensitive endpoint again
        "pki-sensitive-paths",
        "cross-sign-with-create",
        lambda s: edit_policy(s, MESH_CA, add={f"{OLD_ROOT}/root/sign-self-issued": ["create", "sudo", "update"]}),
        _unchanged,
        blame=MESH_CA,
    ),
    rotating_root_twin(
        "pol-least",
        "sudo-beyond-the-cross-sign-shape",
        lambda s: edit_policy(s, MESH_CA, add={f"{OLD_ROOT}/root/sign-self-issued": ["create", "sudo", "update"]}),
        _unchanged,
        blame=MESH_CA,
    ),
    rotating_root_twin(
        # a policy not shaped like Consul's mesh CA policy (no sys/mounts read of that root) gets no sudo at all
        "pol-least",
        "cross-sign-without-the-mounts-read",
        lambda s: edit_policy(s, MESH_CA, remove=(f"sys/mounts/{OLD_ROOT}",)),
        _unchanged,
        blame=MESH_CA,
    ),
    rotating_root_twin(
        # only the servers' CA provider cross-signs: another identity on the old root signs a CA
        "pol-least-issue",
        "cross-sign-by-another-identity",
        lambda s: edit_policy(
            s, POLICY.format("connect-injector"), add={f"{OLD_ROOT}/root/sign-self-issued": ["update"]}
        ),
        _unchanged,
        blame=ROLE.format("connect-injector"),
    ),
    rotating_root_twin(
        "pol-least-sys",
        "old-root-mount-read-by-another-identity",
        lambda s: edit_policy(s, POLICY.format("connect-injector"), add={f"sys/mounts/{OLD_ROOT}": ["read"]}),
        _unchanged,
        blame=ROLE.format("connect-injector"),
    ),
    rotating_root_twin(
        # the rotation opens the previous root's mount read, not any other mount's
        "pol-least-sys",
        "rotation-reading-another-mount",
        lambda s: edit_policy(s, MESH_CA, add={"sys/mounts/consul/connect/pki_int1": ["read"]}),
        _unchanged,
        blame=ROLE.format("server"),
    ),
    twin_of_stack(
        # the servers' policy only reads sys/mounts/<intermediate>: Consul cannot mount it, the program must
        "csl-vault-ca-stack",
        "intermediate-mount-undeclared",
        lambda s: drop(s, "secure-mesh-pki-connect-intermediate-mount"),
        lambda s: s,
        blame="secure-mesh-consul-release",
    ),
    twin_of_stack(
        # a secondary's intermediate is its own mount, declared in its own stack
        "csl-vault-ca-stack",
        "a-secondarys-intermediate-mount-undeclared",
        lambda s: drop(s, "secure-mesh-pki-connect-intermediate-mount"),
        lambda s: s,
        blame="secure-mesh-consul-release",
        stack="fed-secondary",
    ),
    twin_of_stack(
        "csl-vault-ca-stack",
        "intermediate-mount-not-pki",
        lambda s: set_props(s, "secure-mesh-pki-connect-intermediate-mount", type="kv"),
        lambda s: set_props(s, "secure-mesh-pki-connect-intermediate-mount", description="Consul's"),
        blame="secure-mesh-consul-release",
    ),
    twin_of_stack(
        "csl-vault-ca-stack",
        "tidy-inside-consul-mount",
        lambda s: add(s, t.PKI_AUTO_TIDY, "consul-mount-tidy", {"backend": "consul/connect/pki_consul_dc1"}),
        lambda s: add(s, t.PKI_AUTO_TIDY, "consul-mount-tidy", {"backend": "consul/connect/pki_consul_dc1_other"}),
        blame="consul-mount-tidy",
    ),
    twin_of_stack(
        "csl-vault-ca-stack",
        "crl-inside-consul-mount",
        lambda s: add(s, t.PKI_CRL_CONFIG, "consul-mount-crl", {"backend": "consul/connect/pki_consul_dc1"}),
        lambda s: add(s, t.PKI_CRL_CONFIG, "consul-mount-crl", {"backend": "consul/connect/pki_consul_dc1_other"}),
        blame="consul-mount-crl",
    ),
    twin_of_stack(
        # Consul writes its own leaf-cert role, URLs and tidy there; a declared one fights it
        "csl-vault-ca-stack",
        "urls-inside-consul-mount",
        lambda s: add(
            s, t.PKI_CONFIG_URLS, "consul-mount-urls", {"backend": "consul/connect/pki_consul_dc1"}
        ),
        lambda s: add(
            s, t.PKI_CONFIG_URLS, "consul-mount-urls", {"backend": "consul/connect/pki_consul_dc1_other"}
        ),
        blame="consul-mount-urls",
    ),
]
"""Further cases, in catalogue order by module; ``policy:id`` keys are unique."""


# ---------------------------------------------------------------------------------------------------- JWT
JWT_CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
JWKS = "https://idp.example.com/keys"


def _jwt_provider_spec(**remote: Any) -> dict[str, Any]:
    cluster = {"discoveryType": "STRICT_DNS", "tlsCertificates": {"trustedCA": {"inlineString": JWT_CA}}}
    return {
        "issuer": "https://idp.example.com/",
        "audiences": ["mesh"],
        "jsonWebKeySet": {"remote": {"uri": JWKS, "cacheDuration": "5m", "jwksCluster": cluster, **remote}},
    }


def _jwt_crd(**spec: Any) -> dict[str, Any]:
    return _crd("JWTProvider", "idp", {**_jwt_provider_spec(), **spec})


def _jwt_entry(**remote: Any) -> dict[str, Any]:
    """A ``jwt-provider`` config entry in Consul's API names."""
    cluster = {"DiscoveryType": "STRICT_DNS", "TLSCertificates": {"TrustedCA": {"Filename": "/etc/ssl/idp.pem"}}}
    data = {
        "Issuer": "https://idp.example.com/",
        "Audiences": ["mesh"],
        "JSONWebKeySet": {"Remote": {"URI": JWKS, "JWKSCluster": cluster, **remote}},
    }
    return {"kind": "jwt-provider", "name": "idp", "configJson": json.dumps(data)}


def _permission(claims: list[Any], **jwt: Any) -> dict[str, Any]:
    return {
        "action": "allow",
        "http": {"pathPrefix": "/"},
        "jwt": {"providers": [{"name": "idp", "verifyClaims": claims}], **jwt},
    }


TEAM_CLAIM = [{"path": ["team"], "value": "pay"}]


def _snake_case_entry(uri: str, trusted_ca: dict[str, Any]) -> dict[str, Any]:
    """A ``jwt-provider`` config entry in the snake_case aliases Consul also decodes."""
    tls = {"tls_certificates": {"trusted_ca": trusted_ca}}
    data = {"issuer": "i", "audiences": ["a"], "json_web_key_set": {"remote": {"uri": uri, "jwks_cluster": tls}}}
    return {"kind": "jwt-provider", "name": "idp", "configJson": json.dumps(data)}


def _intentions_entry(provider: dict[str, Any]) -> dict[str, Any]:
    """A ``service-intentions`` config entry whose one permission requires ``provider``'s tokens (API names)."""
    permission = {"Action": "allow", "HTTP": {"PathPrefix": "/"}, "JWT": {"Providers": [provider]}}
    data = {"Sources": [{"Name": "web", "Permissions": [permission]}]}
    return {"kind": "service-intentions", "name": "api", "configJson": json.dumps(data)}


def _intentions_crd(*permissions: dict[str, Any], top: Any = None) -> dict[str, Any]:
    sources = [{"name": "web", "permissions": list(permissions)}]
    spec: dict[str, Any] = {"destination": {"name": "api"}, "sources": sources}
    if top is not None:
        spec["jwt"] = top
    return _crd("ServiceIntentions", "api-intentions", spec)


def _jwt_run_subjects() -> list[Subject]:
    from tests.jwt.variants import jwt_run

    return private_subjects(jwt_run().resources)


def _jwt_run_without(name: str, dependency: str) -> Callable[[], list[Subject]]:
    def change() -> list[Subject]:
        subjects = _jwt_run_subjects()
        target = named(subjects, name)
        drop_urn = named(subjects, dependency).urn
        target.dependencies = [urn for urn in target.dependencies if urn != drop_urn]
        target.property_dependencies = {
            key: [urn for urn in urns if urn != drop_urn] for key, urns in target.property_dependencies.items()
        }
        return subjects

    return change


OIDC_KEY = {
    "name": "lab-jwt-vault",
    "algorithm": "RS256",
    "rotationPeriod": 60,
    "verificationTtl": 600,
    "allowedClientIds": ["lab-jwt-vault"],
}
OIDC_ROLE = {"name": "lab-jwt-vault-web", "key": "lab-jwt-vault", "ttl": 600, "clientId": "lab-jwt-vault"}


def _oidc(key: Mapping[str, Any], role: Mapping[str, Any], ordered: bool = True) -> Callable[[], list[Subject]]:
    def build() -> list[Subject]:
        key_subject = subject(t.OIDC_KEY, "lab-key", dict(key))
        role_subject = subject(t.OIDC_ROLE, "lab-role", dict(role), dependencies=[key_subject.urn] if ordered else [])
        return [key_subject, role_subject]

    return build


JWT_TWINS: list[Twin] = [
    twin("int-jwt-provider", "no-issuer-nor-audience", CRD_JWT, _jwt_crd(issuer="", audiences=[]), _jwt_crd()),
    twin(
        "int-jwt-provider",
        "key-set-over-plain-http",
        CRD_JWT,
        _crd("JWTProvider", "idp", _jwt_provider_spec(uri="http://idp.example.com/keys")),
        _jwt_crd(),
    ),
    twin(
        "int-jwt-provider",
        "key-set-server-not-verified",
        CRD_JWT,
        _crd("JWTProvider", "idp", _jwt_provider_spec(jwksCluster={"discoveryType": "STRICT_DNS"})),
        _jwt_crd(),
    ),
    twin(
        "int-jwt-provider",
        "no-jwks-cluster-at-all",
        CRD_JWT,
        _crd("JWTProvider", "idp", {**_jwt_provider_spec(), "jsonWebKeySet": {"remote": {"uri": JWKS}}}),
        # a local key set (inline, base64) is fetched from nowhere: nothing to verify
        _crd("JWTProvider", "idp", {**_jwt_provider_spec(), "jsonWebKeySet": {"local": {"jwks": "e30="}}}),
    ),
    twin(
        "int-jwt-provider",
        "jwks-cluster-without-discovery-type",
        CRD_JWT,
        _crd(
            "JWTProvider",
            "idp",
            _jwt_provider_spec(jwksCluster={"tlsCertificates": {"trustedCA": {"inlineString": JWT_CA}}}),
        ),
        _jwt_crd(),
    ),
    twin(
        "int-jwt-provider",
        "config-entry-with-an-empty-trusted-ca",
        t.CONSUL_CONFIG_ENTRY,
        _jwt_entry(JWKSCluster={"TLSCertificates": {"TrustedCA": {"Filename": ""}}}),
        # a config entry may leave the discovery type to Consul's default; a certificate provider also verifies
        _jwt_entry(JWKSCluster={"TLSCertificates": {"CaCertificateProviderInstance": {"InstanceName": "default"}}}),
    ),
    twin(
        "int-jwt-provider",
        "config-entry-in-snake-case-over-http",
        t.CONSUL_CONFIG_ENTRY,
        _snake_case_entry("http://idp/keys", {}),
        _snake_case_entry(JWKS, {"inline_string": JWT_CA}),
    ),
    twin(
        "int-jwt-claims",
        "a-permission-without-claims-after-a-good-one",
        t.CRD_SERVICE_INTENTIONS,
        _intentions_crd(_permission(TEAM_CLAIM), _permission([])),
        _intentions_crd(_permission(TEAM_CLAIM), _permission(TEAM_CLAIM)),
    ),
    twin(
        "int-jwt-claims",
        "a-claim-without-a-value-and-one-with-an-empty-key",
        t.CRD_SERVICE_INTENTIONS,
        _intentions_crd(_permission([{"path": ["team"], "value": ""}, {"path": ["a", ""], "value": "x"}])),
        _intentions_crd(_permission([{"path": ["team"], "value": "pay"}, {"path": ["a", "b"], "value": "x"}])),
    ),
    twin(
        "int-jwt-claims",
        "an-entry-wide-requirement-without-providers",
        t.CRD_SERVICE_INTENTIONS,
        _intentions_crd(_permission(TEAM_CLAIM), top={"providers": []}),
        _intentions_crd(_permission(TEAM_CLAIM), top={"providers": [{"name": "idp", "verifyClaims": TEAM_CLAIM}]}),
    ),
    twin(
        "int-jwt-claims",
        "typed-intentions-entry-wide-without-claims",
        t.CONSUL_INTENTIONS,
        {"name": "api", "jwts": [{"providers": [{"name": "idp"}]}], "sources": [{"name": "web", "action": "allow"}]},
        {
            "name": "api",
            "jwts": [{"providers": [{"name": "idp", "verifyClaims": [{"paths": ["team"], "value": "pay"}]}]}],
            "sources": [{"name": "web", "action": "allow"}],
        },
    ),
    twin(
        "int-jwt-claims",
        "config-entry-permission-without-claims",
        t.CONSUL_CONFIG_ENTRY,
        _intentions_entry({"Name": "idp"}),
        _intentions_entry({"Name": "idp", "VerifyClaims": [{"Path": ["team"], "Value": "pay"}]}),
    ),
    stack_twin(
        "int-jwt-order",
        "intentions-before-the-provider-they-name",
        _jwt_run_without("secure-mesh-intentions-payments-intentions", "secure-mesh-intentions-corp-jwt-provider"),
        _jwt_run_subjects,
        blame="secure-mesh-intentions-payments-intentions",
    ),
    stack_twin(
        "int-jwt-order",
        "a-provider-the-stack-does-not-declare",
        lambda: [subject(t.CRD_SERVICE_INTENTIONS, "api-intentions", _intentions_crd(_permission(TEAM_CLAIM)))],
        lambda: [
            subject(t.CRD_JWT_PROVIDER, "idp", _jwt_crd()),
            subject(
                t.CRD_SERVICE_INTENTIONS,
                "api-intentions",
                _intentions_crd(_permission(TEAM_CLAIM)),
                dependencies=[urn_of(t.CRD_JWT_PROVIDER, "idp")],
            ),
        ],
        blame="api-intentions",
    ),
    twin("vlt-oidc-key", "every-role-may-sign", t.OIDC_KEY, {**OIDC_KEY, "allowedClientIds": ["*"]}, OIDC_KEY),
    twin("vlt-oidc-key", "no-role-may-sign", t.OIDC_KEY, {**OIDC_KEY, "allowedClientIds": []}, OIDC_KEY),
    twin(
        "vlt-oidc-key",
        "a-rotation-a-second-under-a-minute",
        t.OIDC_KEY,
        {**OIDC_KEY, "rotationPeriod": 59},
        {**OIDC_KEY, "rotationPeriod": 60, "verificationTtl": 590},
    ),
    twin(
        "vlt-oidc-key",
        "verification-a-second-over-ten-rotations",
        t.OIDC_KEY,
        {**OIDC_KEY, "verificationTtl": 601},
        OIDC_KEY,
    ),
    stack_twin(
        "vlt-oidc-role",
        "tokens-a-second-over-an-hour",
        _oidc({**OIDC_KEY, "verificationTtl": 3601}, {**OIDC_ROLE, "ttl": 3601}),
        _oidc({**OIDC_KEY, "verificationTtl": 3601}, {**OIDC_ROLE, "ttl": 3600}),
        blame="lab-role",
    ),
    stack_twin(
        "vlt-oidc-role",
        "a-client-id-its-key-does-not-allow",
        _oidc(OIDC_KEY, {**OIDC_ROLE, "clientId": "other"}),
        _oidc(OIDC_KEY, OIDC_ROLE),
        blame="lab-role",
    ),
    stack_twin(
        "vlt-oidc-role",
        "tokens-outliving-the-keys-verification",
        _oidc(OIDC_KEY, {**OIDC_ROLE, "ttl": 601}),
        _oidc(OIDC_KEY, OIDC_ROLE),
        blame="lab-role",
    ),
    stack_twin(
        "vlt-oidc-role",
        "written-before-its-key",
        _oidc(OIDC_KEY, OIDC_ROLE, ordered=False),
        _oidc(OIDC_KEY, OIDC_ROLE),
        blame="lab-role",
    ),
]
"""The JWT-authorized intentions' rules (issue 17 item 5)."""
TWINS.extend(JWT_TWINS)
