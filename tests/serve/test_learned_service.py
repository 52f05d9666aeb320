"""The service over a real learned index: capture -> ingest -> learn -> serve -> advice -> new index.

Real components throughout: spool lines written by the capture path, the ingest compactor, the
learn job (MiniLM embeddings, FAISS index), the learning Router, the advice hook as a subprocess.
The model is loaded once for the module and shared by learn and the service.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from pathlib import Path

import pytest

from hooklake.paths import Paths
from hooklake.settings import AdviceSettings
from learning import serve
from serve_helpers import connect, get_json, post_json, run_hook

pytestmark = pytest.mark.slow

KINDS = {
    "flaky": ("qa-engineer", ["Bash", "Read", "Edit"], [
        "The checkout test is flaky on CI; make it deterministic.",
        "test_login fails randomly in the pipeline, please stabilise it.",
        "Our payment integration test times out intermittently. Fix the flakiness.",
        "The search tests pass locally but fail one run in five on CI.",
        "Fix the nondeterministic failure in the invoice test suite.",
        "CI is red again because the upload test is flaky; find the race.",
    ]),
    "docs": ("tech-writer", ["Read", "Write"], [
        "Update the README section about authentication.",
        "The deployment guide is out of date; rewrite it.",
        "Document the caching options in the user manual.",
        "Write a short contributor guide for the webhooks module.",
        "Refresh the docs page on rate limiting to match the code.",
        "Explain the export settings in the documentation.",
    ]),
    "migration": ("dba", ["Read", "Write", "Bash"], [
        "Add a timezone column to the users table with a migration.",
        "Write the database migration that moves phone numbers to their own table.",
        "Create a migration adding an index on last_login.",
        "Rename the plan_tier column without downtime, with a migration.",
        "Backfill the new locale column in a schema migration.",
        "Write a migration splitting the address field into parts.",
    ]),
}


def emit_trace(paths: Paths, project: Path, prompt: str, agent: str, tools: list[str]) -> None:
    from hooks.spool import capture_bytes

    base = {"session_id": str(uuid.uuid4()), "prompt_id": str(uuid.uuid4()), "cwd": str(project),
            "transcript_path": f"{project}/t.jsonl", "permission_mode": "default"}

    def cap(payload: dict) -> None:
        assert capture_bytes(json.dumps({**base, **payload}).encode(), paths=paths) is not None

    agent_tool = f"toolu_{uuid.uuid4().hex[:20]}"
    agent_input = {"subagent_type": agent, "description": "task", "prompt": prompt}
    sub = {"agent_id": uuid.uuid4().hex[:16], "agent_type": agent}
    cap({"hook_event_name": "UserPromptSubmit", "prompt": prompt})
    cap({"hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_input": agent_input, "tool_use_id": agent_tool})
    cap({"hook_event_name": "SubagentStart", **sub})
    for tool in tools:
        tid = f"toolu_{uuid.uuid4().hex[:20]}"
        cap({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": {"x": 1}, "tool_use_id": tid, **sub})
        cap({"hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": {"x": 1}, "tool_use_id": tid,
             "tool_response": "ok", "duration_ms": 120, **sub})
    cap({"hook_event_name": "SubagentStop", "stop_hook_active": False, **sub})
    cap({"hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_input": agent_input,
         "tool_use_id": agent_tool, "tool_response": {"status": "completed"}})
    cap({"hook_event_name": "Stop", "stop_hook_active": False})


@pytest.fixture(scope="module")
def embedder():
    from learning.embeddings import Embedder

    return Embedder()


def ingest_and_learn(paths: Paths, embedder) -> None:
    from ingest.compactor import run_ingest
    from learning.job import run_learn

    assert run_ingest(paths=paths).as_dict()["events_written"] > 0
    run_learn(paths=paths, embedder=embedder)


def test_service_with_learned_index_advises_and_reloads(paths, tmp_path, embedder):
    project = tmp_path / "project"
    project.mkdir()
    # Few traces: no calibrated threshold to rely on, so accept matches from 0.3 up.
    paths.home.mkdir(parents=True, exist_ok=True)
    paths.config.write_text("[learning]\nmin_confidence = 0.3\n")
    for kind in ("flaky", "docs"):
        agent, tools, prompts = KINDS[kind]
        for prompt in prompts:
            emit_trace(paths, project, prompt, agent, tools)
    ingest_and_learn(paths, embedder)
    first_version = serve.read_index_version(paths)
    assert first_version

    holder = serve.RouterHolder(paths, loader=functools.partial(serve.default_router_loader, embedder=embedder))
    # A generous hook timeout: the first uncached request embeds the prompt, which on a busy
    # machine can take longer than the default 150 ms (the hook would then rightly stay silent).
    config = serve.ServiceConfig(reload_interval_s=0.1, advice=AdviceSettings(holdout_share=0.0, timeout_ms=10_000))
    running = serve.start_server(paths, holder=holder, config=config)
    try:
        conn = connect(running)
        status, body = post_json(conn, "/route", {"request": "The cart test fails randomly on CI, stabilise it please.",
                                                  "context": {"cwd": str(project)}})
        assert status == 200, body
        route = body["route"]
        assert route["strategy"] == "learned_pattern", route["explanation"]
        assert route["agent"] == "qa-engineer" and route["index_version"] == first_version
        status, body = post_json(conn, "/match", {"request": "Rewrite the outdated page about deployment.", "k": 2})
        assert status == 200 and body["matches"][0]["agent"] == "tech-writer"

        prompt = {"session_id": "s", "prompt_id": str(uuid.uuid4()), "cwd": str(project),
                  "hook_event_name": "UserPromptSubmit",
                  "prompt": "Please fix the flaky checkout integration test, it fails on CI sometimes."}
        code, out, err, _ms = run_hook(paths.state, prompt, timeout=60)
        assert code == 0, err
        context = json.loads(out)["hookSpecificOutput"]["additionalContext"]
        assert "qa-engineer" in context and "Bash" in context

        # A new kind is learned while the service runs: it reloads without a restart.
        agent, tools, prompts = KINDS["migration"]
        for p in prompts:
            emit_trace(paths, project, p, agent, tools)
        ingest_and_learn(paths, embedder)
        new_version = serve.read_index_version(paths)
        assert new_version != first_version
        deadline = time.monotonic() + 30
        while running.service.holder.version != new_version and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get_json(conn, "/health")[1]["index_version"] == new_version
        status, body = post_json(conn, "/route", {"request": "Add a migration creating a referral_code column.",
                                                  "context": {"cwd": str(project)}})
        assert status == 200 and body["route"]["agent"] == "dba" and body["route"]["strategy"] == "learned_pattern"
        metrics = get_json(conn, "/metrics")[1]
        assert metrics["reloads"] == 1 and metrics["advice_injected"] == 1
    finally:
        running.stop()
    # The advice event went through the writer into the spool.
    from serve_helpers import read_spool

    advice_events = [line["payload"] for line in read_spool(paths) if line["payload"].get("hook_event_name") == "advice"]
    assert len(advice_events) == 1 and advice_events[0]["correlation_id"] == prompt["prompt_id"]
    assert advice_events[0]["expected_agents"] == ["qa-engineer"]
