"""Spool -> lake compaction: exactly-once, quarantine, every bad input of the contract, crashes."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hooklake.errors import HooklakeError
from hooklake.paths import Paths
from ingest import schema
from ingest.compactor import run_ingest
from ingest.faults import CRASH_ENV, CRASH_POINTS, FAIL_ENV
from ingest.state import CHECKPOINT_FILE, IngestBusy, IngestLock

from ingest_testkit import (
    SESSION,
    append,
    cc,
    defect_line,
    envelope_line,
    read_lake,
    read_quarantine,
    spool_path,
)

REPO = Path(__file__).resolve().parents[2]
OLD_HOUR = "2020010100"


def events(n: int, prompt_every: int = 5, start_ns: int = 1_795_000_000_000_000_000) -> list[bytes]:
    lines = []
    for i in range(n):
        if i % prompt_every == 0:
            payload = cc("UserPromptSubmit", prompt_id=f"p{i // prompt_every}", prompt=f"prompt {i}")
        else:
            payload = cc("PostToolUse", prompt_id=f"p{i // prompt_every}", tool_name="Bash",
                         tool_use_id=f"t{i}", tool_response={"stdout": "x" * 50}, duration_ms=i)
        lines.append(envelope_line(payload, captured_ns=start_ns + i * 1000))
    return lines


def ids(lines: list[bytes]) -> list[str]:
    return [json.loads(line)["event_id"] for line in lines]


def checkpoint_bytes(paths: Paths) -> bytes | None:
    path = paths.state / CHECKPOINT_FILE
    return path.read_bytes() if path.exists() else None


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real ``hooklake`` command in a separate process (needed where the process must die)."""
    full_env = {**os.environ, "HOOKLAKE_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "hooklake", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``hooklake`` in this process (HOOKLAKE_HOME is the test's home): exit code, stdout, stderr."""
    from hooklake.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------
# layout and schema
# --------------------------------------------------------------------------------------


def test_pinned_parquet_schema_and_layout(paths) -> None:
    append(spool_path(paths), *events(3))
    report = run_ingest(paths)
    assert report.events_written == 3 and report.parquet_files == 1
    files = list(paths.events.glob("date=*/part-*.parquet"))
    assert len(files) == 1
    assert files[0].name.startswith("part-") and files[0].parent.name == "date=2026-11-18"
    written = pq.ParquetFile(files[0])
    expected = schema.arrow_schema()
    assert written.schema_arrow.names == expected.names
    assert [f.type for f in written.schema_arrow] == [f.type for f in expected]
    assert written.schema_arrow.metadata[b"hooklake_schema_version"] == str(schema.SCHEMA_VERSION).encode()
    assert written.metadata.row_group(0).column(0).compression == "ZSTD"


def test_empty_spool(paths, capsys) -> None:
    report = run_ingest(paths)  # no spool folder at all
    assert (report.events_read, report.events_written, report.files) == (0, 0, 0)
    spool_path(paths).touch()  # an empty spool file
    report = run_ingest(paths)
    assert report.events_written == 0 and not list(paths.events.glob("**/*.parquet"))
    code, out, _err = cli(capsys, "ingest")
    assert code == 0 and "nothing new in the spool" in out


def test_second_run_adds_nothing(paths) -> None:
    append(spool_path(paths), *events(10))
    assert run_ingest(paths).events_written == 10
    again = run_ingest(paths)
    assert again.events_read == 0 and again.events_written == 0
    assert len(read_lake(paths)) == 10


# --------------------------------------------------------------------------------------
# bad input: each gives a clear reason and loses nothing
# --------------------------------------------------------------------------------------


def test_half_written_last_line_waits_for_the_next_run(paths) -> None:
    spool = spool_path(paths)
    good = events(3)
    append(spool, good[0], good[1], good[2][:25])  # a writer is in the middle of line 3
    report = run_ingest(paths)
    assert report.events_written == 2 and report.quarantined == 0
    append(spool, good[2][25:])
    report = run_ingest(paths)
    assert report.events_written == 1 and report.quarantined == 0
    assert [r["event_id"] for r in read_lake(paths)] == ids(good)


def test_bad_lines_are_quarantined_and_ingest_continues(paths, capsys) -> None:
    spool = spool_path(paths)
    good = events(4)
    truncated = good[3][:40] + b"\n"  # cut mid-line (a crashed writer), followed by more lines
    no_event_id = json.dumps({"v": 1, "captured_ns": 1, "source": "claude_code", "host": "h", "payload": {}}).encode()
    bad = {
        "truncated": truncated,
        "utf8": b'{"v":1,"event_id":"\xff\xfe"}\n',
        "not json": b"this is not json at all\n",
        "array": b"[1, 2, 3]\n",
        "string": b'"just a string"\n',
        "no event id": no_event_id + b"\n",
        "defect": defect_line(b"\xff not json", "invalid_utf8"),
        "payload not object": envelope_line("a string payload"),
        "future version": envelope_line(cc("Stop")).replace(b'{"v":1,', b'{"v":9,'),
    }
    append(spool, good[0], *bad.values(), good[1], good[2], b"\n")
    report = run_ingest(paths)
    assert report.events_written == 3
    assert report.quarantined == len(bad)
    assert report.events_read == 3 + len(bad)
    records = read_quarantine(paths)
    reasons = [r["reason"] for r in records]
    assert reasons[0].startswith("truncated line")
    assert reasons[1].startswith("invalid UTF-8")
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "JSON is not an object (got list)"
    assert reasons[4] == "JSON is not an object (got str)"
    assert "event_id" in reasons[5] and reasons[5].startswith("envelope does not match")
    assert reasons[6] == "producer stored the payload as raw bytes: invalid_utf8"
    assert "payload" in reasons[7]
    assert reasons[8] == "unsupported spool format version 9"
    content = spool.read_bytes()
    for record, raw in zip(records, bad.values()):
        data = base64.b64decode(record["raw_b64"])
        assert data == raw.rstrip(b"\n")
        assert content[record["byte_offset"]:record["byte_offset"] + len(data)] == data  # located exactly
        assert record["spool_file"] == str(spool)
    assert [r["line_number"] for r in records] == list(range(2, 2 + len(bad)))
    assert [r["event_id"] for r in read_lake(paths)] == ids(good[:3])
    code, _out, _err = cli(capsys, "ingest")  # nothing left, nothing re-quarantined
    assert code == 0 and len(read_quarantine(paths)) == len(bad)


def test_five_megabyte_payload(paths) -> None:
    big = "x" * (5 * 1024 * 1024)
    line = envelope_line(cc("PostToolUse", prompt_id="p", tool_name="Read", tool_response={"content": big}))
    append(spool_path(paths), line, *events(2))
    report = run_ingest(paths)
    assert report.events_written == 3 and report.quarantined == 0
    row = [r for r in read_lake(paths) if r["tool_name"] == "Read"][0]
    assert json.loads(row["payload"])["tool_response"]["content"] == big


def test_five_megabyte_line_larger_than_the_batch(paths) -> None:
    paths.config.write_text("[ingest]\nbatch_bytes = 65536\n")
    big = "y" * (5 * 1024 * 1024)
    append(spool_path(paths), *events(3), envelope_line(cc("UserPromptSubmit", prompt=big)), *events(3, start_ns=2))
    report = run_ingest(paths)
    assert report.events_written == 7 and report.batches >= 2


def test_unknown_event_name_and_fields_are_kept(paths) -> None:
    payload = cc("FutureHookEvent", prompt_id="p9", brand_new_field={"nested": [1, 2]})
    append(spool_path(paths), envelope_line(payload))
    run_ingest(paths)
    row = read_lake(paths)[0]
    assert (row["event_name"], row["event_kind"], row["correlation_id"]) == ("FutureHookEvent", "other", "p9")
    assert json.loads(row["payload"]) == payload


def test_missing_session_id_is_ingested_with_a_warning(paths) -> None:
    payload = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}}
    append(spool_path(paths), envelope_line(payload), *events(1))
    report = run_ingest(paths)
    assert report.events_written == 2
    assert any("1 Claude Code events without session_id" in w for w in report.warnings)
    row = [r for r in read_lake(paths) if r["session_id"] is None][0]
    assert row["tool_name"] == "Bash" and row["correlation_id"] is None


