"""``vault.tls.caCertFile``: the laptop Vault's CA, read by real runs only, refused when unusable."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from secure_mesh.program import running_under_mocks
from secure_mesh.settings import SettingsError, load_settings
from secure_mesh.settings.vault_ca_file import (
    OFFLINE_PLACEHOLDER_PEM,
    read_vault_ca_file,
    resolve_vault_ca_file,
    vault_ca_file_path,
)
from tests.harness import deep_merge, load_stack_config


def _certificate(ca: bool) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA" if ca else "test leaf")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_settings_alone_see_the_offline_placeholder_never_the_file() -> None:
    settings = load_settings(load_stack_config("dev"))
    assert settings.vault.tls.ca_cert_file == ".pulumi-state/vault-ca.pem"
    assert settings.vault.tls.ca_cert_pem == OFFLINE_PLACEHOLDER_PEM
    placeholder = x509.load_pem_x509_certificate(OFFLINE_PLACEHOLDER_PEM.encode())
    assert "placeholder for vault.tls.caCertFile" in placeholder.subject.rfc4514_string()


def test_a_real_run_reads_the_ca_the_file_holds(tmp_path: Path) -> None:
    settings = load_settings(load_stack_config("dev"))
    pem = _certificate(ca=True)
    (tmp_path / ".pulumi-state").mkdir()
    (tmp_path / ".pulumi-state" / "vault-ca.pem").write_text(pem)
    resolved = resolve_vault_ca_file(settings, tmp_path)
    assert resolved.vault.tls.ca_cert_pem == pem
    assert resolved.model_dump(exclude={"vault"}) == settings.model_dump(exclude={"vault"}), "only the CA changes"
    assert vault_ca_file_path(settings, tmp_path) == tmp_path / ".pulumi-state" / "vault-ca.pem"


def test_without_a_ca_file_nothing_is_read(tmp_path: Path) -> None:
    prod = load_settings(load_stack_config("prod"))
    assert resolve_vault_ca_file(prod, tmp_path) is prod
    assert vault_ca_file_path(prod, tmp_path) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "'ca.pem' does not exist; the laptop Vault's CA is written there by `make dev-up`"),
        ("not a certificate", "'ca.pem' does not hold a PEM certificate"),
        ("leaf", "'ca.pem' is not a CA certificate (basicConstraints CA:TRUE)"),
    ],
)
def test_an_unusable_ca_file_fails_naming_the_key(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(_certificate(ca=False) if content == "leaf" else content)
    with pytest.raises(SettingsError) as caught:
        read_vault_ca_file(path, "ca.pem")
    assert caught.value.paths == ["vault.tls.caCertFile"]
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("tls", "address", "problem"),
    [
        ({"caCertFile": "../ca.pem"}, None, "is not a relative path inside the project"),
        ({"caCertFile": "/etc/ssl/ca.pem"}, None, "is not a relative path inside the project"),
        ({"caCertFile": "ca.pem", "caCertPem": OFFLINE_PLACEHOLDER_PEM}, None, "give the CA one way only"),
        ({"caCertFile": "ca.pem"}, "http://vault.vault.svc.cluster.local:8200", "vault.address is not https"),
    ],
)
def test_settings_refuse_a_ca_file_they_cannot_use(tls: dict[str, str], address: str | None, problem: str) -> None:
    vault: dict[str, object] = {"tls": tls}
    if address is not None:
        vault["address"] = address
    with pytest.raises(SettingsError) as caught:
        load_settings(deep_merge(load_stack_config("dev"), {"vault": vault}))
    assert "vault.tls.caCertFile" in caught.value.paths
    assert problem in str(caught.value)


def test_mocked_runs_are_recognised_so_they_never_read_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from secure_mesh import program

    monkeypatch.setattr(program.runtime_settings, "get_monitor", lambda: object())  # the engine's gRPC stub
    assert running_under_mocks() is False

    class NoMocks(program.runtime_mocks.Mocks):
        def new_resource(self, args: program.runtime_mocks.MockResourceArgs) -> tuple[str | None, dict[str, object]]:
            return None, {}

        def call(self, args: program.runtime_mocks.MockCallArgs) -> tuple[dict[str, object], None]:
            return {}, None

    mocked = program.runtime_mocks.MockMonitor(NoMocks())
    monkeypatch.setattr(program.runtime_settings, "get_monitor", lambda: mocked)
    assert running_under_mocks() is True
