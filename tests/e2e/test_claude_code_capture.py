"""End to end: the real Claude Code, hooklake's installed hooks, ingest, and the Parquet lake.

One module-scoped session does the expensive part once: a project whose settings already hold a
user's own hook (a recorder that keeps every payload verbatim), ``hooklake install --project``,
the scripted sessions of ``claude_scenarios.py`` run by the real Claude Code binary against the local
API stub, then ``hooklake ingest --json``. The tests then compare the lake with what the recorder
saw: the lake must hold exactly the events Claude Code fired, once each, correctly correlated.

Only the model is replaced (by ``anthropic_stub.py``): Claude Code, its hooks, the hook
processes, the spool, ingest and the Parquet files are all real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import claude_scenarios as scenarios
from anthropic_stub import AnthropicStub, Script
from claude_harness import ClaudeProject, ClaudeRun, read_recorded

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Scenarios run in one project, in this order; ``two_prompts`` continues its own first prompt.
CAPTURE_SCENARIOS = ("bash_and_write", "bash_failure", "subagent", "two_prompts", "mcp_tool",
                     "background_subagent")

#: Hook events the capture must cover at the least: the ones every trace is built from.
CORE_EVENTS = frozenset({"SessionStart", "SessionEnd", "UserPromptSubmit", "PreToolUse", "PostToolUse",
                         "PostToolUseFailure", "SubagentStart", "SubagentStop", "Stop"})


def hooklake(args: list[str], home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOOKLAKE_HOME": str(home)}
    env.pop("HOOKLAKE_DISABLED", None)
    proc = subprocess.run([sys.executable, "-m", "hooklake", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"hooklake {' '.join(args)} -> exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def require_cli(home: Path) -> None:
    """Skip (with the reason) when this checkout's CLI lacks the commands the test drives."""
    for command in ("install", "uninstall", "ingest"):
        if hooklake([command, "--help"], home, check=False).returncode != 0:
            pytest.skip(f"`hooklake {command}` is not available in this checkout")


def added_events(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """Events for which ``after`` holds hook entries that ``before`` did not."""
    found = set()
    for event, groups in (after.get("hooks") or {}).items():
        old = (before.get("hooks") or {}).get(event, [])
        if any(group not in old for group in groups):
            found.add(event)
    return found


@dataclass
class Capture:
    project: ClaudeProject
    home: Path
    settings_before_install: dict[str, Any]
    settings_after_install: dict[str, Any]
    runs: dict[str, list[ClaudeRun]]
    #: Payloads as the user's own recorder hook received them, in order.
    recorded: list[dict[str, Any]]
    #: Events hooklake installed a hook for.
    installed_events: set[str]
    ingest_report: dict[str, Any]
    reingest_report: dict[str, Any]
    #: Lake rows (dicts with every canonical column, payload parsed into ``payload_obj``).
    rows: list[dict[str, Any]]

    def expected(self) -> list[dict[str, Any]]:
        """What hooklake should have captured: recorded payloads of the events it hooks."""
        return [p for p in self.recorded if p["hook_event_name"] in self.installed_events]

    def rows_named(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["event_name"] == name]


def read_lake(home: Path) -> list[dict[str, Any]]:
    import duckdb

    from hooklake.paths import Paths

    events = Paths.resolve(home).events
    files = sorted(events.rglob("*.parquet"))
    assert files, f"no Parquet files under {events}"
    con = duckdb.connect()
    try:
        cur = con.execute(
            "SELECT * EXCLUDE (captured_at, event_time), epoch_us(captured_at) AS captured_us, "
            "epoch_us(event_time) AS event_us "
            "FROM read_parquet(?, hive_partitioning = true, union_by_name = true) ORDER BY captured_at",
            [[str(f) for f in files]],
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, values)) for values in cur.fetchall()]
    finally:
        con.close()
    for row in rows:
        row["payload_obj"] = json.loads(row["payload"]) if row.get("payload") else None
    return rows


