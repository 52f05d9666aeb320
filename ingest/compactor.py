"""``hooklake ingest``: spool -> Parquet lake, exactly once.

Each batch (at most ``IngestSettings.batch_bytes`` of complete spool lines) is normalised by the
native scanner (:mod:`ingest.native`, C compiled on first use; the payload is sliced from the
spool bytes and written with pyarrow) or, without a C compiler, by the DuckDB path
(:mod:`ingest.vectorized`); either way the exact Python path (:mod:`ingest.normalize`) takes the
few lines that need it (possible secrets, anything unusual). The batch is then de-duplicated by
event id, given correlation ids in session order (numpy on the native path, DuckDB on the other
one, the same rules), written as zstd
Parquet per event date (``<lake>/events/date=YYYY-MM-DD/part-<host>-<batch>[-<n>].parquet``; a
large date is split into files written in parallel) and committed in the checkpoint; the commit
protocol is described in :mod:`ingest.state`. Rejected lines go to
``<quarantine>/quarantine-<batch>.jsonl`` with the reason, the spool file, byte offset, line
number and raw bytes, as part of the same batch.
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import socket
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import Paths
from ingest import faults
from ingest.normalize import PRE_COLUMNS, Rejected, parse_envelope, pre_row, raw_b64
from ingest.reader import Chunk, SpoolFile, plan_files, read_batch
from ingest.redact import Redactor
from ingest.state import Checkpoint, IngestLock, StateStore, fsync_dir

SESSION_STATE_KEEP_US = 90 * 24 * 3600 * 1_000_000
"""Sessions idle this long are forgotten (only matters for old Claude Code without prompt_id)."""

QUARANTINE_PREFIX = "quarantine-"

NATIVE_MAX_CHUNK = (1 << 31) - (1 << 20)
"""Arrow string views address their buffers with 32-bit offsets: larger chunks take the DuckDB path."""
NATIVE_WRITERS = 2
"""A large partition is written as this many Parquet files, in parallel threads."""
NATIVE_SPLIT_ROWS = 20_000
NATIVE_PIECES = 4
"""A large chunk is scanned in this many pieces (see ``_batch_native``)..."""
NATIVE_PIECE_MIN_BYTES = 8 << 20
"""...each of at least this many bytes."""
PARQUET_ROW_GROUP = 122_880
"""Rows per row group (DuckDB's default, so files from both paths read alike)."""

_UNSET: Any = object()


@dataclass
class IngestReport:
    """What one ``hooklake ingest`` run did."""

    events_read: int = 0
    """Non-blank spool lines read (= written + quarantined + duplicates)."""
    events_written: int = 0
    """Rows added to the lake."""
    quarantined: int = 0
    """Lines moved to the quarantine (with reason and raw bytes)."""
    redacted: int = 0
    """Secrets replaced by ``[REDACTED]``."""
    redacted_events: int = 0
    """Rows with at least one replacement."""
    duplicates: int = 0
    """Events dropped because their event_id was already in this run or the recent history."""
    warnings: list[str] = field(default_factory=list)
    """Things that did not stop ingest but deserve a look (missing session ids, field types, ...)."""
    files: int = 0
    """Spool files read from."""
    bytes: int = 0
    """Spool bytes consumed."""
    duration_s: float = 0.0
    events_per_s: float = 0.0
    batches: int = 0
    parquet_files: int = 0
    retired_files: int = 0
    """Fully ingested, idle spool files removed."""
    quarantine_files: list[str] = field(default_factory=list)
    lake: str = ""
    phase_s: dict[str, float] = field(default_factory=dict)
    """Seconds spent per phase (read, prefilter, sql_parse, python_path, sql_finalize, write_commit)."""
    phase_cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds (all threads) per phase: comparable on a busy machine."""
    engine: str = ""
    """``native`` (the C scanner of :mod:`ingest.native`) or ``duckdb`` (no C compiler, disabled,
    or extra redaction patterns configured); empty when there was nothing to ingest."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", socket.gethostname() or "host")[:64] or "host"


def _load_settings(paths: Paths) -> Any:
    from hooklake.settings import SettingsError, load_settings

    try:
        return load_settings(paths.config)
    except SettingsError as exc:
        raise HooklakeError(str(exc)) from None


def _ensure_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HooklakeError(f"cannot create the {what} folder {path}: {exc.strerror or exc}") from None


def run_ingest(paths: Paths | None = None, progress: bool = False, *, wait_s: float | None = None) -> IngestReport:
    """Ingest everything currently in the spool; safe to run at any time, from several processes."""
    started = time.perf_counter()
    paths = paths if paths is not None else Paths.resolve()
    settings = _load_settings(paths)
    redactor = Redactor.from_settings(settings.redaction)
    report = IngestReport(lake=str(paths.lake))
    _ensure_dir(paths.state, "state")
    lock_wait = settings.ingest.lock_wait_s if wait_s is None else wait_s
    with IngestLock(paths.state, lock_wait):
        job = _IngestJob(paths, settings, redactor, report)
        job.recover()
        # The batches create few Python objects that could form cycles, but a full collection
        # walks every object of the process (the imported libraries): pause it meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            job.run(progress)
        finally:
            if collecting:
                gc.enable()
        report.phase_s = {k: round(v, 3) for k, v in job.timings.items()}
        report.phase_cpu_s = {k: round(v, 3) for k, v in job.cpu_timings.items()}
    from ingest.upload import publish_after_ingest  # a team lake (s3://...): publish the new files

    publish_after_ingest(paths)
    report.duration_s = round(time.perf_counter() - started, 3)
    if report.duration_s > 0:
        report.events_per_s = round(report.events_read / report.duration_s, 1)
    return report


