"""``hooklake learn --engine spark``: the learning job with its heavy parts on Apache Spark.

What runs where:

* **Spark** reads the lake and computes the lakehouse views (``lakehouse.spark``: the same view
  SQL as DuckDB), i.e. everything learning reads: traces, tool calls, subagent runs, errors,
  routing decisions;
* **Spark executors** embed the prompts the cache does not have yet, in parallel
  (``mapInPandas`` calling ``learning.embeddings.get_embedder(model).encode`` — the very function
  the local job calls), and the vectors are added to the same embedding cache;
* :func:`sharded_index` builds a FAISS index in shards on Spark: the coarse quantizer (IVF) is
  trained on a sample on the driver, each partition adds its vectors to a copy of the trained
  empty index, and the shards are merged (``merge_from``). The index version this job publishes
  is still built by learning's own ``index.update_index`` on the driver (incremental update of the
  previous version); wiring the sharded build into publication is the next step;
* the **driver** runs learning's own pattern grouping, versioning, calibration and publication
  (``learning.job.run_learn`` with the frames and vectors computed above), so a pattern learned
  on Spark is byte-for-byte the pattern the local job learns from the same lake;
* with a remote lake, the learned tables and the new index version are uploaded for every
  machine to download (``lakehouse.remote.publish_learned_table`` / ``publish_index``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from hooklake.paths import Paths


@dataclass
class SparkLearnExtras:
    master: str = ""
    spark_seconds: dict[str, float] = field(default_factory=dict)
    embedded_on_spark: int = 0
    published: list[str] = field(default_factory=list)


def _embed_partitions(model: str, batch_size: int):
    """The mapInPandas function: (hash, text) batches -> (hash, vector) with the local job's embedder."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from learning.embeddings import get_embedder

        embedder = get_embedder(model)
        for pdf in batches:
            if len(pdf) == 0:
                continue
            vectors = embedder.encode(pdf["text"].tolist(), batch_size=batch_size)
            yield pd.DataFrame({"hash": pdf["hash"], "vector": [v.astype(np.float32).tolist() for v in vectors]})

    return run


class PrecomputedEmbedder:
    """The local embedder's interface over vectors computed on Spark; texts not among them (the
    intent taxonomy's few descriptions) go to the real model on the driver."""

    def __init__(self, model_name: str, dimension: int, vectors: dict[str, np.ndarray]):
        self.model_name = model_name
        self.dimension = dimension
        self._vectors = vectors
        self._real = None

    def _model(self) -> Any:
        if self._real is None:
            from learning.embeddings import get_embedder

            self._real = get_embedder(self.model_name)
        return self._real

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        from learning.text import content_hash

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        todo = []
        for i, text in enumerate(texts):
            vec = self._vectors.get(content_hash(text))
            if vec is None:
                todo.append(i)
            else:
                out[i] = vec
        if todo:
            out[todo] = self._model().encode([texts[i] for i in todo], batch_size=batch_size)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model(), name)


def load_from_spark(lake: Any) -> Any:
    """learning.source's frames, from views computed on Spark.

    The Spark views are collected as Arrow into an in-memory DuckDB under the same names, and
    learning.source's own readers turn them into the frames (one code path for both engines)."""
    import duckdb
    import polars as pl

    from learning import source

    con = duckdb.connect(":memory:")
    spark = lake.spark
    frames = {
        "execution_traces": spark.table("execution_traces").where("status IS DISTINCT FROM 'in_progress'"),
        "tool_calls": spark.table("tool_calls"),
        "subagent_runs": spark.table("subagent_runs"),
        "error_events": spark.table("error_events"),
        "events": spark.table("events").where(
            "event_kind IN ('routing_decision', 'advice') AND payload LIKE '%pattern_id%'"),
    }
    for name, df in frames.items():
        table = df.toArrow()
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
    try:
        raw = source._select(con, "execution_traces", source.TRACE_COLUMNS)
        traces = source.assemble_traces(raw) if raw is not None else source._empty_traces()
        tool_calls = source._or_empty(source._select(con, "tool_calls", (
            "correlation_id", "tool_name", "mcp_server", "mcp_tool", "duration_ms", "status", "tool_input")))
        subagents = source._or_empty(source._select(con, "subagent_runs", (
            "correlation_id", "parent_correlation_id", "agent_type", "duration_ms", "status", "depth")))
        errors = source._or_empty(source._select(con, "error_events", (
            "correlation_id", "occurred_at", "source_kind", "agent_type", "tool_name", "service", "endpoint",
            "error_message", "error_template")))
        decisions = source._decisions(con)
        if raw is not None and raw.height and tool_calls.height and "is_subagent" in raw.columns:
            kids = raw.filter(pl.col("is_subagent").fill_null(False) & pl.col("root_id").is_not_null())
            mapping = dict(zip(kids["correlation_id"].to_list(), kids["root_id"].to_list()))
            if mapping:
                tool_calls = tool_calls.with_columns(pl.col("correlation_id").replace(mapping))
    finally:
        con.close()
    return source.LakeData(traces, tool_calls, subagents, errors, decisions)


def embed_on_spark(spark: Any, texts: list[str], model: str, cache: Any, batch_size: int, partitions: int) -> int:
    """Embed the texts the cache lacks on the executors and add them to the cache; returns how many."""
    from learning.text import content_hash

    missing: dict[str, str] = {}
    for text in texts:
        h = content_hash(text)
        if h not in cache._vectors and h not in missing:
            missing[h] = text
    if not missing:
        return 0
    import pandas as pd

    pdf = pd.DataFrame({"hash": list(missing), "text": list(missing.values())})
    df = spark.createDataFrame(pdf, "hash string, text string").repartition(max(1, partitions))
    out = df.mapInPandas(_embed_partitions(model, batch_size), "hash string, vector array<float>").toPandas()
    vectors = np.asarray(out["vector"].tolist(), dtype=np.float32).reshape(len(out), cache.dimension)
    cache._append(out["hash"].tolist(), vectors)
    for h, v in zip(out["hash"].tolist(), vectors):
        cache._vectors[h] = v
    return len(out)


