"""The CA expiry check's script against a stub `curl` that fails like curl, with the real `jq` and `openssl`.

The stub (``tests/pki/stubs/curl``) answers Vault's and Consul's endpoints from a JSON file and logs every
request; certificates are real, made here relative to the current time, so ``openssl -checkend`` decides.
Each test asserts the exit code, every line the script reports and every request it made.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from secure_mesh.pki.expiry_check import CA_EXPIRY_SCRIPT
from tests.stub_path import stub_path

pytestmark = pytest.mark.skipif(
    not (shutil.which("jq") and shutil.which("openssl")), reason="the check runs jq and openssl (in the Consul image)"
)

STUBS = Path(__file__).parent / "stubs"
VAULT = "https://vault.example:8200"
CONSUL = "https://consul-server.consul.svc:8501"
MOUNTS = ("consul/pki_root", "consul/server/pki_int1")
ROOTS_URL = f"{CONSUL}/v1/connect/ca/roots"
ROOT = "Vault CA Primary Cert"
SERVER_CA_MOUNT = "consul/server/pki_int2"
CHAIN_URL = f"{VAULT}/v1/{SERVER_CA_MOUNT}/ca_chain"
NOW = datetime.now(UTC).replace(microsecond=0)


def certificate(name: str, days: float) -> tuple[str, str]:
    """A CA certificate named ``name`` valid for ``days`` from now (negative: expired), and its notAfter as
    openssl prints it (``Jan  2 03:04:05 2027 GMT``)."""
    key = ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    not_after = NOW + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1000))
        .not_valid_after(not_after)
        .sign(key, None)
    )
    printed = f"{not_after:%b} {not_after.day:>2} {not_after:%H:%M:%S %Y} GMT"
    return cert.public_bytes(serialization.Encoding.PEM).decode(), printed


def roots(root_pem: str, intermediates: list[str], extra: list[dict[str, Any]] | None = None) -> str:
    """Consul's GET /v1/connect/ca/roots body (consul api/connect_ca.go CARootList / CARoot)."""
    active = {
        "ID": "c7:bd:55",
        "Name": "Vault CA Primary Cert",
        "NotBefore": "2026-01-01T00:00:00Z",
        "NotAfter": "2036-01-01T00:00:00Z",
        "RootCert": root_pem,
        "IntermediateCerts": intermediates,
        "Active": True,
    }
    return json.dumps({"ActiveRootID": "c7:bd:55", "TrustDomain": "11111111.consul", "Roots": [active, *(extra or [])]})


def healthy(days: float = 400) -> tuple[dict[str, Any], dict[str, str]]:
    """Every CA valid for ``days``: the state the stub serves and each CA's printed notAfter."""
    pems = {name: certificate(name, days) for name in ("root", "int1", "connect-root", "connect-int")}
    urls = {
        f"{VAULT}/v1/{mount}/ca/pem": {"status": 200, "body": pems[name][0]}
        for mount, name in zip(MOUNTS, ("root", "int1"), strict=True)
    }
    urls[ROOTS_URL] = {"status": 200, "body": roots(pems["connect-root"][0], [pems["connect-int"][0]])}
    urls[CHAIN_URL] = {"status": 200, "body": certificate("server-int2", 300)[0] + pems["root"][0]}
    return {"urls": urls, "log": []}, {name: printed for name, (_, printed) in pems.items()}


