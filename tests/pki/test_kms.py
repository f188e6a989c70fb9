"""The aws-kms custody against moto: the root ceremony, KMS signing of level 1, and the provider class."""

from __future__ import annotations

import contextlib
import io
import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from moto import mock_aws

from secure_mesh.pki.certificates import CertificateCheckError, Level1Requirements, NameConstraints
from secure_mesh.pki.kms import KmsSigner, build_crl, build_root_certificate, kms_key_spec, sign_level1_csr
from secure_mesh.pki.kms_resource import KmsLevel1SignerProvider

from .helpers import make_csr

REGION = "eu-west-1"
SERVER_DNS = ("eu-west-1.consul", "consul-consul-server", "localhost")
CRL_URL = "http://pki.example.com/secure-mesh/root.crl"
ISSUER_URL = "http://pki.example.com/secure-mesh/root.crt"
REQUIREMENTS = Level1Requirements(
    chain="server",
    common_name="Example Corp server CA level 1",
    max_path_length=1,
    permitted_dns_domains=SERVER_DNS,
    key_type="ec",
    key_bits=384,
    constraints=NameConstraints(SERVER_DNS, permitted_ip_ranges=("127.0.0.1/32",)),
    crl_distribution_points=(CRL_URL,),
    issuing_certificates=(ISSUER_URL,),
)


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("kms", region_name=REGION)


def _key(kms: Any, spec: str = "ECC_NIST_P384") -> str:
    key_id: str = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    return key_id


def _ceremony(key_id: str, *extra: str) -> str:
    from secure_mesh.__main__ import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["root-ca", "init", "--kms-key", key_id, "--region", REGION, *extra]) == 0
    return out.getvalue()


def test_ceremony_makes_a_self_signed_p384_root_through_kms(kms: Any) -> None:
    key_id = _key(kms)
    root = x509.load_pem_x509_certificate(
        _ceremony(key_id, "--common-name", "Example Corp root CA", "--organization", "Example Corp").encode()
    )
    root.verify_directly_issued_by(root)
    assert root.subject.rfc4514_string() == "CN=Example Corp root CA,O=Example Corp"
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey) and root.public_key().curve.name == "secp384r1"
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 4
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert (root.not_valid_after_utc - root.not_valid_before_utc).total_seconds() == 87600 * 3600
    kms_public = kms.get_public_key(KeyId=key_id)["PublicKey"]
    assert KmsSigner(key_id, REGION, kms).public_key_info_der == kms_public


def test_prod_stack_root_is_what_the_ceremony_prints() -> None:
    from tests.harness import load_stack_config

    pem = load_stack_config("prod")["pki"]["awsKms"]["rootCertificatePem"]
    root = x509.load_pem_x509_certificate(pem.encode())
    root.verify_directly_issued_by(root)
    assert root.public_key().curve.name == "secp384r1"  # type: ignore[union-attr]
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 4


@pytest.mark.parametrize(("spec", "curve_or_bits"), [("ECC_NIST_P384", "secp384r1"), ("RSA_2048", 2048)])
def test_root_to_level1_chain_validates(kms: Any, spec: str, curve_or_bits: object) -> None:
    key_id = _key(kms, spec)
    signer = KmsSigner(key_id, REGION, kms)
    root_pem = build_root_certificate(signer, "Example Corp root CA", "Example Corp", 87600 * 3600, 4)
    key_type, key_bits = ("ec", 384) if spec.startswith("ECC") else ("rsa", 2048)
    assert kms_key_spec(key_type, key_bits) == spec
    requirements = Level1Requirements(**{**REQUIREMENTS.__dict__, "key_type": key_type, "key_bits": key_bits})
    if key_type == "ec":
        csr_pem = make_csr(REQUIREMENTS.common_name, curve=ec.SECP384R1())
    else:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        csr_pem = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, REQUIREMENTS.common_name)]))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(rsa_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
            .decode()
        )
    level1_pem = sign_level1_csr(signer, root_pem, csr_pem, requirements, 43800 * 3600)

    root = x509.load_pem_x509_certificate(root_pem.encode())
    level1 = x509.load_pem_x509_certificate(level1_pem.encode())
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    level1.verify_directly_issued_by(root)  # signature and issuer == root subject
    assert level1.issuer == root.subject and level1.subject == csr.subject
    assert level1.public_key() == csr.public_key()
    constraints = level1.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 1
    assert (
        constraints.value.path_length < root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
    )
    usage = level1.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    names = level1.extensions.get_extension_for_class(x509.NameConstraints)
    assert names.critical
    assert names.value == x509.NameConstraints(
        permitted_subtrees=[
            *(x509.DNSName(d) for d in SERVER_DNS),
            x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
        ],
        excluded_subtrees=None,
    )
    crl = level1.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert not crl.critical
    assert crl.value == x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]
    )
    aia = level1.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert aia.value == x509.AuthorityInformationAccess(
        [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ISSUER_URL))]
    )
    aki = level1.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert root.not_valid_before_utc <= level1.not_valid_before_utc <= datetime.now(UTC)
    assert level1.not_valid_after_utc <= root.not_valid_after_utc


