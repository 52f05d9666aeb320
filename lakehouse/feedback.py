"""Explicit user feedback on a trace: a ``feedback`` event through the spool, then ingest.

The event (``hook_event_name: "feedback"``, ``correlation_id``, ``verdict`` good|bad, ``note``)
is an ordinary lake event; ``trace_facts`` keeps the latest verdict per trace and
``execution_traces.success`` follows it instead of the inferred criteria.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import Paths

VERDICTS = ("good", "bad")
FEEDBACK_SOURCE = "cli"


def record_feedback(correlation_id: str, verdict: str, *, note: str | None = None, paths: Paths | None = None,
                    ingest: bool = True) -> dict[str, Any]:
    """Spool a feedback event for a known trace and (by default) ingest it so it takes effect."""
    if verdict not in VERDICTS:
        raise HooklakeError(f"verdict must be one of {', '.join(VERDICTS)}, not '{verdict}'")
    paths = paths if paths is not None else Paths.resolve()
    from lakehouse.connect import connect
    from lakehouse.traces import derived_traces

    con = connect(paths.home, learning=False)
    rows = derived_traces(con, "correlation_id = ?", [correlation_id])
    con.close()
    if not rows:
        raise HooklakeError(f"no trace with correlation id '{correlation_id}' in the lake "
                            "(list ids with `hooklake traces`; run `hooklake ingest` if it is recent)")
    trace = rows[0]
    payload: dict[str, Any] = {
        "hook_event_name": "feedback",
        "correlation_id": correlation_id,
        "session_id": trace["session_id"],
        "verdict": verdict,
        "timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if note is not None:
        payload["note"] = note
    try:
        from hooks.spool import append_event
    except ImportError as exc:  # pragma: no cover - the capture package ships with hooklake
        raise HooklakeError(f"cannot record feedback: the spool writer is unavailable ({exc})") from exc
    event_id = append_event(payload, FEEDBACK_SOURCE, paths=paths)
    if event_id is None:
        raise HooklakeError(f"feedback was not written to the spool {paths.spool} (capture switched off? "
                            f"see {paths.capture_errors})")
    result: dict[str, Any] = {"event_id": event_id, "correlation_id": correlation_id, "verdict": verdict,
                              "note": note, "ingested": False}
    if ingest:
        try:
            from ingest.compactor import run_ingest
        except ImportError:
            return result
        report = run_ingest(paths=paths, progress=False)
        result["ingested"] = True
        result["ingest"] = report.as_dict() if hasattr(report, "as_dict") else None
    return result