def run(tmp_path: Path, state: dict[str, Any], **env: str) -> tuple[int, list[str], list[dict[str, Any]]]:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    environment = {
        "PATH": stub_path(STUBS),
        "STUB_STATE": str(state_file),
        "THRESHOLD_DAYS": "30",
        "VAULT_ADDR": VAULT,
        "VAULT_CACERT": "/vault/tls/ca.crt",
        "VAULT_CA_MOUNTS": " ".join(MOUNTS),
        "CONSUL_HTTP_ADDR": CONSUL,
        "CONSUL_CA_MOUNT": SERVER_CA_MOUNT,
        "TMPDIR": str(tmp_path),
        "CALL_SECONDS": "5",
        **env,
    }
    result = subprocess.run(
        ["sh", str(CA_EXPIRY_SCRIPT)], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    lines = [re.sub(r"^\S+ ca-expiry-check: ", "", line) for line in result.stderr.splitlines()]
    return result.returncode, lines, json.loads(state_file.read_text())["log"]


def request(url: str, cacert: str, headers: list[str] | None = None) -> dict[str, Any]:
    return {"url": url, "cacert": cacert, "headers": headers or [], "max_time": "5", "fail": True}


def every_request(tmp_path: Path, headers: list[str] | None = None) -> list[dict[str, Any]]:
    """Each Vault CA, the server chain to verify Consul with (written to $TMPDIR), then Consul's roots."""
    return [
        request(f"{VAULT}/v1/consul/pki_root/ca/pem", "/vault/tls/ca.crt", headers),
        request(f"{VAULT}/v1/consul/server/pki_int1/ca/pem", "/vault/tls/ca.crt", headers),
        request(CHAIN_URL, "/vault/tls/ca.crt", headers),
        request(ROOTS_URL, f"{tmp_path}/consul-ca.pem"),
    ]


def test_every_ca_valid_beyond_the_threshold_passes(tmp_path: Path) -> None:
    state, end = healthy()
    code, lines, log = run(tmp_path, state)
    # Consul is verified with the server chain exactly as Vault served it.
    assert (tmp_path / "consul-ca.pem").read_text() == state["urls"][CHAIN_URL]["body"]
    assert (code, lines) == (
        0,
        [
            f"ok: Vault CA consul/pki_root is valid until {end['root']}",
            f"ok: Vault CA consul/server/pki_int1 is valid until {end['int1']}",
            f"ok: Consul Connect root Vault CA Primary Cert is valid until {end['connect-root']}",
            f"ok: Consul Connect intermediate 1 of root Vault CA Primary Cert is valid until {end['connect-int']}",
            "done: every CA is valid for more than 30 days",
        ],
    )
    assert log == every_request(tmp_path)


@pytest.mark.parametrize(("days", "code"), [(31, 0), (29, 1)])
def test_the_threshold_boundary(tmp_path: Path, days: int, code: int) -> None:
    state, _ = healthy()
    pem, printed = certificate("int1", days)
    state["urls"][f"{VAULT}/v1/consul/server/pki_int1/ca/pem"]["body"] = pem
    result, lines, _ = run(tmp_path, state)
    assert result == code
    expected = (
        f"ok: Vault CA consul/server/pki_int1 is valid until {printed}"
        if code == 0
        else f"EXPIRING: Vault CA consul/server/pki_int1 expires {printed}, within 30 days"
    )
    assert lines[1] == expected


def test_an_expiring_consul_intermediate_fails_naming_it_and_its_date(tmp_path: Path) -> None:
    """Consul renews its intermediate past half its life; one near expiry means renewal is stuck (consul#9443)."""
    state, _ = healthy()
    soon, soon_printed = certificate("connect-int", 2)
    expired, expired_printed = certificate("connect-int-old", -1)
    root_pem = certificate("connect-root", 400)
    state["urls"][ROOTS_URL]["body"] = roots(root_pem[0], [soon, expired])
    code, lines, _ = run(tmp_path, state)
    assert (code, lines[2:]) == (
        1,
        [
            f"ok: Consul Connect root {ROOT} is valid until {root_pem[1]}",
            f"EXPIRING: Consul Connect intermediate 1 of root {ROOT} expires {soon_printed}, within 30 days",
            f"EXPIRING: Consul Connect intermediate 2 of root {ROOT} expires {expired_printed}, within 30 days",
            "FAILED: 2 CA(s) expire within 30 days: rotate them (docs/operations.md)",
        ],
    )


def test_an_inactive_old_root_is_not_checked(tmp_path: Path) -> None:
    """After a root rotation Consul lists the old root until it is pruned; only the active one signs."""
    state, _ = healthy()
    old = {
        "ID": "aa:bb",
        "Name": "old",
        "RootCert": certificate("old", -5)[0],
        "IntermediateCerts": [],
        "Active": False,
    }
    body = json.loads(state["urls"][ROOTS_URL]["body"])
    body["Roots"].append(old)
    state["urls"][ROOTS_URL]["body"] = json.dumps(body)
    code, lines, _ = run(tmp_path, state)
    assert code == 0 and not any("old" in line for line in lines), lines


def test_unreachable_consul_fails_as_unreadable(tmp_path: Path) -> None:
    state, _ = healthy()
    state["urls"][ROOTS_URL] = {"unreachable": True}
    code, lines, log = run(tmp_path, state)
    assert (code, lines[2:]) == (
        2,
        [
            "curl: (7) Failed to connect to consul-server.consul.svc port 8501 after 0 ms: Couldn't connect to server",
            f"UNREADABLE: Consul Connect CA: no single active root from {ROOTS_URL}",
            "FAILED: 1 CA(s) could not be read, 0 expire within 30 days",
        ],
    )
    assert log == every_request(tmp_path)


def test_a_vault_mount_answering_403_fails_as_unreadable(tmp_path: Path) -> None:
    """Vault answers 403 "permission denied" to a token-less request for any path its PKI backend does not list as
    unauthenticated, e.g. a wrong mount or namespace (vault/request_handling.go CheckToken)."""
    state, _ = healthy()
    state["urls"][f"{VAULT}/v1/consul/pki_root/ca/pem"] = {"status": 403, "body": '{"errors":["permission denied"]}'}
    code, lines, _ = run(tmp_path, state)
    assert code == 2
    assert lines[:2] == [
        "curl: (22) The requested URL returned error: 403",
        f"UNREADABLE: Vault CA consul/pki_root: no certificate from {VAULT}/v1/consul/pki_root/ca/pem "
        "(see the error above)",
    ]
    assert lines[-1] == "FAILED: 1 CA(s) could not be read, 0 expire within 30 days"


def test_a_hung_vault_call_is_bounded(tmp_path: Path) -> None:
    state, _ = healthy()
    state["urls"][f"{VAULT}/v1/consul/server/pki_int1/ca/pem"] = {"hang": True}
    code, lines, _ = run(tmp_path, state)
    assert code == 2
    assert "curl: (28) Operation timed out after 5000 milliseconds with 0 bytes received" in lines


@pytest.mark.parametrize(
    "body",
    [
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",  # valid base64, no DER
        "<html>maintenance</html>",  # a proxy's page with status 200
    ],
)
def test_a_malformed_certificate_fails_as_unreadable(tmp_path: Path, body: str) -> None:
    state, _ = healthy()
    state["urls"][f"{VAULT}/v1/consul/pki_root/ca/pem"]["body"] = body
    code, lines, _ = run(tmp_path, state)
    assert code == 2
    assert lines[0] == "UNREADABLE: Vault CA consul/pki_root: not a PEM certificate"


@pytest.mark.parametrize(
    "body",
    ['{"Roots": []}', '{"Roots": null}', "not json", roots("x", []).replace('"Active": true', '"Active": false')],
)
def test_no_single_active_consul_root_fails_as_unreadable(tmp_path: Path, body: str) -> None:
    state, _ = healthy()
    state["urls"][ROOTS_URL]["body"] = body
    code, lines, _ = run(tmp_path, state)
    assert code == 2
    assert f"UNREADABLE: Consul Connect CA: no single active root from {ROOTS_URL}" in lines


def test_a_vault_namespace_is_sent_as_a_header(tmp_path: Path) -> None:
    state, _ = healthy()
    code, _, log = run(tmp_path, state, VAULT_NAMESPACE="team-a")
    assert code == 0
    assert log == every_request(tmp_path, ["X-Vault-Namespace: team-a"])


@pytest.mark.parametrize("days", ["30d", "-1", "1.5"])
def test_a_threshold_that_is_not_whole_days_is_refused(tmp_path: Path, days: str) -> None:
    state, _ = healthy()
    code, lines, log = run(tmp_path, state, THRESHOLD_DAYS=days)
    assert (code, lines, log) == (
        2,
        [f'ca-expiry-check: THRESHOLD_DAYS must be a whole number of days, not "{days}"'],
        [],
    )


def test_without_the_server_chain_consul_is_not_asked_and_the_run_fails(tmp_path: Path) -> None:
    """Never talk to Consul unverified: a missing chain makes Consul's CA unreadable, not trusted blindly."""
    state, _ = healthy()
    state["urls"][CHAIN_URL] = {"status": 404, "body": '{"errors":[]}'}
    code, lines, log = run(tmp_path, state)
    assert (code, lines[2:]) == (
        2,
        [
            "curl: (22) The requested URL returned error: 404",
            f"no server CA chain from {CHAIN_URL} to verify Consul with",
            f"UNREADABLE: Consul Connect CA: no single active root from {ROOTS_URL}",
            "FAILED: 1 CA(s) could not be read, 0 expire within 30 days",
        ],
    )
    assert ROOTS_URL not in [entry["url"] for entry in log]
