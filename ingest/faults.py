"""Fault injection for crash-safety tests: named points in the ingest commit protocol.

``HOOKLAKE_INGEST_CRASH_AT=<point>`` kills the process (``os._exit``, like ``kill -9``: no
cleanup, no flush) when ingest reaches that point. ``HOOKLAKE_INGEST_FAIL_AT=<point>:<ERRNO>``
makes the write at that point fail with that OS error (``ENOSPC`` = disk full, ``EROFS`` =
read-only file system) so the error handling can be tested without a full disk. Both are read
at the moment the point is reached and cost one dictionary lookup otherwise.
"""

from __future__ import annotations

import errno
import os

CRASH_ENV = "HOOKLAKE_INGEST_CRASH_AT"
FAIL_ENV = "HOOKLAKE_INGEST_FAIL_AT"

#: The points, in the order a batch reaches them.
CRASH_POINTS: tuple[str, ...] = (
    "after_pending",  # pending record written, no lake file yet
    "during_parquet",  # first temp Parquet file written, not renamed
    "between_renames",  # first lake file renamed into place, others not
    "after_parquet",  # every lake file renamed, checkpoint not committed
    "after_commit",  # checkpoint committed, pending record not yet removed
    "before_retire",  # all batches committed, spool files not yet removed
)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def fail_point(name: str) -> None:
    spec = os.environ.get(FAIL_ENV)
    if not spec:
        return
    point, _, code = spec.partition(":")
    if point != name:
        return
    number = getattr(errno, code or "EIO", errno.EIO)
    raise OSError(number, os.strerror(number) + " (injected)")
