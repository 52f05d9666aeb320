"""The learn job: grouping, versioning, incremental embedding and index, pruning, priors."""

from __future__ import annotations

import json

import pytest

from hooklake.errors import HooklakeError
from hooklake.paths import Paths
from hooklake.settings import LearningSettings, Settings
from learning import index as idx
from learning import store
from learning.job import run_learn, set_override
from learning.patterns import historical

from learning_helpers import REGEX, T0, UNIT_TESTS, lake_data, traces


def _current(paths):
    return [r for r in store.read_table(paths.lake, "learned_patterns").to_pylist() if r["is_current"]]


def test_similar_traces_with_same_path_form_one_pattern(tmp_path, embedder):
    paths = Paths.resolve(tmp_path)
    ts = traces([("write_unit_tests", p, True) for p in UNIT_TESTS] + [("regex_help", REGEX[0], True)])
    report = run_learn(paths, Settings(), embedder=embedder, data=lake_data(ts))
    rows = {r["agent"]: r for r in _current(paths)}
    assert report.patterns == 2, [r["prompt_text"] for r in _current(paths)]
    unit = rows["test-writer"]
    assert unit["trace_count"] == len(UNIT_TESTS)
    assert sorted(unit["source_trace_ids"]) == sorted(t.correlation_id for t in ts[: len(UNIT_TESTS)])
    assert unit["min_duration_ms"] <= unit["avg_duration_ms"] <= unit["max_duration_ms"]
    assert unit["tool_names"] == ["Agent", "Read", "Write", "Bash"] and unit["agents"] == ["test-writer"]
    assert unit["intent"] == "testing"
    assert "test" in unit["keywords"] and "unit" in unit["keywords"]
    assert unit["version"] == 1 and unit["status"] == "active"
    assert rows["main"]["trace_count"] == 1


def test_untried_pattern_has_a_prior_not_certainty(tmp_path, embedder):
    assert historical(1, 0, 0, 0) == pytest.approx(2 / 3)
    assert historical(0, 0, 0, 0) == 0.5
    paths = Paths.resolve(tmp_path)
    ts = traces([("regex_help", REGEX[0], True)])
    run_learn(paths, Settings(), embedder=embedder, data=lake_data(ts))
    (row,) = _current(paths)
    assert row["historical_success"] == pytest.approx(2 / 3)
    assert row["usage_count"] == 0


def test_failed_traces_lower_history_but_form_no_pattern(tmp_path, embedder):
    paths = Paths.resolve(tmp_path)
    specs = [("write_unit_tests", p, i % 2 == 0) for i, p in enumerate(UNIT_TESTS)]
    run_learn(paths, Settings(), embedder=embedder, data=lake_data(traces(specs)))
    (row,) = _current(paths)
    assert row["trace_count"] == 3 and row["failed_trace_count"] == 3
    assert row["historical_success"] == pytest.approx(4 / 8)


def test_versioning_and_incremental_embedding(tmp_path, embedder):
    paths = Paths.resolve(tmp_path)
    first = traces([("write_unit_tests", p, True) for p in UNIT_TESTS[:4]] + [("regex_help", REGEX[0], True)])
    r1 = run_learn(paths, Settings(), embedder=embedder, data=lake_data(first))
    assert r1.prompts_embedded == 5 and r1.embedding_cache_hits == 0
    assert r1.index["incremental"] is False
    more = traces([("write_unit_tests", p, True) for p in UNIT_TESTS[4:]], start=T0.replace(month=11), seed=1)
    r2 = run_learn(paths, Settings(), embedder=embedder, data=lake_data(first + more))
    assert r2.prompts_embedded == 2, "only the new prompts are embedded"
    assert r2.embedding_cache_hits == 5
    assert r2.patterns_new_versions == 1 and r2.patterns_unchanged == 1 and r2.patterns_new == 0
    assert r2.index["incremental"] is True and r2.index["added"] == 2 and r2.index["removed"] == 0
    rows = store.read_table(paths.lake, "learned_patterns").to_pylist()
    unit = sorted((r for r in rows if r["agent"] == "test-writer"), key=lambda r: r["version"])
    assert [(r["version"], r["is_current"]) for r in unit] == [(1, False), (2, True)]
    assert unit[0]["superseded_at"] is not None and unit[0]["trace_count"] == 4 and unit[1]["trace_count"] == 6
    assert len({r["pattern_id"] for r in unit}) == 1, "a changed pattern keeps its id"
    # the index pointer moved to a complete new version
    v2 = idx.current_version(paths.index)
    assert v2 == r2.index_version != r1.index_version
    manifest = idx.read_manifest(paths.index)
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["counts"]["exemplars"] == 7 and manifest["incremental"] is True
    assert manifest["schema_version"] == idx.INDEX_SCHEMA_VERSION and manifest["built_at"]


