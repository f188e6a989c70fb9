"""The JSON Schema editors use to validate stack files is generated from the models and accepts the real stacks."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from secure_mesh.settings.schema import settings_json_schema, settings_json_schema_text
from tests.harness import PROJECT_DIR, STACKS


def test_checked_in_schema_is_the_generated_one() -> None:
    checked_in = (PROJECT_DIR / "settings.schema.json").read_text()
    assert checked_in == settings_json_schema_text(), "run `make schema` and commit settings.schema.json"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_validates_against_the_schema(stack: str) -> None:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    jsonschema.validate(document, settings_json_schema())


def test_schema_rejects_a_typo_and_a_bad_enum() -> None:
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    typo = copy.deepcopy(document)
    typo["config"]["secure-mesh:consul"]["serverReplica"] = 3
    with pytest.raises(jsonschema.ValidationError, match="serverReplica"):
        jsonschema.validate(typo, settings_json_schema())
    bad_enum = copy.deepcopy(document)
    bad_enum["config"]["secure-mesh:pki"]["rootCustody"] = "hsm"
    with pytest.raises(jsonschema.ValidationError, match="hsm"):
        jsonschema.validate(bad_enum, settings_json_schema())


def test_schema_documents_secret_keys_as_secure_values() -> None:
    properties = json.loads(settings_json_schema_text())["properties"]["config"]["properties"]
    assert properties["secure-mesh:consulLicense"]["required"] == ["secure"]
