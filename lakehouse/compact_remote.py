"""Small-file compaction of a remote lake, safe against concurrent readers and uploaders.

Every machine's uploads add small files; this merges the files of each date partition into one
(rows sorted by correlation_id, event_time so lookups prune) and swaps the live set with ONE
object write: the next generation (see lakehouse.remote). Readers that resolved the previous
generation keep reading its files, which are deleted only after a grace period; uploads that
land while the compaction runs are commits it did not absorb, so they stay live. Two compactors
at once: the second one's conditional PUT of the same generation number fails and it removes
its merged files; nothing changes.
"""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import Paths
from lakehouse import remote


def compact_remote(paths: Paths | None = None, *, min_files: int = 2, grace_s: float = remote.DEFAULT_GRACE_S,
                   client: Any = None) -> dict[str, Any]:
    """Merge partitions with at least ``min_files`` live files; then collect garbage older than ``grace_s``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.monotonic()
    paths = paths or Paths.resolve()
    loc = remote.remote_location(paths)
    if loc is None:
        raise HooklakeError("the lake is local: use `hooklake compact` (set $HOOKLAKE_LAKE=s3://... for a remote lake)")
    client = client or remote.s3_client()
    garbage = collect_garbage(client, loc, grace_s)
    snap = remote.snapshot(client, loc)
    by_partition: dict[str, list[str]] = {}
    for rel in snap.files:
        if rel.startswith("events/"):
            by_partition.setdefault(rel.rsplit("/", 1)[0], []).append(rel)
    files = dict(snap.files)
    written: list[str] = []
    replaced: list[str] = []
    rows_total = 0
    for partition, rels in sorted(by_partition.items()):
        if len(rels) < min_files:
            continue
        tables = [pq.read_table(io.BytesIO(remote.get_bytes(client, loc, r))) for r in sorted(rels)]
        table = pa.concat_tables(tables, promote_options="default")
        sort_keys = [(c, "ascending") for c in ("correlation_id", "event_time") if c in table.column_names]
        if sort_keys:
            table = table.sort_by(sort_keys)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd", row_group_size=128_000)
        rel = f"{partition}/part-compact-{uuid.uuid4().hex[:16]}.parquet"
        remote.put_bytes(client, loc, rel, buf.getvalue())
        written.append(rel)
        for r in rels:
            files.pop(r)
        replaced.extend(rels)
        files[rel] = {"size": buf.tell(), "rows": table.num_rows}
        rows_total += table.num_rows
    report: dict[str, Any] = {"lake": loc.uri, "generation": snap.generation, "partitions": len(written),
                              "files_before": len(snap.files), "files_after": len(files), "rows": rows_total}
    if written:
        now = time.time()
        retired = [{"file": r, "at": now} for r in replaced]
        doc = {
            "generation": snap.generation + 1,
            "created_at": now,
            "files": {r: {k: v for k, v in m.items() if k != "commit"} for r, m in files.items()},
            # every commit seen is absorbed: its files are listed above (or were merged)
            "absorbed": sorted(set(snap.commits)),
            # entries older than the grace period were deleted by collect_garbage above
            "retired": retired + [r for r in snap.generation_doc.get("retired", []) if now - r["at"] < grace_s],
        }
        if not remote.put_json(client, loc, remote.generation_rel(snap.generation + 1), doc, if_absent=True):
            remote.delete_keys(client, loc, written)
            raise HooklakeError(f"{loc.uri}: another compaction committed generation {snap.generation + 1} "
                                "first; nothing was changed, run again")
        report["generation"] = snap.generation + 1
    report["garbage"] = garbage
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


def collect_garbage(client: Any, loc: remote.LakeLocation, grace_s: float) -> dict[str, int]:
    """Delete files retired, commit objects absorbed and generations superseded more than
    ``grace_s`` ago. Only what the newest generation itself no longer needs is removed."""
    number, gen = remote.latest_generation(client, loc)
    if number == 0:
        return {"files": 0, "commits": 0, "generations": 0}
    now = time.time()
    old_enough = now - float(gen.get("created_at", now)) >= grace_s
    live = set(gen.get("files", {}))
    files = [r["file"] for r in gen.get("retired", []) if now - r["at"] >= grace_s and r["file"] not in live]
    commits: list[str] = []
    generations: list[str] = []
    if old_enough:
        # Readers older than the grace period are gone: the newest generation is all anyone uses.
        commits = [remote.commit_rel(c) for c in gen.get("absorbed", [])]
        generations = [remote.generation_rel(n) for n in range(1, number)]
        generations = [g for g in generations if g in set(remote.list_keys(client, loc, remote.GENERATIONS))]
    remote.delete_keys(client, loc, files + commits + generations)
    return {"files": len(files), "commits": len(commits), "generations": len(generations)}
