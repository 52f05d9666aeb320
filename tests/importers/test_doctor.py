"""``hooklake doctor`` on a real lake: hooks that did not fire, a missing Stop, quarantined lines."""

from __future__ import annotations

import json

from hooks import spool
from import_helpers import RECORDED
from ingest.doctor import run_doctor
from ingest.importers.transcripts import import_transcripts

SUBAGENT_SESSION = "6f972781-b87e-4956-89ab-ee080fd7b2a4"
FAILURE_SESSION = "c60475f1-52b0-4c47-9092-e810c528bcb1"


def test_doctor_reconciles_hooks_and_transcripts(paths, capsys):
    from ingest.compactor import run_ingest

    dropped = 0
    for f in (RECORDED / "subagent.jsonl", RECORDED / "bash_failure.jsonl"):
        for line in f.read_text().splitlines():
            payload = json.loads(line)
            lost = payload["session_id"] == SUBAGENT_SESSION and (
                payload["hook_event_name"] == "Stop"
                or (payload["hook_event_name"] == "PostToolUse" and payload["tool_name"] == "Bash"))
            if lost:  # these hooks "did not fire"
                dropped += 1
                continue
            spool.capture_bytes(line.encode(), paths=paths)
    assert dropped == 2
    spool.capture_bytes(b"{not json", paths=paths)  # ends up in quarantine
    for scenario in ("subagent", "bash_failure"):
        import_transcripts(RECORDED / "transcripts" / scenario, paths=paths)
    run_ingest(paths)

    report = run_doctor(paths)
    sessions = {s["session_id"]: s for s in report.sessions}
    sub, ok = sessions[SUBAGENT_SESSION], sessions[FAILURE_SESSION]
    assert sub["post_tool_missing_in_hooks"] == 1 and sub["pre_tool_missing_in_hooks"] == 0
    assert sub["prompts_hooks"] == sub["prompts_transcript"] == 1 and sub["prompts_without_stop"] == 1
    assert "1 tool result(s) with no PostToolUse hook" in sub["problems"] and "no Stop" in sub["problems"]
    assert ok["problems"] == [] and ok["tools_hooks"] == ok["tools_transcript"] == 1
    assert report.capture["quarantined_lines"] >= 1 or report.capture["quarantine_files"] >= 1
    assert any("session(s) have capture gaps" in p for p in report.problems)

    from hooklake.cli import main

    assert main(["doctor", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {s["session_id"] for s in out["sessions"]} == {SUBAGENT_SESSION, FAILURE_SESSION}
    assert main(["doctor"]) == 0
    table = capsys.readouterr().out
    assert SUBAGENT_SESSION[:30] in table and "no Stop" in table


def test_doctor_on_an_empty_home(paths):
    report = run_doctor(paths)
    assert report.sessions == [] and report.problems == []
    assert report.capture["spool_files"] == 0
