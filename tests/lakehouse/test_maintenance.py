"""Retention (archive, then delete, never both lost) and compaction (rows preserved, sorted)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lakehouse_testkit import Spool, post, pre, prompt, stop

import lakehouse
from hooklake.errors import HooklakeError
from hooklake.paths import Paths
from lakehouse import maintenance
from lakehouse.connect import list_event_files

DAY_NS = 86_400 * 1_000_000_000
T0 = 1_790_000_000_000_000_000  # 2026-09-21


def build_days(paths: Paths, days: int = 3, batches: int = 2) -> None:
    """Sessions on several days, each day ingested in several batches (several small files)."""
    for b in range(batches):
        sp = Spool(T0 + b * 3600 * 1_000_000_000)
        for d in range(days):
            sp.t = T0 + d * DAY_NS + b * 3600 * 1_000_000_000
            s, p = f"s-{d}-{b}", f"p-{d}-{b}"
            sp.add(prompt(s, p, f"day {d} batch {b}"))
            sp.add(pre(s, p, "Bash", f"tu-{d}-{b}"))
            sp.add(post(s, p, "Bash", f"tu-{d}-{b}"))
            sp.add(stop(s, p))
        sp.ingest(paths)


def event_ids(paths: Paths) -> list[str]:
    con = lakehouse.connect(paths.home, refresh="off", learning=False)
    return sorted(r[0] for r in con.execute("SELECT event_id FROM events").fetchall())


def test_retention_archives_then_deletes(paths: Paths, tmp_path: Path) -> None:
    build_days(paths)
    before = event_ids(paths)
    today = dt.date(2026, 9, 23)  # partitions 09-21, 09-22 older than 1 day; 09-23 kept
    dry = maintenance.apply_retention(86400, archive=tmp_path / "arch", dry_run=True, paths=paths, today=today)
    assert dry["partitions"] == ["date=2026-09-21"] and dry["rows"] == 8 and not (tmp_path / "arch").exists()
    report = maintenance.apply_retention(2 * 86400 - 1, archive=tmp_path / "arch", paths=paths, today=today)
    assert report["partitions"] == ["date=2026-09-21"]
    assert not (paths.events / "date=2026-09-21").exists()
    archived = sorted((tmp_path / "arch" / "events" / "date=2026-09-21").glob("*.parquet"))
    assert archived and all(pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD" for f in archived)
    arch_ids = sorted(pq.read_table(archived).column("event_id").to_pylist())
    after = event_ids(paths)
    assert sorted(arch_ids + after) == before
    con = lakehouse.connect(paths.home, learning=False)
    assert sorted(r[0] for r in con.execute("SELECT correlation_id FROM execution_traces").fetchall()) == [
        "p-1-0", "p-1-1", "p-2-0", "p-2-1"]


def test_retention_failure_keeps_the_lake_file(paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_days(paths, days=1, batches=1)
    files_before = list_event_files(paths)

    def broken(table, final):  # the archive write fails (disk full, ...)
        raise OSError("No space left on device")

    monkeypatch.setattr(maintenance, "_write_verified", broken)
    with pytest.raises(OSError):
        maintenance.apply_retention(0, archive=tmp_path / "arch", paths=paths, today=dt.date(2026, 10, 1))
    assert list_event_files(paths) == files_before  # nothing deleted
    monkeypatch.undo()
    maintenance.apply_retention(0, archive=tmp_path / "arch", paths=paths, today=dt.date(2026, 10, 1))
    assert list_event_files(paths) == {}
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in (tmp_path / "arch").rglob("*.parquet")) == 4


def test_compaction_preserves_rows_and_sorts(paths: Paths) -> None:
    build_days(paths, days=2, batches=3)
    # a duplicated file (same event ids) must not double anything
    some = sorted((paths.events / "date=2026-09-21").glob("*.parquet"))[0]
    (some.parent / ("part-copy-" + some.name.split("part-", 1)[1])).write_bytes(some.read_bytes())
    before = event_ids(paths)
    con = lakehouse.connect(paths.home, learning=False)
    traces_before = con.execute("SELECT * EXCLUDE (session_key) FROM execution_traces ORDER BY ALL").fetchall()
    report = maintenance.compact_lake(paths=paths)
    assert report["partitions"] == 2 and report["files_after"] == 2 and report["duplicates_removed"] == 4
    assert report["rollup_registry_swapped"] is True  # the rollup stays current without recomputation
    from lakehouse.rollup import is_current

    assert is_current(paths)
    for folder in paths.events.iterdir():
        files = list(folder.glob("*.parquet"))
        assert len(files) == 1
        cids = pq.read_table(files[0], columns=["correlation_id"]).column(0).to_pylist()
        assert cids == sorted(cids)
    assert event_ids(paths) == before
    con = lakehouse.connect(paths.home, learning=False)
    assert con.execute("SELECT * EXCLUDE (session_key) FROM execution_traces ORDER BY ALL").fetchall() == traces_before


def test_maintenance_runs_are_serialised(paths: Paths) -> None:
    with maintenance.maintenance_lock(paths):
        with pytest.raises(HooklakeError, match="another retention/compaction run"):
            maintenance.compact_lake(paths=paths)
