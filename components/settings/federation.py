"""A WAN-federation secondary's primary: its settings read from its stack file, and the checks the pair must pass.

A secondary (``topology.mode: federation-secondary``) names its primary's stack in ``topology.primaryStack``
(``<org>/secure-mesh/<stack>``). Both stacks belong to this project, so the primary's stack file
``Pulumi.<stack>.yaml`` sits next to the secondary's; the secondary reads the primary's settings from it and
computes every name the federation shares (the gossip and replication-token KV paths, the server-TLS chain, the
connect root) with the same layout the primary used. Secret values in that file stay encrypted and unread: names
never depend on them. At deploy time the secondary compares those names with the primary's stack outputs and
stops before the release on any difference (``components/topology/federation.py``), so a primary whose deployed
state differs from its file is never joined by guesswork.

The pair checks here run before any resource is registered, each naming a key of the *secondary*
(``topology.primaryStack`` for what only the primary can fix).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SettingsError
from .loader import load_settings, split_stack_config
from .models import Settings
from .topology import TopologyMode, short_stack_name

PRIMARY_KEY = "topology.primaryStack"


def stack_file(project_dir: Path, stack: str) -> Path:
    """The stack file of ``stack`` (a short name) in the project: ``Pulumi.<stack>.yaml``."""
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """A stack file's ``config:`` mapping, keys with their namespace, values as written (objects stay objects).

    Raises :class:`ValueError` with a one-line message for a file that is not a stack file.
    """
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path.name} is not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ValueError(f"{path.name} must be a mapping with a `config:` mapping, as Pulumi writes stack files")
    return dict(document.get("config") or {})


def primary_settings(settings: Settings, project_dir: Path) -> Settings | None:
    """The primary's settings for a federation secondary (None in every other mode), or :class:`SettingsError`.

    Every problem is reported on ``topology.primaryStack``: a missing or invalid primary stack file, a primary that
    is not in mode ``federation-primary``, and every pair check of :func:`pair_problems`.
    """
    full_name = settings.topology.primary_stack
    if settings.topology.mode is not TopologyMode.FEDERATION_SECONDARY or full_name is None:
        return None
    path = stack_file(project_dir, short_stack_name(full_name))
    if not path.is_file():
        raise SettingsError(
            [
                Problem(
                    PRIMARY_KEY,
                    f"'{full_name}': its stack file {path.name} is not in this project ({project_dir}); a secondary "
                    "computes the primary's names from it, so keep both stacks' files in the project",
                )
            ]
        )
    details: list[str] = []
    try:
        plain, secret_keys = split_stack_config(read_stack_file(path))
        primary = load_settings(plain, secret_keys)
    except SettingsError as error:
        details = [f"{problem.key}: {problem.message}" for problem in error.problems]
    except ValueError as error:  # not a stack file (read_stack_file)
        details = [str(error)]
    if details:
        raise SettingsError(
            [Problem(PRIMARY_KEY, f"'{full_name}': {path.name} is invalid: {detail}") for detail in details]
        )
    problems = list(pair_problems(settings, primary, full_name))
    if problems:
        raise SettingsError(problems)
    return primary


def pair_problems(secondary: Settings, primary: Settings, full_name: str) -> Iterator[Problem]:
    """What a secondary and its primary must agree on (one Vault, one server-TLS chain, distinct datacenters)."""
    mode = primary.topology.mode
    if mode is not TopologyMode.FEDERATION_PRIMARY:
        yield Problem(
            PRIMARY_KEY,
            f"'{full_name}' is in topology.mode '{mode.value}', not 'federation-primary'; name the federation's "
            "primary",
        )
        return
    datacenter = secondary.consul.datacenter
    if datacenter == primary.consul.datacenter:
        yield Problem("consul.datacenter", f"'{datacenter}' is the primary's datacenter too; datacenters are unique")
    elif datacenter not in primary.topology.secondaries:
        yield Problem(
            PRIMARY_KEY,
            f"'{full_name}' does not list '{datacenter}' in topology.secondaries: the primary's server-TLS chain "
            f"permits and issues only its secondaries' names; add '{datacenter}' there and run pulumi up on the "
            "primary first",
        )
    same = (
        ("vault.address", secondary.vault.address, primary.vault.address, "the federation shares one Vault"),
        ("vault.namespace", secondary.vault.namespace, primary.vault.namespace, "the federation shares one Vault"),
        (
            "consul.domain",
            secondary.consul.domain,
            primary.consul.domain,
            "servers verify server.<datacenter>.<domain> across datacenters",
        ),
        (
            "consul.releaseName",
            secondary.consul.fullname,
            primary.consul.fullname,
            "the shared server-TLS chain permits the primary's server names (<fullname>-server…)",
        ),
        (
            "kubernetes.consulNamespace",
            secondary.kubernetes.consul_namespace,
            primary.kubernetes.consul_namespace,
            "the shared server-TLS chain permits the primary's server names (<fullname>-server.<namespace>…)",
        ),
    )
    for key, own, theirs, why in same:
        if own != theirs:
            yield Problem(
                key,
                f"{_shown(own)} differs from the primary's {_shown(theirs)} ({full_name}): {why}; "
                + (f"use {theirs!r}" if theirs is not None else "remove it"),
            )
    own_prefix, their_prefix = secondary.vault.mount_prefix, primary.vault.mount_prefix
    if _overlaps(own_prefix, their_prefix):
        yield Problem(
            "vault.mountPrefix",
            f"'{own_prefix}' overlaps the primary's '{their_prefix}' ({full_name}): each datacenter keeps its mounts "
            "under a prefix of its own in the shared Vault",
        )
    declared = {service.name for service in primary.mesh.services}
    for index, service in enumerate(secondary.mesh.services):
        if service.name in declared:
            yield Problem(
                f"mesh.services[{index}].name",
                f"'{service.name}' is declared by the primary ({full_name}) too: Consul forwards a secondary's "
                "config-entry writes to the primary and replicates them everywhere, so each service's defaults and "
                "intentions have exactly one owner; declare it in one stack",
            )
    own_auth, their_auth = secondary.kubernetes_auth_mount, primary.kubernetes_auth_mount
    if own_auth == their_auth:
        yield Problem(
            "vault.kubernetesAuthMount",
            f"'{own_auth}' is the primary's Kubernetes auth mount too ({full_name}): each cluster needs its own "
            "(its own API server reviews its tokens)",
        )


def _shown(value: str | None) -> str:
    """A setting's value in a message: quoted, or ``unset``."""
    return repr(value) if value is not None else "unset"


def _overlaps(a: str, b: str) -> bool:
    """True when one mount prefix equals the other or lies under it (``consul`` and ``consul/dc2``)."""
    return a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/")

