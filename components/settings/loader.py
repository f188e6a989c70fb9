"""Read the stack's ``secure-mesh:*`` configuration into :class:`Settings`, or fail with every problem at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .consistency import (
    DATABASE_ROOT_CREDENTIALS,
    RETIRED_SECRET_KEYS,
    SECRET_CONFIG_KEYS,
    SECRET_OBJECT_KEYS,
    UNKNOWN_NAMES,
    check_consistency,
    secret_object_entry,
)
from .errors import CONFIG_NAMESPACE, Problem, SettingsError
from .models import Settings
from .problems_from_pydantic import allowed_keys, problems_from_validation_error, unknown_key_message
from .vault_ca_file import with_offline_vault_ca


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def secret_set_command(key: str, value: Any = None) -> str:
    """The exact ``pulumi config set --secret`` command(s) that store a secret key the way the program reads it.

    A scalar secret is one ``--secret`` value; an object (``databaseRootCredentials``) is set leaf by leaf with
    ``--path --secret``, one command per leaf, so no part of it is ever written in plain text.
    """
    if key == DATABASE_ROOT_CREDENTIALS:
        decoded = _decode(value)
        names = sorted(str(n) for n in decoded) if isinstance(decoded, Mapping) and decoded else ["<app>"]
        commands = [
            f"pulumi config set --path --secret '{CONFIG_NAMESPACE}:{key}.{name}.{leaf}' <{leaf}>"
            for name in names
            for leaf in ("username", "password")
        ]
        return "; ".join(commands)
    if key == "consulLicense":
        return f"pulumi config set --secret {CONFIG_NAMESPACE}:{key} < consul.hclic"
    return f"pulumi config set --secret {CONFIG_NAMESPACE}:{key} <value>"


def _plain_text_secret(key: str, value: Any) -> Problem:
    return Problem(
        key,
        "is given in plain text, but it is a secret: set it with --secret so the stack file holds it encrypted; "
        f"remove the plain value (pulumi config rm {CONFIG_NAMESPACE}:{key}), then: {secret_set_command(key, value)}",
    )


def load_settings(raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> Settings:
    """Validate a stack's configuration (keys without the namespace) into :class:`Settings`.

    ``raw`` holds the non-secret keys; ``secret_keys`` names the secret keys that are set, whose values
    the settings never see. A secret key found in ``raw`` was given in plain text and is refused. Keys are
    accepted only in their camelCase spelling. Raises :class:`SettingsError` naming every bad key path.
    """
    known = allowed_keys(Settings)
    problems: list[Problem] = []
    for key in sorted(raw):
        if key in RETIRED_SECRET_KEYS:
            problems.append(Problem(key, RETIRED_SECRET_KEYS[key]))  # no `set --secret` advice for a retired key
        elif key in SECRET_CONFIG_KEYS:
            problems.append(_plain_text_secret(key, raw[key]))
        elif key not in known:
            allowed = sorted(set(known) | set(SECRET_CONFIG_KEYS))
            problems.append(Problem(key, unknown_key_message(key, allowed, "allowed keys")))
    for key in sorted(secret_keys - set(SECRET_CONFIG_KEYS)):
        if key.split(".", 1)[0] in SECRET_OBJECT_KEYS:
            continue  # a top-level name of a secret object (see split_stack_config)
        if key in known:
            problems.append(
                Problem(
                    key,
                    "is a plain setting but is stored as a secret; the settings must read it in preview and "
                    f"offline review: set it without --secret (pulumi config set {CONFIG_NAMESPACE}:{key} …)",
                )
            )
        else:
            problems.append(Problem(key, unknown_key_message(key, sorted(SECRET_CONFIG_KEYS), "allowed secret keys")))
    document = {key: _decode(value) for key, value in raw.items() if key in known}
    try:
        # by_name=False: a stack must spell every key in camelCase; `leaf_ttl` is an unknown key here.
        settings = Settings.model_validate_json(json.dumps(document), strict=True, by_alias=True, by_name=False)
    except ValidationError as error:
        raise SettingsError(problems + problems_from_validation_error(error, Settings)) from None
    problems.extend(check_consistency(settings, secret_keys))
    if problems:
        raise SettingsError(problems)
    return with_offline_vault_ca(settings)


def is_encrypted(value: Any) -> bool:
    """True for a stack file's encrypted value (``{secure: …}``) or an object holding one at any depth.

    ``pulumi config set --path --secret`` encrypts one leaf of an object; Pulumi then treats the whole
    top-level key as secret (it lists it among the secret keys it hands the program). Objects may arrive as
    JSON text (the offline review hands them to the program that way).
    """
    value = _decode(value)
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return True
        return any(is_encrypted(item) for item in value.values())
    if isinstance(value, list):
        return any(is_encrypted(item) for item in value)
    return False


def split_stack_config(
    config: Mapping[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()
) -> tuple[dict[str, Any], frozenset[str]]:
    """Split full config keys (``secure-mesh:vault``) into this project's plain values and secret key names.

    A key is secret when Pulumi says so (``secret_keys``: ``PULUMI_CONFIG_SECRET_KEYS`` under the engine, set by
    the Python language host, pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go; the runtime's secret
    keys under mocks) or when its stack-file value is encrypted. Keys of other
    namespaces (``vault:``, ``pulumi:``) are left alone; secret values are dropped here and read later,
    as Pulumi secrets, by the components that need them. A secret key given in plain text stays in the
    plain config, where the loader refuses it with the ``pulumi config set --secret`` command to use. A
    secret *object* (``SECRET_OBJECT_KEYS``) also contributes its top-level names as ``<key>.<name>``
    (never its values), so the settings can tell which apps have credentials.
    """
    prefix = f"{CONFIG_NAMESPACE}:"
    plain: dict[str, Any] = {}
    secrets: set[str] = set()
    for full_key, value in config.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        is_secret = full_key in secret_keys or is_encrypted(value)
        if not is_secret:
            plain[key] = value
        elif key in SECRET_OBJECT_KEYS:
            secrets.add(key)
            secrets.update(secret_object_entry(key, name) for name in _secret_object_names(value))
        else:
            secrets.add(key)
    return plain, frozenset(secrets)


def _secret_object_names(value: Any) -> list[str]:
    """The top-level names of a secret object's value; ``[*]`` when the whole value is still encrypted."""
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        return [UNKNOWN_NAMES]  # a stack file's encrypted value: names are unknown until Pulumi decrypts it
    decoded = _decode(value)
    return [str(name) for name in decoded] if isinstance(decoded, Mapping) else []
