"""Reading the spool in bounded batches of complete lines.

Producers append to the spool files while ingest reads them, so a file's last line may be
half-written: a batch only takes bytes up to the last newline, and the rest waits for the next
run. A file that is no longer the current hour's and has not been written for
``spool_retire_after_s`` is *final*: a trailing line without newline will never be completed,
so it is taken (and quarantined if it is not valid) and the file can be retired.

The native ingest path maps the bytes it reads (``mapped=True``) instead of copying them: the
scanner and the Parquet writer then read the page cache in place, which saves a copy of the
whole batch and the zeroing of as much fresh memory. Spool files are only ever appended to (and
removed once ingested), so the mapped bytes never change under the reader. (Should someone
truncate a spool file while ingest is reading it, the process stops with SIGBUS, like a
``kill -9``: nothing is committed and the next run starts from the checkpoint.)
"""

from __future__ import annotations

import mmap
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks import envelope as env_format


@dataclass
class SpoolFile:
    """One spool file as planned at the start of a run."""

    name: str
    path: Path
    inode: int
    size: int
    """Size when planned; bytes appended later wait for the next run."""
    mtime: float
    final: bool
    """Not written any more: its end counts as the end of the last line."""
    offset: int
    """Next byte to read (starts at the committed checkpoint offset)."""
    lines: int
    """Lines before ``offset``."""

    @property
    def remaining(self) -> int:
        return max(self.size - self.offset, 0)


@dataclass
class Chunk:
    """Complete lines read from one spool file for one batch."""

    file: SpoolFile
    start_offset: int
    start_line: int
    data: bytes | memoryview
    """Bytes of complete lines, each ending with a newline (one may have been added for a final
    file); a read-only ``memoryview`` of the mapped file when read with ``mapped=True``."""
    end_offset: int
    """File offset after the last complete line taken."""
    line_count: int = 0


def hour_stamp(ts: float | None = None) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(time.time() if ts is None else ts))


def plan_files(spool_dir: Path, committed: dict[str, dict[str, int]], retire_after_s: float,
               warnings: list[str]) -> list[SpoolFile]:
    """The spool files in name order (hour stamp first), positioned at their committed offsets."""
    if not spool_dir.is_dir():
        return []
    now = time.time()
    current_hour = hour_stamp(now)
    files: list[SpoolFile] = []
    for path in sorted(spool_dir.glob("*" + env_format.SPOOL_SUFFIX)):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if not path.is_file():
            continue
        stamp = path.name[:10]
        old_hour = not (stamp.isdigit() and stamp >= current_hour)
        final = old_hour and (now - st.st_mtime) >= retire_after_s
        entry = committed.get(path.name)
        offset, lines = 0, 0
        if entry is not None and entry.get("inode") == st.st_ino:
            offset, lines = int(entry.get("offset", 0)), int(entry.get("lines", 0))
            if offset > st.st_size:
                warnings.append(
                    f"{path}: file is shorter than the committed offset ({st.st_size} < {offset} bytes); "
                    "it was truncated or replaced, reading it again from the start "
                    "(events already in the lake are dropped as duplicates)"
                )
                offset, lines = 0, 0
        files.append(SpoolFile(path.name, path, st.st_ino, st.st_size, st.st_mtime, final, offset, lines))
    return files


MAP_MIN_BYTES = 1 << 20
"""Smaller reads are copied: a mapping keeps a file descriptor open while its bytes are in use,
and a batch of many small spool files must not run out of descriptors."""


def _mapped_lines(fh: Any, offset: int, want: int) -> memoryview | None:
    """The complete lines of the ``want`` bytes at ``offset`` of the open file, mapped read-only;
    ``None`` when they cannot be mapped or hold no newline (the caller then reads them)."""
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    try:
        if os.fstat(fh.fileno()).st_size < offset + want:
            return None  # shortened since planning: the copying read handles it
        mapped = mmap.mmap(fh.fileno(), offset - start + want, access=mmap.ACCESS_READ, offset=start)
    except (OSError, ValueError, OverflowError):
        return None
    skip = offset - start
    last = mapped.rfind(b"\n", skip, skip + want)
    if last < 0:
        mapped.close()
        return None
    # The memoryview keeps the mapping alive (and unmapped once nothing refers to it).
    return memoryview(mapped)[skip:last + 1]


def read_batch(files: list[SpoolFile], budget: int, count_lines: Any = None, mapped: bool = False) -> list[Chunk]:
    """Read up to ``budget`` bytes of complete lines, advancing each file's ``offset``;
    ``count_lines(data)`` (default ``data.count(b"\\n")``) counts the newlines of a chunk;
    ``mapped``: map the bytes instead of copying them where possible (``Chunk.data`` is then a
    ``memoryview``).

    A single line longer than the budget is still read whole (a batch always makes progress).
    """
    chunks: list[Chunk] = []
    left = budget
    for spool in files:
        if left <= 0:
            break
        if spool.remaining <= 0:
            continue
        try:
            fh = open(spool.path, "rb")
        except FileNotFoundError:
            spool.size = spool.offset
            continue
        with fh:
            try:
                if os.fstat(fh.fileno()).st_ino != spool.inode:
                    spool.size = spool.offset  # replaced since planning: next run
                    continue
            except OSError:
                continue
            want = min(left, spool.remaining)
            view = _mapped_lines(fh, spool.offset, want) if mapped and want >= MAP_MIN_BYTES else None
            if view is not None and (len(view) == want or not spool.final or want < spool.remaining):
                # (a final file's unterminated tail is read below: it gets a newline added)
                count = count_lines(view) if count_lines is not None else view.tobytes().count(b"\n")
                chunks.append(Chunk(spool, spool.offset, spool.lines, view, spool.offset + len(view), count))
                left -= len(view)
                spool.offset += len(view)
                spool.lines += count
                continue
            view = None
            fh.seek(spool.offset)
            data = fh.read(want)
            cut = data.rfind(b"\n") + 1
            while cut == 0 and len(data) < spool.remaining:
                # one line longer than the budget: keep reading until its newline
                more = fh.read(min(max(len(data), 1 << 20), spool.remaining - len(data)))
                if not more:
                    break
                idx = more.find(b"\n")
                data += more
                if idx >= 0:
                    cut = len(data) - len(more) + idx + 1
            if len(data) >= spool.remaining and spool.final and cut < len(data):
                # a final file's unterminated tail: take it as a line of its own
                body = data + b"\n"
                end = spool.offset + len(data)
            else:
                body = data[:cut]
                end = spool.offset + cut
        if not body:
            continue
        count = count_lines(body) if count_lines is not None else body.count(b"\n")
        chunks.append(Chunk(spool, spool.offset, spool.lines, body, end, count))
        left -= len(body)
        spool.offset = end
        spool.lines += count
    return chunks
