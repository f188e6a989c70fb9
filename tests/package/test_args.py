"""coerce_args: a component's Args arrive as the dataclass (Python) or as nested dicts (the component host)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pytest

from secure_mesh.args import ArgsError, coerce_args
from secure_mesh.vocabulary import ChainName


@dataclass(frozen=True)
class Level:
    ttl: str
    chain: ChainName


@dataclass(frozen=True)
class Outer:
    name: str
    levels: Sequence[Level]
    by_chain: Mapping[str, Level] = field(default_factory=dict)
    optional_level: Level | None = None
    address: pulumi.Input[str] | None = None
    tags: Sequence[str] = ()


def test_an_instance_is_returned_unchanged() -> None:
    value = Outer(name="a", levels=())
    assert coerce_args(Outer, value) is value


def test_the_wire_form_becomes_the_same_dataclass_tree() -> None:
    wire = {
        "name": "a",
        "levels": [{"ttl": "1h", "chain": "server"}, {"ttl": "2h", "chain": ChainName.CONNECT}],
        "by_chain": {"x": {"ttl": "3h", "chain": "webhook"}},
        "optional_level": {"ttl": "4h", "chain": "gateway"},
        "address": "https://vault:8200",
        "tags": ["t1", "t2"],
    }
    assert coerce_args(Outer, wire) == Outer(
        name="a",
        levels=(Level("1h", ChainName.SERVER), Level("2h", ChainName.CONNECT)),
        by_chain={"x": Level("3h", ChainName.WEBHOOK)},
        optional_level=Level("4h", ChainName.GATEWAY),
        address="https://vault:8200",
        tags=("t1", "t2"),
    )


def test_defaults_fill_what_the_wire_form_leaves_out() -> None:
    assert coerce_args(Outer, {"name": "a", "levels": []}) == Outer(name="a", levels=())


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"name": "a", "levels": [], "bogus": 1}, "args: unknown field(s) bogus for Outer"),
        ({"levels": []}, "args: "),
        ({"name": "a", "levels": [{"ttl": "1h", "chain": "nope"}]}, "'nope' is not a valid ChainName"),
        ({"name": "a", "levels": [{"ttl": "1h"}]}, "args.levels[0]: "),
        ("not a mapping", "args: expected Outer or a mapping of its fields, got str"),
    ],
)
def test_a_malformed_wire_form_names_the_field(wire: object, message: str) -> None:
    with pytest.raises((ArgsError, ValueError), match=None) as caught:
        coerce_args(Outer, wire)
    assert message in str(caught.value)


@dataclass(frozen=True)
class Rule:
    name: str
    levels: Sequence[Level] | None = None


def test_an_optional_sequence_of_args_is_coerced_too() -> None:
    assert coerce_args(Rule, {"name": "r", "levels": [{"ttl": "1h", "chain": "server"}]}) == Rule(
        "r", (Level("1h", ChainName.SERVER),)
    )
    assert coerce_args(Rule, {"name": "r", "levels": None}) == Rule("r")
