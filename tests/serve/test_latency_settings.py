"""Settings of the service that only matter for latency: the startup objects are kept out of the
cyclic garbage collector while it runs, loopback TCP answers are not held back by Nagle's
algorithm, and answers are serialised without deep copies yet equal to ``as_dict()``."""

from __future__ import annotations

import gc
import http.client
import json
import socket

from serve_helpers import start_static
from learning import serve


def test_startup_objects_are_frozen_while_the_service_runs(paths):
    before = gc.get_freeze_count()
    running = start_static(paths)
    try:
        assert gc.get_freeze_count() > before
    finally:
        running.stop()
    assert gc.get_freeze_count() <= before  # stop gives them back to the collector
    unfrozen = gc.get_freeze_count()
    running = start_static(paths, config=serve.ServiceConfig(freeze_gc=False))
    try:
        assert gc.get_freeze_count() == unfrozen
    finally:
        running.stop()


def test_tcp_connections_disable_nagle(paths, monkeypatch):
    seen: list[int] = []
    original = serve._Handler.setup

    def setup(self):
        original(self)
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(serve._Handler, "setup", setup)
    running = start_static(paths, host="127.0.0.1", port=0)
    try:
        conn = http.client.HTTPConnection(*running.address, timeout=10)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        running.stop()
    assert seen and all(seen)


def test_router_answers_serialise_like_as_dict():
    from learning.router import Match, RouteDecision

    match = Match("p1", 2, "debugger", 0.7, 0.8, {"semantic": 0.9}, "why", True, "fitted", "debugging", "fix it",
                  ["debugger"], ["Read", "Edit"], ["svc/ep"], 4, "active")
    decision = RouteDecision("debugger", 0.8, "learned_pattern", "p1", {"agents": ["debugger"], "tools": ["Read"]},
                             {"semantic": 0.9}, "why", "cid", 0.5, True, {"intent": "debugging", "confidence": 0.7},
                             [{"agent": "main", "confidence": 0.1}])
    for obj in (match, decision):
        fast = serve._as_dict(obj)
        assert fast == obj.as_dict()
        assert json.loads(json.dumps(fast)) == obj.as_dict()
