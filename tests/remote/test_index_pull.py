"""The published pattern index travels through the team lake: a machine pulls a newer version
when it loads (``refresh_index``), keeps its own index when the store is unreachable, and never
confuses another machine's version with its own of the same name."""

from __future__ import annotations

import json
from pathlib import Path

from remote_helpers import S3Server

from hooklake.paths import Paths


def _version(folder: Path, run_id: str, built_at: str, payload: str) -> Path:
    """A stand-in index version folder (the files pull_index moves; their content is opaque to it)."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"learn_run_id": run_id, "built_at": built_at, "model": "m"}))
    (folder / "exemplars.faiss").write_text(payload)
    return folder


def _current(paths: Paths) -> tuple[str, str]:
    version = (paths.index / "CURRENT").read_text().strip()
    return version, (paths.index / "versions" / version / "exemplars.faiss").read_text()


def test_a_newer_published_index_is_pulled_once_and_a_dead_store_is_survived(
        remote_lake: str, s3_server: S3Server, tmp_path: Path) -> None:
    from lakehouse import remote

    loc = remote.parse_lake_uri(remote_lake)
    client = remote.s3_client()
    learner = tmp_path / "learner"
    v1 = _version(learner / "v000001", "run-a", "2026-01-01T00:00:00+00:00", "first")
    remote.publish_index(client, loc, v1, "v000001")

    laptop = Paths.resolve(tmp_path / "laptop")
    # the laptop learned locally once: its own v000001, an older build than the team's
    _version(laptop.index / "versions" / "v000001", "run-local", "2025-12-31T00:00:00+00:00", "mine")
    (laptop.index / "CURRENT").write_text("v000001\n")

    pulled = remote.refresh_index(laptop, min_interval_s=60)
    assert pulled == "v000001-run-a"  # not mixed up with the laptop's own v000001
    assert _current(laptop) == ("v000001-run-a", "first")
    assert (laptop.index / "versions" / "v000001" / "exemplars.faiss").read_text() == "mine"
    assert remote.refresh_index(laptop, min_interval_s=0) is None  # current already

    v2 = _version(learner / "v000002", "run-b", "2026-01-02T00:00:00+00:00", "second")
    remote.publish_index(client, loc, v2, "v000002")
    assert remote.refresh_index(laptop, min_interval_s=60) is None  # checked a moment ago: throttled
    assert remote.refresh_index(laptop, min_interval_s=0) == "v000002"
    assert _current(laptop) == ("v000002", "second")

    # an older build published later (a stale learner) does not replace a newer local index
    v0 = _version(learner / "v000003", "run-old", "2025-06-01T00:00:00+00:00", "stale")
    remote.publish_index(client, loc, v0, "v000003")
    assert remote.refresh_index(laptop, min_interval_s=0) is None
    assert _current(laptop) == ("v000002", "second")

    v4 = _version(learner / "v000004", "run-c", "2026-01-03T00:00:00+00:00", "third")
    remote.publish_index(client, loc, v4, "v000004")
    s3_server.stop()
    try:
        assert remote.refresh_index(laptop, min_interval_s=0) is None  # logged, never raised
        assert _current(laptop) == ("v000002", "second")
        assert not list((laptop.index / "versions").glob(".*tmp"))
    finally:
        s3_server.start()
    assert remote.refresh_index(laptop, min_interval_s=0) == "v000004"
    assert _current(laptop) == ("v000004", "third")


def test_a_lake_folder_publishes_and_pulls_the_same_way(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from lakehouse import remote

    lake = tmp_path / "shared-lake"
    monkeypatch.setenv("HOOKLAKE_LAKE", str(lake))
    v1 = _version(tmp_path / "learner" / "v000007", "run-x", "2026-01-01T00:00:00+00:00", "x")
    rels = remote.publish_index_local(lake, v1, "v000007")
    assert sorted(rels) == ["index/versions/v000007/exemplars.faiss", "index/versions/v000007/manifest.json"]
    assert remote.published_index(Paths.resolve(tmp_path / "any"))["learn_run_id"] == "run-x"
    desk = Paths.resolve(tmp_path / "desk")
    assert remote.refresh_index(desk, min_interval_s=0) == "v000007"
    assert _current(desk) == ("v000007", "x")
    monkeypatch.delenv("HOOKLAKE_LAKE")
    assert remote.refresh_index(Paths.resolve(tmp_path / "solo"), min_interval_s=0) is None  # own lake: no-op
