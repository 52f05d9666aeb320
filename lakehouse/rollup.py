"""The rollup: an incrementally maintained DuckDB file of the expensive views.

Why: tool-call pairing, per-trace facts and the other per-session views need a full pass over
the lake (seconds at 10M events). Their rows only depend on the events of one session, so they
are computed once per session and kept in ``<state>/lakehouse.duckdb`` (a real DuckDB file), one
table per view in ``lakehouse.connect.MATERIALISED``, each with a ``session_key`` column.

Incremental refresh: the rollup records every lake file it has seen (path, size, mtime) and the
session keys each file holds. A refresh finds the files added, removed or changed since, takes
the union of their session keys (mapping SDK events that carry only a correlation id to that
trace's session), loads exactly those sessions' events from the lake, recomputes the same view
SQL over them and swaps their rows in the tables. Sessions are processed in chunks so a first
build of a large lake stays within memory. A changed view definition forces a full rebuild.

Concurrency: readers ATTACH the file read-only. A refresh works on a copy
(``lakehouse.duckdb.tmp-<pid>``) and renames it over the original when done, so a reader never
sees a half-refreshed rollup and never blocks a refresh; a lock file serialises refreshes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hooklake.paths import Paths
from lakehouse import trace_docs

ROLLUP_FILE = "lakehouse.duckdb"
LOCK_FILE = "lakehouse.lock"
ROLLUP_FORMAT = "2"
CHUNK_EVENTS = 2_000_000
"""Events per recomputation chunk (bounds memory of a first build)."""
ROW_GROUP_SIZE = 16_384
"""Rows per row group of the stored tables: small groups let "latest N" queries (zonemap pruning
on the time-clustered tables) read a few thousand rows instead of 122,880."""
RECENT_FILE = "lakehouse.recent.json"
RECENT_ROWS = 1000
"""Top-level traces kept in the recent-traces file (see store_recent)."""
RECENT_COLUMNS = (
    # shown by `hooklake traces` (lakehouse.cli.LIST_FIELDS)
    "correlation_id", "session_id", "prompt_text", "started_at", "completed_at", "tool_calls", "tool_failures",
    "subagents", "agents", "source", "is_subagent", "agent_type", "parent_id", "error_message",
    # read by lakehouse.status.derive_trace
    "last_event_at", "has_stop", "has_stop_failure", "stop_error", "tool_interrupts", "is_sdk_only", "moved_on",
    "timeout_errors", "endpoint_errors", "sdk_errors", "hook_failures", "quality_gate_failures",
    "hook_max_duration_ms", "intelligence_failures", "feedback_verdict",
)
"""trace_facts columns kept in the recent-traces file."""
PAYLOAD_KINDS = ("tool_start", "tool_end", "tool_failure", "stop_failure", "session_start", "session_end",
                 "hook_execution", "intelligence", "feedback", "endpoint_call", "routing_decision")
"""Event kinds whose ``payload`` some view reads (json_extract); the rollup loads the payload of
these only. A view reading the payload of another kind must add it here (the rollup-vs-direct
test compares both on every view)."""


def memory_limit() -> str:
    """DuckDB memory limit of a refresh: a sixth of the machine's memory, 1-8 GB (the rest
    spills to a temporary folder under the state folder)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return f"{max(1 << 30, min(8 << 30, total // 6)) >> 20}MB"


def _attach_sql(db: Path, alias: str = "rollup") -> str:
    """ATTACH a rollup file for writing. Every writer must pass the row group size: a checkpoint
    of a database attached with the default size merges the small row groups back."""
    return f"ATTACH '{str(db).replace(chr(39), chr(39) * 2)}' AS {alias} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})"


