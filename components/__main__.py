"""``python -m secure_mesh``: the offline commands (root ceremony, render, settings/package schemas, generated docs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .command_errors import CommandError, describe_failure
from .offline.render import render_stack
from .pki.ceremony import add_root_ca_commands
from .readme import REFERENCE_PAGE, regenerate_readme
from .settings import SettingsError
from .settings.schema import settings_json_schema_text


def _render(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir).resolve()
    if not (project_dir / "Pulumi.yaml").is_file():
        raise CommandError(f"{project_dir} holds no Pulumi.yaml; pass --project-dir with the project's folder")
    result = render_stack(project_dir, args.stack, Path(args.out))
    print(result.summary)
    return 0


def _readme(args: argparse.Namespace) -> int:
    path = Path(args.path)
    current = path.read_text()
    updated = regenerate_readme(current)
    if args.check:
        if updated != current:
            print(f"{path} is out of date: run `python -m secure_mesh readme`", file=sys.stderr)
            return 1
        return 0
    path.write_text(updated)
    return 0


def _print_schema(_: argparse.Namespace) -> int:
    sys.stdout.write(settings_json_schema_text())
    return 0


def _print_package_schema(args: argparse.Namespace) -> int:
    from .component_package import package_schema_text, regenerate_component_reference

    if args.docs is None:
        sys.stdout.write(package_schema_text())
        return 0
    path = Path(args.docs)
    current = path.read_text()
    updated = regenerate_component_reference(current)
    if args.check:
        if updated != current:
            print(f"{path} is out of date: run `python -m secure_mesh package-schema --docs {path}`", file=sys.stderr)
            return 1
        return 0
    path.write_text(updated)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="python -m secure_mesh", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_root_ca_commands(subparsers)
    schema = subparsers.add_parser("schema", help="print the JSON Schema of the stack settings (settings.schema.json)")
    schema.set_defaults(handler=_print_schema)
    package_schema = subparsers.add_parser(
        "package-schema",
        help="print the Pulumi package schema the component package (provider/) serves (provider/schema.json)",
    )
    package_schema.add_argument(
        "--docs",
        nargs="?",
        const="docs/components.md",
        help="instead, rewrite the component reference in this page (default docs/components.md)",
    )
    package_schema.add_argument("--check", action="store_true", help="with --docs: only report whether it is current")
    package_schema.set_defaults(handler=_print_package_schema)
    readme = subparsers.add_parser(
        "readme", help=f"rewrite the generated blocks of {REFERENCE_PAGE} (settings reference, stack outputs)"
    )
    readme.add_argument("--path", default=str(REFERENCE_PAGE))
    readme.add_argument("--check", action="store_true", help="only report whether the page is up to date")
    readme.set_defaults(handler=_readme)
    render = subparsers.add_parser(
        "render", help="write what a stack would create (inventory, Helm values, policies, intentions) offline"
    )
    render.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml to render")
    render.add_argument("--out", required=True, help="the directory to write into (created if missing)")
    render.add_argument("--project-dir", default=".", help="the folder holding Pulumi.yaml (default: .)")
    render.set_defaults(handler=_render)
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except SettingsError as error:
        # The stack file is invalid: the list of problems is the whole message (no traceback).
        print(f"{parser.prog} {args.command}: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        message = describe_failure(error)
        if message is None:
            raise
        print(f"{parser.prog} {args.command}: {message}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
