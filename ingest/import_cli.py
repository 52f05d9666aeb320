"""``hooklake import transcripts|otlp`` (history and telemetry) and ``hooklake doctor``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    imp = subparsers.add_parser(
        "import",
        help="import Claude Code history (transcripts) or telemetry (OTLP JSON) into the spool",
        description="Turn Claude Code transcripts or OpenTelemetry exports into the same events live hooks "
        "record. Re-running is safe (same event ids, only new bytes are read). Run `hooklake ingest` after.",
    )
    sub = imp.add_subparsers(dest="import_what", metavar="WHAT", title="what to import")
    tr = sub.add_parser("transcripts", help="import transcripts (default ~/.claude/projects)",
                        description="Import Claude Code transcripts of any version: a .jsonl file or a folder.")
    tr.add_argument("path", nargs="?", default=None, help="transcript file or folder (default ~/.claude/projects)")
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    tr.set_defaults(func=_cmd_transcripts)
    ot = sub.add_parser("otlp", help="import an OTLP JSON export (logs and traces): a file or a folder",
                        description="Import Claude Code OpenTelemetry logs/traces exported as OTLP JSON.")
    ot.add_argument("path", metavar="FILE|DIR", help="OTLP JSON file (one export per file or per line) or folder")
    ot.add_argument("--json", action="store_true", help="print one JSON object")
    ot.set_defaults(func=_cmd_otlp)
    imp.set_defaults(func=lambda args: (imp.print_help(), 0)[1])

    doc = subparsers.add_parser(
        "doctor",
        help="what each capture source missed, per session (hooks vs transcript vs telemetry)",
        description="Reconcile hooks, transcripts and telemetry per session (joined on prompt_id and "
        "tool_use_id): hooks that did not fire, sessions with no Stop, capture errors, quarantine.",
    )
    doc.add_argument("--json", action="store_true", help="print one JSON object")
    doc.set_defaults(func=_cmd_doctor)


def _print_import(report: dict, as_json: bool, what: str) -> None:
    import json

    if as_json:
        print(json.dumps(report, indent=2))
        return
    keys = [k for k in report if k not in ("errors", "warnings", "skipped_line_types")]
    width = max(len(k) for k in keys)
    for key in keys:
        print(f"{key:<{width}}  {report[key]}")
    for label in ("warnings", "errors"):
        for item in report.get(label, []):
            print(f"{label[:-1]}: {item}")
    print(f"{what} written to the spool; run `hooklake ingest` to add them to the lake")


def _cmd_transcripts(args: argparse.Namespace) -> int:
    from ingest.importers.transcripts import import_transcripts

    report = import_transcripts(args.path)
    _print_import(report.as_dict(), args.json, "events")
    return 0


def _cmd_otlp(args: argparse.Namespace) -> int:
    from ingest.importers.otlp import import_otlp

    report = import_otlp(args.path)
    _print_import(report.as_dict(), args.json, "events")
    return 1 if report.errors and report.events == 0 else 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from ingest.doctor import format_table, run_doctor

    report = run_doctor()
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(format_table(report))
    return 0
