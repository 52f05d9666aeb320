"""File-level facts about a hooklake home for the Health page: spool, quarantine, capture errors.

Read-only and cheap (stat calls and bounded reads), so the page can call it on every rerun.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hooklake.paths import Paths


@dataclass(frozen=True)
class FolderStats:
    files: int = 0
    bytes: int = 0
    newest: datetime | None = None
    oldest: datetime | None = None


@dataclass(frozen=True)
class HomeInfo:
    spool: FolderStats
    lake_events: FolderStats
    quarantine: FolderStats
    quarantined_lines: int
    capture_error_lines: int
    capture_error_tail: list[str] = field(default_factory=list)
    pending_spool_bytes: int = 0
    """Spool bytes written after the newest lake file: captured but probably not ingested yet."""
    kill_switch: bool = False

    @property
    def ingest_lag_s(self) -> float | None:
        """Seconds between the newest spool write and the newest lake file, when the spool is ahead."""
        if self.spool.newest is None:
            return None
        if self.lake_events.newest is None:
            return (datetime.now(timezone.utc) - self.spool.newest).total_seconds()
        return max(0.0, (self.spool.newest - self.lake_events.newest).total_seconds())


def _folder(root: Path, suffix: str = "") -> tuple[FolderStats, list[tuple[Path, os.stat_result]]]:
    entries: list[tuple[Path, os.stat_result]] = []
    if root.exists():
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if suffix and not name.endswith(suffix):
                    continue
                path = Path(dirpath, name)
                try:
                    entries.append((path, path.stat()))
                except OSError:
                    continue
    if not entries:
        return FolderStats(), entries
    mtimes = [s.st_mtime for _, s in entries]
    return (
        FolderStats(
            files=len(entries),
            bytes=sum(s.st_size for _, s in entries),
            newest=datetime.fromtimestamp(max(mtimes), tz=timezone.utc),
            oldest=datetime.fromtimestamp(min(mtimes), tz=timezone.utc),
        ),
        entries,
    )


def _count_lines(paths: list[Path], limit_bytes: int = 64 * 1024 * 1024) -> int:
    total = 0
    budget = limit_bytes
    for path in paths:
        try:
            with open(path, "rb") as fh:
                while budget > 0:
                    chunk = fh.read(min(1 << 20, budget))
                    if not chunk:
                        break
                    budget -= len(chunk)
                    total += chunk.count(b"\n")
        except OSError:
            continue
    return total


def _tail(path: Path, lines: int = 20, max_bytes: int = 64 * 1024) -> list[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in data.splitlines() if line.strip()][-lines:]


def home_info(paths: Paths | None = None) -> HomeInfo:
    p = paths if paths is not None else Paths.resolve()
    spool, spool_entries = _folder(p.spool, ".jsonl")
    lake, _ = _folder(p.events, ".parquet")
    quarantine, q_entries = _folder(p.quarantine)
    pending = 0
    if lake.newest is not None:
        cutoff = lake.newest.timestamp()
        pending = sum(s.st_size for _, s in spool_entries if s.st_mtime > cutoff)
    else:
        pending = spool.bytes
    errors = p.capture_errors
    return HomeInfo(
        spool=spool,
        lake_events=lake,
        quarantine=quarantine,
        quarantined_lines=_count_lines([path for path, _ in q_entries]),
        capture_error_lines=_count_lines([errors]) if errors.exists() else 0,
        capture_error_tail=_tail(errors) if errors.exists() else [],
        pending_spool_bytes=pending,
        kill_switch=p.kill_switch.exists() or os.environ.get("HOOKLAKE_DISABLED", "") not in ("", "0"),
    )


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
