"""Transport to Vault: every client the stack configures verifies Vault's certificate and, in production, uses https.

Vault clients a stack configures: the Pulumi Vault provider, Secrets Store CSI ``SecretProviderClass``
objects (vault-csi-provider parameters ``vaultAddress``, ``vaultSkipTLSVerify``, ``vaultCACertPath`` /
``vaultCADirectory``), Vault Secrets Operator ``VaultConnection`` objects (``address``, ``skipTLSVerify``,
``caCertSecretRef`` / ``caCertPath``: vault-secrets-operator ``api/v1beta1/vaultconnection_types.go``),
pods the Vault agent injector serves (``vault.hashicorp.com/agent-inject``,
``tls-skip-verify``, ``service``, ``ca-cert``), containers that talk to Vault themselves (``VAULT_ADDR``,
``VAULT_SKIP_VERIFY``), the Consul chart's ``agentAnnotations`` and the Vault chart's injector/CSI
address and environment. Booleans are read the way those Go programs read them (``strconv.ParseBool``:
``1``, ``t``, ``true`` in any case), not by comparing with one spelling.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from . import types as t
from .chart import VAULT, consul_values, is_consul_release
from .consumers import AGENT, csi_parameters, pod_annotations, pod_templates
from .documents import value_at
from .framework import ENVIRONMENT_SETTING, UNSET, Res, StackView, as_list, is_production, stack_rule

Finding = tuple[str, str | None]

_TRUE = frozenset({"1", "t", "true", "y", "yes", "on"})


VAULT_CONNECTION = "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection"
"""Vault Secrets Operator's connection (``spec.address``, ``skipTLSVerify``, ``caCertSecretRef``/``caCertPath``)."""


def truthy(value: Any) -> bool:
    """A boolean as Go's ``strconv.ParseBool`` (and YAML/HCL writers) accept it: True, 1, "1", "t", "TRUE", "true"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUE


def is_http(address: Any) -> bool:
    """A plain-http URL."""
    return isinstance(address, str) and address.strip().lower().startswith("http://")


def _private_ca(view: StackView) -> bool:
    """Whether the stack declares that Vault's TLS certificate comes from a private CA (the chart's vault.ca)."""
    for values in consul_values(view):
        ca = value_at(values.values, f"{VAULT}.ca")
        if isinstance(ca, Mapping) and ca.get("secretName"):
            return True
    return False


def _vault_chart_ca_for_csi(view: StackView) -> bool:
    """Whether the Vault chart's CSI provider is started with a CA for Vault (flag or VAULT_CACERT/VAULT_CAPATH)."""
    for release in view.of(t.HELM_RELEASE):
        if str(release.get("chart", "")).rstrip("/").rsplit("/", 1)[-1] != "vault":
            continue
        values = release.get("values", {})
        args = [str(a) for a in as_list(value_at(values, "csi.extraArgs"))]
        if any(a.lstrip("-").startswith(("vault-tls-ca-cert", "vault-tls-ca-directory")) for a in args):
            return True
        env = value_at(values, "csi.agent.extraEnvironmentVars")
        if isinstance(env, Mapping) and ({"VAULT_CACERT", "VAULT_CAPATH"} & set(env)):
            return True
    return False


def _env_findings(res: Res, prop: str, env: Mapping[str, Any], production: bool) -> Iterator[str]:
    for name, value in env.items():
        if name == "VAULT_SKIP_VERIFY" and truthy(value):
            yield res.finding(f"{prop}.{name}", value, "skips verification of Vault's certificate", "remove it")
        if name == "VAULT_ADDR" and production and is_http(value):
            yield res.finding(f"{prop}.{name}", value, "plain http to Vault in production", "use https")