def sharded_index(spark: Any, ids: np.ndarray, vectors: np.ndarray, *, nlist: int | None, sample: int = 20_000,
                  partitions: int = 2, seed: int = 0) -> Any:
    """A FAISS inner-product index built in shards: train on a sample (driver), fill one shard per
    partition (executors), merge the shards (driver). ``nlist`` None: exact (flat) shards."""
    import faiss

    dim = int(vectors.shape[1])
    if nlist:
        rng = np.random.default_rng(seed)
        take = rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)
        quantizer = faiss.IndexFlatIP(dim)
        trained = faiss.IndexIVFFlat(quantizer, dim, int(nlist), faiss.METRIC_INNER_PRODUCT)
        trained.train(np.ascontiguousarray(vectors[take], dtype=np.float32))
        empty = faiss.serialize_index(trained)
    else:
        empty = faiss.serialize_index(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))
    bc = spark.sparkContext.broadcast(bytes(empty))
    rows = [(int(i), vectors[k].astype(np.float32).tolist()) for k, i in enumerate(ids)]
    rdd = spark.sparkContext.parallelize(rows, max(1, partitions))

    def fill(part: Iterator[tuple[int, list[float]]]) -> Iterator[bytes]:
        import faiss as f

        items = list(part)
        index = f.deserialize_index(np.frombuffer(bc.value, dtype=np.uint8))
        if items:
            xs = np.asarray([v for _, v in items], dtype=np.float32)
            index.add_with_ids(xs, np.asarray([i for i, _ in items], dtype=np.int64))
        yield bytes(f.serialize_index(index))

    shards = rdd.mapPartitions(fill).collect()
    merged = faiss.deserialize_index(np.frombuffer(shards[0], dtype=np.uint8))
    for blob in shards[1:]:
        shard = faiss.deserialize_index(np.frombuffer(blob, dtype=np.uint8))
        if nlist:
            merged.merge_from(shard, 0)
        else:
            xs = shard.index.reconstruct_n(0, shard.ntotal)
            merged.add_with_ids(xs, faiss.vector_to_array(shard.id_map).astype(np.int64))
    return merged


def run_learn_spark(paths: Paths | None = None, settings: Any = None, *, master: str | None = None,
                    full: bool = False, progress: bool = False, spark: Any = None) -> tuple[Any, SparkLearnExtras]:
    """The learning job on Spark; returns learning's LearnReport and what Spark did."""
    from hooklake.settings import load_settings
    from lakehouse.spark.engine import SparkLake
    from lakehouse.spark.session import default_master, get_session
    from learning.embeddings import EmbeddingCache
    from learning.job import run_learn
    from learning.text import content_hash

    paths = paths or Paths.resolve()
    settings = settings or load_settings(paths.config)
    ls = settings.learning
    extras = SparkLearnExtras(master=master or default_master())
    spark = spark or get_session(master)
    lake_paths = paths
    if "://" in paths.lake_uri:
        from lakehouse.remote import sync_mirror

        lake_paths = sync_mirror(paths)

    t0 = time.perf_counter()
    lake = SparkLake.open(spark, lake_paths, settings=settings.success)
    data = load_from_spark(lake)
    extras.spark_seconds["views"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    from learning.embeddings import get_embedder

    dimension = _dimension(paths, ls.model) or get_embedder(ls.model).dimension
    cache = EmbeddingCache(paths.index / "embeddings", ls.model, dimension)
    texts = [t for t in data.traces["prompt_text"].to_list() if t is not None and t.strip()] if data.traces.height else []
    partitions = max(1, spark.sparkContext.defaultParallelism)
    extras.embedded_on_spark = embed_on_spark(spark, texts, ls.model, cache, ls.batch_size, partitions)
    extras.spark_seconds["embed"] = round(time.perf_counter() - t0, 3)
    vectors = {h: cache._vectors[h] for h in (content_hash(t) for t in texts)}
    embedder = PrecomputedEmbedder(ls.model, dimension, vectors)

    report = run_learn(paths, settings, full=full, progress=progress, embedder=embedder, data=data)

    if "://" in paths.lake_uri:
        extras.published = publish_outputs(paths, report.index_version)
    return report, extras


def _dimension(paths: Paths, model: str) -> int | None:
    """The model's dimension from the embedding cache's metadata (saves loading the model)."""
    import json

    from learning.embeddings import model_slug

    meta = paths.index / "embeddings" / model_slug(model) / "model.json"
    try:
        return int(json.loads(meta.read_text())["dimension"])
    except (OSError, ValueError, KeyError):
        return None


def publish_outputs(paths: Paths, version: str | None) -> list[str]:
    """Upload the learned tables and the index version to the remote lake."""
    from lakehouse import remote
    from learning import store
    from learning.tables import LEARNED_TABLES

    loc = remote.remote_location(paths)
    client = remote.s3_client()
    out = []
    try:
        for name in LEARNED_TABLES:
            folder = store.table_dir(paths.lake, name)
            for f in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
                out.append(remote.publish_learned_table(client, loc, name, f))
        if version:
            from learning import index as idx

            out += remote.publish_index(client, loc, idx.version_dir(paths.index, version), version)
    except Exception as exc:
        raise remote.storage_error(loc, "publishing the learned patterns", exc) from None
    return out
