"""The learning job on Spark learns the same patterns and matches the same way as the local job."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np


def _current_patterns(paths: Any) -> list[tuple]:
    from learning import store

    rows = store.read_table(paths.lake, "learned_patterns").to_pylist()
    keep = ("pattern_id", "version", "path_key", "trace_count", "failed_trace_count", "avg_duration_ms",
            "min_duration_ms", "max_duration_ms", "status")
    return sorted(tuple(r.get(k) for k in keep) for r in rows if r["is_current"])


def _top1(paths: Any, embedder: Any, queries: list[str]) -> list[Any]:
    from hooklake.settings import load_settings
    from learning.router import Router

    router = Router.load(paths, load_settings(paths.config), embedder)
    out = []
    for q in queries:
        matches = router.match(q, None, k=1, min_confidence=0.0)
        out.append(matches[0].pattern_id if matches else None)
    return out


def test_spark_learn_gives_the_same_patterns_and_top1_matches(spark: Any, fixture_home: dict[str, Any],
                                                              tmp_path: Any) -> None:
    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from learning.spark_job import run_learn_spark

    local = fixture_home["paths"]
    # a second home with the same lake files but nothing learned (no cache, no index)
    other = Paths.resolve(tmp_path / "spark-learn")
    shutil.copytree(local.events, other.events)
    report, extras = run_learn_spark(other, load_settings(other.config), spark=spark)
    assert extras.embedded_on_spark == report.prompts_embedded + report.embedding_cache_hits or extras.embedded_on_spark > 0
    assert report.patterns == fixture_home["report"].patterns > 0
    assert _current_patterns(other) == _current_patterns(local)
    queries = fixture_home["queries"]
    embedder = fixture_home["embedder"]
    top_local = _top1(local, embedder, queries)
    assert sum(p is not None for p in top_local) >= len(queries) - 1
    assert _top1(other, embedder, queries) == top_local


def test_sharded_faiss_index_equals_one_built_in_one_piece(spark: Any) -> None:
    import faiss

    from learning.spark_job import sharded_index

    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(600, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1000, 1600, dtype=np.int64)
    queries = vecs[::37] + 0.01
    whole = faiss.IndexIDMap2(faiss.IndexFlatIP(16))
    whole.add_with_ids(vecs, ids)
    flat = sharded_index(spark, ids, vecs, nlist=None, partitions=3)
    assert flat.ntotal == 600
    assert (flat.search(queries, 1)[1] == whole.search(queries, 1)[1]).all()
    ivf = sharded_index(spark, ids, vecs, nlist=8, sample=300, partitions=3)
    assert ivf.ntotal == 600
    ivf.nprobe = 8  # all lists: exact
    assert (ivf.search(queries, 1)[1] == whole.search(queries, 1)[1]).all()
