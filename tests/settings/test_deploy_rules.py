"""Settings refuse at preview what Consul, Vault, Kubernetes or Pulumi would refuse (or leak) at deploy time.

Each rule is checked with its exact message (key path, bad value, what is allowed) and at its boundaries,
and the program under mocks registers no resource when one is broken.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import BaseModel

from secure_mesh.settings import Settings, SettingsError, duration_seconds, load_settings, split_stack_config
from secure_mesh.settings.consistency import RETIRED_SECRET_KEYS, SECRET_CONFIG_KEYS, url_settings
from secure_mesh.settings.models import HTTP_URL_CHECK
from tests.harness import PROJECT_DIR, STACKS, deep_merge, load_stack_config, run_program_expecting_failure

DEV = load_stack_config("dev")
PROD = load_stack_config("prod")


def problems_of(config: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every problem of a configuration, by key path (empty when it is valid)."""
    try:
        load_settings(config, secret_keys)
    except SettingsError as error:
        return {p.path: p.message for p in error.problems}
    return {}


# ------------------------------------------------------------------------------------ certificates


def _certificate(ca: bool | None, common_name: str = "test CA") -> str:
    """A fresh self-signed EC certificate; ``ca=None`` leaves out basic constraints entirely."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


CA_PEM = _certificate(ca=True)
LEAF_PEM = _certificate(ca=False, common_name="web.example.com")
NO_CONSTRAINTS_PEM = _certificate(ca=None, common_name="legacy")
GARBAGE_PEM = "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"


# ----------------------------------------------------------------------------------- camelCase only


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def _camel_keys(value: Any, path: str = "") -> set[str]:
    """Key paths of every multi-word (camelCase) key in a config document, spelled as the problem paths are.

    Below a multi-word key nothing is listed: once its snake_case spelling is refused, its value is not read.
    """
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            snake = _snake(key)
            here = f"{path}.{snake}" if path else snake
            if snake != key:
                found.add(here)
            else:
                found |= _camel_keys(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found |= _camel_keys(item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_snake_case_key_of_a_stack_is_refused_with_its_camel_case_spelling(stack: str) -> None:
    config = load_stack_config(stack)
    snake = {k: _snake_keys(v) if isinstance(v, dict | list) else v for k, v in config.items()}
    expected = {p for p in _camel_keys({k: v for k, v in config.items() if isinstance(v, dict | list)})}
    problems = problems_of(snake)
    unknown = {path: message for path, message in problems.items() if message.startswith("unknown key")}
    assert set(unknown) == expected
    for path, message in unknown.items():
        key = path.rsplit(".", 1)[-1]
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
        assert message.startswith(f"unknown key '{key}'; did you mean '{camel}'? (keys are camelCase) allowed keys"), (
            message
        )


def test_snake_case_top_level_key_is_refused() -> None:
    config = {k: v for k, v in DEV.items() if k != "environment"} | {"environ_ment": "dev"}
    problems = problems_of(config)
    assert problems["environ_ment"].startswith("unknown key 'environ_ment'; did you mean 'environment'? allowed keys:")


def test_python_code_may_still_build_models_by_field_name() -> None:
    settings = load_settings(DEV)
    rebuilt = Settings.model_validate(settings.model_dump())
    assert rebuilt == settings


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        (
            {"pki": {"chains": {"connect": {"leaf_max_ttl": "72h"}}}},
            "pki.chains.connect.leaf_max_ttl",
            "unknown key 'leaf_max_ttl'; did you mean 'leafMaxTtl'? (keys are camelCase) allowed keys here: levels, "
            "intermediateTtls, leafTtl, leafMaxTtl, domains",
        ),
        (
            {"consul": {"serverReplica": 1}},
            "consul.serverReplica",
            "unknown key 'serverReplica'; did you mean 'serverReplicas'? allowed keys here: datacenter,",
        ),
        (
            {"vault": {"tls": {"caCert": CA_PEM}}},
            "vault.tls.caCert",
            "unknown key 'caCert'; did you mean 'caCertPem'? allowed keys here: caCertPem, caCertFile, serverName",
        ),
        (
            {"vault": {"kubernetesCACertPEM": CA_PEM}},
            "vault.kubernetesCACertPEM",
            "unknown key 'kubernetesCACertPEM'; did you mean 'kubernetesCaCertPem'?",
        ),
        (
            {"mesh": {"service": []}},
            "mesh.service",
            "unknown key 'service'; did you mean 'services'? allowed keys here: services, intentions",
        ),
        (
            {"pki": {"xyzzy": 1}},
            "pki.xyzzy",
            "unknown key 'xyzzy'; allowed keys here: rootCustody, rootTtl,",
        ),
    ],
)
def test_unknown_key_at_any_depth_suggests_the_nearest_key(override: dict[str, Any], path: str, message: str) -> None:
    assert problems_of(deep_merge(DEV, override))[path].startswith(message)


def test_unknown_key_in_a_list_item_names_its_index() -> None:
    apps = [dict(DEV["apps"][0]), dict(DEV["apps"][1])]
    apps[1]["service_account"] = apps[1].pop("serviceAccount")
    problems = problems_of({**DEV, "apps": apps})
    assert problems["apps[1].service_account"].startswith(
        "unknown key 'service_account'; did you mean 'serviceAccount'? (keys are camelCase)"
    )
    assert problems["apps[1].serviceAccount"] == "is required but missing"


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("consol", "consul"), ("Vault", "vault"), ("consul_license", "consulLicense"), ("app", "apps")],
)
def test_unknown_top_level_key_suggests_the_nearest_setting_or_secret(key: str, suggestion: str) -> None:
    config = {**DEV, key: {}} if key != "consul_license" else {**DEV, key: "x"}
    assert problems_of(config)[key].startswith(f"unknown key '{key}'; did you mean '{suggestion}'?")


# --------------------------------------------------------------------------------- plain-text secrets

SECRET_VALUES: dict[str, Any] = {
    "consulLicense": "02MV4UU43BK5HGYYTOJZWFQMTMNNEWU33JLJ...",
    "databaseRootCredentials": {"orders": {"username": "vault-admin", "password": "s3cret"}},
}
SECRET_COMMANDS = {
    "consulLicense": "pulumi config set --secret secure-mesh:consulLicense < consul.hclic",
    "databaseRootCredentials": (
        "pulumi config set --path --secret 'secure-mesh:databaseRootCredentials.orders.username' <username>; "
        "pulumi config set --path --secret 'secure-mesh:databaseRootCredentials.orders.password' <password>"
    ),
}


def test_every_secret_key_has_a_plain_text_case() -> None:
    assert set(SECRET_VALUES) == set(SECRET_CONFIG_KEYS) - set(RETIRED_SECRET_KEYS) == set(SECRET_COMMANDS)


@pytest.mark.parametrize("key", sorted(SECRET_VALUES))
def test_secret_in_plain_text_in_the_stack_file_is_refused_with_the_command_to_use(key: str) -> None:
    stack_file = {f"secure-mesh:{k}": v for k, v in DEV.items()} | {f"secure-mesh:{key}": SECRET_VALUES[key]}
    plain, secret_keys = split_stack_config(stack_file)
    assert key in plain and key not in secret_keys
    assert problems_of(plain, secret_keys)[key] == (
        "is given in plain text, but it is a secret: set it with --secret so the stack file holds it encrypted; "
        f"remove the plain value (pulumi config rm secure-mesh:{key}), then: {SECRET_COMMANDS[key]}"
    )


@pytest.mark.parametrize("marked_secret", [True, False], ids=["as-a-secret", "in-plain-text"])
def test_a_retired_secret_is_refused_either_way_with_what_to_do_instead(marked_secret: bool) -> None:
    # A plain value of a retired key gets no "set it with --secret" advice: nothing reads it any more.
    value = "5b2c8f7e-3d7a-4c3e-9a52-0b0f2f1c9e11"
    stack_file = {f"secure-mesh:{k}": v for k, v in DEV.items()} | {"secure-mesh:consulReplicationToken": value}
    marked = {"secure-mesh:consulReplicationToken"} if marked_secret else set()
    plain, secret_keys = split_stack_config(stack_file, marked)
    problems = problems_of(plain, secret_keys)
    assert problems == {"consulReplicationToken": RETIRED_SECRET_KEYS["consulReplicationToken"]}
    assert value not in str(problems)


@pytest.mark.parametrize("key", sorted(SECRET_VALUES))
def test_the_program_registers_nothing_when_a_secret_is_in_plain_text(key: str) -> None:
    value = SECRET_VALUES[key]
    error, registered = run_program_expecting_failure({**DEV, key: value})
    assert isinstance(error, pulumi.RunError)
    assert f"secure-mesh:{key}: is given in plain text, but it is a secret" in str(error)
    assert registered == []
    secret_text = value if isinstance(value, str) else value["orders"]["password"]
    assert secret_text not in str(error), "the error message must not repeat the secret"


def test_encrypted_stack_file_values_are_secrets() -> None:
    """A ``secure:`` value, and an object with one ``--path --secret`` leaf, count as secrets (as Pulumi says)."""
    stack_file = {
        "secure-mesh:environment": "dev",
        "secure-mesh:consulLicense": {"secure": "v1:abc"},
        "secure-mesh:databaseRootCredentials": {"orders": {"username": "vault-admin", "password": {"secure": "v1:x"}}},
    }
    plain, secret_keys = split_stack_config(stack_file)
    assert plain == {"environment": "dev"}
    assert secret_keys == frozenset({"consulLicense", "databaseRootCredentials", "databaseRootCredentials.orders"})
    # The offline review hands objects to the program as JSON text; an encrypted leaf is still seen.
    as_json = {key: json.dumps(value) if isinstance(value, dict) else value for key, value in stack_file.items()}
    assert split_stack_config(as_json) == (plain, secret_keys)


def test_keys_the_engine_marks_secret_are_secrets() -> None:
    """Under ``pulumi up`` values arrive decrypted; the engine's secret-key list (PULUMI_CONFIG_SECRET_KEYS) decides."""
    config = {"secure-mesh:consulLicense": "02MV4...", "secure-mesh:environment": "dev"}
    plain, secret_keys = split_stack_config(config, {"secure-mesh:consulLicense"})
    assert plain == {"environment": "dev"}
    assert secret_keys == frozenset({"consulLicense"})


