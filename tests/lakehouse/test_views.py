"""Every view over the hand-made edge-case lake (built through the real ingest), values asserted."""

from __future__ import annotations

from typing import Any

import pytest
import scenarios

import lakehouse
from hooklake.paths import Paths

I = scenarios.IDS


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    paths = Paths.resolve(tmp_path_factory.mktemp("edge-lake"))
    scenarios.build(paths)
    return paths


@pytest.fixture(scope="module", params=["rollup", "direct"])
def con(request: pytest.FixtureRequest, lake: Paths) -> Any:
    """The same assertions hold with the rollup cache and computing straight from Parquet."""
    c = lakehouse.connect(lake.home, refresh="auto" if request.param == "rollup" else "off")
    attached = c.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'rollup'").fetchone()[0]
    assert attached == (1 if request.param == "rollup" else 0)
    yield c
    c.close()


def rows(con: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def trace(con: Any, cid: str) -> dict[str, Any]:
    found = rows(con, "SELECT * FROM execution_traces WHERE correlation_id = ?", [cid])
    assert len(found) == 1, cid
    return found[0]


def test_one_row_per_trace_and_nothing_else(con: Any) -> None:
    ids = sorted(r["correlation_id"] for r in rows(con, "SELECT correlation_id FROM execution_traces"))
    expected = sorted([I[k] for k in I if k.startswith("P_")] + [I["A1"], I["A2"], I["B1"]])
    assert ids == expected


def test_failing_tool_trace(con: Any) -> None:
    t = trace(con, I["P_FAIL"])
    assert (t["status"], t["tool_calls"], t["tool_failures"]) == ("success", 2, 1)
    assert t["tool_sequence"] == ["Bash", "Bash"]
    assert t["completed"] and not t["no_errors"] and t["hooks_succeeded"] and t["no_timeouts"]
    assert t["success_score"] == pytest.approx(0.75)
    assert t["success"] is True  # 0.75 >= success_threshold 0.7 and completed
    assert t["error_type"] == "tool_error" and t["error_message"].startswith("Exit code 3")
    assert t["prompt_text"] == "Run the check script and tell me whether it passes."
    assert t["hook_sequence"] == ["UserPromptSubmit", "PreToolUse", "PostToolUse", "PreToolUse",
                                  "PostToolUseFailure", "Stop"]
    assert t["root_id"] == I["P_FAIL"] and t["parent_id"] is None and not t["is_subagent"]
    assert "host:hostA" in t["tags"] and '"cwd":"/home/user/project"' in t["context"]


def test_status_rules(con: Any) -> None:
    assert trace(con, I["P_OPEN"])["status"] == "in_progress"
    moved = trace(con, I["P_MOVED1"])
    assert moved["status"] == "interrupted" and moved["success"] is False and moved["completed_at"] is None
    assert trace(con, I["P_MOVED2"])["status"] == "success"
    assert trace(con, I["P_INT"])["status"] == "interrupted"
    failed = trace(con, I["P_STOPFAIL"])
    assert failed["status"] == "error" and failed["error_type"] == "stop_failure"
    assert failed["error_message"] == "API Error: 529 overloaded" and failed["success_score"] == pytest.approx(0.5)


def test_tool_calls_view(con: Any) -> None:
    got = {(r["correlation_id"], r["tool_use_id"]): r for r in rows(con, "SELECT * FROM tool_calls")}
    assert got[(I["P_FAIL"], "tu-fail-2")]["status"] == "error"
    assert got[(I["P_FAIL"], "tu-fail-1")]["duration_ms"] == 39
    assert got[(I["P_FAIL"], "tu-fail-1")]["tool_input"] == '{"command":"echo hi"}'
    assert got[(I["P_OPEN"], "tu-open-1")]["status"] == "in_progress"
    assert got[(I["P_MOVED1"], "tu-moved-1")]["status"] == "interrupted"
    assert got[(I["P_INT"], "tu-int-1")]["status"] == "interrupted" and got[(I["P_INT"], "tu-int-1")]["is_interrupt"]
    assert got[(I["P_SDK"], "tu-sdk-1")]["mcp_server"] == "calc" and got[(I["P_SDK"], "tu-sdk-1")]["mcp_tool"] == "add"
    nest = got[(I["P_NEST"], "tu-nest-1")]
    assert nest["subagent_type"] == "planner" and nest["response_agent_id"] == I["A1"]
    assert got[(I["A1"], "tu-nest-2")]["agent_id"] == I["A1"]
    # old version: no tool_use_id, paired by order within the trace
    old = sorted((r["tool_name"], r["status"], r["duration_ms"]) for r in
                 rows(con, "SELECT * FROM tool_calls WHERE correlation_id = ?", [I["P_OLD1"]]))
    assert old == [("Bash", "ok", 70), ("Read", "error", 100)]
    # duplicates (same event_id; transcript copy of the same call) count once
    assert len([k for k in got if k[0] == I["P_DUP"]]) == 1
    assert rows(con, "SELECT count(*) AS n FROM tool_calls")[0]["n"] == 18


def test_nested_subagents(con: Any) -> None:
    runs = {r["correlation_id"]: r for r in rows(con, "SELECT * FROM subagent_runs")}
    assert set(runs) == {I["A1"], I["A2"], I["B1"]}
    a1, a2 = runs[I["A1"]], runs[I["A2"]]
    assert (a1["parent_correlation_id"], a1["parent_tool_use_id"], a1["depth"], a1["agent_type"]) == (
        I["P_NEST"], "tu-nest-1", 1, "planner")
    assert (a2["parent_correlation_id"], a2["parent_tool_use_id"], a2["depth"], a2["agent_type"]) == (
        I["A1"], "tu-nest-2", 2, "researcher")
    assert a2["root_id"] == I["P_NEST"] and a1["root_id"] == I["P_NEST"]
    assert a1["status"] == "success" and a2["tool_sequence"] == ["Grep"]
    assert a1["prompt_text"] == "Plan the change" and a1["link_rule"] == "response"
    root = trace(con, I["P_NEST"])
    assert root["agents"] == ["planner"] and root["subagents"] == 1
    assert trace(con, I["A1"])["agents"] == ["researcher"]


def test_background_completion_linked(con: Any) -> None:
    b1 = rows(con, "SELECT * FROM subagent_runs WHERE correlation_id = ?", [I["B1"]])[0]
    assert b1["run_in_background"] and b1["parent_correlation_id"] == I["P_BG"] and b1["status"] == "success"
    done = trace(con, I["P_BG_DONE"])
    assert done["triggered_by_correlation_id"] == I["P_BG"] and done["triggered_by_tool_use_id"] == "tu-bg-1"
    assert "task-notification" in done["tags"]


def test_interleaved_sessions(con: Any) -> None:
    x, y = trace(con, I["P_X"]), trace(con, I["P_Y"])
    assert x["tool_sequence"] == ["Edit"] and y["tool_sequence"] == ["Write", "Read"]
    assert x["session_id"] == I["S_X"] and y["session_id"] == I["S_Y"]
    assert x["status"] == y["status"] == "success"


def test_events_deduplicated(con: Any) -> None:
    n = rows(con, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events WHERE session_id = ?", [I["S_DUP"]])[0]
    assert n["n"] == n["d"] == 4  # prompt, PreToolUse, PostToolUse, Stop (transcript twins dropped)
    assert rows(con, "SELECT count(*) AS n FROM events WHERE source = 'transcript'")[0]["n"] == 0


def test_sdk_trace_criteria(con: Any) -> None:
    t = trace(con, I["P_SDK"])
    assert t["status"] == "success" and t["success"] is False
    assert (t["no_errors"], t["hooks_succeeded"], t["quality_gates_passed"], t["no_timeouts"],
            t["intelligence_gathered"], t["within_performance_thresholds"]) == (False, False, False, False, True, True)
    assert t["success_score"] == pytest.approx(0.45)
    assert t["endpoints"] == ["calc/add", "db/query", "billing-api//v1/invoices"]
    assert t["error_type"] == "timeout"


def test_endpoint_calls_and_reliability(con: Any) -> None:
    calls = {(r["service"], r["endpoint"]): r for r in rows(con, "SELECT * FROM endpoint_calls")}
    assert set(calls) == {("calc", "add"), ("db", "query"), ("billing-api", "/v1/invoices")}
    assert calls[("calc", "add")]["status"] == "ok" and calls[("calc", "add")]["kind"] == "mcp"
    assert calls[("db", "query")]["error_type"] == "timeout"
    http = calls[("billing-api", "/v1/invoices")]
    assert (http["kind"], http["method"], http["status_code"], http["retries"], http["status"]) == (
        "http", "POST", 503, 2, "error")
    assert http["correlation_id"] == I["P_SDK"]  # SDK event with only a correlation id joins its trace
    rel = {(r["service"], r["endpoint"]): r for r in rows(con, "SELECT * FROM endpoint_reliability")}
    assert rel[("billing-api", "/v1/invoices")]["failed_calls"] == 1
    assert rel[("billing-api", "/v1/invoices")]["total_retries"] == 2
    assert rel[("calc", "add")]["success_rate"] == 1 and rel[("db", "query")]["timeouts"] == 1


def test_hook_executions_and_summary(con: Any) -> None:
    wrapped = rows(con, "SELECT * FROM hook_executions WHERE hook_type = 'wrapped'")
    assert len(wrapped) == 1
    w = wrapped[0]
    assert (w["hook_name"], w["hook_event"], w["exit_code"], w["status"], w["duration_ms"], w["quality_gates"],
            w["quality_gates_failed"], w["correlation_id"]) == ("lint-guard", "PreToolUse", 1, "error", 35.0, 1, 1,
                                                                 I["P_SDK"])
    intel = {r["hook_name"]: r for r in rows(con, "SELECT * FROM hook_executions WHERE hook_type = 'intelligence'")}
    assert intel["coverage"]["intelligence_type"] == "quality_gate" and intel["coverage"]["status"] == "error"
    assert intel["docs"]["status"] == "ok"
    capture = rows(con, "SELECT count(*) AS n FROM hook_executions WHERE hook_type = 'capture' AND correlation_id = ?",
                   [I["P_FAIL"]])[0]["n"]
    assert capture == 6
    summary = {(r["hook_name"], r["hook_type"]): r for r in rows(con, "SELECT * FROM hook_performance_summary")}
    lint = summary[("lint-guard", "wrapped")]
    assert (lint["executions"], lint["failures"], lint["avg_duration_ms"], lint["quality_gates_failed"]) == (1, 1, 35.0, 1)
    assert summary[("Stop", "capture")]["executions"] == 11
    assert summary[("Stop", "capture")]["success_rate"] == 1


def test_routing_decisions(con: Any) -> None:
    got = rows(con, "SELECT * FROM agent_routing_decisions ORDER BY decision_id")
    logged = [r for r in got if r["routing_strategy"] == "pattern"]
    assert len(logged) == 1
    assert (logged[0]["selected_agent"], logged[0]["confidence_score"], logged[0]["reasoning"],
            logged[0]["user_request"]) == ("calculator", 0.82, "math prompt", "Add 2 and 3, then bill it.")
    assert '"general-purpose"' in logged[0]["alternatives"]
    observed = {r["correlation_id"]: r for r in got if r["routing_strategy"] == "observed"}
    assert set(observed) == {I["P_NEST"], I["A1"], I["P_BG"]}
    assert observed[I["P_NEST"]]["selected_agent"] == "planner" and observed[I["P_NEST"]]["confidence_score"] is None
    assert observed[I["P_BG"]]["agents"] == ["scanner"]


def test_error_events(con: Any) -> None:
    got = {(r["correlation_id"], r["source_kind"]): r for r in rows(con, "SELECT * FROM error_events")}
    tool = got[(I["P_FAIL"], "tool")]
    assert tool["tool_name"] == "Bash" and tool["error_type"] == "tool_error"
    assert tool["error_template"] == "Exit code <n> error in <path> line <n> (id <hex>)"
    assert got[(I["P_STOPFAIL"], "stop")]["error_template"] == "API Error: <n> overloaded"
    endpoint_errors = [r for (c, k), r in got.items() if k == "endpoint"]
    assert len(rows(con, "SELECT * FROM error_events WHERE source_kind = 'endpoint'")) == 2
    assert {r["service"] for r in endpoint_errors} <= {"db", "billing-api"}
    hook_errors = rows(con, "SELECT * FROM error_events WHERE source_kind = 'hook' ORDER BY hook_name")
    assert [h["hook_name"] for h in hook_errors] == ["coverage", "lint-guard"]
    assert got[(I["P_OLD1"], "tool")]["error_message"] == "File does not exist."
    assert (I["P_INT"], "tool") not in got  # an interrupt is not an error


def test_tool_performance(con: Any) -> None:
    perf = {r["tool_name"]: r for r in rows(con, "SELECT * FROM tool_performance")}
    bash = perf["Bash"]
    assert (bash["calls"], bash["ok"], bash["errors"], bash["interrupted"], bash["in_progress"]) == (7, 4, 1, 1, 1)
    assert bash["success_rate"] == pytest.approx(round(4 / 6, 4))
    assert perf["Agent"]["calls"] == 3 and perf["Agent"]["max_duration_ms"] == 1500


def test_agent_success_rates(con: Any) -> None:
    rates = {r["agent_name"]: r for r in rows(con, "SELECT * FROM agent_success_rates")}
    assert set(rates) == {"main", "planner", "researcher", "scanner"}
    main = rates["main"]
    assert main["total_executions"] == 15 and main["in_progress"] == 1
    assert main["successful_executions"] == 10  # fail (0.75), nest, bg, bg-done, old x2, x, y, dup, moved-2
    assert main["failed_executions"] == 4
    assert rates["researcher"]["success_rate"] == 1


def test_session_summary(con: Any) -> None:
    ss = {r["session_id"]: r for r in rows(con, "SELECT * FROM session_summary")}
    assert len(ss) == 12
    nest = ss[I["S_NEST"]]
    assert (nest["traces"], nest["subagent_runs"], nest["tool_calls"], nest["agents"]) == (
        1, 2, 3, ["planner", "researcher"])
    moved = ss[I["S_MOVED"]]
    assert (moved["traces"], moved["successful_traces"], moved["success_rate"]) == (2, 1, 0.5)
    assert ss[I["S_FAIL"]]["start_source"] == "startup"
    assert ss[I["S_X"]]["hosts"] == ["hostB"] and ss[I["S_FAIL"]]["first_prompt"].startswith("Run the check")


def test_intermediate_views(con: Any) -> None:
    te = rows(con, "SELECT event_name, trace_id, in_subagent FROM trace_events WHERE session_id = ? "
                   "ORDER BY event_time", [I["S_NEST"]])
    assert [(r["event_name"], r["trace_id"]) for r in te[:4]] == [
        ("UserPromptSubmit", I["P_NEST"]), ("PreToolUse", I["P_NEST"]), ("SubagentStart", I["A1"]),
        ("PreToolUse", I["A1"])]
    links = {r["agent_id"]: r for r in rows(con, "SELECT * FROM subagent_links")}
    assert {k: (v["link_rule"], v["depth"], v["root_id"]) for k, v in links.items()} == {
        I["A1"]: ("response", 1, I["P_NEST"]), I["A2"]: ("response", 2, I["P_NEST"]),
        I["B1"]: ("response", 1, I["P_BG"])}
    assert links[I["B1"]]["run_in_background"] and links[I["A2"]]["call_prompt"] == "Find the parser"
    base = {r["tool_use_id"]: r for r in rows(con, "SELECT * FROM tool_calls_base WHERE tool_use_id IS NOT NULL")}
    assert base["tu-moved-1"]["open_status"] == "interrupted" and base["tu-moved-1"]["end_status"] is None
    assert base["tu-open-1"]["open_status"] == "in_progress"
    facts = {r["correlation_id"]: r for r in rows(con, "SELECT * FROM trace_facts")}
    assert facts[I["P_NEST"]]["child_traces"] == [I["A1"]] and facts[I["A1"]]["child_traces"] == [I["A2"]]
    assert facts[I["P_BG"]]["background_completions"] == [I["P_BG_DONE"]]
    assert facts[I["P_SDK"]]["routing_decisions"] == 1 and facts[I["P_SDK"]]["http_calls"] == 1
    assert facts[I["P_MOVED1"]]["moved_on"] and not facts[I["P_OPEN"]]["moved_on"]
    logged = rows(con, "SELECT * FROM routing_logged")
    assert [(r["correlation_id"], r["selected_agent"], r["routing_time_ms"], r["cache_hit"]) for r in logged] == [
        (I["P_SDK"], "calculator", 3.5, False)]
    sf = {r["session_id"]: r for r in rows(con, "SELECT * FROM session_facts")}
    assert sf[I["S_FAIL"]]["start_source"] == "startup" and sf[I["S_FAIL"]]["events"] == 7
    assert sf[I["S_X"]]["hosts"] == ["hostB"]
