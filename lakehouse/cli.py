"""Commands of the lakehouse: traces, trace, feedback, analytics, retention, compact, rollup.

Registration imports only argparse; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _duration_s(text: str) -> float:
    """'90d', '12h', '30m', '2w', '45s' -> seconds."""
    from hooklake.errors import HooklakeError

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units:
        raise HooklakeError(f"'{text}' is not a duration: use a number and a unit, e.g. 90d, 12h, 30m")
    try:
        value = float(text[:-1])
    except ValueError:
        raise HooklakeError(f"'{text}' is not a duration: use a number and a unit, e.g. 90d, 12h, 30m") from None
    if value < 0:
        raise HooklakeError(f"'{text}': a duration cannot be negative")
    return value * units[text[-1]]


def _since(text: str) -> Any:
    """An ISO date/time, or a duration back from now ('2h', '7d')."""
    import datetime as dt

    from hooklake.errors import HooklakeError

    try:
        return dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=_duration_s(text))
    except HooklakeError:
        pass
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HooklakeError(f"--since '{text}': give an ISO date (2026-11-27) or a duration (2h, 7d)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _dumps(value: Any) -> str:
    import datetime as dt
    import decimal

    def default(obj: Any) -> Any:
        if isinstance(obj, (dt.datetime, dt.date)):
            return obj.isoformat()
        if isinstance(obj, decimal.Decimal):
            return float(obj)
        return str(obj)

    return json.dumps(value, default=default, indent=2)


LIST_FIELDS = ("correlation_id", "session_id", "prompt", "status", "success", "success_score", "started_at",
               "completed_at", "duration_ms", "tool_calls", "tool_failures", "subagents", "agents", "source",
               "is_subagent", "agent_type", "parent_id", "error_message")


def list_traces(con: Any, *, session: str | None = None, since: Any = None, status: str | None = None,
                limit: int = 50, include_subagents: bool = False) -> list[dict[str, Any]]:
    """Latest traces first, as dicts with LIST_FIELDS (the rows behind `hooklake traces`)."""
    from lakehouse.traces import derived_traces

    where, params = ["true"], []
    if not include_subagents:
        where.append("NOT is_subagent")
    if session:
        where.append("session_id = ?")
        params.append(session)
    if since is not None:
        where.append("started_at >= ?")
        params.append(since)
    if status:
        cur = con.execute(
            "SELECT correlation_id FROM execution_traces WHERE " + " AND ".join(where) + " AND status = ? "
            f"ORDER BY started_at DESC LIMIT {int(limit)}", [*params, status])
        ids = [r[0] for r in cur.fetchall()]
        if not ids:
            return []
        rows = derived_traces(con, f"correlation_id IN ({', '.join('?' for _ in ids)})", ids,
                              order="started_at DESC")
    else:
        rows = derived_traces(con, " AND ".join(where), params, order="started_at DESC", limit=limit)
    out = []
    for r in rows:
        r["prompt"] = r.get("prompt_text")
        out.append({k: r.get(k) for k in LIST_FIELDS})
    return out


def list_traces_recent(paths: Any = None, *, session: str | None = None, since: Any = None,
                       status: str | None = None, limit: int = 50,
                       include_subagents: bool = False) -> list[dict[str, Any]] | None:
    """``list_traces`` answered from the rollup's recent-traces file, without DuckDB.

    None when that file cannot give the exact answer: it is stale (the lake or the view
    definitions changed), subagent runs are asked for, or fewer than ``limit`` of its traces pass
    the filters while older traces (not in the file) might pass them too."""
    import datetime as dt

    from hooklake.paths import Paths
    from lakehouse.rollup import load_recent
    from lakehouse.status import derive_trace

    if include_subagents or limit < 0:
        return None
    paths = paths if paths is not None else Paths.resolve()
    recent = load_recent(paths)
    if recent is None:
        return None
    now = dt.datetime.now(dt.timezone.utc)
    out: list[dict[str, Any]] = []
    for facts in recent["rows"]:
        if len(out) >= limit:
            break
        if session and facts["session_id"] != session:
            continue
        if since is not None and (facts["started_at"] is None or facts["started_at"] < since):
            continue
        row = derive_trace(facts, recent["settings"], now)
        if status and row["status"] != status:
            continue
        row["prompt"] = row.get("prompt_text")
        out.append({k: row.get(k) for k in LIST_FIELDS})
    if len(out) >= limit or recent["complete"]:
        return out
    oldest = recent["rows"][-1]["started_at"] if recent["rows"] else None
    if since is not None and oldest is not None and oldest < since:
        return out  # every trace started at or after `since` is in the file
    return None


def _cmd_traces(args: argparse.Namespace) -> int:
    since = _since(args.since) if args.since else None
    rows = list_traces_recent(session=args.session, since=since, status=args.status, limit=args.limit,
                              include_subagents=args.all)
    if rows is None:
        from lakehouse.connect import connect, connect_rollup

        con = None if args.status else connect_rollup()
        if con is None:
            con = connect(learning=False)
        rows = list_traces(con, session=args.session, since=since, status=args.status, limit=args.limit,
                           include_subagents=args.all)
    if args.json:
        print(_dumps(rows))
        return 0
    if not rows:
        print("no traces")
        return 0
    print(f"{'started (UTC)':<19}  {'status':<11} {'ok':<3} {'score':>5} {'dur':>7} {'tools':>5} {'fail':>4} "
          f"{'sub':>3}  {'correlation_id':<36}  prompt")
    for r in rows:
        started = r["started_at"].strftime("%Y-%m-%d %H:%M:%S") if r["started_at"] else "-"
        prompt = (r["prompt"] or "").replace("\n", " ")
        if len(prompt) > 60:
            prompt = prompt[:57] + "..."
        dur = r["duration_ms"]
        dur_s = "-" if dur is None else (f"{dur / 1000:.1f}s" if dur < 600_000 else f"{dur / 60000:.0f}m")
        print(f"{started:<19}  {r['status']:<11} {'yes' if r['success'] else 'no':<3} {r['success_score']:>5.2f} "
              f"{dur_s:>7} {r['tool_calls']:>5} {r['tool_failures']:>4} {r['subagents']:>3}  "
              f"{r['correlation_id']:<36}  {prompt}")
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    from hooklake.errors import HooklakeError
    from lakehouse.connect import connect
    from lakehouse.traces import assemble_trace, render_tree, trace_timeline

    con = connect(learning=False)
    tree = assemble_trace(args.correlation_id, con)
    if tree is None:
        raise HooklakeError(f"no trace with correlation id '{args.correlation_id}' in the lake "
                            "(run `hooklake ingest` first, or list ids with `hooklake traces`)")
    if args.timeline:
        events = trace_timeline(args.correlation_id, con)
        if args.json:
            print(_dumps(events))
        else:
            for e in events:
                what = e.get("tool_name") or e.get("prompt_text") or e.get("error_message") or ""
                print(f"{e['event_time']}  {e['trace_id'][:18]:<18}  {e['event_name']:<20} {str(what)[:60]}")
        return 0
    if args.json:
        print(_dumps(tree))
    else:
        print(render_tree(tree, show_capture_hooks=args.hooks))
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    from lakehouse.feedback import record_feedback

    result = record_feedback(args.correlation_id, args.verdict, note=args.note)
    if args.json:
        print(_dumps(result))
    else:
        print(f"recorded '{args.verdict}' for {args.correlation_id}"
              + ("" if result.get("ingested") else " (spooled; it takes effect at the next `hooklake ingest`)"))
    return 0


def _cmd_analytics(args: argparse.Namespace) -> int:
    if getattr(args, "engine", "duckdb") == "spark":
        from lakehouse.spark.cli import analytics_spark

        return analytics_spark(args)
    from hooklake.errors import HooklakeError
    from lakehouse.connect import connect, view_names

    con = connect()
    names = view_names(con)
    if args.view not in names:
        raise HooklakeError(f"unknown view '{args.view}'; views: {', '.join(names)}")
    cur = con.execute(f'SELECT * FROM "{args.view}" LIMIT {int(args.limit)}')
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    if args.json:
        print(_dumps(rows))
        return 0
    if not rows:
        print(f"{args.view}: no rows")
        return 0

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        text = "" if v is None else str(v)
        text = text.replace("\n", " ")
        return text if len(text) <= 40 else text[:37] + "..."

    table = [[cell(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in table)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    return 0


def _cmd_retention(args: argparse.Namespace) -> int:
    from lakehouse.maintenance import apply_retention

    report = apply_retention(_duration_s(args.older_than), archive=args.archive, dry_run=args.dry_run)
    if args.json:
        print(_dumps(report))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(report['partitions'])} partition(s), {report['files']} file(s), {report['rows']} row(s)"
          + (f"; archived to {report['archive']}" if report.get("archive") else ""))
    for p in report["partitions"]:
        print(f"  {p}")
    return 0


def _cmd_compact(args: argparse.Namespace) -> int:
    from hooklake.paths import Paths
    from lakehouse.maintenance import compact_lake

    if "://" in Paths.resolve().lake_uri:  # a team lake: generation swap, safe for concurrent readers
        from lakehouse.compact_remote import compact_remote as compact_lake  # noqa: F811
    report = compact_lake(min_files=args.min_files)
    if args.json:
        print(_dumps(report))
        return 0
    print(f"compacted {report['partitions']} partition(s): {report['files_before']} -> {report['files_after']} "
          f"file(s), {report['rows']} row(s) in {report['seconds']}s")
    return 0


def _cmd_rollup(args: argparse.Namespace) -> int:
    import time

    from hooklake.paths import Paths
    from lakehouse.rollup import refresh_rollup, rollup_path

    started = time.monotonic()
    paths = Paths.resolve()
    refresh_rollup(paths, full=args.full, progress=not args.json)
    result = {"rollup": str(rollup_path(paths)), "seconds": round(time.monotonic() - started, 2)}
    print(_dumps(result) if args.json else f"rollup up to date: {result['rollup']} ({result['seconds']}s)")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("traces", help="list recent traces (one per user prompt) with status and success")
    p.add_argument("--session", help="only this Claude Code session id")
    p.add_argument("--since", help="only traces started after this ISO date/time or duration ago (2h, 7d)")
    p.add_argument("--status", choices=["in_progress", "success", "error", "timeout", "interrupted"],
                   help="only traces with this status")
    p.add_argument("--limit", type=int, default=50, help="at most this many traces (default 50)")
    p.add_argument("--all", action="store_true", help="include subagent runs (child traces)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=_cmd_traces)

    p = subparsers.add_parser("trace", help="show one trace as a tree (subagents nested under their Agent call)")
    p.add_argument("correlation_id", help="the trace id (prompt_id / correlation id / subagent id)")
    p.add_argument("--json", action="store_true", help="print the assembled tree as one JSON object")
    p.add_argument("--timeline", action="store_true", help="list the trace's events in time order instead")
    p.add_argument("--hooks", action="store_true", help="also show every captured hook event in the tree")
    p.set_defaults(func=_cmd_trace)

    p = subparsers.add_parser("feedback", help="record that a trace went well or badly (overrides inferred success)")
    p.add_argument("correlation_id", help="the trace id")
    p.add_argument("verdict", choices=["good", "bad"], help="good or bad")
    p.add_argument("--note", help="a short note kept with the verdict")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_feedback)

    p = subparsers.add_parser("analytics", help="print a lakehouse view (execution_traces, tool_performance, ...)")
    p.add_argument("view", help="view name, e.g. agent_success_rates, hook_performance_summary, endpoint_reliability")
    p.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    from lakehouse.spark.cli import add_engine_options  # --engine duckdb|spark, --master

    add_engine_options(p)
    p.set_defaults(func=_cmd_analytics)

    p = subparsers.add_parser("retention", help="archive (zstd Parquet) and delete lake partitions older than an age")
    p.add_argument("--older-than", required=True, help="age of partitions to remove, e.g. 90d")
    p.add_argument("--archive", metavar="DIR", help="copy each removed file here first (zstd Parquet)")
    p.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_retention)

    p = subparsers.add_parser("compact", help="merge small lake files per partition, sorted for fast trace lookups")
    p.add_argument("--min-files", type=int, default=2, help="compact partitions with at least this many files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_compact)

    p = subparsers.add_parser("rollup", help="bring the lakehouse's incremental rollup cache up to date")
    p.add_argument("--full", action="store_true", help="rebuild it from scratch")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_rollup)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience
    parser = argparse.ArgumentParser(prog="hooklake")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
