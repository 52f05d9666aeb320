"""``hooklake learn --engine spark``: the learning job with its heavy parts on Apache Spark.

What runs where:

* **Spark SQL** reads the lake and computes the lakehouse views (``lakehouse.spark``: the same view
  SQL as DuckDB);
* **executors** fold subagent traces into their main trace (``mapInArrow`` over partitions keyed
  by the root trace, calling ``learning.source.assemble_traces``, the local job's function) and
  embed the prompts the cache lacks (``mapInPandas`` around ``learning.embeddings.get_embedder``,
  the local job's embedder); the vectors join the same embedding cache;
* **executors** aggregate the patterns (:class:`SparkPatterns`): the traces are partitioned by
  execution path (``path_key``), each path's traces are grouped by prompt similarity in time order
  and summarised with learning's own ``cluster_traces`` / ``attribute_failures`` /
  ``build_pattern_rows``, and only the pattern rows come back to the driver;
* **the index** is built in shards (:mod:`learning.index_shards`): trained on a sample on the
  driver, filled per partition on the executors, merged on the driver;
* **the driver** runs versioning, pruning, usage, chaining and error tables and calibration
  (``learning.job.run_learn`` with the frames, vectors, pattern rows and index above), so a
  pattern learned on Spark is the pattern the local job learns from the same lake;
* the learned tables and the new index version are **published to the lake** (``s3://`` or a
  folder) for every machine to download (``lakehouse.remote.pull_index`` / ``refresh_index``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from hooklake.paths import LAKE_ENV, Paths


@dataclass
class SparkLearnExtras:
    master: str = ""
    spark_seconds: dict[str, float] = field(default_factory=dict)
    embedded_on_spark: int = 0
    distinct_prompts: int = 0
    index_shards: int = 0
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


# ---- traces: subagents folded into their main trace, on the executors --------------------------------

def _trace_arrow_schema() -> Any:
    """Arrow schema of learning.source's trace frame, in the types Spark exchanges."""
    import polars as pl
    import pyarrow as pa

    from learning.source import _TRACE_SCHEMA

    def conv(t: Any) -> Any:
        if t == pl.String:
            return pa.string()
        if isinstance(t, pl.Datetime):
            return pa.timestamp("us", tz="UTC")
        if isinstance(t, pl.List):
            return pa.list_(conv(t.inner))
        return {pl.Float64: pa.float64(), pl.Int64: pa.int64(), pl.Boolean: pa.bool_()}[t]

    return pa.schema([(name, conv(t)) for name, t in _TRACE_SCHEMA.items()])


def _spark_ddl(schema: Any) -> str:
    from lakehouse.spark.engine import ddl

    return ddl(schema)


