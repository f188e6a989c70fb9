r"""Stack references offline: another stack's outputs from a recorded file instead of the Pulumi service.

A stack that reads another stack's outputs (a peering dialer reads its acceptor's) renders and tests without
credentials by taking them from ``stack-references/<stack>.json`` next to the stack files. The format:

.. code-block:: json

    {"stack": "acme/secure-mesh/peer-east", "outputs": {"datacenter": "east", "peeringTokens": "[secret]"}}

``stack`` is the referenced stack's full name, exactly as the referencing stack names it (a file recorded for
another stack is refused); ``outputs`` is what ``pulumi stack output --json --stack <full name>`` prints, where a
secret output appears as ``"[secret]"`` — such outputs are handed on as Pulumi secrets. Record a file with::

    pulumi stack output --json --stack acme/secure-mesh/peer-east \\
      | jq '{stack: "acme/secure-mesh/peer-east", outputs: .}' > stack-references/peer-east.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from ..command_errors import CommandError

STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
RECORDED_DIRECTORY = "stack-references"
SECRET_STAND_IN = "[secret]"
"""How ``pulumi stack output --json`` prints a secret output (without ``--show-secrets``)."""


def recorded_path(project_dir: Path, full_name: str) -> Path:
    """Where the recorded outputs of ``<org>/<project>/<stack>`` live: ``stack-references/<stack>.json``."""
    return project_dir / RECORDED_DIRECTORY / f"{full_name.rsplit('/', 1)[-1]}.json"


def recorded_outputs(project_dir: Path, full_name: str) -> dict[str, Any]:
    """The recorded outputs of a referenced stack, checked against the format above."""
    path = recorded_path(project_dir, full_name)
    where = f"{RECORDED_DIRECTORY}/{path.name}"
    if not path.is_file():
        raise CommandError(
            f"no recorded outputs for stack '{full_name}': offline runs read them from {where} "
            "(see components/offline/stack_references.py for the format and how to record it)"
        )
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CommandError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or set(document) != {"stack", "outputs"} or not isinstance(
        document["outputs"], dict
    ):
        raise CommandError(f"{where} must be an object with exactly 'stack' (a full stack name) and 'outputs'")
    if document["stack"] != full_name:
        raise CommandError(f"{where} records stack '{document['stack']}', but the reference names '{full_name}'")
    return dict(document["outputs"])


def stack_reference_state(project_dir: Path) -> Any:
    """Mock state of a ``StackReference`` read: the recorded outputs and the names of the secret ones.

    A reference to the running stack itself (the rotations read their own ``rotationVersions``) has no recording:
    an offline run has no state, so its own stack reads as never deployed, with no outputs.
    """

    def state(_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
        if str(inputs["name"]) == own:
            return {"outputs": {}, "secretOutputNames": []}
        outputs = recorded_outputs(project_dir, str(inputs["name"]))
        secret = sorted(key for key, value in outputs.items() if value == SECRET_STAND_IN)
        return {"outputs": outputs, "secretOutputNames": secret}

    return state
