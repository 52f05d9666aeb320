"""Every recorded Claude Code 2.1.328 scenario: import and hooks agree event for event.

The fixtures are real transcripts plus the hook payloads the same runs delivered
(``tests/fixtures/claude_code/2.1.328``). For prompts, tool calls and subagents, the import must
produce exactly the (event, prompt_id / tool_use_id, agent) keys the hooks saw, so the lakehouse
can fold one into the other without double counting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooklake.paths import Paths
from import_helpers import RECORDED, payloads
from ingest.importers.transcripts import import_transcripts

SCENARIOS = sorted(p.name for p in (RECORDED / "transcripts").iterdir()) if (RECORDED / "transcripts").is_dir() else []
COMPARED = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "SubagentStart", "SubagentStop", "Stop")


def _keys(items: list[dict]) -> list[tuple]:
    return sorted(
        (p["hook_event_name"], p.get("tool_use_id") or p.get("prompt_id"), p.get("prompt_id"), p.get("agent_id"),
         p.get("agent_type"), p.get("tool_name"))
        for p in items if p["hook_event_name"] in COMPARED
    )


@pytest.mark.skipif(not SCENARIOS, reason="recorded 2.1.328 transcripts not present")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_import_matches_hooks(scenario: str, tmp_path: Path):
    paths = Paths.resolve(tmp_path / "home")
    report = import_transcripts(RECORDED / "transcripts" / scenario, paths=paths)
    assert report.errors == [] and report.warnings == []
    hooks = [json.loads(line) for line in (RECORDED / f"{scenario}.jsonl").read_text().splitlines() if line.strip()]
    assert _keys(payloads(paths)) == _keys(hooks)
    assert report.api_responses >= 1
