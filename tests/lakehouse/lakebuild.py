"""Build test lakes from hook payloads: spool envelope lines, then the real ingest.

``write_spool`` wraps payloads exactly as the capture hook does (hooks.envelope format) with
increasing capture times; ``ingest_lake`` runs ``ingest.compactor.run_ingest``.
"""

from __future__ import annotations

import json
import uuid
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


def ingest_lake(paths: Paths) -> None:
    """The real ingest (spool -> Parquet lake)."""
    from ingest.compactor import run_ingest

    run_ingest(paths=paths, progress=False)
