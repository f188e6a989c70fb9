"""The bootstrap program: settings → explicit providers → the Vault and AWS trust → outputs for stack-init."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_vault as vault

from .aws_trust import AwsTrust
from .names import Purpose
from .settings import CONFIG_NAMESPACE, load_settings
from .vault_trust import VaultTrust

TOP_KEYS = ("github", "vault", "aws")


def main() -> None:
    """Validate every setting first, then declare the pipeline's trust with explicit providers only."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    raw = {key: value for key in TOP_KEYS if (value := config.get(key)) is not None}
    settings = load_settings(raw)
    vault_provider = vault.Provider(
        "vault",
        address=settings.vault.address,
        skip_tls_verify=False,
        add_address_to_env="false",
    )
    aws_provider = aws.Provider(
        "aws",
        region=settings.aws.region,
        allowed_account_ids=[settings.aws.account_id],
    )
    vault_trust = VaultTrust("pipeline", settings, pulumi.ResourceOptions(provider=vault_provider))
    aws_trust = AwsTrust("pipeline", settings, pulumi.ResourceOptions(provider=aws_provider))
    region = settings.aws.region
    pulumi.export(
        "secretsProvider",
        aws_trust.secrets_key_alias.name.apply(lambda alias: f"awskms://{alias}?region={region}"),
    )
    pulumi.export("awsRoleArns", {p.value: aws_trust.roles[p].arn for p in Purpose})
    pulumi.export("vaultRoles", {p.value: vault_trust.roles[p].role_name for p in Purpose})
    pulumi.export("vaultJwtMount", vault_trust.auth.path)