def test_duplicate_event_ids_are_dropped_within_and_across_runs(paths) -> None:
    spool = spool_path(paths)
    first = envelope_line(cc("UserPromptSubmit", prompt="once"), event_id="dup-1")
    append(spool, first, first, *events(2))
    report = run_ingest(paths)
    assert (report.events_written, report.duplicates) == (3, 1)
    append(spool, envelope_line(cc("UserPromptSubmit", prompt="re-sent"), event_id="dup-1"))
    report = run_ingest(paths)
    assert (report.events_written, report.duplicates) == (0, 1)
    rows = read_lake(paths)
    assert [r["prompt_text"] for r in rows if r["event_id"] == "dup-1"] == ["once"]


def test_clock_skew_events_out_of_order(paths) -> None:
    """Capture clocks jump backwards and payload timestamps span days: every event is kept with its
    own time and partition; traces follow spool (append) order, not the skewed clocks."""
    base = 1_795_000_000_000_000_000
    payloads = [
        (cc("UserPromptSubmit", prompt="first"), base),
        ({"hook_event_name": "endpoint_call", "session_id": "s-sdk", "timestamp": "2026-11-01T00:00:00Z"}, base - 10**12),
        (dict(cc("PreToolUse", tool_name="Bash"), session_id="old-1"), base - 3600 * 10**9),
        (dict(cc("UserPromptSubmit", prompt="p1"), session_id="old-1"), base + 5 * 10**9),
        (dict(cc("PostToolUse", tool_name="Bash"), session_id="old-1"), base - 7200 * 10**9),
        (cc("Stop", timestamp="2027-01-01T00:00:00Z"), base),
    ]
    lines = [envelope_line(p, captured_ns=ns) for p, ns in payloads]
    append(spool_path(paths), *lines)
    report = run_ingest(paths)
    assert report.events_written == 6 and report.quarantined == 0
    rows = {r["event_id"]: r for r in read_lake(paths)}
    got = [rows[i] for i in ids(lines)]
    assert {r["_date"] for r in got} == {"2026-11-18", "2026-11-01", "2027-01-01"}
    assert got[1]["event_time"].isoformat() == "2026-11-01T00:00:00+00:00"
    # old-1: the tool event before its first prompt has no trace; the one after inherits it
    assert got[2]["correlation_id"] is None
    assert got[4]["correlation_id"] == got[3]["correlation_id"] is not None


