"""Publish the local lake's new Parquet files to the team's remote lake, exactly once.

With ``HOOKLAKE_LAKE=s3://bucket/prefix`` each machine still ingests its spool into its own local
lake (``Paths.lake``: fast, crash-safe, works offline); after every local commit this module copies
the files the remote lake does not have yet:

1. under an exclusive lock (``state/remote-upload.lock``), list local event files not yet published;
2. record a *pending* upload in ``state/remote-upload-<lake>.json`` before touching the bucket:
   a commit id and the remote name of each file (``part-<host>-<commit>-<n>.parquet``: unique
   across machines, so concurrent uploaders never write the same key);
3. PUT each data file, then the commit object ``_hooklake/commits/<commit>.json`` naming them —
   only from that moment are the files part of the lake (see lakehouse.remote);
4. move the pending entry to *published*.

A failure anywhere (server gone, credentials expired) leaves the local lake and spool as they are
and the pending record in place; the next run re-sends the same files under the same names and
the same commit object, so nothing is published twice and nothing is lost.

Files written by local compaction (``part-compact-*``) only repeat rows already published from
their inputs, so they are not sent; the remote lake is compacted by ``lakehouse.compact_remote``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import Paths

LOCK_FILE = "remote-upload.lock"


@dataclass
class UploadReport:
    lake: str
    commits: int = 0
    files: int = 0
    bytes: int = 0
    rows: int = 0
    resumed: bool = False
    duration_s: float = 0.0
    skipped_compacted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_file(paths: Paths, lake_uri: str) -> Path:
    digest = hashlib.sha1(lake_uri.encode()).hexdigest()[:12]
    return paths.state / f"remote-upload-{digest}.json"


def _read_state(path: Path, lake_uri: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"lake": lake_uri, "published": {}, "pending": None}
    except ValueError as exc:
        raise HooklakeError(f"{path}: unreadable upload checkpoint ({exc}); move it away to re-publish "
                            "(the remote lake de-duplicates by event_id)") from None
    data.setdefault("published", {})
    data.setdefault("pending", None)
    return data


def _write_state(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> "_Lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


def _host_tag() -> str:
    host = socket.gethostname().split(".")[0] or "host"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in host)[:40]


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def publish(paths: Paths | None = None, *, client: Any = None) -> UploadReport | None:
    """Upload every local event file the remote lake does not have; None when the lake is local."""
    from lakehouse import remote

    paths = paths or Paths.resolve()
    loc = remote.remote_location(paths)
    if loc is None:
        return None
    started = time.perf_counter()
    report = UploadReport(lake=loc.uri)
    client = client or remote.s3_client()
    path = state_file(paths, loc.uri)
    with _Lock(paths.state / LOCK_FILE):
        state = _read_state(path, loc.uri)
        # first finish an upload a failed run left pending, then publish what is new
        while True:
            pending = state["pending"]
            if pending is None:
                pending = _plan(paths, state, report)
                if pending is None:
                    break
                state["pending"] = pending
                _write_state(path, state)
            else:
                report.resumed = True
            _send(paths, loc, client, pending, report)
            for local_rel, item in pending["files"].items():
                state["published"][local_rel] = {"remote": item["remote"], "commit": pending["commit"],
                                                 "size": item["size"]}
            state["pending"] = None
            _forget_removed(paths, state)
            _write_state(path, state)
            report.commits += 1
    report.duration_s = round(time.perf_counter() - started, 3)
    return report


def _send(paths: Paths, loc: Any, client: Any, pending: dict[str, Any], report: UploadReport) -> None:
    """PUT the data files, then the commit object that makes them part of the lake."""
    from lakehouse import remote

    try:
        files = {}
        for local_rel, item in sorted(pending["files"].items()):
            source = paths.events / local_rel
            if not source.exists():
                continue  # removed locally (retention) after it was planned: publish the rest
            client.upload_file(str(source), loc.bucket, loc.key(item["remote"]))
            files[item["remote"]] = {"size": item["size"], "rows": item["rows"]}
            report.files += 1
            report.bytes += int(item["size"])
            report.rows += int(item["rows"])
        doc = {"commit": pending["commit"], "host": pending["host"], "created_at": pending["created_at"],
               "files": files}
        remote.put_json(client, loc, remote.commit_rel(pending["commit"]), doc)
    except Exception as exc:
        raise remote.storage_error(
            loc, f"publishing {len(pending['files'])} file(s) (local ingest is committed; the next "
                 "`hooklake ingest` finishes this upload)", exc) from None


def _plan(paths: Paths, state: dict[str, Any], report: UploadReport) -> dict[str, Any] | None:
    from lakehouse.connect import list_event_files

    published = state["published"]
    new = []
    for rel, (size, _mtime) in sorted(list_event_files(paths).items()):
        if rel in published:
            continue
        if Path(rel).name.startswith("part-compact-"):
            report.skipped_compacted.append(rel)
            continue
        new.append((rel, size))
    if not new:
        return None
    commit = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{_host_tag()}-{uuid.uuid4().hex[:12]}"
    files = {}
    for n, (rel, size) in enumerate(new):
        partition = Path(rel).parent.as_posix()
        files[rel] = {"remote": f"events/{partition}/part-{_host_tag()}-{commit[-12:]}-{n:05d}.parquet",
                      "size": size, "rows": _parquet_rows(paths.events / rel)}
    return {"commit": commit, "host": _host_tag(), "created_at": time.time(), "files": files}


def _forget_removed(paths: Paths, state: dict[str, Any]) -> None:
    """Drop checkpoint entries of local files that no longer exist (retention): keeps it small."""
    published = state["published"]
    for rel in [r for r in published if not (paths.events / r).exists()]:
        del published[rel]


def publish_after_ingest(paths: Paths) -> UploadReport | None:
    """The ingest hook: publish when the lake is remote; a no-op (no import of boto3) otherwise."""
    lake_uri = paths.lake_uri
    if "://" not in lake_uri or lake_uri.startswith("file://"):
        return None
    return publish(paths)