def recluster(paths: Paths | None = None) -> bool:
    """Rewrite the rollup file in the current layout (tables clustered by time in small row
    groups, indexes) without recomputing anything; False when there is no rollup or another
    refresh holds the lock. A full build already writes this layout."""
    import duckdb

    paths = paths if paths is not None else Paths.resolve()
    db = rollup_path(paths)
    if not db.exists():
        return False
    with _lock(paths, blocking=False) as got:
        if not got:
            return False
        work = db.with_name(f"{ROLLUP_FILE}.tmp-{os.getpid()}")
        spill = paths.state / f"{ROLLUP_FILE}.spill-{os.getpid()}"
        try:
            con = duckdb.connect(":memory:", config={"memory_limit": memory_limit(), "temp_directory": str(spill),
                                                     "preserve_insertion_order": False})
            con.execute(f"ATTACH '{str(db).replace(chr(39), chr(39) * 2)}' AS scratch (READ_ONLY)")
            con.execute(_attach_sql(work))
            from lakehouse.connect import MATERIALISED

            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'scratch' ORDER BY 1").fetchall()]
            for name in tables:
                if name == trace_docs.TABLE:
                    continue  # rebuilt below: its spans follow the row order of the rewritten tables
                order = f" ORDER BY {_time_column(con, name)} NULLS FIRST" if name in MATERIALISED else ""
                con.execute(f"CREATE TABLE rollup.{name} AS SELECT * FROM scratch.{name}{order}")
            _create_indexes(con)
            _build_trace_docs(con)
            con.execute("DETACH rollup")
            con.close()
            os.replace(work, db)
            return True
        finally:
            with contextlib.suppress(OSError):
                work.unlink()
            shutil.rmtree(spill, ignore_errors=True)


def rollup_path(paths: Paths) -> Path:
    return paths.state / ROLLUP_FILE


