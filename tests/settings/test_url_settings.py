"""``url_settings`` finds every setting of the shared ``HttpUrl`` type at any depth, and nothing else.

The plain-http rule (consistency ``_plain_http``) walks the settings with it, so a URL it misses in a list, a map,
an optional container or an ``Annotated`` one would escape the https requirement.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from secure_mesh.settings.consistency import url_settings
from secure_mesh.settings.models import HttpUrl


class Zone(StrEnum):
    EAST = "east"


class Inner(BaseModel):
    endpoint: HttpUrl | None = None
    label: str = "not a url"


class Sample(BaseModel):
    single: HttpUrl = "https://single"
    optional: HttpUrl | None = "http://optional"
    urls: list[HttpUrl] = ["https://a", "http://b"]
    names: list[str] = ["http://not-declared-a-url"]
    by_name: dict[str, HttpUrl] = {"x": "https://x"}
    by_zone: dict[Zone, HttpUrl] = {Zone.EAST: "https://east"}
    maybe_list: list[HttpUrl] | None = ["https://maybe"]
    annotated_list: Annotated[list[HttpUrl], Field(max_length=5)] = ["https://annotated"]
    annotated_map: Annotated[dict[str, HttpUrl] | None, Field()] = {"k": "https://annotated-map"}
    nested: Inner = Inner(endpoint="https://nested")
    nested_list: list[Inner] = [Inner(endpoint="https://nested-in-list")]
    deep: list[Annotated[list[HttpUrl], Field(max_length=3)]] = [["https://deep"]]
    untyped: list = ["http://untyped"]  # type: ignore[type-arg]  # no item type: nothing is declared a URL
    unset: HttpUrl | None = None


def test_every_declared_url_at_any_depth_with_its_key_path() -> None:
    assert list(url_settings(Sample())) == [
        ("single", "https://single"),
        ("optional", "http://optional"),
        ("urls[0]", "https://a"),
        ("urls[1]", "http://b"),
        ("by_name.x", "https://x"),
        ("by_zone.east", "https://east"),
        ("maybe_list[0]", "https://maybe"),
        ("annotated_list[0]", "https://annotated"),
        ("annotated_map.k", "https://annotated-map"),
        ("nested.endpoint", "https://nested"),
        ("nested_list[0].endpoint", "https://nested-in-list"),
        ("deep[0][0]", "https://deep"),
    ]


def test_a_prefix_is_prepended() -> None:
    assert list(url_settings(Inner(endpoint="https://e"), "vault.tls")) == [("vault.tls.endpoint", "https://e")]
