"""``hooklake run``: what the wrapped hook does is unchanged; what it did is recorded."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from wrapper_helpers import REPO, hook_executions, run_wrapped

PAYLOAD = {
    "session_id": "398cf602-1fb3-441a-8988-b6db05378e07",
    "prompt_id": "ce1b2eb9-8e2c-49cd-986f-9b38cb0b1322",
    "transcript_path": "/home/dev/.claude/projects/p/398cf602.jsonl",
    "cwd": "/home/dev/project",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "rm -rf /", "tool_name": "decoy", "session_id": "decoy"},
    "tool_use_id": "toolu_01ABC",
}


def test_blocking_hook_keeps_blocking(runner, hooklake_home):
    proc = run_wrapped(runner, ["--", "sh", "-c", "cat >/dev/null; echo 'rm -rf is not allowed' >&2; exit 2"], PAYLOAD)
    assert proc.returncode == 2
    assert proc.stderr == b"rm -rf is not allowed\n" and proc.stdout == b""
    [envelope] = hook_executions(hooklake_home)
    assert envelope["source"] == "wrapper" and len(envelope["event_id"]) == 32
    p = envelope["payload"]
    assert p["exit_code"] == 2 and p["decision"] == "block" and p["status"] == "ok"
    assert p["reason"] == "rm -rf is not allowed" and p["stderr_bytes"] == 22 and p["stdout_bytes"] == 0
    assert p["hook_event"] == "PreToolUse" and p["tool_name"] == "Bash" and p["tool_use_id"] == "toolu_01ABC"
    assert p["session_id"] == PAYLOAD["session_id"] and p["correlation_id"] == PAYLOAD["prompt_id"]
    assert p["prompt_id"] == PAYLOAD["prompt_id"] and p["root_id"] == PAYLOAD["prompt_id"]
    assert p["parent_id"] == "toolu_01ABC" and len(p["execution_id"]) == 16
    assert p["timed_out"] is False and p["duration_ms"] > 0 and p["timestamp"].endswith("Z")


def test_hung_hook_is_killed_at_the_timeout(runner, hooklake_home, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    started = time.monotonic()
    proc = run_wrapped(runner, ["--timeout", "0.5", "--", "sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"], PAYLOAD)
    elapsed = time.monotonic() - started
    assert proc.returncode == 124 and elapsed < 5
    assert b"timed out after 0.5s" in proc.stderr
    grandchild = int(pid_file.read_text())
    time.sleep(0.1)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(f"/proc/{grandchild}/stat").read_text().split()[2]
    [envelope] = hook_executions(hooklake_home)
    p = envelope["payload"]
    assert p["timed_out"] is True and p["decision"] == "timeout" and p["status"] == "error"
    assert p["error_type"] == "timeout" and p["exit_code"] == 124 and p["timeout_s"] == 0.5


def test_ids_exported_and_stdin_passed_byte_for_byte(runner, hooklake_home, tmp_path):
    script = (
        "import hashlib, json, os, sys; data = sys.stdin.buffer.read(); "
        "print(json.dumps({'sha': hashlib.sha256(data).hexdigest(), "
        "'env': {k: v for k, v in os.environ.items() if k.startswith('HOOKLAKE_') and k != 'HOOKLAKE_HOME'}}))"
    )
    raw = json.dumps(PAYLOAD, ensure_ascii=False).encode() + "  é\n".encode()
    proc = run_wrapped(runner, ["--", sys.executable, "-c", script], raw, env={"HOOKLAKE_CORRELATION_ID": ""})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["sha"] == hashlib.sha256(raw).hexdigest()
    p = hook_executions(hooklake_home)[0]["payload"]
    env = out["env"]
    assert env["HOOKLAKE_CORRELATION_ID"] == PAYLOAD["prompt_id"] == env["HOOKLAKE_ROOT_ID"]
    assert env["HOOKLAKE_SESSION_ID"] == PAYLOAD["session_id"]
    assert env["HOOKLAKE_EXECUTION_ID"] == p["execution_id"] and env["HOOKLAKE_PARENT_ID"] == "toolu_01ABC"
    assert env["HOOKLAKE_REPORT_FILE"].endswith(".jsonl")
    assert p["decision"] == "allow" and p["stdout_bytes"] == len(proc.stdout)


def test_large_payload_no_deadlock_when_the_hook_ignores_stdin(runner, hooklake_home):
    big = dict(PAYLOAD, tool_input={"content": "x" * (3 << 20)})
    proc = run_wrapped(runner, ["--", "sh", "-c", "echo ignored"], big, timeout=30)
    assert proc.returncode == 0 and proc.stdout == b"ignored\n"
    proc = run_wrapped(runner, ["--", "sh", "-c", "wc -c"], big, timeout=30)
    assert int(proc.stdout) == len(json.dumps(big).encode())


def test_json_decision_on_stdout(runner, hooklake_home):
    decision = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                       "permissionDecisionReason": "no"}}
    proc = run_wrapped(runner, ["--", "sh", "-c", f"echo '{json.dumps(decision)}'"], PAYLOAD)
    assert json.loads(proc.stdout) == decision and proc.returncode == 0
    proc = run_wrapped(runner, ["--", "sh", "-c", """echo '{"decision": "block", "reason": "tests fail"}'"""], PAYLOAD)
    proc = run_wrapped(runner, ["--", "sh", "-c", """echo '{"continue": false}'"""], PAYLOAD)
    decisions = [e["payload"]["decision"] for e in hook_executions(hooklake_home)]
    assert decisions == ["deny", "block", "stop"]


def test_exit_codes_relayed(runner, hooklake_home):
    assert run_wrapped(runner, ["--", "sh", "-c", "exit 3"], PAYLOAD).returncode == 3
    assert run_wrapped(runner, ["--", "sh", "-c", "kill -9 $$"], PAYLOAD).returncode == 137
    missing = run_wrapped(runner, ["--", "/nonexistent/hook"], PAYLOAD)
    assert missing.returncode == 127 and b"cannot run" in missing.stderr
    events = [e["payload"] for e in hook_executions(hooklake_home)]
    assert [(e["exit_code"], e["decision"], e["status"]) for e in events] == [
        (3, "error", "error"), (137, "error", "error"), (127, "error", "error")]
    assert events[0]["error"] == "exit code 3" and events[0]["error_type"] == "exit_3"


def test_reports_from_the_hook_land_on_its_execution(runner, hooklake_home):
    script = (
        "from hooks.sdk.report import report; "
        "report('rag_query', {'name': 'docs', 'results': 4}); "
        "report('quality_gate', {'name': 'lint', 'passed': True}); "
        "report('intelligence_function', {'name': 'classify'})"
    )
    proc = run_wrapped(runner, ["--name", "quality", "--", sys.executable, "-c", script], PAYLOAD,
                       env={"PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    spool = [json.loads(line)["payload"] for f in (hooklake_home / "spool").glob("*.jsonl") for line in f.read_text().splitlines()]
    execution = next(p for p in spool if p["hook_event_name"] == "hook_execution")
    assert execution["hook_name"] == "quality"
    assert execution["rag_queries"] == [{"name": "docs", "results": 4}]
    assert execution["quality_gates"] == [{"name": "lint", "passed": True}]
    assert execution["intelligence_functions"] == [{"name": "classify"}]
    intel = [p for p in spool if p["hook_event_name"] == "intelligence"]
    assert len(intel) == 3 and all(p["parent_id"] == execution["execution_id"] for p in intel)
    assert all(p["correlation_id"] == PAYLOAD["prompt_id"] for p in intel)


def test_kill_switch_runs_the_hook_but_records_nothing(runner, hooklake_home):
    proc = run_wrapped(runner, ["--", "sh", "-c", "echo hi; exit 2"], PAYLOAD, env={"HOOKLAKE_DISABLED": "1"})
    assert proc.returncode == 2 and proc.stdout == b"hi\n"
    assert hook_executions(hooklake_home) == []


def test_nested_wrapper_stays_in_the_trace(runner, hooklake_home):
    env = {"HOOKLAKE_CORRELATION_ID": "outer-trace", "HOOKLAKE_ROOT_ID": "root-0", "HOOKLAKE_EXECUTION_ID": "aaaaaaaaaaaaaaaa"}
    run_wrapped(runner, ["--", "true"], {"hook_event_name": "Stop"}, env=env)
    p = hook_executions(hooklake_home)[0]["payload"]
    assert p["correlation_id"] == "outer-trace" and p["root_id"] == "root-0" and p["parent_id"] == "aaaaaaaaaaaaaaaa"


def test_usage_errors(runner):
    for args in (["--"], ["--timeout", "0", "--", "true"], ["--bogus", "--", "true"], ["--sh", "--", "a", "b"]):
        proc = run_wrapped(runner, args, {})
        assert proc.returncode == 64 and b"usage: hooklake run" in proc.stderr


def test_native_and_python_write_the_same_event(native_bin, hooklake_home):
    python = [sys.executable, "-S", "-I", str(REPO / "hooks" / "wrapper.py")]
    for impl in ([native_bin], python):
        run_wrapped(impl, ["--timeout", "30", "--", "sh", "-c", "echo out; echo err >&2; exit 2"], PAYLOAD)
    native, py = (e["payload"] for e in hook_executions(hooklake_home))
    volatile = {"execution_id", "timestamp", "duration_ms"}
    assert {k: v for k, v in native.items() if k not in volatile} == {k: v for k, v in py.items() if k not in volatile}


def test_hooklake_run_cli(hooklake_home):
    bin_dir = Path(sys.executable).parent
    hooklake = bin_dir / "hooklake"
    cmd = [str(hooklake)] if hooklake.exists() else [sys.executable, "-m", "hooklake"]
    proc = run_wrapped(cmd, ["run", "--timeout", "20", "--", "sh", "-c", "cat; exit 2"], PAYLOAD)
    assert proc.returncode == 2 and json.loads(proc.stdout) == PAYLOAD
    assert (hooklake_home / "bin" / "hooklake-run").exists()  # built on first use, then exec'd into
    assert hook_executions(hooklake_home)[0]["payload"]["decision"] == "block"
    proc = run_wrapped(cmd, ["emit", "rag_query", "--json", '{"name": "docs"}'], {},
                       env={"HOOKLAKE_CORRELATION_ID": "t-1", "HOOKLAKE_EXECUTION_ID": "bbbbbbbbbbbbbbbb"})
    assert proc.returncode == 0, proc.stderr
    bad = run_wrapped(cmd, ["emit", "rag_query", "--json", "[1"], {})
    assert bad.returncode == 1 and b"not valid JSON" in bad.stderr and b"Traceback" not in bad.stderr
