"""Spool writing and lake reading helpers for the ingest tests (imported by the test modules).

Spool lines are built exactly as ``hooks/envelope.py`` describes (envelope fields first, payload
embedded verbatim, one line per event).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from hooklake.paths import Paths
from hooks import envelope

SESSION = "5d882e33-9cea-4ab5-b80b-bd96ab76d3ab"
TRANSCRIPT = f"/home/user/.claude/projects/-home-user-project/{SESSION}.jsonl"
CWD = "/home/user/project"


def envelope_line(payload: Any, *, event_id: str | None = None, captured_ns: int | None = None,
                  source: str = envelope.SOURCE_CLAUDE_CODE, host: str = "testhost") -> bytes:
    obj = {
        envelope.FIELD_VERSION: envelope.FORMAT_VERSION,
        envelope.FIELD_EVENT_ID: event_id or uuid.uuid4().hex,
        envelope.FIELD_CAPTURED_NS: captured_ns if captured_ns is not None else time.time_ns(),
        envelope.FIELD_SOURCE: source,
        envelope.FIELD_HOST: host,
        envelope.FIELD_PAYLOAD: payload,
    }
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def defect_line(raw: bytes, defect: str) -> bytes:
    import base64

    obj = {
        envelope.FIELD_VERSION: envelope.FORMAT_VERSION,
        envelope.FIELD_EVENT_ID: uuid.uuid4().hex,
        envelope.FIELD_CAPTURED_NS: time.time_ns(),
        envelope.FIELD_SOURCE: envelope.SOURCE_CLAUDE_CODE,
        envelope.FIELD_HOST: "testhost",
        envelope.FIELD_DEFECT: defect,
        envelope.FIELD_RAW_B64: base64.b64encode(raw).decode(),
    }
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def spool_path(paths: Paths, hour: str | None = None, host: str = "testhost") -> Path:
    paths.spool.mkdir(parents=True, exist_ok=True)
    stamp = hour or time.strftime("%Y%m%d%H", time.gmtime())
    return paths.spool / envelope.spool_file_name(stamp, host)


def append(path: Path, *lines: bytes) -> None:
    with open(path, "ab") as fh:
        for line in lines:
            fh.write(line)


def read_lake(paths: Paths) -> list[dict[str, Any]]:
    """Every row in the lake (all partitions), ordered by capture time then event id."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for file in sorted(paths.events.glob("date=*/*.parquet")):
        date = file.parent.name.split("=", 1)[1]
        for row in pq.read_table(file).to_pylist():
            row["_date"] = date
            row["_file"] = file.name
            rows.append(row)
    rows.sort(key=lambda r: (r["captured_at"], r["event_id"]))
    return rows


def read_quarantine(paths: Paths) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for file in sorted(paths.quarantine.glob("quarantine-*.jsonl")):
        out.extend(json.loads(line) for line in file.read_text().splitlines())
    return out


def cc(event: str, **fields: Any) -> dict[str, Any]:
    """A Claude Code 2.1.x-shaped payload (fields as observed with 2.1.328)."""
    base = {"session_id": SESSION, "transcript_path": TRANSCRIPT, "cwd": CWD, "hook_event_name": event}
    base.update(fields)
    return base
