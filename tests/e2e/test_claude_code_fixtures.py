"""The recorded Claude Code fixtures are complete, parseable and free of machine paths."""

from __future__ import annotations

import json

import pytest

from claude_harness import CLAUDE_CODE_VERSION, REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "claude_code" / CLAUDE_CODE_VERSION
SCENARIOS = ["simple_text", "bash_and_write", "bash_failure", "subagent", "two_prompts", "mcp_tool",
             "background_subagent"]


def _payloads(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", SCENARIOS)
def test_fixture_is_one_payload_per_line_with_transcript(name: str) -> None:
    payloads = _payloads(name)
    assert payloads[0]["hook_event_name"] == "SessionStart"
    assert payloads[-1]["hook_event_name"] == "SessionEnd"
    for p in payloads:
        assert {"session_id", "transcript_path", "cwd", "hook_event_name"} <= set(p)
        assert p["cwd"] == "/home/user/project"
        assert p["transcript_path"].startswith("/home/user/.claude/projects/-home-user-project/")
    sessions = {p["session_id"] for p in payloads}
    assert len(sessions) == 1
    transcript = FIXTURES / "transcripts" / name / f"{sessions.pop()}.jsonl"
    assert transcript.is_file()
    for line in transcript.read_text().splitlines():
        json.loads(line)


def test_fixtures_hold_no_machine_specific_paths() -> None:
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json"):
            text = path.read_text()
            assert "/tmp/pytest" not in text and "cc-fixtures-" not in text, path
            assert "/home/user/project" in text or path.name.endswith(".meta.json"), path


def test_fixtures_cover_the_events_the_design_relies_on() -> None:
    failure = _payloads("bash_failure")
    assert [p["hook_event_name"] for p in failure if p.get("tool_name") == "Bash"] == ["PreToolUse",
                                                                                      "PostToolUseFailure"]
    sub = _payloads("subagent")
    starts = [p for p in sub if p["hook_event_name"] == "SubagentStart"]
    stops = [p for p in sub if p["hook_event_name"] == "SubagentStop"]
    assert len(starts) == len(stops) == 1 and starts[0]["agent_id"] == stops[0]["agent_id"]
    assert starts[0]["agent_type"] == "general-purpose"
    assert any(p.get("agent_id") == starts[0]["agent_id"] and p.get("tool_name") == "Bash" for p in sub)
    mcp = _payloads("mcp_tool")
    assert any(p.get("tool_name") == "mcp__calc__add" for p in mcp)
    prompts = [p for p in _payloads("background_subagent") if p["hook_event_name"] == "UserPromptSubmit"]
    assert len(prompts) == 2 and prompts[1]["prompt"].startswith("<task-notification>")
    two = [p for p in _payloads("two_prompts") if p["hook_event_name"] == "UserPromptSubmit"]
    assert len({p["prompt_id"] for p in two}) == 2