def _assemble_partition(schema: Any):
    """mapInArrow: one partition's raw traces (all rows of a root trace together) -> main traces."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import polars as pl
        import pyarrow as pa

        from learning.source import assemble_traces

        batches = [b for b in batches if b.num_rows]
        if not batches:
            return
        raw = pl.from_arrow(pa.Table.from_batches(batches).drop(["_root"]))
        out = assemble_traces(raw)
        if out.height:
            yield from out.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema).to_batches()

    return run


def assembled_traces(spark: Any, partitions: int) -> Any:
    """learning.source's trace frame as a Spark DataFrame (checkpointed on the executors).

    Rows are partitioned by their root trace (a main trace's own id; a subagent's ``root_id`` or
    ``parent_id``, the key ``assemble_traces`` folds it under), so each partition holds whole
    trace trees and the local function runs unchanged on it."""
    from pyspark.sql import functions as F

    from learning.source import TRACE_COLUMNS

    raw = spark.table("execution_traces").where("status IS DISTINCT FROM 'in_progress'")
    cols = [c for c in TRACE_COLUMNS if c in raw.columns]
    root = F.when(F.col("is_subagent"), F.coalesce("root_id", "parent_id")).otherwise(F.col("correlation_id"))
    schema = _trace_arrow_schema()
    df = raw.select(*cols).withColumn("_root", root).repartition(max(1, partitions), "_root")
    return df.mapInArrow(_assemble_partition(schema), _spark_ddl(schema)).localCheckpoint(eager=True)


def mcp_calls(spark: Any) -> Any:
    """Per main trace, its (and its subagents') MCP tool calls in time order, as
    ``correlation_id, mcp_calls array<struct>`` (what ``endpoint_profiles`` reads)."""
    calls = spark.table("tool_calls").where("mcp_server IS NOT NULL").alias("t")
    kids = (spark.table("execution_traces").where("status IS DISTINCT FROM 'in_progress'")
            .where("is_subagent AND root_id IS NOT NULL").selectExpr("correlation_id AS kid", "root_id").alias("k"))
    return (calls.join(kids, calls["correlation_id"] == kids["kid"], "left")
            .selectExpr("coalesce(root_id, t.correlation_id) AS correlation_id",
                        "struct(started_at, tool_use_id, mcp_server, mcp_tool, tool_input, duration_ms, status) AS c")
            .groupBy("correlation_id").agg({"c": "collect_list"})
            .withColumnRenamed("collect_list(c)", "mcp_calls")
            .selectExpr("correlation_id", "sort_array(mcp_calls) AS mcp_calls"))


def load_from_spark(lake: Any, traces: Any = None) -> Any:
    """learning.source's frames for the driver: the assembled traces (``traces``, a Spark frame
    from :func:`assembled_traces`; computed when not given), errors and routing decisions.

    Tool calls and subagent runs stay on Spark (the pattern aggregation reads them there). The
    small Spark results are collected as Arrow into an in-memory DuckDB under the view names, and
    learning.source's own readers turn them into the frames."""
    import duckdb
    import polars as pl

    from learning import source

    spark = lake.spark
    if traces is None:
        traces = assembled_traces(spark, max(1, spark.sparkContext.defaultParallelism) * 2)
    frame = pl.from_arrow(traces.toArrow())
    frame = frame.cast(source._TRACE_SCHEMA) if frame.height else source._empty_traces()
    # (started_at, correlation_id): the order the executors group in (Polars' sort is stable)
    frame = frame.sort(["started_at", "correlation_id"])
    con = duckdb.connect(":memory:")
    frames = {
        "error_events": spark.table("error_events"),
        "events": spark.table("events").where(
            "event_kind IN ('routing_decision', 'advice') AND payload LIKE '%pattern_id%'"),
    }
    for name, df in frames.items():
        con.register(f"{name}_arrow", df.toArrow())
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
    try:
        errors = source._or_empty(source._select(con, "error_events", (
            "correlation_id", "occurred_at", "source_kind", "agent_type", "tool_name", "service", "endpoint",
            "error_message", "error_template")))
        decisions = source._decisions(con)
    finally:
        con.close()
    return source.LakeData(frame, pl.DataFrame(), pl.DataFrame(), errors, decisions)


# ---- patterns: grouped by execution path, then by prompt similarity, on the executors ------------------

_DRIVER_ONLY = ("vector", "probs", "mcp_calls")


