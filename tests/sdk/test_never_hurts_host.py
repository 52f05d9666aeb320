"""The SDK never raises into the host and never makes a response wait on the spool."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from sdk_helpers import serve, spool_payloads
from hooks import sdk
from hooks.sdk import events as sdk_events
from hooklake.paths import Paths

REPO = Path(__file__).resolve().parents[2]


def app_with(middleware_kwargs: dict | None = None) -> Starlette:
    async def ok(request):
        return PlainTextResponse("fine")

    async def boom(request):
        raise RuntimeError("handler exploded")

    async def teapot(request):
        return JSONResponse({"error": "short and stout"}, status_code=418)

    app = Starlette(routes=[Route("/ok", ok), Route("/boom", boom), Route("/teapot", teapot)])
    app.add_middleware(sdk.CorrelationMiddleware, service="svc", **(middleware_kwargs or {}))
    return app


def test_broken_spool_dir_costs_events_not_requests(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the home folder should be")
    monkeypatch.setenv("HOOKLAKE_HOME", str(blocker))
    assert sdk.emit("custom", {"x": 1}) is False
    assert sdk.log_routing_decision("planner", reason="r", trigger_confidence=0.5) is False
    assert sdk.emit("endpoint_call", {"bad": object()}) is False  # not serialisable: dropped, no raise
    with serve(app_with()) as url:
        with httpx.Client(event_hooks=sdk.event_hooks()) as client:
            assert client.get(f"{url}/ok").text == "fine"
            assert client.get(f"{url}/teapot").status_code == 418
        assert sdk.flush(5)


def test_slow_spool_does_not_delay_the_response(monkeypatch, hooklake_home):
    """The event is written by the writer thread after the response has gone out."""
    import hooks.spool

    real = hooks.spool.append_event

    def slow_append(payload, source, paths=None):
        time.sleep(1.0)
        return real(payload, source, paths=paths)

    monkeypatch.setattr(hooks.spool, "append_event", slow_append)
    with serve(app_with()) as url:
        started = time.perf_counter()
        with httpx.Client() as client:
            for _ in range(3):
                assert client.get(f"{url}/ok").status_code == 200
        elapsed = time.perf_counter() - started
        assert elapsed < 1.0, f"responses waited on the spool ({elapsed:.2f}s)"
        assert sdk.flush(10)
    calls = spool_payloads(Paths.resolve(hooklake_home))
    assert len(calls) == 3 and all(c["endpoint"] == "/ok" and c["status"] == "ok" for c in calls)


def test_errors_and_status_codes_are_recorded(hooklake_home):
    with serve(app_with({"max_body_bytes": 8})) as url:
        with httpx.Client(headers={"X-Retry-Count": "2"}) as client:
            teapot = client.get(f"{url}/teapot")
            assert teapot.status_code == 418
            assert client.get(f"{url}/boom").status_code == 500
        assert sdk.flush(5)
    by = {p["endpoint"]: p for p in spool_payloads(Paths.resolve(hooklake_home))}
    assert by["/teapot"]["status"] == "error" and by["/teapot"]["error_type"] == "http_4xx"
    assert by["/teapot"]["response_body"].startswith('{"error"') and "truncated" in by["/teapot"]["response_body"]
    assert by["/boom"]["status"] == "error" and by["/boom"]["error"] == "handler exploded"
    assert by["/boom"]["error_type"] == "RuntimeError" and by["/boom"]["status_code"] == 500
    assert by["/boom"]["retries"] == 2
    # the response tells the caller which trace and step it was
    assert teapot.headers["x-correlation-id"] == by["/teapot"]["correlation_id"]
    assert teapot.headers["x-execution-id"] == by["/teapot"]["execution_id"]
    assert teapot.headers["traceparent"].split("-")[2] == by["/teapot"]["execution_id"]


def test_client_connection_error_recorded_and_reraised(hooklake_home):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = sdk.instrument(httpx.Client(), service="down")
    try:
        client.get(f"http://127.0.0.1:{port}/x")
        raise AssertionError("expected a connection error")
    except httpx.ConnectError:
        pass
    finally:
        client.close()
    assert sdk.flush(5)
    [call] = spool_payloads(Paths.resolve(hooklake_home))
    assert call["service"] == "down" and call["status"] == "error" and call["error_type"] == "ConnectError"
    assert "status_code" not in call and call["side"] == "client"


def test_routing_decision_fields(hooklake_home):
    with sdk.use_context(correlation_id="trace-1", session_id="s-1") as ctx:
        assert sdk.log_routing_decision(
            "code-reviewer", reason="diff touches auth", trigger_confidence=0.9, context_confidence=0.6,
            capability_confidence=0.8, historical_confidence=0.5, alternatives=[("planner", 0.4), "debugger"],
            strategy="pattern", pattern_id="pat-7", cache_hit=True, duration_ms=3.5,
        )
    [p] = spool_payloads(Paths.resolve(hooklake_home))
    assert p["hook_event_name"] == "routing_decision" and p["selected_agent"] == "code-reviewer"
    assert p["correlation_id"] == "trace-1" and p["parent_id"] == ctx.execution_id and p["session_id"] == "s-1"
    assert abs(p["confidence"] - 0.7) < 1e-9
    assert p["confidence_components"] == {"trigger": 0.9, "context": 0.6, "capability": 0.8, "historical": 0.5}
    assert p["alternatives"] == [{"agent": "planner", "confidence": 0.4}, {"agent": "debugger"}]
    assert p["strategy"] == "pattern" and p["pattern_id"] == "pat-7" and p["cache_hit"] is True and p["duration_ms"] == 3.5


def test_queued_events_are_flushed_at_exit(hooklake_home):
    """A process that exits right after queueing still writes its events (atexit flush)."""
    code = textwrap.dedent(
        """
        from hooks.sdk.events import emit_background
        for i in range(50):
            emit_background("custom", {"i": i})
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
    got = spool_payloads(Paths.resolve(hooklake_home))
    assert sorted(p["i"] for p in got) == list(range(50))


def test_full_queue_drops_without_blocking(monkeypatch):
    monkeypatch.setattr(sdk_events, "QUEUE_SIZE", 2)
    writer = sdk_events._BackgroundWriter()
    gate = __import__("threading").Event()
    monkeypatch.setattr(sdk_events, "_write", lambda *a: gate.wait(5))
    results = [writer.put({"i": i}, "sdk", None) for i in range(10)]
    gate.set()
    assert results.count(False) >= 7 and writer.dropped == results.count(False)
    assert writer.flush(5)


def test_async_client_instrumented(hooklake_home):
    import asyncio

    async def main(url: str) -> tuple:
        async with sdk.instrument(httpx.AsyncClient(), service="svc-async") as client:
            with sdk.use_context(correlation_id="trace-async") as ctx:
                response = await client.get(f"{url}/ok")
            return response.status_code, ctx

    with serve(app_with()) as url:
        status, ctx = asyncio.run(main(url))
        assert status == 200 and sdk.flush(5)
    calls = {p["side"]: p for p in spool_payloads(Paths.resolve(hooklake_home))}
    assert calls["client"]["service"] == "svc-async" and calls["client"]["parent_id"] == ctx.execution_id
    assert calls["server"]["parent_id"] == calls["client"]["execution_id"]
    assert {c["correlation_id"] for c in calls.values()} == {"trace-async"}
