"""``vault.tls.caCertFile``: Vault's CA read from a file that exists only where the stack is deployed.

The laptop Vault's CA is created by ``scripts/dev-up.sh`` (``.pulumi-state/vault-ca.pem``), so it cannot be
committed in ``Pulumi.dev.yaml``; the stack file names the file instead. :func:`resolve_vault_ca_file` turns
the file into ``vault.tls.caCertPem`` once, when a real ``preview``/``up`` starts, so every consumer (Consul's
chart, the apps' Vault agents, the CSI provider, the stack outputs) sees one CA. Everything that works from
settings alone (``load_settings``: the offline render, runs under Pulumi's mocks, the tests) deploys nothing
and never reads the file: a committed placeholder certificate, :data:`OFFLINE_PLACEHOLDER_PEM`, stands in for
it, so they give the same result on a fresh clone as after ``make dev-up``.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from .errors import Problem, SettingsError
from .models import Settings

KEY = "vault.tls.caCertFile"

OFFLINE_PLACEHOLDER_PEM = (Path(__file__).with_name("offline_vault_ca.pem")).read_text()
"""A self-signed CA certificate (its key was discarded) whose subject says it is the offline placeholder."""


def vault_ca_file_path(settings: Settings, project_dir: Path) -> Path | None:
    """The absolute path ``vault.tls.caCertFile`` names, or None when the CA is given another way."""
    file = settings.vault.tls.ca_cert_file
    return None if file is None else project_dir / file


def read_vault_ca_file(path: Path, shown: str) -> str:
    """The file's PEM, which must be one CA certificate; a :class:`SettingsError` naming the key otherwise."""
    try:
        pem = path.read_text()
    except FileNotFoundError:
        raise SettingsError(
            [
                Problem(
                    KEY,
                    f"'{shown}' does not exist; the laptop Vault's CA is written there by `make dev-up` "
                    "(scripts/dev-up.sh): run it first",
                )
            ]
        ) from None
    except OSError as error:
        raise SettingsError([Problem(KEY, f"'{shown}' cannot be read: {error.strerror}")]) from None
    if "PRIVATE KEY" in pem:
        # The file's text becomes vault.tls.caCertPem: a Kubernetes Secret, the stack outputs and Pulumi state.
        raise SettingsError(
            [
                Problem(
                    KEY,
                    f"'{shown}' holds a private key; it must hold only the CA certificate (it is copied into "
                    "Kubernetes, the stack outputs and Pulumi state)",
                )
            ]
        )
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise SettingsError([Problem(KEY, f"'{shown}' does not hold a PEM certificate")]) from None
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise SettingsError([Problem(KEY, f"'{shown}' is not a CA certificate (basicConstraints CA:TRUE)")])
    return pem


def with_offline_vault_ca(settings: Settings) -> Settings:
    """Settings whose ``caCertPem`` is :data:`OFFLINE_PLACEHOLDER_PEM` when ``caCertFile`` is set (else unchanged).

    :func:`~secure_mesh.settings.load_settings` applies it, so everything that works from settings alone (the
    offline render, the tests, the policy pack's view) sees a CA wherever the deployed stack has one.
    """
    tls = settings.vault.tls
    if tls.ca_cert_file is None:
        return settings
    vault = settings.vault.model_copy(update={"tls": tls.model_copy(update={"ca_cert_pem": OFFLINE_PLACEHOLDER_PEM})})
    return settings.model_copy(update={"vault": vault})


def resolve_vault_ca_file(settings: Settings, project_dir: Path) -> Settings:
    """For a real ``preview``/``up``: ``caCertPem`` becomes the PEM the ``caCertFile`` holds (unchanged without one)."""
    tls = settings.vault.tls
    path = vault_ca_file_path(settings, project_dir)
    if path is None or tls.ca_cert_file is None:
        return settings
    pem = read_vault_ca_file(path, tls.ca_cert_file)
    vault = settings.vault.model_copy(update={"tls": tls.model_copy(update={"ca_cert_pem": pem})})
    return settings.model_copy(update={"vault": vault})