class _IngestJob:
    def __init__(self, paths: Paths, settings: Any, redactor: Redactor, report: IngestReport) -> None:
        self.paths = paths
        self.settings = settings
        self.redactor = redactor
        self.report = report
        self.store = StateStore(paths.state)
        self.host = _host_tag()
        self._con: Any = None
        self._prefilter: str | None = redactor.prefilter_regex()
        self._prefilter_literals: list[str] | None = redactor.prefilter_literals()
        self._bad_field_counts: dict[tuple[str, str], int] = {}
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}
        self._mark = time.perf_counter()
        self._cpu_mark = time.process_time()
        self._missing_session = 0
        self._scanner: Any = _UNSET

    # --- crash recovery ------------------------------------------------------------------

    def recover(self) -> None:
        pending = self.store.read_pending()
        if pending is None:
            return
        checkpoint = self.store.load()
        batch = pending.get("batch_id", "?")
        outputs = [Path(p) for p in pending.get("outputs", [])]
        next_generation = int(pending.get("next", {}).get("generation", -1))
        if checkpoint.generation >= next_generation:
            pass  # committed; only the cleanup was interrupted
        elif outputs and all(p.exists() for p in outputs):
            self.store.commit(Checkpoint.from_json(pending["next"]))
            self.report.warnings.append(
                f"completed batch {batch} left by an interrupted ingest ({len(outputs)} files already written)"
            )
        else:
            for path in outputs:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
            self.report.warnings.append(
                f"rolled back batch {batch} of an interrupted ingest; its spool lines are read again"
            )
        for tmp in pending.get("temps", []):
            try:
                Path(tmp).unlink()
            except FileNotFoundError:
                pass
        if pending.get("tmp_dir"):
            shutil.rmtree(pending["tmp_dir"], ignore_errors=True)
        self.store.clear_pending()
        current = self.store.load()
        self.store.remove_unreferenced_history({current.history_file} if current.history_file else set())

    # --- main loop -----------------------------------------------------------------------

    def run(self, progress: bool) -> None:
        checkpoint = self.store.load()
        history = self.store.load_history(checkpoint)
        files = plan_files(self.paths.spool, checkpoint.files, self.settings.ingest.spool_retire_after_s,
                           self.report.warnings)
        total = sum(f.remaining for f in files)
        if total == 0:
            self._retire(files, checkpoint)
            self._finish_warnings()
            return
        bar = None
        if progress and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=total, unit="B", unit_scale=True, desc="ingest", file=sys.stderr, leave=False)
        touched: set[str] = set()
        try:
            while True:
                scanner = self._native_scanner()
                chunks = read_batch(files, max(int(self.settings.ingest.batch_bytes), 1),
                                    scanner.count_lines if scanner is not None else None,
                                    mapped=scanner is not None)
                if not chunks:
                    break
                for chunk in chunks:
                    touched.add(chunk.file.name)
                consumed = sum(c.end_offset - c.start_offset for c in chunks)
                checkpoint, history = self._batch(chunks, files, checkpoint, history)
                self.report.bytes += consumed
                self.report.batches += 1
                if bar is not None:
                    bar.update(consumed)
        finally:
            if bar is not None:
                bar.close()
            if self._con is not None:
                self._con.close()
            if self._scanner is not _UNSET and self._scanner is not None:
                self._scanner.close()
        self.report.files = len(touched)
        self._retire(files, checkpoint)
        self._finish_warnings()

    def _finish_warnings(self) -> None:
        if self._missing_session:
            self.report.warnings.append(
                f"{self._missing_session} Claude Code events without session_id (ingested with a null session)"
            )
        for (event, name), count in sorted(self._bad_field_counts.items()):
            self.report.warnings.append(
                f"{count} {event or 'unnamed'} events: field '{name}' does not have the type the schema "
                "declares (column left null, value kept in payload)"
            )

    # --- one batch -----------------------------------------------------------------------

    def _lap(self, phase: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - self._mark
        self.cpu_timings[phase] = self.cpu_timings.get(phase, 0.0) + cpu - self._cpu_mark
        self._mark, self._cpu_mark = now, cpu

    def _connection(self) -> Any:
        if self._con is None:
            import duckdb

            self._con = duckdb.connect()
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute("SET enable_progress_bar = false")
        return self._con

    def _batch(self, chunks: list[Chunk], files: list[SpoolFile], checkpoint: Checkpoint,
               history: Any) -> tuple[Checkpoint, Any]:
        scanner = self._native_scanner()
        if scanner is not None and all(len(c.data) < NATIVE_MAX_CHUNK for c in chunks):
            self.report.engine = "native"
            return self._batch_native(scanner, chunks, files, checkpoint, history)
        self.report.engine = "duckdb"
        for chunk in chunks:
            if not isinstance(chunk.data, bytes):  # mapped by read_batch: the DuckDB path takes bytes
                chunk.data = bytes(chunk.data)
        return self._batch_sql(chunks, files, checkpoint, history)

    def _native_scanner(self) -> Any:
        """The C scanner for this run, or ``None`` (no compiler, disabled, or extra redaction
        patterns, which only the regular-expression prefilter of the DuckDB path can apply)."""
        if self._scanner is _UNSET:
            self._scanner = None
            if not self.redactor.extra_patterns:
                from ingest import native

                lib = native.load(self.paths.bin)
                if lib is not None:
                    self._scanner = native.Scanner(lib, self.redactor)
        return self._scanner

    def _batch_native(self, scanner: Any, chunks: list[Chunk], files: list[SpoolFile], checkpoint: Checkpoint,
                      history: Any) -> tuple[Checkpoint, Any]:
        """The C scanner fills the columns of every ordinary line; the lines it leaves (invalid,
        unusual, possibly secret) take the exact path; numpy computes duplicates and the session-
        ordered keys (:mod:`ingest.native.keys`); pyarrow writes the Parquet files, the payload
        sliced from the spool bytes."""
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        from ingest.native.rows import RowStore

        self._lap("read")
        batch_id = uuid.uuid4().hex
        store = RowStore(scanner.kinds, scanner.lib)
        slow_rows: list[dict[str, Any]] = []
        quarantine: list[dict[str, Any]] = []
        blank = 0
        n = 0
        # A chunk is scanned in pieces, one ahead: the exact path (Python, one core) handles the
        # lines the scanner left in piece k while the C code scans piece k + 1 on the other core.
        pieces = []
        for chunk in chunks:
            offsets = scanner.line_offsets(chunk.data, chunk.line_count)
            count = len(offsets) - 1
            parts = max(1, min(NATIVE_PIECES, len(chunk.data) // NATIVE_PIECE_MIN_BYTES))
            bounds = sorted({0, count, *(int(np.searchsorted(offsets, len(chunk.data) * k // parts))
                                         for k in range(1, parts))})
            pieces += [(chunk, offsets, a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        from ingest.native import ScanArrays

        arrays = ScanArrays.allocate(sum(b - a for _c, _o, a, b in pieces))
        first_row = np.cumsum([0] + [b - a for _c, _o, a, b in pieces]).tolist()
        ahead = ThreadPoolExecutor(1) if len(pieces) > 1 else None
        try:
            def scan(i: int) -> Any:
                chunk, offsets, a, b = pieces[i]
                return scanner.scan(chunk.data, offsets[a:b + 1], arrays, first_row[i])

            pending = ahead.submit(scan, 0) if ahead is not None else None
            for i, (chunk, offsets, a, _b) in enumerate(pieces):
                result = pending.result() if pending is not None else scan(i)
                pending = ahead.submit(scan, i + 1) if ahead is not None and i + 1 < len(pieces) else None
                store.add_scan(result)
                self._lap("native_scan")
                for li in np.flatnonzero(result.slow).tolist():
                    blank += self._exact_line(chunk, offsets, a + li, n + li, batch_id, slow_rows, quarantine)
                n += result.n
                self._lap("python_path")
        finally:
            if ahead is not None:
                ahead.shutdown()
        store.finish_scans(arrays)
        store.set_rows(slow_rows)
        del slow_rows

        self._lap("python_path")
        from ingest.native.keys import compute_keys

        keys = compute_keys(store, history, checkpoint.sessions, _sdk_kinds())
        n_pre = int(np.count_nonzero(store.present))
        split = {d: (NATIVE_WRITERS if c >= NATIVE_SPLIT_ROWS else 1) for d, c in keys.date_rows.items()}
        self._lap("keys")

        def write(entries: list[tuple[str, int, Path]]) -> None:
            _write_native(keys, store, batch_id, entries)

        return self._finish_batch(keys, batch_id, n - blank, n_pre, quarantine, files, checkpoint, history,
                                  write, split)

    def _batch_sql(self, chunks: list[Chunk], files: list[SpoolFile], checkpoint: Checkpoint,
                   history: Any) -> tuple[Checkpoint, Any]:
        import numpy as np
        import pyarrow as pa

        from ingest import vectorized

        con = self._connection()
        self._lap("read")
        batch_id = uuid.uuid4().hex
        lines, heads, bodies, line_offsets, seq_starts, invalid = _arrow_lines(chunks)
        n = len(lines)
        slow = np.zeros(n, dtype=bool)
        if self._prefilter is not None and n:
            import polars as pl

            text = pl.from_arrow(lines)
            try:
                mask = text.str.contains(self._prefilter)
            except Exception as exc:  # a user pattern Rust regex cannot compile
                raise HooklakeError(
                    f"config.toml [redaction]: a pattern cannot be used by the vectorised scan ({exc}); "
                    "use syntax without look-around or back-references"
                ) from None
            if self._prefilter_literals:
                mask = mask | text.str.contains_any(self._prefilter_literals, ascii_case_insensitive=True)
            slow |= mask.fill_null(True).to_numpy()
        for seq in invalid:
            slow[seq] = True
        self._lap("prefilter")
        table = pa.table({"seq": pa.array(np.arange(n, dtype=np.int64)), "slow": pa.array(slow),
                          "head": heads, "body": bodies})
        con.register("batch_lines", table)
        import duckdb

        try:
            con.execute(_extraction().parse_sql("batch_lines"))
        except duckdb.Error as exc:
            # Never expected; if the SQL trips on some input, the exact path handles every line.
            self.report.warnings.append(
                f"vectorised normalisation failed ({str(exc).splitlines()[0]}); batch normalised line by line"
            )
            con.execute("CREATE OR REPLACE TEMP TABLE pre AS SELECT * FROM pre LIMIT 0")
        slow_seqs = con.execute("SELECT seq FROM batch_lines ANTI JOIN pre USING (seq) ORDER BY seq").fetchnumpy()["seq"]
        con.unregister("batch_lines")
        del table
        self._lap("sql_parse")

        slow_rows: list[dict[str, Any]] = []
        quarantine: list[dict[str, Any]] = []
        blank = 0
        for seq in slow_seqs.tolist():
            ci = int(np.searchsorted(seq_starts, seq, side="right") - 1)
            blank += self._exact_line(chunks[ci], line_offsets[ci], seq - int(seq_starts[ci]), seq, batch_id,
                                      slow_rows, quarantine)
        if slow_rows:
            con.register("slow_rows", _pre_table(slow_rows))
            con.execute("INSERT INTO pre BY NAME SELECT * FROM slow_rows")
            con.unregister("slow_rows")
        del lines, heads, bodies
        self._lap("python_path")

        con.register("history", pa.table({"h": pa.array(history, type=pa.uint64())}))
        con.register("sessions", _sessions_table(checkpoint.sessions))
        con.execute(vectorized.keys_sql())
        n_pre = con.execute("SELECT count(*) FROM pre").fetchone()[0]
        keys = _sql_keys(con)
        con.unregister("history")
        con.unregister("sessions")
        self._lap("sql_finalize")
        result = self._finish_batch(keys, batch_id, n - blank, n_pre, quarantine, files, checkpoint, history,
                                    lambda entries: self._copy_parquet(con, batch_id, entries), {})
        con.execute("DROP TABLE IF EXISTS keys")
        con.execute("DROP TABLE IF EXISTS pre")
        return result

    def _exact_line(self, chunk: Chunk, offs: Any, li: int, seq: int, batch_id: str,
                    rows: list[dict[str, Any]], quarantine: list[dict[str, Any]]) -> int:
        """Normalise line ``li`` of ``chunk`` with the exact path (appending to ``rows`` or to
        ``quarantine``); returns 1 for a blank line (not an event), else 0."""
        raw = bytes(chunk.data[int(offs[li]):int(offs[li + 1])])
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if not raw.strip():
            return 1
        try:
            obj = parse_envelope(raw)
            row = pre_row(obj, self.redactor)
            if b"\\ud" in raw or b"\\uD" in raw:  # a lone surrogate can only come from a \u escape
                _clean_strings(row)
            row["seq"] = seq
            rows.append(row)
        except Rejected as exc:
            quarantine.append(self._quarantine_record(str(exc), chunk, li, int(offs[li]), raw, batch_id))
        except Exception as exc:  # never let one odd line stop ingest
            quarantine.append(self._quarantine_record(
                f"could not normalise: {type(exc).__name__}: {exc}", chunk, li, int(offs[li]), raw, batch_id))
        return 0

    def _finish_batch(self, keys: Any, batch_id: str, events_read: int, n_pre: int,
                      quarantine: list[dict[str, Any]], files: list[SpoolFile], checkpoint: Checkpoint,
                      history: Any, write_parquet: Any, parts: dict[str, int]) -> tuple[Checkpoint, Any]:
        """With the batch's keys (:class:`ingest.native.keys.BatchKeys`): statistics, the next
        checkpoint, the commit of the batch."""
        import numpy as np

        written, redacted, redacted_events = keys.written, keys.redacted, keys.redacted_events
        for event, name, count in keys.bad_fields:
            key = (event, name)
            self._bad_field_counts[key] = self._bad_field_counts.get(key, 0) + int(count)
        dates = keys.dates
        new_hashes = keys.new_hashes
        session_updates = keys.session_updates

        # --- next checkpoint ---
        sessions = dict(checkpoint.sessions)
        for sid, ordinal, trace, last_seen in session_updates:
            old = sessions.get(sid, [0, None, 0])
            sessions[sid] = [
                int(ordinal) if ordinal is not None else old[0],
                trace if trace is not None else old[1],
                max(int(last_seen), int(old[2] or 0)),
            ]
        if sessions:
            newest = max(int(v[2] or 0) for v in sessions.values())
            sessions = {k: v for k, v in sessions.items() if newest - int(v[2] or 0) <= SESSION_STATE_KEEP_US}
        keep = max(int(self.settings.ingest.dedupe_history), 0)
        merged = np.concatenate([history, new_hashes.astype(np.uint64)]) if len(new_hashes) else history
        if keep == 0:
            merged = merged[:0]
        elif len(merged) > keep:
            merged = merged[-keep:]
        next_cp = Checkpoint(
            generation=checkpoint.generation + 1,
            files={f.name: {"inode": f.inode, "offset": f.offset, "lines": f.lines} for f in files},
            sessions=sessions,
        )
        self._write_batch(batch_id, dates, quarantine, checkpoint, next_cp, merged, write_parquet, parts)
        self._lap("write_commit")

        self.report.events_read += events_read
        self.report.events_written += written
        self.report.quarantined += len(quarantine)
        self.report.duplicates += int(n_pre) - written
        self.report.redacted += redacted
        self.report.redacted_events += redacted_events
        self._missing_session += keys.missing_session
        return next_cp, merged

    def _copy_parquet(self, con: Any, batch_id: str, entries: list[tuple[str, int, Path]]) -> None:
        from ingest import schema, vectorized

        for date, _part, tmp in entries:
            con.execute(
                f"COPY ({vectorized.output_select(batch_id, date)}) TO '{_sql_path(tmp)}' "
                f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
                f"KV_METADATA {{hooklake_schema_version: '{schema.SCHEMA_VERSION}'}})"
            )

    def _quarantine_record(self, reason: str, chunk: Chunk, line_index: int, offset_in_chunk: int,
                           raw: bytes, batch_id: str) -> dict[str, Any]:
        return {
            "reason": reason,
            "spool_file": str(chunk.file.path),
            "byte_offset": chunk.start_offset + offset_in_chunk,
            "line_number": chunk.start_line + line_index + 1,
            "raw_b64": raw_b64(raw),
            "raw_bytes": len(raw),
            "quarantined_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "ingest_id": batch_id,
        }

    # --- the commit protocol -------------------------------------------------------------

    def _write_batch(self, batch_id: str, dates: list[str], quarantine: list[dict[str, Any]],
                     checkpoint: Checkpoint, next_cp: Checkpoint, history: Any, write_parquet: Any,
                     parts: dict[str, int]) -> None:
        """Commit one batch. ``write_parquet(entries)`` writes every ``(date, part, temp path)``;
        a date may be split into ``parts[date]`` files so that they can be written in parallel."""
        events_dir = self.paths.events
        tmp_dir = self.paths.lake / ".tmp" / f"ingest-{self.host}-{batch_id}"
        plan: list[tuple[str, int, Path, Path]] = []  # (date or "quarantine", part, temp, final)
        for date in dates:
            for part in range(max(parts.get(date, 1), 1)):
                suffix = f"-{part}" if part else ""
                final = events_dir / f"date={date}" / f"part-{self.host}-{batch_id}{suffix}.parquet"
                plan.append((date, part, tmp_dir / f"date={date}{suffix}.parquet", final))
        if quarantine:
            qfinal = self.paths.quarantine / f"{QUARANTINE_PREFIX}{batch_id}.jsonl"
            plan.append(("quarantine", 0, self.paths.quarantine / f".{QUARANTINE_PREFIX}{batch_id}.tmp", qfinal))

        try:
            next_cp.history_file = self.store.write_history(next_cp.generation, history)
            next_text = next_cp.to_text()
            self.store.write_pending({
                "batch_id": batch_id,
                "base_generation": checkpoint.generation,
                "outputs": [str(p[3]) for p in plan],
                "temps": [str(p[2]) for p in plan],
                "tmp_dir": str(tmp_dir),
            }, next_text)
        except OSError as exc:
            self._discard_history(next_cp, checkpoint)
            raise HooklakeError(
                f"cannot write ingest state in {self.paths.state}: {exc.strerror or exc}. Nothing was ingested; "
                "the spool and the checkpoint are unchanged."
            ) from None
        faults.crash_point("after_pending")

        import duckdb
        import pyarrow as pa

        renamed: list[Path] = []
        try:
            if dates:
                faults.fail_point("lake_mkdir")
                tmp_dir.mkdir(parents=True, exist_ok=True)
                faults.fail_point("write_parquet")
                write_parquet([(what, part, tmp) for what, part, tmp, _final in plan if what != "quarantine"])
            if quarantine:
                self.paths.quarantine.mkdir(parents=True, exist_ok=True)
            for i, (what, _part, tmp, _final) in enumerate(plan):
                if what == "quarantine":
                    faults.fail_point("write_quarantine")
                    with open(tmp, "wb") as fh:
                        for record in quarantine:
                            fh.write(json.dumps(record).encode() + b"\n")
                _fsync_file(tmp)
                if i == 0:
                    faults.crash_point("during_parquet")
            for i, (_what, _part, tmp, final) in enumerate(plan):
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
                renamed.append(final)
                fsync_dir(final.parent)
                if i == 0:
                    faults.crash_point("between_renames")
        except (OSError, duckdb.Error, pa.ArrowException) as exc:
            for path in renamed:
                try:
                    path.unlink()
                except OSError:
                    pass
            for _what, _part, tmp, _final in plan:
                try:
                    tmp.unlink()
                except OSError:
                    pass
            shutil.rmtree(tmp_dir, ignore_errors=True)
            self._discard_history(next_cp, checkpoint)
            try:
                self.store.clear_pending()
            except OSError:
                pass
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            raise HooklakeError(
                f"cannot write the lake at {self.paths.lake}: {reason}. Nothing was lost: the spool and the "
                "checkpoint are unchanged. Free disk space or make the folder writable, then run "
                "`hooklake ingest` again."
            ) from None
        faults.crash_point("after_parquet")
        try:
            faults.fail_point("commit_checkpoint")
            self.store.commit(next_cp, next_text)
        except OSError as exc:
            raise HooklakeError(
                f"the lake files of batch {batch_id} are written but the checkpoint in {self.paths.state} could "
                f"not be updated ({exc.strerror or exc}). Run `hooklake ingest` again once the state folder is "
                "writable: it completes the batch without duplicating it."
            ) from None
        faults.crash_point("after_commit")
        self.store.clear_pending()
        if checkpoint.history_file and checkpoint.history_file != next_cp.history_file:
            try:
                (self.paths.state / checkpoint.history_file).unlink()
            except OSError:
                pass
        shutil.rmtree(tmp_dir, ignore_errors=True)
        try:
            (self.paths.lake / ".tmp").rmdir()
        except OSError:
            pass
        self.report.parquet_files += sum(1 for p in plan if p[0] != "quarantine")
        if quarantine:
            self.report.quarantine_files.append(str(plan[-1][3]))

    def _discard_history(self, next_cp: Checkpoint, checkpoint: Checkpoint) -> None:
        if next_cp.history_file and next_cp.history_file != checkpoint.history_file:
            try:
                (self.paths.state / next_cp.history_file).unlink()
            except OSError:
                pass

    # --- spool retirement ----------------------------------------------------------------

    def _retire(self, files: list[SpoolFile], checkpoint: Checkpoint) -> None:
        """Remove final spool files that are fully committed and unchanged since planning."""
        faults.crash_point("before_retire")
        planned = {f.name for f in files}
        retired: list[str] = []
        for spool in files:
            if not spool.final or spool.offset < spool.size:
                continue
            entry = checkpoint.files.get(spool.name)
            if entry is None or entry.get("offset") != spool.offset:
                continue
            try:
                st = spool.path.stat()
            except FileNotFoundError:
                continue
            if st.st_ino != spool.inode or st.st_size != spool.offset or st.st_mtime != spool.mtime:
                continue
            try:
                spool.path.unlink()
            except OSError as exc:
                self.report.warnings.append(f"{spool.path}: fully ingested but could not be removed ({exc.strerror})")
                continue
            retired.append(spool.name)
        stale = [name for name in checkpoint.files if name not in planned]
        if retired or stale:
            files_left = {k: v for k, v in checkpoint.files.items() if k not in retired and k in planned}
            updated = Checkpoint(checkpoint.generation + 1, files_left, checkpoint.sessions, checkpoint.history_file)
            try:
                self.store.commit(updated)
            except OSError as exc:
                self.report.warnings.append(f"could not update the checkpoint after retiring spool files: {exc}")
        self.report.retired_files = len(retired)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

_EXTRACTION: Any = None


def _extraction() -> Any:
    global _EXTRACTION
    if _EXTRACTION is None:
        from ingest.vectorized import Extraction

        _EXTRACTION = Extraction()
    return _EXTRACTION


def _sdk_kinds() -> frozenset[str]:
    from ingest.schema import SDK_KINDS

    return SDK_KINDS


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_PAYLOAD_KEY = re.compile(rb'"payload":')


def _views(data: bytes, arr: Any, starts: Any, lengths: Any) -> Any:
    """An Arrow ``string_view`` array of byte ranges of ``data`` (no copy of the strings)."""
    import numpy as np
    import pyarrow as pa

    n = len(starts)
    views = np.zeros((n, 16), dtype=np.uint8)
    v32 = views.view(np.int32)
    lengths = lengths.astype(np.int32)
    v32[:, 0] = lengths
    long = lengths > 12
    if long.any():
        ls = starts[long]
        views[long, 4:8] = arr[ls[:, None] + np.arange(4)]
        v32[long, 3] = ls.astype(np.int32)
    short = ~long
    if short.any():
        ss = starts[short]
        idx = np.minimum(ss[:, None] + np.arange(12), len(arr) - 1)
        views[short, 4:16] = arr[idx] * (np.arange(12) < lengths[short][:, None])
    return pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(data)])


def _split_lines(data: bytes, offsets: Any) -> tuple[Any, Any, Any]:
    """Per line: ``head`` = bytes up to and including the first ``"payload":``, ``body`` = the
    rest without the final ``}`` (and line end). Lines of another shape get ``ok`` False and take
    the exact path. The SQL checks that head and body both parse, which proves the split."""
    import numpy as np

    arr = np.frombuffer(data, dtype=np.uint8)
    n = len(offsets) - 1
    line_start = offsets[:-1]
    hits = np.fromiter((m.start() for m in _PAYLOAD_KEY.finditer(data)), dtype=np.int64)
    key_pos = np.full(n, -1, dtype=np.int64)
    if len(hits):
        line_of = np.searchsorted(offsets, hits, side="right") - 1
        first_lines, first_idx = np.unique(line_of, return_index=True)
        key_pos[first_lines] = hits[first_idx]
    end = offsets[1:] - 1  # the newline
    end = np.where((end > line_start) & (arr[np.maximum(end - 1, 0)] == 13), end - 1, end)  # CRLF
    closing = np.maximum(end - 1, 0)
    body_start = key_pos + 10
    body_start = np.where(arr[np.minimum(body_start, len(arr) - 1)] == 32, body_start + 1, body_start)
    ok = (key_pos >= 0) & (arr[closing] == 125) & (closing > body_start)  # 125 = "}"
    head_len = np.where(ok, body_start - line_start, 0)
    body_len = np.where(ok, closing - body_start, 0)
    body_start = np.where(ok, body_start, 0)
    return _views(data, arr, line_start, head_len), _views(data, arr, body_start, body_len), ok


def _arrow_lines(chunks: list[Chunk]) -> tuple[Any, Any, Any, list[Any], Any, list[int]]:
    """All lines of the batch as Arrow string columns, zero-copy over the bytes read.

    Returns (lines, heads, bodies, per-chunk line offsets, first seq of each chunk, seqs that must
    take the exact path: lines not valid UTF-8 or not of the envelope writer's shape).
    """
    import numpy as np
    import pyarrow as pa

    arrays, heads, bodies = [], [], []
    all_offsets = []
    starts = []
    slow: list[int] = []
    seq = 0
    for chunk in chunks:
        data = chunk.data
        nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        count = len(nl)
        offsets = np.empty(count + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:] = nl + 1
        array = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
        try:
            array.validate(full=True)
            head, body, ok = _split_lines(data, offsets)
            slow.extend((seq + np.flatnonzero(~ok)).tolist())
        except pa.ArrowInvalid:
            values = []
            for i in range(count):
                try:
                    values.append(data[offsets[i]:offsets[i + 1]].decode("utf-8"))
                except UnicodeDecodeError:
                    values.append("")
            array = pa.array(values, type=pa.large_string())
            head = body = pa.array([""] * count, type=pa.string_view())
            slow.extend(range(seq, seq + count))  # a rare broken chunk: every line takes the exact path
        arrays.append(array)
        heads.append(head)
        bodies.append(body)
        all_offsets.append(offsets)
        starts.append(seq)
        seq += count

    def chunked(parts: list[Any], typ: Any) -> Any:
        return pa.chunked_array(parts, type=typ) if parts else pa.chunked_array([], typ)

    return (chunked(arrays, pa.large_string()), chunked(heads, pa.string_view()), chunked(bodies, pa.string_view()),
            all_offsets, np.array(starts, dtype=np.int64), slow)


def _pre_table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    from ingest.vectorized import PRE_TABLE_TYPES

    arrow_types = {
        "BIGINT": pa.int64(), "VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int32(),
        "VARCHAR[]": pa.list_(pa.string()),
    }
    columns = {name: pa.array([r[name] for r in rows], type=arrow_types[PRE_TABLE_TYPES[name]])
               for name in ("seq", *PRE_COLUMNS)}
    return pa.table(columns)


#: Columns with few distinct values: dictionary-encoded in Parquet (the others are written plain).
_DICTIONARY_COLUMNS = (
    "schema_version", "source", "host", "event_name", "event_kind", "session_id", "prompt_id", "correlation_id",
    "root_id", "agent_id", "agent_type", "tool_name", "mcp_server", "mcp_tool", "status", "cwd", "transcript_path",
    "permission_mode", "model", "ingest_id",
)


def _sql_keys(con: Any) -> Any:
    """The :class:`ingest.native.keys.BatchKeys` summary of the DuckDB path's ``keys`` table."""
    from ingest.native.keys import BatchKeys

    stats = con.execute(
        "SELECT count(*), coalesce(sum(redactions), 0), count_if(redactions > 0), "
        "count_if(session_id IS NULL AND event_kind NOT IN ("
        + ", ".join(f"'{k}'" for k in sorted(_sdk_kinds())) + ")) FROM keys"
    ).fetchone()
    written, redacted, redacted_events, missing_session = (int(x or 0) for x in stats)
    bad_fields = [(event, name, int(count)) for event, name, count in con.execute(
        "SELECT event_name, f, count(*) FROM (SELECT event_name, unnest(bad_fields) AS f FROM keys) GROUP BY ALL"
    ).fetchall()]
    date_rows = {d: int(c) for d, c in con.execute("SELECT date, count(*) FROM keys GROUP BY date ORDER BY date")
                 .fetchall()}
    new_hashes = con.execute("SELECT id_hash FROM keys ORDER BY seq").fetchnumpy()["id_hash"]
    session_updates = con.execute(
        "SELECT session_id, max(ordinal), arg_max(prompt_trace, seq) FILTER (WHERE prompt_trace IS NOT NULL), "
        "max(captured_us) FROM keys WHERE session_id IS NOT NULL GROUP BY session_id"
    ).fetchall()
    return BatchKeys(written=written, redacted=redacted, redacted_events=redacted_events,
                     missing_session=missing_session, bad_fields=bad_fields, dates=list(date_rows),
                     date_rows=date_rows, new_hashes=new_hashes, session_updates=session_updates)


def _write_native(keys: Any, store: Any, batch_id: str, entries: list[tuple[str, int, Path]]) -> None:
    """Write the kept rows of ``store`` (with their ``keys``) as the Parquet files of
    ``entries``; the parts of a split partition are written by parallel threads."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest import schema

    rows = keys.seq
    jobs: list[tuple[Any, Path]] = []
    for date in sorted({e[0] for e in entries}):
        selected = np.flatnonzero(keys.date_index == keys.dates.index(date))
        targets = sorted((e for e in entries if e[0] == date), key=lambda e: e[1])
        bounds = np.linspace(0, len(selected), len(targets) + 1).astype(np.int64)
        for (_date, _part, tmp), a, b in zip(targets, bounds[:-1], bounds[1:]):
            jobs.append((selected[a:b], tmp))
    names = list(schema.COLUMN_NAMES)
    kinds = pa.array(store.kinds, type=pa.string())

    def one(job: tuple[Any, Path]) -> None:
        selected, tmp = job
        contiguous = len(selected) and int(selected[-1]) - int(selected[0]) + 1 == len(selected)
        picked = rows[selected]
        m = len(selected)
        arrays = []
        for name, typ, _doc in schema.CANONICAL_COLUMNS:
            if name == "schema_version":
                arrays.append(pa.array(np.full(m, schema.SCHEMA_VERSION, dtype=np.int16)))
            elif name == "captured_at":
                arrays.append(store.arrow("captured_us", picked).cast(typ))
            elif name == "event_time":
                arrays.append(store.arrow("event_us", picked).cast(typ))
            elif name == "ingest_id":
                arrays.append(_dictionary(np.zeros(m, dtype=np.int64), pa.array([batch_id], type=pa.string())))
            elif name == "session_id" and keys.session_codes is not None:
                arrays.append(_dictionary(keys.session_codes[selected], keys.session_names))
            elif name in ("correlation_id", "root_id"):
                column = getattr(keys, name)
                column = column.slice(int(selected[0]), m) if contiguous else column.take(pa.array(selected))
                arrays.append(column.cast(typ))
            elif name == "event_kind":
                arrays.append(_dictionary(store.cols[name][picked], kinds))
            elif typ == pa.string():
                arrays.append(store.string_view(name, picked))
            else:
                arrays.append(store.arrow(name, picked).cast(typ))
        table = pa.Table.from_arrays(arrays, names=names)
        # Text columns go in as string views over the batch buffers: the writer reads them in
        # place; the columns whose codes are known already (event kind, session, batch id) go in
        # dictionary-encoded, which spares the writer hashing every value. The file's schema is
        # then the Parquet one (as in the DuckDB path's files): no stored Arrow schema, which
        # would name the view and dictionary types, plus the schema version.
        with pq.ParquetWriter(
            str(tmp), table.schema, compression="zstd", compression_level=1, use_dictionary=list(_DICTIONARY_COLUMNS),
            write_statistics=[c for c in names if c != "payload"], store_schema=False,
        ) as writer:
            writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)
            writer.add_key_value_metadata({"hooklake_schema_version": str(schema.SCHEMA_VERSION)})
        _fsync_file(tmp)  # here, in parallel with the other parts (the commit's own fsync is then quick)

    if len(jobs) > 1:
        with ThreadPoolExecutor(min(len(jobs), NATIVE_WRITERS)) as pool:
            for future in [pool.submit(one, job) for job in jobs]:
                future.result()
    else:
        for job in jobs:
            one(job)


def _dictionary(codes: Any, values: Any) -> Any:
    """An Arrow dictionary array of ``values[codes]`` (a negative code is null) whose dictionary
    holds just the values used, in order of ``values``."""
    import numpy as np
    import pyarrow as pa

    codes = np.asarray(codes, dtype=np.int64)
    valid = codes >= 0
    used = np.flatnonzero(np.bincount(codes[valid], minlength=len(values))) if len(codes) else codes[:0]
    remap = np.zeros(max(len(values), 1), dtype=np.int32)  # (a null's code reads entry 0)
    remap[used] = np.arange(len(used), dtype=np.int32)
    indices = remap[np.where(valid, codes, 0)]
    mask = None if valid.all() else ~valid
    return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32(), mask=mask),
                                          values.take(pa.array(used, type=pa.int64())))


def _sessions_table(sessions: dict[str, list[Any]]) -> Any:
    import pyarrow as pa

    ids = list(sessions)
    return pa.table({
        "session_id": pa.array(ids, type=pa.string()),
        "ordinal": pa.array([int(sessions[s][0]) for s in ids], type=pa.int64()),
        "trace": pa.array([sessions[s][1] for s in ids], type=pa.string()),
        "last_seen_us": pa.array([int(sessions[s][2] or 0) for s in ids], type=pa.int64()),
    })


def _clean_strings(row: dict[str, Any]) -> None:
    """Lone surrogates (from ``\\ud800`` escapes) cannot be stored as UTF-8: replace them."""
    for key, value in row.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                row[key] = value.encode("utf-8", "replace").decode("utf-8")
        elif isinstance(value, list):
            row[key] = [v.encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v for v in value]
