"""The team lake on S3-compatible storage: concurrent uploads, compaction under readers,
failed uploads, credentials, and reading it back through ``lakehouse.connect()``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from remote_helpers import ACCESS_KEY, BUCKET, SECRET_KEY, S3Server, remote_event_ids, write_events

from hooklake.errors import HooklakeError
from hooklake.paths import Paths

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ROUNDS, PER_ROUND = 2, 24  # per machine: ingest runs, events spooled before each

WORKER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from remote_helpers import write_events
from ingest.compactor import run_ingest
home, tag, rounds, per_round = Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ids = []
for r in range(rounds):
    ids += write_events(home, per_round, f"{tag}-{r}")
    run_ingest()
print(json.dumps(ids))
"""


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HOOKLAKE_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _local_ids(paths: Paths) -> list[str]:
    import pyarrow.parquet as pq

    ids: list[str] = []
    for f in sorted(paths.events.rglob("*.parquet")):
        ids += pq.read_table(f, columns=["event_id"]).column("event_id").to_pylist()
    return ids


def _all_object_bytes(s3: S3Server) -> bytes:
    client = s3.client()
    blob = b""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            blob += obj["Key"].encode() + client.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return blob


def _tree_bytes(root: Path) -> bytes:
    blob = b""
    for p in root.rglob("*"):
        if p.is_file():
            blob += str(p).encode() + p.read_bytes()
    return blob


@pytest.mark.slow
def test_four_machines_ingest_while_compacting_and_reading(remote_lake: str, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from lakehouse.compact_remote import compact_remote

    homes = [tmp_path / f"machine-{i}" for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(HERE), str(h), f"m{i}", str(ROUNDS), str(PER_ROUND)],
                              env=_env(h), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, h in enumerate(homes)]

    problems: list[str] = []
    reads: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        seen: set[str] = set()
        while not stop.is_set():
            ids = remote_event_ids(remote_lake)
            counts = Counter(ids)
            doubled = [i for i, c in counts.items() if c > 1]
            if doubled:
                problems.append(f"a reader saw {len(doubled)} event(s) twice")
            lost = seen - set(ids)
            if lost:
                problems.append(f"a reader lost {len(lost)} event(s) it had seen before")
            seen |= set(ids)
            reads.append(len(ids))

    compactions = 0

    def compactor() -> None:
        nonlocal compactions
        while not stop.is_set():
            try:
                report = compact_remote(min_files=2)
                compactions += report["partitions"] > 0
            except HooklakeError as exc:  # another compactor won the generation: allowed
                assert "another compaction" in str(exc)
            time.sleep(0.2)

    threads = [threading.Thread(target=reader), threading.Thread(target=reader), threading.Thread(target=compactor)]
    for t in threads:
        t.start()
    written: list[str] = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=180)
            assert p.returncode == 0, err[-2000:]
            written += json.loads(out.strip().splitlines()[-1])
    finally:
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not problems, problems[:5]
    assert len(reads) >= 2
    assert len(written) == 4 * ROUNDS * PER_ROUND

    # every machine's files arrived under distinct names; compact what is left and read back
    from hooklake.cli import main

    assert main(["compact", "--json"]) == 0  # the CLI picks the remote compaction for an s3:// lake
    report = json.loads(capsys.readouterr().out)
    assert report["lake"] == remote_lake and report["files_after"] <= report["files_before"]
    ids = remote_event_ids(remote_lake)
    assert len(ids) == len(written)
    assert set(ids) == set(written)
    assert compactions + (report["partitions"] > 0) >= 1

    # garbage collection with no grace: old files go, the live set is untouched
    compact_remote(min_files=2, grace_s=0.0)
    assert sorted(remote_event_ids(remote_lake)) == sorted(written)

    # the whole lake through the DuckDB lakehouse (a local mirror of the live set)
    from lakehouse.connect import connect

    con = connect(refresh="off", learning=False)
    total, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM lake_events").fetchone()
    assert (total, distinct) == (len(written), len(written))
    assert con.execute("SELECT count(*) FROM execution_traces").fetchone()[0] == 4 * ROUNDS * PER_ROUND // 4  # one trace per 4 events


