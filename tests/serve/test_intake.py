"""The seed's event API: bodies validated, written to the spool with the capture envelope, never blocking."""

from __future__ import annotations

import threading
import time

from hooks import envelope
from learning import serve, serve_intake
from serve_helpers import StaticRouter, connect, post_json, read_spool


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_events_land_in_the_spool_with_the_envelope(service, paths):
    conn = connect(service)
    status, body = post_json(conn, "/api/traces/start", {"user_request": "deploy the billing service",
                                                          "session_id": "remote-1", "context": {"team": "pay"}})
    assert status == 202
    trace_id = body["correlation_id"]
    assert trace_id and body["kind"] == "UserPromptSubmit"
    calls = [
        ("/api/traces/routing", {"correlation_id": trace_id, "selected_agent": "deployer", "confidence": 0.8,
                                 "confidence_components": {"trigger": 0.9, "historical": 0.7},
                                 "strategy": "rules", "alternatives": [{"agent": "sre", "confidence": 0.4}]}),
        ("/api/traces/hook", {"correlation_id": trace_id, "hook_name": "pre-deploy-check", "duration_ms": 41.5,
                              "exit_code": 0}),
        ("/api/traces/endpoint", {"correlation_id": trace_id, "service": "billing", "endpoint": "/v1/deploy",
                                  "method": "POST", "status_code": 503, "duration_ms": 1200}),
    ]
    for path, payload in calls:
        status, answer = post_json(conn, path, payload)
        assert status == 202, answer
        assert answer["correlation_id"] == trace_id
    _wait_for(lambda: len(read_spool(paths)) == 4)
    lines = read_spool(paths)
    assert len(lines) == 4
    for line in lines:
        assert line[envelope.FIELD_VERSION] == envelope.FORMAT_VERSION
        assert line[envelope.FIELD_SOURCE] == serve_intake.INTAKE_SOURCE == envelope.SOURCE_SERVER
        assert len(line[envelope.FIELD_EVENT_ID]) >= 16
    payloads = [line["payload"] for line in lines]
    assert [p["hook_event_name"] for p in payloads] == ["UserPromptSubmit", "routing_decision", "hook_execution",
                                                          "endpoint_call"]
    start, routing, hook, endpoint = payloads
    assert start["prompt"] == "deploy the billing service" and start["prompt_id"] == trace_id
    assert start["context"] == {"team": "pay"}
    assert routing["selected_agent"] == "deployer" and routing["alternatives"][0]["agent"] == "sre"
    assert hook["status"] == "ok" and hook["duration_ms"] == 41.5
    assert endpoint["status"] == "error" and endpoint["status_code"] == 503
    assert service.service.metrics.snapshot()["events_written"] == 4


def test_full_queue_refuses_with_503_and_never_blocks(paths):
    gate = threading.Event()
    written: list[dict] = []

    def slow_append(payload, source, _paths):
        gate.wait(10)  # the disk is stuck
        written.append(payload)

    metrics = serve.Metrics()
    writer = serve.EventWriter(paths, metrics, maxsize=2, append=slow_append)
    holder = serve.RouterHolder(paths, loader=lambda p, prev: StaticRouter())
    running = serve.start_server(paths, holder=holder, writer=writer)
    try:
        conn = connect(running)
        statuses = []
        started = time.perf_counter()
        for i in range(6):
            status, body = post_json(conn, "/api/traces/hook", {"correlation_id": f"c{i}", "hook_name": "lint"})
            statuses.append(status)
            if i == 0:  # let the writer take the first event and get stuck on it
                _wait_for(lambda: writer.queue.qsize() == 0)
        elapsed = time.perf_counter() - started
        assert elapsed < 2.0  # nothing waited for the stuck writer
        # One event is being written (held by the gate), two wait in the queue, the rest are refused.
        assert statuses.count(202) == 3 and statuses.count(503) == 3
        assert "queue is full" in body["error"]
        snapshot = running.service.metrics.snapshot()
        assert snapshot["events_dropped"] == 3 and snapshot["events_accepted"] == 3
        # Match/route keep answering while the writer is stuck.
        assert post_json(conn, "/route", {"request": "flaky"})[0] == 200
    finally:
        gate.set()
        running.stop()
    assert [p["correlation_id"] for p in written] == ["c0", "c1", "c2"]


def test_unknown_fields_are_kept_and_ids_checked():
    payload = serve_intake.to_payload("hook", {"correlation_id": "c", "hook_name": "fmt", "team": "core"})
    assert payload["team"] == "core" and payload["hook_event_name"] == "hook_execution"
    for bad in ({"correlation_id": "", "hook_name": "x"}, {"correlation_id": "c" * 500, "hook_name": "x"},
                {"correlation_id": "c", "hook_name": "x", "hook_event_name": "Stop"}):
        try:
            serve_intake.to_payload("hook", bad)
        except serve_intake.IntakeError:
            continue
        raise AssertionError(f"accepted {bad}")