def _container_env(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = template.get("spec")
    if not isinstance(spec, Mapping):
        return
    for group in ("initContainers", "containers"):
        for index, container in enumerate(as_list(spec.get(group))):
            if isinstance(container, Mapping):
                env = {
                    str(e.get("name")): e.get("value")
                    for e in as_list(container.get("env"))
                    if isinstance(e, Mapping) and "value" in e
                }
                yield f"spec.{group}[{index}].env", env


def _agent_annotation_map(text: Any) -> Mapping[str, Any]:
    """The Consul chart's ``agentAnnotations`` (a YAML map in a string) as a mapping."""
    if isinstance(text, Mapping):
        return text
    if not isinstance(text, str):
        return {}
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


@dataclass(frozen=True)
class VaultClient:
    """One place a Vault client is configured (a CSI class, a VSO connection, agent annotations): the three
    properties the transport rule judges (skip-verify, the address, the CA) and how each is named and fixed.
    """

    res: Res
    who: str
    skip_prop: str
    skip: Any
    skip_fix: str
    address_prop: str
    address: Any
    has_ca: bool
    ca_prop: str
    ca_problem: str
    ca_fix: str


def _client_findings(client: VaultClient, production: bool, private_ca: bool) -> Iterator[tuple[Res, str]]:
    """The same three checks for every kind of Vault client: verification on, https in production, the CA given."""
    res = client.res
    if truthy(client.skip):
        yield res, res.finding(
            client.skip_prop, client.skip, f"{client.who} does not verify Vault's certificate", client.skip_fix
        )
    if production and is_http(client.address):
        yield res, res.finding(client.address_prop, client.address, "plain http to Vault in production", "use https")
    if private_ca and not is_http(client.address) and not client.has_ca:
        yield res, res.finding(client.ca_prop, UNSET, client.ca_problem, client.ca_fix)


def _check(view: StackView, config: Mapping[str, Any]) -> Iterator[tuple[Res, str]]:
    private_ca = _private_ca(view)
    csi_has_ca = _vault_chart_ca_for_csi(view)
    for provider in view.of(t.VAULT_PROVIDER):
        production = is_production(config, provider.urn)
        if truthy(provider.get("skipTlsVerify")):
            yield provider, provider.finding(
                "skipTlsVerify",
                provider.get("skipTlsVerify"),
                "the Vault provider does not verify Vault's certificate",
                "set skip_tls_verify = false and trust Vault's CA (VAULT_CACERT or ca_cert_file)",
            )
        if production and is_http(provider.get("address")):
            yield provider, provider.finding(
                "address", provider.get("address"), "plain http to Vault in production", "use Vault's https address"
            )
    for spc in view.of(t.SECRET_PROVIDER_CLASS):
        spec = spc.get("spec", {})
        if not isinstance(spec, Mapping) or spec.get("provider") != "vault":
            continue
        parameters = csi_parameters(spc)
        yield from _client_findings(
            VaultClient(
                res=spc,
                who="the CSI provider",
                skip_prop="spec.parameters.vaultSkipTLSVerify",
                skip=parameters.get("vaultSkipTLSVerify"),
                skip_fix="remove vaultSkipTLSVerify and set vaultCACertPath",
                address_prop="spec.parameters.vaultAddress",
                address=parameters.get("vaultAddress", UNSET),
                has_ca=bool(parameters.get("vaultCACertPath") or parameters.get("vaultCADirectory") or csi_has_ca),
                ca_prop="spec.parameters.vaultCACertPath",
                ca_problem="Vault's certificate comes from a private CA (values global.secretsBackend.vault.ca) the "
                "CSI provider is not given",
                ca_fix="set vaultCACertPath to the mounted Vault CA",
            ),
            is_production(config, spc.urn),
            private_ca,
        )
    for connection in view.of(VAULT_CONNECTION):
        spec = connection.get("spec", {})
        spec = spec if isinstance(spec, Mapping) else {}
        yield from _client_findings(
            VaultClient(
                res=connection,
                who="Vault Secrets Operator",
                skip_prop="spec.skipTLSVerify",
                skip=spec.get("skipTLSVerify"),
                skip_fix="set skipTLSVerify: false and caCertSecretRef",
                address_prop="spec.address",
                address=spec.get("address", UNSET),
                has_ca=bool(spec.get("caCertSecretRef") or spec.get("caCertPath")),
                ca_prop="spec.caCertSecretRef",
                ca_problem="Vault's certificate comes from a private CA (values global.secretsBackend.vault.ca) Vault "
                "Secrets Operator is not given",
                ca_fix="set caCertSecretRef to a Secret holding Vault's CA as ca.crt",
            ),
            is_production(config, connection.urn),
            private_ca,
        )
    for workload in view.of(*t.WORKLOADS):
        production = is_production(config, workload.urn)
        for prefix, template in pod_templates(workload):
            annotations = pod_annotations(template)
            where = f"{prefix}metadata.annotations"
            if truthy(annotations.get(f"{AGENT}agent-inject")):
                yield from _client_findings(
                    VaultClient(
                        res=workload,
                        who="the Vault agent",
                        skip_prop=f"{where}['{AGENT}tls-skip-verify']",
                        skip=annotations.get(f"{AGENT}tls-skip-verify"),
                        skip_fix=f"remove it and set {AGENT}ca-cert",
                        address_prop=f"{where}['{AGENT}service']",
                        address=annotations.get(f"{AGENT}service"),
                        has_ca=bool(annotations.get(f"{AGENT}ca-cert")),
                        ca_prop=f"{where}['{AGENT}ca-cert']",
                        ca_problem="Vault's certificate comes from a private CA the injected agent is not given",
                        ca_fix=f"set {AGENT}tls-secret and {AGENT}ca-cert",
                    ),
                    production,
                    private_ca,
                )
            for env_prop, env in _container_env(template):
                yield from ((workload, m) for m in _env_findings(workload, f"{prefix}{env_prop}", env, production))
    for release in view.of(t.HELM_RELEASE):
        production = is_production(config, release.urn)
        values = release.get("values", {})
        if is_consul_release(release):
            prop = f"values.{VAULT}.agentAnnotations"
            agent = _agent_annotation_map(value_at(values, f"{VAULT}.agentAnnotations"))
            skip = agent.get(f"{AGENT}tls-skip-verify")
            if truthy(skip):
                yield release, release.finding(
                    f"{prop}['{AGENT}tls-skip-verify']",
                    skip,
                    "Consul's Vault agents do not verify Vault's certificate",
                    "remove it; set global.secretsBackend.vault.ca instead",
                )
            service = agent.get(f"{AGENT}service")
            if production and is_http(service):
                yield release, release.finding(
                    f"{prop}['{AGENT}service']", service, "plain http to Vault in production", "use https"
                )
            continue
        for key in ("global.externalVaultAddr", "injector.externalVaultAddr"):
            address = value_at(values, key)
            if production and is_http(address):
                yield release, release.finding(
                    f"values.{key}", address, "plain http to Vault in production", "use Vault's https address"
                )
        for key in ("injector.extraEnvironmentVars", "csi.agent.extraEnvironmentVars", "server.extraEnvironmentVars"):
            env = value_at(values, key)
            if isinstance(env, Mapping):
                yield from ((release, m) for m in _env_findings(release, f"values.{key}", env, production))


@stack_rule(
    "CSL-VAULT-CA",
    part="transport",
    checks="Every Vault client the stack configures verifies Vault's TLS certificate, and none uses plain http in "
    "production: the Vault provider (skip_tls_verify, address), CSI SecretProviderClasses (vaultSkipTLSVerify, "
    "vaultAddress, and vaultCACertPath when Vault's CA is private), VSO VaultConnections (skipTLSVerify, address, "
    "and caCertSecretRef when Vault's CA is private), agent-injected pods (tls-skip-verify, service, "
    "ca-cert), containers' VAULT_SKIP_VERIFY/VAULT_ADDR, the Consul chart's agentAnnotations and the Vault chart's "
    "externalVaultAddr and environment. Booleans count in every spelling Go accepts (true, \"true\", \"1\", \"t\").",
    why="Without verification (or over http) anyone on the path to Vault reads the tokens and secrets a client "
    "sends and receives; a private Vault CA must reach every client that talks TLS to Vault.",
    fix="Use Vault's https address, never skip verification, and give each client Vault's CA (provider: "
    "VAULT_CACERT; CSI: vaultCACertPath; agent: tls-secret + ca-cert).",
    settings=(ENVIRONMENT_SETTING,),
)
def csl_vault_ca_transport(view: StackView, config: Mapping[str, Any]) -> Iterator[Finding]:
    """Every way to Vault is verified TLS."""
    for res, message in _check(view, config):
        yield message, res.urn
