"""The lakehouse on Spark SQL: the same relations and views as ``lakehouse.connect()``.

``SparkLake(spark, files=...)`` registers, as temporary views of the session:

* ``lake_events`` over the lake's event Parquet files (Hive ``date=`` partitions; an empty typed
  relation on an empty lake), exactly like DuckDB's;
* ``lakehouse_settings`` (one row of the ``[success]`` thresholds);
* every ``lakehouse/views/*.sql`` file translated by ``lakehouse.spark.translate``, in file order;
* the learned base tables of ``learning.tables.LEARNED_TABLES`` and ``learning/views/*.sql``.

The file list normally comes from the lake folder (or the local mirror of a remote lake); on a
cluster it is the list of ``s3a://`` URIs the remote lake's live set names (``remote_files``), so
Spark reads exactly one snapshot of the lake, the same one a DuckDB reader would see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklake.paths import Paths
from lakehouse.connect import STAGES, VIEWS_DIR, _learning_views_dir, apply_order_names, view_files
from lakehouse.spark.translate import TranslationError, translate_file


def spark_type(arrow_type: Any) -> str:
    """Spark SQL type name for the arrow types of the lake schema."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP" if arrow_type.tz else "TIMESTAMP_NTZ"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"ARRAY<{spark_type(arrow_type.value_type)}>"
    simple = {pa.string(): "STRING", pa.large_string(): "STRING", pa.int8(): "TINYINT", pa.int16(): "SMALLINT",
              pa.int32(): "INT", pa.int64(): "BIGINT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE",
              pa.bool_(): "BOOLEAN", pa.date32(): "DATE", pa.binary(): "BINARY"}
    if arrow_type in simple:
        return simple[arrow_type]
    raise ValueError(f"no Spark type for arrow type {arrow_type}")


def ddl(schema: Any, extra: str = "") -> str:
    cols = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in schema)
    return cols + extra


