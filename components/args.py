"""What every component's ``...Args`` shares: one way to accept them as a dataclass or as Pulumi's wire form.

Each component takes a frozen dataclass of exactly what it needs (issue 15). From Python the caller builds that
dataclass; through the component package (``provider/``, for TypeScript, Go and YAML programs) Pulumi's
component provider host hands the constructor the same inputs as nested dictionaries keyed by the Python field
names, with enums already converted (pulumi/provider/experimental/component.py, ``map_input_properties``).
:func:`coerce_args` turns either form into the dataclass, so a component's code reads one shape.

Field types are kept to what Pulumi's analyzer (pulumi/provider/experimental/analyzer.py) can put in a schema:
``str``, ``int``, ``float``, ``bool``, ``StrEnum`` types, ``Sequence[T]``, ``Mapping[str, T]``, ``T | None``,
other ``...Args`` dataclasses, and ``pulumi.Input[T]`` where another resource computes the value.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import pulumi

ArgsT = TypeVar("ArgsT")


class ArgsError(TypeError):
    """An ``...Args`` value of the wrong shape, naming the field path."""


def coerce_args(cls: type[ArgsT], value: object, path: str = "args") -> ArgsT:
    """``value`` as an instance of the dataclass ``cls``: returned as is, or built from its dictionary form."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ArgsError(f"{path}: expected {cls.__name__} or a mapping of its fields, got {type(value).__name__}")
    if not dataclasses.is_dataclass(cls):
        raise ArgsError(f"{path}: {cls.__name__} is not a dataclass")
    hints = _field_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(value) - names)
    if unknown:
        raise ArgsError(f"{path}: unknown field(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs = {name: _coerce(hints[name], item, f"{path}.{name}") for name, item in value.items()}
    try:
        return cls(**kwargs)
    except TypeError as error:  # a required field is missing
        raise ArgsError(f"{path}: {error}") from None


def _coerce(hint: Any, value: Any, path: str) -> Any:
    """One field's value in the shape its annotation asks for (nested dataclasses, enums, sequences, maps)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(members) == 1:  # ``T | None``: None was handled above, so the value is a T
            return _coerce(members[0], value, path)
        concrete = [arg for arg in members if _is_args_class(arg) or _is_enum(arg)]
        # pulumi.Input[T] is a Union of T, Awaitable[T] and Output[T]: nothing to convert unless T is structured.
        return _coerce(concrete[0], value, path) if len(concrete) == 1 else value
    if _is_args_class(hint):
        return coerce_args(hint, value, path)
    if _is_enum(hint):
        return value if isinstance(value, hint) else hint(value)
    if origin in (list, Sequence, tuple) and isinstance(value, Sequence) and not isinstance(value, str):
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        return tuple(_coerce(item_hint, item, f"{path}[{index}]") for index, item in enumerate(value))
    if origin in (dict, Mapping) and isinstance(value, Mapping):
        _, item_hint = typing.get_args(hint) or (str, Any)
        return {key: _coerce(item_hint, item, f"{path}.{key}") for key, item in value.items()}
    return value


def _field_hints(cls: type[Any]) -> dict[str, Any]:
    """The resolved annotations of a dataclass's fields (``pulumi.Input`` refers to ``Output`` by a forward name)."""
    module = sys.modules.get(cls.__module__)
    namespace = {**(vars(module) if module else {}), "Output": pulumi.Output, "T": Any}
    return typing.get_type_hints(cls, globalns=namespace)


def _is_args_class(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _is_enum(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum)
