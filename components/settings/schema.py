"""A JSON Schema of the stack settings, generated from the models, for editors that validate stack files."""

from __future__ import annotations

import json
from typing import Any

from .consistency import SECRET_CONFIG_KEYS
from .errors import CONFIG_NAMESPACE
from .models import Settings


def settings_json_schema() -> dict[str, Any]:
    """The schema of one stack's ``secure-mesh:*`` keys as they appear in the stack file's ``config:`` block."""
    model_schema = Settings.model_json_schema(by_alias=True, mode="validation")
    definitions = model_schema.pop("$defs", {})
    properties = {f"{CONFIG_NAMESPACE}:{key}": value for key, value in model_schema.get("properties", {}).items()}
    for key, description in SECRET_CONFIG_KEYS.items():
        properties[f"{CONFIG_NAMESPACE}:{key}"] = {
            "description": f"Secret: {description}. Set with `pulumi config set --secret`.",
            "type": "object",
            "required": ["secure"],
            "properties": {"secure": {"type": "string"}},
        }
    required = [f"{CONFIG_NAMESPACE}:{key}" for key in model_schema.get("required", [])]
    config_schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "patternProperties": {f"^(?!{CONFIG_NAMESPACE}:).*": {}},
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "secure-mesh stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": config_schema,
            "encryptionsalt": {"type": "string"},
            "secretsprovider": {"type": "string"},
        },
        "$defs": definitions,
    }


def settings_json_schema_text() -> str:
    """The schema as stable, human-diffable JSON text."""
    return json.dumps(settings_json_schema(), indent=2, sort_keys=True) + "\n"