@dataclass
class SparkLake:
    """A Spark session with the lakehouse's relations and views registered."""

    spark: Any
    stage: bool = True
    views: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, spark: Any, paths: Paths | None = None, *, event_files: list[str] | None = None,
             events_root: str | None = None, learned: dict[str, list[str]] | None = None,
             settings: Any = None, strict: bool = True) -> "SparkLake":
        """Register everything. ``event_files``/``events_root``: explicit Parquet URIs and their
        partition root (remote lakes); else the files under ``paths.events``. ``strict``: a view
        that cannot be translated or created raises; otherwise it is recorded in ``failures``."""
        paths = paths or Paths.resolve()
        lake = cls(spark)
        if event_files is None:
            from lakehouse.connect import list_event_files

            event_files = [str(paths.events / rel) for rel in sorted(list_event_files(paths))]
            events_root = str(paths.events)
        lake._lake_events(event_files, events_root or str(paths.events))
        lake._settings(settings)
        lake._apply(VIEWS_DIR, strict)
        lake._learned(paths, learned)
        folder = _learning_views_dir()
        if folder is not None:
            lake._apply(folder, strict)
        global _CURRENT
        _CURRENT = (_signature(paths, event_files), lake) if not learned else None
        return lake

    # ---- base relations --------------------------------------------------------------------
    def _lake_events(self, files: list[str], root: str) -> None:
        from ingest.schema import arrow_schema

        if files:
            df = (self.spark.read.option("basePath", root).option("mergeSchema", "true")
                  .parquet(*files))
        else:
            df = self.spark.createDataFrame([], ddl(arrow_schema(), ", `date` DATE"))
        df.createOrReplaceTempView("lake_events")

    def _settings(self, settings: Any) -> None:
        if settings is None:
            from hooklake.settings import load_settings

            settings = load_settings().success
        row = (float(settings.max_duration_ms), float(settings.max_hook_duration_ms),
               float(settings.success_threshold), float(settings.in_progress_timeout_s))
        self.spark.createDataFrame(
            [row], "max_duration_ms DOUBLE, max_hook_duration_ms DOUBLE, success_threshold DOUBLE, "
                   "in_progress_timeout_s DOUBLE").createOrReplaceTempView("lakehouse_settings")

    def _learned(self, paths: Paths, learned: dict[str, list[str]] | None) -> None:
        try:
            from learning.tables import LEARNED_TABLES
        except ModuleNotFoundError:
            return
        for name, schema in LEARNED_TABLES.items():
            if learned is not None:
                files = learned.get(name, [])
            else:
                folder = paths.lake / "learned" / name
                files = sorted(str(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []
            if files:
                df = self.spark.read.option("mergeSchema", "true").parquet(*files)
            else:
                df = self.spark.createDataFrame([], ddl(schema))
            df.createOrReplaceTempView(name)

    # ---- views -------------------------------------------------------------------------------
    def _apply(self, directory: Path, strict: bool) -> None:
        for path, name in zip(view_files(directory), apply_order_names(directory)):
            try:
                for statement in translate_file(path):
                    self.spark.sql(statement)
                if self.stage and name in STAGES:
                    self._materialise(name)
                self.views.append(name)
            except TranslationError as exc:
                if strict:
                    raise
                self.failures[name] = str(exc)
            except Exception as exc:  # Spark's AnalysisException / ParseException
                message = f"{path}: Spark could not create the translated view: {str(exc).splitlines()[0][:500]}"
                if strict:
                    raise TranslationError(message) from None
                self.failures[name] = message

    def _materialise(self, name: str) -> None:
        """Compute an intermediate view once and point the view at the result.

        Later views read these many times; left as views, Spark would re-analyse (and re-run) the
        whole chain below each use, and the analysed plan of ``trace_facts`` grows beyond what the
        driver handles. ``localCheckpoint`` keeps the rows on the executors and cuts the plan
        (the same role as the temporary tables ``lakehouse.connect`` makes in DuckDB)."""
        df = self.spark.table(name).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)

    def table(self, view: str) -> Any:
        return self.spark.table(view)

    def rows(self, view: str, limit: int | None = None) -> list[dict[str, Any]]:
        df = self.spark.table(view)
        if limit is not None:
            df = df.limit(int(limit))
        return [r.asDict(recursive=True) for r in df.collect()]


#: The lake whose views the session's temporary views currently are (views are session-global:
#: opening another lake replaces them), with the files it was opened on.
_CURRENT: tuple[Any, SparkLake] | None = None


def _signature(paths: Paths, event_files: list[str]) -> Any:
    learned = paths.lake / "learned"
    listing = sorted((str(p), p.stat().st_mtime_ns) for p in learned.rglob("*.parquet")) if learned.is_dir() else []
    return (str(paths.lake), tuple(event_files), tuple(listing))


def open_lake(paths: Paths | None = None, *, master: str | None = None, strict: bool = True) -> SparkLake:
    """The Python API: a SparkLake over the configured lake (a remote lake is read through its
    local mirror here; on a cluster pass ``event_files`` of ``s3a://`` URIs to ``SparkLake.open``)."""
    from lakehouse.spark.session import get_session

    paths = paths or Paths.resolve()
    if "://" in paths.lake_uri:
        from lakehouse.remote import sync_mirror

        paths = sync_mirror(paths)
    from lakehouse.connect import list_event_files

    files = [str(paths.events / rel) for rel in sorted(list_event_files(paths))]
    if _CURRENT is not None and _CURRENT[0] == _signature(paths, files) and not _CURRENT[1].failures:
        return _CURRENT[1]  # same session, same files: the views are registered already
    return SparkLake.open(get_session(master), paths, event_files=files, strict=strict)


def remote_files(paths: Paths | None = None) -> tuple[list[str], str]:
    """``s3a://`` URIs of a remote lake's live event files and their partition root, for a
    cluster whose Spark has the hadoop-aws connector (``spark.hadoop.fs.s3a.*`` settings)."""
    from lakehouse import remote

    paths = paths or Paths.resolve()
    loc = remote.remote_location(paths)
    if loc is None:
        raise ValueError("the lake is not remote")
    snap = remote.snapshot(remote.s3_client(), loc)
    files = sorted(loc.spark_uri(rel) for rel in snap.files if rel.startswith("events/"))
    return files, loc.spark_uri("events")
