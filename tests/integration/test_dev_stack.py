"""The dev stack, deployed for real with the Automation API, checked through Vault's and Consul's own APIs.

One module-scoped deployment: ``up`` (with the policy pack), the checks, then ``destroy`` (unless
``SECURE_MESH_INTEGRATION_KEEP=1``, for a laptop that wants to keep its dev deployment). Every Vault path,
Kubernetes name and service pair comes from the program's settings, layout and intention graph.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import DNSName, PolicyBuilder, Store
from pulumi import automation as auto

from scripts.stack_env import REPO_ROOT, DevEnvironment, load_stack_settings
from secure_mesh.layout import KvSecret, Layout
from secure_mesh.mesh.graph import AccessKind, IntentionGraph, build_graph
from secure_mesh.settings import ChainName, Settings, duration_seconds
from tests.integration.clients import Response, VaultApi, https_get, port_forward
from tests.integration.environment import dev_env

CONSUL_HTTPS_PORT = 8501
"""The Consul chart's HTTPS API port on the server service (TLS is always on in this program)."""


@dataclass(frozen=True)
class Deployed:
    """What the checks need: the live stack and the names it was built from."""

    stack: auto.Stack
    settings: Settings
    layout: Layout
    environment: DevEnvironment
    vault: VaultApi


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    """``pulumi up`` the dev stack through the Automation API; ``pulumi destroy`` it afterwards."""
    environment = dev_env()
    settings = load_stack_settings(environment.stack)
    workspace = auto.LocalWorkspaceOptions(
        env_vars={
            "PULUMI_BACKEND_URL": os.environ.get("PULUMI_BACKEND_URL", environment.backend_url),
            "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", environment.dev_passphrase),
        },
        secrets_provider="passphrase",
    )
    stack = auto.create_or_select_stack(stack_name=environment.stack, work_dir=str(REPO_ROOT), opts=workspace)
    result = stack.up(policy_packs=[str(REPO_ROOT / "policy")], on_output=print, color="never")
    assert result.summary.result == "succeeded", f"pulumi up of stack {environment.stack}: {result.summary.result}"
    try:
        yield Deployed(
            stack=stack,
            settings=settings,
            layout=Layout(settings),
            environment=environment,
            vault=VaultApi(os.environ["VAULT_ADDR"], os.environ["VAULT_TOKEN"], environment.vault_ca_file),
        )
    finally:
        if os.environ.get("SECURE_MESH_INTEGRATION_KEEP") != "1":
            stack.destroy(on_output=print, color="never")


# --------------------------------------------------------------------------------------------- helpers


def _pem_list(value: object) -> list[x509.Certificate]:
    pems = value if isinstance(value, list) else [value]
    return [x509.load_pem_x509_certificate(pem.encode()) for pem in pems if isinstance(pem, str) and pem.strip()]


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, x509.InvalidSignature):
        return False
    return True


def _issue_server_certificate(deployed: Deployed) -> Response:
    layout = deployed.layout
    fullname, namespace = layout.consul_fullname, layout.consul_namespace
    return deployed.vault.write(
        layout.server_pki_issue_path,
        {
            "common_name": layout.server_common_name,
            "alt_names": f"localhost,{fullname}-server,{fullname}-server.{namespace}.svc",
            "ip_sans": "127.0.0.1",
        },
    )


def _bootstrap_token(deployed: Deployed) -> str:
    """Consul's bootstrap (management) token, once server-acl-init has written it back into Vault."""
    token_path = deployed.layout.kv(KvSecret.BOOTSTRAP_TOKEN)
    token = ""
    deadline = time.monotonic() + 180
    while not token and time.monotonic() < deadline:
        reply = deployed.vault.read(token_path.data_path)
        if reply.status == 200:
            token = (reply.body.get("data", {}).get("data") or {}).get(token_path.field, "")
        if not token:
            time.sleep(5)
    assert token, f"no ACL bootstrap token at {token_path.data_path} (field {token_path.field})"
    return str(token)


def _server_tls(deployed: Deployed) -> ssl.SSLContext:
    """A TLS context trusting exactly the program's server CA chain (a fresh issue's chain plus the root)."""
    issued = _issue_server_certificate(deployed)
    assert issued.status == 200, f"POST {deployed.layout.server_pki_issue_path}: {issued.status} {issued.body}"
    pems = _pem_list(issued.body["data"].get("ca_chain") or issued.body["data"]["issuing_ca"])
    return ssl.create_default_context(
        cadata="".join(c.public_bytes(Encoding.PEM).decode() for c in [*pems, _root_certificate(deployed)])
    )


