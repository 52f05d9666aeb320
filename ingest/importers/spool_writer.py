"""Batched spool writer for importers: deterministic event ids, whole lines per write.

Live producers append one event per ``write()`` (hooks.spool). An import may produce millions of
events, so it writes batches of whole lines in one ``write()`` each on an ``O_APPEND`` descriptor
(a regular-file append is atomic on Linux, so a concurrent hook line never lands inside a batch).
The event id is chosen by the importer (a hash of file identity and position), which is what makes
re-importing the same history idempotent once ingest drops duplicate event ids.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from hooks import envelope

BATCH_BYTES = 1 << 20


def stable_id(*parts: Any) -> str:
    """32 hex digits from the parts (the envelope's event-id shape)."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _host() -> str:
    from hooks.spool import host_name

    return host_name()


class SpoolWriter:
    """``add(payload, event_id)`` many times, then ``close()`` (also a context manager)."""

    def __init__(self, spool_dir: Path, source: str) -> None:
        self.spool_dir = Path(spool_dir)
        self.source = source
        self.host = _host()
        self._buffer: list[bytes] = []
        self._size = 0
        self.written = 0

    def add(self, payload: dict[str, Any], event_id: str) -> None:
        line = {
            envelope.FIELD_VERSION: envelope.FORMAT_VERSION,
            envelope.FIELD_EVENT_ID: event_id,
            envelope.FIELD_CAPTURED_NS: time.time_ns(),
            envelope.FIELD_SOURCE: self.source,
            envelope.FIELD_HOST: self.host,
            envelope.FIELD_PAYLOAD: payload,
        }
        data = (json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode(
            "utf-8", "surrogatepass"
        )
        self._buffer.append(data)
        self._size += len(data)
        self.written += 1
        if self._size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        self._size = 0
        self.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d%H", time.gmtime())
        path = self.spool_dir / envelope.spool_file_name(stamp, self.host)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "SpoolWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
