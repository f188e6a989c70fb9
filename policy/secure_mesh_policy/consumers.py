"""Who the stack says uses which Vault path, and which zones of Vault belong to whom.

Vault itself cannot tell a policy written for the gateway from one written for an app: the stack can.
The consumers of Vault paths are declared in resources: the Consul chart's values (contract §3),
the Secrets Store CSI ``SecretProviderClass`` objects (``roleName`` + each object's ``secretPath``),
and the Vault agent annotations on pod templates (``vault.hashicorp.com/role`` +
``agent-inject-secret-*``). The onboarding contract names the rest: an app ``x`` logs in as the
Kubernetes-auth role ``app-x``, its KV-v2 secrets live under ``<kv>/data/apps/x/`` and its database
credentials at ``<database mount>/creds/app-x``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from . import types as t
from .chart import ISSUE_PATHS, KV_SECRETS, consul_values
from .framework import Res, StackView, as_list, norm_path

APP_ROLE_PREFIX = "app-"
"""An onboarded app ``x`` logs in to Vault as the Kubernetes-auth role ``app-x`` (the onboarding contract)."""

AGENT = "vault.hashicorp.com/"


@dataclass(frozen=True)
class Use:
    """A declared use of a Vault path: the role that uses it and where the stack says so."""

    path: str
    role: str
    source: Res
    where: str


def pod_templates(res: Res) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The pod template(s) of a workload, with the property path to each (``spec.template``)."""
    if res.type == t.POD:
        yield "", res.props
        return
    spec = res.get("spec", {})
    if not isinstance(spec, Mapping):
        return
    template = spec.get("template")
    if isinstance(template, Mapping):
        yield "spec.template.", template
    job = spec.get("jobTemplate")
    if isinstance(job, Mapping) and isinstance(job.get("spec"), Mapping):
        inner = job["spec"].get("template")
        if isinstance(inner, Mapping):
            yield "spec.jobTemplate.spec.template.", inner


def pod_annotations(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """A pod template's annotations (empty when unset)."""
    metadata = template.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def csi_objects(res: Res) -> list[Mapping[str, Any]]:
    """The Vault objects of a ``SecretProviderClass`` (its ``parameters.objects`` YAML list)."""
    text = csi_parameters(res).get("objects")
    if not isinstance(text, str):
        return []
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    return [o for o in as_list(loaded) if isinstance(o, Mapping)]


def csi_parameters(res: Res) -> Mapping[str, Any]:
    """A ``SecretProviderClass``'s ``spec.parameters`` (empty when unset)."""
    spec = res.get("spec", {})
    parameters = spec.get("parameters") if isinstance(spec, Mapping) else None
    return parameters if isinstance(parameters, Mapping) else {}


def declared_uses(view: StackView) -> list[Use]:
    """Every (path, role) the stack's consumers declare: chart values, CSI classes, agent annotations."""
    uses: list[Use] = []
    for values in consul_values(view):
        for key, path in values.kv_paths().items():
            for role_key, _ in KV_SECRETS[key]:
                if role_key in values.roles:
                    uses.append(Use(path, values.roles[role_key], values.release, f"values.{key}.secretName"))
        for key, path in values.issue_paths().items():
            if ISSUE_PATHS[key] in values.roles:
                uses.append(Use(path, values.roles[ISSUE_PATHS[key]], values.release, f"values.{key}"))
    for spc in view.of(t.SECRET_PROVIDER_CLASS):
        role = csi_parameters(spc).get("roleName")
        for index, item in enumerate(csi_objects(spc)):
            if isinstance(role, str) and isinstance(item.get("secretPath"), str):
                uses.append(
                    Use(norm_path(item["secretPath"]), role, spc, f"spec.parameters.objects[{index}].secretPath")
                )
    uses.extend(_vso_pki_uses(view))
    for workload in view.of(*t.WORKLOADS):
        for prefix, template in pod_templates(workload):
            annotations = pod_annotations(template)
            role = annotations.get(f"{AGENT}role")
            if not isinstance(role, str):
                continue
            for key, value in annotations.items():
                if str(key).startswith(f"{AGENT}agent-inject-secret-") and isinstance(value, str):
                    uses.append(Use(norm_path(value), role, workload, f"{prefix}metadata.annotations[{key!r}]"))
    return uses


VAULT_AUTH = "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth"
VAULT_PKI_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultPKISecret"


def _namespaced(res: Res) -> tuple[str, str]:
    metadata = res.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    return str(metadata.get("namespace") or "default"), str(metadata.get("name") or res.name)


def _vso_pki_uses(view: StackView) -> Iterator[Use]:
    """VSO PKI secrets: ``<mount>/issue/<role>`` (or ``issuer/<ref>/issue/<role>``), used by their VaultAuth's role.

    ``vaultAuthRef`` is ``[namespace/]name``, the namespace defaulting to the PKI secret's
    (vault-secrets-operator ``api/v1beta1/vaultpkisecret_types.go``).
    """
    auths: dict[tuple[str, str], Any] = {}
    for auth in view.of(VAULT_AUTH):
        spec = auth.get("spec")
        kubernetes = spec.get("kubernetes") if isinstance(spec, Mapping) else None
        if isinstance(kubernetes, Mapping):
            auths[_namespaced(auth)] = kubernetes.get("role")
    for secret in view.of(VAULT_PKI_SECRET):
        spec = secret.get("spec")
        if not isinstance(spec, Mapping):
            continue
        namespace, _ = _namespaced(secret)
        ref = str(spec.get("vaultAuthRef") or "")
        key = (ref.split("/", 1)[0], ref.split("/", 1)[1]) if "/" in ref else (namespace, ref)
        role, mount, pki_role = auths.get(key), spec.get("mount"), spec.get("role")
        if not all(isinstance(v, str) and v for v in (role, mount, pki_role)):
            continue
        issuer = spec.get("issuerRef")
        middle = f"issuer/{issuer}/issue" if isinstance(issuer, str) and issuer else "issue"
        yield Use(norm_path(f"{mount}/{middle}/{pki_role}"), str(role), secret, "spec.mount")


def app_of_kv_path(path: str, kv_mounts: set[str]) -> str | None:
    """The app whose KV subtree (``<kv>/data|metadata/apps/<app>/...``) holds a path, if any."""
    for mount in sorted(kv_mounts, key=len, reverse=True):
        if path.startswith(mount + "/"):
            parts = path[len(mount) + 1 :].split("/")
            if len(parts) >= 3 and parts[0] in ("data", "metadata") and parts[1] == "apps":
                return parts[2]
            return None
    return None


def database_mounts(view: StackView) -> set[str]:
    """Every database secrets engine mount: declared mounts and the backends its roles and connections name."""
    found = {norm_path(m.get("path")) for m in view.of(t.MOUNT) if m.get("type") == "database"}
    found |= {norm_path(m.get("path")) for m in view.of(t.DB_MOUNT)}
    for res in view.of(t.DB_ROLE, t.DB_STATIC_ROLE, t.DB_CONNECTION):
        if res.get("backend"):
            found.add(norm_path(res.get("backend")))
    return {m for m in found if m}
