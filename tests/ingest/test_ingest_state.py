"""The pending record and the checkpoint carry the same next-checkpoint JSON, serialised once."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.state import Checkpoint, StateStore


def test_pending_record_and_commit_with_the_checkpoint_text(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    checkpoint = Checkpoint(7, {"2026112710.h.jsonl": {"inode": 3, "offset": 99, "lines": 2}},
                            {"s-1": [2, "trace \"quoted\" \u00e9", 5], "s-2": [0, None, 1]}, "event-ids-00000007.npy")
    text = checkpoint.to_text()
    assert json.loads(text) == checkpoint.to_json()
    record = {"batch_id": "b", "base_generation": 6, "outputs": ["/lake/x.parquet"], "temps": [], "tmp_dir": "/t"}
    store.write_pending(record, text)
    pending = store.read_pending()
    assert pending == {**record, "next": checkpoint.to_json()}
    assert Checkpoint.from_json(pending["next"]) == checkpoint
    store.write_pending({}, text)
    assert store.read_pending() == {"next": checkpoint.to_json()}
    store.write_pending(record)
    assert store.read_pending() == record
    store.commit(checkpoint, text)
    assert store.load() == checkpoint
    store.commit(Checkpoint(8))
    assert store.load() == Checkpoint(8)