def _pattern_partition(threshold: float, model: str, intent_names: list[str]):
    """mapInArrow: one partition's traces (whole execution paths) -> pickled pattern rows."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pickle

        import polars as pl
        import pyarrow as pa

        from learning.patterns import attribute_failures, build_pattern_rows, cluster_traces, endpoint_profiles

        batches = [b for b in batches if b.num_rows]
        if not batches:
            return
        df = pl.from_arrow(pa.Table.from_batches(batches))
        keys: list[str] = []
        blobs: list[bytes] = []
        for (key,), group in df.partition_by("path_key", as_dict=True, maintain_order=True).items():
            group = group.sort(["started_at", "correlation_id"])  # time order, as on the driver
            ok = group.filter(pl.col("success"))
            if ok.height == 0:
                continue
            failed = group.filter(~pl.col("success"))
            vectors = np.asarray(ok["vector"].to_list(), dtype=np.float32)
            probs = np.asarray(ok["probs"].to_list(), dtype=np.float32).reshape(ok.height, len(intent_names))
            clusters = cluster_traces([key] * ok.height, vectors, threshold)
            if failed.height:
                failed_vectors = np.asarray(failed["vector"].to_list(), dtype=np.float32)
                attribute_failures(clusters, [key] * failed.height, failed_vectors, threshold)
            calls = ok.select("correlation_id", "mcp_calls").explode("mcp_calls").drop_nulls("mcp_calls")
            calls = calls.unnest("mcp_calls") if calls.height else pl.DataFrame()
            rows = build_pattern_rows(clusters, ok.drop(_DRIVER_ONLY), failed.drop(_DRIVER_ONLY), vectors, probs,
                                      intent_names, endpoint_profiles(calls), model)
            cids = ok["correlation_id"].to_list()
            for row in rows:
                row["member_rows"] = [cids[i] for i in row["member_rows"]]  # positions on the driver
                keys.append(key)
                blobs.append(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
        if blobs:
            yield pa.RecordBatch.from_pydict({"path_key": keys, "row": blobs},
                                             schema=pa.schema([("path_key", pa.string()), ("row", pa.binary())]))

    return run


class SparkPatterns:
    """The ``aggregate`` step of ``learning.job.run_learn`` on Spark.

    Given the driver's successful/failed traces (for the row positions the pattern rows refer
    to) and their vectors and intent probabilities, it ships only one row per distinct prompt
    (text, vector, intent probabilities) to Spark, joins it to the executors' traces, partitions
    by execution path and groups there; the pattern rows are collected, their member correlation
    ids turned into the driver's row positions, and put in the local job's order (paths by first
    trace, patterns by first member)."""

    def __init__(self, spark: Any, traces: Any, calls: Any, threshold: float, model: str, partitions: int):
        self.spark, self.traces, self.calls = spark, traces, calls
        self.threshold, self.model, self.partitions = threshold, model, max(1, partitions)
        self.seconds = 0.0
        self.distinct_prompts = 0

    def __call__(self, ok: Any, failed: Any, vectors: np.ndarray, failed_vectors: np.ndarray, probs: np.ndarray,
                 intent_names: list[str]) -> list[dict[str, Any]]:
        import pickle

        import pandas as pd
        from pyspark.sql import functions as F

        t0 = time.perf_counter()
        if ok.height == 0:
            return []
        k = len(intent_names)
        table: dict[str, tuple[list[float], list[float]]] = {}
        for text, vec, p in zip(ok["prompt_text"].to_list(), vectors, probs):
            table.setdefault(text, (vec.tolist(), p.tolist()))
        zeros = [0.0] * k
        for text, vec in zip(failed["prompt_text"].to_list(), failed_vectors):
            table.setdefault(text, (vec.tolist(), zeros))
        self.distinct_prompts = len(table)
        pdf = pd.DataFrame({"prompt_text": list(table), "vector": [v for v, _ in table.values()],
                            "probs": [p for _, p in table.values()]})
        prompts = self.spark.createDataFrame(pdf, "prompt_text string, vector array<float>, probs array<float>")
        df = (self.traces.join(F.broadcast(prompts), "prompt_text")
              .join(self.calls, "correlation_id", "left")
              .repartition(self.partitions, "path_key"))
        fn = _pattern_partition(self.threshold, self.model, list(intent_names))
        out = df.mapInArrow(fn, "path_key string, row binary").toArrow()
        pos = {cid: i for i, cid in enumerate(ok["correlation_id"].to_list())}
        rows = []
        for blob in out.column("row").to_pylist():
            row = pickle.loads(blob)
            row["member_rows"] = [pos[c] for c in row["member_rows"]]
            rows.append(row)
        first_of_path: dict[str, int] = {}
        for row in rows:
            first = row["member_rows"][0]
            first_of_path[row["path_key"]] = min(first, first_of_path.get(row["path_key"], first))
        rows.sort(key=lambda r: (first_of_path[r["path_key"]], r["member_rows"][0]))
        self.seconds = round(time.perf_counter() - t0, 3)
        return rows


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


def run_learn_spark(paths: Paths | None = None, settings: Any = None, *, master: str | None = None,
                    full: bool = False, progress: bool = False, spark: Any = None) -> tuple[Any, SparkLearnExtras]:
    """The learning job on Spark; returns learning's LearnReport and what Spark did."""
    from hooklake.settings import load_settings
    from lakehouse.spark.engine import SparkLake
    from lakehouse.spark.session import default_master, get_session
    from learning import index as idx
    from learning.embeddings import EmbeddingCache
    from learning.index_shards import sharded_builder
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
    partitions = max(1, spark.sparkContext.defaultParallelism)

    t0 = time.perf_counter()
    lake = SparkLake.open(spark, lake_paths, settings=settings.success)
    extras.spark_seconds["views"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    traces = assembled_traces(spark, partitions * 2)
    data = load_from_spark(lake, traces)
    extras.spark_seconds["traces"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    from learning.embeddings import get_embedder

    dimension = _dimension(paths, ls.model) or get_embedder(ls.model).dimension
    cache = EmbeddingCache(paths.index / "embeddings", ls.model, dimension)
    texts = [t for t in data.traces["prompt_text"].to_list() if t is not None and t.strip()] if data.traces.height else []
    extras.embedded_on_spark = embed_on_spark(spark, texts, ls.model, cache, ls.batch_size, partitions)
    extras.spark_seconds["embed"] = round(time.perf_counter() - t0, 3)
    vectors = {h: cache._vectors[h] for h in (content_hash(t) for t in texts)}
    extras.distinct_prompts = len(vectors)
    embedder = PrecomputedEmbedder(ls.model, dimension, vectors)

    patterns = SparkPatterns(spark, traces, mcp_calls(spark), ls.similarity_threshold, ls.model, partitions * 2)
    builder = sharded_builder(spark, partitions)
    t0 = time.perf_counter()
    with idx.build_with(builder):
        report = run_learn(paths, settings, full=full, progress=progress, embedder=embedder, data=data,
                           aggregate=patterns)
    extras.spark_seconds["patterns"] = patterns.seconds
    extras.spark_seconds["learn_driver_and_index"] = round(time.perf_counter() - t0 - patterns.seconds, 3)
    extras.index_shards = getattr(builder, "shard_count", 0)
    traces.unpersist()

    if report.index_version and os.environ.get(LAKE_ENV):
        # a team lake ($HOOKLAKE_LAKE: s3:// or a shared folder): every machine pulls from it
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
    """Publish the index version to the lake for every machine to download; with an ``s3://``
    lake also upload the learned tables (a lake folder has them in place already). Returns the
    lake-relative paths written."""
    from lakehouse import remote
    from learning import index as idx

    loc = remote.remote_location(paths)
    if loc is None:
        if not version:
            return []
        try:
            return remote.publish_index_local(paths.lake, idx.version_dir(paths.index, version), version)
        except OSError as exc:
            from hooklake.errors import HooklakeError

            raise HooklakeError(f"{paths.lake / 'index'}: publishing the index failed ({exc}); check that the "
                                "lake folder is writable, then run 'hooklake learn --engine spark' again") from None
    from learning import store
    from learning.tables import LEARNED_TABLES

    client = remote.s3_client()
    out = []
    try:
        for name in LEARNED_TABLES:
            folder = store.table_dir(paths.lake, name)
            for f in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
                out.append(remote.publish_learned_table(client, loc, name, f))
        if version:
            out += remote.publish_index(client, loc, idx.version_dir(paths.index, version), version)
    except Exception as exc:
        raise remote.storage_error(loc, "publishing the learned patterns", exc) from None
    return out
