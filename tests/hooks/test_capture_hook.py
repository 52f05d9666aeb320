"""The capture hook as Claude Code runs it: a whole process fed a payload on stdin.

Every test runs against both the compiled hook (hooks/capture.c) and the Python fallback
(hooks/capture.py under ``python -S -I``).
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hooks import envelope
from hooks_support import HOOKS_DIR, Hook, spool_events, spool_lines

PRE_TOOL_USE = {
    "session_id": "5f1c2a34-8d7e-4b7a-9c1e-2f3a4b5c6d7e",
    "transcript_path": "/home/dev/.claude/projects/-home-dev-app/5f1c2a34.jsonl",
    "cwd": "/home/dev/app",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "prompt_id": "0b9d6f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
    "tool_name": "Bash",
    "tool_input": {"command": "pytest -q tests/ 2>&1 | tail -5", "description": "Run the tests"},
    "tool_use_id": "toolu_01ABCdefGHIjklMNOpqrSTU",
}


def _one_event(home: Path) -> dict:
    events = spool_events(home)
    assert len(events) == 1, events
    return events[0]


def _check_envelope(ev: dict, source: str = "claude_code") -> None:
    assert ev["v"] == envelope.FORMAT_VERSION
    assert re.fullmatch(r"[0-9a-f]{32}", ev["event_id"])
    assert isinstance(ev["captured_ns"], int) and abs(ev["captured_ns"] - time.time_ns()) < 120e9
    assert ev["source"] == source
    assert ev["host"] == re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())
    assert list(ev)[:5] == ["v", "event_id", "captured_ns", "source", "host"]


def test_valid_payload_is_embedded_verbatim(hook: Hook, home: Path) -> None:
    raw = json.dumps(PRE_TOOL_USE, indent=1).encode()  # has raw newlines between tokens
    proc = hook.run(raw, home)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    [line] = spool_lines(home)
    ev = json.loads(line)
    _check_envelope(ev)
    assert ev["payload"] == PRE_TOOL_USE
    assert line.endswith(raw.replace(b"\n", b" ") + b"}"), "payload bytes must be kept, CR/LF -> space"
    name = (home / "spool").iterdir().__next__().name
    stamp = time.strftime("%Y%m%d%H", time.gmtime(ev["captured_ns"] / 1e9))
    assert name == envelope.spool_file_name(stamp, ev["host"])


def test_unicode_and_escapes_survive(hook: Hook, home: Path) -> None:
    payload = {"prompt": "héllo ✓ 𝄞 \u2028 \"q\" \\ \n\t", "n": [1, -0.5e-3, None, True, {}]}
    hook.run(json.dumps(payload, ensure_ascii=False).encode() + b"\r\n", home)
    assert _one_event(home)["payload"] == payload


def test_source_argument(hook: Hook, home: Path) -> None:
    hook.run(b"{}", home, "--source", "wrapper")
    _check_envelope(_one_event(home), source="wrapper")


def test_home_from_environment(hook: Hook, home: Path) -> None:
    proc = hook.run(b'{"a":1}', None, env={"HOOKLAKE_HOME": str(home)})
    assert proc.returncode == 0 and proc.stdout == b""
    assert _one_event(home)["payload"] == {"a": 1}


def test_five_megabyte_payload(hook: Hook, home: Path) -> None:
    payload = {"hook_event_name": "PostToolUse", "tool_response": {"stdout": "x" * (5 * 1024 * 1024)}}
    raw = json.dumps(payload).encode()
    proc = hook.run(raw, home)
    assert proc.returncode == 0 and proc.stdout == b""
    assert _one_event(home)["payload"] == payload


def test_five_megabyte_non_json_keeps_exact_bytes(hook: Hook, home: Path) -> None:
    raw = random.Random(7).randbytes(5 * 1024 * 1024)
    hook.run(raw, home)
    ev = _one_event(home)
    assert ev["defect"] == envelope.DEFECT_INVALID_UTF8
    assert base64.b64decode(ev["raw_b64"]) == raw
    assert "payload" not in ev


@pytest.mark.parametrize(
    ("raw", "defect"),
    [
        (b'{"prompt": "caf\xe9"}', envelope.DEFECT_INVALID_UTF8),
        (b'{"a": "\xed\xa0\x80"}', envelope.DEFECT_INVALID_UTF8),  # UTF-8-encoded surrogate
        (b"not json at all", envelope.DEFECT_INVALID_JSON),
        (b'{"a": 1', envelope.DEFECT_INVALID_JSON),  # truncated
        (b'{"a": NaN}', envelope.DEFECT_INVALID_JSON),
        (b'{"a": 1}{"b": 2}', envelope.DEFECT_INVALID_JSON),
        (b'\xef\xbb\xbf{"a": 1}', envelope.DEFECT_INVALID_JSON),  # BOM
        (b'[{"a": 1}]', envelope.DEFECT_NOT_OBJECT),
        (b'"just a string"', envelope.DEFECT_NOT_OBJECT),
        (b"42", envelope.DEFECT_NOT_OBJECT),
        (b"", envelope.DEFECT_EMPTY),
        (b" \n\t\r\n", envelope.DEFECT_EMPTY),
    ],
)
def test_bad_payloads_are_kept_raw(hook: Hook, home: Path, raw: bytes, defect: str) -> None:
    proc = hook.run(raw, home)
    assert proc.returncode == 0 and proc.stdout == b""
    ev = _one_event(home)
    _check_envelope(ev)
    assert ev["defect"] == defect
    assert base64.b64decode(ev["raw_b64"]) == raw
    assert "payload" not in ev


def test_kill_switch_env(hook: Hook, home: Path) -> None:
    proc = hook.run(b'{"a":1}', home, env={"HOOKLAKE_DISABLED": "1"})
    assert proc.returncode == 0 and proc.stdout == b""
    assert not (home / "spool").exists()
    hook.run(b'{"a":1}', home, env={"HOOKLAKE_DISABLED": "0"})
    assert len(spool_lines(home)) == 1, "HOOKLAKE_DISABLED=0 means capture stays on"


def test_kill_switch_file(hook: Hook, home: Path) -> None:
    (home / "capture-off").touch()
    proc = hook.run(b'{"a":1}', home)
    assert proc.returncode == 0 and proc.stdout == b""
    assert not (home / "spool").exists()


def test_unwritable_spool_logs_error_and_exits_zero(hook: Hook, home: Path) -> None:
    (home / "spool").write_text("a file where the spool folder should be")  # fails even as root
    proc = hook.run(json.dumps(PRE_TOOL_USE).encode(), home)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    log = (home / "logs" / "capture-errors.log").read_text()
    [line] = log.splitlines()
    stamp, component, reason = line.split("\t")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    assert component == f"capture[{hook.kind}]"
    assert "spool" in reason and "Not a directory" in reason


def test_disk_full_is_logged(hook: Hook, home: Path) -> None:
    """The spool file is a symlink to /dev/full: open works, write() fails with ENOSPC."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())
    (home / "spool").mkdir()
    now = time.time()
    for t in (now, now + 3600):  # the hour may turn while the test runs
        name = envelope.spool_file_name(time.strftime("%Y%m%d%H", time.gmtime(t)), host)
        (home / "spool" / name).symlink_to("/dev/full")
    proc = hook.run(json.dumps(PRE_TOOL_USE).encode(), home)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    log = (home / "logs" / "capture-errors.log").read_text()
    assert "write to spool file failed" in log and "No space left on device" in log


