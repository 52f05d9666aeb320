"""The learned tables and the seed views over them, through lakehouse.connect()."""

from __future__ import annotations

import pyarrow as pa
import pytest

from learning import store
from learning.tables import LEARNED_TABLES

SEED_VIEWS = {
    "success_patterns": {"pattern_id", "prompt_text", "intent", "keywords", "agent", "routing_strategy", "hook_sequence",
                         "endpoint_pattern", "avg_duration_ms", "min_duration_ms", "max_duration_ms", "success_rate",
                         "usage_count", "success_count", "failure_count"},
    "pattern_usage_log": {"pattern_id", "correlation_id", "user_request", "match_score", "used", "outcome", "success",
                          "deviations", "expected_duration_ms", "actual_duration_ms", "performance_variance"},
    "agent_chaining_patterns": {"primary_agent", "delegated_agents", "delegation_depth", "trigger_context", "success_rate",
                                "usage_count", "avg_total_duration_ms", "avg_coordination_overhead_ms", "source_traces"},
    "error_patterns": {"error_type", "error_message_pattern", "agent", "hook_type", "endpoint_path", "occurrence_count",
                       "first_seen_at", "last_seen_at", "sample_correlation_ids", "severity"},
}


def test_registry_is_pyarrow_schemas():
    assert set(LEARNED_TABLES) == {"learned_patterns", "learned_pattern_usage", "learned_chaining", "learned_errors"}
    for schema in LEARNED_TABLES.values():
        assert isinstance(schema, pa.Schema)


def test_views_on_empty_lake(hooklake_home):
    import lakehouse

    con = lakehouse.connect(home=hooklake_home)
    for view, columns in SEED_VIEWS.items():
        cur = con.execute(f"SELECT * FROM {view}")
        names = {d[0] for d in cur.description}
        assert columns <= names, (view, columns - names)
        assert cur.fetchall() == []


def test_views_after_learn(learned_home):
    import lakehouse

    paths = learned_home["paths"]
    report = learned_home["report"]
    con = lakehouse.connect(home=paths.home)
    n = con.execute("SELECT count(*) FROM success_patterns").fetchone()[0]
    assert n == report.patterns > 0
    # the seed's success_rate never claims certainty for an untried pattern
    rates = [r[0] for r in con.execute("SELECT success_rate FROM success_patterns WHERE usage_count = 0").fetchall()]
    assert rates and all(abs(r - 0.5) < 1e-9 for r in rates)
    chains = con.execute("SELECT delegated_agents, usage_count FROM agent_chaining_patterns").fetchall()
    assert any(list(a) == ["test-writer"] for a, _ in chains)
    errs = con.execute("SELECT error_message_pattern, occurrence_count, severity FROM error_patterns").fetchall()
    assert errs and all(sev in ("critical", "high", "medium", "low") for _, _, sev in errs)
    assert not any(ch.isdigit() for tmpl, _, _ in errs for ch in tmpl.replace("<n>", "")), "values stripped from templates"


def test_publish_is_atomic_replace(tmp_path):
    schema = LEARNED_TABLES["learned_chaining"]
    store.publish_table(tmp_path, "learned_chaining", schema.empty_table())
    folder = store.table_dir(tmp_path, "learned_chaining")
    first = (folder / "data.parquet").stat().st_ino
    store.publish_table(tmp_path, "learned_chaining", schema.empty_table())
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["data.parquet"], "no temporary or duplicate files left behind"
    assert (folder / "data.parquet").stat().st_ino != first, "replaced by rename, not rewritten in place"
    assert store.read_table(tmp_path, "learned_chaining").schema.names == schema.names


def test_read_missing_table_is_empty_typed(tmp_path):
    t = store.read_table(tmp_path, "learned_patterns")
    assert t.num_rows == 0 and t.schema.names == LEARNED_TABLES["learned_patterns"].names


@pytest.mark.parametrize("text,expected", [
    ("Command failed with exit code 3: tests failed in 7 files", "Command failed with exit code <n>: tests failed in <n> files"),
    ("File not found: /srv/app/src/missing_12.py", "File not found: <path>"),
])
def test_error_templates(text, expected):
    from learning.text import error_template

    assert error_template(text) == expected
