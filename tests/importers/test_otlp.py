"""OTLP JSON (Claude Code's OpenTelemetry logs and traces) -> the same events as hooks."""

from __future__ import annotations

import json

from import_helpers import payloads, spool_events
from ingest.importers.otlp import import_otlp

SESSION = "3c1d2e4f-0000-4000-8000-00000000abcd"
PROMPT = "0f0e0d0c-0000-4000-8000-000000000123"


def s(key, value):
    return {"key": key, "value": {"stringValue": value}}


def i(key, value):
    return {"key": key, "value": {"intValue": str(value)}}


def d(key, value):
    return {"key": key, "value": {"doubleValue": value}}


def record(name, seq, *attrs):
    return {
        "timeUnixNano": str(1_795_770_000_000_000_000 + seq * 1_000_000),
        "body": {"stringValue": f"claude_code.{name}"},
        "attributes": [s("event.name", name), s("session.id", SESSION), s("prompt.id", PROMPT),
                       i("event.sequence", seq), *attrs],
    }


def logs_export() -> dict:
    return {"resourceLogs": [{
        "resource": {"attributes": [s("service.name", "claude-code"), s("service.version", "2.1.328")]},
        "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": [
            record("user_prompt", 1, i("prompt_length", 24)),
            record("tool_decision", 2, s("tool_name", "Bash"), s("decision", "accept"), s("source", "config")),
            record("tool_result", 3, s("tool_name", "Bash"), s("success", "true"), i("duration_ms", 120),
                   s("tool_parameters", '{"bash_command":"ls"}'), s("tool_use_id", "toolu_otlp1")),
            record("tool_result", 4, s("tool_name", "Bash"), s("success", "false"), i("duration_ms", 30),
                   s("error", "Exit code 3")),
            record("api_request", 5, s("model", "claude-opus-5-5"), d("cost_usd", 0.0421), i("input_tokens", 2574),
                   i("output_tokens", 43), i("cache_read_tokens", 0), i("duration_ms", 900)),
            record("api_error", 6, s("model", "claude-opus-5-5"), s("error", "overloaded"), i("status_code", 529),
                   i("attempt", 2)),
        ]}],
    }]}


def traces_export() -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [s("service.name", "claude-code")]}, "scopeSpans": [{"spans": [
        {"traceId": "a" * 32, "spanId": "b" * 16, "name": "claude_code.llm_request",
         "startTimeUnixNano": "1795770000000000000", "endTimeUnixNano": "1795770001500000000",
         "attributes": [s("session.id", SESSION), s("prompt.id", PROMPT), s("model", "claude-opus-5-5"),
                        i("input_tokens", 10), i("output_tokens", 5)]},
        {"traceId": "a" * 32, "spanId": "c" * 16, "name": "unrelated.span", "attributes": []},
    ]}]}]}


def test_logs_and_traces_become_events(paths, tmp_path):
    (tmp_path / "logs.json").write_text(json.dumps(logs_export()))
    (tmp_path / "traces.jsonl").write_text(json.dumps(traces_export()) + "\n")
    report = import_otlp(tmp_path, paths=paths)
    assert report.errors == [] and report.files == 2 and report.ignored_records == 1
    events = payloads(paths)
    assert all(p["session_id"] == SESSION and p["prompt_id"] == PROMPT for p in events)
    names = [p["hook_event_name"] for p in events]
    assert names == ["UserPromptSubmit", "custom", "PostToolUse", "PostToolUseFailure", "api_response",
                     "api_response", "api_response"]
    ok = events[2]
    assert ok["tool_use_id"] == "toolu_otlp1" and ok["duration_ms"] == 120.0 and ok["tool_input"] == {"bash_command": "ls"}
    assert events[3]["error"] == "Exit code 3"
    api = events[4]
    assert api["cost_usd"] == 0.0421 and api["input_tokens"] == 2574 and api["output_tokens"] == 43
    assert events[5]["status"] == "error" and events[5]["status_code"] == 529
    span = events[6]
    assert span["duration_ms"] == 1500.0 and span["otel_span_id"] == "b" * 16
    assert events[0]["timestamp"].startswith("2026-")
    assert {e["source"] for e in spool_events(paths)} == {"otlp"}


def test_reimport_gives_the_same_ids(paths, tmp_path):
    f = tmp_path / "logs.json"
    f.write_text(json.dumps(logs_export()))
    import_otlp(f, paths=paths)
    import_otlp(f, paths=paths)
    ids = [e["event_id"] for e in spool_events(paths)]
    assert len(ids) == 12 and len(set(ids)) == 6


def test_file_of_another_shape_is_named_and_the_rest_imported(paths, tmp_path):
    (tmp_path / "a-metrics-dashboard.json").write_text(json.dumps({"dashboard": {"panels": []}}))
    (tmp_path / "b-broken.json").write_text("{not json at all\n")
    (tmp_path / "c-logs.json").write_text(json.dumps(logs_export()))
    report = import_otlp(tmp_path, paths=paths)
    assert report.events == 6
    assert any("a-metrics-dashboard.json" in e and "not an OTLP JSON export" in e and "dashboard" in e for e in report.errors)
    assert any("b-broken.json" in e and "not JSON" in e for e in report.errors)


def test_cli_reports_the_bad_file(tmp_path, capsys):
    from hooklake.cli import main

    bad = tmp_path / "other.json"
    bad.write_text(json.dumps([1, 2, 3]))
    assert main(["import", "otlp", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == 0 and "other.json" in out["errors"][0]
