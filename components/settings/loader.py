"""Read the stack's ``secure-mesh:*`` configuration into :class:`Settings`, or fail with every problem at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .consistency import SECRET_CONFIG_KEYS, SECRET_OBJECT_KEYS, UNKNOWN_NAMES, check_consistency, secret_object_entry
from .errors import CONFIG_NAMESPACE, Problem, SettingsError
from .models import Settings
from .problems_from_pydantic import allowed_keys, problems_from_validation_error


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_settings(raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> Settings:
    """Validate a stack's configuration (keys without the namespace) into :class:`Settings`.

    ``raw`` holds the non-secret keys; ``secret_keys`` names the secret keys that are set, whose values
    the settings never see. Raises :class:`SettingsError` naming every bad key path.
    """
    known = set(allowed_keys(Settings))
    problems: list[Problem] = []
    for key in sorted(raw):
        if key not in known:
            allowed = ", ".join(sorted(known | set(SECRET_CONFIG_KEYS)))
            hint = " (it is a secret: set it with --secret)" if key in SECRET_CONFIG_KEYS else ""
            problems.append(Problem(key, f"unknown key{hint}; allowed keys: {allowed}"))
    for key in sorted(secret_keys - set(SECRET_CONFIG_KEYS)):
        if key.split(".", 1)[0] in SECRET_OBJECT_KEYS:
            continue  # a top-level name of a secret object (see split_stack_config)
        if key not in known:
            problems.append(Problem(key, f"unknown secret key; allowed secret keys: {', '.join(SECRET_CONFIG_KEYS)}"))
    document = {key: _decode(value) for key, value in raw.items() if key in known}
    try:
        settings = Settings.model_validate_json(json.dumps(document), strict=True)
    except ValidationError as error:
        raise SettingsError(problems + problems_from_validation_error(error, Settings)) from None
    problems.extend(check_consistency(settings, secret_keys))
    if problems:
        raise SettingsError(problems)
    return settings


def split_stack_config(
    config: Mapping[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()
) -> tuple[dict[str, Any], frozenset[str]]:
    """Split full config keys (``secure-mesh:vault``) into this project's plain values and secret key names.

    Keys of other namespaces (``vault:``, ``pulumi:``) are left alone; secret values are dropped here
    and read later, as Pulumi secrets, by the components that need them. A secret *object*
    (``SECRET_OBJECT_KEYS``) also contributes its top-level names as ``<key>.<name>`` (never its values),
    so the settings can tell which apps have credentials; an object given in plain text stays in the
    plain config, where the loader rejects it as a secret set without ``--secret``.
    """
    prefix = f"{CONFIG_NAMESPACE}:"
    plain: dict[str, Any] = {}
    secrets: set[str] = set()
    for full_key, value in config.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_OBJECT_KEYS:
            names = _secret_object_names(value, is_secret=full_key in secret_keys)
            if names is None:
                plain[key] = value
            else:
                secrets.add(key)
                secrets.update(secret_object_entry(key, name) for name in names)
        elif full_key in secret_keys or key in SECRET_CONFIG_KEYS:
            secrets.add(key)
        else:
            plain[key] = value
    return plain, frozenset(secrets)


def _secret_object_names(value: Any, is_secret: bool) -> list[str] | None:
    """The top-level names of a secret object's value; ``[*]`` when still encrypted; None when given in plain text."""
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        return [UNKNOWN_NAMES]  # a stack file's encrypted value: names are unknown until Pulumi decrypts it
    if not is_secret:
        return None
    decoded = _decode(value)
    return [str(name) for name in decoded] if isinstance(decoded, Mapping) else []
