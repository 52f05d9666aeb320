"""Transcript import over 1.0.x, 2.0.x and 2.1.x shapes: events, subagents, usage, idempotence."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from import_helpers import RECORDED, payloads, spool_events
from ingest.importers.transcripts import import_transcripts


def _by_name(items: list[dict]) -> Counter:
    return Counter(p["hook_event_name"] for p in items)


def test_1_0_inline_sidechain_session(paths, fixtures):
    report = import_transcripts(fixtures / "1.0.x", paths=paths)
    assert report.errors == []
    events = payloads(paths)
    names = _by_name(events)
    # the meta caveat and the interruption notice are not prompts
    prompts = [p["prompt"] for p in events if p["hook_event_name"] == "UserPromptSubmit"]
    assert prompts == ["Run the tests, then find where the config is loaded.", "Now delete the build folder."]
    assert all("prompt_id" not in p for p in events)  # 1.0.x has none: ingest derives the trace
    assert names["PreToolUse"] == 5 and names["PostToolUse"] == 3 and names["PostToolUseFailure"] == 2
    start = next(p for p in events if p["hook_event_name"] == "SubagentStart")
    stop = next(p for p in events if p["hook_event_name"] == "SubagentStop")
    assert start["parent_tool_use_id"] == stop["parent_tool_use_id"] == "toolu_01Task"
    assert start["agent_type"] == "general-purpose" and start["agent_id"] == stop["agent_id"]
    grep = [p for p in events if p.get("tool_use_id") == "toolu_01Grep"]
    assert {p["hook_event_name"] for p in grep} == {"PreToolUse", "PostToolUse"}
    assert all(p["agent_id"] == start["agent_id"] for p in grep)
    bash = next(p for p in events if p["hook_event_name"] == "PostToolUse" and p["tool_use_id"] == "toolu_01Bash")
    assert bash["tool_name"] == "Bash" and bash["duration_ms"] == 2750.0
    assert bash["tool_input"] == {"command": "pytest -q", "description": "Run tests"}
    failures = {p["tool_use_id"]: p for p in events if p["hook_event_name"] == "PostToolUseFailure"}
    assert failures["toolu_01Rm"]["is_interrupt"] is False and "cannot remove" in failures["toolu_01Rm"]["error"]
    assert failures["toolu_01Ls"]["is_interrupt"] is True
    # msg_01A spans two lines: one api_response, the later usage wins
    api = [p for p in events if p["hook_event_name"] == "api_response"]
    assert len(api) == report.api_responses == 7
    first = next(p for p in api if p["message_id"] == "msg_01A")
    assert first["output_tokens"] == 42 and first["input_tokens"] == 120 and first["model"].startswith("claude-")
    assert [p for p in events if p["hook_event_name"] == "Stop"][0]["last_assistant_message"].startswith("Tests pass")


def test_2_0_agent_file_and_compact(paths, fixtures):
    report = import_transcripts(fixtures / "2.0.x", paths=paths)
    assert report.errors == []
    assert report.skipped_line_types["some-future-line-type"] == 1
    events = payloads(paths)
    prompts = [p["prompt"] for p in events if p["hook_event_name"] == "UserPromptSubmit"]
    assert prompts == ["Explore the repo and list the entry points.", "Add a --version flag to cli.py."]
    compact = [p for p in events if p["hook_event_name"] == "PreCompact"]
    assert compact == [dict(compact[0], trigger="manual", pre_tokens=48211)]
    start = next(p for p in events if p["hook_event_name"] == "SubagentStart")
    assert start["agent_id"] == "7f3e9a1c" and start["agent_type"] == "Explore"
    assert start["parent_tool_use_id"] == "toolu_02Task"
    stop = next(p for p in events if p["hook_event_name"] == "SubagentStop")
    assert stop["agent_id"] == "7f3e9a1c" and stop["agent_type"] == ""  # 2.0.x result names no type
    glob_end = next(p for p in events if p.get("tool_use_id") == "toolu_02Glob" and p["hook_event_name"] == "PostToolUse")
    assert glob_end["agent_id"] == "7f3e9a1c" and glob_end["duration_ms"] == 31.0
    mcp = [p for p in events if p.get("tool_name") == "mcp__calc__add"]
    assert {p["hook_event_name"] for p in mcp} == {"PreToolUse", "PostToolUse"}


def test_reimport_is_idempotent_and_incremental(paths, tmp_path):
    src = tmp_path / "projects"
    for scenario in ("subagent", "bash_failure"):
        shutil.copytree(RECORDED / "transcripts" / scenario, src, dirs_exist_ok=True)
    first = import_transcripts(src, paths=paths)
    ids = [e["event_id"] for e in spool_events(paths)]
    assert first.events == len(ids) > 0 and len(set(ids)) == len(ids)

    again = import_transcripts(src, paths=paths)
    assert again.events == 0 and again.files_unchanged == first.files

    # same history, checkpoint lost: the very same event ids come out again
    (Path(paths.state) / "transcripts-import.json").unlink()
    before = len(ids)
    import_transcripts(src, paths=paths)
    assert [e["event_id"] for e in spool_events(paths)][before:] == ids

    # new bytes only: one more prompt appended to a session
    session = next(src.glob("c60475f1-*.jsonl"))
    line = {"type": "user", "promptId": "7a7a7a7a-0000-4000-8000-000000000001", "sessionId": session.stem,
            "message": {"role": "user", "content": "one more thing"}, "uuid": "new-1", "parentUuid": "x",
            "timestamp": "2026-11-27T10:00:00.000Z", "isSidechain": False}
    with open(session, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    count = len(spool_events(paths))
    third = import_transcripts(src, paths=paths)
    new = [e["payload"] for e in spool_events(paths)[count:]]
    assert third.files == 1 and [p["hook_event_name"] for p in new] == ["UserPromptSubmit"]
    assert new[0]["prompt_id"] == "7a7a7a7a-0000-4000-8000-000000000001"


def test_truncated_last_line_is_retried(paths, tmp_path):
    session = tmp_path / "s.jsonl"
    good = {"type": "user", "sessionId": "s", "message": {"role": "user", "content": "first"}, "uuid": "1",
            "parentUuid": None, "timestamp": "2026-01-01T00:00:00Z"}
    partial = json.dumps({**good, "uuid": "2", "message": {"role": "user", "content": "second"}})
    session.write_text(json.dumps(good) + "\n" + partial[:30])
    report = import_transcripts(session, paths=paths)
    assert [p["prompt"] for p in payloads(paths)] == ["first"]
    assert any("incomplete" in w and str(session) in w for w in report.warnings)
    session.write_text(json.dumps(good) + "\n" + partial + "\n")  # the writer finished the line
    import_transcripts(session, paths=paths)
    assert [p["prompt"] for p in payloads(paths)] == ["first", "second"]


def test_non_json_line_is_reported_and_the_rest_imported(paths, tmp_path):
    session = tmp_path / "s.jsonl"
    line = lambda n: json.dumps({"type": "user", "sessionId": "s", "uuid": str(n), "parentUuid": None,  # noqa: E731
                                 "message": {"role": "user", "content": f"prompt {n}"}, "timestamp": "2026-01-01T00:00:00Z"})
    session.write_text(line(1) + "\n" + "this is {not json\n" + line(3) + "\n")
    report = import_transcripts(session, paths=paths)
    assert [p["prompt"] for p in payloads(paths)] == ["prompt 1", "prompt 3"]
    assert len(report.errors) == 1 and "line 2" in report.errors[0] and str(session) in report.errors[0]


def test_missing_path_is_a_clear_error(paths, tmp_path):
    import pytest

    from hooklake.errors import HooklakeError

    with pytest.raises(HooklakeError, match="no such file"):
        import_transcripts(tmp_path / "nope", paths=paths)
