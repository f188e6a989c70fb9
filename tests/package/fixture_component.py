"""A small component written the way REFACTOR's contract asks, to test the component package machinery alone.

It uses every field kind the contract allows (plain values, a vocabulary enum, a nested Args dataclass, sequences,
maps, optionals, defaults, ``pulumi.Input``) and ``from __future__ import annotations``, like the real modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_vault as vault

from secure_mesh.args import coerce_args
from secure_mesh.vocabulary import ChainName


@dataclass(frozen=True)
class FixtureTuneArgs:
    """How a mount is tuned."""

    default_ttl_seconds: int
    """Default lease TTL in seconds."""
    max_ttl_seconds: int = 86400
    """Maximum lease TTL in seconds."""


@dataclass(frozen=True)
class FixtureMountArgs:
    """Inputs of :class:`FixtureMount`."""

    path: str
    """Where the mount goes."""
    chain: ChainName
    """The chain the mount serves."""
    tune: FixtureTuneArgs
    """How the mount is tuned."""
    description: pulumi.Input[str]
    """The mount's description (another resource may compute it)."""
    tags: Sequence[str] = ()
    """Free-form tags."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Free-form labels."""
    seal_wrap: bool | None = None
    """Seal-wrap the mount (Vault's default when unset)."""


class FixtureMount(pulumi.ComponentResource):
    """One Vault mount: the fixture component."""

    mount_path: pulumi.Output[str]
    """The mount's path."""
    accessor: pulumi.Output[str]
    """The mount's accessor."""

    def __init__(self, name: str, args: FixtureMountArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args = coerce_args(FixtureMountArgs, args)
        super().__init__("secure-mesh:index:FixtureMount", name, None, opts)
        mount = vault.Mount(
            f"{name}-mount",
            path=args.path,
            type="pki",
            description=args.description,
            default_lease_ttl_seconds=args.tune.default_ttl_seconds,
            max_lease_ttl_seconds=args.tune.max_ttl_seconds,
            seal_wrap=args.seal_wrap,
            options={"chain": args.chain.value, **args.labels},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.mount_path = mount.path
        self.accessor = mount.accessor
        self.register_outputs({"mountPath": self.mount_path, "accessor": self.accessor})
