"""A dynamic resource that records each database connection's deployed ``rootPasswordVersion``; it refuses a lower one.

The program cannot remember the previous value of a setting by itself; the Pulumi state can. This resource's
only input is the version (plus the connection it guards and the config key, for the message). Pulumi hands
its provider's ``check`` both the deployed inputs (``olds``) and the new ones (``news``) during preview and
update, before anything is changed, so a lower version fails there with the config key named. The
connection depends on it, so a refused version never reaches Vault. It talks to nothing: create, update and
delete only record the version in the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

TYPE_NAME = "RootPasswordVersion"
GUARDED_INPUTS = ("version", "connection")


def refusal(setting: str, deployed: int, requested: int) -> str | None:
    """The refusal message when ``requested`` is lower than ``deployed``; None when the change is allowed."""
    if requested >= deployed:
        return None
    return (
        f"secure-mesh:{setting}: {requested} is lower than the deployed version {deployed}; versions only go up. "
        f"Set it to {deployed} to keep the current root password, or to {deployed + 1} or higher to hand Vault "
        "the password now in databaseRootCredentials and rotate it again"
    )


def _number(value: Any) -> int | None:
    """The engine sends numbers as floats; anything else (unknown during preview, missing at creation) is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


class RootPasswordVersionProvider(pulumi.dynamic.ResourceProvider):
    """Check refuses a lower version; every other operation only records the inputs."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        """Compare the new version with the deployed one (``olds`` is empty at creation)."""
        deployed, requested = _number(olds.get("version")), _number(news.get("version"))
        failures = []
        if deployed is not None and requested is not None:
            message = refusal(str(news.get("setting")), deployed, requested)
            if message is not None:
                failures.append(pulumi.dynamic.CheckFailure("version", message))
        return pulumi.dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        """Record the version; the id is the guarded connection's Vault path."""
        return pulumi.dynamic.CreateResult(id_=str(props["connection"]), outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """A new version updates the record; another connection replaces it."""
        changed = [key for key in (*GUARDED_INPUTS, "setting") if olds.get(key) != news.get(key)]
        replaces = [key for key in changed if key == "connection"]
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        """Record the new version."""
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing outside the state to undo."""


@dataclass(frozen=True)
class RootPasswordVersionArgs:
    """The version to record, the connection it belongs to, and the config key that sets it."""

    version: int
    connection: str
    """The connection's Vault path (``<mount>/config/<name>``)."""
    setting: str
    """The camelCase key path of the version (``apps[2].database.rootPasswordVersion``)."""


class RootPasswordVersion(pulumi.dynamic.Resource, module="onboarding", name=TYPE_NAME):
    """The deployed root password version of one database connection."""

    version: pulumi.Output[int]

    def __init__(self, name: str, args: RootPasswordVersionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {"version": args.version, "connection": args.connection, "setting": args.setting}
        super().__init__(RootPasswordVersionProvider(), name, props, opts)
