"""Lake maintenance: retention (archive, then delete, old partitions) and small-file compaction.

Both rewrite files under ``<lake>/events`` while ingest and readers keep running:

* a new file is written under a hidden temporary name (``.tmp-...``, which no reader globs),
  flushed, checked (row count read back) and only then renamed into place;
* files are deleted only after their replacement (compaction) or archive copy (retention) is in
  place, so no row is ever absent from both. A crash in between leaves duplicates (the same
  event_id twice), which the ``events`` view removes, never a loss; a rerun finishes the job.
* Ingest only adds new files, and the files a run rewrites are fixed when it starts, so both
  can run concurrently with ingest. One lock file serialises maintenance runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import Paths

LOCK_FILE = "lake-maintenance.lock"
ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group in compacted files: small enough for row-group pruning by id."""


@contextlib.contextmanager
def maintenance_lock(paths: Paths) -> Iterator[None]:
    paths.state.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.state / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HooklakeError(f"another retention/compaction run holds {paths.state / LOCK_FILE}; "
                                "wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _partitions(paths: Paths) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    root = paths.events
    if not root.is_dir():
        return out
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name.startswith("date="):
            files = sorted(p for p in folder.iterdir() if p.suffix == ".parquet" and not p.name.startswith("."))
            if files:
                out[folder.name] = files
    return out


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_verified(table: Any, final: Path) -> None:
    """Write ``table`` as zstd Parquet to ``final`` via a hidden temporary file, checked before rename."""
    import pyarrow.parquet as pq

    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{final.name}")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if pq.ParquetFile(tmp).metadata.num_rows != table.num_rows:
            raise HooklakeError(f"{tmp}: row count check failed after writing; nothing was removed")
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _refresh_rollup(paths: Paths) -> None:
    from lakehouse.rollup import refresh_rollup, rollup_path

    if rollup_path(paths).exists():
        refresh_rollup(paths)


def apply_retention(older_than_s: float, *, archive: str | os.PathLike[str] | None = None, dry_run: bool = False,
                    paths: Paths | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """Remove ``date=`` partitions older than ``older_than_s``; archive each file first when asked.

    Per file: the archive copy (zstd) is written and verified, then the lake file is deleted. An
    archive file that already exists with the same row count (an interrupted earlier run) is kept.
    """
    import pyarrow.parquet as pq

    paths = paths if paths is not None else Paths.resolve()
    today = today if today is not None else dt.datetime.now(dt.timezone.utc).date()
    cutoff = today - dt.timedelta(seconds=older_than_s)
    old: dict[str, list[Path]] = {}
    for name, files in _partitions(paths).items():
        try:
            day = dt.date.fromisoformat(name.split("=", 1)[1])
        except ValueError:
            continue
        if day < cutoff:
            old[name] = files
    archive_dir = Path(archive).expanduser().resolve() if archive is not None else None
    rows = sum(pq.ParquetFile(f).metadata.num_rows for files in old.values() for f in files)
    report: dict[str, Any] = {"cutoff": cutoff.isoformat(), "partitions": sorted(old), "rows": rows,
                              "files": sum(len(f) for f in old.values()), "dry_run": dry_run,
                              "archive": str(archive_dir) if archive_dir else None}
    if dry_run or not old:
        return report
    with maintenance_lock(paths):
        for name, files in old.items():
            for src in files:
                if archive_dir is not None:
                    dst = archive_dir / "events" / name / src.name
                    want = pq.ParquetFile(src).metadata.num_rows
                    if not (dst.exists() and pq.ParquetFile(dst).metadata.num_rows == want):
                        _write_verified(pq.read_table(src), dst)
                src.unlink()
            _fsync_dir(paths.events / name)
            with contextlib.suppress(OSError):
                (paths.events / name).rmdir()
    _refresh_rollup(paths)
    return report


def compact_lake(*, min_files: int = 2, paths: Paths | None = None) -> dict[str, Any]:
    """Merge each partition's files into one, duplicates removed, sorted by (correlation_id, event_time).

    Sorted files with small row groups let a lookup by correlation_id skip nearly every row group
    (Parquet min/max statistics). Readers see either the old files or the new one (or, for an
    instant, both: the ``events`` view de-duplicates by event_id).
    """
    import duckdb
    import pyarrow.parquet as pq

    from ingest.schema import arrow_schema

    paths = paths if paths is not None else Paths.resolve()
    started = time.monotonic()
    report = {"partitions": 0, "files_before": 0, "files_after": 0, "rows": 0}
    replaced: dict[str, list[str]] = {}
    with maintenance_lock(paths):
        for name, files in _partitions(paths).items():
            if len(files) < min_files:
                continue
            con = duckdb.connect(":memory:")
            con.execute("SET enable_progress_bar = false")
            con.execute("SET TimeZone = 'UTC'")
            listing = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
            query = (
                f"SELECT * FROM read_parquet({listing}, union_by_name = true, hive_partitioning = false) "
                "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY captured_at, ingest_id) = 1 "
                "ORDER BY correlation_id NULLS LAST, event_time, event_id"
            )
            rel = con.sql(query)
            # DuckDB 2 names it to_arrow_table, 1.x arrow()
            table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
            schema = arrow_schema()
            if table.schema.names == schema.names:
                table = table.cast(schema)
            con.close()
            before = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            target = paths.events / name / f"part-compact-{uuid.uuid4().hex[:12]}.parquet"
            _write_verified(table, target)
            for f in files:
                f.unlink()
            replaced[str(target.relative_to(paths.events))] = [str(f.relative_to(paths.events)) for f in files]
            _fsync_dir(paths.events / name)
            report["partitions"] += 1
            report["files_before"] += len(files)
            report["files_after"] += 1
            report["rows"] += table.num_rows
            report.setdefault("duplicates_removed", 0)
            report["duplicates_removed"] += before - table.num_rows
    from lakehouse.rollup import replace_files

    # Same events, new files: the rollup only needs its file registry updated (no recomputation).
    report["rollup_registry_swapped"] = replace_files(paths, replaced)
    if not report["rollup_registry_swapped"]:
        _refresh_rollup(paths)
    report["seconds"] = round(time.monotonic() - started, 2)
    return report
