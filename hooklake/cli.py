"""The ``hooklake`` command: a thin shell where each component registers its own commands.

Start-up is lazy: ``COMMANDS`` names every command with its module and one-line help, so running
a command imports only the module that registers it, and ``hooklake --help`` lists every command
without importing any. A command missing from ``COMMANDS`` still works (every module is then
imported, as ``build_parser()`` without a command does); a test keeps the table in step with
what the modules register. Command modules must stay light: argparse set-up only, heavy imports
(duckdb, polars, torch, streamlit) inside the handlers.
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

#: command -> (module registering it, one-line help), in ``--help`` order.
COMMANDS: dict[str, tuple[str, str]] = {
    "install": ("hooks.cli", "add the capture hook for every Claude Code hook event to settings.json"),
    "uninstall": ("hooks.cli", "remove exactly the hook entries hooklake added to settings.json"),
    "status": ("hooks.cli", "show where hooks are installed, kill switch, spool size, last event, capture errors"),
    "ingest": ("ingest.cli", "compact the spool into the Parquet lake (exactly once, secrets redacted)"),
    "run": ("hooks.wrapper_cli", "run a hook command measured: ids exported, stdin/stdout/stderr/exit code passed through"),
    "emit": ("hooks.wrapper_cli", "record an intelligence function, RAG query, quality gate or custom event from a hook"),
    "import": ("ingest.import_cli", "import Claude Code history (transcripts) or telemetry (OTLP JSON) into the spool"),
    "doctor": ("ingest.import_cli", "what each capture source missed, per session (hooks vs transcript vs telemetry)"),
    "traces": ("lakehouse.cli", "list recent traces (one per user prompt) with status and success"),
    "trace": ("lakehouse.cli", "show one trace as a tree (subagents nested under their Agent call)"),
    "feedback": ("lakehouse.cli", "record that a trace went well or badly (overrides inferred success)"),
    "analytics": ("lakehouse.cli", "print a lakehouse view (execution_traces, tool_performance, ...)"),
    "retention": ("lakehouse.cli", "archive (zstd Parquet) and delete lake partitions older than an age"),
    "compact": ("lakehouse.cli", "merge small lake files per partition, sorted for fast trace lookups"),
    "rollup": ("lakehouse.cli", "bring the lakehouse's incremental rollup cache up to date"),
    "learn": ("learning.cli", "learn successful execution patterns from the lake and publish the index"),
    "patterns": ("learning.cli", "list learned patterns (current versions)"),
    "match": ("learning.cli", "score a request against learned patterns"),
    "route": ("learning.cli", "route a request: learned pattern above the threshold, else fallback agents"),
    "evaluate": ("learning.cli", "time-split evaluation of matching: precision, coverage, false matches, ECE"),
    "serve": ("learning.serve_cli", "run the resident match/route/advice service (unix socket by default, or loopback TCP)"),
    "report": ("learning.serve_cli", "reports over the lake (report ab: advice A/B comparison)"),
    "dashboard": ("dashboard.cli", "open the Streamlit workbench on the lake of $HOOKLAKE_HOME"),
    "demo": ("dashboard.cli", "create a realistic multi-week demo dataset, ingest it, learn, open the dashboard"),
    "quickstart": ("dashboard.cli", "import your Claude Code history (or the demo data), ingest, learn, open the dashboard"),
}


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


def _import(module_name: str) -> object | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # component not built yet
        raise


def _command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (the first argument not starting with '-'), if any."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
        if arg == "--":
            return None
    return None


def build_parser(command: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The full parser (every command module imported). With ``command`` (a name in COMMANDS)
    only that command's module is imported and every other command is a placeholder carrying
    its one-line help; ``lazy=True`` without a command makes every command a placeholder (enough
    for ``hooklake --help``)."""
    lazy = (command in COMMANDS) if command is not None else lazy
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
    if not lazy:
        for module_name in COMMAND_MODULES:
            module = _import(module_name)
            if module is not None:
                module.register(subparsers)  # type: ignore[attr-defined]
        return parser
    wanted = COMMANDS[command][0] if command is not None else None
    for module_name in COMMAND_MODULES:
        if module_name == wanted:
            module = _import(module_name)
            if module is not None:
                module.register(subparsers)  # type: ignore[attr-defined]
            continue
        for name, (owner, help_text) in COMMANDS.items():
            if owner == module_name:
                subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    command = _command_of(argv)
    parser = build_parser(command, lazy=command is None)
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
