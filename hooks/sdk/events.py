"""Record SDK events in the spool without ever hurting the host program.

Two ways out: :func:`emit` writes now (one ``append_event`` call, one ``write()``), and
:func:`emit_background` puts the event on a bounded queue that a daemon thread drains, so a
request handler never waits on the disk. A full queue drops the event with one warning per burst;
:func:`flush` (also run at interpreter exit) waits for the queue to drain. Nothing here raises:
a broken spool folder, an unserialisable value or a missing module costs the event, not the host.
Standard library only.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import logging
import os
import queue
import threading
from typing import Any

from hooks.sdk.context import CorrelationContext, current

log = logging.getLogger("hooklake.sdk")

SOURCE_SDK = "sdk"

#: The SDK event kinds this package produces (a test checks they are ``ingest.schema.SDK_KINDS``).
KIND_ENDPOINT_CALL = "endpoint_call"
KIND_ROUTING_DECISION = "routing_decision"
KIND_HOOK_EXECUTION = "hook_execution"
KIND_INTELLIGENCE = "intelligence"
KIND_API_RESPONSE = "api_response"
KIND_CUSTOM = "custom"
KINDS = frozenset(
    {KIND_ENDPOINT_CALL, KIND_ROUTING_DECISION, KIND_HOOK_EXECUTION, KIND_INTELLIGENCE, KIND_API_RESPONSE, KIND_CUSTOM}
)

QUEUE_SIZE = 10_000


def now_iso() -> str:
    """UTC timestamp in the shape Claude Code transcripts use (``2026-11-27T09:24:56.493Z``)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def build_payload(kind: str, fields: dict[str, Any] | None, ctx: CorrelationContext | None) -> dict[str, Any]:
    """The spool payload: ``hook_event_name`` = kind, correlation fields, then the kind's fields.

    A kind outside :data:`KINDS` is recorded as ``custom`` with ``custom_name`` keeping the name.
    """
    payload: dict[str, Any] = {}
    if kind in KINDS:
        payload["hook_event_name"] = kind
    else:
        payload["hook_event_name"] = KIND_CUSTOM
        payload["custom_name"] = kind
    context = ctx if ctx is not None else current()
    if context is not None:
        payload.update(context.as_fields())
    payload.setdefault("timestamp", now_iso())
    if fields:
        for key, value in fields.items():
            if value is not None:
                payload[key] = value
    return payload


def _write(payload: dict[str, Any], source: str, paths: Any) -> bool:
    try:
        from hooks.spool import append_event
    except Exception:  # the capture package is missing or broken: record nothing, never raise
        log.warning("hooklake: hooks.spool unavailable; event dropped", exc_info=True)
        return False
    try:
        json.dumps(payload, default=str)
    except Exception:
        log.warning("hooklake: event is not serialisable; dropped")
        return False
    try:
        result = append_event(payload, source, paths=paths)
    except Exception:  # append_event promises not to raise; keep the promise here too
        log.warning("hooklake: spool write failed; event dropped", exc_info=True)
        return False
    return result is not None  # append_event returns the event id, or None when nothing was written


def emit(
    kind: str,
    fields: dict[str, Any] | None = None,
    *,
    ctx: CorrelationContext | None = None,
    source: str = SOURCE_SDK,
    paths: Any = None,
) -> bool:
    """Write one event now. True when it reached the spool; never raises."""
    try:
        return _write(build_payload(kind, fields, ctx), source, paths)
    except Exception:
        log.warning("hooklake: could not record %s event", kind, exc_info=True)
        return False


class _BackgroundWriter:
    """One daemon thread draining a bounded queue into the spool."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[dict[str, Any], str, Any] | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = -1
        self.dropped = 0
        self._warned = False

    def _ensure_thread(self) -> None:
        # After fork() the child inherits the queue but not the thread: start a fresh one.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            if self._pid != os.getpid():
                self._queue = queue.Queue(maxsize=QUEUE_SIZE)
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="hooklake-sdk-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is not None:
                    _write(*item)
            except Exception:
                pass
            finally:
                self._queue.task_done()

    def put(self, payload: dict[str, Any], source: str, paths: Any) -> bool:
        self._ensure_thread()
        try:
            self._queue.put_nowait((payload, source, paths))
        except queue.Full:
            self.dropped += 1
            if not self._warned:
                self._warned = True
                log.warning("hooklake: SDK event queue full (%d); dropping events", QUEUE_SIZE)
            return False
        self._warned = False
        return True

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every queued event is written; False on timeout."""
        if self._thread is None or self._pid != os.getpid():
            return True
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        return done.wait(timeout)


_writer = _BackgroundWriter()
_atexit_registered = False


def emit_background(
    kind: str,
    fields: dict[str, Any] | None = None,
    *,
    ctx: CorrelationContext | None = None,
    source: str = SOURCE_SDK,
    paths: Any = None,
) -> bool:
    """Queue one event for the writer thread; returns at once. False when dropped."""
    global _atexit_registered
    try:
        if not _atexit_registered:
            atexit.register(flush)
            _atexit_registered = True
        return _writer.put(build_payload(kind, fields, ctx), source, paths)
    except Exception:
        log.warning("hooklake: could not queue %s event", kind, exc_info=True)
        return False


def flush(timeout: float | None = 5.0) -> bool:
    """Write every queued event (run at exit too). True when the queue drained in time."""
    try:
        return _writer.flush(timeout)
    except Exception:
        return False


def dropped_count() -> int:
    """Events dropped because the queue was full (since start-up)."""
    return _writer.dropped