def test_a_tampered_signature_is_rejected(kms: Any) -> None:
    signer = KmsSigner(_key(kms), REGION, kms)
    root_pem = build_root_certificate(signer, "Example Corp root CA", "Example Corp", 87600 * 3600, 4)
    csr_pem = make_csr(REQUIREMENTS.common_name, curve=ec.SECP384R1())
    level1 = x509.load_pem_x509_certificate(sign_level1_csr(signer, root_pem, csr_pem, REQUIREMENTS, 3600).encode())
    from cryptography.hazmat.primitives import serialization

    der = bytearray(level1.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # flip a bit inside the signature value
    tampered = x509.load_der_x509_certificate(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()
    from secure_mesh.pki.certificates import verify_signed_level1

    with pytest.raises(CertificateCheckError, match="not signed by the root's key"):
        verify_signed_level1(tampered, csr_pem, root_pem, REQUIREMENTS, source="test")


@pytest.mark.parametrize(
    ("common_name", "dns_names", "message"),
    [
        ("evil.example.com", (), "refusing to sign a CSR for another purpose"),
        (REQUIREMENTS.common_name, ("www.bank.example",), "names outside the chain's purpose"),
    ],
)
def test_a_csr_for_another_name_is_rejected(
    kms: Any, common_name: str, dns_names: tuple[str, ...], message: str
) -> None:
    signer = KmsSigner(_key(kms), REGION, kms)
    root_pem = build_root_certificate(signer, "Example Corp root CA", "Example Corp", 87600 * 3600, 4)
    csr_pem = make_csr(common_name, curve=ec.SECP384R1(), dns_names=dns_names)
    with pytest.raises(CertificateCheckError, match=message):
        sign_level1_csr(signer, root_pem, csr_pem, REQUIREMENTS, 3600)


def test_a_root_of_another_key_or_an_outliving_level1_is_refused(kms: Any) -> None:
    signer = KmsSigner(_key(kms), REGION, kms)
    other = KmsSigner(_key(kms), REGION, kms)
    other_root = build_root_certificate(other, "Example Corp root CA", "Example Corp", 87600 * 3600, 4)
    csr_pem = make_csr(REQUIREMENTS.common_name, curve=ec.SECP384R1())
    with pytest.raises(CertificateCheckError, match="does not belong to KMS key"):
        sign_level1_csr(signer, other_root, csr_pem, REQUIREMENTS, 3600)
    root_pem = build_root_certificate(signer, "Example Corp root CA", "Example Corp", 3600, 4)
    with pytest.raises(CertificateCheckError, match="after the root expires"):
        sign_level1_csr(signer, root_pem, csr_pem, REQUIREMENTS, 7200)


def test_a_key_that_cannot_sign_is_refused(kms: Any) -> None:
    key_id = kms.create_key(KeyUsage="ENCRYPT_DECRYPT", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    with pytest.raises(CertificateCheckError, match="must be SIGN_VERIFY"):
        build_root_certificate(KmsSigner(key_id, REGION, kms), "root", "org", 3600, 4)


def _props(key_id: str, root_pem: str, csr_pem: str) -> dict[str, Any]:
    # Numbers arrive from the engine as floats, exactly as the mocks show.
    return {
        "key_id": key_id,
        "region": REGION,
        "root_certificate_pem": root_pem,
        "csr": csr_pem,
        "mount": "consul/server/pki_int1",
        "chain": REQUIREMENTS.chain,
        "common_name": REQUIREMENTS.common_name,
        "ttl_seconds": 63072000.0,
        "max_path_length": 1.0,
        "permitted_dns_domains": list(SERVER_DNS),
        "permitted_uri_domains": [],
        "permitted_ip_ranges": ["127.0.0.1/32"],
        "excluded_ip_ranges": [],
        "crl_distribution_points": [CRL_URL],
        "issuing_certificates": [ISSUER_URL],
        "key_type": "ec",
        "key_bits": 384.0,
    }


def test_dynamic_provider_creates_a_verified_certificate_and_replaces_on_change(kms: Any) -> None:
    key_id = _key(kms)
    root_pem = _ceremony(key_id)
    csr_pem = make_csr(REQUIREMENTS.common_name, curve=ec.SECP384R1())
    provider = KmsLevel1SignerProvider()
    result = provider.create(_props(key_id, root_pem, csr_pem))
    certificate = x509.load_pem_x509_certificate(result.outs["certificate"].encode())
    certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(root_pem.encode()))
    assert result.id == format(certificate.serial_number, "x") == result.outs["serial_number"]
    assert "PRIVATE" not in repr(result.outs)
    olds = result.outs
    assert provider.diff(result.id, olds, {**olds}).changes is False
    new_csr = make_csr(REQUIREMENTS.common_name, curve=ec.SECP384R1())
    diff = provider.diff(result.id, olds, {**olds, "csr": new_csr})
    assert diff.changes and diff.replaces == ["csr"]
    for key, value in (
        ("permitted_ip_ranges", []),
        ("excluded_ip_ranges", ["0.0.0.0/0", "::/0"]),
        ("permitted_uri_domains", [".consul"]),
        ("crl_distribution_points", ["http://elsewhere/root.crl"]),
        ("mount", "consul/server/pki_int9"),
    ):
        assert provider.diff(result.id, olds, {**olds, key: value}).replaces == [key], key
    # The signed certificate says what the inputs say.
    names = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
    assert [str(n.value) for n in names.permitted_subtrees or []] == [*SERVER_DNS, "127.0.0.1/32"]


def test_dynamic_provider_refuses_a_wrong_csr(kms: Any) -> None:
    key_id = _key(kms)
    root_pem = _ceremony(key_id)
    with pytest.raises(CertificateCheckError, match="another purpose"):
        KmsLevel1SignerProvider().create(_props(key_id, root_pem, make_csr("other", curve=ec.SECP384R1())))


def _level1_with_key(
    kms: Any, requirements: Level1Requirements
) -> tuple[str, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A KMS root and a level 1 it signed, with level 1's private key (to sign leaves in the test)."""
    signer = KmsSigner(_key(kms), REGION, kms)
    root_pem = build_root_certificate(signer, "Example Corp root CA", "Example Corp", 87600 * 3600, 4)
    key = ec.generate_private_key(ec.SECP384R1())
    csr_pem = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, requirements.common_name)]))
        .sign(key, hashes.SHA384())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    level1 = x509.load_pem_x509_certificate(sign_level1_csr(signer, root_pem, csr_pem, requirements, 3600).encode())
    return root_pem, level1, key


