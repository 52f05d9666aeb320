"""The hand-made edge-case lake: every scenario the lakehouse must get right, as hook payloads."""

from __future__ import annotations

import hashlib
from typing import Any

from lakehouse_testkit import Spool, fail, hook, now_ns, post, pre, prompt, stop  # noqa: F401

from hooklake.paths import Paths

IDS: dict[str, Any] = {
    # sessions
    "S_FAIL": "sess-fail", "S_OPEN": "sess-open", "S_MOVED": "sess-moved", "S_NEST": "sess-nest",
    "S_BG": "sess-bg", "S_OLD": "sess-old", "S_X": "sess-x", "S_Y": "sess-y", "S_DUP": "sess-dup",
    "S_SDK": "sess-sdk", "S_STOPFAIL": "sess-stopfail", "S_INT": "sess-int",
    # traces
    "P_FAIL": "p-fail", "P_OPEN": "p-open", "P_MOVED1": "p-moved-1", "P_MOVED2": "p-moved-2", "P_NEST": "p-nest",
    "P_BG": "p-bg", "P_BG_DONE": "p-bg-done", "P_X": "p-x", "P_Y": "p-y", "P_DUP": "p-dup", "P_SDK": "p-sdk",
    "P_STOPFAIL": "p-stopfail", "P_INT": "p-int",
    # subagents
    "A1": "a0000000000000001", "A2": "a0000000000000002", "B1": "b0000000000000001",
}
IDS["P_OLD1"] = hashlib.md5(f"{IDS['S_OLD']}:1".encode()).hexdigest()
IDS["P_OLD2"] = hashlib.md5(f"{IDS['S_OLD']}:2".encode()).hexdigest()
NOTIFICATION = ("<task-notification>\n<task-id>{aid}</task-id>\n<tool-use-id>{tu}</tool-use-id>\n"
                "<status>completed</status>\n<summary>Agent \"scan\" completed</summary>\n</task-notification>")


