"""The time-dependent part of execution_traces / tool_calls, in Python, for point lookups.

``views/05_execution_traces.sql`` and ``views/06_tool_calls.sql`` are the definitions. Trace
assembly and the ``traces`` listing read a handful of rows from the materialised ``trace_facts``
and ``tool_calls_base`` tables and derive status, criteria and score here, which avoids planning
the full view for every lookup. A test runs both over the same lakes and requires equal results.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

TIMEOUT_RE = re.compile(r"(?i)time[sd]? ?out|timed out|deadline exceeded")
WEIGHTS = (
    ("completed", 0.25),
    ("no_errors", 0.25),
    ("hooks_succeeded", 0.15),
    ("quality_gates_passed", 0.15),
    ("within_performance_thresholds", 0.10),
    ("intelligence_gathered", 0.05),
    ("user_confirmation", 0.05),
)


def settings_row(con: Any) -> dict[str, float]:
    cur = con.execute("SELECT * FROM lakehouse_settings")
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


def trace_status(f: dict[str, Any], settings: dict[str, float], now: dt.datetime) -> str:
    if f["has_stop_failure"]:
        return "timeout" if TIMEOUT_RE.search(f.get("stop_error") or "") else "error"
    if f["tool_interrupts"] > 0:
        return "interrupted"
    if f["has_stop"]:
        return "success"
    if f["is_sdk_only"]:
        if f["timeout_errors"] > 0:
            return "timeout"
        if f["endpoint_errors"] + f["sdk_errors"] + f["hook_failures"] > 0:
            return "error"
        return "success"
    if f["moved_on"]:
        return "interrupted"
    if f["last_event_at"] < now - dt.timedelta(seconds=settings["in_progress_timeout_s"]):
        return "interrupted"
    return "in_progress"


def derive_trace(f: dict[str, Any], settings: dict[str, float], now: dt.datetime) -> dict[str, Any]:
    """execution_traces columns from one trace_facts row (same rules as the SQL view)."""
    out = dict(f)
    end = f["completed_at"] or f["last_event_at"]
    duration = (end - f["started_at"]) / dt.timedelta(milliseconds=1) if end and f["started_at"] else None
    out["duration_ms"] = duration
    status = trace_status(f, settings, now)
    out["status"] = status
    out["completed"] = status == "success"
    out["no_errors"] = (f["tool_failures"] == 0 and f["endpoint_errors"] == 0 and f["sdk_errors"] == 0
                        and not f["has_stop_failure"])
    out["hooks_succeeded"] = f["hook_failures"] == 0
    out["quality_gates_passed"] = f["quality_gate_failures"] == 0
    out["within_performance_thresholds"] = duration is None or duration <= settings["max_duration_ms"]
    out["no_timeouts"] = (f["timeout_errors"] == 0 and status != "timeout"
                          and (f["hook_max_duration_ms"] or 0) <= settings["max_hook_duration_ms"])
    out["intelligence_gathered"] = f["intelligence_failures"] == 0
    out["user_confirmation"] = f["feedback_verdict"] != "bad"
    score = round(sum(w for name, w in WEIGHTS if out[name]), 4)
    out["success_score"] = score
    verdict = f["feedback_verdict"]
    if verdict == "good":
        out["success"] = True
    elif verdict == "bad":
        out["success"] = False
    else:
        out["success"] = bool(out["completed"] and out["no_timeouts"] and score >= settings["success_threshold"])
    out["success_source"] = "inferred" if verdict is None else "feedback"
    return out


def derive_tool_call(c: dict[str, Any], settings: dict[str, float], now: dt.datetime) -> dict[str, Any]:
    out = dict(c)
    if c["end_status"] is not None:
        out["status"] = c["end_status"]
    elif c["open_status"] == "interrupted":
        out["status"] = "interrupted"
    elif c["started_at"] < now - dt.timedelta(seconds=settings["in_progress_timeout_s"]):
        out["status"] = "interrupted"
    else:
        out["status"] = "in_progress"
    return out
