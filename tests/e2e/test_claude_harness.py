"""The harness drives the real Claude Code: hooks fire, and what a hook adds reaches the model."""

from __future__ import annotations

import shlex

import pytest

from anthropic_stub import Conversation, Reply, Script
from claude_harness import python_command, read_recorded

pytestmark = pytest.mark.e2e

MARKER = "context-marker-7f3a"


def test_user_prompt_hook_context_reaches_the_model(claude_project, anthropic_stub) -> None:
    hook = claude_project.home / "add_context.py"
    hook.write_text(
        "import json, sys\n"
        "payload = json.load(sys.stdin)\n"
        "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'UserPromptSubmit',\n"
        f"    'additionalContext': '{MARKER} for ' + payload['prompt_id']}}}}))\n"
    )
    record = claude_project.home / "payloads"
    claude_project.add_recorder(record)
    settings = claude_project.read_settings()
    settings["hooks"]["UserPromptSubmit"].append(
        {"hooks": [{"type": "command", "command": f"{python_command()} {shlex.quote(str(hook))}"}]})
    claude_project.write_settings(settings)
    anthropic_stub.script = Script([Conversation("Greet me", [Reply.text("Hello.")])])

    run = claude_project.run("Greet me, please.")

    assert run.returncode == 0, run.describe()
    assert run.result is not None and run.result["result"] == "Hello."
    payloads = read_recorded(record)
    prompt_id = next(p["prompt_id"] for p in payloads if p["hook_event_name"] == "UserPromptSubmit")
    assert anthropic_stub.model_saw(f"{MARKER} for {prompt_id}")
    assert [r.answered_by for r in run.requests] == ["'Greet me'#0"]
    assert [p["hook_event_name"] for p in payloads if p["hook_event_name"] != "MessageDisplay"] == [
        "SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"]