def _root_certificate(deployed: Deployed) -> x509.Certificate:
    root_mount = deployed.layout.root_mount
    assert root_mount is not None, "the dev stack keeps its root in Vault (pki.rootCustody: vault)"
    reply = deployed.vault.read(root_mount.ca_path)
    assert reply.status == 200, f"GET {root_mount.ca_path}: {reply.status} {reply.body}"
    return x509.load_pem_x509_certificate(reply.body["data"]["certificate"].encode())


def _unlisted_pairs(graph: IntentionGraph) -> list[tuple[str, str]]:
    """Pairs of declared services no intention or app upstream names: only the default deny applies."""
    unlisted = []
    for source, destination in graph.matrix():
        entry = graph.entry(destination)
        if entry is None or all(rule.source != source for rule in entry.sources):
            unlisted.append((source, destination))
    return unlisted


# ----------------------------------------------------------------------------------------------- tests


def test_server_role_issues_a_server_certificate(deployed: Deployed) -> None:
    reply = _issue_server_certificate(deployed)
    path = deployed.layout.server_pki_issue_path
    assert reply.status == 200, f"POST {path}: {reply.status} {reply.body}"
    leaf = x509.load_pem_x509_certificate(reply.body["data"]["certificate"].encode())

    common_names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    assert common_names == [deployed.layout.server_common_name], f"{path}: subject {leaf.subject}"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    fullname, namespace = deployed.layout.consul_fullname, deployed.layout.consul_namespace
    assert {
        deployed.layout.server_common_name,
        "localhost",
        f"{fullname}-server",
        f"{fullname}-server.{namespace}.svc",
    } <= set(san.get_values_for_type(x509.DNSName)), f"{path}: SANs {san}"
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress), f"{path}: SANs {san}"
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages, f"{path}: extended key usage {usages}"
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    max_ttl = duration_seconds(deployed.settings.pki.chains.by_name(ChainName.SERVER).leaf_max_ttl)
    assert lifetime <= datetime.timedelta(seconds=max_ttl + 60), f"{path}: lifetime {lifetime} exceeds max_ttl"


def test_server_role_refuses_names_outside_its_domains(deployed: Deployed) -> None:
    layout = deployed.layout
    foreign = f"server.not-{layout.datacenter}.{deployed.settings.consul.domain}"
    reply = deployed.vault.write(layout.server_pki_issue_path, {"common_name": foreign})
    assert reply.status == 400, f"POST {layout.server_pki_issue_path} for {foreign}: {reply.status} {reply.body}"
    assert any(foreign in error for error in reply.body.get("errors", [])), reply.body


def test_server_certificate_chain_verifies_to_the_root(deployed: Deployed) -> None:
    reply = _issue_server_certificate(deployed)
    path = deployed.layout.server_pki_issue_path
    assert reply.status == 200, f"POST {path}: {reply.status} {reply.body}"
    leaf = x509.load_pem_x509_certificate(reply.body["data"]["certificate"].encode())
    root = _root_certificate(deployed)
    assert _is_self_signed(root), f"{deployed.layout.root_mount}: the root is not self-signed"

    chain = _pem_list(reply.body["data"].get("ca_chain") or reply.body["data"]["issuing_ca"])
    intermediates = [c for c in chain if not _is_self_signed(c)]
    levels = deployed.settings.pki.chains.by_name(ChainName.SERVER).levels
    assert len(intermediates) == levels, f"{path}: ca_chain holds {len(intermediates)} intermediates, want {levels}"

    # Link by link: leaf <- deepest intermediate <- ... <- level 1 <- root.
    for child, parent in zip([leaf, *intermediates], [*intermediates, root], strict=True):
        child.verify_directly_issued_by(parent)

    # And as a TLS client would: RFC 5280 path validation to the root as the only trust anchor.
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(datetime.datetime.now(datetime.UTC))
        .build_server_verifier(DNSName(deployed.layout.server_common_name))
    )
    verified = verifier.verify(leaf, intermediates)
    assert verified[-1] == root, f"{path}: the chain does not end at the root"


