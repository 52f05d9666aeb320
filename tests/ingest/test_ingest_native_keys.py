"""Duplicates and correlation ids on the native path (ingest/native/keys.py) against the DuckDB
path's SQL (ingest/vectorized.py keys_sql) and against hand-computed values.

The spool is ingested in several runs of several small batches, so that sessions, prompt
ordinals and the duplicate history cross batch and run boundaries; both paths must write the
same lakes and keep the same checkpoint state.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from hooklake.paths import Paths
from ingest import native
from ingest.compactor import run_ingest
from ingest.state import StateStore

from ingest_testkit import append, envelope_line, read_lake, spool_path

T0 = 1_795_000_000_000_000_000
DAY_NS = 86_400 * 10**9


def _payload(rng: random.Random, session: str | None, old: bool, kind: str, prompt: str | None) -> dict[str, Any]:
    base: dict[str, Any] = {"hook_event_name": kind, "cwd": "/w"}
    if session is not None:
        base["session_id"] = session
    if not old and prompt is not None:
        base["prompt_id"] = prompt
    if kind == "UserPromptSubmit":
        base["prompt"] = f"do thing {rng.randrange(1000)}"
    if kind in ("PreToolUse", "PostToolUse"):
        base["tool_name"] = "Bash"
        command = f"echo {rng.randrange(1000)}"
        if rng.random() < 0.1:
            command += " ghp_" + "a1B2c3D4e5" * 4  # a secret: the line takes the exact path
        base["tool_input"] = {"command": command}
    return base


def run_plan(seed: int = 3) -> list[list[bytes]]:
    """Three runs of spool lines: interleaved 2.1.x and 1.0.x sessions, SDK events with given
    correlation and root ids, events without a session, two event dates, duplicates inside a
    batch and re-sent lines of earlier runs."""
    rng = random.Random(seed)
    sessions = [(f"sess-{i}", i % 3 == 0) for i in range(12)]  # every third one is 1.0.x (no prompt_id)
    prompt_of: dict[str, str | None] = {}
    runs: list[list[bytes]] = [[], [], []]
    sent: list[bytes] = []
    n = 0
    for r in range(3):
        for _step in range(120):
            n += 1
            ns = T0 + n * 1000 + (DAY_NS if rng.random() < 0.3 else 0)  # some events on the next day
            pick = rng.random()
            if pick < 0.06:
                payload: dict[str, Any] = {"hook_event_name": "Notification", "message": "no session"}
            elif pick < 0.12:
                payload = {"hook_event_name": "endpoint_call", "correlation_id": f"corr-{rng.randrange(4)}",
                           "root_id": rng.choice([None, "root-x"]), "service": "svc", "endpoint": "/e",
                           "status": 200, "session_id": rng.choice([None, "sess-1"])}
            else:
                session, old = rng.choice(sessions)
                if session not in prompt_of:
                    kind = "SessionStart"
                    prompt_of[session] = None
                elif prompt_of[session] is None or rng.random() < 0.15:
                    kind = "UserPromptSubmit"
                    prompt_of[session] = f"p-{session}-{n}"
                else:
                    kind = rng.choice(["PreToolUse", "PostToolUse", "Stop", "SessionStart"])
                payload = _payload(rng, session, old, kind, prompt_of[session])
            line = envelope_line(payload, event_id=f"ev-{seed}-{n}", captured_ns=ns,
                                 source="sdk" if payload["hook_event_name"] == "endpoint_call" else "claude_code")
            runs[r].append(line)
            sent.append(line)
            if rng.random() < 0.05:
                runs[r].append(line)  # sent twice in the same batch (or the next one)
            if r and rng.random() < 0.05:
                runs[r].append(rng.choice(sent[:-1]))  # re-sent: often already committed
    return runs


def ingest_runs(home: Path, runs: list[list[bytes]], monkeypatch: pytest.MonkeyPatch, native_on: bool):
    paths = Paths.resolve(home)
    paths.home.mkdir(parents=True, exist_ok=True)
    paths.config.write_text("[ingest]\nbatch_bytes = 6000\n")
    monkeypatch.setenv(native.DISABLE_ENV, "1" if native_on else "0")
    spool = spool_path(paths, hour="2026112012")
    reports = []
    for lines in runs:
        append(spool, *lines)
        report = run_ingest(paths)
        assert report.engine == ("native" if native_on else "duckdb")
        reports.append(report)
    return paths, reports


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (json.loads(v) if k == "payload" else v) for k, v in row.items() if k not in ("ingest_id", "_file")}
            for row in rows]


def test_native_keys_equal_the_sql_keys_across_batches_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import compactor

    monkeypatch.setattr(compactor, "NATIVE_PIECE_MIN_BYTES", 1000)  # several scan pieces per batch
    runs = run_plan()
    out = {}
    for native_on in (True, False):
        out[native_on] = ingest_runs(tmp_path / str(native_on), runs, monkeypatch, native_on)
    (p_n, reports_n), (p_d, reports_d) = out[True], out[False]
    for a, b in zip(reports_n, reports_d):
        assert a.batches > 1
        for name in ("events_read", "events_written", "duplicates", "redacted", "redacted_events", "warnings"):
            assert getattr(a, name) == getattr(b, name), name
    assert sum(r.duplicates for r in reports_n) >= 10
    assert reports_n[1].duplicates > 0 and reports_n[2].duplicates > 0  # incl. ids committed by earlier runs
    lake_n, lake_d = comparable(read_lake(p_n)), comparable(read_lake(p_d))
    assert len({r["event_id"] for r in lake_n}) == len(lake_n)  # exactly once
    assert len({r["_date"] for r in lake_n}) == 2
    assert lake_n == lake_d
    state_n, state_d = StateStore(p_n.state).load(), StateStore(p_d.state).load()
    assert state_n.sessions == state_d.sessions
    import numpy as np

    assert np.array_equal(StateStore(p_n.state).load_history(state_n), StateStore(p_d.state).load_history(state_d))


def test_native_correlation_ids_follow_the_session_rules(paths, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand-computed values: a 1.0.x session spread over two runs, its prompts numbered across
    them; a 2.1.x prompt; events that inherit a trace; session starts and session-less events."""
    monkeypatch.setenv(native.DISABLE_ENV, "1")
    spool = spool_path(paths, hour="2026112012")
    old = {"session_id": "old-1", "cwd": "/w"}
    first = [
        ({**old, "hook_event_name": "SessionStart"}, "a1"),
        ({**old, "hook_event_name": "UserPromptSubmit", "prompt": "one"}, "a2"),
        ({**old, "hook_event_name": "PreToolUse", "tool_name": "Bash"}, "a3"),
        ({"hook_event_name": "Notification", "message": "none"}, "a4"),
        ({"hook_event_name": "endpoint_call", "correlation_id": "c-9", "root_id": "r-9", "session_id": "old-1"}, "a5"),
        ({**old, "hook_event_name": "Stop"}, "a6"),
    ]
    second = [
        ({**old, "hook_event_name": "Notification", "message": "still one"}, "b1"),
        ({**old, "hook_event_name": "SessionStart"}, "b2"),
        ({**old, "hook_event_name": "UserPromptSubmit", "prompt": "two"}, "b3"),
        ({**old, "hook_event_name": "Stop"}, "b4"),
        ({"session_id": "new-1", "prompt_id": "pid-7", "hook_event_name": "UserPromptSubmit", "prompt": "x"}, "b5"),
        ({"session_id": "new-1", "hook_event_name": "Stop"}, "b6"),
    ]
    ns = iter(range(T0, T0 + 10**9, 1000))
    for lines in (first, second):
        append(spool, *[envelope_line(p, event_id=e, captured_ns=next(ns)) for p, e in lines])
        report = run_ingest(paths)
        assert report.engine == "native" and report.events_written == len(lines)
    rows = {r["event_id"]: r for r in read_lake(paths)}
    t1 = hashlib.md5(b"old-1:1").hexdigest()
    t2 = hashlib.md5(b"old-1:2").hexdigest()
    expected = {"a1": None, "a2": t1, "a3": t1, "a4": None, "a5": "c-9", "a6": t1,
                "b1": t1, "b2": None, "b3": t2, "b4": t2, "b5": "pid-7", "b6": "pid-7"}
    assert {e: rows[e]["correlation_id"] for e in expected} == expected
    assert rows["a5"]["root_id"] == "r-9" and rows["a3"]["root_id"] == t1 and rows["a4"]["root_id"] is None
    sessions = StateStore(paths.state).load().sessions
    assert sessions["old-1"][:2] == [2, t2] and sessions["new-1"][:2] == [1, "pid-7"]


