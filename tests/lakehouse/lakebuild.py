"""Build test lakes from hook payloads: spool envelope lines, then the real ingest.

``write_spool`` wraps payloads exactly as the capture hook does (hooks.envelope format) with
increasing capture times; ``ingest_lake`` runs ``ingest.compactor.run_ingest``. Until that module
exists the lake is written by ``_fallback_rows`` (a small canonical-row converter kept only for
that case).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hooklake.paths import Paths
from hooks import envelope

T0_NS = 1_790_000_000_000_000_000  # 2026-09-21


def envelope_line(payload: dict[str, Any], captured_ns: int, source: str = "claude_code", host: str = "hostA",
                  event_id: str | None = None) -> str:
    obj = {
        envelope.FIELD_VERSION: envelope.FORMAT_VERSION,
        envelope.FIELD_EVENT_ID: event_id or uuid.uuid4().hex,
        envelope.FIELD_CAPTURED_NS: captured_ns,
        envelope.FIELD_SOURCE: source,
        envelope.FIELD_HOST: host,
        envelope.FIELD_PAYLOAD: payload,
    }
    return json.dumps(obj, separators=(",", ":"))


def write_spool(paths: Paths, lines: list[str], host: str = "hostA", hour: str = "2026092100") -> Path:
    paths.spool.mkdir(parents=True, exist_ok=True)
    target = paths.spool / envelope.spool_file_name(hour, host)
    with open(target, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    return target


def have_real_ingest() -> bool:
    try:
        from ingest.compactor import run_ingest  # noqa: F401
    except ImportError:
        return False
    return True


def ingest_lake(paths: Paths) -> None:
    if have_real_ingest():
        from ingest.compactor import run_ingest

        run_ingest(paths=paths, progress=False)
        return
    _fallback_ingest(paths)


# ---------------------------------------------------------------------------------------------
# Fallback converter (only while ingest.compactor is absent)
# ---------------------------------------------------------------------------------------------


def _fallback_ingest(paths: Paths) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest.schema import COLUMN_NAMES, arrow_schema, kind_for, mcp_parts

    rows = []
    ordinals: dict[str, int] = {}
    current: dict[str, str] = {}
    lines = []
    for spool in sorted(paths.spool.glob("*.jsonl")):
        for raw in spool.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                lines.append(json.loads(raw))
    lines.sort(key=lambda o: o["captured_ns"])
    for obj in lines:
        p = obj["payload"]
        name = p.get("hook_event_name")
        kind = kind_for(name)
        sid = p.get("session_id")
        cid = p.get("prompt_id") or p.get("correlation_id")
        if kind == "prompt" and cid is None and sid:
            ordinals[sid] = ordinals.get(sid, 0) + 1
            cid = hashlib.md5(f"{sid}:{ordinals[sid]}".encode()).hexdigest()
        if cid is None and sid and kind != "session_start":
            cid = current.get(sid)
        if kind == "prompt" and sid:
            current[sid] = cid
        ts = datetime.fromtimestamp(obj["captured_ns"] / 1e9, tz=timezone.utc)
        if isinstance(p.get("timestamp"), str):
            ts = datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00"))
        server, tool = mcp_parts(p.get("tool_name"))
        if server is None and kind in ("endpoint_call",):
            server, tool = p.get("service"), p.get("endpoint")
        status = None
        if kind in ("tool_end", "stop"):
            status = "ok"
        elif kind == "tool_failure":
            status = "interrupted" if p.get("is_interrupt") else "error"
        elif kind == "stop_failure":
            status = "error"
        elif name in ("endpoint_call", "routing_decision", "hook_execution", "intelligence", "feedback", "custom"):
            if p.get("error"):
                status = "error"
            elif isinstance(p.get("status"), str):
                status = {"timeout": "error", "failed": "error"}.get(p["status"], p["status"])
        err = p.get("error")
        if isinstance(err, dict):
            err = err.get("message")
        row = dict.fromkeys(COLUMN_NAMES)
        row.update(
            schema_version=1, event_id=obj["event_id"], source=obj["source"], host=obj["host"],
            captured_at=datetime.fromtimestamp(obj["captured_ns"] / 1e9, tz=timezone.utc), event_time=ts,
            event_name=name, event_kind=kind, session_id=sid, prompt_id=p.get("prompt_id"),
            correlation_id=cid, root_id=p.get("root_id") or cid, parent_id=p.get("parent_id"),
            agent_id=p.get("agent_id"), agent_type=p.get("agent_type"), tool_name=p.get("tool_name"),
            tool_use_id=p.get("tool_use_id"), mcp_server=server, mcp_tool=tool,
            duration_ms=float(p["duration_ms"]) if isinstance(p.get("duration_ms"), (int, float)) else None,
            status=status, error_message=err if isinstance(err, str) else None,
            prompt_text=p.get("prompt") if kind == "prompt" else None, cwd=p.get("cwd"),
            transcript_path=p.get("transcript_path"), permission_mode=p.get("permission_mode"),
            payload=json.dumps(p), redactions=0, ingest_id="fallback",
        )
        rows.append(row)
    by_date: dict[str, list[dict]] = {}
    for row in rows:
        by_date.setdefault(row["event_time"].strftime("%Y-%m-%d"), []).append(row)
    for date, items in by_date.items():
        folder = paths.events / f"date={date}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(items, schema=arrow_schema())
        pq.write_table(table, folder / f"part-fallback-{uuid.uuid4().hex[:8]}.parquet", compression="zstd")
    for spool in paths.spool.glob("*.jsonl"):
        spool.unlink()