def _leaf(issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, names: list[x509.GeneralName]) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(issuer.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(minutes=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )


@pytest.mark.parametrize(
    ("names", "accepted"),
    [
        ([x509.DNSName("consul-consul-server"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], True),
        ([x509.DNSName("server.eu-west-1.consul")], True),
        ([x509.DNSName("consul-consul-server"), x509.DNSName("www.bank.example")], False),
        ([x509.DNSName("consul-consul-server"), x509.IPAddress(ipaddress.ip_address("10.0.0.7"))], False),
        ([x509.DNSName("consul-consul-server"), x509.IPAddress(ipaddress.ip_address("::1"))], False),
    ],
)
def test_a_verifier_enforces_the_kms_signed_name_constraints_on_leaves(
    kms: Any, names: list[x509.GeneralName], accepted: bool
) -> None:
    root_pem, level1, key = _level1_with_key(kms, REQUIREMENTS)
    root = x509.load_pem_x509_certificate(root_pem.encode())
    verifier = PolicyBuilder().store(Store([root])).build_server_verifier(x509.DNSName(str(names[0].value)))
    leaf = _leaf(level1, key, names)
    if accepted:
        chain = verifier.verify(leaf, [level1])
        assert chain[-1] == root
    else:
        with pytest.raises(VerificationError):
            verifier.verify(leaf, [level1])


def test_kms_signs_excluded_ip_ranges_and_spiffe_uri_constraints(kms: Any) -> None:
    mesh = Level1Requirements(
        "connect",
        "Example Corp connect CA level 1",
        2,
        ("consul",),
        "ec",
        384,
        NameConstraints(("consul",), permitted_uri_domains=(".consul",), excluded_ip_ranges=("0.0.0.0/0", "::/0")),
    )
    _, level1, _ = _level1_with_key(kms, mesh)
    names = level1.extensions.get_extension_for_class(x509.NameConstraints)
    assert names.critical
    assert names.value == x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("consul"), x509.UniformResourceIdentifier(".consul")],
        excluded_subtrees=[
            x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")),
            x509.IPAddress(ipaddress.ip_network("::/0")),
        ],
    )
    with pytest.raises(x509.ExtensionNotFound):
        level1.extensions.get_extension_for_class(x509.CRLDistributionPoints)


