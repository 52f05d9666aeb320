"""The ``hooklake`` command: a thin shell where each component registers its own commands.

Command modules are imported at start-up, so they must stay light: argparse set-up only,
heavy imports (duckdb, polars, torch, streamlit) inside the handlers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from hooklake import __version__
from hooklake.errors import HooklakeError

# Each module exposes ``register(subparsers)``; order decides the order in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "hooks.cli",  # install, uninstall, status
    "ingest.cli",  # ingest
    "hooks.wrapper_cli",  # run, emit
    "ingest.import_cli",  # import, doctor
    "lakehouse.cli",  # traces, trace, feedback, analytics, retention, compact
    "learning.cli",  # learn, patterns, match, route, evaluate
    "learning.serve_cli",  # serve, report
    "dashboard.cli",  # dashboard, demo, quickstart
)


def _cmd_paths(args: argparse.Namespace) -> int:
    from hooklake.paths import Paths

    paths = Paths.resolve()
    if args.json:
        print(json.dumps(paths.as_dict(), indent=2))
    else:
        items = paths.as_dict()
        width = max(len(k) for k in items)
        for key, value in items.items():
            print(f"{key:<{width}}  {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hooklake",
        description="Trace every Claude Code request into a local Parquet lake, "
        "analyse it with DuckDB and learn which execution paths succeed.",
    )
    parser.add_argument("--version", action="version", version=f"hooklake {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    paths = subparsers.add_parser("paths", help="print where hooklake keeps its data ($HOOKLAKE_HOME)")
    paths.add_argument("--json", action="store_true", help="print one JSON object")
    paths.set_defaults(func=_cmd_paths)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # component not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except HooklakeError as exc:
        print(f"hooklake: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hooklake: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
