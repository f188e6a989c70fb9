"""The laptop Vault's TLS material and Helm values, for ``scripts/dev-up.sh``.

Kept apart from ``stack_env.py`` (which validates the dev stack's settings) so these steps start fast: they take
the names ``stack_env.py dev-shell`` derived, from the environment.

Usage (dev-up.sh passes the variables):
``KIND_CLUSTER=… VAULT_TLS_NAMES=… python scripts/dev_vault.py tls <dir>`` writes ``ca.crt``, ``tls.crt``,
``tls.key`` and ``listener.hcl`` (mode 600) to ``<dir>``; ``VAULT_TOKEN_FILE=… VAULT_TLS_SECRET=…
VAULT_INJECTOR_AUTH_PATH=… VAULT_CSI_CA_DIRECTORY=… VAULT_CSI_CA_KEY=… python scripts/dev_vault.py values``
prints the Vault chart's values (JSON, which Helm reads as YAML).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEV_TLS_DIRECTORY = "/vault/userconfig/vault-dev-tls"
"""Where the Vault server pod mounts the listener's TLS secret (the chart's ``server.volumeMounts``)."""

DEV_LISTEN_ADDRESS = "127.0.0.1:8202"
"""The dev server's own listener, moved off 8200 to the pod's loopback (``-dev-listen-address``); with
``-dev-tls`` it is TLS too, so nothing in the pod speaks plain HTTP. Port 8200 is the listener of ``listener.hcl``."""

DEV_TLS_VALIDITY = datetime.timedelta(days=365)
"""The laptop CA's and Vault certificate's lifetime; ``make dev-down`` deletes both with the cluster."""


def tls_files(cluster: str, names: list[str], now: datetime.datetime | None = None) -> dict[str, bytes]:
    """The laptop Vault's TLS material: ``ca.crt``, ``tls.crt``/``tls.key`` for every name in ``names`` (DNS names
    and IPv4 addresses), and ``listener.hcl`` (the TCP listener on 8200 that serves them).

    The CA signs the one server certificate and its key is then dropped: it is never written anywhere.
    """
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "secure-mesh dev"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"secure-mesh laptop Vault CA ({cluster})"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + DEV_TLS_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ips = [ipaddress.ip_address(n) for n in names if n.replace(".", "").isdigit()]
    dns = [n for n in names if not n.replace(".", "").isdigit()]
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + DEV_TLS_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature (ECDHE)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([*map(x509.DNSName, dns), *map(x509.IPAddress, ips)]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    listener = (
        'listener "tcp" {\n'
        '  address         = "[::]:8200"\n'
        f'  tls_cert_file   = "{DEV_TLS_DIRECTORY}/tls.crt"\n'
        f'  tls_key_file    = "{DEV_TLS_DIRECTORY}/tls.key"\n'
        '  tls_min_version = "tls12"\n'
        "}\n"
    )
    return {
        "ca.crt": ca.public_bytes(pem),
        "tls.crt": certificate.public_bytes(pem),
        "tls.key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        "listener.hcl": listener.encode(),
    }


def vault_values(
    root_token: str, tls_secret: str, injector_auth_path: str, csi_ca_directory: str, csi_ca_key: str
) -> dict[str, Any]:
    """Values for HashiCorp's Vault chart (``VAULT_CHART_VERSION``) on the laptop: the dev server serving TLS.

    vault-helm 0.30.1 runs dev mode as ``vault server -dev <server.extraArgs>`` (templates/_helpers.tpl,
    ``vault.args``) and never renders a config file for it; Vault merges ``-config`` files into the dev
    configuration, appending their listeners (hashicorp/vault command/server.go ``config.Merge``,
    internalshared/configutil ``SharedConfig.Merge``). So the chart's dev server gets the TCP listener of
    ``listener.hcl`` on 8200 with the certificate of :func:`tls_files`, mounted from ``tls_secret``; its own
    listener moves to the pod's loopback, TLS as well (``-dev-tls``). ``global.tlsDisable: false`` makes the chart
    use https for ``VAULT_ADDR`` in the pod, the injector's ``AGENT_INJECT_VAULT_ADDR`` and the CSI agent's
    address (templates/server-statefulset.yaml, injector-deployment.yaml, csi-agent-configmap.yaml). The CSI
    provider and its agent mount the CA at ``csi_ca_directory`` (``Layout.vault_csi_ca_directory``, which the
    ``SecretProviderClass`` names in ``vaultCACertPath``); the agent verifies Vault with it (``vault agent
    -ca-cert``, command/agent.go).
    """
    csi_ca = csi_ca_directory
    return {
        "global": {"tlsDisable": False},
        "server": {
            "dev": {"enabled": True, "devRootToken": root_token},
            "extraArgs": f"-dev-tls -dev-listen-address={DEV_LISTEN_ADDRESS} -config={DEV_TLS_DIRECTORY}/listener.hcl",
            "extraEnvironmentVars": {"VAULT_CACERT": f"{DEV_TLS_DIRECTORY}/ca.crt"},
            "volumes": [{"name": "dev-tls", "secret": {"secretName": tls_secret, "defaultMode": 0o440}}],
            "volumeMounts": [{"name": "dev-tls", "mountPath": DEV_TLS_DIRECTORY, "readOnly": True}],
        },
        "injector": {"enabled": True, "authPath": injector_auth_path},
        "csi": {
            "enabled": True,
            "volumes": [
                {
                    "name": "vault-ca",
                    "secret": {"secretName": tls_secret, "items": [{"key": "ca.crt", "path": csi_ca_key}]},
                }
            ],
            "volumeMounts": [{"name": "vault-ca", "mountPath": csi_ca, "readOnly": True}],
            "agent": {"extraArgs": [f"-ca-cert={csi_ca}/{csi_ca_key}"]},
        },
    }


def main(argv: list[str]) -> int:
    """``tls <dir>`` or ``values``, reading the names from the environment (see the module's docstring)."""
    env = os.environ
    try:
        if len(argv) == 2 and argv[0] == "tls":
            directory = Path(argv[1])
            for name, content in tls_files(env["KIND_CLUSTER"], env["VAULT_TLS_NAMES"].split(",")).items():
                (directory / name).write_bytes(content)
                (directory / name).chmod(0o600)
            return 0
        if argv == ["values"]:
            token = Path(env["VAULT_TOKEN_FILE"]).read_text().strip()
            values = vault_values(
                token,
                env["VAULT_TLS_SECRET"],
                env["VAULT_INJECTOR_AUTH_PATH"],
                env["VAULT_CSI_CA_DIRECTORY"],
                env["VAULT_CSI_CA_KEY"],
            )
            sys.stdout.write(json.dumps(values, indent=2, sort_keys=True) + "\n")
            return 0
    except KeyError as missing:
        sys.stderr.write(f"dev_vault: {missing.args[0]} is not set (dev-up.sh passes it)\n")
        return 1
    sys.stderr.write("usage: dev_vault.py tls <dir> | dev_vault.py values\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
