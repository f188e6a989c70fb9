"""Stack settings variants shared by the identities and secrets tests (pure: no Pulumi involved)."""

from __future__ import annotations

from functools import cache
from typing import Any

from secure_mesh.layout import Layout
from secure_mesh.settings import Settings, load_settings
from secure_mesh.settings.federation import primary_settings
from tests.harness import PROJECT_DIR, ProgramRun, deep_merge, load_stack_config, run_program

LICENSE_TEXT = "02MV4UU43BK5HGYYTOJZWFQMTMNNEWU33JLKYE2V2NLJWVGWDZNFJVGMLLNJMFMVCQKZZE6"
REPLICATION_TOKEN = "5e2a4a5c-1d2e-4f3a-9b8c-7d6e5f4a3b2c"

EVERYTHING_ON: dict[str, Any] = {
    "images": {"consul": "hashicorp/consul-enterprise:1.22-ent"},
    "consul": {
        "enterprise": True,
        "clientsEnabled": True,
        "snapshotAgent": {"enabled": True, "interval": "30m", "retain": 48},
        "aclBootstrap": "generated",
        "meshGateway": True,
    }
}
"""Every optional identity and secret at once: Enterprise, clients, mesh gateways, snapshots. (A federation
secondary is its own stack, ``fed-secondary``: Enterprise partitions and WAN federation exclude each other.)"""
EVERYTHING_ON_SECRETS = {"consulLicense": LICENSE_TEXT}


def secret_keys_for(config: dict[str, Any]) -> frozenset[str]:
    """The secret config keys a config needs (the license for Enterprise)."""
    return frozenset({"consulLicense"} if config.get("consul", {}).get("enterprise") else set())


def settings_for(stack: str, override: dict[str, Any] | None = None) -> Settings:
    """A checked-in stack's settings with an override merged in."""
    config = deep_merge(load_stack_config(stack), override or {})
    return load_settings(config, secret_keys_for(config))


def layout_for(stack: str, override: dict[str, Any] | None = None) -> Layout:
    """The layout of a checked-in stack with an override merged in (a federation secondary's with its primary)."""
    settings = settings_for(stack, override)
    return Layout(settings, primary_settings(settings, PROJECT_DIR))


@cache
def everything_run() -> ProgramRun:
    """The dev stack with every option on, run once under mocks and shared (read-only)."""
    return run_program(deep_merge(load_stack_config("dev"), EVERYTHING_ON), secrets=EVERYTHING_ON_SECRETS)


LONG_LIVED_REVIEWER: dict[str, Any] = {"vault": {"tokenReviewer": "long-lived-secret"}}
"""The prod stack's external Vault with the opt-in long-lived reviewer Secret."""
PROD_MESH_GATEWAYS: dict[str, Any] = {"consul": {"meshGateway": True}}
"""The prod stack with mesh gateways, whose pods log in with the CA-read role only."""


@cache
def prod_variant_run(variant: str) -> ProgramRun:
    """The prod stack with one override (``long-lived-reviewer`` or ``mesh-gateways``), run once and shared."""
    override = {"long-lived-reviewer": LONG_LIVED_REVIEWER, "mesh-gateways": PROD_MESH_GATEWAYS}[variant]
    return run_program(deep_merge(load_stack_config("prod"), override))
