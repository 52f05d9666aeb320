"""A real chain: a hook (through the wrapper) calls service A, which calls service B.

Both services are Starlette apps with the middleware, served by uvicorn on 127.0.0.1; the hook
script and service A call out through httpx with the client hooks. After ``hooklake ingest`` every
event of the chain -- the hook's own Claude Code event, the wrapper's hook_execution, both
client-side and both server-side endpoint calls -- carries the one correlation id, and the
parent/execution ids link each hop to the one before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from sdk_helpers import serve, spool_payloads
from hooks import sdk, spool

PROMPT_ID = "ce1b2eb9-8e2c-49cd-986f-9b38cb0b1322"
SESSION_ID = "398cf602-1fb3-441a-8988-b6db05378e07"
REPO = Path(__file__).resolve().parents[2]


def inventory_app() -> Starlette:
    async def item(request):
        return JSONResponse({"id": request.path_params["item_id"], "stock": 3, "api_key": "s3cr3t"})

    app = Starlette(routes=[Route("/items/{item_id}", item)])
    app.add_middleware(sdk.CorrelationMiddleware, service="inventory")
    return app


def orders_app(inventory_url: str) -> Starlette:
    async def create(request):
        body = await request.json()
        async with httpx.AsyncClient(event_hooks=sdk.async_event_hooks(service="inventory")) as client:
            stock = (await client.get(f"{inventory_url}/items/{body['item']}")).json()
        return JSONResponse({"ok": stock["stock"] > 0}, status_code=201)

    app = Starlette(routes=[Route("/orders", create, methods=["POST"])])
    app.add_middleware(sdk.CorrelationMiddleware, service="orders")
    return app


HOOK_SCRIPT = textwrap.dedent(
    """
    import json, sys, httpx
    from hooks import sdk
    payload = json.load(sys.stdin)
    with httpx.Client(event_hooks=sdk.event_hooks(service="orders")) as client:
        r = client.post(sys.argv[1] + "/orders", json={"item": payload["tool_input"]["item"], "password": "hunter2"})
    sdk.flush()
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}}))
    sys.exit(0 if r.status_code == 201 else 1)
    """
)


def test_hook_to_endpoint_chain_shares_one_correlation_id(paths, tmp_path):
    from ingest.compactor import run_ingest

    hook_payload = {"session_id": SESSION_ID, "prompt_id": PROMPT_ID, "hook_event_name": "PreToolUse",
                    "tool_name": "mcp__shop__order", "tool_use_id": "toolu_chain1", "tool_input": {"item": "42"},
                    "cwd": str(tmp_path), "transcript_path": str(tmp_path / "t.jsonl")}
    script = tmp_path / "order_hook.py"
    script.write_text(HOOK_SCRIPT)
    with serve(inventory_app()) as inventory_url, serve(orders_app(inventory_url)) as orders_url:
        spool.capture_bytes(json.dumps(hook_payload).encode(), paths=paths)  # hooklake's own capture hook
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-S", "-I", str(REPO / "hooks" / "wrapper.py"), "--", sys.executable, str(script), orders_url],
            input=json.dumps(hook_payload).encode(), capture_output=True, env=env, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "allow"
        assert sdk.flush(10)

    events = spool_payloads(paths)
    calls = [p for p in events if p["hook_event_name"] == "endpoint_call"]
    assert len(calls) == 4  # hook->orders (client, server), orders->inventory (client, server)
    assert {p.get("correlation_id", p.get("prompt_id")) for p in events} == {PROMPT_ID}
    execution = next(p for p in events if p["hook_event_name"] == "hook_execution")
    by = {(p["service"], p["side"]): p for p in calls}
    # each hop is the child of the one before
    assert by[("orders", "client")]["parent_id"] == execution["execution_id"]
    assert by[("orders", "server")]["parent_id"] == by[("orders", "client")]["execution_id"]
    assert by[("inventory", "client")]["parent_id"] == by[("orders", "server")]["execution_id"]
    assert by[("inventory", "server")]["parent_id"] == by[("inventory", "client")]["execution_id"]
    server = by[("orders", "server")]
    assert server["endpoint"] == "/orders" and server["method"] == "POST" and server["status_code"] == 201
    assert server["status"] == "ok" and server["duration_ms"] > 0
    assert server["request_body"]["password"] == "[REDACTED]" and server["request_body"]["item"] == "42"
    assert by[("inventory", "server")]["response_body"]["api_key"] == "[REDACTED]"

    report = run_ingest(paths)
    assert report.as_dict()["quarantined"] == 0
    import duckdb

    rows = duckdb.sql(
        f"SELECT event_kind, correlation_id, mcp_server, mcp_tool, status, duration_ms, parent_id, execution_id, source "
        f"FROM read_parquet('{paths.events}/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    kinds = sorted(r[0] for r in rows)
    assert kinds == ["endpoint_call"] * 4 + ["hook_execution", "tool_start"]
    assert {r[1] for r in rows} == {PROMPT_ID}
    lake_calls = {(r[2], r[3]) for r in rows if r[0] == "endpoint_call"}
    assert lake_calls == {("orders", "/orders"), ("inventory", "/items/42")}
    assert all(r[4] == "ok" and r[5] > 0 for r in rows if r[0] == "endpoint_call")