def test_unlisted_service_pair_is_denied(deployed: Deployed) -> None:
    layout = deployed.layout
    graph = build_graph(deployed.settings)
    unlisted = _unlisted_pairs(graph)
    assert unlisted, "the dev stack declares no unlisted service pair to check"
    denied_pair = ("web", "payments") if ("web", "payments") in unlisted else unlisted[0]
    allowed_pairs = [pair for pair, access in graph.matrix().items() if access.kind is AccessKind.ALLOW]
    assert allowed_pairs, "the dev stack declares no allowed pair (needed as the positive control)"

    token = _bootstrap_token(deployed)

    tls = _server_tls(deployed)

    context = deployed.environment.kube_context
    with port_forward(context, layout.consul_namespace, layout.consul_server_service, CONSUL_HTTPS_PORT) as port:

        def allowed(source: str, destination: str) -> bool:
            query = urllib.parse.urlencode({"source": source, "destination": destination})
            reply = https_get(
                f"https://127.0.0.1:{port}/v1/connect/intentions/check?{query}",
                headers={"X-Consul-Token": token},
                context=tls,
            )
            assert reply.status == 200, f"intention check {source} -> {destination}: {reply.status} {reply.body}"
            return bool(reply.body["Allowed"])

        # Positive control first: the ServiceIntentions resources reach Consul asynchronously.
        source, destination = allowed_pairs[0]
        deadline = time.monotonic() + 180
        while not allowed(source, destination):
            assert time.monotonic() < deadline, f"declared allow {source} -> {destination} never took effect"
            time.sleep(5)
        assert not allowed(*denied_pair), f"unlisted pair {denied_pair[0]} -> {denied_pair[1]} is allowed"


def test_raising_the_server_tls_generation_switches_the_issuing_ca(deployed: Deployed) -> None:
    """Next to last in the file: it changes the deployment (``rotation.serverTlsGeneration`` 1 → 2, one more ``up``).

    Vault's multi-issuer PKI (1.11+): the server chain's issuing mount then holds both generations' issuers, its
    default issuer (``config/issuers``) is the new one, a fresh server certificate is issued by it and still
    verifies to the root, and the old issuer is still there for the leaves it signed. The stack records the
    generation in ``rotationVersions`` (what the next run checks).
    """
    mount = deployed.layout.server_pki_issue_path.split("/issue/", 1)[0]
    before = deployed.vault.read(f"{mount}/config/issuers")
    assert before.status == 200, f"GET {mount}/config/issuers: {before.status} {before.body}"
    old_default = before.body["data"]["default"]

    # Structured config as the program reads it: Pulumi hands objects over as JSON text.
    deployed.stack.set_config("secure-mesh:rotation", auto.ConfigValue(json.dumps({"serverTlsGeneration": 2})))
    result = deployed.stack.up(policy_packs=[str(REPO_ROOT / "policy")], on_output=print, color="never")
    assert result.summary.result == "succeeded", f"pulumi up with serverTlsGeneration 2: {result.summary.result}"

    after = deployed.vault.read(f"{mount}/config/issuers")
    assert after.status == 200, f"GET {mount}/config/issuers: {after.status} {after.body}"
    new_default = after.body["data"]["default"]
    assert new_default != old_default, f"{mount}: the default issuer did not move"
    new_issuer = deployed.vault.read(f"{mount}/issuer/{new_default}")
    assert new_issuer.status == 200, f"GET {mount}/issuer/{new_default}: {new_issuer.status} {new_issuer.body}"
    assert new_issuer.body["data"]["issuer_name"].endswith("-g2"), new_issuer.body["data"]["issuer_name"]
    kept = deployed.vault.read(f"{mount}/issuer/{old_default}")
    assert kept.status == 200, f"{mount}: generation 1's issuer {old_default} is gone: {kept.status} {kept.body}"

    reply = _issue_server_certificate(deployed)
    assert reply.status == 200, f"POST {deployed.layout.server_pki_issue_path}: {reply.status} {reply.body}"
    issuing = x509.load_pem_x509_certificate(reply.body["data"]["issuing_ca"].encode())
    assert issuing == x509.load_pem_x509_certificate(new_issuer.body["data"]["certificate"].encode())
    leaf = x509.load_pem_x509_certificate(reply.body["data"]["certificate"].encode())
    intermediates = [c for c in _pem_list(reply.body["data"].get("ca_chain")) if not _is_self_signed(c)]
    verifier = (
        PolicyBuilder()
        .store(Store([_root_certificate(deployed)]))
        .time(datetime.datetime.now(datetime.UTC))
        .build_server_verifier(DNSName(deployed.layout.server_common_name))
    )
    verifier.verify(leaf, intermediates)
    assert deployed.stack.outputs()["rotationVersions"].value == {"serverTlsGeneration": 2}


