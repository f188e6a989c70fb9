"""The whole PKI plan as data, compared against the exact expected document (issue 19).

Runs first in its folder (the file name sorts before the program-run tests): the plan is pure, so these
comparisons are fast, and every field of every mount, CA and role is in them -- a role flag, a TTL, a name
constraint or an AIA/CRL URL nobody thought to list cannot drift. The expected documents (tests/pki/expected)
are reviewed by hand; change them only with the change you intend. Variants: the dev stack (root in Vault),
the dev stack with a Vault Enterprise namespace, client agents, RSA keys and a second datacenter, and prod
(root in AWS KMS, so no Vault-held root and level 1 has no signer in Vault).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Any

import pytest

from secure_mesh.layout import Layout
from secure_mesh.pki.plan import build_plan, mount_hygiene
from secure_mesh.settings import ChainName
from secure_mesh.settings.federation import primary_settings
from tests.harness import PROJECT_DIR
from tests.identities.variants import settings_for

EXPECTED = Path(__file__).parent / "expected"

VARIANT: dict[str, Any] = {
    "vault": {"namespace": "admin/team-a", "mountPrefix": "platform/mesh_ca"},
    "consul": {"datacenter": "dc-east-2", "clientsEnabled": True},
    "pki": {"keyType": "rsa", "keyBits": 4096, "organization": "Example Corp"},
}
"""Settings that change derived PKI values: the namespace in every AIA/CRL URL, the prefix in every mount, the
datacenter in the server names, client agents in the mesh chain's constraints, the key type and organization."""

STACKS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "variant": ("dev", VARIANT),
    "prod": ("prod", {}),
    # A federation: the primary's server chain permits and issues its secondary's names; the secondary holds only
    # its gateway and webhook chains (its server role and connect root are the primary's).
    "fed-primary": ("fed-primary", {}),
    "fed-secondary": ("fed-secondary", {}),
    # The connect root's generation 2: its deepest level in a mount of its own, generation 1 kept as superseded.
    "connect-g2": (
        "dev",
        {"rotation": {"connectRootGeneration": 2}, "consul": {"address": "https://localhost:8501"}},
    ),
}


def plain(value: Any) -> Any:
    """A plan as JSON data: dataclasses as dicts (with their properties' sources only), enums as values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def plan_document(stack: str, override: dict[str, Any]) -> dict[str, Any]:
    """The whole plan of a stack, plus what its methods and properties answer."""
    settings = settings_for(stack, override)
    plan = build_plan(settings, Layout(settings, primary_settings(settings, PROJECT_DIR)))
    document = plain(plan)
    document["mounts"] = [m.path for m in plan.mounts]
    document["role_resource_args"] = [role.resource_args() for role in plan.roles]
    document["levels"] = {
        f"{chain.value}/{level.level}": [plan.level(chain, level.level).path, level.permitted_dns_domains]
        for chain, levels in plan.chains.items()
        for level in levels
    }
    return json.loads(json.dumps(document))


@pytest.mark.parametrize("name", sorted(STACKS))
def test_the_plan_is_exactly_the_expected_document(name: str) -> None:
    expected = json.loads((EXPECTED / f"plan-{name}.json").read_text())
    assert plan_document(*STACKS[name]) == expected


def test_role_resource_args_hold_lists_not_tuples() -> None:
    """The provider's list inputs get lists (the JSON comparison above cannot tell a tuple from a list)."""
    settings = settings_for("dev", {})
    for role in build_plan(settings, Layout(settings)).roles:
        args = role.resource_args()
        assert "chain" not in args
        assert [k for k, v in args.items() if isinstance(v, list)] == [
            "allowed_domains",
            "key_usages",
            "ext_key_usages",
            "organizations",
        ]
        assert not any(isinstance(v, tuple) for v in args.values())


@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("generation", [2, 3])
def test_the_superseded_connect_root_is_the_deepest_level_in_the_previous_generations_mount(
    levels: int, generation: int
) -> None:
    ttls = ["43800h", "26280h", "17520h"][:levels]
    settings = settings_for(
        "dev",
        {
            "rotation": {"connectRootGeneration": generation},
            "consul": {"address": "https://localhost:8501"},
            "pki": {"chains": {"connect": {"levels": levels, "intermediateTtls": ttls}}},
        },
    )
    layout = Layout(settings)
    plan = build_plan(settings, layout)
    deepest = plan.chains[ChainName.CONNECT][-1]
    previous = layout.connect_root_mount(generation - 1)
    assert deepest.level == levels and deepest.path == layout.connect_root_mount(generation).path
    assert deepest.mount.description == f"connect chain, intermediate CA level {levels}, generation {generation}"
    superseded = plan.superseded[ChainName.CONNECT]
    suffix = "" if generation == 2 else f", generation {generation - 1}"
    assert superseded == dataclasses.replace(
        deepest,
        mount=dataclasses.replace(
            deepest.mount,
            mount=previous,
            description=f"connect chain, intermediate CA level {levels}{suffix}",
            hygiene=mount_hygiene(settings, layout, previous),
        ),
    )
    assert [level.path for level in plan.chains[ChainName.CONNECT][:-1]] == [
        f"consul/connect/pki_int{n}" for n in range(1, levels)
    ]
