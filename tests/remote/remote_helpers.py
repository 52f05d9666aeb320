"""Helpers for the remote-lake tests (importable from worker subprocesses too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Obviously fake credentials; the tests assert they never reach a log or the lake.
ACCESS_KEY = "AKIAHOOKLAKETESTKEY01"
SECRET_KEY = "hooklake-test-secret-Zx9Qv7Lm3Np5Rt8Wy2"
BUCKET = "team-lake"


@dataclass
class S3Server:
    server: Any
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self.server.start()


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