def test_unwritable_everything_still_exits_zero(hook: Hook, tmp_path: Path) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("x")
    proc = hook.run(b'{"a":1}', home)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""


def test_native_and_python_write_identical_lines(native_binary: Path, tmp_path: Path) -> None:
    inputs = [
        json.dumps(PRE_TOOL_USE).encode(),
        b' \r\n{"a" :\r\n [1, 2.5e3, "x\\u00e9"]}\n\n',
        b'{"prompt": "caf\xe9"}',
        b"[1,2]",
        b"",
        b"nope",
        b"\x00\x01\x02",
    ]
    native_hook = Hook("native", [str(native_binary)])
    python_hook = Hook("python", [sys.executable, "-S", "-I", str(HOOKS_DIR / "capture.py")])
    for i, raw in enumerate(inputs):
        outs = []
        for h in (native_hook, python_hook):
            home = tmp_path / f"{h.kind}-{i}"
            h.run(raw, home, "--source", "demo")
            [line] = spool_lines(home)
            outs.append(re.sub(rb'"event_id":"[0-9a-f]{32}","captured_ns":\d+', b"ID", line))
        assert outs[0] == outs[1], raw


def _sized_payload(n: int, size: int) -> bytes:
    head = json.dumps({"n": n, "f": ""}).encode()
    fill = max(0, size - len(head))
    return json.dumps({"n": n, "f": "y" * fill}).encode()


@pytest.mark.slow
def test_concurrent_writers_never_tear_lines(hook: Hook, home: Path) -> None:
    """16 writers at once, payloads from 10 bytes to 1 MB: every line whole, every event once."""
    sizes = [10, 200, 4096, 65536, 300_000, 1024 * 1024]
    rounds = 6 if hook.kind == "native" else 2
    jobs = [(n, sizes[n % len(sizes)]) for n in range(16 * rounds)]
    random.Random(3).shuffle(jobs)

    def run(job: tuple[int, int]) -> int:
        n, size = job
        return hook.run(_sized_payload(n, size), home).returncode

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(run, jobs)) == {0}
    events = spool_events(home)  # raises if any line is torn or interleaved
    seen = sorted(ev["payload"]["n"] for ev in events)
    assert seen == list(range(len(jobs)))
    for ev in events:
        n = ev["payload"]["n"]
        assert len(json.dumps(ev["payload"]).encode()) == len(_sized_payload(n, dict(jobs)[n]))
    assert len({ev["event_id"] for ev in events}) == len(jobs)
    assert not (home / "logs").exists()
