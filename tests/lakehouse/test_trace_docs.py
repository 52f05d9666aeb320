"""Trace documents (lakehouse.trace_docs): trace assembly from one row per trace gives the same
trees as reading the rollup's tables, stays current through incremental refreshes, and rollups
without the documents still work and get them without recomputing any view."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
import scenarios
from lakehouse_testkit import Spool, fail, post, pre, prompt, stop

import lakehouse
from hooklake.paths import Paths
from lakehouse import rollup, trace_docs
from lakehouse.traces import _connection_facts, assemble_trace, trace_timeline

I = scenarios.IDS
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude_code" / "2.1.328"


def all_ids(con: Any) -> list[str]:
    return sorted(r[0] for r in con.execute("SELECT correlation_id FROM rollup.trace_facts").fetchall())


def uses_docs(con: Any) -> bool:
    return _connection_facts(con)[2] is not None


def assert_docs_match_tables(paths: Paths, con: Any, ids: list[str]) -> None:
    """Every trace (and an unknown id): the same tree and timeline from documents and from tables."""
    assert uses_docs(con)
    for cid in [*ids, "no-such-trace"]:
        assert assemble_trace(cid, con) == assemble_trace(cid, con, lookup="tables"), cid
    direct = open_con(paths, refresh="off")
    for cid in ids:
        assert trace_timeline(cid, con) == trace_timeline(cid, direct), cid


def open_con(paths: Paths, **kw: Any) -> Any:
    return lakehouse.connect(paths.home, learning=False, **kw)


def stored_docs(paths: Paths) -> list[tuple[str, str]]:
    con = duckdb.connect(str(rollup.rollup_path(paths)), read_only=True)
    try:
        return con.execute(f"SELECT correlation_id, doc FROM {trace_docs.TABLE} ORDER BY ALL").fetchall()
    finally:
        con.close()


def edit_rollup(paths: Paths, *sql: str) -> None:
    con = duckdb.connect(str(rollup.rollup_path(paths)))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()


@pytest.fixture(scope="module")
def edge_lake(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    paths = Paths.resolve(tmp_path_factory.mktemp("trace-docs-edge"))
    scenarios.build(paths)
    rollup.refresh_rollup(paths)
    return paths


def test_documents_give_the_same_trees_as_the_tables(edge_lake: Paths) -> None:
    con = open_con(edge_lake)
    ids = all_ids(con)
    assert len(stored_docs(edge_lake)) == len(ids)
    assert_docs_match_tables(edge_lake, con, ids)
    # the trees are the ones the edge cases need (not merely equal): nesting, background, SDK spans
    tree = assemble_trace(I["P_NEST"], con)
    sub1 = next(c for c in tree["children"] if c["kind"] == "tool" and c["name"] == "Agent")["children"][0]
    assert sub1["correlation_id"] == I["A1"]
    sub2 = next(c for c in sub1["children"] if c["kind"] == "tool" and c["name"] == "Agent")["children"][0]
    assert sub2["correlation_id"] == I["A2"] and sub2["depth"] == 2
    sdk = assemble_trace(I["P_SDK"], con)
    kinds = sorted({c["kind"] for c in sdk["children"]})
    assert kinds == ["endpoint", "hook", "routing", "tool"]
    endpoint = next(c for c in sdk["children"] if c["kind"] == "endpoint")
    assert (endpoint["name"], endpoint["status_code"], endpoint["retries"]) == ("billing-api/v1/invoices", 503, 2)
    bg = assemble_trace(I["P_BG"], con)
    call = next(c for c in bg["children"] if c["kind"] == "tool" and c["name"] == "Agent")
    assert sorted(c["correlation_id"] for c in call["children"]) == sorted([I["B1"], I["P_BG_DONE"]])
    # and the same as a connection without any rollup (views over the Parquet files)
    direct = open_con(edge_lake, refresh="off")
    for cid in ids:
        assert assemble_trace(cid, con) == assemble_trace(cid, direct), cid


def test_documents_of_real_claude_code_payloads(paths: Paths) -> None:
    sp = Spool()
    for f in sorted(FIXTURES.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                sp.add(json.loads(line), host="laptop" if "two_prompts" in f.name else "desktop")
    sp.ingest(paths)
    con = open_con(paths)
    ids = all_ids(con)
    assert len(ids) >= 4
    assert_docs_match_tables(paths, con, ids)


def test_documents_follow_incremental_refreshes(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = scenarios.build(paths)
    rollup.refresh_rollup(paths)
    before = dict(stored_docs(paths))
    scopes: list[str | None] = []
    real_build = trace_docs.build

    def spy(con: Any, db: str = "rollup", *, scope_table: str | None = None) -> bool:
        scopes.append(scope_table)
        return real_build(con, db, scope_table=scope_table)

    monkeypatch.setattr(trace_docs, "build", spy)
    # new files: the open trace finishing, a new session, a late SDK endpoint call for an old trace
    sp = Spool(scenarios.now_ns() - 30 * 1_000_000_000)
    s, p = ids["S_OPEN"], ids["P_OPEN"]
    sp.add(post(s, p, "Bash", "tu-open-1", {"command": "make test"}, duration_ms=1200))
    sp.add(stop(s, p))
    sp.add(prompt("sess-new", "p-new", "a brand new session"))
    sp.add(pre("sess-new", "p-new", "Bash", "tu-new-1"))
    sp.add(fail("sess-new", "p-new", "Bash", "tu-new-1", "Exit code 1"))
    sp.add({"hook_event_name": "endpoint_call", "correlation_id": ids["P_FAIL"], "service": "late-api",
            "endpoint": "/x", "status": "ok", "status_code": 200, "duration_ms": 5.0}, source="sdk")
    sp.ingest(paths)
    con = open_con(paths)  # refreshes incrementally
    assert rollup.is_current(paths) and scopes == ["doc_scope"]  # only the touched traces' documents
    after = dict(stored_docs(paths))
    changed = {cid for cid in after if before.get(cid) != after[cid]}
    assert {p, "p-new", ids["P_FAIL"]} <= changed
    touched = con.execute(
        "SELECT correlation_id FROM rollup.trace_facts WHERE session_key IN (SELECT session_key FROM "
        "rollup.trace_facts WHERE correlation_id IN (?, ?, ?))", [p, "p-new", ids["P_FAIL"]]).fetchall()
    assert changed <= {r[0] for r in touched}  # documents of other sessions were left alone
    assert len(after) == len(all_ids(con))
    assert_docs_match_tables(paths, con, all_ids(con))
    late = [c for c in assemble_trace(ids["P_FAIL"], con)["children"] if c["kind"] == "endpoint"]
    assert [(c["name"], c["status_code"]) for c in late] == [("late-api/x", 200)]
    assert assemble_trace(p, con)["status"] == "success"
    # a removed lake file (retention, a deleted machine's files): its traces leave the documents too
    new_files = [f for f in paths.events.rglob("*.parquet")
                 if "p-new" in {r[0] for r in duckdb.sql(f"SELECT DISTINCT correlation_id FROM '{f}'").fetchall()}]
    assert len(new_files) == 1
    new_files[0].unlink()
    con = open_con(paths)
    assert "p-new" not in dict(stored_docs(paths))
    assert assemble_trace("p-new", con) is None and assemble_trace("p-new", con, lookup="tables") is None
    assert_docs_match_tables(paths, con, all_ids(con))


def test_rollup_without_documents_falls_back_then_gets_them_without_recomputing(
        edge_lake: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    paths = Paths.resolve(tmp_path / "old")
    shutil.copytree(edge_lake.home, paths.home)
    expected = {cid: assemble_trace(cid, open_con(edge_lake)) for cid in (I["P_NEST"], I["P_SDK"], I["P_BG"])}
    # a rollup written before documents existed: no table, no layout row
    edit_rollup(paths, f"DROP TABLE {trace_docs.TABLE}", f"DELETE FROM rollup_meta WHERE key = '{trace_docs.META_KEY}'")
    assert rollup.is_current(paths)  # still current: readers attach it as it is
    old = open_con(paths)
    assert not uses_docs(old)
    for cid, tree in expected.items():
        assert assemble_trace(cid, old) == tree
    meta_before = rollup._read_meta(rollup.rollup_path(paths))
    # bringing it up to date adds the documents from the stored tables: no view is evaluated
    import sys

    connect_mod = sys.modules["lakehouse.connect"]

    def no_views(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("views recomputed")

    monkeypatch.setattr(connect_mod, "apply_views", no_views)
    assert rollup.refresh_rollup(paths)
    monkeypatch.undo()
    meta_after = rollup._read_meta(rollup.rollup_path(paths))
    assert meta_after["refreshed_at"] == meta_before["refreshed_at"]
    assert trace_docs.stored_layout(meta_after) is not None
    assert stored_docs(paths) == stored_docs(edge_lake)
    con = open_con(paths)
    assert uses_docs(con)
    for cid, tree in expected.items():
        assert assemble_trace(cid, con) == tree
    # a second refresh has nothing to do
    mtime = rollup.rollup_path(paths).stat().st_mtime_ns
    rollup.refresh_rollup(paths)
    assert rollup.rollup_path(paths).stat().st_mtime_ns == mtime


def test_old_rollup_gets_documents_on_its_next_incremental_refresh(edge_lake: Paths, tmp_path: Path) -> None:
    import shutil

    paths = Paths.resolve(tmp_path / "old")
    shutil.copytree(edge_lake.home, paths.home)
    edit_rollup(paths, f"DROP TABLE {trace_docs.TABLE}", f"DELETE FROM rollup_meta WHERE key = '{trace_docs.META_KEY}'")
    sp = Spool(scenarios.now_ns() - 10 * 1_000_000_000)
    sp.add(prompt("sess-later", "p-later", "one more"))
    sp.add(stop("sess-later", "p-later"))
    sp.ingest(paths)
    con = open_con(paths)  # incremental refresh of the sessions, documents built whole
    assert uses_docs(con)
    ids = all_ids(con)
    assert "p-later" in ids and len(stored_docs(paths)) == len(ids)
    assert_docs_match_tables(paths, con, ids)


def test_documents_of_another_layout_are_not_read(edge_lake: Paths, tmp_path: Path) -> None:
    import shutil

    paths = Paths.resolve(tmp_path / "other")
    shutil.copytree(edge_lake.home, paths.home)
    layout = json.loads(rollup._read_meta(rollup.rollup_path(paths))[trace_docs.META_KEY])
    layout["tools"] = layout["tools"][:-1]  # written by a version that stored fewer tool columns
    edit_rollup(paths, f"UPDATE rollup_meta SET value = '{json.dumps(layout)}' WHERE key = '{trace_docs.META_KEY}'")
    con = open_con(paths)
    assert not uses_docs(con)
    assert assemble_trace(I["P_NEST"], con) == assemble_trace(I["P_NEST"], open_con(edge_lake))
    assert trace_docs.needs_build(rollup._read_meta(rollup.rollup_path(paths)))
    rollup.refresh_rollup(paths)
    assert uses_docs(open_con(paths)) and stored_docs(paths) == stored_docs(edge_lake)


def test_rebuilt_in_several_passes_and_reclustered_gives_the_same_documents(
        edge_lake: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    paths = Paths.resolve(tmp_path / "passes")
    shutil.copytree(edge_lake.home, paths.home)
    monkeypatch.setattr(trace_docs, "CHUNK_ROWS", 7)  # many hash passes
    edit_rollup(paths, f"DELETE FROM rollup_meta WHERE key = '{trace_docs.META_KEY}'")
    rollup.refresh_rollup(paths)
    assert stored_docs(paths) == stored_docs(edge_lake)
    assert rollup.recluster(paths)
    assert stored_docs(paths) == stored_docs(edge_lake)
    con = open_con(paths)
    assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE database_name = 'rollup' AND table_name = ?",
                       [trace_docs.TABLE]).fetchone()[0] == 1
    assert_docs_match_tables(paths, con, all_ids(con))


def test_document_values_read_back_as_the_table_gives_them(tmp_path: Path) -> None:
    """The codec on awkward values: microsecond timestamps, NULLs, integral / NaN / tiny doubles,
    huge integers, quotes and unicode, lists."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{tmp_path / 'r.duckdb'}' AS rollup")
    con.execute("CREATE TABLE rollup.rollup_meta (key VARCHAR, value VARCHAR)")
    con.execute("CREATE TABLE rollup.trace_facts (session_key VARCHAR, correlation_id VARCHAR, started_at "
                "TIMESTAMP WITH TIME ZONE, n HUGEINT, cost DOUBLE, tags VARCHAR[], ok BOOLEAN, note VARCHAR)")
    con.execute("INSERT INTO rollup.trace_facts VALUES ('s', 't1', '2026-03-01 10:00:00.000001+00', "
                "170141183460469231731687303715884105727, 3.0, ['a', 'b\"c'], true, 'é \"q\" \\ \n x'), "
                "('s', 't2', NULL, NULL, 'nan', [], NULL, NULL)")
    for _, table, columns, _ in trace_docs.PARTS:
        types = {"started_at": "TIMESTAMP WITH TIME ZONE", "ended_at": "TIMESTAMP WITH TIME ZONE",
                 "created_at": "TIMESTAMP WITH TIME ZONE", "duration_ms": "DOUBLE", "confidence_score": "DOUBLE",
                 "routing_time_ms": "DOUBLE", "exit_code": "INTEGER", "status_code": "INTEGER", "retries": "INTEGER",
                 "run_in_background": "BOOLEAN"}
        cols = ", ".join(f"{c} {types.get(c, 'VARCHAR')}" for c in columns)
        con.execute(f"CREATE TABLE rollup.{table} (session_key VARCHAR, {cols})")
    con.execute("INSERT INTO rollup.tool_calls_base (session_key, correlation_id, tool_name, started_at, duration_ms) "
                "VALUES ('s', 't1', 'Bash', '2026-03-01 10:00:01+00', 1e-300), "
                "('s', 't1', 'Read', '1969-12-31 23:59:59.5+00', 118.38343890515392)")
    con.execute("INSERT INTO rollup.endpoint_calls (session_key, correlation_id, kind, service) "
                "VALUES ('s', 't1', 'http', 'a'), ('s', 't1', 'mcp', 'b')")
    assert trace_docs.build(con)
    layout = trace_docs.stored_layout(dict(con.execute("SELECT * FROM rollup.rollup_meta").fetchall()))
    decoder = trace_docs.Decoder(layout)
    docs = dict(con.execute("SELECT correlation_id, doc FROM rollup.trace_docs").fetchall())
    assert sorted(docs) == ["t1", "t2"]
    for cid in docs:
        facts, spans = decoder.decode(cid, docs[cid])
        cur = con.execute("SELECT * FROM rollup.trace_facts WHERE correlation_id = ?", [cid])
        row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
        assert facts.keys() == row.keys()
        for key, value in row.items():
            got = facts[key]
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got)
            else:
                assert got == value and type(got) is type(value), key
        for part, table, columns, where in trace_docs.PARTS:
            cur = con.execute(f"SELECT {', '.join(columns)} FROM rollup.{table} WHERE correlation_id = ?"
                              + (f" AND {where}" if where else "") + " ORDER BY rowid", [cid])
            rows = [dict(zip(columns, r)) for r in cur.fetchall()]
            assert spans[part] == rows, part
            for got, want in zip(spans[part], rows):
                assert [type(v) for v in got.values()] == [type(v) for v in want.values()]
    facts, spans = decoder.decode("t1", docs["t1"])
    assert facts["started_at"] == dt.datetime(2026, 3, 1, 10, 0, 0, 1, tzinfo=dt.timezone.utc)
    assert [s["tool_name"] for s in spans["tools"]] == ["Bash", "Read"]
    assert [s["service"] for s in spans["endpoints"]] == ["a"]  # only http calls are shown
    # a column type the documents cannot carry exactly: no documents, and no later retry
    con.execute("ALTER TABLE rollup.trace_facts ADD COLUMN amount DECIMAL(10, 2)")
    assert not trace_docs.build(con)
    meta = dict(con.execute("SELECT * FROM rollup.rollup_meta").fetchall())
    assert trace_docs.stored_layout(meta) is None and not trace_docs.needs_build(meta)
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'trace_docs'").fetchone()[0]
