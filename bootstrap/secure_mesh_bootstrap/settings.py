"""The bootstrap stack's configuration as frozen, typed models; every problem names its camelCase key path.

Bad settings fail before any resource is registered, all at once, each with the key path
(``secure-mesh-bootstrap:aws.accountId``), the value found and what is allowed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "secure-mesh-bootstrap"

REPOSITORY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"
"""``OWNER/REPO`` as GitHub spells the ``repository`` claim (owner: letters, digits, hyphens; at most 39)."""
HTTPS_URL_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$"
VAULT_PATH_PATTERN = r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"
ACCOUNT_PATTERN = r"^[0-9]{12}$"
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
"""S3 bucket naming rules (3–63 characters, lower case, digits, dots, hyphens)."""
KMS_KEY_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
"""A KMS key ARN (single-region key ID or multi-Region ``mrk-`` ID); an alias cannot be granted in IAM."""
EKS_NAME_PATTERN = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$"


class BootstrapModel(BaseModel):
    """Base of every settings object: camelCase keys only, unknown keys refused, values frozen."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", frozen=True)


class GitHubSettings(BootstrapModel):
    """The repository whose workflows get the pipeline's credentials."""

    repository: Annotated[str, Field(pattern=REPOSITORY_PATTERN)]
    """``OWNER/REPO``; every role is bound to exactly this ``repository`` claim and its ``sub``."""


class VaultSettings(BootstrapModel):
    """The production Vault, and the names the mesh stack uses in it (its policies are scoped to them)."""

    address: Annotated[str, Field(pattern=HTTPS_URL_PATTERN)]
    """Vault's API address for this program; https only (the CA comes from ``VAULT_CACERT``)."""
    namespace: Annotated[str, Field(pattern=VAULT_PATH_PATTERN)] | None = None
    """Vault Enterprise namespace of the mesh stack, if any."""
    mount_prefix: Annotated[str, Field(pattern=VAULT_PATH_PATTERN)]
    """The mesh stack's ``vault.mountPrefix``: every mount it manages is under ``<mountPrefix>/``."""
    kubernetes_auth_mount: Annotated[str, Field(pattern=VAULT_PATH_PATTERN)]
    """The mesh stack's Kubernetes auth mount (``kubernetes-<datacenter>`` unless it sets one)."""
    policy_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    """The prefix of every Vault policy the mesh stack writes (``<mountPrefix>-<datacenter>``)."""
    audit_device_path: Annotated[str, Field(pattern=VAULT_PATH_PATTERN)] | None = None
    """The mesh stack's audit device (``sys/audit/<path>``, ``secure-mesh-<datacenter>`` unless it sets one);
    unset when the mesh stack enables none."""


class AwsSettings(BootstrapModel):
    """The AWS account holding the state bucket, the KMS keys and the EKS cluster."""

    account_id: Annotated[str, Field(pattern=ACCOUNT_PATTERN)]
    """12 digits; the provider refuses to act in any other account."""
    region: Annotated[str, Field(pattern=REGION_PATTERN)]
    state_bucket: Annotated[str, Field(pattern=BUCKET_PATTERN)]
    """The S3 bucket of the self-managed Pulumi backend (``PULUMI_BACKEND_URL=s3://<bucket>``), created beforehand."""
    root_key_arn: Annotated[str, Field(pattern=KMS_KEY_ARN_PATTERN)]
    """The offline root's KMS key (the mesh stack's ``pki.awsKms.keyId``); only the deploy role may sign with it."""
    eks_cluster_name: Annotated[str, Field(pattern=EKS_NAME_PATTERN)]
    """The EKS cluster of the prod stack; each role gets an access entry with its purpose's access policy."""


class BootstrapSettings(BootstrapModel):
    """Everything the bootstrap stack needs."""

    github: GitHubSettings
    vault: VaultSettings
    aws: AwsSettings


@dataclass(frozen=True)
class Problem:
    """One invalid setting: its key path and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{CONFIG_NAMESPACE}:{self.path}: {self.message}"


class BootstrapSettingsError(ValueError):
    """The bootstrap stack's configuration is invalid; raised before any resource is registered."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        count = len(problems)
        super().__init__(f"invalid bootstrap configuration ({count} problem{'s' if count != 1 else ''}):\n{lines}")

    @property
    def paths(self) -> list[str]:
        """The key paths of all problems, in the order found."""
        return [p.path for p in self.problems]


def _model_at(loc: tuple[str | int, ...]) -> type[BootstrapModel] | None:
    current: type[BootstrapModel] = BootstrapSettings
    for part in loc:
        field = next((f for f in current.model_fields.values() if f.alias == part), None)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BootstrapModel)):
            return None
        current = annotation
    return current


def _keys(model: type[BootstrapModel]) -> str:
    return ", ".join(str(f.alias) for f in model.model_fields.values())


def _message(detail: Any) -> str:
    loc = tuple(detail["loc"])
    kind = detail["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        snake = isinstance(loc[-1], str) and "_" in loc[-1]
        hint = f" (did you mean '{to_camel(str(loc[-1]))}'? keys are camelCase)" if snake else ""
        return f"unknown key{hint}; allowed keys here: {_keys(parent) if parent else '-'}"
    if kind == "missing":
        parent = _model_at(loc[:-1])
        return "is required but missing" if parent is None else f"is required but missing (keys: {_keys(parent)})"
    if kind == "string_pattern_mismatch":
        return f"{detail['input']!r} does not match {detail['ctx']['pattern']}"
    return f"{detail['msg']}; got {detail.get('input')!r}"


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_settings(raw: Mapping[str, Any]) -> BootstrapSettings:
    """Validate the stack's config (keys without the namespace) or raise naming every bad key path."""
    try:
        return BootstrapSettings.model_validate_json(
            json.dumps({key: _decode(value) for key, value in raw.items()}), strict=True
        )
    except ValidationError as error:
        problems = [
            Problem(".".join(str(part) for part in detail["loc"]), _message(detail)) for detail in error.errors()
        ]
        raise BootstrapSettingsError(problems) from None