def test_index_refuses_a_different_model(tmp_path, embedder):
    paths = Paths.resolve(tmp_path)
    run_learn(paths, Settings(), embedder=embedder, data=lake_data(traces([("regex_help", REGEX[0], True)])))
    other = Settings(learning=LearningSettings(model="sentence-transformers/paraphrase-MiniLM-L3-v2"))
    with pytest.raises(HooklakeError) as err:
        run_learn(paths, other, data=lake_data(traces([("regex_help", REGEX[1], True)])))
    msg = str(err.value)
    assert "all-MiniLM-L6-v2" in msg and "paraphrase-MiniLM-L3-v2" in msg and "--full" in msg
    with pytest.raises(HooklakeError, match="cannot be mixed"):
        idx.check_model(idx.read_manifest(paths.index), "all-MiniLM-L6-v2", 768)


def test_embedding_cache_refuses_other_model(tmp_path, embedder):
    from learning.embeddings import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "all-MiniLM-L6-v2", embedder.dimension)
    cache.get_or_embed(["h1"], ["hello"], embedder)
    meta = tmp_path / "all-MiniLM-L6-v2" / "model.json"
    meta.write_text(json.dumps({"model": "something-else", "dimension": 384}))
    with pytest.raises(HooklakeError, match="something-else"):
        EmbeddingCache(tmp_path, "all-MiniLM-L6-v2", embedder.dimension)


def test_pruning_is_reported_and_reversible(tmp_path, embedder):
    paths = Paths.resolve(tmp_path)
    base = traces([("write_unit_tests", p, True) for p in UNIT_TESTS[:3]])
    run_learn(paths, Settings(), embedder=embedder, data=lake_data(base))
    (row,) = _current(paths)
    pid = row["pattern_id"]
    replays = traces([("write_unit_tests", p, False) for p in UNIT_TESTS[3:]] * 2, start=T0.replace(month=12), seed=5)
    decisions = [{"correlation_id": t.correlation_id, "pattern_id": pid, "pattern_version": 1, "match_score": 0.9,
                  "strategy": "learned_pattern", "used": True, "decided_at": t.started_at, "expected_agents": ["test-writer"],
                  "expected_tools": ["Agent", "Read", "Write", "Bash"], "event_id": f"e{i}"} for i, t in enumerate(replays)]
    data = lake_data(base + replays, decisions)
    report = run_learn(paths, Settings(), embedder=embedder, data=data)
    assert [p["pattern_id"] for p in report.pruned] == [pid]
    assert "0/6" in report.pruned[0]["reason"]
    (row,) = _current(paths)
    assert row["status"] == "pruned" and row["usage_count"] == 6 and row["failure_count"] == 6
    usage = store.read_table(paths.lake, "learned_pattern_usage").to_pylist()
    assert len(usage) == 6 and all(u["outcome"] == "failure" for u in usage)
    assert json.loads(usage[0]["deviations"])["agents_missing"] == []
    # reversible: keep it by hand
    set_override(paths, pid, "keep")
    report = run_learn(paths, Settings(), embedder=embedder, data=data)
    assert report.pruned == [] and report.restored == [pid]
    (row,) = _current(paths)
    assert row["status"] == "active"
