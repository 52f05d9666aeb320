"""ASGI middleware (Starlette, FastAPI, any ASGI 3 app): one ``endpoint_call`` event per request.

The request's correlation headers (or ``traceparent``) make it a child step of the caller's
trace; without them the request starts a new trace. The handler runs inside that context, so an
httpx client with :func:`hooks.sdk.httpx_hooks.event_hooks` called from it propagates the trace.
Events are queued for a writer thread after the last response byte has been sent: the response
never waits on the spool, and no failure of the middleware reaches the application.

    app.add_middleware(CorrelationMiddleware, service="billing")   # Starlette / FastAPI
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hooks.sdk.bodies import DEFAULT_MAX_BODY_BYTES, BodyCapture
from hooks.sdk.context import CorrelationContext, new_context, reset_current, set_current
from hooks.sdk.events import KIND_ENDPOINT_CALL, emit_background, now_iso
from hooks.sdk.headers import (
    HEADER_CORRELATION_ID,
    HEADER_EXECUTION_ID,
    extract,
    format_traceparent,
    retries_from,
)

log = logging.getLogger("hooklake.sdk")


class CorrelationMiddleware:
    """Pure ASGI middleware; ``service`` names the service (default: the Host header)."""

    def __init__(
        self,
        app: Any,
        service: str | None = None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        capture_bodies: bool = True,
        exclude_paths: tuple[str, ...] = (),
        paths: Any = None,
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.capture_bodies = capture_bodies
        self.exclude_paths = tuple(exclude_paths)
        self.paths = paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path", "") in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        call = _Call.start(self, scope)
        if call is None:  # could not even read the scope: stay out of the way
            await self.app(scope, receive, send)
            return
        token = set_current(call.ctx)
        try:
            await self.app(scope, call.wrap_receive(receive), call.wrap_send(send))
        except BaseException as exc:
            call.failed(exc)
            raise
        finally:
            reset_current(token)
            call.finish()


class _Call:
    """Book-keeping of one request; every method swallows its own errors."""

    def __init__(self, mw: CorrelationMiddleware, scope: dict, ctx: CorrelationContext) -> None:
        self.mw = mw
        self.ctx = ctx
        self.scope = scope
        self.started = time.perf_counter()
        self.timestamp = now_iso()
        self.status_code: int | None = None
        self.response_type: str | None = None
        self.error: str | None = None
        self.error_type: str | None = None
        self.request_body = BodyCapture(mw.max_body_bytes)
        self.response_body = BodyCapture(mw.max_body_bytes)
        self.request_type: str | None = None
        self.done = False
        self.retries = retries_from(scope.get("headers") or [])

    @classmethod
    def start(cls, mw: CorrelationMiddleware, scope: dict) -> "_Call | None":
        try:
            headers = scope.get("headers") or []
            incoming = extract(headers)
            ctx = incoming.child() if incoming is not None else new_context()
            call = cls(mw, scope, ctx)
            for name, value in headers:
                if name.lower() == b"content-type":
                    call.request_type = value.decode("latin-1")
            return call
        except Exception:
            log.warning("hooklake: middleware could not start a call record", exc_info=True)
            return None

    def wrap_receive(self, receive: Any) -> Any:
        async def wrapped() -> dict:
            message = await receive()
            try:
                if self.mw.capture_bodies and message.get("type") == "http.request":
                    self.request_body.add(message.get("body"))
            except Exception:
                pass
            return message

        return wrapped

    def wrap_send(self, send: Any) -> Any:
        async def wrapped(message: dict) -> None:
            last = False
            try:
                kind = message.get("type")
                if kind == "http.response.start":
                    self.status_code = int(message.get("status", 0))
                    headers = list(message.get("headers") or [])
                    for name, value in headers:
                        if name.lower() == b"content-type":
                            self.response_type = value.decode("latin-1")
                    present = {bytes(name).lower() for name, _ in headers}
                    extra = [
                        (HEADER_CORRELATION_ID.lower().encode(), self.ctx.correlation_id.encode("latin-1", "replace")),
                        (HEADER_EXECUTION_ID.lower().encode(), (self.ctx.execution_id or "").encode("latin-1", "replace")),
                        (b"traceparent", format_traceparent(self.ctx).encode("latin-1")),
                    ]
                    headers += [(name, value) for name, value in extra if value and name not in present]
                    message = {**message, "headers": headers}
                elif kind == "http.response.body":
                    if self.mw.capture_bodies:
                        self.response_body.add(message.get("body"))
                    last = not message.get("more_body", False)
            except Exception:
                pass
            await send(message)
            if last:
                self.finish()

        return wrapped

    def failed(self, exc: BaseException) -> None:
        self.error = str(exc) or type(exc).__name__
        self.error_type = type(exc).__name__

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            duration_ms = (time.perf_counter() - self.started) * 1000.0
            status_code = self.status_code
            if status_code is None and self.error is not None:
                status_code = 500
            error, error_type = self.error, self.error_type
            if error is None and status_code is not None and status_code >= 400:
                error = f"HTTP {status_code}"
                error_type = f"http_{status_code // 100}xx"
            scope = self.scope
            service = self.mw.service
            if service is None:
                for name, value in scope.get("headers") or []:
                    if name.lower() == b"host":
                        service = value.decode("latin-1")
                        break
            query = scope.get("query_string") or b""
            fields = {
                "service": service,
                "endpoint": scope.get("path"),
                "method": scope.get("method"),
                "query": query.decode("latin-1") if query else None,
                "side": "server",
                "status_code": status_code,
                "status": "error" if error is not None else "ok",
                "duration_ms": round(duration_ms, 3),
                "error": error,
                "error_type": error_type,
                "retries": self.retries if self.retries is not None else 0,
                "request_bytes": self.request_body.size,
                "response_bytes": self.response_body.size,
                "timestamp": self.timestamp,
            }
            if self.mw.capture_bodies:
                fields["request_body"] = self.request_body.value(self.request_type)
                fields["response_body"] = self.response_body.value(self.response_type)
            emit_background(KIND_ENDPOINT_CALL, fields, ctx=self.ctx, paths=self.mw.paths)
        except Exception:
            log.warning("hooklake: could not record endpoint call", exc_info=True)
