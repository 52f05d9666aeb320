"""``hooklake doctor``: what each capture source missed, per session, and the state of capture.

Sessions are reconciled in SQL (``doctor.sql``) over the lake's events: hooks vs transcript vs
telemetry, joined on prompt_id and tool_use_id. Around that, the capture machinery itself: spool
backlog not yet ingested, the capture hook's error log, quarantined lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SQL_FILE = Path(__file__).with_name("doctor.sql")
RECENT_ERRORS = 5


@dataclass
class DoctorReport:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    capture: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": not self.problems, "problems": self.problems, "capture": self.capture, "sessions": self.sessions}


def session_problems(row: dict[str, Any]) -> list[str]:
    """Plain-language gaps of one session row."""
    out: list[str] = []
    if row["hook_events"] == 0:
        out.append("no hook events (hooks not installed or capture off)")
    else:
        if row["prompts_missing_in_hooks"]:
            out.append(f"{row['prompts_missing_in_hooks']} prompt(s) with no UserPromptSubmit hook")
        if row["pre_tool_missing_in_hooks"]:
            out.append(f"{row['pre_tool_missing_in_hooks']} tool call(s) with no PreToolUse hook")
        if row["post_tool_missing_in_hooks"]:
            out.append(f"{row['post_tool_missing_in_hooks']} tool result(s) with no PostToolUse hook")
        if row["hook_prompts"] and row["hook_stops"] == 0:
            out.append("no Stop")
        elif row["prompts_without_stop"]:
            out.append(f"{row['prompts_without_stop']} prompt(s) with no Stop")
    if row["transcript_events"] and row["tools_missing_in_transcript"]:
        out.append(f"{row['tools_missing_in_transcript']} hook tool call(s) not in the transcript")
    if row["otlp_events"] and row["prompts_missing_in_otlp"]:
        out.append(f"{row['prompts_missing_in_otlp']} prompt(s) not in telemetry")
    if row["wrapped_hook_failures"]:
        out.append(f"{row['wrapped_hook_failures']} wrapped hook run(s) failed")
    return out


def _connect(paths: Any) -> Any:
    """DuckDB with an ``events`` relation over the lake's Parquet files, every source's rows kept.

    Deliberately not ``lakehouse.connect()``: its ``events`` folds transcript rows into the hook
    rows they duplicate, which is exactly the difference this report is about.
    """
    import duckdb

    con = duckdb.connect()
    events_dir = Path(paths.events)
    files = sorted(events_dir.glob("**/*.parquet")) if events_dir.exists() else []
    if files:
        glob = str(events_dir / "**" / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true)")
    else:
        from ingest.schema import arrow_schema

        con.register("events_empty", arrow_schema().empty_table())
        con.execute("CREATE VIEW events AS SELECT * FROM events_empty")
    return con


def _json_safe(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _capture_state(paths: Any) -> dict[str, Any]:
    spool = Path(paths.spool)
    spool_files = sorted(spool.glob("*.jsonl")) if spool.exists() else []
    state: dict[str, Any] = {
        "spool_files": len(spool_files),
        "spool_bytes": sum(f.stat().st_size for f in spool_files),
        "capture_errors": 0,
        "recent_capture_errors": [],
        "quarantine_files": 0,
        "quarantined_lines": 0,
        "capture_off": Path(paths.kill_switch).exists(),
    }
    errors = Path(paths.capture_errors)
    if errors.exists():
        with open(errors, "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
        state["capture_errors"] = len(lines)
        state["recent_capture_errors"] = lines[-RECENT_ERRORS:]
    quarantine = Path(paths.quarantine)
    if quarantine.exists():
        for f in quarantine.rglob("*"):
            if f.is_file():
                state["quarantine_files"] += 1
                if f.suffix in (".jsonl", ".ndjson"):
                    with open(f, "rb") as fh:
                        state["quarantined_lines"] += sum(1 for _ in fh)
    return state


def run_doctor(paths: Any = None) -> DoctorReport:
    from hooklake.paths import Paths

    p = paths if paths is not None else Paths.resolve()
    report = DoctorReport()
    report.capture = _capture_state(p)
    con = _connect(p)
    try:
        cursor = con.execute(SQL_FILE.read_text(encoding="utf-8"))
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    finally:
        con.close()
    for row in rows:
        row = {k: _json_safe(v) for k, v in row.items()}
        row["problems"] = session_problems(row)
        report.sessions.append(row)
    cap = report.capture
    if cap["capture_off"]:
        report.problems.append(f"capture is switched off ({p.kill_switch} exists)")
    if cap["capture_errors"]:
        report.problems.append(f"{cap['capture_errors']} capture error(s) logged in {p.capture_errors}")
    if cap["quarantined_lines"] or cap["quarantine_files"]:
        report.problems.append(f"{cap['quarantined_lines']} quarantined line(s) in {cap['quarantine_files']} file(s) under {p.quarantine}")
    if cap["spool_bytes"]:
        report.problems.append(f"{cap['spool_bytes']} spool byte(s) in {cap['spool_files']} file(s) may await `hooklake ingest`")
    gaps = sum(1 for s in report.sessions if s["problems"])
    if gaps:
        report.problems.append(f"{gaps} of {len(report.sessions)} session(s) have capture gaps")
    return report


def format_table(report: DoctorReport) -> str:
    cap = report.capture
    lines = [
        f"spool: {cap['spool_files']} file(s), {cap['spool_bytes']} bytes   capture errors: {cap['capture_errors']}   "
        f"quarantined lines: {cap['quarantined_lines']}   capture: {'OFF' if cap['capture_off'] else 'on'}",
    ]
    for err in cap["recent_capture_errors"]:
        lines.append(f"  ! {err}")
    lines.append("")
    if not report.sessions:
        lines.append("no sessions in the lake yet (run `hooklake ingest`, or `hooklake import transcripts`)")
    else:
        header = f"{'session':<38} {'hooks':>6} {'transcr':>7} {'otlp':>5} {'prompts h/t/o':>13} {'tools h/t':>9}  problems"
        lines.append(header)
        lines.append("-" * len(header))
        for s in report.sessions:
            prompts = f"{s['prompts_hooks']}/{s['prompts_transcript']}/{s['prompts_otlp']}"
            tools = f"{s['tools_hooks']}/{s['tools_transcript']}"
            problems = "; ".join(s["problems"]) if s["problems"] else "ok"
            lines.append(f"{str(s['session_id'])[:38]:<38} {s['hook_events']:>6} {s['transcript_events']:>7} "
                         f"{s['otlp_events']:>5} {prompts:>13} {tools:>9}  {problems}")
    lines.append("")
    lines.append("ok" if not report.problems else "\n".join(f"- {p}" for p in report.problems))
    return "\n".join(lines)