@pytest.fixture(scope="module")
def capture(claude_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Capture:
    root = tmp_path_factory.mktemp("claude-e2e")
    home = root / "hooklake-home"
    home.mkdir()
    require_cli(home)
    with AnthropicStub(Script([])) as stub:
        project = ClaudeProject(root=root / "session", claude_bin=claude_bin, stub=stub,
                                extra_env={"HOOKLAKE_HOME": str(home)})
        record_dir = project.home / ".e2e-helpers" / "payloads"
        project.add_recorder(record_dir)  # the user's own hooks, present before install
        before = project.read_settings()
        hooklake(["install", "--project", str(project.project)], home)
        after = project.read_settings()
        hooklake(["install", "--project", str(project.project)], home)
        assert project.read_settings() == after, "a second install changed settings.json"

        runs: dict[str, list[ClaudeRun]] = {}
        for name in CAPTURE_SCENARIOS:
            scenario = scenarios.materialise(scenarios.ALL[name](), project.project)
            stub.script = scenario.script
            runs[name] = scenario.run(project)
            for run in runs[name]:
                assert run.returncode == 0, f"{name}: {run.describe()}"
                assert run.result is not None and run.result.get("is_error") is False, run.describe()
        assert stub.unexpected == [], f"Claude Code called unscripted endpoints: {stub.unexpected}"

    report = json.loads(hooklake(["ingest", "--json"], home).stdout)
    reingest = json.loads(hooklake(["ingest", "--json"], home).stdout)
    return Capture(
        project=project,
        home=home,
        settings_before_install=before,
        settings_after_install=after,
        runs=runs,
        recorded=read_recorded(record_dir),
        installed_events=added_events(before, after),
        ingest_report=report,
        reingest_report=reingest,
        rows=read_lake(home),
    )


def _key(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True)


def test_install_hooks_every_core_event(capture: Capture) -> None:
    missing = CORE_EVENTS - capture.installed_events
    assert not missing, f"hooklake install does not hook {sorted(missing)}"
    # The user's own hooks are kept, untouched, next to hooklake's.
    for event, groups in capture.settings_before_install["hooks"].items():
        for group in groups:
            assert group in capture.settings_after_install["hooks"][event]


def test_scripted_sessions_ran_as_intended(capture: Capture) -> None:
    """Guards the harness: every scripted step was asked for, so the events below are the real ones."""
    names = Counter(p["hook_event_name"] for p in capture.recorded)
    assert names["UserPromptSubmit"] == 8  # 6 scenarios, two_prompts has 2, the task notification 1
    assert names["SubagentStart"] == names["SubagentStop"] == 2
    assert names["PostToolUseFailure"] == 1
    labels = [r.answered_by for runs in capture.runs.values() for run in runs for r in run.requests]
    assert "side" not in labels and "fallback" not in labels


def test_lake_holds_exactly_the_fired_events(capture: Capture) -> None:
    expected = Counter(_key(p) for p in capture.expected())
    lake_rows = [r for r in capture.rows if r["source"] == "claude_code"]
    got = Counter(_key(r["payload_obj"]) for r in lake_rows)
    missing = expected - got
    extra = got - expected
    assert not missing, f"{sum(missing.values())} fired events missing from the lake, e.g. {next(iter(missing))[:400]}"
    assert not extra, f"{sum(extra.values())} lake rows Claude Code never fired, e.g. {next(iter(extra))[:400]}"
    assert len(lake_rows) == len(capture.rows), "rows from sources other than claude_code"


def test_ingest_report_counts_and_rerun_is_idempotent(capture: Capture) -> None:
    n = len(capture.expected())
    assert capture.ingest_report["events_written"] == n
    assert capture.ingest_report["quarantined"] == 0
    assert capture.reingest_report["events_written"] == 0
    ids = [r["event_id"] for r in capture.rows]
    assert len(ids) == len(set(ids)) == n


def test_real_sessions_ingest_without_warnings(capture: Capture) -> None:
    """Real 2.1.328 payloads match the schema (e.g. ``effort`` is an object there, not a string)."""
    assert capture.ingest_report.get("warnings") == []


def test_every_row_is_normalised_from_its_payload(capture: Capture) -> None:
    for row in capture.rows:
        p = row["payload_obj"]
        assert row["event_name"] == p["hook_event_name"]
        assert row["session_id"] == p["session_id"]
        assert row["cwd"] == p["cwd"] == str(capture.project.project)
        assert row["prompt_id"] == p.get("prompt_id")
        assert row["agent_id"] == p.get("agent_id")
        assert row["tool_name"] == p.get("tool_name")
        assert row["tool_use_id"] == p.get("tool_use_id")
        if row["prompt_id"] is not None:
            assert row["correlation_id"], f"no correlation_id for {row['event_name']}"


def test_prompts_are_traces_keyed_by_prompt_id(capture: Capture) -> None:
    prompts = capture.rows_named("UserPromptSubmit")
    assert len(prompts) == len([p for p in capture.recorded if p["hook_event_name"] == "UserPromptSubmit"])
    for row in prompts:
        assert row["event_kind"] == "prompt"
        assert row["correlation_id"] == row["prompt_id"] == row["payload_obj"]["prompt_id"]
        assert row["prompt_text"] == row["payload_obj"]["prompt"]
    # Main-thread events belong to the trace of the prompt that caused them.
    for row in capture.rows:
        if row["prompt_id"] and not row["agent_id"]:
            assert row["correlation_id"] == row["prompt_id"], row["event_name"]
    # --continue keeps the session and starts a second trace.
    two = [r for r in prompts if r["prompt_text"].startswith(("First prompt", "Second prompt"))]
    assert len(two) == 2 and len({r["session_id"] for r in two}) == 1
    assert len({r["correlation_id"] for r in two}) == 2


def test_tool_calls_pair_by_tool_use_id(capture: Capture) -> None:
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in capture.rows:
        if row["event_name"] in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
            by_id.setdefault(row["tool_use_id"], []).append(row)
    fired = {p["tool_use_id"] for p in capture.recorded if p["hook_event_name"] == "PreToolUse"}
    assert set(by_id) == fired
    tools = Counter()
    for tool_use_id, rows in by_id.items():
        kinds = sorted(r["event_kind"] for r in rows)
        assert kinds in (["tool_end", "tool_start"], ["tool_failure", "tool_start"]), (tool_use_id, kinds)
        assert len({r["tool_name"] for r in rows}) == 1
        assert len({r["correlation_id"] for r in rows}) == 1
        assert len({r["agent_id"] for r in rows}) == 1
        end = next(r for r in rows if r["event_kind"] != "tool_start")
        assert end["duration_ms"] is not None and end["duration_ms"] >= 0
        if end["event_kind"] == "tool_end":
            assert end["status"] == "ok"
        tools[rows[0]["tool_name"]] += 1
    assert tools == {"Bash": 6, "Write": 1, "Agent": 2, "mcp__calc__add": 1}


def test_failing_bash_is_an_error(capture: Capture) -> None:
    failures = capture.rows_named("PostToolUseFailure")
    assert len(failures) == 1
    row = failures[0]
    assert row["event_kind"] == "tool_failure" and row["status"] == "error"
    assert "Exit code 3" in row["error_message"]
    assert row["tool_name"] == "Bash"
    assert not [r for r in capture.rows_named("PostToolUse") if r["tool_use_id"] == row["tool_use_id"]]


def test_subagents_carry_agent_id_and_type(capture: Capture) -> None:
    starts = capture.rows_named("SubagentStart")
    stops = capture.rows_named("SubagentStop")
    assert len(starts) == len(stops) == 2
    assert {r["agent_id"] for r in starts} == {r["agent_id"] for r in stops}
    for row in starts + stops:
        assert row["agent_id"] and row["agent_type"] == "general-purpose"
        assert row["event_kind"] in ("subagent_start", "subagent_stop")
    for agent_id in {r["agent_id"] for r in starts}:
        inside = [r for r in capture.rows if r["agent_id"] == agent_id and r["tool_name"] == "Bash"]
        assert [r["event_kind"] for r in inside] == ["tool_start", "tool_end"]
        assert all(r["agent_type"] == "general-purpose" for r in inside)
    # The main thread's Agent calls carry no agent_id.
    agent_calls = [r for r in capture.rows if r["tool_name"] == "Agent"]
    assert agent_calls and all(r["agent_id"] is None for r in agent_calls)


def test_background_subagent_completion_arrives_as_task_notification(capture: Capture) -> None:
    notes = [r for r in capture.rows_named("UserPromptSubmit") if r["prompt_text"].startswith("<task-notification>")]
    assert len(notes) == 1
    agent_ids = {r["agent_id"] for r in capture.rows_named("SubagentStart")}
    agent_tool_ids = {r["tool_use_id"] for r in capture.rows if r["tool_name"] == "Agent"}
    text = notes[0]["prompt_text"]
    assert any(f"<task-id>{a}</task-id>" in text for a in agent_ids)
    assert any(f"<tool-use-id>{t}</tool-use-id>" in text for t in agent_tool_ids)


def test_mcp_tool_is_split_into_server_and_tool(capture: Capture) -> None:
    rows = [r for r in capture.rows if r["tool_name"] == "mcp__calc__add"]
    assert [r["event_kind"] for r in rows] == ["tool_start", "tool_end"]
    assert all(r["mcp_server"] == "calc" and r["mcp_tool"] == "add" for r in rows)


def test_sessions_start_and_end(capture: Capture) -> None:
    sessions = {r["session_id"] for r in capture.rows}
    assert len(sessions) == len(CAPTURE_SCENARIOS)  # two_prompts continues one session
    starts = Counter(r["session_id"] for r in capture.rows_named("SessionStart"))
    ends = Counter(r["session_id"] for r in capture.rows_named("SessionEnd"))
    assert starts == ends
    assert sorted(starts.values()) == [1, 1, 1, 1, 1, 2]
    for row in capture.rows_named("SessionStart"):
        assert row["event_kind"] == "session_start"
    for row in capture.rows_named("SessionEnd"):
        assert row["event_kind"] == "session_end"


def test_capture_hook_logged_no_errors(capture: Capture) -> None:
    from hooklake.paths import Paths

    log = Paths.resolve(capture.home).capture_errors
    assert not log.exists() or log.read_text().strip() == "", log.read_text()[:2000]


def test_lakehouse_rebuilds_the_traces(capture: Capture) -> None:
    """The views downstream work relies on, over the lake these real sessions produced."""
    import lakehouse

    con = lakehouse.connect(home=capture.home)
    try:
        traces = con.execute(
            "SELECT correlation_id, root_id, parent_id, is_subagent, agent_type, tool_calls, tool_failures, "
            "subagents, tool_sequence, prompt_text, triggered_by_correlation_id, triggered_by_tool_use_id "
            "FROM execution_traces").fetchall()
        runs = con.execute("SELECT correlation_id, parent_correlation_id, parent_tool_use_id, agent_id, agent_type "
                           "FROM subagent_runs").fetchall()
        calls = con.execute("SELECT tool_use_id, tool_name, status, mcp_server, mcp_tool FROM tool_calls").fetchall()
    finally:
        con.close()
    prompt_ids = {r["prompt_id"] for r in capture.rows_named("UserPromptSubmit")}
    by_id = {t[0]: t for t in traces}
    top = [t for t in traces if not t[3]]
    children = [t for t in traces if t[3]]
    assert {t[0] for t in top} == prompt_ids
    assert len(children) == 2 and all(c[4] == "general-purpose" and c[8] == ["Bash"] for c in children)
    agent_calls = {r["tool_use_id"]: r["correlation_id"] for r in capture.rows if r["tool_name"] == "Agent"
                   and r["event_kind"] == "tool_start"}
    for child_id, parent_id, parent_tool_use_id, agent_id, agent_type in runs:
        assert agent_calls[parent_tool_use_id] == parent_id == by_id[child_id][2]
        assert by_id[child_id][1] == by_id[parent_id][1] == parent_id  # root of the child = its parent prompt
        assert by_id[parent_id][7] == 1 and by_id[parent_id][8] == ["Agent"]
    assert len(runs) == 2
    failing = [t for t in top if t[6]]
    assert len(failing) == 1 and failing[0][9].startswith("Run the check script")
    note = next(t for t in top if t[9].startswith("<task-notification>"))
    assert note[10] in agent_calls.values() and note[11] in agent_calls
    statuses = Counter((c[1], c[2]) for c in calls)
    assert statuses == {("Bash", "ok"): 5, ("Bash", "error"): 1, ("Write", "ok"): 1, ("Agent", "ok"): 2,
                        ("mcp__calc__add", "ok"): 1}
    assert {(c[3], c[4]) for c in calls if c[1] == "mcp__calc__add"} == {("calc", "add")}


def test_uninstall_restores_the_project_settings(capture: Capture) -> None:
    hooklake(["uninstall", "--project", str(capture.project.project)], capture.home)
    assert capture.project.read_settings() == capture.settings_before_install


def test_kill_switch_stops_capture(claude_bin: Path, tmp_path: Path) -> None:
    """With HOOKLAKE_DISABLED set the installed hooks stay silent and the session is unaffected."""
    home = tmp_path / "hooklake-home"
    home.mkdir()
    require_cli(home)
    with AnthropicStub(Script([])) as stub:
        project = ClaudeProject(root=tmp_path / "session", claude_bin=claude_bin, stub=stub,
                                extra_env={"HOOKLAKE_HOME": str(home), "HOOKLAKE_DISABLED": "1"})
        hooklake(["install", "--project", str(project.project)], home)
        assert CORE_EVENTS <= set(project.read_settings()["hooks"])
        scenario = scenarios.materialise(scenarios.simple_text(), project.project)
        stub.script = scenario.script
        runs = scenario.run(project)
    assert runs[0].returncode == 0 and runs[0].result["result"].startswith("A data lake"), runs[0].describe()
    spooled = [line for f in (home / "spool").glob("*") if f.is_file() for line in f.read_text().splitlines()]
    assert spooled == []