def test_a_plain_setting_stored_as_a_secret_is_refused() -> None:
    problems = problems_of({k: v for k, v in DEV.items() if k != "mesh"}, frozenset({"mesh"}))
    assert problems["mesh"].startswith("is a plain setting but is stored as a secret")


# ------------------------------------------------------------------------------------------- https


def _url_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Key paths of every field declared with the shared URL type, following nested models, lists and maps."""
    found: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        if _declares_url(field.annotation, list(field.metadata)):
            found.add(path)
        for sub, suffix in _nested(field.annotation):
            found |= _url_fields(sub, f"{path}{suffix}.")
    return found


def _declares_url(annotation: Any, metadata: list[Any]) -> bool:
    if any(m is HTTP_URL_CHECK for m in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated and any(
        m is HTTP_URL_CHECK for m in typing.get_args(annotation)[1:]
    ):
        return True
    return any(_declares_url(arg, []) for arg in typing.get_args(annotation))


def _nested(annotation: Any, suffix: str = "") -> list[tuple[type[BaseModel], str]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, suffix)]
    origin = typing.get_origin(annotation)
    found: list[tuple[type[BaseModel], str]] = []
    for index, arg in enumerate(typing.get_args(annotation)):
        if origin is dict and index == 0:
            continue
        found += _nested(arg, suffix + ("[]" if origin is list else ".*" if origin is dict else ""))
    return found


URL_FIELDS = _url_fields(Settings)


NOT_URLS = {
    "vault.audit.address": "Vault's socket audit device takes 'host:port' or a socket path, never a URL (Vault docs, "
    "audit/socket: address)",
    "rotation.consulSecretsEngine.consulAddress": "Vault's Consul secrets engine takes Consul's address as "
    "'host:port' and the scheme separately (Vault API docs, secret/consul: config/access address, scheme)",
}
"""Settings whose name says address but whose value is not a URL, with the upstream reason."""


def test_every_setting_that_looks_like_a_url_uses_the_shared_url_type() -> None:
    """A new URL field (CRL/issuer bases, database TLS, …) must use ``HttpUrl`` so the https rule covers it."""
    looks_like_url: set[str] = set()

    def visit(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{field.alias or name}"
            words = name.split("_")
            nested = _nested(field.annotation)
            if not nested and ({"url", "urls", "address", "addresses"} & set(words) or name.endswith("_host")):
                looks_like_url.add(path)
            for sub, suffix in nested:
                visit(sub, f"{path}{suffix}.")

    visit(Settings, "")
    missing = looks_like_url - URL_FIELDS - set(NOT_URLS)
    assert missing == set(), f"not declared as HttpUrl: {sorted(missing)}"
    assert set(NOT_URLS) <= looks_like_url, "an exception names a setting that no longer exists"
    assert {"vault.address", "vault.providerAddress", "vault.kubernetesHost", "consul.address"} <= URL_FIELDS


def _with_every_url(config: dict[str, Any], scheme: str) -> dict[str, Any]:
    return deep_merge(
        config,
        {
            "vault": {
                "address": f"{scheme}://vault.example.com:8200",
                "providerAddress": f"{scheme}://127.0.0.1:8200",
                "kubernetesHost": f"{scheme}://k8s.example.com:6443",
            },
            "consul": {"address": f"{scheme}://consul.example.com:8501"},
        },
    )


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_every_plain_http_address_is_refused_outside_dev(environment: str) -> None:
    base = PROD if environment == "prod" else {**DEV, "environment": "staging"}
    config = _with_every_url(base, "http")
    settings_urls = {p: u for p, u in url_settings(load_settings(_with_every_url(base, "https")))}
    assert set(settings_urls) >= {"vault.address", "vault.providerAddress", "vault.kubernetesHost", "consul.address"}
    problems = problems_of(config)
    http = {p: m for p, m in problems.items() if "plain http" in m}
    expected = {
        "vault.address": "vault.example.com:8200",
        "vault.providerAddress": "127.0.0.1:8200",
        "vault.kubernetesHost": "k8s.example.com:6443",
        "consul.address": "consul.example.com:8501",
    }
    assert http == {
        path: (
            f"'http://{hostport}' is plain http, allowed only with environment 'dev' (environment is "
            f"'{environment}'); allowed: an https URL such as 'https://{hostport}'"
        )
        for path, hostport in expected.items()
    }


def test_https_everywhere_is_accepted_in_staging_and_prod() -> None:
    assert problems_of(_with_every_url({**DEV, "environment": "staging"}, "https")) == {}
    assert problems_of(_with_every_url(PROD, "https")) == {}


def test_plain_http_is_accepted_in_dev_except_for_consul() -> None:
    # dev's own Vault serves TLS with the CA in vault.tls.caCertFile, which needs https: drop it for plain http.
    # Consul is HTTPS-only in every stack (the chart's global.tls.httpsOnly), so its address is refused even in dev.
    assert problems_of(deep_merge(_with_every_url(DEV, "http"), {"vault": {"tls": {"caCertFile": None}}})) == {
        "consul.address": "'http://consul.example.com:8501' is plain http, but Consul serves its API over HTTPS only "
        "(global.tls.httpsOnly); allowed: an https URL such as 'https://consul.example.com:8501' (port 8501)"
    }
    dev_with_consul_https = deep_merge(_with_every_url(DEV, "http"), {"consul": {"address": "https://localhost:8501"}})
    assert problems_of(deep_merge(dev_with_consul_https, {"vault": {"tls": {"caCertFile": None}}})) == {}


def test_the_program_registers_nothing_for_plain_http_in_staging() -> None:
    config = deep_merge(
        DEV, {"environment": "staging", "vault": {"address": "http://vault.vault.svc.cluster.local:8200"}}
    )
    error, registered = run_program_expecting_failure(config)
    assert "secure-mesh:vault.address: 'http://vault.vault.svc.cluster.local:8200' is plain http" in str(error)
    assert registered == []


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("vault.example.com:8200", "is not an http(s) URL"),
        ("ftp://vault.example.com", "is not an http(s) URL"),
        ("https://", "is not an http(s) URL"),
        ("https://vault.example.com/", "ends with '/'"),
        ("https://admin:pw@vault.example.com", "has credentials in it"),
        ("https://vault.example.com?x=1", "has a query or fragment"),
        ("https://vault.example.com:99999", "has an invalid port"),
    ],
)
def test_malformed_addresses_are_refused(address: str, fragment: str) -> None:
    message = problems_of(deep_merge(DEV, {"vault": {"address": address}}))["vault.address"]
    assert fragment in message
    assert "pw" not in message


# -------------------------------------------------------------------------------------------- PEM


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (GARBAGE_PEM, "does not parse as an X.509 PEM certificate"),
        (LEAF_PEM, "the certificate (CN=web.example.com) is not a CA certificate (basic constraints CA:TRUE missing)"),
        (NO_CONSTRAINTS_PEM, "the certificate (CN=legacy) is not a CA certificate"),
        (CA_PEM + LEAF_PEM, "certificate 2 of 2 (CN=web.example.com) is not a CA certificate"),
        ("MIIBhzCCAS2gAwIBAgIU", "expected a PEM certificate"),
    ],
)
@pytest.mark.parametrize("field", ["vault.tls.caCertPem", "vault.kubernetesCaCertPem"])
def test_a_certificate_input_must_parse_as_a_ca_certificate(field: str, pem: str, message: str) -> None:
    section, *rest = field.split(".")
    override: dict[str, Any] = {rest[-1]: pem}
    for part in reversed(rest[:-1]):
        override = {part: override}
    problems = problems_of(deep_merge(_with_every_url(DEV, "https"), {section: override}))
    assert message in problems[field]


def test_a_ca_bundle_is_accepted_where_a_trust_bundle_is_expected() -> None:
    bundle = {"caCertPem": CA_PEM + _certificate(True), "caCertFile": None}  # one way to give the CA
    config = deep_merge(_with_every_url(DEV, "https"), {"vault": {"tls": bundle}})
    assert problems_of(config) == {}


def test_a_root_certificate_must_be_exactly_one_ca_certificate() -> None:
    kms = deep_merge(PROD, {"pki": {"awsKms": {"rootCertificatePem": CA_PEM + CA_PEM}}})
    assert problems_of(kms)["pki.awsKms.rootCertificatePem"].startswith(
        "holds 2 certificates; expected exactly one (no chain or bundle)"
    )
    leaf = deep_merge(PROD, {"pki": {"awsKms": {"rootCertificatePem": LEAF_PEM}}})
    assert "is not a CA certificate" in problems_of(leaf)["pki.awsKms.rootCertificatePem"]


def test_a_signed_intermediate_must_be_a_ca_certificate() -> None:
    external = deep_merge(
        PROD,
        {"pki": {"rootCustody": "external", "external": {"rootCertificatePem": CA_PEM}, "awsKms": None}},
    )
    external["pki"] = {k: v for k, v in external["pki"].items() if k != "awsKms"}
    external["pki"]["external"]["signedIntermediates"] = {"server": LEAF_PEM}
    assert "is not a CA certificate" in problems_of(external)["pki.external.signedIntermediates.server"]


def _external(external: dict[str, Any], custody: str = "external") -> dict[str, Any]:
    config = deep_merge(PROD, {"pki": {"rootCustody": custody}})
    config["pki"] = {k: v for k, v in config["pki"].items() if k != "awsKms"} | {"external": external}
    return config


def test_an_external_root_before_its_ceremony_needs_neither_the_root_nor_signed_levels() -> None:
    """First `up` with rootCustody 'external': only the CSRs exist, so no root certificate is asked for yet."""
    problems = problems_of(_external({}))
    assert "pki.external.rootCertificatePem" not in problems and "pki.external" not in problems


def test_external_settings_under_another_custody_are_refused_once_not_checked_as_a_root() -> None:
    problems = problems_of(_external({"signedIntermediates": {"server": CA_PEM}}, custody="vault"))
    assert problems["pki.external"] == "is only used with rootCustody 'external'; rootCustody is 'vault'"
    assert not [key for key in problems if key.startswith("pki.external.")]


def test_the_program_registers_nothing_for_a_leaf_given_as_a_ca() -> None:
    config = deep_merge(DEV, {"vault": {"tls": {"caCertPem": LEAF_PEM}}})
    error, registered = run_program_expecting_failure(config)
    assert "secure-mesh:vault.tls.caCertPem: the certificate (CN=web.example.com) is not a CA" in str(error)
    assert registered == []


# ------------------------------------------------------------------------------ Consul's CA rules


def _connect(leaf_ttl: str, consul_intermediate: str, **chain: Any) -> dict[str, Any]:
    return deep_merge(
        DEV,
        {
            "pki": {
                "rootTtl": "100000h",
                "consulIntermediateTtl": consul_intermediate,
                # Short intermediates leave no room for the expiry check's threshold (tested on its own below).
                "expiryCheck": (
                    {"thresholdDays": 1} if duration_seconds(consul_intermediate) > 2 * 86400 else {"enabled": False}
                ),
                "chains": {
                    "connect": {
                        "intermediateTtls": ["90000h", "80000h"],
                        "leafTtl": leaf_ttl,
                        "leafMaxTtl": chain.get("leaf_max_ttl", leaf_ttl),
                    }
                },
            }
        },
    )


@pytest.mark.parametrize(
    ("leaf", "intermediate", "problems"),
    [
        # leaf_cert_ttl bounds: 1h ≤ leaf ≤ 8760h (MinLeafCertTTL, MaxLeafCertTTL)
        ("1h", "8760h", {}),
        ("3599s", "8760h", {"pki.chains.connect.leafTtl": "'3599s' is outside"}),
        ("59m", "8760h", {"pki.chains.connect.leafTtl": "'59m' is outside"}),
        ("8760h", "26280h", {}),
        ("8761h", "26283h", {"pki.chains.connect.leafTtl": "'8761h' is outside"}),
        # intermediate_cert_ttl ≥ 3 × leaf_cert_ttl, and ≥ 3h
        ("72h", "216h", {}),
        ("72h", "215h", {"pki.consulIntermediateTtl": "'215h' is shorter"}),
        ("72h", "215h59m59s", {"pki.consulIntermediateTtl": "'215h59m59s' is shorter"}),
        ("1h", "3h", {}),
        ("1h", "2h59m", {"pki.consulIntermediateTtl": "'2h59m' is shorter"}),
    ],
)
def test_consul_ca_ttl_rules_at_their_boundaries(leaf: str, intermediate: str, problems: dict[str, str]) -> None:
    found = problems_of(_connect(leaf, intermediate))
    assert set(found) == set(problems), found
    for path, start in problems.items():
        assert found[path].startswith(start)


def test_consul_leaf_ttl_message_names_value_and_range() -> None:
    assert problems_of(_connect("30m", "8760h"))["pki.chains.connect.leafTtl"] == (
        "'30m' is outside the range Consul's CA accepts for leaf_cert_ttl; allowed: 1h to 8760h"
    )


def test_consul_intermediate_ttl_message_names_value_leaf_and_minimum() -> None:
    assert problems_of(_connect("72h", "200h"))["pki.consulIntermediateTtl"] == (
        "'200h' is shorter than Consul's CA accepts for intermediate_cert_ttl: at least 3 × "
        "pki.chains.connect.leafTtl ('72h') and at least 3h; allowed: 216h or more"
    )


def test_rsa_3072_is_refused_because_consul_refuses_it() -> None:
    problems = problems_of(deep_merge(DEV, {"pki": {"keyType": "rsa", "keyBits": 3072}}))
    assert problems == {"pki.keyBits": "3072 is not allowed for keyType 'rsa'; allowed: 2048, 4096"}
    assert problems_of(deep_merge(DEV, {"pki": {"keyType": "rsa", "keyBits": 4096}})) == {}


def test_the_program_registers_nothing_for_a_consul_ttl_violation() -> None:
    error, registered = run_program_expecting_failure(_connect("72h", "215h"))
    assert "secure-mesh:pki.consulIntermediateTtl: '215h' is shorter" in str(error)
    assert registered == []


# ------------------------------------------------------------------------- gateway and intentions

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


def _route(index: int, route: dict[str, Any]) -> Mutation:
    def mutate(config: dict[str, Any]) -> dict[str, Any]:
        apps = [dict(app) for app in config["apps"]]
        apps[index]["route"] = route
        return {**config, "apps": apps}

    return mutate


@pytest.mark.parametrize(
    ("first", "second", "conflict"),
    [
        ("/", "/", True),
        ("/shop", "/shop/", True),
        ("/shop/", "/shop", True),
        ("/shop", "/cart", False),
        ("/shop", "/shopping", False),
    ],
)
def test_two_apps_on_one_gateway_hostname_and_path(first: str, second: str, conflict: bool) -> None:
    hostname = "web.apps.secure-mesh.test"
    config = _route(0, {"hostname": hostname, "pathPrefix": first})(DEV)
    config = _route(1, {"hostname": hostname, "pathPrefix": second})(config)
    problems = problems_of(config)
    if conflict:
        assert problems == {
            "apps[1].route": (
                f"hostname '{hostname}' with pathPrefix '{second}' is already routed to apps[0] ('web'); "
                "give each app its own hostname or path"
            )
        }
    else:
        assert problems == {}


def test_same_path_on_different_hostnames_is_fine() -> None:
    config = _route(1, {"hostname": "api.apps.secure-mesh.test", "pathPrefix": "/"})(DEV)
    assert problems_of(config) == {}


def test_route_path_longer_than_the_httproute_crd_allows_is_refused() -> None:
    ok = _route(0, {"hostname": "web.apps.secure-mesh.test", "pathPrefix": "/" + "a" * 1023})(DEV)
    assert problems_of(ok) == {}
    too_long = _route(0, {"hostname": "web.apps.secure-mesh.test", "pathPrefix": "/" + "a" * 1024})(DEV)
    assert "at most 1024 characters" in problems_of(too_long)["apps[0].route.pathPrefix"]


def test_repeated_intention_methods_are_refused() -> None:
    intentions = [
        {
            "source": "api",
            "destination": "payments",
            "permissions": [{"pathPrefix": "/p/", "methods": ["POST", "GET", "POST"]}],
        }
    ]
    problems = problems_of({**DEV, "mesh": {**DEV["mesh"], "intentions": intentions}})
    assert problems == {
        "mesh.intentions[0].permissions[0].methods": "lists POST more than once; Consul refuses repeated methods"
    }


def test_the_program_registers_nothing_for_two_apps_on_one_route() -> None:
    config = _route(1, {"hostname": "web.apps.secure-mesh.test", "pathPrefix": "/"})(DEV)
    error, registered = run_program_expecting_failure(config)
    assert "secure-mesh:apps[1].route: hostname 'web.apps.secure-mesh.test'" in str(error)
    assert registered == []


# ---------------------------------------------------------------------------------- stacks still load


@pytest.mark.parametrize("stack", STACKS)
def test_every_checked_in_stack_file_still_validates(stack: str) -> None:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    plain, secret_keys = split_stack_config(document.get("config") or {})
    assert load_settings(plain, secret_keys).environment.value == document["config"]["secure-mesh:environment"]


# ------------------------------------------------------------------------------------- roots


def test_a_root_of_another_key_type_is_refused_before_any_resource() -> None:
    config = deep_merge(PROD, {"pki": {"keyBits": 256}})
    assert problems_of(config) == {
        "pki.awsKms.rootCertificatePem": (
            "has a ec secp384r1 key but pki.keyType/keyBits are ec 256; every CA of a chain must use the same key type"
        )
    }
    error, registered = run_program_expecting_failure(config)
    assert "secure-mesh:pki.awsKms.rootCertificatePem: has a ec secp384r1 key" in str(error)
    assert registered == []


def test_an_offline_root_must_be_self_signed() -> None:
    issuer_key = ec.generate_private_key(ec.SECP384R1())
    subject_key = ec.generate_private_key(ec.SECP384R1())
    now = datetime.datetime.now(datetime.UTC)
    not_self_signed = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")]))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA384())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    config = deep_merge(PROD, {"pki": {"rootCustody": "external", "external": {"rootCertificatePem": not_self_signed}}})
    config["pki"] = {k: v for k, v in config["pki"].items() if k != "awsKms"}
    assert problems_of(config) == {
        "pki.external.rootCertificatePem": "is not self-signed (its signature does not verify with its own key)"
    }


# ------------------------------------------------------------------------------------- Vault paths


@pytest.mark.parametrize("prefix", ["sys", "auth/consul", "identity", "cubbyhole/x", "audit", "sys/team/mesh"])
def test_a_mount_prefix_vault_protects_is_refused(prefix: str) -> None:
    first = prefix.split("/")[0]
    assert problems_of(deep_merge(DEV, {"vault": {"mountPrefix": prefix}})) == {
        "vault.mountPrefix": (
            f"'{prefix}' starts with '{first}/', where Vault refuses to mount secrets engines; allowed: any first "
            "segment but audit, auth, sys, cubbyhole, identity"
        )
    }


@pytest.mark.parametrize("prefix", ["system", "platform/sys", "authz", "consul"])
def test_a_mount_prefix_that_only_resembles_a_protected_one_is_fine(prefix: str) -> None:
    assert problems_of(deep_merge(DEV, {"vault": {"mountPrefix": prefix}})) == {}


def test_the_kubernetes_auth_method_may_not_sit_on_the_token_store() -> None:
    assert problems_of(deep_merge(DEV, {"vault": {"kubernetesAuthMount": "token"}})) == {
        "vault.kubernetesAuthMount": "'token' is under auth/token/, Vault's own token store; allowed: any other path"
    }
    assert problems_of(deep_merge(DEV, {"vault": {"kubernetesAuthMount": "tokens"}})) == {}
    # any depth under it (Vault matches the mount by its first segment)
    assert problems_of(deep_merge(DEV, {"vault": {"kubernetesAuthMount": "token/k8s/dc1"}})) == {
        "vault.kubernetesAuthMount": (
            "'token/k8s/dc1' is under auth/token/, Vault's own token store; allowed: any other path"
        )
    }


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        (
            {"pki": {"rootCustody": "aws_kms"}},
            "pki.rootCustody",
            "Input should be 'vault', 'external' or 'aws-kms'; got 'aws_kms'; did you mean 'aws-kms'?",
        ),
        (
            {"environment": "Prod"},
            "environment",
            "Input should be 'dev', 'staging' or 'prod'; got 'Prod'; did you mean 'prod'?",
        ),
        ({"environment": "qa"}, "environment", "Input should be 'dev', 'staging' or 'prod'; got 'qa'"),
    ],
)
def test_a_misspelt_choice_suggests_the_nearest_allowed_value(
    override: dict[str, Any], path: str, message: str
) -> None:
    assert problems_of(deep_merge(DEV, override))[path] == message


# ---------------------------------------------------------------- the real engine's hand-over of config


@pytest.mark.parametrize(("marked_secret", "refused"), [(False, True), (True, False)])
def test_under_the_engine_the_secret_key_list_decides(
    monkeypatch: pytest.MonkeyPatch, marked_secret: bool, refused: bool
) -> None:
    """``pulumi up`` hands config as PULUMI_CONFIG (decrypted) and PULUMI_CONFIG_SECRET_KEYS (which keys were
    secret): pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go, ``pulumiConfigSecretKeysVar``."""
    from pulumi.runtime import config as runtime_config

    from secure_mesh.program import current_stack_config

    config = {f"secure-mesh:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in DEV.items()}
    config["secure-mesh:consulLicense"] = "02MV4UU43BK5HGYYTOJZWFQMTMNNEWU33JLKYE2V2NLJWVGWDZNFJVGMLLNJMFMVCQKZZE6"
    secret_keys = ["secure-mesh:consulLicense"] if marked_secret else []
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    runtime_config.set_all_config({}, [])
    plain, secrets = current_stack_config()
    assert ("consulLicense" in plain) is refused
    assert ("consulLicense" in secrets) is not refused
    problems = problems_of(plain, secrets)
    if refused:
        assert problems["consulLicense"].startswith("is given in plain text, but it is a secret")
    else:
        # accepted as a secret; refused only because the dev stack is not Consul Enterprise
        assert problems["consulLicense"].startswith("is set but consul.enterprise is false")


@pytest.mark.parametrize(
    "namespace",
    ["kube-system", "kube-public", "local-path-storage", "openebs", "gmp-system", "gke-managed-cim", "vault"],
)
def test_an_app_in_a_namespace_the_injector_never_injects_is_refused(namespace: str) -> None:
    apps = [dict(app) for app in DEV["apps"]]
    apps[1]["namespace"] = namespace
    assert problems_of({**DEV, "apps": apps}) == {
        "apps[1].namespace": (
            f"'{namespace}' is a namespace Consul's connect injector never injects, so the app would never join the "
            "mesh; not allowed: gke-managed-cim, gmp-system, kube-public, kube-system, local-path-storage, openebs, "
            "vault"
        )
    }


def test_the_vault_namespace_rule_follows_the_helm_values() -> None:
    from secure_mesh.consul.helm_values import build_consul_values
    from secure_mesh.layout import Layout
    from secure_mesh.settings.consistency import never_injected_namespaces

    settings = load_settings(DEV)
    denied = build_consul_values(settings, Layout(settings))["connectInject"]["k8sDenyNamespaces"]
    assert set(denied) <= never_injected_namespaces()


@pytest.mark.parametrize(
    "namespace", ["default", "kube-system", "kube-public", "kube-node-lease", "vault", "vault-auth"]
)
def test_consul_namespace_must_be_one_the_program_can_create(namespace: str) -> None:
    problems = problems_of(deep_merge(DEV, {"kubernetes": {"consulNamespace": namespace}}))
    assert problems["kubernetes.consulNamespace"] == (
        f"'{namespace}' already exists or is created by the program for Vault, and the program creates Consul's "
        "namespace itself (Kubernetes refuses a second one: AlreadyExists); not allowed: default, kube-node-lease, "
        "kube-public, kube-system, vault, vault-auth"
    )
    assert problems_of(deep_merge(DEV, {"kubernetes": {"consulNamespace": "consul-system"}})) == {}


def test_every_certificate_setting_is_parsed_as_a_ca_certificate() -> None:
    """A new ``…Pem`` field (database CA, …) must use ``PemCertificate``/``PemSingleCertificate`` so it is parsed."""
    from secure_mesh.settings.models import _check_pem_certificate

    def checked(annotation: Any, metadata: list[Any]) -> bool:
        if any(getattr(m, "func", None) is _check_pem_certificate for m in metadata):
            return True
        if typing.get_origin(annotation) is typing.Annotated and checked(None, list(typing.get_args(annotation)[1:])):
            return True
        return any(checked(arg, []) for arg in typing.get_args(annotation))

    unchecked: list[str] = []
    pem_fields: list[str] = []

    def visit(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{field.alias or name}"
            nested = _nested(field.annotation)
            if name.endswith("_pem") or name.endswith("_pems") or name == "signed_intermediates":
                pem_fields.append(path)
                if not checked(field.annotation, list(field.metadata)):
                    unchecked.append(path)
            for sub, suffix in nested:
                visit(sub, f"{path}{suffix}.")

    visit(Settings, "")
    assert unchecked == []
    assert {"vault.tls.caCertPem", "vault.kubernetesCaCertPem", "pki.awsKms.rootCertificatePem"} <= set(pem_fields)


def test_the_offline_review_reads_a_path_secret_object_as_a_secret(tmp_path: Path) -> None:
    """A stack file written by ``pulumi config set --path --secret`` (one encrypted leaf) renders like a secret."""
    from secure_mesh.offline.render import render_stack
    from tests.onboarding.stacks import onboarding_config

    config = copy.deepcopy(dict(onboarding_config()))
    names = []
    for app in config["apps"]:
        if app.get("database"):
            app["database"]["address"] = {"host": "db.example.com"}
            names.append(app["name"])
    config["databaseRootCredentials"] = {
        name: {"username": "vault-admin", "password": {"secure": "v1:ZW5jcnlwdGVk"}} for name in names
    }
    render_stack(PROJECT_DIR, "dev", tmp_path, config)
    inventory = (tmp_path / "inventory.json").read_text()
    assert names and "v1:ZW5jcnlwdGVk" not in inventory and "vault-admin" not in inventory


def test_a_vault_ca_file_holding_a_private_key_is_refused(tmp_path: Path) -> None:
    """``vault.tls.caCertFile``'s text is copied into a Secret, the outputs and state: never with a key in it."""
    from secure_mesh.settings.vault_ca_file import read_vault_ca_file

    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "vault-ca.pem"
    path.write_text(CA_PEM + key_pem)
    with pytest.raises(SettingsError) as caught:
        read_vault_ca_file(path, ".pulumi-state/vault-ca.pem")
    assert [str(p) for p in caught.value.problems] == [
        "secure-mesh:vault.tls.caCertFile: '.pulumi-state/vault-ca.pem' holds a private key; it must hold only the CA "
        "certificate (it is copied into Kubernetes, the stack outputs and Pulumi state)"
    ]
    path.write_text(CA_PEM)
    assert read_vault_ca_file(path, ".pulumi-state/vault-ca.pem") == CA_PEM