# ------------------------------------------------------------------------------------------- the CRL


def _crl_command(key_id: str, root_file: Path, *extra: str) -> tuple[int, str, str]:
    from secure_mesh.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            ["root-ca", "crl", "--kms-key", key_id, "--region", REGION, "--root-certificate", str(root_file), *extra]
        )
    return code, out.getvalue(), err.getvalue()


def test_ceremony_signs_an_empty_crl_through_kms(kms: Any, tmp_path: Path) -> None:
    key_id = _key(kms)
    root_pem = _ceremony(key_id)
    root_file = tmp_path / "root.pem"
    root_file.write_text(root_pem)
    code, out, err = _crl_command(key_id, root_file, "--crl-number", "7", "--next-update", "168h")
    assert code == 0, err
    crl = x509.load_pem_x509_crl(out.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.issuer == root.subject
    assert len(crl) == 0
    assert crl.next_update_utc is not None
    assert (crl.next_update_utc - crl.last_update_utc).total_seconds() == 168 * 3600
    assert abs((crl.last_update_utc - datetime.now(UTC)).total_seconds()) < 120
    assert crl.extensions.get_extension_for_oid(ExtensionOID.CRL_NUMBER).value.crl_number == 7
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert "revoking nothing" in err and "pki.rootCrlUrls" in err


def test_ceremony_crl_revokes_the_named_serials_and_defaults_its_number_to_the_time(kms: Any, tmp_path: Path) -> None:
    key_id = _key(kms)
    root_file = tmp_path / "root.pem"
    root_file.write_text(_ceremony(key_id))
    code, out, err = _crl_command(key_id, root_file, "--revoke", "0a:1b", "--revoke", "ff")
    assert code == 0, err
    crl = x509.load_pem_x509_crl(out.encode())
    assert sorted(entry.serial_number for entry in crl) == [0xFF, 0xA1B]
    assert (crl.next_update_utc - crl.last_update_utc).total_seconds() == 720 * 3600  # type: ignore[operator]
    number = crl.extensions.get_extension_for_oid(ExtensionOID.CRL_NUMBER).value.crl_number
    assert abs(number - int(datetime.now(UTC).timestamp())) < 120


def test_ceremony_crl_refuses_a_root_of_another_key(kms: Any, tmp_path: Path) -> None:
    root_file = tmp_path / "root.pem"
    root_file.write_text(_ceremony(_key(kms)))
    code, out, err = _crl_command(_key(kms), root_file)
    assert code == 1 and out == ""
    assert "does not belong to KMS key" in err


def test_build_crl_signature_is_kms_made(kms: Any) -> None:
    signer = KmsSigner(_key(kms), REGION, kms)
    root_pem = build_root_certificate(signer, "Example Corp root CA", "Example Corp", 87600 * 3600, 4)
    crl = x509.load_pem_x509_crl(build_crl(signer, root_pem, 1, 3600).encode())
    other = build_root_certificate(KmsSigner(_key(kms), REGION, kms), "Example Corp root CA", "Example Corp", 3600, 4)
    assert not crl.is_signature_valid(x509.load_pem_x509_certificate(other.encode()).public_key())  # type: ignore[arg-type]


def test_not_after_is_read_from_the_certificate_and_a_bad_one_is_named() -> None:
    from secure_mesh.pki.certificates import CertificateCheckError, not_after_iso
    from tests.mocks.pki import fake_certificate

    assert not_after_iso(fake_certificate("boundary", 1), "x") == "2026-01-01T00:00:01Z"
    with pytest.raises(CertificateCheckError, match="the root certificate in pki/root is not a valid PEM"):
        not_after_iso(
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "the root certificate in pki/root"
        )