def test_raising_the_connect_root_generation_switches_consuls_root(deployed: Deployed) -> None:
    """Last in the file: it changes the deployment (``consul.address`` through a port-forward and
    ``rotation.connectRootGeneration`` 1 → 2, then one more ``up``).

    Consul rotates its Connect root when the CA configuration names another ``RootPKIPath`` and has the old root
    cross-sign the new one at ``<old>/root/sign-self-issued`` (consul ``leader_connect_ca.go``, ``provider_vault.go``
    ``CrossSignCA``); ``/v1/connect/ca/roots`` needs no token ("ACL Required: none") and lists both roots until the
    old one is pruned. The servers' mesh CA policy holds the ``sudo`` grant only until the next ``up``.
    """
    layout = deployed.layout
    tls = _server_tls(deployed)
    context = deployed.environment.kube_context
    policy_path = f"sys/policies/acl/{layout.mesh_ca_policy_name}"
    old_root = layout.connect_root_pki_path
    with port_forward(context, layout.consul_namespace, layout.consul_server_service, CONSUL_HTTPS_PORT) as port:

        def roots() -> dict[str, Any]:
            reply = https_get(f"https://127.0.0.1:{port}/v1/connect/ca/roots", headers={}, context=tls)
            assert reply.status == 200, f"GET /v1/connect/ca/roots: {reply.status} {reply.body}"
            return dict(reply.body)

        before = roots()
        old_id = before["ActiveRootID"]
        consul = json.loads(deployed.stack.get_config("secure-mesh:consul").value)
        consul["address"] = f"https://localhost:{port}"  # a name in the servers' certificate (chart SANs)
        # The Consul provider's token (operator = "write" for the CA configuration), as docs/consul.md says.
        deployed.stack.workspace.env_vars["CONSUL_HTTP_TOKEN"] = _bootstrap_token(deployed)
        deployed.stack.set_config("secure-mesh:consul", auto.ConfigValue(json.dumps(consul)))
        rotation = {"serverTlsGeneration": 2, "connectRootGeneration": 2}
        deployed.stack.set_config("secure-mesh:rotation", auto.ConfigValue(json.dumps(rotation)))
        result = deployed.stack.up(policy_packs=[str(REPO_ROOT / "policy")], on_output=print, color="never")
        assert result.summary.result == "succeeded", f"pulumi up with connectRootGeneration 2: {result.summary.result}"

        new_mount = f"{old_root}_g2"
        granted = deployed.vault.read(policy_path)
        assert granted.status == 200, f"GET {policy_path}: {granted.status} {granted.body}"
        assert f"{old_root}/root/sign-self-issued" in granted.body["data"]["policy"], "the cross-sign grant is missing"

        after = roots()
        assert after["ActiveRootID"] != old_id, "Consul did not switch roots"
        listed = {str(r["ID"]): r for r in after["Roots"]}
        assert old_id in listed, "the old root must stay listed (trusted) until Consul prunes it"
        active = listed[str(after["ActiveRootID"])]
        new_ca = deployed.vault.read(f"{new_mount}/cert/ca")
        assert new_ca.status == 200, f"GET {new_mount}/cert/ca: {new_ca.status} {new_ca.body}"
        new_certificate = x509.load_pem_x509_certificate(new_ca.body["data"]["certificate"].encode())
        assert _pem_list(active["RootCert"])[0] == new_certificate, "the active root is not the new mount's CA"
        old_certificate = _pem_list(listed[str(old_id)]["RootCert"])[0]
        crossed = [c for c in _pem_list(active.get("IntermediateCerts") or []) if c.subject == new_certificate.subject]
        assert crossed, "no cross-signed certificate of the new root"
        crossed[0].verify_directly_issued_by(old_certificate)

        again = deployed.stack.up(policy_packs=[str(REPO_ROOT / "policy")], on_output=print, color="never")
        assert again.summary.result == "succeeded", f"pulumi up after the switch: {again.summary.result}"
        dropped = deployed.vault.read(policy_path)
        assert dropped.status == 200, f"GET {policy_path}: {dropped.status} {dropped.body}"
        assert "sign-self-issued" not in dropped.body["data"]["policy"], "the cross-sign grant outlived the switch"
        assert "sudo" not in dropped.body["data"]["policy"]
        recorded = deployed.stack.outputs()["rotationVersions"].value
        assert recorded == {"serverTlsGeneration": 2, "connectRootGeneration": 2}
