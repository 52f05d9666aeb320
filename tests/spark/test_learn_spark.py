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
                                                              tmp_path: Any, monkeypatch: Any) -> None:
    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from lakehouse import remote
    from learning import index as idx
    from learning.spark_job import run_learn_spark

    local = fixture_home["paths"]
    # a second home with the same lake files but nothing learned (no cache, no index); the lake
    # is named by $HOOKLAKE_LAKE (a team's shared folder), so the job publishes the index there
    lake = tmp_path / "team-lake"
    shutil.copytree(local.events, lake / "events")
    monkeypatch.setenv("HOOKLAKE_LAKE", str(lake))
    other = Paths.resolve(tmp_path / "spark-learn")
    assert other.events == lake / "events"
    report, extras = run_learn_spark(other, load_settings(other.config), spark=spark)
    assert extras.embedded_on_spark == report.prompts_embedded + report.embedding_cache_hits or extras.embedded_on_spark > 0
    assert report.patterns == fixture_home["report"].patterns > 0
    assert _current_patterns(other) == _current_patterns(local)
    # the published index was built in shards on Spark and merged, not by the local update
    manifest = idx.read_manifest(other.index)
    assert manifest["rebuild_reason"] == "built in shards" and extras.index_shards >= 2
    assert manifest["counts"]["exemplars"] == idx.read_manifest(local.index)["counts"]["exemplars"]
    queries = fixture_home["queries"]
    embedder = fixture_home["embedder"]
    top_local = _top1(local, embedder, queries)
    assert sum(p is not None for p in top_local) >= len(queries) - 1
    assert _top1(other, embedder, queries) == top_local
    # ... and published to the lake: a third machine with an empty home pulls it when it loads
    doc = remote.published_index(other)
    assert doc["version"] == report.index_version and doc["learn_run_id"] == report.run_id
    third = Paths.resolve(tmp_path / "third")
    assert idx.current_version(third.index) is None
    assert _top1(third, embedder, queries) == top_local  # Router.load pulled the published version
    assert idx.current_version(third.index) == report.index_version
    assert remote.refresh_index(third, min_interval_s=0) is None  # already current: nothing to do


def _one_piece(ids: np.ndarray, vecs: np.ndarray, ivf_threshold: int) -> Any:
    from learning import index as idx

    upd = idx.update_index(None, None, ids, lambda x: vecs[np.searchsorted(ids, x)], vecs.shape[1], full=True,
                           ivf_threshold=ivf_threshold)
    return upd


def test_sharded_faiss_index_equals_one_built_in_one_piece(spark: Any) -> None:
    import faiss

    from learning import index as idx
    from learning.index_shards import sharded_builder

    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(1500, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1000, 2500, dtype=np.int64)
    queries = vecs[::37] + 0.01

    def vectors_for(x: np.ndarray) -> np.ndarray:
        return vecs[np.searchsorted(ids, x)]

    for threshold, kind in ((10_000, "flat"), (1000, "ivf")):
        whole = _one_piece(ids, vecs, threshold)
        build = sharded_builder(spark, partitions=3)
        with idx.build_with(build):
            upd = idx.update_index(None, None, ids, vectors_for, 16, full=False, ivf_threshold=threshold)
        assert (upd.kind, upd.nlist, upd.reason) == (whole.kind, whole.nlist, "built in shards") and upd.kind == kind
        assert build.shard_count == 3 and upd.index.ntotal == 1500
        assert isinstance(upd.index, faiss.IndexIDMap2)
        idx.set_nprobe(upd.index, 1 << 20)  # every list: exact
        idx.set_nprobe(whole.index, 1 << 20)
        d_s, i_s = upd.index.search(queries, 3)
        d_w, i_w = whole.index.search(queries, 3)
        assert (i_s == i_w).all() and np.allclose(d_s, d_w)
        # the merged index behaves as one for the local job's incremental update
        upd.index.remove_ids(faiss.IDSelectorBatch(ids[:10]))
        assert upd.index.ntotal == 1490
        assert sorted(faiss.vector_to_array(upd.index.id_map).tolist()) == ids[10:].tolist()
