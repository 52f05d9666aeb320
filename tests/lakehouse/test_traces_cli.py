"""Trace assembly, the timeline, and the traces / trace / analytics / feedback commands."""

from __future__ import annotations

import json
from typing import Any

import pytest
import lakebuild
import scenarios

import lakehouse
from hooklake.cli import main
from hooklake.paths import Paths
from lakehouse.traces import assemble_trace, render_tree, trace_timeline

I = scenarios.IDS


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    paths = Paths.resolve(tmp_path_factory.mktemp("edge-lake-cli"))
    scenarios.build(paths)
    return paths


@pytest.fixture
def edge(shared_lake: Paths, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """The shared edge-case lake, read-only tests (the CLI finds it through $HOOKLAKE_HOME)."""
    monkeypatch.setenv("HOOKLAKE_HOME", str(shared_lake.home))
    return shared_lake


@pytest.fixture
def own_edge(paths: Paths) -> Paths:
    """A private copy for tests that add events."""
    scenarios.build(paths)
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def find(node: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for child in node["children"]:
        if child["kind"] == kind and child["name"] == name:
            return child
    raise AssertionError(f"no {kind} {name} under {node.get('correlation_id') or node.get('name')}")


def test_nested_tree_and_background_completion(edge: Paths) -> None:
    con = lakehouse.connect(edge.home, learning=False)
    tree = assemble_trace(I["P_NEST"], con)
    assert tree["kind"] == "trace" and tree["status"] == "success" and tree["criteria"]["completed"]
    call1 = find(tree, "tool", "Agent")
    sub1 = find(call1, "trace", "planner")
    assert sub1["correlation_id"] == I["A1"] and sub1["relation"] == "subagent" and sub1["depth"] == 1
    sub2 = find(find(sub1, "tool", "Agent"), "trace", "researcher")
    assert sub2["correlation_id"] == I["A2"] and sub2["depth"] == 2
    assert find(sub2, "tool", "Grep")["status"] == "ok"
    assert [c["name"] for c in sub2["children"] if c["kind"] == "hook"] == [
        "SubagentStart", "PreToolUse", "PostToolUse", "SubagentStop"]
    # background run: child and the later completion prompt both hang under the Agent call
    bg = assemble_trace(I["P_BG"], con)
    call = find(bg, "tool", "Agent")
    relations = sorted((c["relation"], c["correlation_id"]) for c in call["children"])
    assert relations == [("background_completion", I["P_BG_DONE"]), ("subagent", I["B1"])]
    text = render_tree(bg)
    assert "subagent scanner" in text and "background completion" in text
    # a subagent asked for directly gives its own subtree
    assert assemble_trace(I["A1"], con)["correlation_id"] == I["A1"]
    assert assemble_trace("no-such-trace", con) is None


def test_timeline_is_chronological_and_complete(edge: Paths) -> None:
    con = lakehouse.connect(edge.home, learning=False)
    events = trace_timeline(I["P_NEST"], con)
    times = [e["event_time"] for e in events]
    assert times == sorted(times)
    assert [e["event_name"] for e in events][:3] == ["UserPromptSubmit", "PreToolUse", "SubagentStart"]
    assert {e["trace_id"] for e in events} == {I["P_NEST"], I["A1"], I["A2"]}
    assert len(events) == 12


def test_traces_command_json_and_filters(edge: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "traces", "--json", "--limit", "50")
    assert code == 0
    listed = json.loads(out)
    by_id = {r["correlation_id"]: r for r in listed}
    assert len(listed) == 15 and I["A1"] not in by_id  # main traces only by default
    nest = by_id[I["P_NEST"]]
    assert {k: nest[k] for k in ("status", "success", "tool_calls", "tool_failures", "subagents", "agents")} == {
        "status": "success", "success": True, "tool_calls": 1, "tool_failures": 0, "subagents": 1,
        "agents": ["planner"]}
    assert nest["prompt"] == "Refactor the parser with a plan." and nest["session_id"] == I["S_NEST"]
    assert listed[0]["correlation_id"] == I["P_OPEN"]  # latest first
    code, out, _ = run(capsys, "traces", "--json", "--status", "interrupted")
    assert sorted(r["correlation_id"] for r in json.loads(out)) == sorted([I["P_INT"], I["P_MOVED1"]])
    code, out, _ = run(capsys, "traces", "--json", "--session", I["S_Y"])
    assert [r["correlation_id"] for r in json.loads(out)] == [I["P_Y"]]
    code, out, _ = run(capsys, "traces", "--json", "--since", "1h")
    assert [r["correlation_id"] for r in json.loads(out)] == [I["P_OPEN"]]
    code, out, _ = run(capsys, "traces", "--limit", "3")
    assert code == 0 and out.splitlines()[0].startswith("started (UTC)") and len(out.splitlines()) == 4


def test_trace_command(edge: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "trace", I["P_NEST"], "--json")
    tree = json.loads(out)
    assert code == 0 and tree["correlation_id"] == I["P_NEST"] and tree["children"]
    code, out, _ = run(capsys, "trace", I["P_NEST"])
    assert "subagent planner" in out and "    subagent researcher" in out.replace("      ", "    ")
    code, out, err = run(capsys, "trace", "nope")
    assert code == 1 and "no trace with correlation id 'nope'" in err and "Traceback" not in err
    code, out, _ = run(capsys, "trace", I["P_FAIL"], "--timeline", "--json")
    assert [e["event_name"] for e in json.loads(out)][-1] == "Stop"


def test_analytics_command(edge: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "analytics", "tool_performance", "--json")
    perf = {r["tool_name"]: r for r in json.loads(out)}
    assert code == 0 and perf["Bash"]["calls"] == 7
    code, out, _ = run(capsys, "analytics", "endpoint_reliability", "--limit", "1")
    assert code == 0 and len(out.splitlines()) == 2
    code, _, err = run(capsys, "analytics", "no_such_view")
    assert code == 1 and "unknown view 'no_such_view'" in err


def test_feedback_overrides_inference(own_edge: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    edge = own_edge
    con = lakehouse.connect(edge.home, learning=False)
    assert con.execute("SELECT success FROM execution_traces WHERE correlation_id = ?",
                       [I["P_X"]]).fetchone()[0] is True
    code, out, _ = run(capsys, "feedback", I["P_X"], "bad", "--note", "wrong file edited", "--json")
    assert code == 0 and json.loads(out)["ingested"] is True
    code, out, _ = run(capsys, "feedback", I["P_MOVED1"], "good")
    assert code == 0
    con = lakehouse.connect(edge.home, learning=False)
    x = con.execute("SELECT success, user_confirmation, success_score, success_source, feedback_note "
                    "FROM execution_traces WHERE correlation_id = ?", [I["P_X"]]).fetchone()
    assert x == (False, False, 0.95, "feedback", "wrong file edited")
    moved = con.execute("SELECT success, status, success_source FROM execution_traces WHERE correlation_id = ?",
                        [I["P_MOVED1"]]).fetchone()
    assert moved == (True, "interrupted", "feedback")
    # the feedback events did not create traces of their own
    assert con.execute("SELECT count(*) FROM execution_traces").fetchone()[0] == 18
    code, _, err = run(capsys, "feedback", "unknown-trace", "good")
    assert code == 1 and "no trace with correlation id 'unknown-trace'" in err


def test_commands_on_an_empty_lake(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "traces", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "traces")
    assert code == 0 and out.strip() == "no traces"
    code, out, _ = run(capsys, "analytics", "agent_success_rates", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "retention", "--older-than", "soon")
    assert code == 1 and "is not a duration" in err


def test_timeline_keeps_events_across_partition_days(paths: Paths) -> None:
    """The timeline reads only the partition days around the trace, yet keeps every event of a trace
    that runs over midnight, with an unrelated trace of the same session on another day."""
    from lakehouse_testkit import Spool, pre, post, prompt, stop

    day_ns = 86_400 * 1_000_000_000
    midnight = (lakebuild.T0_NS // day_ns + 1) * day_ns
    spool = Spool()
    spool.add(prompt("s-night", "p-night", "rebuild the index overnight"), at_ns=midnight - 60_000_000_000)
    spool.add(pre("s-night", "p-night", "Bash", "tu-night"), at_ns=midnight - 1_000_000_000)
    spool.add(post("s-night", "p-night", "Bash", "tu-night"), at_ns=midnight + 2_000_000_000)
    spool.add(stop("s-night", "p-night"), at_ns=midnight + 3_000_000_000)
    spool.add(prompt("s-night", "p-later", "and again next week"), at_ns=midnight + 7 * day_ns)
    spool.add(stop("s-night", "p-later"), at_ns=midnight + 7 * day_ns + 1_000_000_000)
    spool.ingest(paths)
    assert len(list(paths.events.glob("date=*"))) == 3
    con = lakehouse.connect(paths.home, learning=False)
    night = trace_timeline("p-night", con)
    assert [e["event_name"] for e in night] == ["UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"]
    assert [e["event_name"] for e in trace_timeline("p-later", con)] == ["UserPromptSubmit", "Stop"]
