"""Helpers for the remote-lake tests (importable from worker subprocesses too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_events(home: Path, n: int, tag: str, *, session: str | None = None) -> list[str]:
    """``n`` Claude Code hook events (prompt, tool calls, stop) spooled for ``home``; their ids."""
    from hooklake.paths import Paths
    from hooks.spool import append_event

    paths = Paths.resolve(home)
    sid = session or f"sess-{tag}"
    ids = []
    for i in range(n):
        pid = f"p-{tag}-{i // 4}"
        kind = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop")[i % 4]
        payload: dict[str, Any] = {"session_id": sid, "prompt_id": pid, "hook_event_name": kind,
                                   "cwd": "/home/user/project", "transcript_path": f"/t/{sid}.jsonl"}
        if kind == "UserPromptSubmit":
            payload["prompt"] = f"fix the failing test number {i} on {tag}"
        elif kind in ("PreToolUse", "PostToolUse"):
            payload.update(tool_name="Bash", tool_use_id=f"tu-{tag}-{i // 4}", tool_input={"command": "pytest -q"})
            if kind == "PostToolUse":
                payload.update(tool_response={"stdout": "ok"}, duration_ms=12)
        event_id = append_event(payload, "claude_code", paths)
        assert event_id is not None
        ids.append(event_id)
    return ids


def remote_event_ids(uri: str) -> list[str]:
    """Every event_id in the remote lake's live files (duplicates kept, so doubles show)."""
    import io

    import pyarrow.parquet as pq

    from lakehouse import remote

    loc = remote.parse_lake_uri(uri)
    client = remote.s3_client()
    snap = remote.snapshot(client, loc)
    ids: list[str] = []
    for rel in sorted(snap.files):
        if rel.startswith("events/"):
            table = pq.read_table(io.BytesIO(remote.get_bytes(client, loc, rel)), columns=["event_id"])
            ids.extend(table.column("event_id").to_pylist())
    return ids
