"""Cross-field rules for app databases: TLS verification outside dev, and Vault Enterprise's automated rotation.

Kept apart from :mod:`.consistency` (which calls :func:`database_problems`) so the database concern's rules
live in one place. Each problem names the exact key path, the bad value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

from .durations import duration_seconds
from .errors import Problem
from .models import DatabaseTlsMode, Environment, Settings

MIN_ROTATION_PERIOD_SECONDS = 10
"""Vault's minimum ``rotation_period`` (terraform-provider-vault docs, database_secret_backend_connection)."""
MIN_ROTATION_WINDOW_SECONDS = 3600
"""Vault's minimum ``rotation_window`` (same source: "the minimum allowable window is 3600")."""


def database_problems(settings: Settings) -> Iterator[Problem]:
    """Every problem of the apps' database TLS and rotation settings, in settings order."""
    for index, app in enumerate(settings.apps):
        database = app.database
        if database is None:
            continue
        base = f"apps[{index}].database"
        yield from _tls(settings, base, database.tls.mode, database.tls.ca_cert_pem)
        rotation = database.automated_root_rotation
        if rotation is None:
            continue
        path = f"{base}.automatedRootRotation"
        if not settings.vault.enterprise:
            yield Problem(
                path,
                "needs Vault Enterprise 1.19+ (set vault.enterprise: true): automated root rotation is an Enterprise "
                "feature, and the Vault provider silently drops rotation_period/rotation_schedule for any other "
                "server, so the stack would claim a rotation that never happens; remove it on Vault Community "
                "(raise rootPasswordVersion to rotate instead)",
            )
        if (rotation.period is None) == (rotation.schedule is None):
            yield Problem(path, "give exactly one of 'period' or 'schedule' (Vault refuses both, and needs one)")
        if rotation.period is not None and duration_seconds(rotation.period) < MIN_ROTATION_PERIOD_SECONDS:
            minimum = MIN_ROTATION_PERIOD_SECONDS
            yield Problem(f"{path}.period", f"'{rotation.period}' is shorter than Vault's minimum of {minimum}s")
        if rotation.window is not None:
            if rotation.schedule is None:
                yield Problem(
                    f"{path}.window",
                    "applies only with 'schedule' (Vault: cannot use rotation_window without rotation_schedule)",
                )
            elif duration_seconds(rotation.window) < MIN_ROTATION_WINDOW_SECONDS:
                yield Problem(
                    f"{path}.window",
                    f"'{rotation.window}' is shorter than Vault's minimum of {MIN_ROTATION_WINDOW_SECONDS // 3600}h",
                )


def _tls(settings: Settings, base: str, mode: DatabaseTlsMode, ca_pem: str | None) -> Iterator[Problem]:
    """Outside dev, Vault must verify the database's certificate chain and host name against a given CA."""
    if settings.environment is Environment.DEV:
        return
    environment = settings.environment.value
    if mode is not DatabaseTlsMode.VERIFY_FULL:
        yield Problem(
            f"{base}.tls.mode",
            f"'{mode.value}' is not allowed in {environment}: it does not verify both the database's certificate "
            "and its host name; use 'verify-full' (disable, allow, prefer, require and verify-ca are for dev only)",
        )
    if ca_pem is None:
        yield Problem(
            f"{base}.tls.caCertPem",
            f"is required in {environment}: the PEM of the CA that signed the database's certificate, so Vault "
            "verifies it against exactly that CA",
        )