def build(paths: Paths) -> dict[str, Any]:
    i = IDS
    sp = Spool()
    # 1. a failing tool, then Stop
    s, p = i["S_FAIL"], i["P_FAIL"]
    sp.add(hook("SessionStart", s, None, source="startup"))
    sp.add(prompt(s, p, "Run the check script and tell me whether it passes."))
    sp.add(pre(s, p, "Bash", "tu-fail-1", {"command": "echo hi"}))
    sp.add(post(s, p, "Bash", "tu-fail-1", {"command": "echo hi"}, duration_ms=39))
    sp.add(pre(s, p, "Bash", "tu-fail-2", {"command": "./check.sh"}))
    sp.add(fail(s, p, "Bash", "tu-fail-2", "Exit code 3\nerror in /src/app/check.py line 42 (id 0xdeadbeef1)",
                tool_input={"command": "./check.sh"}))
    sp.add(stop(s, p))
    # 2. nested subagents two deep (main -> planner -> researcher)
    s, p = i["S_NEST"], i["P_NEST"]
    a1, a2 = i["A1"], i["A2"]
    agent_in_1 = {"description": "plan", "prompt": "Plan the change", "subagent_type": "planner"}
    agent_in_2 = {"description": "research", "prompt": "Find the parser", "subagent_type": "researcher"}
    sp.add(prompt(s, p, "Refactor the parser with a plan."))
    sp.add(pre(s, p, "Agent", "tu-nest-1", agent_in_1))
    sp.add(hook("SubagentStart", s, p, agent_id=a1, agent_type="planner"))
    sp.add(pre(s, p, "Agent", "tu-nest-2", agent_in_2, agent_id=a1, agent_type="planner"))
    sp.add(hook("SubagentStart", s, p, agent_id=a2, agent_type="researcher"))
    sp.add(pre(s, p, "Grep", "tu-nest-3", {"pattern": "parse"}, agent_id=a2, agent_type="researcher"))
    sp.add(post(s, p, "Grep", "tu-nest-3", {"pattern": "parse"}, agent_id=a2, agent_type="researcher"))
    sp.add(hook("SubagentStop", s, p, agent_id=a2, agent_type="researcher", stop_hook_active=False))
    sp.add(post(s, p, "Agent", "tu-nest-2", agent_in_2, response={"status": "completed", "agentId": a2},
                duration_ms=900, agent_id=a1, agent_type="planner"))
    sp.add(hook("SubagentStop", s, p, agent_id=a1, agent_type="planner", stop_hook_active=False))
    sp.add(post(s, p, "Agent", "tu-nest-1", agent_in_1, response={"status": "completed", "agentId": a1},
                duration_ms=1500))
    sp.add(stop(s, p))
    # 3. background subagent completing in a later prompt
    s, p, b1 = i["S_BG"], i["P_BG"], i["B1"]
    bg_in = {"description": "scan", "prompt": "Scan the repo", "subagent_type": "scanner", "run_in_background": True}
    sp.add(prompt(s, p, "Scan the repository in the background."))
    sp.add(pre(s, p, "Agent", "tu-bg-1", bg_in))
    sp.add(hook("SubagentStart", s, p, agent_id=b1, agent_type="scanner"))
    sp.add(post(s, p, "Agent", "tu-bg-1", bg_in, response={"status": "async_launched", "agentId": b1},
                duration_ms=12))
    sp.add(stop(s, p))
    sp.add(pre(s, p, "Bash", "tu-bg-2", {"command": "find ."}, agent_id=b1, agent_type="scanner"))
    sp.add(post(s, p, "Bash", "tu-bg-2", {"command": "find ."}, agent_id=b1, agent_type="scanner"))
    sp.add(hook("SubagentStop", s, p, agent_id=b1, agent_type="scanner", stop_hook_active=False))
    sp.add(prompt(s, i["P_BG_DONE"], NOTIFICATION.format(aid=b1, tu="tu-bg-1")))
    sp.add(stop(s, i["P_BG_DONE"]))
    # 4. old version: no prompt_id, no tool_use_id (ingest derives the trace; tools pair by order)
    s = i["S_OLD"]
    sp.add(prompt(s, None, "old version prompt one"))
    sp.add(pre(s, None, "Bash", None, {"command": "make"}))
    sp.add(pre(s, None, "Read", None, {"file_path": "/a"}))
    sp.add(post(s, None, "Bash", None, {"command": "make"}, duration_ms=70))
    sp.add(fail(s, None, "Read", None, "File does not exist.", tool_input={"file_path": "/a"}))
    sp.add(stop(s, None))
    sp.add(prompt(s, None, "old version prompt two"))
    sp.add(stop(s, None))
    # 5. two sessions interleaved in time
    x, px, y, py = i["S_X"], i["P_X"], i["S_Y"], i["P_Y"]
    sp.add(prompt(x, px, "session x prompt"), host="hostB")
    sp.add(prompt(y, py, "session y prompt"), host="hostC")
    sp.add(pre(x, px, "Edit", "tu-x-1", {"file_path": "/x"}), host="hostB")
    sp.add(pre(y, py, "Write", "tu-y-1", {"file_path": "/y"}), host="hostC")
    sp.add(post(y, py, "Write", "tu-y-1", {"file_path": "/y"}), host="hostC")
    sp.add(post(x, px, "Edit", "tu-x-1", {"file_path": "/x"}), host="hostB")
    sp.add(pre(y, py, "Read", "tu-y-2", {"file_path": "/y"}), host="hostC")
    sp.add(stop(x, px), host="hostB")
    sp.add(post(y, py, "Read", "tu-y-2", {"file_path": "/y"}), host="hostC")
    sp.add(stop(y, py), host="hostC")
    # 6. duplicates: the same event id twice, and a transcript import of the same tool call
    s, p = i["S_DUP"], i["P_DUP"]
    sp.add(prompt(s, p, "duplicated events"))
    dup_id = sp.add(pre(s, p, "Bash", "tu-dup-1", {"command": "true"}))
    sp.add(pre(s, p, "Bash", "tu-dup-1", {"command": "true"}), event_id=dup_id)
    sp.add(post(s, p, "Bash", "tu-dup-1", {"command": "true"}))
    sp.add(pre(s, p, "Bash", "tu-dup-1", {"command": "true"}), source="transcript")
    sp.add(post(s, p, "Bash", "tu-dup-1", {"command": "true"}), source="transcript")
    sp.add(prompt(s, p, "duplicated events"), source="transcript")
    sp.add(stop(s, p))
    # 7. MCP tools, SDK endpoint call (correlation id only), routing decision, wrapped hooks, gates
    s, p = i["S_SDK"], i["P_SDK"]
    sp.add(prompt(s, p, "Add 2 and 3, then bill it."))
    sp.add({"hook_event_name": "routing_decision", "correlation_id": p, "session_id": s,
            "selected_agent": "calculator", "confidence": 0.82, "strategy": "pattern",
            "alternatives": [{"agent": "general-purpose", "confidence": 0.4}], "reason": "math prompt",
            "duration_ms": 3.5, "status": "ok"}, source="sdk")
    sp.add(pre(s, p, "mcp__calc__add", "tu-sdk-1", {"a": 2, "b": 3}))
    sp.add({"hook_event_name": "hook_execution", "correlation_id": p, "session_id": s, "hook_name": "lint-guard",
            "hook_event": "PreToolUse", "tool_name": "mcp__calc__add", "exit_code": 1, "decision": "error",
            "status": "error", "duration_ms": 35.0, "timed_out": False, "error": "lint failed: 3 problems",
            "quality_gates": [{"name": "lint", "passed": False}]}, source="wrapper")
    sp.add(post(s, p, "mcp__calc__add", "tu-sdk-1", {"a": 2, "b": 3}, duration_ms=7))
    sp.add(pre(s, p, "mcp__db__query", "tu-sdk-2", {"sql": "select 1"}))
    sp.add(fail(s, p, "mcp__db__query", "tu-sdk-2", "MCP error: request timed out after 30000ms",
                tool_input={"sql": "select 1"}))
    sp.add({"hook_event_name": "endpoint_call", "correlation_id": p, "service": "billing-api",
            "endpoint": "/v1/invoices", "method": "POST", "side": "client", "status_code": 503, "status": "error",
            "duration_ms": 250.0, "error": "HTTP 503", "error_type": "http_5xx", "retries": 2}, source="sdk")
    sp.add({"hook_event_name": "intelligence", "correlation_id": p, "session_id": s,
            "intelligence_type": "quality_gate", "name": "coverage", "passed": False, "status": "failed"},
           source="sdk")
    sp.add({"hook_event_name": "intelligence", "correlation_id": p, "session_id": s,
            "intelligence_type": "rag_query", "name": "docs", "results": 4, "status": "ok"}, source="sdk")
    sp.add(stop(s, p))
    # 8. StopFailure (API error) and a user interrupt
    s, p = i["S_STOPFAIL"], i["P_STOPFAIL"]
    sp.add(prompt(s, p, "this turn dies on an API error"))
    sp.add(hook("StopFailure", s, p, error="API Error: 529 overloaded"))
    s, p = i["S_INT"], i["P_INT"]
    sp.add(prompt(s, p, "user presses escape"))
    sp.add(pre(s, p, "Bash", "tu-int-1", {"command": "sleep 100"}))
    sp.add(fail(s, p, "Bash", "tu-int-1", "Interrupted by user", interrupt=True))
    # 9. a trace left without Stop whose session moved on (later prompt)
    s = i["S_MOVED"]
    sp.add(prompt(s, i["P_MOVED1"], "first, abandoned"))
    sp.add(pre(s, i["P_MOVED1"], "Read", "tu-moved-1", {"file_path": "/m"}))
    sp.add(prompt(s, i["P_MOVED2"], "second, finished"))
    sp.add(stop(s, i["P_MOVED2"]))
    sp.ingest(paths)
    # 10. a trace still running: recent events, no Stop (its own ingest run, at the current time)
    s, p = i["S_OPEN"], i["P_OPEN"]
    recent = Spool(now_ns() - 60 * 1_000_000_000)
    recent.add(prompt(s, p, "still working on it"))
    recent.add(pre(s, p, "Bash", "tu-open-1", {"command": "make test"}))
    recent.ingest(paths)
    return IDS
