"""The synthetic lake generator writes canonical rows the views understand."""

from __future__ import annotations

from ingest.schema import arrow_schema

import lakehouse
from hooklake.paths import Paths
from lakehouse.synthetic import generate


def test_small_synthetic_lake(paths: Paths) -> None:
    import pyarrow.parquet as pq

    report = generate(paths.home, events=20_000, days=3)
    assert 18_000 <= report["events"] <= 22_000 and report["files"] >= 3
    some = next(paths.events.rglob("*.parquet"))
    assert pq.read_schema(some).names == arrow_schema().names
    con = lakehouse.connect(paths.home, learning=False)
    n_traces, sub, depth2, fails, stopless = con.execute(
        "SELECT count(*) FILTER (WHERE NOT is_subagent), count(*) FILTER (WHERE is_subagent), "
        "count(*) FILTER (WHERE depth = 2), sum(tool_failures), count(*) FILTER (WHERE completed_at IS NULL) "
        "FROM execution_traces").fetchone()
    assert n_traces == report["traces"]
    assert sub > 0 and depth2 > 0 and fails > 0 and stopless > 0
    unlinked = con.execute("SELECT count(*) FROM subagent_runs WHERE link_rule <> 'response'").fetchone()[0]
    assert unlinked == 0
    assert con.execute("SELECT count(*) FROM endpoint_reliability WHERE kind = 'http'").fetchone()[0] == 1
