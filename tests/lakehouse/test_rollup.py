"""The rollup cache: incremental refresh gives exactly what a computation from Parquet gives."""

from __future__ import annotations

from typing import Any

import scenarios
from lakehouse_testkit import Spool, fail, post, pre, prompt, stop

import lakehouse
from hooklake.paths import Paths
from lakehouse.rollup import is_current, refresh_rollup, rollup_path
from lakehouse.traces import derived_traces

COMPARED = ("execution_traces", "tool_calls", "subagent_runs", "hook_executions", "endpoint_calls",
            "agent_routing_decisions", "error_events", "session_summary", "agent_success_rates",
            "hook_performance_summary", "endpoint_reliability", "tool_performance")


def snapshot(con: Any, view: str) -> list[tuple]:
    cols = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
    keep = ", ".join(f'"{c}"' for c in cols if c != "session_key")
    return con.execute(f"SELECT {keep} FROM {view} ORDER BY ALL").fetchall()


def assert_same_as_direct(paths: Paths) -> None:
    cached = lakehouse.connect(paths.home, learning=False)
    assert cached.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'rollup'").fetchone()[0] == 1
    direct = lakehouse.connect(paths.home, refresh="off", learning=False)
    for view in COMPARED:
        assert snapshot(cached, view) == snapshot(direct, view), view


def test_incremental_refresh_matches_direct_computation(paths: Paths) -> None:
    ids = scenarios.build(paths)
    refresh_rollup(paths)
    assert is_current(paths)
    assert_same_as_direct(paths)
    # new files: a new session, the open trace finishing, a late SDK event for an old trace
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
    assert not is_current(paths)
    con = lakehouse.connect(paths.home, learning=False)  # refreshes incrementally
    assert is_current(paths)
    status = dict(con.execute("SELECT correlation_id, status FROM execution_traces").fetchall())
    assert status[p] == "success" and status["p-new"] == "in_progress"
    assert con.execute("SELECT endpoints FROM execution_traces WHERE correlation_id = ?",
                       [ids["P_FAIL"]]).fetchone()[0] == ["late-api//x"]
    assert_same_as_direct(paths)


def test_python_derivation_matches_the_sql_view(paths: Paths) -> None:
    scenarios.build(paths)
    for refresh in ("auto", "off"):
        con = lakehouse.connect(paths.home, refresh=refresh, learning=False)
        derived = {r["correlation_id"]: r for r in derived_traces(con, "true", [])}
        cur = con.execute("SELECT * FROM execution_traces")
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            sql = dict(zip(names, row))
            py = derived[sql["correlation_id"]]
            for col in names:
                assert py[col] == sql[col], (sql["correlation_id"], col)
        calls = con.execute("SELECT correlation_id, tool_use_id, tool_name, started_at, status FROM tool_calls").fetchall()
        from lakehouse.status import derive_tool_call, settings_row
        import datetime as dt

        base = con.execute("SELECT * FROM tool_calls_base").fetchall()
        bnames = [d[0] for d in con.execute("SELECT * FROM tool_calls_base LIMIT 0").description]
        now = dt.datetime.now(dt.timezone.utc)
        py_calls = sorted((c["correlation_id"], c["tool_use_id"] or "", c["tool_name"], c["started_at"], c["status"])
                          for c in (derive_tool_call(dict(zip(bnames, b)), settings_row(con), now) for b in base))
        assert py_calls == sorted((a, b or "", c, d, e) for a, b, c, d, e in calls)


def test_rollup_file_is_replaced_atomically_and_readers_keep_working(paths: Paths) -> None:
    scenarios.build(paths)
    reader = lakehouse.connect(paths.home, learning=False)
    before = reader.execute("SELECT count(*) FROM execution_traces").fetchone()[0]
    sp = Spool(scenarios.now_ns())
    sp.add(prompt("sess-late", "p-late", "late prompt"))
    sp.add(stop("sess-late", "p-late"))
    sp.ingest(paths)
    refresh_rollup(paths)  # a reader holds the old file open: the refresh must not block or break it
    assert reader.execute("SELECT count(*) FROM execution_traces").fetchone()[0] == before
    fresh = lakehouse.connect(paths.home, learning=False)
    assert fresh.execute("SELECT count(*) FROM execution_traces").fetchone()[0] == before + 1
    assert not list(rollup_path(paths).parent.glob("*.tmp-*"))


