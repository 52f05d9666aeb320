"""``hooklake run`` (wrap a hook command) and ``hooklake emit`` (report from inside a wrapped hook)."""

from __future__ import annotations

import argparse

EMIT_KINDS = (
    "intelligence_function",
    "rag_query",
    "quality_gate",
    "routing_decision",
    "endpoint_call",
    "custom",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a hook command measured: ids exported, stdin/stdout/stderr/exit code passed through",
        description="Run CMD as a Claude Code hook would, record a hook_execution event. The payload on "
        "stdin is passed through, output and exit code are relayed unchanged (2 still blocks), "
        "HOOKLAKE_CORRELATION_ID/ROOT_ID/PARENT_ID/EXECUTION_ID/SESSION_ID are exported to CMD, "
        "and CMD is killed after --timeout seconds (exit 124).",
    )
    run.add_argument("--timeout", type=float, default=None,
                     help="seconds before the command is killed (default $HOOKLAKE_RUN_TIMEOUT or 600)")
    run.add_argument("--name", default=None, help="hook name to record (default: the script's file name)")
    run.add_argument("--sh", action="store_true", help="CMD is one shell string, run with sh -c")
    run.add_argument("--python", action="store_true", help="use the Python wrapper even if the native one is built")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    run.set_defaults(func=_cmd_run)

    emit = subparsers.add_parser(
        "emit",
        help="record an intelligence function, RAG query, quality gate or custom event from a hook",
        description="Record one event under the correlation ids that `hooklake run` exported. Inside a "
        "wrapped hook, intelligence_function / rag_query / quality_gate reports are also listed on "
        "the hook's hook_execution event.",
    )
    emit.add_argument("kind", choices=EMIT_KINDS, help="what to record")
    emit.add_argument("--json", dest="data", default="{}", metavar="JSON", help="the event's fields as a JSON object")
    emit.set_defaults(func=_cmd_emit)


def _cmd_run(args: argparse.Namespace) -> int:
    import os

    from hooklake.errors import HooklakeError
    from hooklake.paths import Paths
    from hooks import wrapper

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise HooklakeError("hooklake run: no command given (usage: hooklake run [--timeout S] -- CMD [ARGS...])")
    argv: list[str] = []
    if args.timeout is not None:
        argv += ["--timeout", repr(args.timeout)]
    if args.name is not None:
        argv += ["--name", args.name]
    if args.sh:
        argv.append("--sh")
    argv += ["--", *command]
    if not args.python:
        bin_dir = Paths.resolve().bin
        native = wrapper.find_native(bin_dir) or wrapper.build_native(bin_dir)
        if native is not None:
            os.execv(native, [native, *argv])  # same behaviour, no interpreter in the hook's path
    return wrapper.main(argv)


def _cmd_emit(args: argparse.Namespace) -> int:
    import json

    from hooklake.errors import HooklakeError
    from hooks.sdk import context
    from hooks.sdk.events import emit
    from hooks.sdk.report import ALIASES, report

    try:
        data = json.loads(args.data)
    except ValueError as exc:
        raise HooklakeError(f"hooklake emit: --json is not valid JSON ({exc}); pass one JSON object") from None
    if not isinstance(data, dict):
        raise HooklakeError("hooklake emit: --json must be a JSON object, e.g. '{\"name\": \"docs-search\"}'")
    parent = context.from_env()
    ctx = parent.child() if parent is not None else context.new_context()
    if args.kind in ALIASES:
        ok = report(args.kind, data, ctx=parent, source="wrapper")
    else:
        ok = emit(args.kind, data, ctx=ctx, source="wrapper")
    if not ok:
        raise HooklakeError("hooklake emit: the event could not be written to the spool (see the capture error log)")
    return 0
