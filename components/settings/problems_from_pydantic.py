"""Turn pydantic's validation errors into :class:`Problem` lines a stack author can act on."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from .errors import Problem, join_path
from .models import ConcealedInputError


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional wrappers down to the type that holds nested keys."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The settings model found at a location, following fields by alias, list items and dict values."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(part, int) and origin is list:
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if part in (name, f.alias)),
                None,
            )
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The camelCase keys a settings object accepts."""
    return [f.alias or name for name, f in model.model_fields.items()]


def nearest_key(key: str, allowed: Sequence[str]) -> str | None:
    """The allowed key the author most likely meant: its camelCase spelling, a case slip, or the closest typo."""
    if not isinstance(key, str) or not allowed:
        return None
    camel = to_camel(key)
    if camel in allowed:
        return camel
    by_lower = {candidate.lower(): candidate for candidate in allowed}
    folded = key.replace("_", "").replace("-", "").lower()
    if folded in by_lower:
        return by_lower[folded]
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def unknown_key_message(key: str, allowed: Sequence[str], label: str = "allowed keys here") -> str:
    """``unknown key 'leaf_ttl'; did you mean 'leafTtl'? allowed keys here: …`` (camelCase only)."""
    suggestion = nearest_key(key, allowed)
    text = f"unknown key '{key}'"
    if suggestion is None:
        return f"{text}; {label}: {', '.join(allowed)}"
    camel = " (keys are camelCase)" if "_" in key and to_camel(key) == suggestion else ""
    return f"{text}; did you mean '{suggestion}'?{camel} {label}: {', '.join(allowed)}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(error: ErrorDetails, root: type[BaseModel]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        if parent is None:
            return f"unknown key '{loc[-1]}'; see the settings reference"
        return unknown_key_message(str(loc[-1]), allowed_keys(parent))
    if kind == "missing":
        return "is required but missing"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if isinstance(error.get("ctx", {}).get("error"), ConcealedInputError):
        return message  # the input may hold a secret; the message names the problem without it
    got = f"; got {_shown(error.get('input'))}"
    if kind in ("enum", "literal_error") and isinstance(error.get("input"), str):
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        suggestion = nearest_key(str(error["input"]), choices)
        if suggestion is not None:
            got += f"; did you mean '{suggestion}'?"
    return f"{message}{got}"


def problems_from_validation_error(error: ValidationError, root: type[BaseModel], prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per pydantic error, with the camelCase key path it is about."""
    problems = []
    for detail in error.errors():
        loc = tuple(part for part in detail["loc"] if part != "[key]")
        path = join_path(((prefix,) if prefix else ()) + loc)
        problems.append(Problem(path=path, message=_describe(detail, root)))
    return problems
