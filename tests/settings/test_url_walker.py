"""The walker behind the plain-http rule finds a URL setting in every shape a field can take.

``consistency.url_settings`` is how the settings refuse plain http wherever a URL can enter (a field, a list
item, a map value, a nested model, an Optional of any of these), found by the shared ``HttpUrl`` type rather than
by a list of known fields. Today's models use only some of these shapes; a field added later in another shape must
be found as well, so the walker is checked here against a model with every shape, and against the shapes that are
*not* URLs (a plain ``str``, a list of plain strings, another validator).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from secure_mesh.settings.consistency import url_settings
from secure_mesh.settings.models import HttpUrl


class Region(StrEnum):
    """A map key that is an enum: its value names the key path."""

    EAST = "east"


def _not_a_url(value: str) -> str:
    return value


class Inner(BaseModel):
    """A nested model holding a URL (reached through a field, a list and a map)."""

    endpoint: HttpUrl
    label: str = "https://not-a-url-setting.example"


class Shapes(BaseModel):
    """Every shape a URL setting can take, next to look-alikes that are not URL settings."""

    plain: HttpUrl
    optional: HttpUrl | None = None
    optional_union: HttpUrl | None = Field(default=None, alias="optionalUnion")
    urls: list[HttpUrl] = []
    optional_urls: list[HttpUrl] | None = Field(default=None, alias="optionalUrls")
    by_name: dict[str, HttpUrl] = Field(default={}, alias="byName")
    by_region: dict[Region, HttpUrl] = Field(default={}, alias="byRegion")
    optional_map: dict[str, HttpUrl] | None = Field(default=None, alias="optionalMap")
    annotated_list: Annotated[list[HttpUrl], Field(max_length=5)] = Field(default=[], alias="annotatedList")
    list_of_optional: list[HttpUrl | None] = Field(default=[], alias="listOfOptional")
    inner: Inner | None = None
    inners: list[Inner] = []
    inner_by_name: dict[str, Inner] = Field(default={}, alias="innerByName")
    text: str = "https://plain-str.example"
    texts: list[str] = ["https://plain-list.example"]
    other_check: Annotated[str, AfterValidator(_not_a_url)] = Field(default="https://other.example", alias="otherCheck")
    unset: HttpUrl | None = None


def test_every_shape_of_url_setting_is_found_with_its_key_path_in_order() -> None:
    model = Shapes.model_validate(
        {
            "plain": "http://a",
            "optional": "http://b",
            "optionalUnion": "http://c",
            "urls": ["http://d0", "http://d1"],
            "optionalUrls": ["http://e0"],
            "byName": {"x": "http://f", "y": "http://g"},
            "byRegion": {"east": "http://h"},
            "optionalMap": {"z": "http://i"},
            "annotatedList": ["http://j"],
            "listOfOptional": [None, "http://k"],
            "inner": {"endpoint": "http://l"},
            "inners": [{"endpoint": "http://m0"}, {"endpoint": "http://m1"}],
            "innerByName": {"n": {"endpoint": "http://n"}},
        }
    )
    assert list(url_settings(model)) == [
        ("plain", "http://a"),
        ("optional", "http://b"),
        ("optionalUnion", "http://c"),
        ("urls[0]", "http://d0"),
        ("urls[1]", "http://d1"),
        ("optionalUrls[0]", "http://e0"),
        ("byName.x", "http://f"),
        ("byName.y", "http://g"),
        ("byRegion.east", "http://h"),
        ("optionalMap.z", "http://i"),
        ("annotatedList[0]", "http://j"),
        ("listOfOptional[1]", "http://k"),
        ("inner.endpoint", "http://l"),
        ("inners[0].endpoint", "http://m0"),
        ("inners[1].endpoint", "http://m1"),
        ("innerByName.n.endpoint", "http://n"),
    ]


def test_a_prefix_leads_every_key_path() -> None:
    model = Inner.model_validate({"endpoint": "http://l"})
    assert list(url_settings(model, "vault.extra")) == [("vault.extra.endpoint", "http://l")]


def test_unset_fields_and_look_alikes_add_nothing() -> None:
    # only `plain` is set; the unset Optionals, empty lists and maps add nothing, and the str fields holding
    # URL-looking defaults (text, texts, otherCheck, Inner.label) are not URL settings
    assert list(url_settings(Shapes.model_validate({"plain": "https://a"}))) == [("plain", "https://a")]
    assert list(url_settings(Inner.model_validate({"endpoint": "https://x", "label": "http://y"}))) == [
        ("endpoint", "https://x")
    ]
