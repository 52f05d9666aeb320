"""``hooklake ingest``: registration only (argparse); the work is imported inside the handler."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "ingest",
        help="compact the spool into the Parquet lake (exactly once, secrets redacted)",
        description="Read new spool lines, redact secrets, normalise them into canonical rows and write "
        "zstd Parquet partitions under <lake>/events/date=YYYY-MM-DD/. Safe to run at any time: a "
        "checkpoint makes it exactly-once, bad lines go to the quarantine folder, and a second "
        "concurrent run waits for the first or exits without doing anything.",
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object (the report)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success (errors still go to stderr)")
    parser.add_argument(
        "--wait", type=float, default=None, metavar="SECONDS",
        help="how long to wait for another running ingest (default: [ingest] lock_wait_s, 10 s)",
    )
    parser.set_defaults(func=_cmd_ingest)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from hooklake.paths import Paths
    from ingest.compactor import run_ingest
    from ingest.state import IngestBusy

    paths = Paths.resolve()
    try:
        report = run_ingest(paths, progress=not (args.json or args.quiet), wait_s=args.wait)
    except IngestBusy as exc:
        if args.json:
            print(json.dumps({"status": "busy", "message": str(exc)}))
        elif not args.quiet:
            print(f"hooklake: {exc}", file=sys.stderr)
        return 0
    data = report.as_dict()
    if args.json:
        print(json.dumps({"status": "ok", **data}))
        return 0
    if args.quiet:
        return 0
    print(_summary(data))
    return 0


def _summary(data: dict) -> str:
    if data["events_read"] == 0 and not data["warnings"]:
        return f"hooklake ingest: nothing new in the spool (lake: {data['lake']})"
    lines = [
        f"hooklake ingest: {data['events_written']:,} events written to {data['lake']} "
        f"({data['parquet_files']} Parquet files, {data['duration_s']:.2f} s, {data['events_per_s']:,.0f} events/s)",
        f"  read {data['events_read']:,} lines ({data['bytes']:,} bytes) from {data['files']} spool files",
    ]
    if data["duplicates"]:
        lines.append(f"  dropped {data['duplicates']:,} duplicate events (same event_id)")
    if data["redacted"]:
        lines.append(f"  redacted {data['redacted']:,} secrets in {data['redacted_events']:,} events")
    if data["quarantined"]:
        where = ", ".join(data["quarantine_files"][:3])
        lines.append(f"  quarantined {data['quarantined']:,} bad lines (reason and raw bytes kept in {where})")
    if data["retired_files"]:
        lines.append(f"  removed {data['retired_files']} fully ingested spool files")
    for warning in data["warnings"]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
