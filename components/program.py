"""The Pulumi program behind ``__main__.py``: read settings once, build providers and the platform, export."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import settings as runtime_settings

from .layout import Layout
from .outputs import export_stack_outputs
from .platform import PlatformArgs, SecretInputs, SecureMeshPlatform
from .providers import build_providers
from .settings import CONFIG_NAMESPACE, Settings, SettingsError, load_settings, split_stack_config
from .settings.federation import primary_settings
from .settings.vault_ca_file import resolve_vault_ca_file

PROJECT_DIR = Path.cwd()
"""The Pulumi project directory (Pulumi runs the program there): project-relative settings
(``vault.tls.caCertFile``) are read from here, wherever the ``secure_mesh`` package is installed."""


def project_dir() -> Path:
    """The project this run is for: the engine's root directory (where Pulumi.yaml is; the offline commands set it
    to their ``--project-dir``), else the working directory.
    """
    root = pulumi.get_root_directory()
    path = Path(root) if root else PROJECT_DIR
    return path if (path / "Pulumi.yaml").is_file() else PROJECT_DIR

YOUNG_GENERATION_THRESHOLD = 100_000
"""Allocations between collections of Python's youngest GC generation (CPython's default is 700).

A run registers thousands of resources, each allocating hundreds of short-lived objects (Outputs,
futures, protobuf messages) that reference counting frees; with the default threshold the cyclic
collector runs every few hundred allocations and takes about 40 % of the run (2,000 services: 42 s →
27 s, same peak memory; docs/scale.md).
"""


def tune_garbage_collection() -> None:
    """Collect the young generation less often: the program's garbage is short-lived and acyclic."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)


def current_stack_config() -> tuple[dict[str, Any], frozenset[str]]:
    """This project's stack configuration as handed to the program, with the names of secret keys."""
    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | {
        key for key in merged if runtime_config.is_config_secret(key)
    }
    return split_stack_config(merged, secret_keys)


def running_under_mocks() -> bool:
    """True under Pulumi's mocks (the offline render, the tests): nothing is deployed, no deploy-time file is read."""
    return isinstance(runtime_settings.get_monitor(), runtime_mocks.MockMonitor)


def read_settings() -> Settings:
    """Validate the stack's configuration, or stop with a clean, key-path-naming error (no traceback)."""
    plain, secret_keys = current_stack_config()
    try:
        settings = load_settings(plain, secret_keys)
        return settings if running_under_mocks() else resolve_vault_ca_file(settings, PROJECT_DIR)
    except SettingsError as error:
        raise pulumi.RunError(str(error)) from None


def read_primary_settings(settings: Settings) -> Settings | None:
    """A WAN-federation secondary's primary, from its stack file in this project (None in other modes)."""
    try:
        return primary_settings(settings, project_dir())
    except SettingsError as error:
        raise pulumi.RunError(str(error)) from None


def read_secret_inputs(settings: Settings) -> SecretInputs:
    """Read the secret config keys the settings call for, as Pulumi secrets."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    license_text = config.require_secret("consulLicense") if settings.consul.enterprise else None
    has_database = any(app.database is not None for app in settings.apps)
    database_credentials = config.require_secret_object("databaseRootCredentials") if has_database else None
    return SecretInputs(
        consul_license=license_text,
        database_root_credentials=database_credentials,
    )


def main() -> SecureMeshPlatform:
    """Run the whole program for the current stack."""
    settings = read_settings()
    layout = Layout(settings, read_primary_settings(settings))
    providers = build_providers(settings, layout, PROJECT_DIR)
    platform = SecureMeshPlatform(
        "secure-mesh",
        PlatformArgs(
            settings=settings,
            layout=layout,
            secrets=read_secret_inputs(settings),
        ),
        opts=pulumi.ResourceOptions(providers=providers.as_list()),
    )
    export_stack_outputs(platform)
    return platform