# --------------------------------------------------------------------------------------
# read-only lake, disk full
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False) -> Iterator[bool]:
    """Mount a small tmpfs when the test runs as root with mount rights; yields False otherwise."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        yield False
        return
    opts = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def assert_nothing_lost(paths: Paths, spool: Path, spool_before: bytes, cp_before: bytes | None,
                        exc: HooklakeError) -> None:
    message = str(exc)
    assert "cannot write the lake" in message and "Nothing was lost" in message
    assert spool.read_bytes() == spool_before
    assert checkpoint_bytes(paths) == cp_before
    assert not (paths.state / "ingest-pending.json").exists()


def test_read_only_lake_dir(paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spool = spool_path(paths)
    append(spool, *events(5))
    run_ingest(paths)  # something already stored
    append(spool, *events(5, start_ns=7))
    spool_before, cp_before = spool.read_bytes(), checkpoint_bytes(paths)
    lake = tmp_path / "ro-lake"
    with tmpfs(lake, "4m", read_only=True) as mounted:
        if mounted:
            monkeypatch.setenv("HOOKLAKE_LAKE", str(lake))  # a real read-only file system (EROFS)
        elif os.geteuid() != 0:
            paths.events.chmod(0o555)
        else:
            monkeypatch.setenv(FAIL_ENV, "write_parquet:EROFS")  # no mount rights: simulate
        with pytest.raises(HooklakeError) as info:
            run_ingest(paths)
        assert_nothing_lost(paths, spool, spool_before, cp_before, info.value)
        assert "read-only" in str(info.value).lower() or "permission" in str(info.value).lower()
    monkeypatch.delenv("HOOKLAKE_LAKE", raising=False)
    monkeypatch.delenv(FAIL_ENV, raising=False)
    if paths.events.exists():
        paths.events.chmod(0o755)
    assert run_ingest(paths).events_written == 5
    assert len(read_lake(paths)) == 10


@pytest.mark.parametrize("mode", ["injected", "tmpfs"])
def test_disk_full(paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str) -> None:
    spool = spool_path(paths)
    lake = tmp_path / "small-lake"
    monkeypatch.setenv("HOOKLAKE_LAKE", str(lake))
    append(spool, *events(3))
    run_ingest(paths)
    noise = [envelope_line(cc("PostToolUse", tool_name="Read", tool_response={"c": os.urandom(20000).hex()}))
             for _ in range(80)]  # ~1.6 MB after zstd (random hex halves at best)
    append(spool, *noise)
    spool_before, cp_before = spool.read_bytes(), checkpoint_bytes(paths)
    with tmpfs(lake, "1m" if mode == "tmpfs" else "0", read_only=False) if mode == "tmpfs" \
            else contextlib.nullcontext(False) as mounted:
        if mode == "tmpfs" and not mounted:
            pytest.skip("mounting a tmpfs needs root with mount rights; the injected case covers ENOSPC")
        if mode == "injected":
            monkeypatch.setenv(FAIL_ENV, "write_parquet:ENOSPC")
        with pytest.raises(HooklakeError) as info:
            run_ingest(paths)
        assert_nothing_lost(paths, spool, spool_before, cp_before, info.value)
        assert "No space left on device" in str(info.value)
        if mounted:
            assert not [p for p in lake.rglob("*") if p.is_file()]  # temp files cleaned up
    monkeypatch.delenv(FAIL_ENV, raising=False)
    report = run_ingest(paths)
    assert report.events_written == 80
    assert len(read_lake(paths)) == 83


# --------------------------------------------------------------------------------------
# concurrency and crashes
# --------------------------------------------------------------------------------------


def test_concurrent_run_waits_or_exits_cleanly(paths, capsys) -> None:
    append(spool_path(paths), *events(5))
    with IngestLock(paths.state, 0):  # flock: a second open of the lock file conflicts, even in-process
        with pytest.raises(IngestBusy, match="another `hooklake ingest` is running"):
            run_ingest(paths, wait_s=0.2)
        code, _out, err = cli(capsys, "ingest", "--wait", "0.2")
        assert code == 0 and "another `hooklake ingest` is running" in err and "Traceback" not in err
        code, out, _err = cli(capsys, "ingest", "--json", "--wait", "0")
        assert json.loads(out)["status"] == "busy"
    assert not list(paths.events.glob("**/*.parquet"))
    assert run_ingest(paths).events_written == 5


@pytest.mark.slow
def test_concurrent_runs_never_double_ingest(paths) -> None:
    lines = events(1000)
    append(spool_path(paths), *lines)
    procs = [subprocess.Popen([sys.executable, "-m", "hooklake", "ingest", "--json", "--wait", "60"], cwd=REPO,
                              env={**os.environ, "HOOKLAKE_HOME": str(paths.home)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    written = sorted(json.loads(out)["events_written"] for out, _err in outputs)
    assert written == [0, 1000]
    rows = read_lake(paths)
    assert len(rows) == 1000 and len({r["event_id"] for r in rows}) == 1000


def _crash_spool(paths: Paths) -> list[bytes]:
    """Two event dates (two lake files per batch) plus one bad line (a quarantine file)."""
    lines = events(30)
    lines[7] = envelope_line(cc("Stop", timestamp="2026-01-02T03:04:05Z"), captured_ns=1)
    append(spool_path(paths), *lines[:15], b"not json\n", *lines[15:])
    return lines


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_at_any_point_loses_nothing_and_duplicates_nothing(paths, point: str) -> None:
    lines = _crash_spool(paths)
    result = run_cli("ingest", home=paths.home, env={CRASH_ENV: point})
    assert result.returncode == 137, result.stderr  # died at the point, no cleanup
    report = run_ingest(paths)
    rows = read_lake(paths)
    assert sorted(r["event_id"] for r in rows) == sorted(ids(lines))
    assert len(read_quarantine(paths)) == 1
    if point in ("between_renames", "after_parquet"):
        assert any("interrupted ingest" in w for w in report.warnings)
    assert run_ingest(paths).events_read == 0
    assert not (paths.state / "ingest-pending.json").exists()
    assert not (paths.lake / ".tmp").exists() or not any((paths.lake / ".tmp").iterdir())


@pytest.mark.slow
def test_sigkill_during_a_long_run(paths) -> None:
    """A real ``kill -9`` in the middle of a multi-batch run (right after a batch committed)."""
    paths.config.write_text("[ingest]\nbatch_bytes = 150000\n")
    lines = events(2000)  # four batches
    append(spool_path(paths), *lines)
    proc = subprocess.Popen([sys.executable, "-m", "hooklake", "ingest", "--quiet"], cwd=REPO,
                            env={**os.environ, "HOOKLAKE_HOME": str(paths.home)})
    checkpoint = paths.state / CHECKPOINT_FILE
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    run_ingest(paths)
    rows = read_lake(paths)
    assert len(rows) == len(lines) and len({r["event_id"] for r in rows}) == len(lines)


# --------------------------------------------------------------------------------------
# spool retirement, batching, CLI
# --------------------------------------------------------------------------------------


def test_idle_old_spool_files_are_retired_only_after_commit(paths) -> None:
    old = spool_path(paths, hour=OLD_HOUR)
    current = spool_path(paths)
    tail = envelope_line(cc("Stop"))[:30]  # a writer died mid-line long ago
    append(old, *events(3), tail)
    append(current, *events(2, start_ns=5))
    past = time.time() - 3 * 3600
    os.utime(old, (past, past))
    report = run_ingest(paths)
    assert report.events_written == 5 and report.retired_files == 1
    assert report.quarantined == 1 and read_quarantine(paths)[0]["reason"].startswith("truncated line")
    assert not old.exists() and current.exists()
    checkpoint = json.loads((paths.state / CHECKPOINT_FILE).read_text())
    assert list(checkpoint["files"]) == [current.name]


def test_recent_old_hour_file_is_not_retired(paths) -> None:
    old = spool_path(paths, hour=OLD_HOUR)
    append(old, *events(2))
    assert run_ingest(paths).retired_files == 0  # modified just now: a late writer may still append
    assert old.exists()


def test_small_batches_give_the_same_lake(paths) -> None:
    paths.config.write_text("[ingest]\nbatch_bytes = 3000\n")
    lines = events(30)
    append(spool_path(paths), *lines)
    report = run_ingest(paths)
    assert report.batches > 3 and report.events_written == 30
    rows = read_lake(paths)
    assert [r["event_id"] for r in rows] == ids(lines)
    assert len({r["ingest_id"] for r in rows}) == report.batches
    assert all(r["correlation_id"] == r["prompt_id"] for r in rows)


def test_cli_json_and_human_output(paths, capsys) -> None:
    append(spool_path(paths), *events(4), b"garbage\n")
    result = run_cli("ingest", "--json", home=paths.home)  # the installed entry point, as users run it
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON value
    for key in ("events_read", "events_written", "quarantined", "redacted", "duplicates", "warnings", "files",
                "bytes", "duration_s", "events_per_s"):
        assert key in data
    assert (data["events_written"], data["quarantined"]) == (4, 1)
    append(spool_path(paths), *events(2, start_ns=9))
    code, out, _err = cli(capsys, "ingest")
    assert code == 0 and "2 events written" in out
    assert cli(capsys, "ingest", "--quiet")[1] == ""
    with pytest.raises(SystemExit):
        cli(capsys, "ingest", "--help")
    help_text = capsys.readouterr().out
    assert "--json" in help_text and "--quiet" in help_text


def test_bad_config_is_a_clean_error(paths, capsys) -> None:
    paths.config.write_text("[ingest]\nbatch_byte = 1\n")
    code, _out, err = cli(capsys, "ingest")
    assert code == 1 and "unknown key 'batch_byte'" in err


def test_many_sessions_in_one_batch(paths) -> None:
    lines = []
    for s in range(30):
        sid = str(uuid.UUID(int=s))
        for i in range(4):
            name = "UserPromptSubmit" if i % 2 == 0 else "PreToolUse"
            lines.append(envelope_line({"session_id": sid, "hook_event_name": name, "tool_name": "Bash"},
                                       captured_ns=1_795_000_000_000_000_000 + (s * 4 + i) * 1000))
    append(spool_path(paths), *lines)
    run_ingest(paths)
    rows = read_lake(paths)
    from ingest.normalize import derived_trace_id

    for row in rows:
        assert row["correlation_id"] in {derived_trace_id(row["session_id"], 1), derived_trace_id(row["session_id"], 2)}
    assert len({r["correlation_id"] for r in rows}) == 60
    assert rows[0]["session_id"] != SESSION


# --------------------------------------------------------------------------------------
# lines from the real producer, and other shapes of the same envelope
# --------------------------------------------------------------------------------------


def test_lines_from_the_real_spool_writer(paths) -> None:
    """``hooks.spool`` (the capture hook's and SDK's writer) -> ingest, incl. raw bytes it wraps."""
    spool_module = pytest.importorskip("hooks.spool")
    raw_payload = json.dumps(cc("UserPromptSubmit", prompt_id="p1", prompt="héllo\nworld")).encode()
    ids_written = [
        spool_module.capture_bytes(raw_payload, "claude_code", paths),
        spool_module.capture_bytes(b"\xff\xfe not json", "claude_code", paths),
        spool_module.append_event({"hook_event_name": "endpoint_call", "correlation_id": "p1", "service": "api",
                                   "endpoint": "/x", "status": 200}, "sdk", paths),
    ]
    assert all(ids_written)
    report = run_ingest(paths)
    assert (report.events_written, report.quarantined) == (2, 1)
    assert read_quarantine(paths)[0]["reason"].startswith("producer stored the payload as raw bytes")
    rows = {r["event_name"]: r for r in read_lake(paths)}
    assert rows["UserPromptSubmit"]["prompt_text"] == "héllo\nworld"
    assert rows["endpoint_call"]["correlation_id"] == "p1" and rows["endpoint_call"]["status"] == "ok"


def test_other_envelope_shapes_take_the_exact_path(paths) -> None:
    """Spaces, CRLF, payload not last, a nested "payload" key: same rows as the compact form."""
    payload = cc("PreToolUse", prompt_id="p1", tool_name="Bash", tool_input={"payload": {"x": 1}})
    env = {"v": 1, "event_id": "e-spaces", "captured_ns": 1_795_000_000_000_000_000, "source": "claude_code",
           "host": "h", "payload": payload}
    spaced = json.dumps(env).encode() + b"\r\n"
    reordered = json.dumps({"payload": payload, **{k: v for k, v in env.items() if k != "payload"},
                            "event_id": "e-first"}).encode() + b"\n"
    extra_after = json.dumps({**env, "event_id": "e-extra", "note": "x"}).encode() + b"\n"
    append(spool_path(paths), spaced, reordered, extra_after)
    report = run_ingest(paths)
    assert report.events_written == 3 and report.quarantined == 0
    for row in read_lake(paths):
        assert json.loads(row["payload"]) == payload
        assert (row["tool_name"], row["correlation_id"]) == ("Bash", "p1")
