"""Start-up and lookup fast paths: the lazy command table, the recent-traces file behind
``hooklake traces``, and a rollup built in several chunks."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest
import scenarios
from lakehouse_testkit import Spool, pre, prompt

import lakehouse
from hooklake import cli as hooklake_cli
from hooklake.paths import Paths
from lakehouse import rollup
from lakehouse.cli import list_traces, list_traces_recent


def registered_commands() -> dict[str, str]:
    """command -> help, as the command modules register them (the full parser)."""
    parser = hooklake_cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return {a.dest: a.help for a in sub._choices_actions}


def test_command_table_matches_what_the_modules_register() -> None:
    registered = registered_commands()
    registered.pop("paths")
    assert {name: help_text for name, (_, help_text) in hooklake_cli.COMMANDS.items()} == registered
    assert list(hooklake_cli.COMMANDS) == list(registered)  # same --help order
    for name, (module, _) in hooklake_cli.COMMANDS.items():
        assert module in hooklake_cli.COMMAND_MODULES, name


def test_lazy_help_lists_every_command_like_the_full_parser() -> None:
    full = hooklake_cli.build_parser().format_help()
    assert hooklake_cli.build_parser(lazy=True).format_help() == full
    assert hooklake_cli.build_parser("traces").format_help() == full
    for name in hooklake_cli.COMMANDS:
        assert f"    {name}" in full


def test_a_command_imports_only_its_module(tmp_path: Any) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from hooklake.cli import COMMAND_MODULES, main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "help_mods = sorted(m for m in sys.modules if m in COMMAND_MODULES)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['trace', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "mods = sorted(m for m in sys.modules if m in COMMAND_MODULES)\n"
        "print(help_mods, mods)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"HOOKLAKE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip() == "[] ['lakehouse.cli']"


def test_unknown_command_still_gets_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        hooklake_cli.main(["no-such-command"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_recent_file_answers_traces_like_duckdb(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = scenarios.build(paths)
    rollup.refresh_rollup(paths)
    con = lakehouse.connect(paths.home, learning=False)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)
    statuses = [r[0] for r in con.execute("SELECT DISTINCT status FROM execution_traces").fetchall()]
    sessions = [r[0] for r in con.execute("SELECT DISTINCT session_id FROM execution_traces "
                                          "WHERE session_id IS NOT NULL").fetchall()]
    cases: list[dict[str, Any]] = [{"limit": 50}, {"limit": 2}, {"since": since}, *({"status": s} for s in statuses),
                                   *({"session": s, "limit": 3} for s in sessions)]
    for case in cases:
        cached = list_traces_recent(paths, **case)
        assert cached is not None, case
        assert cached == list_traces(con, **case), case
        assert cached or case.get("status") is None
    assert list_traces_recent(paths, include_subagents=True) is None
    # an incomplete file: only exact answers are given, everything else falls back
    monkeypatch.setattr(rollup, "RECENT_ROWS", 3)
    rollup.store_recent(paths)
    assert list_traces_recent(paths, limit=3) == list_traces(con, limit=3)
    assert list_traces_recent(paths, limit=4) is None
    # the lake changes: the file is stale until the next refresh
    sp = Spool(scenarios.now_ns())
    sp.add(prompt("sess-later", "p-later", "one more prompt"))
    sp.add(pre("sess-later", "p-later", "Bash", "tu-later-1"))
    sp.ingest(paths)
    assert list_traces_recent(paths) is None
    rollup.refresh_rollup(paths)
    first = list_traces_recent(paths, limit=1)
    assert first is not None and first[0]["correlation_id"] == "p-later" and first[0]["status"] == "in_progress"
    del ids


def test_traces_command_uses_recent_file_without_duckdb(paths: Paths) -> None:
    scenarios.build(paths)
    rollup.refresh_rollup(paths)
    code = ("import sys, json\nfrom hooklake.cli import main\nrc = main(['traces', '--json', '--limit', '3'])\n"
            "print(json.dumps({'rc': rc, 'duckdb': 'duckdb' in sys.modules}), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"HOOKLAKE_HOME": str(paths.home), "PATH": "/usr/bin:/bin"})
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"rc": 0, "duckdb": False}
    listed = json.loads(done.stdout)
    con = lakehouse.connect(paths.home, learning=False)
    expect = json.loads(json.dumps(list_traces(con, limit=3), default=lambda o: o.isoformat()))
    assert listed == expect and len(listed) == 3


def test_rollup_built_in_many_chunks_equals_direct(paths: Paths, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from test_rollup import assert_same_as_direct

    scenarios.build(paths)
    monkeypatch.setattr(rollup, "CHUNK_EVENTS", 25)
    rollup.refresh_rollup(paths, progress=True)
    chunks = [line for line in capsys.readouterr().out.splitlines() if line.startswith("rollup: chunk ")]
    assert len(chunks) >= 3 and chunks[-1].startswith(f"rollup: chunk {len(chunks)}/{len(chunks)} ")
    assert rollup.is_current(paths)
    assert not list(paths.state.glob("*.scratch-*"))
    assert_same_as_direct(paths)
    # rewriting the file in the current layout changes nothing that can be read
    assert rollup.recluster(paths) and rollup.is_current(paths)
    assert_same_as_direct(paths)
