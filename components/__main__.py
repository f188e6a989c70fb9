"""``python -m components``: the project's offline commands (the root ceremony; more are added here)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .offline.render import render_stack
from .pki.ceremony import add_root_ca_commands
from .settings.reference import settings_reference_markdown
from .settings.schema import settings_json_schema_text


def _render(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir).resolve()
    result = render_stack(project_dir, args.stack, Path(args.out))
    print(result.summary)
    return 0


def _print_settings_reference(_: argparse.Namespace) -> int:
    sys.stdout.write(settings_reference_markdown())
    return 0


def _print_schema(_: argparse.Namespace) -> int:
    sys.stdout.write(settings_json_schema_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="python -m components", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_root_ca_commands(subparsers)
    schema = subparsers.add_parser("schema", help="print the JSON Schema of the stack settings (settings.schema.json)")
    schema.set_defaults(handler=_print_schema)
    reference = subparsers.add_parser("settings-reference", help="print the README's settings reference table")
    reference.set_defaults(handler=_print_settings_reference)
    render = subparsers.add_parser(
        "render", help="write what a stack would create (inventory, Helm values, policies, intentions) offline"
    )
    render.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml to render")
    render.add_argument("--out", required=True, help="the directory to write into (created if missing)")
    render.add_argument("--project-dir", default=".", help="the folder holding Pulumi.yaml (default: .)")
    render.set_defaults(handler=_render)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
