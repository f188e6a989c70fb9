"""The gateway's listener certificate with its chain through Vault Secrets Operator (issue 18), under mocks.

The chain check follows VSO's own code: for a ``kubernetes.io/tls`` destination ``tls.crt`` is
``certificate`` + ``"\\n"`` + ``"\\n".join(ca_chain)`` (``issuing_ca`` when the chain is empty), and every
issue request carries ``remove_roots_from_chain=true`` (vault-secrets-operator
``controllers/vaultpkisecret_controller.go`` ``convertToK8sTLSSecretData``, ``api/v1beta1/vaultpkisecret_types.go``
``GetIssuerAPIData``). Vault answers ``ca_chain`` issuer first and, with that flag, without self-signed CAs.
The test builds a real chain as deep as the stack's gateway chain and checks what the Secret would hold.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from secure_mesh.layout import Layout
from secure_mesh.onboarding.gateway_vso import expiry_offset, single_unit
from secure_mesh.settings import ChainName, duration_seconds
from tests.consul.helpers import stack_settings
from tests.harness import ProgramRun
from tests.onboarding.stacks import onboarding_layout, onboarding_run

RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
CONNECTION = "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection"
AUTH = "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth"
PKI_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultPKISecret"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
POLICY = "vault:index/policy:Policy"
SECRET = "kubernetes:core/v1:Secret"


def _needs(run: ProgramRun, name: str) -> set[str]:
    [resource] = [r for r in run.resources if r.name == name]
    return {run.by_urn(urn).name for urn in resource.dependencies}


def test_the_operator_chart_is_pinned_with_no_default_connection_or_auth() -> None:
    release = onboarding_run().one(RELEASE, "secure-mesh-onboarding-vso")
    assert release.inputs == {
        "name": "vault-secrets-operator",
        "chart": "vault-secrets-operator",
        "version": "1.4.1",
        "repositoryOpts": {"repo": "https://helm.releases.hashicorp.com"},
        "namespace": "vault-secrets-operator-system",
        "createNamespace": True,
        "values": {"defaultVaultConnection": {"enabled": False}, "defaultAuthMethod": {"enabled": False}},
        "atomic": True,
        "cleanupOnFail": True,
        "timeout": 300,
        "compat": "true",
    }
    assert not [r for r in onboarding_run().resources if r.type.startswith("kubernetes:secrets-store.csi")]


def test_vault_connection_auth_and_pki_secret_are_the_whole_expected_documents() -> None:
    run = onboarding_run()
    assert run.one(CONNECTION).inputs == {
        "apiVersion": "secrets.hashicorp.com/v1beta1",
        "kind": "VaultConnection",
        "metadata": {"name": "api-gateway-vault", "namespace": "consul"},
        "spec": {
            "address": "https://vault.vault.svc.cluster.local:8200",
            "skipTLSVerify": False,
            "caCertSecretRef": "api-gateway-vault-ca",
        },
    }
    assert run.one(AUTH).inputs == {
        "apiVersion": "secrets.hashicorp.com/v1beta1",
        "kind": "VaultAuth",
        "metadata": {"name": "api-gateway-vault", "namespace": "consul"},
        "spec": {
            "vaultConnectionRef": "api-gateway-vault",
            "method": "kubernetes",
            "mount": "kubernetes-dc1",
            "kubernetes": {
                "role": "api-gateway",
                "serviceAccount": "api-gateway-certificate",
                "audiences": ["vault"],
                "tokenExpirationSeconds": 600,
            },
        },
    }
    assert run.one(PKI_SECRET).inputs == {
        "apiVersion": "secrets.hashicorp.com/v1beta1",
        "kind": "VaultPKISecret",
        "metadata": {"name": "api-gateway-tls", "namespace": "consul"},
        "spec": {
            "vaultAuthRef": "api-gateway-vault",
            "mount": "consul/gateway/pki_int1",
            "role": "api-gateway",
            "commonName": "web.apps.secure-mesh.test",
            "altNames": ["web.apps.secure-mesh.test"],
            "ttl": "720h",
            "format": "pem",
            "expiryOffset": "240h",
            "destination": {"name": "api-gateway-tls", "create": True, "overwrite": True, "type": "kubernetes.io/tls"},
            "rolloutRestartTargets": [{"kind": "Deployment", "name": "api-gateway"}],
        },
    }


def test_the_gateway_role_is_bound_to_the_operators_account_for_the_gateway() -> None:
    run = onboarding_run()
    role = run.one(ROLE, "secure-mesh-onboarding-gateway-role")
    assert role.inputs == {
        "backend": "kubernetes-dc1",
        "roleName": "api-gateway",
        "boundServiceAccountNames": ["api-gateway-certificate"],
        "boundServiceAccountNamespaces": ["consul"],
        "audience": "vault",
        "aliasNameSource": "serviceaccount_uid",
        "tokenPolicies": ["consul-dc1-api-gateway"],
        "tokenNoDefaultPolicy": True,
        "tokenTtl": 3600,
        "tokenMaxTtl": 14400,
    }
    account = run.one("kubernetes:core/v1:ServiceAccount", "secure-mesh-onboarding-gateway-certificate-account")
    assert account.inputs["metadata"] == {"name": "api-gateway-certificate", "namespace": "consul"}
    assert account.inputs["automountServiceAccountToken"] is False
    # The role's only policy issues from exactly the mount and role the PKI secret names.
    spec = run.one(PKI_SECRET).inputs["spec"]
    policy = run.one(POLICY, "secure-mesh-onboarding-gateway-policy")
    assert f'"{spec["mount"]}/issue/{spec["role"]}"' in policy.inputs["policy"]


def test_resources_wait_for_the_operator_the_login_and_the_gateway() -> None:
    run = onboarding_run()
    assert {"secure-mesh-onboarding-vso"} <= _needs(run, "secure-mesh-onboarding-gateway-vault-connection")
    assert {
        "secure-mesh-onboarding-vso",
        "secure-mesh-onboarding-gateway-vault-connection",
        "secure-mesh-onboarding-gateway-certificate-account",
        "secure-mesh-onboarding-gateway-role",
        "secure-mesh-onboarding-gateway-policy",
    } <= _needs(run, "secure-mesh-onboarding-gateway-vault-auth")
    assert {
        "secure-mesh-onboarding-vso",
        "secure-mesh-onboarding-gateway-vault-auth",
        "secure-mesh-onboarding-gateway",
    } <= _needs(run, "secure-mesh-onboarding-gateway-certificate")


def test_the_gateway_listener_serves_the_secret_the_operator_writes() -> None:
    run = onboarding_run()
    destination = run.one(PKI_SECRET).inputs["spec"]["destination"]
    [listener] = run.one(GATEWAY).inputs["spec"]["listeners"]
    assert listener["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "name": destination["name"]}],
    }
    assert run.one(PKI_SECRET).inputs["metadata"]["namespace"] == run.one(GATEWAY).inputs["metadata"]["namespace"]


def test_prod_verifies_vault_with_its_private_ca_under_the_key_vso_reads() -> None:
    run = onboarding_run("prod")
    connection = run.one(CONNECTION).inputs["spec"]
    assert connection == {
        "address": connection["address"],
        "skipTLSVerify": False,
        "tlsServerName": "vault.prod.example.com",
        "caCertSecretRef": "api-gateway-vault-ca",
    }
    assert connection["address"].startswith("https://")
    ca = run.one(SECRET, "secure-mesh-onboarding-gateway-vso-vault-ca")
    assert ca.inputs["metadata"] == {"name": "api-gateway-vault-ca", "namespace": "consul"}
    assert list(ca.inputs["stringData"]) == ["ca.crt"]
    assert "BEGIN CERTIFICATE" in ca.inputs["stringData"]["ca.crt"]
    assert "secure-mesh-onboarding-gateway-vso-vault-ca" in _needs(
        run, "secure-mesh-onboarding-gateway-vault-connection"
    )
    assert (
        run.one(PKI_SECRET).inputs["spec"]["mount"] == onboarding_layout("prod").issuing_mount(ChainName.GATEWAY).path
    )


@pytest.mark.parametrize(
    ("leaf_ttl", "offset"), [("720h", "240h"), ("72h", "24h"), ("1h", "20m"), ("10m", "200s"), ("3s", "1s")]
)
def test_renewal_starts_a_third_of_the_lifetime_before_expiry(leaf_ttl: str, offset: str) -> None:
    override = {"pki": {"chains": {"gateway": {"leafTtl": leaf_ttl, "leafMaxTtl": "720h"}}}}
    leaf = Layout(stack_settings("dev", override)).settings.pki.chains.gateway.leaf_ttl
    assert expiry_offset(duration_seconds(leaf)) == offset
    assert single_unit(90 * 60) == "90m" and single_unit(7200) == "2h" and single_unit(61) == "61s"


# ------------------------------------------------------------------------------------ the chain in tls.crt


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificate(
    subject: str, issuer: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey, ca: bool
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("web.apps.secure-mesh.test")]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode().strip()


def _vault_issue(levels: int, remove_roots: bool) -> tuple[x509.Certificate, dict[str, Any]]:
    """A root, ``levels`` intermediates and a leaf; Vault's issue response (``ca_chain`` issuer first)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate("root", "root", root_key, root_key, ca=True)
    chain, signer_name, signer_key = [], "root", root_key
    for level in range(1, levels + 1):
        key = ec.generate_private_key(ec.SECP256R1())
        chain.insert(0, _certificate(f"int{level}", signer_name, key, signer_key, ca=True))
        signer_name, signer_key = f"int{level}", key
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate("web.apps.secure-mesh.test", signer_name, leaf_key, signer_key, ca=False)
    ca_chain = [_pem(c) for c in chain] + ([] if remove_roots else [_pem(root)])
    return root, {"certificate": _pem(leaf), "issuing_ca": _pem(chain[0]), "ca_chain": ca_chain}


