"""hooks.spool: the producer API, the constants it shares with capture.c, and import hygiene."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hooklake import paths as paths_module
from hooklake.paths import Paths
from hooks import envelope, spool
from hooks_support import HOOKS_DIR, spool_events, spool_lines


def test_append_event_writes_one_envelope_line(home: Path) -> None:
    payload = {"hook_event_name": "routing_decision", "correlation_id": "c1", "text": "ünïcode\nline"}
    event_id = spool.append_event(payload, envelope.SOURCE_ROUTER, Paths.resolve(home))
    assert event_id is not None and re.fullmatch(r"[0-9a-f]{32}", event_id)
    [line] = spool_lines(home)
    ev = json.loads(line)
    assert ev["event_id"] == event_id and ev["source"] == "router" and ev["payload"] == payload
    assert list(ev) == ["v", "event_id", "captured_ns", "source", "host", "payload"]


def test_append_event_uses_hooklake_home_by_default(hooklake_home: Path) -> None:
    assert spool.append_event({"a": 1}, "sdk") is not None
    assert spool_events(hooklake_home)[0]["payload"] == {"a": 1}


@pytest.mark.parametrize(
    "payload",
    [{"x": object()}, {"x": math.nan}, ["not", "a", "dict"], {"s": "\ud800"}],
    ids=["object", "nan", "list", "lone-surrogate"],
)
def test_append_event_never_raises(home: Path, payload) -> None:
    assert spool.append_event(payload, "sdk", Paths.resolve(home)) is None
    assert not (home / "spool").exists()
    log = (home / "logs" / "capture-errors.log").read_text()
    assert "append_event[sdk]" in log and "dropped" in log


def test_append_event_unwritable_returns_none(home: Path) -> None:
    (home / "spool").write_text("not a folder")
    assert spool.append_event({"a": 1}, "sdk", Paths.resolve(home)) is None
    assert "cannot open spool file" in (home / "logs" / "capture-errors.log").read_text()


def test_append_event_honours_kill_switch(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLAKE_DISABLED", "1")
    assert spool.append_event({"a": 1}, "sdk", Paths.resolve(home)) is None
    monkeypatch.delenv("HOOKLAKE_DISABLED")
    Paths.resolve(home).kill_switch.touch()
    assert spool.append_event({"a": 1}, "sdk", Paths.resolve(home)) is None
    assert not (home / "spool").exists()


def test_capture_bytes_returns_event_id(home: Path) -> None:
    event_id = spool.capture_bytes(b"\xff\xfe", "demo", Paths.resolve(home))
    [ev] = spool_events(home)
    assert ev["event_id"] == event_id and ev["defect"] == "invalid_utf8" and ev["source"] == "demo"


def test_many_threads_append_whole_lines(home: Path) -> None:
    p = Paths.resolve(home)
    ids: list[str | None] = []

    def work(k: int) -> None:
        for i in range(50):
            ids.append(spool.append_event({"k": k, "i": i, "pad": "z" * (i * 997)}, "sdk", p))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = spool_events(home)
    assert len(events) == 400 and None not in ids
    assert sorted(e["event_id"] for e in events) == sorted(ids)


def test_layout_constants_match_paths(tmp_path: Path) -> None:
    p = Paths.resolve(tmp_path)
    where = spool._where(p)  # from the Paths properties
    built = spool._Where.from_home(str(p.home))  # from spool's own copy of the layout
    assert (built.spool, built.errors, built.kill_switch) == (where.spool, where.errors, where.kill_switch)
    assert spool.HOME_ENV == paths_module.HOME_ENV
    assert spool.KILL_SWITCH_ENV == paths_module.KILL_SWITCH_ENV


def test_default_home_matches_paths_without_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOOKLAKE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code = "import sys; sys.path.insert(0, sys.argv[1]); from hooks import spool; print(spool.default_home())"
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code, str(HOOKS_DIR.parent)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == str(paths_module.home_dir())


def test_c_constants_match_envelope_and_paths() -> None:
    source = (HOOKS_DIR / "capture.c").read_text()
    defines = dict(re.findall(r'#define (HL_\w+) "([^"]*)"', source))
    expected = {
        "HL_FORMAT_VERSION": str(envelope.FORMAT_VERSION),
        "HL_FIELD_VERSION": envelope.FIELD_VERSION,
        "HL_FIELD_EVENT_ID": envelope.FIELD_EVENT_ID,
        "HL_FIELD_CAPTURED_NS": envelope.FIELD_CAPTURED_NS,
        "HL_FIELD_SOURCE": envelope.FIELD_SOURCE,
        "HL_FIELD_HOST": envelope.FIELD_HOST,
        "HL_FIELD_PAYLOAD": envelope.FIELD_PAYLOAD,
        "HL_FIELD_RAW_B64": envelope.FIELD_RAW_B64,
        "HL_FIELD_DEFECT": envelope.FIELD_DEFECT,
        "HL_DEFECT_INVALID_JSON": envelope.DEFECT_INVALID_JSON,
        "HL_DEFECT_INVALID_UTF8": envelope.DEFECT_INVALID_UTF8,
        "HL_DEFECT_NOT_OBJECT": envelope.DEFECT_NOT_OBJECT,
        "HL_DEFECT_EMPTY": envelope.DEFECT_EMPTY,
        "HL_SOURCE_DEFAULT": envelope.SOURCE_CLAUDE_CODE,
        "HL_SPOOL_SUFFIX": envelope.SPOOL_SUFFIX,
        "HL_HOME_ENV": paths_module.HOME_ENV,
        "HL_KILL_SWITCH_ENV": paths_module.KILL_SWITCH_ENV,
        "HL_KILL_SWITCH_FILE": paths_module.KILL_SWITCH_FILE,
    }
    assert {k: defines.get(k) for k in expected} == expected
    p = Paths.resolve("/h")
    assert "/h/" + defines["HL_SPOOL_DIR"] == str(p.spool)
    assert "/h/" + defines["HL_ERRORS_FILE"] == str(p.capture_errors)
    assert f"#define HL_MAX_DEPTH {spool.MAX_DEPTH}" in source


HEAVY = ("duckdb", "polars", "pyarrow", "torch", "faiss", "streamlit", "pydantic", "numpy", "pandas")


def test_python_capture_path_imports_nothing_heavy(home: Path) -> None:
    """Run capture.py's main in a full interpreter (site-packages visible) and list what got imported."""
    code = (
        "import runpy, sys, io\n"
        "sys.argv = ['capture.py', '--home', sys.argv[1]]\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'{\"a\": 1}'))\n"
        "mod = runpy.run_path(%r, run_name='not_main')\n"
        "mod['main'](sys.argv[1:])\n"
        "from hooks import spool\n"
        "spool.append_event({'b': 2}, 'sdk')\n"
        "print(' '.join(sorted(sys.modules)))\n"
    ) % str(HOOKS_DIR / "capture.py")
    proc = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True, check=True,
                          env={"HOOKLAKE_HOME": str(home), "PATH": "/usr/bin:/bin"})
    modules = set(proc.stdout.split())
    assert "hooks.spool" in modules
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert len(spool_events(home)) == 2
