"""httpx client instrumentation: propagate the trace and record one ``endpoint_call`` per request.

    client = httpx.Client(event_hooks=event_hooks(service="billing"))
    client = httpx.AsyncClient(event_hooks=async_event_hooks(service="billing"))
    client = instrument(httpx.Client())          # also records connection errors

The request hook makes each request a child step of the current context (or starts a trace),
injects the headers, and notes the start time in ``request.extensions``; the response hook
records status and duration (time to response headers). Response bodies are kept only when small
and announced by ``Content-Length`` (reading a streamed body would defeat streaming). Connection
errors never reach response hooks: :func:`instrument` also wraps the transport to record them.
httpx is imported only by the caller; this module needs nothing beyond the standard library.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hooks.sdk.bodies import DEFAULT_MAX_BODY_BYTES, sanitise_body
from hooks.sdk.context import current, new_context
from hooks.sdk.events import KIND_ENDPOINT_CALL, emit_background, now_iso
from hooks.sdk.headers import inject, retries_from

log = logging.getLogger("hooklake.sdk")

_EXT = "hooklake"
MAX_READ_BYTES = 64 * 1024


class _Recorder:
    def __init__(self, service: str | None, max_body_bytes: int, capture_bodies: bool, paths: Any) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.capture_bodies = capture_bodies
        self.paths = paths

    def on_request(self, request: Any) -> None:
        try:
            parent = current()
            ctx = parent.child() if parent is not None else new_context()
            inject(ctx, request.headers)
            request.extensions[_EXT] = {"ctx": ctx, "t0": time.perf_counter(), "ts": now_iso(), "done": False}
        except Exception:
            log.warning("hooklake: could not instrument request", exc_info=True)

    def wants_body(self, response: Any) -> bool:
        try:
            if not self.capture_bodies:
                return False
            length = response.headers.get("content-length")
            return length is not None and int(length) <= MAX_READ_BYTES
        except Exception:
            return False

    def on_response(self, response: Any) -> None:
        try:
            request = response.request
            state = request.extensions.get(_EXT)
            if not state or state["done"]:
                return
            body = None
            if self.capture_bodies:
                try:
                    body = sanitise_body(response.content, response.headers.get("content-type"), self.max_body_bytes)
                except Exception:  # body not read (streamed or too big): keep only its size
                    body = None
            status_code = int(response.status_code)
            error = f"HTTP {status_code}" if status_code >= 400 else None
            self._record(request, state, status_code=status_code, error=error,
                         error_type=f"http_{status_code // 100}xx" if error else None, response_body=body,
                         response_bytes=_int(response.headers.get("content-length")))
        except Exception:
            log.warning("hooklake: could not record response", exc_info=True)

    def on_error(self, request: Any, exc: BaseException) -> None:
        try:
            state = request.extensions.get(_EXT)
            if not state or state["done"]:
                return
            self._record(request, state, status_code=None, error=str(exc) or type(exc).__name__,
                         error_type=type(exc).__name__, response_body=None, response_bytes=None)
        except Exception:
            log.warning("hooklake: could not record request error", exc_info=True)

    def _record(self, request: Any, state: dict, *, status_code: int | None, error: str | None,
                error_type: str | None, response_body: Any, response_bytes: int | None) -> None:
        state["done"] = True
        url = request.url
        request_body = None
        request_bytes = None
        if self.capture_bodies:
            try:
                content = request.content
                request_bytes = len(content)
                request_body = sanitise_body(content, request.headers.get("content-type"), self.max_body_bytes)
            except Exception:  # a streaming request body has no .content
                request_body = None
        retries = retries_from(request.headers)
        fields = {
            "service": self.service if self.service is not None else url.netloc.decode("ascii", "replace"),
            "endpoint": url.path,
            "method": request.method,
            "url": str(url.copy_with(query=None)),
            "side": "client",
            "status_code": status_code,
            "status": "error" if error is not None else "ok",
            "duration_ms": round((time.perf_counter() - state["t0"]) * 1000.0, 3),
            "error": error,
            "error_type": error_type,
            "retries": retries if retries is not None else 0,
            "request_bytes": request_bytes,
            "response_bytes": response_bytes,
            "request_body": request_body,
            "response_body": response_body,
            "timestamp": state["ts"],
        }
        emit_background(KIND_ENDPOINT_CALL, fields, ctx=state["ctx"], paths=self.paths)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def event_hooks(
    service: str | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    capture_bodies: bool = True,
    paths: Any = None,
) -> dict[str, list]:
    """``event_hooks=`` for ``httpx.Client``."""
    rec = _Recorder(service, max_body_bytes, capture_bodies, paths)

    def on_response(response: Any) -> None:
        if rec.wants_body(response):
            try:
                response.read()
            except Exception:
                pass
        rec.on_response(response)

    return {"request": [rec.on_request], "response": [on_response]}


def async_event_hooks(
    service: str | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    capture_bodies: bool = True,
    paths: Any = None,
) -> dict[str, list]:
    """``event_hooks=`` for ``httpx.AsyncClient``."""
    rec = _Recorder(service, max_body_bytes, capture_bodies, paths)

    async def on_request(request: Any) -> None:
        rec.on_request(request)

    async def on_response(response: Any) -> None:
        if rec.wants_body(response):
            try:
                await response.aread()
            except Exception:
                pass
        rec.on_response(response)

    return {"request": [on_request], "response": [on_response]}


class _ErrorRecordingTransport:
    """Wraps a transport: exceptions (connection refused, timeouts) are recorded, then re-raised."""

    def __init__(self, inner: Any, rec: _Recorder) -> None:
        self._inner = inner
        self._rec = rec

    def handle_request(self, request: Any) -> Any:
        try:
            return self._inner.handle_request(request)
        except Exception as exc:
            self._rec.on_error(request, exc)
            raise

    async def handle_async_request(self, request: Any) -> Any:
        try:
            return await self._inner.handle_async_request(request)
        except Exception as exc:
            self._rec.on_error(request, exc)
            raise

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def instrument(client: Any, service: str | None = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               capture_bodies: bool = True, paths: Any = None) -> Any:
    """Add the hooks to an existing ``httpx.Client``/``AsyncClient`` and record transport errors too."""
    is_async = hasattr(client, "aclose") and type(client).__name__ == "AsyncClient"
    factory = async_event_hooks if is_async else event_hooks
    hooks = factory(service, max_body_bytes=max_body_bytes, capture_bodies=capture_bodies, paths=paths)
    current_hooks = client.event_hooks
    client.event_hooks = {
        "request": list(current_hooks.get("request", [])) + hooks["request"],
        "response": list(current_hooks.get("response", [])) + hooks["response"],
    }
    rec = _Recorder(service, max_body_bytes, capture_bodies, paths)
    try:
        client._transport = _ErrorRecordingTransport(client._transport, rec)  # noqa: SLF001 - httpx has no public setter
    except Exception:
        log.warning("hooklake: could not wrap the client's transport; connection errors go unrecorded")
    return client