def test_failed_upload_midway_keeps_local_data_and_next_run_completes(
        remote_lake: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ingest.compactor import run_ingest
    from ingest.upload import publish, state_file
    from lakehouse import remote

    home = Path(os.environ["HOOKLAKE_HOME"])
    paths = Paths.resolve()
    # three local commits while the lake is still local: three files waiting to be published
    monkeypatch.delenv("HOOKLAKE_LAKE")
    written: list[str] = []
    for r in range(3):
        written += write_events(home, 8, f"batch{r}")
        run_ingest(paths)
    monkeypatch.setenv("HOOKLAKE_LAKE", remote_lake)
    assert len(list(paths.events.rglob("*.parquet"))) == 3

    class StopsMidway:
        """The real client; the server goes down after the first data file is stored."""

        def __init__(self) -> None:
            self.inner = remote.s3_client()
            self.uploads = 0

        def upload_file(self, *args, **kwargs):  # noqa: ANN002, ANN003
            self.uploads += 1
            if self.uploads == 2:
                s3_server.stop()
            return self.inner.upload_file(*args, **kwargs)

        def __getattr__(self, name):  # noqa: ANN001
            return getattr(self.inner, name)

    spool_before = sorted(p.name for p in paths.spool.glob("*"))
    try:
        with pytest.raises(HooklakeError) as info:
            publish(paths, client=StopsMidway())
    finally:
        s3_server.start()
    message = str(info.value)
    assert "next `hooklake ingest`" in message
    assert ACCESS_KEY not in message and SECRET_KEY not in message
    # local lake and spool untouched, the upload is pending
    assert sorted(_local_ids(paths)) == sorted(written)
    assert sorted(p.name for p in paths.spool.glob("*")) == spool_before
    state = json.loads(state_file(paths, remote_lake).read_text())
    assert state["pending"] is not None and not state["published"]
    # readers see nothing of the half-done upload
    assert remote_event_ids(remote_lake) == []

    # the next ingest (new events too) finishes the pending upload and publishes the new file
    written += write_events(home, 4, "after")
    result = subprocess.run([sys.executable, "-m", "hooklake", "ingest", "--json"], env=_env(home),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    ids = remote_event_ids(remote_lake)
    assert sorted(ids) == sorted(written)  # each event exactly once
    # no stray objects: the retry re-used the pending names
    loc = remote.parse_lake_uri(remote_lake)
    objects = remote.list_keys(s3_server.client(), loc, "events/")
    assert len(objects) == 4
    # a run with nothing new publishes nothing more
    assert publish(paths).commits == 0


def test_credentials_never_logged_or_written(remote_lake: str, s3_server: S3Server, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOOKLAKE_HOME"])
    write_events(home, 8, "creds")
    ok = subprocess.run([sys.executable, "-m", "hooklake", "ingest", "--json"], env=_env(home),
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
    # an unreachable endpoint: the error names the lake and the fix, never the keys
    write_events(home, 4, "creds-2")
    env = _env(home)
    env["HOOKLAKE_S3_ENDPOINT"] = "http://127.0.0.1:9"
    failed = subprocess.run([sys.executable, "-m", "hooklake", "ingest"], env=env,
                            capture_output=True, text=True, timeout=180)
    assert failed.returncode == 1
    assert remote_lake in failed.stderr and "Traceback" not in failed.stderr
    for text in (ok.stdout, ok.stderr, failed.stdout, failed.stderr):
        assert ACCESS_KEY not in text and SECRET_KEY not in text
    for blob in (_tree_bytes(home), _all_object_bytes(s3_server)):
        assert ACCESS_KEY.encode() not in blob and SECRET_KEY.encode() not in blob


def test_lake_uri_errors_are_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    from lakehouse import remote

    assert remote.parse_lake_uri("s3://team-lake/a/b/").key("events/x.parquet") == "a/b/events/x.parquet"
    assert remote.parse_lake_uri("s3a://team-lake").key("x") == "x"
    monkeypatch.setenv("HOOKLAKE_LAKE", "gs://bucket/lake")
    with pytest.raises(HooklakeError, match="s3://bucket/prefix"):
        remote.remote_location()
    monkeypatch.setenv("HOOKLAKE_LAKE", str(Path("/tmp") / "local-lake"))
    assert remote.remote_location() is None