def test_open_trace_times_out_in_stored_views_and_summaries(paths: Paths) -> None:
    """A stored in_progress row reads back as interrupted once idle too long, and the stored
    summaries are recomputed when the earliest open trace passes the timeout. The clock is moved
    by ageing the stored rows (the only input the rule reads), so the test does not sleep."""
    import duckdb

    sp = Spool(scenarios.now_ns())
    sp.add(prompt("sess-idle", "p-idle", "left open"))
    sp.add(pre("sess-idle", "p-idle", "Bash", "tu-idle-1"))
    sp.ingest(paths)
    con = lakehouse.connect(paths.home, learning=False)
    assert con.execute("SELECT status FROM execution_traces").fetchone()[0] == "in_progress"
    assert con.execute("SELECT in_progress FROM agent_success_rates").fetchone()[0] == 1
    con.close()
    db = duckdb.connect(str(rollup_path(paths)))
    due = float(db.execute("SELECT value FROM rollup_meta WHERE key = 'summaries_due_at'").fetchone()[0])
    assert abs(due - (scenarios.now_ns() / 1e9 + 3600)) < 600  # last event + in_progress_timeout_s
    db.execute("UPDATE execution_traces SET last_event_at = last_event_at - INTERVAL 2 HOUR")
    db.execute("UPDATE rollup_meta SET value = '0' WHERE key = 'summaries_due_at'")
    db.close()
    fresh = lakehouse.connect(paths.home, learning=False)  # summaries due: recomputed
    assert fresh.execute("SELECT status FROM execution_traces").fetchone()[0] == "interrupted"
    assert fresh.execute("SELECT in_progress, failed_executions FROM agent_success_rates").fetchone() == (0, 1)
    db = duckdb.connect(str(rollup_path(paths)), read_only=True)
    assert db.execute("SELECT count(*) FROM rollup_meta WHERE key = 'summaries_due_at'").fetchone()[0] == 0


def test_routing_decisions_are_stored_whole_and_older_rollups_get_them(paths: Paths) -> None:
    """agent_routing_decisions is read from a stored table in time order (its "latest N" cannot be
    pruned when computed at query time); a rollup stored before that answers from the live view
    and gets the table at its next refresh, with no per-session table recomputed."""
    import duckdb

    scenarios.build(paths)
    refresh_rollup(paths)
    db = duckdb.connect(str(rollup_path(paths)), read_only=True)
    stored = db.execute("SELECT created_at, routing_strategy FROM summary_agent_routing_decisions").fetchall()
    assert {s for _, s in stored} >= {"observed"} and len(stored) >= 2
    times = [t for t, _ in stored]
    assert times == sorted(times, key=lambda t: (t is not None, t))  # stored in time order, NULLs first
    db.close()
    con = lakehouse.connect(paths.home, learning=False)
    plan = "\n".join(r[1] for r in con.execute(
        "EXPLAIN SELECT * FROM agent_routing_decisions ORDER BY created_at DESC LIMIT 1").fetchall())
    assert "summary_agent_routing_decisions" in plan and "routing_logged" not in plan
    con.close()
    assert_same_as_direct(paths)

    # an older rollup: no stored table, no record of the stored set
    db = duckdb.connect(str(rollup_path(paths)))
    db.execute("DROP TABLE summary_agent_routing_decisions")
    db.execute("DELETE FROM rollup_meta WHERE key = 'summaries'")
    facts_before = db.execute("SELECT count(*) FROM trace_facts").fetchone()[0]
    db.close()
    assert is_current(paths)
    old = lakehouse.connect(paths.home, refresh="never", learning=False)  # reads the rollup as it is
    plan = "\n".join(r[1] for r in old.execute("EXPLAIN SELECT * FROM agent_routing_decisions").fetchall())
    assert "routing_logged" in plan  # computed at query time from the stored tables
    direct = lakehouse.connect(paths.home, refresh="off", learning=False)
    assert snapshot(old, "agent_routing_decisions") == snapshot(direct, "agent_routing_decisions")
    old.close()
    refresh_rollup(paths)
    db = duckdb.connect(str(rollup_path(paths)), read_only=True)
    assert db.execute("SELECT count(*) FROM summary_agent_routing_decisions").fetchone()[0] == len(stored)
    assert db.execute("SELECT count(*) FROM trace_facts").fetchone()[0] == facts_before
    db.close()
    assert_same_as_direct(paths)
