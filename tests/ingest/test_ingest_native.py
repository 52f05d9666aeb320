"""The native scanner (ingest/native/scan.c) against the DuckDB path and the exact Python rules.

The same mixed spool (real Claude Code payloads, secrets in every place the rules look, defects,
unicode, a 5 MB payload, a half-written last line) is ingested once with the C scanner and once
with it disabled; both lakes, quarantines and reports must be identical. A second test feeds
tricky secret spellings straight to the scanner: every line whose payload the redactor would
change must be sent to the exact path.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from hooklake.paths import Paths
from ingest import native, schema
from ingest.compactor import run_ingest
from ingest.redact import Redactor

from ingest_testkit import append, cc, defect_line, envelope_line, read_lake, read_quarantine, spool_path
from test_ingest_normalize import sdk_events, session_1_0, session_2_1

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude_code" / "2.1.328"
T0 = 1_795_000_000_000_000_000

#: Payload strings that hold a secret for some value pattern (several spelled to dodge a naive scan).
SECRET_TEXTS = (
    "curl -H 'Authorization: Bearer abcdefghijklmnop' https://api",
    "BEARER\u00a0abcdefghijklmnop",
    "export ANTHROPIC_API_KEY=sk-ant-api03-" + "A" * 30,
    "key sk-proj-" + "b" * 24,
    "gh auth ghp_" + "a1B2c3D4e5" * 4,
    "github_pat_" + "x" * 30,
    "slack xoxb-1234567890-abc",
    "AIza" + "S" * 35,
    "stripe sk_live_" + "4" * 20,
    "aws AKIAIOSFODNN7EXAMPLE here",
    "AWS_SECRET_ACCESS_KEY = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "psql postgres://admin:hunter2secret@db.internal:5432/app",
    "DB_PASSWORD=hunter22 ./run",
    "TO\u212aEN=abcdef123",  # KELVIN SIGN: Python's case-insensitive match folds it onto k
    "my_secret \u2003= value1234",
    "api_key: no, but apikey=zzzz9999",
)

#: Payloads whose keys are secret names at some depth.
SECRET_KEYS = (
    {"tool_input": {"env": {"DB_PASSWORD": "x"}}},
    {"tool_input": {"headers": [{"X-Api-Key": 12345}]}},
    {"tool_response": {"deep": {"deeper": {"accessToken": {"a": 1}}}}},
    {"Cookie": "session=abc"},
    {"tool_input": {"password_hash": "abc"}},
    {"tool_input": {"my_company_secret": "abc"}},
)

#: Text that must *not* be flagged (else the test could not fail for a scanner that flags everything).
PLAIN_TEXTS = (
    "run the build and fix the tests; then deploy",
    "see https://example.com/path?x=1 and http://host:8080/",
    "task-1234 desk-5 max_tokens=5 input_tokens and tokens",
    "unicode caf\u00e9 \u4e2d\u6587 emoji \U0001F600 done",
)


def mixed_lines() -> list[bytes]:
    lines: list[bytes] = []
    ns = iter(range(T0, T0 + 10_000_000, 1000))

    def add(payload: Any, **kw: Any) -> None:
        lines.append(envelope_line(payload, captured_ns=next(ns), **kw))

    for scenario in sorted(FIXTURES.glob("*.jsonl")):
        for text in scenario.read_text().splitlines():
            if text.strip():
                add(json.loads(text))
    for payload in session_2_1() + session_1_0():
        add(payload)
    for payload in sdk_events():
        add(payload, source="sdk")
    for text in SECRET_TEXTS + PLAIN_TEXTS:
        add(cc("PreToolUse", prompt_id="p-s", tool_name="Bash", tool_use_id="t", tool_input={"command": text}))
        add(cc("UserPromptSubmit", prompt_id="p-s", prompt=text))
    for extra in SECRET_KEYS:
        add(cc("PostToolUse", prompt_id="p-k", tool_name="Bash", **extra))
    # escapes: a secret hidden behind \u escapes, non-ASCII, a lone surrogate, escaped keys
    escaped = json.dumps(cc("UserPromptSubmit", prompt_id="p-e", prompt="sk-ant-api03-" + "Q" * 30))
    lines.append(envelope_line({}, captured_ns=next(ns)).replace(b'"payload":{}', b'"payload":' + escaped.replace(
        "sk-ant", "sk\\u002dant").encode()))
    add(cc("UserPromptSubmit", prompt_id="p-u", prompt="h\u00e9llo \u2603 \U0001F680 \"quoted\" back\\slash\nnew"))
    add(cc("UserPromptSubmit", prompt_id="p-u", prompt="lone \ud800 surrogate"))
    lines.append(envelope_line({}, captured_ns=next(ns)).replace(
        b'"payload":{}', b'"payload":{"hook_event_name":"Stop","session_\\u0069d":"s-esc","cwd":"/x"}'))
    # field types and timestamps the columns derive differently
    add(cc("PostToolUse", tool_name=42, duration_ms="slow", is_interrupt="no"))
    add(cc("PostToolUseFailure", tool_name="Bash", error={"message": "boom"}, is_interrupt=True))
    add(cc("Notification", message=None, session_id=None))
    add(cc("SessionStart", source=7))
    add({"hook_event_name": "api_response", "input_tokens": 2**70, "output_tokens": 5, "cost_usd": 1e400})
    for ts in ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.5+02:00", "2026-11-20 10:00:00.123456-0130",
               "2026-11-20", "2026-02-30T00:00:00Z", "2026-11-20T10:00Z", "yesterday", 1795000000, 1795000000.25,
               1795000000123, 1795000000123456, 1795000000123456789, -5, 10**30, True, None, {"t": 1}):
        add({"hook_event_name": "custom", "timestamp": ts, "status": " Completed\n"})
    for status in (200, 404.5, "weird", "", True):
        add({"hook_event_name": "endpoint_call", "status": status, "exit_code": 0, "success": False})
    add({"hook_event_name": "hook_execution", "exit_code": 3, "error": ""})
    add({"hook_event_name": "hook_execution", "error": [], "success": True, "model": {"id": "m"}})
    add(cc("PreToolUse", tool_name="mcp__my_server__do__thing", service="ignored"))
    add(cc("PreToolUse", tool_name="mcp__only", service="svc", endpoint="/e"))
    add(cc("PreToolUse", tool_name="Bash", tool_input={"command": "ls"}, note="x" * 5_000_000))
    # text values around 12 bytes: up to 12 stay inline in their Arrow view, longer ones are copied
    # out of the line by the scanner (plain, escaped and non-ASCII text)
    for width in (11, 12, 13, 14):
        def text(c: str) -> str:
            return (c * width)[:width]

        add(cc("PreToolUse", session_id=text("s"), prompt_id=text("p"), tool_name=text("T"),
               tool_use_id=text("u"), agent_id=text("a"), agent_type=text("t"), cwd=text("/"),
               transcript_path=text("r"), permission_mode=text("m"), tool_input={"command": text("c")}),
            event_id=f"{width:02d}" + text("e")[2:], source=text("o"), host=text("h"))
        add(cc("UserPromptSubmit", session_id=text("s"), prompt_id=text("q"), prompt=text("x")[:-1] + "\n"))
        add(cc("UserPromptSubmit", session_id=text("s"), prompt=text("\u00e9")[:width // 2], model=text("M")))
        add({"hook_event_name": "endpoint_call", "correlation_id": text("C"), "root_id": text("R"),
             "parent_id": text("P"), "execution_id": text("X"), "service": text("v"), "endpoint": text("d"),
             "status": text("S"), "error": text("E")})
        add(cc("PostToolUseFailure", tool_name="mcp__" + text("v") + "__" + text("w"), error=text("z")))
    # envelope shapes and defects
    dup = envelope_line(cc("Stop"), captured_ns=next(ns))
    lines += [dup, dup]
    lines.append(b'{"v":1,"event_id":"spaced", "captured_ns": 1795000000000000000 , "source":"claude_code",'
                 b' "host":"h", "payload": {"hook_event_name": "Stop"} }\r\n')
    lines.append(b'{"v":true,"event_id":"b","captured_ns":1,"source":"s","host":"h","payload":{}}\n')
    lines.append(b'{"v":1,"event_id":"b2","captured_ns":1.5,"source":"s","host":"h","payload":{}}\n')
    lines.append(b'{"v":1,"event_id":"b3","captured_ns":1,"source":"s","host":"h","payload":{},"raw_b64":"eA=="}\n')
    lines.append(b'{"v":1,"event_id":"b4","captured_ns":1,"source":"s","host":"h","payload":{"a":NaN}}\n')
    lines.append(b'{"v":1,"event_id":"b5","captured_ns":1,"source":"s","host":"h","payload":{"a":"\x01"}}\n')
    lines.append(defect_line(b"\xff\xfe not json", "invalid_utf8"))
    lines.append(b'{"v":1,"event_id":"\xff\xfe","captured_ns":1}\n')
    lines += [b"not json\n", b"[1,2]\n", b"\n", b"   \n"]
    lines.append(envelope_line(cc("Stop"), captured_ns=next(ns))[:40] + b"\n")
    return lines


def ingest_into(home: Path, lines: list[bytes], tail: bytes, monkeypatch: pytest.MonkeyPatch, native_on: bool):
    paths = Paths.resolve(home)
    monkeypatch.setenv(native.DISABLE_ENV, "1" if native_on else "0")
    spool = spool_path(paths)
    append(spool, *lines, tail)
    report = run_ingest(paths)
    return paths, spool, report


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        row = {k: v for k, v in row.items() if k not in ("ingest_id", "_file")}
        row["payload"] = json.loads(row["payload"])
        out.append(row)
    return out


def test_native_and_duckdb_paths_write_identical_lakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = mixed_lines()
    tail = envelope_line(cc("Stop"), captured_ns=T0)[:-30]  # half-written last line: waits
    results = {}
    for native_on in (True, False):
        home = tmp_path / ("native" if native_on else "duckdb")
        paths, spool, report = ingest_into(home, lines, tail, monkeypatch, native_on)
        assert report.engine == ("native" if native_on else "duckdb")
        results[native_on] = (paths, spool, report)
    (p_n, spool_n, r_n), (p_d, r_d) = results[True], results[False][::2]
    for name in ("events_read", "events_written", "quarantined", "redacted", "redacted_events", "duplicates",
                 "warnings", "bytes"):
        assert getattr(r_n, name) == getattr(r_d, name), name
    assert r_n.events_written > 150 and r_n.quarantined >= 7 and r_n.duplicates == 1
    assert r_n.redacted >= len(SECRET_TEXTS) * 2 + len(SECRET_KEYS)
    assert r_n.bytes == spool_n.stat().st_size - len(tail)  # the half-written line is left
    lake_n, lake_d = comparable(read_lake(p_n)), comparable(read_lake(p_d))
    assert [r["event_id"] for r in lake_n] == [r["event_id"] for r in lake_d]
    for a, b in zip(lake_n, lake_d):
        assert a == b, {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    for row in lake_n:
        text = json.dumps(row["payload"]) + (row["prompt_text"] or "")
        assert "hunter2" not in text and "sk-ant-api03" not in text and "AKIAIOSFODNN7EXAMPLE" not in text
    q_n, q_d = read_quarantine(p_n), read_quarantine(p_d)
    strip = ("quarantined_at", "ingest_id", "spool_file")
    assert [{k: v for k, v in q.items() if k not in strip} for q in q_n] == \
        [{k: v for k, v in q.items() if k not in strip} for q in q_d]
    content = spool_n.read_bytes()
    for record in q_n:
        raw = base64.b64decode(record["raw_b64"])
        assert content[record["byte_offset"]:record["byte_offset"] + len(raw)] == raw
    # the written files carry the lake schema
    import pyarrow.parquet as pq

    for file in p_n.events.glob("date=*/*.parquet"):
        assert pq.ParquetFile(file).schema_arrow.names == schema.arrow_schema().names
        assert [f.type for f in pq.ParquetFile(file).schema_arrow] == [f.type for f in schema.arrow_schema()]


def scanner_flags(payloads: list[Any]) -> list[bool]:
    import numpy as np

    lib = native.load(Paths.resolve().bin)
    if lib is None:
        pytest.skip(f"no native scanner here: {native.last_error}")
    scanner = native.Scanner(lib, Redactor())
    data = b"".join(envelope_line(p, captured_ns=T0) for p in payloads)
    result = scanner.scan(data, scanner.line_offsets(data))
    scanner.close()
    return [bool(x) for x in np.asarray(result.slow)]


def test_every_line_the_redactor_changes_takes_the_exact_path() -> None:
    redactor = Redactor()
    payloads = [cc("PreToolUse", tool_input={"command": t}) for t in SECRET_TEXTS + PLAIN_TEXTS]
    payloads += [cc("PostToolUse", **extra) for extra in SECRET_KEYS]
    flags = scanner_flags(payloads)
    for payload, slow in zip(payloads, flags):
        _new, count = redactor.redact_value(payload)
        if count:
            assert slow, payload
    assert flags[len(SECRET_TEXTS):len(SECRET_TEXTS) + len(PLAIN_TEXTS)] == [False] * len(PLAIN_TEXTS)


def test_ordinary_claude_code_lines_stay_on_the_native_path() -> None:
    payloads = [json.loads(t) for f in sorted(FIXTURES.glob("*.jsonl")) for t in f.read_text().splitlines() if t]
    flags = scanner_flags(payloads)
    assert sum(flags) == 0, [p["hook_event_name"] for p, f in zip(payloads, flags) if f]


def test_without_a_compiler_ingest_uses_the_duckdb_path(paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_LIBS", {})
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    monkeypatch.setenv("PATH", "/nonexistent")
    append(spool_path(paths), envelope_line(cc("Stop"), captured_ns=T0))
    report = run_ingest(paths)
    assert report.engine == "duckdb" and report.events_written == 1
    assert native.last_error