def test_lakes_stay_identical_when_chunks_are_scanned_in_pieces_and_threads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mixed spool of test_ingest_native, its chunk scanned in pieces (one scanned ahead
    while the exact path runs) and every piece split across the scanner's threads."""
    from ingest import compactor

    from test_ingest_native import test_native_and_duckdb_paths_write_identical_lakes as identical_lakes

    monkeypatch.setattr(compactor, "NATIVE_PIECE_MIN_BYTES", 20_000)
    monkeypatch.setattr(native, "_MIN_PARALLEL_BYTES", 2_000)
    identical_lakes(tmp_path, monkeypatch)


def test_equal_duplicate_keys_are_confirmed_on_the_event_id(paths, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a batch, rows whose 64-bit keys collide are told apart by their event id text."""
    import numpy as np

    from ingest.native.rows import RowStore

    monkeypatch.setenv(native.DISABLE_ENV, "1")
    monkeypatch.setattr(RowStore, "id_hashes", lambda self, rows: np.full(len(rows), 7, dtype=np.uint64))
    lines = [envelope_line({"hook_event_name": "Stop", "session_id": "s", "n": i}, event_id=e, captured_ns=T0 + i)
             for i, e in enumerate(["x", "y", "x", "z", "y"])]
    append(spool_path(paths), *lines)
    report = run_ingest(paths)
    assert report.engine == "native"
    assert (report.events_written, report.duplicates) == (3, 2)
    rows = read_lake(paths)
    assert sorted((r["event_id"], json.loads(r["payload"])["n"]) for r in rows) == [("x", 0), ("y", 1), ("z", 3)]


def test_duplicate_keys_are_duckdbs_md5_prefix() -> None:
    """The C key function equals ``CAST('0x' || md5(s)[1:16] AS UBIGINT)`` (the SQL path's key),
    across the MD5 block boundaries, for inline (<= 12 bytes) and buffer-backed string views."""
    import duckdb
    import pyarrow as pa

    from ingest.native.rows import string_views

    lib = native.load(Paths.resolve().bin)
    if lib is None:
        pytest.skip(f"no native scanner here: {native.last_error}")
    texts = ["", "a", "abc", "x" * 12, "y" * 13] + ["k" * n for n in (55, 56, 57, 63, 64, 65, 119, 120, 200)]
    texts += ["caf\u00e9 \u4e2d\u6587 \U0001F600", "5d882e33-9cea-4ab5-b80b-bd96ab76d3ab"]
    views, _valid, data = string_views(pa.array(texts, type=pa.string()), 0)
    got = native.md5_prefixes(lib, views, [data]).tolist()
    expected = [int.from_bytes(hashlib.md5(t.encode()).digest()[:8], "big") for t in texts]
    assert got == expected
    con = duckdb.connect()
    con.register("texts", pa.table({"i": list(range(len(texts))), "t": texts}))
    sql = [int(v) for (v,) in con.execute("SELECT CAST('0x' || md5(t)[1:16] AS UBIGINT) FROM texts ORDER BY i").fetchall()]
    con.close()
    assert sql == expected


def test_key_sets_in_c_agree_with_numpy() -> None:
    import numpy as np

    lib = native.load(Paths.resolve().bin)
    if lib is None:
        pytest.skip(f"no native scanner here: {native.last_error}")
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**64 - 1, size=5000, dtype=np.uint64, endpoint=True)
    keys[:50] = keys[100:150]  # repeats
    keys[200:210] = 0
    keys[300] = np.uint64(2**64 - 1)
    members = np.concatenate([keys[::7], rng.integers(0, 2**64 - 1, size=3000, dtype=np.uint64), [np.uint64(0)]])
    _values, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    assert native.repeated(lib, keys).tolist() == (counts[inverse.reshape(-1)] > 1).tolist()
    assert native.in_set(lib, keys, members).tolist() == np.isin(keys, members).tolist()
    assert native.in_set(lib, keys, members[:0]).tolist() == [False] * len(keys)
    assert native.repeated(lib, keys[:1]).tolist() == [False]


def test_string_groups_in_c_agree_with_arrow_dictionary_encode() -> None:
    """Session grouping over string views (nulls, inline and buffer-backed, in two buffers, equal
    prefixes and lengths) numbers the groups as ``dictionary_encode`` does."""
    import numpy as np
    import pyarrow as pa

    from ingest.native.rows import string_views

    lib = native.load(Paths.resolve().bin)
    if lib is None:
        pytest.skip(f"no native scanner here: {native.last_error}")
    rng = random.Random(3)
    pool = ["", "a", "x" * 12, "x" * 13, "x" * 14, "5d882e33-9cea-4ab5-b80b-bd96ab76d3ab",
            "5d882e33-9cea-4ab5-b80b-bd96ab76d3ac", "caf\u00e9 \u4e2d\u6587"] + [f"s-{i:05d}" * 3 for i in range(500)]
    halves: list[list[str | None]] = [[], []]
    for half in halves:
        while len(half) < 3000:  # runs of one value (as a session's events often come) and single values
            half += [rng.choice(pool) if rng.random() > 0.1 else None] * rng.choice((1, 1, 2, 5))
    parts = [string_views(pa.array(h, type=pa.string()), i) for i, h in enumerate(halves)]
    views = np.concatenate([p[0] for p in parts])
    valid = np.concatenate([p[1] for p in parts]).astype(np.uint8)
    codes, first = native.group_views(lib, views, valid, [p[2] for p in parts])
    texts = halves[0] + halves[1]
    encoded = pa.array(texts, type=pa.string()).dictionary_encode()
    assert codes.tolist() == [-1 if i is None else i for i in encoded.indices.to_pylist()]
    assert [texts[i] for i in first] == encoded.dictionary.to_pylist()
    empty_codes, empty_first = native.group_views(lib, views[:0], valid[:0], [parts[0][2]])
    assert len(empty_codes) == 0 and len(empty_first) == 0