def _vso_tls_crt(response: dict[str, Any]) -> str:
    """VSO's ``convertToK8sTLSSecretData`` for ``tls.crt`` (``ca_chain`` joined by newlines, else ``issuing_ca``)."""
    ca_data = "\n".join(response["ca_chain"]) or response["issuing_ca"]
    return response["certificate"] + "\n" + ca_data


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tls_crt_is_the_leaf_then_its_issuing_chain_without_the_root(stack: str) -> None:
    layout = onboarding_layout(stack)
    levels = len(layout.chain_mounts(ChainName.GATEWAY))  # the Vault-held intermediates under the root
    spec = onboarding_run(stack).one(PKI_SECRET).inputs["spec"]
    # The delivery VSO builds the chain for: a kubernetes.io/tls destination it creates, PEM.
    assert spec["destination"]["type"] == "kubernetes.io/tls" and spec["destination"]["create"] is True
    assert spec["format"] == "pem"
    root, response = _vault_issue(levels, remove_roots=True)  # VSO always sends remove_roots_from_chain=true
    certificates = x509.load_pem_x509_certificates(_vso_tls_crt(response).encode())
    assert len(certificates) == levels + 1, "the leaf and every intermediate"
    assert certificates[0].subject.rfc4514_string() == "CN=web.apps.secure-mesh.test", "the leaf comes first"
    for child, parent in itertools.pairwise(certificates):
        assert child.issuer == parent.subject, "each certificate is followed by its issuer"
        child.verify_directly_issued_by(parent)
    assert all(c.issuer != c.subject for c in certificates), "no self-signed (root) certificate in tls.crt"
    store = x509.verification.Store([root])
    verifier = (
        x509.verification.PolicyBuilder().store(store).build_server_verifier(x509.DNSName("web.apps.secure-mesh.test"))
    )
    built = verifier.verify(certificates[0], certificates[1:])
    assert built[-1] == root, "a client holding only the root verifies the listener"
    # Without the flag Vault would include the root: the Secret must not be built that way.
    _, with_root = _vault_issue(levels, remove_roots=False)
    assert any(c.issuer == c.subject for c in x509.load_pem_x509_certificates(_vso_tls_crt(with_root).encode()))
