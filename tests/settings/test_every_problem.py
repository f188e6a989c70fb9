"""Every settings problem branch is reached by a named case whose whole error text is pinned (issue 19).

A case is a checked-in stack's config (optionally a *variant* of it: a Vault namespace, a second datacenter,
prod) with one change. The test asserts that the base is valid (so a rule that always fires is caught) and
that the changed config fails with exactly the checked-in ``snapshots/problems.json`` text: every key path
and every message, in order, as ``SettingsError`` prints them to the user. A fragment check would let the
rest of a message (the value, the allowed values) drift unnoticed.

Regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/settings/test_every_problem.py`` and review the diff: every
changed line is a message an operator reads. Settings validation is pure, so no case runs the program.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.settings import SettingsError, load_settings
from tests.harness import load_stack_config

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "problems.json"
"""Every case's SettingsError text, line by line, by case name."""

DELETE = object()
"""A change value that removes the key."""

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def changed(config: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each ``key.path[i]`` set to its value (a list index one past the end appends).

    Intermediate objects that do not exist yet are created; ``DELETE`` removes the key.
    """
    result: dict[str, Any] = copy.deepcopy(dict(config))
    for path, value in changes.items():
        *parents, last = _steps(path)
        node: Any = result
        for step, following in zip(parents, [*parents, last][1:], strict=True):
            if isinstance(step, str) and step not in node:
                node[step] = [] if isinstance(following, int) else {}
            node = node[step]
        if value is DELETE:
            del node[last]
        elif isinstance(last, int) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    return result


@dataclass(frozen=True)
class Case:
    """A base (stack, variant changes, secret keys) that must be valid, and the change that must be refused."""

    stack: str
    change: Mapping[str, Any]
    variant: Mapping[str, Any] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    """Secret keys set on the changed config (and the base, unless ``base_secrets`` is given)."""
    base_secrets: frozenset[str] | None = None

    def base(self) -> tuple[dict[str, Any], frozenset[str]]:
        secrets = self.secrets if self.base_secrets is None else self.base_secrets
        return changed(_stack(self.stack), self.variant), secrets

    def config(self) -> tuple[dict[str, Any], frozenset[str]]:
        return changed(changed(_stack(self.stack), self.variant), self.change), self.secrets


@cache
def _stack(name: str) -> dict[str, Any]:
    return load_stack_config(name)


def _secret(*keys: str) -> frozenset[str]:
    return frozenset(keys)


PEER = {"name": "north", "role": "dialer", "stack": "acme/secure-mesh/peer-north"}
PROD_FEDERATION = {"consul.meshGateway": True, "topology.mode": "federation-primary"}
PROD_PEERING = {
    "consul.meshGateway": True,
    "consul.address": "https://localhost:8501",
    "vault.mountPrefix": "consul-prod",
    "topology": {"mode": "peering", "peers": [{"name": "west", "role": "acceptor", "stack": "acme/secure-mesh/w"}]},
}

CASES: dict[str, Case] = {
    # ---- topology_rules.py: standalone
    "standalone with peers": Case("dev", {"topology.peers": [PEER]}),
    # ---- topology_rules.py: federation primary
    "federation primary with peers": Case("fed-primary", {"topology.peers": [PEER]}),
    "federation primary without mesh gateways": Case("fed-primary", {"consul.meshGateway": False}),
    "federation primary with enterprise": Case(
        "fed-primary",
        {"consul.enterprise": True, "images.consul": "hashicorp/consul-enterprise:1.22-ent"},
        base_secrets=_secret(),
        secrets=_secret("consulLicense"),
    ),
    "federation primary naming another primary": Case(
        "fed-primary", {"consul.primaryDatacenter": "dc0"}, variant={"consul.primaryDatacenter": "dc1"}
    ),
    "prod federation primary with one gateway": Case(
        "prod", {"topology.meshGatewayReplicas": 1}, variant=PROD_FEDERATION
    ),
    "federation primary with one gateway outside prod": Case(
        "fed-primary", {"topology.peers": [PEER]}, variant={"topology.meshGatewayReplicas": 1}
    ),
    # ---- topology_rules.py: peering
    "peering secondary datacenter": Case(
        "peer-east",
        {"consul.primaryDatacenter": "dc0"},
        variant={"consul.primaryDatacenter": "east"},
        secrets=_secret("consulReplicationToken"),
        base_secrets=_secret(),
    ),
    "peering without peers": Case("peer-east", {"topology.peers": []}),
    "peering without mesh gateways": Case("peer-east", {"consul.meshGateway": False}),
    "peering without consul address": Case(
        "peer-east", {"consul.address": DELETE, "consul.intentionsRendering": "crds"}
    ),
    "peering with the default mount prefix": Case("peer-east", {"vault.mountPrefix": "consul"}),
    "prod peering with one gateway": Case("prod", {"topology.meshGatewayReplicas": 1}, variant=PROD_PEERING),
    "peering with one gateway outside prod": Case(
        "peer-east", {"consul.meshGateway": False}, variant={"topology.meshGatewayReplicas": 1}
    ),
    "peer names repeated after a valid peer": Case(
        "peer-east",
        {"topology.peers[2]": {**PEER, "name": "west", "stack": "acme/secure-mesh/peer-south"}},
        variant={"topology.peers[1]": PEER},
    ),
    "peer names repeated twice each": Case(
        "peer-east",
        {
            "topology.peers[2]": {**PEER, "name": "west", "stack": "acme/secure-mesh/s1"},
            "topology.peers[3]": {**PEER, "stack": "acme/secure-mesh/s2"},
            "topology.peers[4]": {**PEER, "stack": "acme/secure-mesh/s3"},
        },
        variant={"topology.peers[1]": PEER},
    ),
    "peer stacks repeated": Case(
        "peer-east",
        {"topology.peers[2]": {**PEER, "name": "south", "stack": "acme/secure-mesh/peer-north"}},
        variant={"topology.peers[1]": PEER},
    ),
    "peer stacks with one short name": Case(
        "peer-east",
        {"topology.peers[2]": {**PEER, "name": "south", "stack": "other/secure-mesh/peer-north"}},
        variant={"topology.peers[1]": PEER},
    ),
    "peer stacks repeated and one short name": Case(
        "peer-east",
        {
            "topology.peers[2]": {**PEER, "name": "south", "stack": "acme/secure-mesh/peer-north"},
            "topology.peers[3]": {**PEER, "name": "south2", "stack": "other/secure-mesh/peer-north"},
            "topology.peers[4]": {**PEER, "name": "south3", "stack": "x/secure-mesh/peer-west"},
        },
        variant={"topology.peers[1]": PEER},
    ),
    "peer named like this datacenter, last": Case(
        "peer-east", {"topology.peers[1].name": "east"}, variant={"topology.peers[1]": PEER}
    ),
    "export listed twice": Case(
        "peer-east", {"topology.peers[0].exports[1]": {"service": "inventory", "consumers": ["web"]}}
    ),
    "export of an undeclared service after a valid one": Case(
        "peer-east", {"topology.peers[0].exports[1]": {"service": "billing", "consumers": ["checkout"]}}
    ),
    "export consumers repeated": Case(
        "peer-east",
        {"topology.peers[0].exports[0].consumers": ["checkout", "cart", "checkout", "cart", "a"]},
    ),
    "import listed twice": Case(
        "peer-west",
        {"topology.peers[0].imports[1]": {"service": "inventory", "port": 9002, "apps": ["checkout"]}},
    ),
    "import for an undeclared app after a valid one": Case(
        "peer-west", {"topology.peers[0].imports[0].apps[1]": "billing"}
    ),
    "import for an undeclared app without apps": Case(
        "peer-west", {"topology.peers[0].imports[0].apps": ["billing"], "apps": []}, variant={}
    ),
    "import port reused by one app": Case(
        "peer-west",
        {"topology.peers[0].imports[1]": {"service": "pricing", "port": 9001, "apps": ["checkout"]}},
        variant={"topology.peers[1]": {**PEER, "imports": [{"service": "stock", "port": 9001, "apps": ["other"]}]},
                 "apps[1]": {"name": "other", "namespace": "other", "serviceAccount": "other", "service": "checkout"}},
    ),
}


def _problems(config: Mapping[str, Any], secrets: frozenset[str]) -> list[str]:
    try:
        load_settings(config, secrets)
    except SettingsError as error:
        return str(error).splitlines()
    return []


def pinned(name: str, lines: list[str]) -> list[str]:
    """The checked-in text of case ``name`` (this run's, written first, when UPDATE_SNAPSHOTS is set)."""
    update = bool(os.environ.get("UPDATE_SNAPSHOTS"))
    with SNAPSHOT.open("a+" if update else "r") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if update else fcntl.LOCK_SH)
        handle.seek(0)
        text = handle.read()
        entries: dict[str, list[str]] = json.loads(text) if text.strip() else {}
        if update:
            entries[name] = lines
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(dict(sorted(entries.items())), indent=1, ensure_ascii=False) + "\n")
    assert name in entries, f"no snapshot of {name!r}: UPDATE_SNAPSHOTS=1 pytest tests/settings/test_every_problem.py"
    return entries[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_is_refused_with_exactly_its_problems(name: str) -> None:
    case = CASES[name]
    assert _problems(*case.base()) == [], f"{name}: the base (stack {case.stack!r} + variant) must be valid"
    lines = _problems(*case.config())
    assert lines, f"{name}: the change was accepted"
    assert lines == pinned(name, lines), (
        f"{name}: the problems changed; if meant, regenerate tests/settings/snapshots/problems.json "
        "(UPDATE_SNAPSHOTS=1 pytest tests/settings/test_every_problem.py) and review every changed line"
    )


def test_snapshot_has_no_stale_cases() -> None:
    assert sorted(json.loads(SNAPSHOT.read_text())) == sorted(CASES)