def fingerprint() -> str:
    """Changes whenever a view definition, the payload pruning or the [success] settings change:
    the rollup is then rebuilt."""
    from lakehouse.connect import VIEWS_DIR, view_files

    from hooklake.settings import load_settings

    digest = hashlib.sha256(ROLLUP_FORMAT.encode())
    digest.update(repr(PAYLOAD_KINDS).encode())
    # stored execution_traces depend on the [success] thresholds
    digest.update(repr(load_settings().success).encode())
    for path in view_files(VIEWS_DIR):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def lake_signature(files: dict[str, tuple[int, int]]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        size, mtime = files[rel]
        digest.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


@contextlib.contextmanager
def _lock(paths: Paths, blocking: bool, timeout_s: float = 600.0) -> Iterator[bool]:
    paths.state.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.state / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    got = False
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
                break
            except BlockingIOError:
                if not blocking or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        yield got
    finally:
        if got:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_meta(db: Path) -> dict[str, str]:
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return {}
    try:
        return dict(con.execute("SELECT key, value FROM rollup_meta").fetchall())
    except duckdb.Error:
        return {}
    finally:
        con.close()


def is_current(paths: Paths, files: dict[str, tuple[int, int]] | None = None) -> bool:
    from lakehouse.connect import list_event_files

    db = rollup_path(paths)
    if not db.exists():
        return False
    if files is None:
        files = list_event_files(paths)
    meta = _read_meta(db)
    return meta.get("fingerprint") == fingerprint() and meta.get("lake_signature") == lake_signature(files)


def attach_if_current(con: Any, paths: Paths, files: dict[str, tuple[int, int]], refresh: bool) -> bool:
    """ATTACH the rollup as ``rollup`` when it matches ``files`` (refreshing it first if allowed)."""
    import duckdb

    db = rollup_path(paths)
    want = (fingerprint(), lake_signature(files))
    for attempt in range(2):
        if db.exists():
            try:
                con.execute(f"ATTACH '{str(db).replace(chr(39), chr(39) * 2)}' AS rollup (READ_ONLY)")
            except duckdb.Error:
                return False
            meta = dict(con.execute("SELECT key, value FROM rollup.rollup_meta").fetchall())
            if (meta.get("fingerprint"), meta.get("lake_signature")) == want and not summaries_due(meta):
                return True
            con.execute("DETACH rollup")
        if attempt == 0 and refresh:
            try:
                done = refresh_rollup(paths, blocking=True)
            except Exception:  # the cache must never break reading: fall back to the lake
                return False
            if not done:
                return False
            continue
        return False
    return False


def _file_list_sql(root: Path, rels: list[str]) -> str:
    items = ", ".join("'" + str(root / r).replace("'", "''") + "'" for r in rels)
    return f"[{items}]"


def refresh_rollup(paths: Paths | None = None, *, full: bool = False, blocking: bool = True,
                   progress: bool = False) -> bool:
    """Bring the rollup up to date with the lake. False when another refresh holds the lock."""
    paths = paths if paths is not None else Paths.resolve()
    with _lock(paths, blocking) as got:
        if not got:
            return False
        _refresh_locked(paths, full=full, progress=progress)
        return True


def _refresh_locked(paths: Paths, *, full: bool, progress: bool) -> None:
    import duckdb

    from lakehouse.connect import MATERIALISED, STAGES, apply_views, create_settings, list_event_files

    files = list_event_files(paths)
    db = rollup_path(paths)
    for stale in [*paths.state.glob(ROLLUP_FILE + ".tmp-*"), *paths.state.glob(ROLLUP_FILE + ".scratch-*")]:
        with contextlib.suppress(OSError):
            stale.unlink()
    for stale in paths.state.glob(ROLLUP_FILE + ".spill-*"):
        shutil.rmtree(stale, ignore_errors=True)
    meta = _read_meta(db) if db.exists() else {}
    fp = fingerprint()
    signature = lake_signature(files)
    if (not full and meta.get("fingerprint") == fp and meta.get("lake_signature") == signature
            and not summaries_due(meta) and not summaries_missing(meta)):
        if trace_docs.needs_build(meta):
            _add_trace_docs(paths, progress=progress)
        if not recent_path(paths).exists():
            store_recent(paths)
        return
    rebuild = full or meta.get("fingerprint") != fp
    docs_live = not rebuild and trace_docs.stored_layout(meta) is not None
    work = db.with_name(f"{ROLLUP_FILE}.tmp-{os.getpid()}")
    if not rebuild:
        shutil.copyfile(db, work)
    try:
        spill = paths.state / f"{ROLLUP_FILE}.spill-{os.getpid()}"
        con = duckdb.connect(":memory:", config={"memory_limit": memory_limit(),
                                                 "temp_directory": str(spill),
                                                 "preserve_insertion_order": False})
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute(_attach_sql(work))
        root = paths.events
        if rebuild:
            known: dict[str, tuple[int, int]] = {}
            con.execute("CREATE TABLE rollup.rollup_meta (key VARCHAR, value VARCHAR)")
            con.execute("CREATE TABLE rollup.rollup_files (path VARCHAR, size BIGINT, mtime_ns BIGINT)")
            con.execute("CREATE TABLE rollup.rollup_file_keys (path VARCHAR, session_key VARCHAR)")
        else:
            known = {p: (s, m) for p, s, m in con.execute("SELECT path, size, mtime_ns FROM rollup.rollup_files").fetchall()}
        added = sorted(p for p, sig in files.items() if known.get(p) != sig)
        removed = sorted(p for p, sig in known.items() if files.get(p) != sig)

        # --- session keys touched --------------------------------------------------------------
        con.execute("CREATE TEMP TABLE touched (session_key VARCHAR, n BIGINT)")
        if removed:
            con.execute("CREATE TEMP TABLE removed_paths (path VARCHAR)")
            con.executemany("INSERT INTO removed_paths VALUES (?)", [[p] for p in removed])
            con.execute(
                "INSERT INTO touched SELECT DISTINCT k.session_key, 0 FROM rollup.rollup_file_keys k "
                "JOIN removed_paths r USING (path)"
            )
        has_tables = not rebuild
        if added:
            added_sql = _file_list_sql(root, added)
            mapping = (
                "SELECT event_correlation_id AS cid, any_value(session_key) AS sk FROM rollup.trace_facts "
                "GROUP BY 1" if has_tables else "SELECT NULL::VARCHAR AS cid, NULL::VARCHAR AS sk WHERE false"
            )
            con.execute(
                f"""
                CREATE TEMP TABLE added_rows AS
                SELECT filename AS path, session_id, correlation_id, count(*) AS n
                FROM read_parquet({added_sql}, filename = true, union_by_name = true)
                GROUP BY ALL
                """
            )
            con.execute(
                f"""
                CREATE TEMP TABLE added_keys AS
                WITH inner_map AS (
                    SELECT correlation_id AS cid, max(session_id) AS sk FROM added_rows
                    WHERE session_id IS NOT NULL AND correlation_id IS NOT NULL GROUP BY 1
                ), old_map AS ({mapping})
                SELECT a.path, coalesce(a.session_id, im.sk, om.sk, a.correlation_id, '') AS session_key, sum(a.n) AS n
                FROM added_rows a
                LEFT JOIN inner_map im ON a.session_id IS NULL AND im.cid = a.correlation_id
                LEFT JOIN old_map om ON a.session_id IS NULL AND om.cid = a.correlation_id
                GROUP BY ALL
                """
            )
            con.execute("INSERT INTO touched SELECT session_key, sum(n) FROM added_keys GROUP BY 1")
        # --- recompute the touched sessions chunk by chunk --------------------------------------
        # Chunks are assigned in SQL (running sum of the sessions' event counts). The touched
        # sessions' events are read from the Parquet files once, into a scratch DuckDB file
        # (compressed, spills nothing to memory), each row tagged with its chunk; every chunk then
        # reads its rows from there.
        con.execute(
            f"""
            CREATE TEMP TABLE chunk_of AS
            WITH k AS (SELECT session_key, sum(n)::BIGINT AS n FROM touched GROUP BY 1)
            SELECT session_key,
                   (coalesce(sum(n) OVER (ORDER BY session_key ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                    // {int(CHUNK_EVENTS)})::INTEGER AS chunk
            FROM k
            """
        )
        n_keys, n_chunks = con.execute("SELECT count(*), coalesce(max(chunk) + 1, 0) FROM chunk_of").fetchone()
        if docs_live and n_chunks:
            # traces whose documents change: those with rows in a touched session, before and after
            con.execute(f"CREATE TEMP TABLE doc_scope AS {_touched_traces_sql()}")
        all_files = sorted(files)
        created = has_tables
        scratch = db.with_name(f"{ROLLUP_FILE}.scratch-{os.getpid()}")
        target = "rollup"
        if n_chunks:
            con.execute(f"ATTACH '{str(scratch).replace(chr(39), chr(39) * 2)}' AS scratch")
            if rebuild:
                target = "scratch"  # written sorted into the rollup at the end
            if all_files:
                started = time.monotonic()
                lake_sql = _file_list_sql(root, all_files)
                read = f"read_parquet({lake_sql}, hive_partitioning = true, union_by_name = true)"
                # session of each correlation id that also has events without a session (SDK)
                con.execute(
                    f"""
                    CREATE TEMP TABLE corr AS
                    WITH orphans AS (
                        SELECT DISTINCT correlation_id FROM {read}
                        WHERE session_id IS NULL AND correlation_id IS NOT NULL
                    )
                    SELECT correlation_id AS cid, max(session_id) AS sk
                    FROM {read} SEMI JOIN orphans USING (correlation_id)
                    WHERE session_id IS NOT NULL
                    GROUP BY 1
                    """
                )
                con.execute(
                    f"""
                    CREATE TABLE scratch.src AS
                    SELECT s.* REPLACE (CASE WHEN s.event_kind IN {PAYLOAD_KINDS!r} THEN s.payload END AS payload),
                           ck.chunk AS _chunk
                    FROM {read} s
                    LEFT JOIN corr c ON s.session_id IS NULL AND c.cid = s.correlation_id
                    JOIN chunk_of ck ON ck.session_key = coalesce(s.session_id, c.sk, s.correlation_id, '')
                    """
                )
                if progress:
                    print(f"rollup: read {n_keys} sessions' events ({time.monotonic() - started:.1f}s)", flush=True)
        for chunk_no in range(n_chunks):
            started = time.monotonic()
            con.execute("DROP TABLE IF EXISTS chunk_keys")
            con.execute(f"CREATE TEMP TABLE chunk_keys AS SELECT session_key FROM chunk_of WHERE chunk = {chunk_no}")
            _drop(con, "lake_events")
            if all_files:
                con.execute(f"CREATE TEMP TABLE lake_events AS SELECT * EXCLUDE (_chunk) FROM scratch.src "
                            f"WHERE _chunk = {chunk_no}")
            else:
                from ingest.schema import arrow_schema

                from lakehouse.connect import empty_table_sql

                con.execute(empty_table_sql("lake_events", arrow_schema(), ', "date" DATE').replace(
                    "CREATE OR REPLACE TABLE", "CREATE TEMP TABLE"))
            create_settings(con)
            apply_views(con, stage=frozenset(STAGES))
            con.execute("BEGIN")
            for name in MATERIALISED:
                if not created:
                    con.execute(f"CREATE TABLE {target}.{name} AS SELECT * FROM {name} LIMIT 0")
                else:
                    con.execute(
                        f"DELETE FROM {target}.{name} WHERE session_key IN (SELECT session_key FROM chunk_keys)"
                    )
                con.execute(f"INSERT INTO {target}.{name} SELECT * FROM {name}")
            con.execute("COMMIT")
            created = True
            if progress:
                print(f"rollup: chunk {chunk_no + 1}/{n_chunks} ({time.monotonic() - started:.1f}s)", flush=True)
        _drop(con, "lake_events")
        if target == "scratch":
            # Store every table clustered by time: "latest N rows" queries then prune row groups
            # (zonemaps); point lookups by correlation id use the ART indexes created below.
            for name in MATERIALISED:
                con.execute(f"CREATE TABLE rollup.{name} AS SELECT * FROM scratch.{name} "
                            f"ORDER BY {_time_column(con, name)} NULLS FIRST")
        if not created:
            # empty lake on a first build: create the empty tables
            from ingest.schema import arrow_schema

            from lakehouse.connect import empty_table_sql

            con.execute(empty_table_sql("lake_events", arrow_schema(), ', "date" DATE'))
            create_settings(con)
            apply_views(con)
            for name in MATERIALISED:
                con.execute(f"CREATE TABLE rollup.{name} AS SELECT * FROM {name} LIMIT 0")
        if docs_live and n_chunks:
            con.execute(f"INSERT INTO doc_scope {_touched_traces_sql()}")
        if n_chunks:
            con.execute("DETACH scratch")
            for leftover in (scratch, Path(str(scratch) + ".wal")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        # --- bookkeeping ------------------------------------------------------------------------
        con.execute("BEGIN")
        if removed:
            con.execute("DELETE FROM rollup.rollup_files WHERE path IN (SELECT path FROM removed_paths)")
            con.execute("DELETE FROM rollup.rollup_file_keys WHERE path IN (SELECT path FROM removed_paths)")
        if added:
            con.executemany(
                "INSERT INTO rollup.rollup_files VALUES (?, ?, ?)",
                [[p, files[p][0], files[p][1]] for p in added],
            )
            prefix = str(root) + os.sep
            con.execute(
                "INSERT INTO rollup.rollup_file_keys SELECT DISTINCT "
                f"CASE WHEN starts_with(path, ?) THEN substr(path, {len(prefix) + 1}) ELSE path END, session_key "
                "FROM added_keys",
                [prefix],
            )
        con.execute("DELETE FROM rollup.rollup_meta WHERE key IN ('fingerprint', 'lake_signature', 'refreshed_at')")
        con.executemany(
            "INSERT INTO rollup.rollup_meta VALUES (?, ?)",
            [["fingerprint", fingerprint()], ["lake_signature", signature],
             ["refreshed_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]],
        )
        con.execute("COMMIT")
        if rebuild:
            _create_indexes(con)
        if not docs_live:
            _build_trace_docs(con, progress=progress)
        elif n_chunks:
            _build_trace_docs(con, scope_table="doc_scope", progress=progress)
        con.execute("DETACH rollup")
        con.close()
        _store_summaries(work)
        os.replace(work, db)
        store_recent(paths)
    finally:
        with contextlib.suppress(OSError):
            work.unlink()
        with contextlib.suppress(OSError):
            Path(str(work) + ".wal").unlink()
        shutil.rmtree(paths.state / f"{ROLLUP_FILE}.spill-{os.getpid()}", ignore_errors=True)


def recent_path(paths: Paths) -> Path:
    return paths.state / RECENT_FILE


def store_recent(paths: Paths) -> None:
    """Write the recent-traces file: the trace_facts rows of the latest RECENT_ROWS top-level
    traces as plain JSON, stamped with the rollup's fingerprint and lake signature.

    ``hooklake traces`` answers from it with the standard library only (no DuckDB import) while
    it matches the lake; status and score are derived at read time (lakehouse.status)."""
    import datetime as dt
    import decimal
    import json

    import duckdb

    db = rollup_path(paths)
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        meta = dict(con.execute("SELECT key, value FROM rollup_meta").fetchall())
        total = con.execute("SELECT count(*) FROM trace_facts WHERE NOT is_subagent").fetchone()[0]
        have = {r[0] for r in con.execute("DESCRIBE trace_facts").fetchall()}
        cols = ", ".join(f'"{c}"' for c in RECENT_COLUMNS if c in have)
        cur = con.execute(f"SELECT {cols} FROM trace_facts WHERE NOT is_subagent "
                          f"ORDER BY started_at DESC NULLS LAST LIMIT {RECENT_ROWS}")
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        types = {r[0]: r[1] for r in con.execute("DESCRIBE trace_facts").fetchall()}
    finally:
        con.close()
    from hooklake.settings import load_settings

    success = load_settings().success

    def default(obj: Any) -> Any:
        if isinstance(obj, (dt.datetime, dt.date)):
            return obj.isoformat()
        if isinstance(obj, decimal.Decimal):
            return float(obj)
        return str(obj)

    doc = {
        "fingerprint": meta.get("fingerprint"),
        "lake_signature": meta.get("lake_signature"),
        "complete": total <= RECENT_ROWS,
        "settings": {
            "max_duration_ms": float(success.max_duration_ms),
            "max_hook_duration_ms": float(success.max_hook_duration_ms),
            "success_threshold": float(success.success_threshold),
            "in_progress_timeout_s": float(success.in_progress_timeout_s),
        },
        "columns": names,
        "timestamps": [n for n in names if types.get(n, "").startswith("TIMESTAMP")],
        "rows": [list(r) for r in rows],
    }
    target = recent_path(paths)
    tmp = target.with_name(f"{RECENT_FILE}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, default=default), encoding="utf-8")
    os.replace(tmp, target)


def load_recent(paths: Paths) -> dict[str, Any] | None:
    """The recent-traces file when it matches the current lake and view definitions, else None.

    Returns ``{"complete": bool, "settings": {...}, "rows": [...]}`` with rows latest first, each
    a dict of the RECENT_COLUMNS of trace_facts (timestamps as datetimes); ``complete`` means
    every top-level trace of the lake is in ``rows``. Rows are decoded on first access."""
    import datetime as dt
    import json

    from lakehouse.connect import list_event_files

    try:
        doc = json.loads(recent_path(paths).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = list_event_files(paths)
    if not files or doc.get("lake_signature") != lake_signature(files) or doc.get("fingerprint") != fingerprint():
        return None
    names = doc["columns"]
    stamps = [names.index(n) for n in doc["timestamps"]]

    def decode(raw: list[Any]) -> dict[str, Any]:
        for i in stamps:
            if raw[i] is not None:
                raw[i] = dt.datetime.fromisoformat(raw[i])
        return dict(zip(names, raw))

    return {"complete": bool(doc["complete"]), "settings": doc["settings"], "rows": _LazyRows(doc["rows"], decode)}


class _LazyRows:
    """A read-only sequence that decodes each row the first time it is read."""

    def __init__(self, raw: list[list[Any]], decode: Any) -> None:
        self._raw = raw
        self._decode = decode
        self._done: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = range(len(self._raw))[index]
        row = self._done.get(index)
        if row is None:
            row = self._done[index] = self._decode(self._raw[index])
        return row

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(len(self._raw)):
            yield self[index]


def summaries_due(meta: dict[str, str]) -> bool:
    """True when an open trace has passed the idle timeout since the summaries were stored."""
    due = meta.get("summaries_due_at")
    if not due:
        return False
    return time.time() >= float(due)


SUMMARIES_META_KEY = "summaries"
"""rollup_meta key: the SUMMARIES stored, comma-separated."""


def summaries_missing(meta: dict[str, str]) -> bool:
    """True when the rollup stores another set of SUMMARIES than this code (a rollup from an
    earlier version): the next refresh stores them, without recomputing any per-session table.
    Until then a view with no stored table is computed at query time."""
    from lakehouse.connect import SUMMARIES

    return meta.get(SUMMARIES_META_KEY) != ",".join(SUMMARIES)


def _store_summaries(db: Path) -> None:
    """Recompute the SUMMARIES tables from the stored per-session tables, and note when an open
    trace will pass the idle timeout (the summaries must be recomputed then). A table with a time
    column is stored in time order, so "latest N" reads prune row groups."""
    import duckdb

    from lakehouse.connect import SUMMARIES, bind_to_rollup, create_settings

    spill = db.with_name(f"{ROLLUP_FILE}.spill-{os.getpid()}")
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit(), "temp_directory": str(spill)})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute(_attach_sql(db))
        create_settings(con)
        from ingest.schema import arrow_schema

        from lakehouse.connect import empty_table_sql

        con.execute(empty_table_sql("lake_events", arrow_schema(), ', "date" DATE'))
        for name in SUMMARIES:
            con.execute(f"DROP TABLE IF EXISTS rollup.summary_{name}")
        bind_to_rollup(con)
        con.execute("BEGIN")
        for name in SUMMARIES:
            columns = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}
            time_column = next((c for c in TIME_COLUMNS if c in columns), None)
            order = f" ORDER BY {time_column} NULLS FIRST" if time_column else ""
            con.execute(f"CREATE TABLE rollup.summary_{name} AS SELECT * FROM {name}{order}")
        due = con.execute(
            "SELECT epoch(min(last_event_at)) + (SELECT in_progress_timeout_s FROM lakehouse_settings) "
            "FROM execution_traces WHERE status = 'in_progress'").fetchone()[0]
        con.execute("DELETE FROM rollup.rollup_meta WHERE key IN ('summaries_due_at', ?)", [SUMMARIES_META_KEY])
        con.execute("INSERT INTO rollup.rollup_meta VALUES (?, ?)", [SUMMARIES_META_KEY, ",".join(SUMMARIES)])
        if due is not None:
            con.execute("INSERT INTO rollup.rollup_meta VALUES ('summaries_due_at', ?)", [str(float(due))])
        con.execute("COMMIT")
        con.execute("DETACH rollup")
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


TIME_COLUMNS = ("started_at", "created_at", "occurred_at", "first_event_at", "last_event_at")


def _time_column(con: Any, name: str) -> str:
    """The column a stored table is clustered by (its time column; else the session key)."""
    cols = [r[0] for r in con.execute(f"DESCRIBE scratch.{name}").fetchall()]
    for col in TIME_COLUMNS:
        if col in cols:
            return col
    return "session_key"


def _drop(con: Any, name: str) -> None:
    row = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_catalog <> 'rollup'",
        [name],
    ).fetchone()
    if row is None:
        return
    con.execute(f"DROP {'VIEW' if row[0] == 'VIEW' else 'TABLE'} {name}")


def _create_indexes(con: Any) -> None:
    """ART indexes for the point lookups of trace assembly (maintained by later refreshes)."""
    for table, column in (
        ("trace_facts", "correlation_id"),
        ("trace_facts", "root_id"),
        ("trace_facts", "triggered_by_correlation_id"),
        ("tool_calls_base", "correlation_id"),
        ("hook_executions", "correlation_id"),
        ("endpoint_calls", "correlation_id"),
        ("routing_logged", "correlation_id"),
        ("execution_traces", "correlation_id"),
        ("error_events", "correlation_id"),
    ):
        con.execute(f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON rollup.{table} ({column})")
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'rollup' AND table_name = ?",
                   [trace_docs.TABLE]).fetchone()[0]:
        con.execute(f"CREATE INDEX IF NOT EXISTS idx_{trace_docs.TABLE}_correlation_id "
                    f"ON rollup.{trace_docs.TABLE} (correlation_id)")


def _touched_traces_sql() -> str:
    """Correlation ids with a row in a touched session (``chunk_of``) in a table documents read."""
    tables = [trace_docs.FACTS_TABLE, *(table for _, table, _, _ in trace_docs.PARTS)]
    return " UNION ".join(f"SELECT correlation_id FROM rollup.{t} WHERE session_key IN "
                          "(SELECT session_key FROM chunk_of)" for t in tables)


def _build_trace_docs(con: Any, *, scope_table: str | None = None, progress: bool = False) -> None:
    """``trace_docs.build`` on the attached ``rollup``; on a DuckDB error the documents are dropped
    (trace assembly then reads the tables) and the next refresh builds them again."""
    import duckdb

    started = time.monotonic()
    try:
        trace_docs.build(con, "rollup", scope_table=scope_table)
    except duckdb.Error as exc:
        import warnings

        trace_docs.drop(con, "rollup")
        warnings.warn(f"rollup: trace documents not built ({exc}); trace assembly reads the tables",
                      RuntimeWarning, stacklevel=2)
        return
    if progress:
        what = "updated" if scope_table else "built"
        print(f"rollup: trace documents {what} ({time.monotonic() - started:.1f}s)", flush=True)


def _add_trace_docs(paths: Paths, *, progress: bool = False) -> None:
    """Give a current rollup built before ``trace_docs`` existed (or with an older layout) its trace
    documents, from its own tables: no view is recomputed. Works on a copy, like a refresh.
    Called with the refresh lock held."""
    import duckdb

    db = rollup_path(paths)
    work = db.with_name(f"{ROLLUP_FILE}.tmp-{os.getpid()}")
    spill = paths.state / f"{ROLLUP_FILE}.spill-{os.getpid()}"
    shutil.copyfile(db, work)
    try:
        con = duckdb.connect(":memory:", config={"memory_limit": memory_limit(), "temp_directory": str(spill),
                                                 "preserve_insertion_order": False})
        con.execute("SET enable_progress_bar = false")
        con.execute(_attach_sql(work))
        _build_trace_docs(con, progress=progress)
        con.execute("DETACH rollup")
        con.close()
        os.replace(work, db)
    finally:
        with contextlib.suppress(OSError):
            work.unlink()
        shutil.rmtree(spill, ignore_errors=True)


def replace_files(paths: Paths, replaced: dict[str, list[str]]) -> bool:
    """Tell the rollup that lake files were rewritten without changing their events (compaction).

    ``replaced`` maps each new file (path relative to the events folder) to the files it replaces.
    When the rollup was current before the rewrite, only its file registry changes (no session is
    recomputed) and True is returned; otherwise nothing is done (the next refresh recomputes).
    """
    import duckdb

    from lakehouse.connect import list_event_files

    db = rollup_path(paths)
    if not replaced or not db.exists():
        return False
    with _lock(paths, blocking=True) as got:
        if not got:
            return False
        files = list_event_files(paths)
        meta = _read_meta(db)
        if meta.get("fingerprint") != fingerprint():
            return False
        work = db.with_name(f"{ROLLUP_FILE}.tmp-{os.getpid()}")
        shutil.copyfile(db, work)
        try:
            con = duckdb.connect(":memory:")
            con.execute(_attach_sql(work))
            con.execute("USE rollup")
            known = {p: (s, m) for p, s, m in con.execute("SELECT path, size, mtime_ns FROM rollup_files").fetchall()}
            old_all = [o for olds in replaced.values() for o in olds]
            if any(o not in known for o in old_all):
                con.close()
                return False
            expected = {p: v for p, v in known.items() if p not in set(old_all)}
            for new in replaced:
                if new not in files:
                    con.close()
                    return False
                expected[new] = files[new]
            if expected != files:  # something else changed too: leave it to a normal refresh
                con.close()
                return False
            con.execute("BEGIN")
            for new, olds in replaced.items():
                marks = ", ".join("?" for _ in olds)
                con.execute(
                    f"INSERT INTO rollup_file_keys SELECT DISTINCT ?, session_key FROM rollup_file_keys "
                    f"WHERE path IN ({marks})", [new, *olds])
                con.execute(f"DELETE FROM rollup_file_keys WHERE path IN ({marks})", olds)
                con.execute(f"DELETE FROM rollup_files WHERE path IN ({marks})", olds)
                con.execute("INSERT INTO rollup_files VALUES (?, ?, ?)", [new, *files[new]])
            con.execute("UPDATE rollup_meta SET value = ? WHERE key = 'lake_signature'", [lake_signature(files)])
            con.execute("COMMIT")
            con.close()
            os.replace(work, db)
            store_recent(paths)
            return True
        finally:
            with contextlib.suppress(OSError):
                work.unlink()
