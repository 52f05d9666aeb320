"""Reading the spool in batches: the mapped read of the native path takes exactly the bytes,
lines and offsets that the copying read takes (unaligned start offsets, a line longer than the
budget, a final file's unterminated tail, a half-written last line)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hooklake.paths import Paths
from ingest import native, reader
from ingest.reader import plan_files, read_batch

from ingest_testkit import append, cc, envelope_line, spool_path

TAIL = b'{"v":1,"unterminated'
LINES = [envelope_line(cc("Stop", note="x" * n), captured_ns=1_795_000_000_000_000_000 + n)
         for n in (0, 10, 5000, 70_000, 3, 9000)]


def write_spool(paths: Paths) -> dict[str, dict[str, int]]:
    """An idle file of an old hour ending in an unterminated line, and the current hour's file
    ending in a half-written one; returns a checkpoint that has taken the first line of each."""
    old = spool_path(paths, hour="2020010100")
    append(old, *LINES, TAIL)
    os.utime(old, (1_000_000, 1_000_000))
    current = spool_path(paths)
    append(current, *LINES, b'{"half')
    return {p.name: {"inode": p.stat().st_ino, "offset": len(LINES[0]), "lines": 1} for p in (old, current)}


def batches(paths: Paths, committed: dict[str, Any], budget: int, mapped: bool, count: Any) -> tuple[list, list]:
    files = plan_files(paths.spool, committed, 60, [])
    taken: list[tuple[Any, ...]] = []
    while chunks := read_batch(files, budget, count, mapped=mapped):
        assert len(taken) < 1000, "the reads make no progress"
        for c in chunks:
            assert mapped or isinstance(c.data, bytes)
            if mapped and budget == 1 << 20 and c.end_offset < c.file.size:  # all but a final file's tail
                assert isinstance(c.data, memoryview)
            taken.append((c.file.name, c.start_offset, c.start_line, bytes(c.data), c.end_offset, c.line_count))
    return taken, [(f.name, f.offset, f.lines) for f in files]


@pytest.mark.parametrize("budget", [1, 700, 20_000, 1 << 20])
@pytest.mark.parametrize("resume", [False, True])
def test_mapped_and_copied_reads_take_the_same_lines(paths: Paths, budget: int, resume: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAP_MIN_BYTES", 1)  # map these small files too
    committed = write_spool(paths) if resume else (write_spool(paths), {})[1]
    counters: list[Any] = [None]
    lib = native.load(paths.bin)
    if lib is not None:
        counters.append(native.Scanner(lib, __import__("ingest.redact").redact.Redactor()).count_lines)
    copied = batches(paths, committed, budget, False, None)
    for count in counters:
        assert batches(paths, committed, budget, True, count) == copied
    taken, ends = copied
    # everything but the half-written line was taken; the unterminated tail of the idle file too
    skip = len(LINES[0]) if resume else 0
    old, current = sorted({t[0] for t in taken})
    assert b"".join(t[3] for t in taken if t[0] == old) == (b"".join(LINES) + TAIL + b"\n")[skip:]
    assert b"".join(t[3] for t in taken if t[0] == current) == b"".join(LINES)[skip:]
    assert [e[1] for e in ends] == [sum(map(len, LINES)) + len(TAIL), sum(map(len, LINES))]


def test_mapped_bytes_stay_valid_after_the_file_is_removed(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAP_MIN_BYTES", 1)
    spool = spool_path(paths)
    append(spool, *LINES)
    files = plan_files(paths.spool, {}, 60, [])
    (chunk,) = read_batch(files, 1 << 20, None, mapped=True)
    assert isinstance(chunk.data, memoryview) and chunk.line_count == len(LINES)
    Path(spool).unlink()  # retired by another step: the mapping keeps the bytes
    assert bytes(chunk.data) == b"".join(LINES)


def test_a_file_shortened_after_planning_is_read_without_mapping(paths: Paths,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAP_MIN_BYTES", 1)
    spool = spool_path(paths)
    taken = {}
    for mapped in (False, True):
        spool.write_bytes(b"".join(LINES))
        files = plan_files(paths.spool, {}, 60, [])
        with open(spool, "r+b") as fh:
            fh.truncate(len(LINES[0]) + 10)
        taken[mapped] = [(bytes(c.data), c.end_offset, c.line_count, type(c.data))
                         for c in read_batch(files, 1 << 20, None, mapped=mapped)]
    assert taken[True] == taken[False] == [(LINES[0], len(LINES[0]), 1, bytes)]


def test_small_reads_are_copied_and_large_ones_mapped(paths: Paths) -> None:
    small = spool_path(paths, hour="2020010100")
    append(small, *LINES)
    large = spool_path(paths)
    big = envelope_line(cc("Stop", note="y" * reader.MAP_MIN_BYTES))
    append(large, big, *LINES)
    files = plan_files(paths.spool, {}, 60, [])
    chunks = read_batch(files, 64 << 20, None, mapped=True)
    assert [type(c.data) for c in chunks] == [bytes, memoryview]
    assert [bytes(c.data) for c in chunks] == [b"".join(LINES), big + b"".join(LINES)]
