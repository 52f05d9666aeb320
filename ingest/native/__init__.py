"""The native spool scanner (``scan.c``): compiled on first use, loaded with ctypes.

:meth:`Scanner.scan` takes a chunk of complete spool lines and returns, with no Python work per
line, the pre-correlation columns of every line the C code fully understands (Arrow
``string_view`` arrays: the verbatim payload over the spool bytes, so it is never copied before
the Parquet write, the other text packed into a side buffer) and the indexes of the lines the
exact Python path must handle. The tables the C code needs (payload fields, event kinds,
pydantic type checks, secret key names, status words) are built here from :mod:`ingest.schema`,
:mod:`ingest.normalize` and :mod:`ingest.redact`, so they stay the single source of truth. The scanner also computes each event id's duplicate key
(:func:`md5_prefixes`); :func:`in_set` and :func:`repeated` are the hash sets that
:mod:`ingest.native.keys` checks those keys with.

The library is compiled with the system C compiler (``$CC``, else ``cc``/``gcc``/``clang``) into
``Paths.bin`` under a name that carries the source digest. Without a compiler (or with
``HOOKLAKE_INGEST_NATIVE=0``) :func:`load` returns ``None`` and ingest uses its DuckDB path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("scan.c")
DISABLE_ENV = "HOOKLAKE_INGEST_NATIVE"
"""Set to ``0`` to use the DuckDB path even when a compiler is available."""

#: Payload fields the C code reads, in the order of its ``F_*`` enum.
EXTRACT_FIELDS: tuple[str, ...] = (
    "hook_event_name", "session_id", "prompt_id", "correlation_id", "root_id", "parent_id", "execution_id",
    "agent_id", "agent_type", "tool_name", "tool_use_id", "service", "endpoint", "duration_ms", "status",
    "error", "is_interrupt", "exit_code", "success", "prompt", "cwd", "transcript_path", "permission_mode",
    "model", "input_tokens", "output_tokens", "usage", "cost_usd", "timestamp",
)
#: Output columns, in the order of the C ``S_*``, ``I_*`` and ``D_*`` enums.
STR_COLUMNS: tuple[str, ...] = (
    "event_id", "source", "host", "event_name", "session_id", "prompt_id", "given_correlation_id",
    "given_root_id", "parent_id", "execution_id", "agent_id", "agent_type", "tool_name", "tool_use_id",
    "mcp_server", "mcp_tool", "status", "error_message", "prompt_text", "cwd", "transcript_path",
    "permission_mode", "model", "payload",
)
INT_COLUMNS: tuple[str, ...] = ("captured_us", "event_us", "input_tokens", "output_tokens")
DBL_COLUMNS: tuple[str, ...] = ("duration_ms", "cost_usd")
ABI = 1000 * len(STR_COLUMNS) + 10 * len(INT_COLUMNS) + len(DBL_COLUMNS)

_CATEGORY = {"prompt": 5, "tool_end": 1, "stop": 1, "tool_failure": 2, "stop_failure": 3}
_KIND_CODES = {"string": 1, "number": 2, "integer": 3, "boolean": 4, "other": 5}
_THREADS = 2
_MIN_PARALLEL_BYTES = 4 << 20

_LOCK = threading.Lock()
_LIBS: dict[str, Any] = {}


class _Config(ctypes.Structure):
    _fields_ = [
        ("n_fields", ctypes.c_int32), ("field_names", ctypes.c_void_p), ("field_lens", ctypes.c_void_p),
        ("n_events", ctypes.c_int32), ("event_names", ctypes.c_void_p), ("event_lens", ctypes.c_void_p),
        ("event_cats", ctypes.c_void_p), ("checks", ctypes.c_void_p),
        ("n_suffix", ctypes.c_int32), ("suffix_names", ctypes.c_void_p),
        ("n_prefix", ctypes.c_int32), ("prefix_names", ctypes.c_void_p),
        ("n_extra", ctypes.c_int32), ("extra_names", ctypes.c_void_p),
        ("n_status", ctypes.c_int32), ("status_words", ctypes.c_void_p), ("status_values", ctypes.c_void_p),
        ("redact", ctypes.c_int32),
    ]


def _digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def _compile(target: Path) -> None:
    from hooks.native import find_compiler

    compiler = find_compiler()
    if compiler is None:
        raise OSError("no C compiler found ($CC, cc, gcc or clang)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        proc = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", tmp, str(SOURCE), "-lm"],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise OSError(f"{compiler} failed: {proc.stderr.strip()[:500]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load(bin_dir: Path) -> Any:
    """The compiled library (building it into ``bin_dir`` if needed), or ``None`` when it cannot
    be had; the reason is then in :data:`last_error`."""
    global last_error
    if os.environ.get(DISABLE_ENV, "").strip() in ("0", "false", "no", "off"):
        last_error = f"disabled by {DISABLE_ENV}"
        return None
    digest = _digest()
    with _LOCK:
        lib = _LIBS.get(digest)
        if lib is not None:
            return lib
        target = bin_dir / f"ingest-scan-{digest}.so"
        try:
            if not target.exists():
                _compile(target)
            lib = ctypes.CDLL(str(target))
        except (OSError, subprocess.SubprocessError) as exc:
            last_error = str(exc)
            return None
        lib.hl_abi.restype = ctypes.c_int32
        if lib.hl_abi() != ABI:
            last_error = f"{target}: built from another version of scan.c"
            return None
        lib.hl_gather.restype = None
        lib.hl_gather.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.hl_md5_views.restype = None
        lib.hl_md5_views.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
        lib.hl_count_lines.restype = ctypes.c_int64
        lib.hl_count_lines.argtypes = [ctypes.c_void_p, ctypes.c_int64]
        lib.hl_lines.restype = ctypes.c_int64
        lib.hl_lines.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
        lib.hl_scan.restype = ctypes.c_int64
        lib.hl_scan.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 7 + [
            ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
        lib.hl_in_set.restype = ctypes.c_int32
        lib.hl_in_set.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
        lib.hl_repeated.restype = ctypes.c_int32
        lib.hl_repeated.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
        lib.hl_group_views.restype = ctypes.c_int64
        lib.hl_group_views.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                       ctypes.c_void_p, ctypes.c_void_p]
        _LIBS[digest] = lib
        return lib


last_error: str | None = None


def _strings(values: list[str]) -> tuple[Any, list[Any]]:
    """A ``const char *const *`` array (and the objects that keep it alive)."""
    encoded = [ctypes.create_string_buffer(v.encode("utf-8")) for v in values]
    array = (ctypes.c_char_p * max(len(values), 1))(*[ctypes.cast(b, ctypes.c_char_p) for b in encoded])
    return array, [array, *encoded]


@dataclass
class ScanResult:
    """Columns of every line of one chunk; only rows with ``slow == False`` are meaningful."""

    n: int
    slow: Any
    """numpy bool per line: the exact path handles it (invalid, unusual, or possibly secret)."""
    views: Any
    """``[len(STR_COLUMNS), n, 16]`` Arrow string views; buffer 0 = ``data``, 1 = ``side``."""
    valid: Any
    """``[len(STR_COLUMNS) + len(INT_COLUMNS) + len(DBL_COLUMNS), n]`` validity bytes."""
    ints: Any
    dbls: Any
    kinds: Any
    """Index into ``Scanner.kinds`` minus one (-1 = an unknown or missing event name)."""
    data: bytes
    side: Any
    hashes: Any = None
    """Duplicate key of the event id (:func:`md5_prefixes`) of every line not ``slow``."""


@dataclass
class ScanArrays:
    """The output columns of a batch's scans, one row per line of the batch: each scan fills
    its lines' rows in place (no concatenation afterwards)."""

    views: Any
    """``[len(STR_COLUMNS), n, 16]`` Arrow string views (buffer indexes as each scan wrote them)."""
    valid: Any
    ints: Any
    dbls: Any
    kinds: Any
    flags: Any
    hashes: Any

    @classmethod
    def allocate(cls, n: int) -> "ScanArrays":
        import numpy as np

        return cls(
            np.zeros((len(STR_COLUMNS), n, 16), dtype=np.uint8),
            np.zeros((len(STR_COLUMNS) + len(INT_COLUMNS) + len(DBL_COLUMNS), n), dtype=np.uint8),
            np.zeros((len(INT_COLUMNS), n), dtype=np.int64),
            np.zeros((len(DBL_COLUMNS), n), dtype=np.float64),
            np.zeros(n, dtype=np.int32),
            np.zeros(n, dtype=np.uint8),
            np.zeros(n, dtype=np.uint64),
        )


class Scanner:
    """The loaded library plus the tables of one redaction configuration."""

    def __init__(self, lib: Any, redactor: Any) -> None:
        import numpy as np

        from ingest import redact, schema
        from ingest.normalize import STATUS_WORDS, _check_kind

        if redactor.extra_patterns:
            raise ValueError("extra redaction patterns need the regular-expression prefilter")
        self.lib = lib
        keep: list[Any] = []
        fields = list(EXTRACT_FIELDS)
        models = {None: schema.HookPayload, **schema.PAYLOAD_MODELS}
        for model in models.values():
            for name in model.model_fields:
                if name not in fields:
                    fields.append(name)
        events = list(schema.CLAUDE_CODE_KINDS) + sorted(schema.SDK_KINDS)
        self.kinds = [schema.OTHER_KIND] + [schema.kind_for(name) for name in events]
        cats = np.array([4 if name in schema.SDK_KINDS else _CATEGORY.get(schema.kind_for(name), 0)
                         for name in events], dtype=np.int32)
        checks = np.zeros((len(events) + 1, len(fields)), dtype=np.int8)
        for row, name in enumerate([None, *events]):
            model = schema.payload_model(name)
            for field, info in model.model_fields.items():
                kind = _check_kind(info.annotation)
                if kind is not None:
                    checks[row, fields.index(field)] = _KIND_CODES[kind]
        field_names, k1 = _strings(fields)
        field_lens = np.array([len(f.encode()) for f in fields], dtype=np.int32)
        event_names, k2 = _strings(events)
        event_lens = np.array([len(e.encode()) for e in events], dtype=np.int32)
        suffix, k3 = _strings(list(redact.SUFFIX_KEY_NAMES))
        prefix, k4 = _strings(list(redact.PREFIX_KEY_NAMES))
        extra, k5 = _strings(list(redactor.extra_key_names))
        words, k6 = _strings(list(STATUS_WORDS))
        values, k7 = _strings(list(STATUS_WORDS.values()))
        keep += [*k1, *k2, *k3, *k4, *k5, *k6, *k7, field_lens, event_lens, cats, checks]
        self.config = _Config(
            len(fields), ctypes.cast(field_names, ctypes.c_void_p), field_lens.ctypes.data,
            len(events), ctypes.cast(event_names, ctypes.c_void_p), event_lens.ctypes.data,
            cats.ctypes.data, checks.ctypes.data,
            len(redact.SUFFIX_KEY_NAMES), ctypes.cast(suffix, ctypes.c_void_p),
            len(redact.PREFIX_KEY_NAMES), ctypes.cast(prefix, ctypes.c_void_p),
            len(redactor.extra_key_names), ctypes.cast(extra, ctypes.c_void_p),
            len(STATUS_WORDS), ctypes.cast(words, ctypes.c_void_p), ctypes.cast(values, ctypes.c_void_p),
            1 if redactor.enabled else 0,
        )
        self._keep = keep
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def count_lines(self, data: bytes | memoryview) -> int:
        """``data.count(b"\\n")``, without holding the GIL and at memchr speed."""
        import numpy as np

        if not len(data):
            return 0
        return int(self.lib.hl_count_lines(np.frombuffer(data, dtype=np.uint8).ctypes.data, len(data)))

    def line_offsets(self, data: bytes, count: int | None = None) -> Any:
        """``offsets`` of the complete lines of ``data`` (``[0, end of line 1, ...]``);
        ``count``: the number of newlines in ``data`` when the caller knows it."""
        import numpy as np

        cap = data.count(b"\n") if count is None else count
        offsets = np.zeros(cap + 1, dtype=np.int64)
        if cap:
            self.lib.hl_lines(np.frombuffer(data, dtype=np.uint8).ctypes.data, len(data), offsets.ctypes.data, cap)
        return offsets

    def scan(self, data: bytes, offsets: Any, out: ScanArrays | None = None, row0: int = 0) -> ScanResult:
        """Scan the lines ``data[offsets[i]:offsets[i + 1]]`` (each ending with a newline);
        ``offsets`` may be a slice of a chunk's line offsets (a piece of its lines). Line ``i``
        fills row ``row0 + i`` of ``out`` (by default: new arrays of just these lines)."""
        import numpy as np

        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        n = len(offsets) - 1
        start = int(offsets[0]) if len(offsets) else 0
        size = int(offsets[-1]) - start if len(offsets) else 0
        if out is None:
            out, row0 = ScanArrays.allocate(n), 0
        total = len(out.kinds)
        if not 0 <= row0 <= total - n:
            raise ValueError(f"rows {row0}..{row0 + n} do not fit the {total} rows of the output")
        views, valid, ints, dbls = out.views, out.valid, out.ints, out.dbls
        kinds, flags, hashes = out.kinds, out.flags, out.hashes
        side = np.empty(size + 64 * _THREADS, dtype=np.uint8)
        base = np.frombuffer(data, dtype=np.uint8).ctypes.data if data else 0
        parts = 1 if size < _MIN_PARALLEL_BYTES or n < 2 else _THREADS
        bounds = [0] + [int(np.searchsorted(offsets, start + size * k // parts)) for k in range(1, parts)] + [n]
        bounds = sorted(set(min(max(b, 0), n) for b in bounds))
        line_lengths = np.diff(offsets) if n else np.zeros(0, dtype=np.int64)

        def run(first: int, last: int) -> None:
            if last <= first:
                return
            side_start = int(offsets[first]) - start + 64 * bounds.index(first)
            side_cap = int(offsets[last] - offsets[first]) + 64
            scratch = np.empty(int(line_lengths[first:last].max()) + 64, dtype=np.uint8)
            # The outputs are column-major with ``total`` rows: shifting each base by ``row0`` rows
            # makes the C code's row i land in row row0 + i of every column.
            self.lib.hl_scan(
                ctypes.addressof(self.config), base, offsets.ctypes.data, first, last, total,
                views.ctypes.data + 16 * row0, valid.ctypes.data + row0, ints.ctypes.data + 8 * row0,
                dbls.ctypes.data + 8 * row0, kinds.ctypes.data + 4 * row0, flags.ctypes.data + row0,
                side.ctypes.data, side_start, side_cap, scratch.ctypes.data, hashes.ctypes.data + 8 * row0)

        ranges = list(zip(bounds[:-1], bounds[1:]))
        if len(ranges) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_THREADS)
            for future in [self._pool.submit(run, a, b) for a, b in ranges]:
                future.result()
        else:
            for a, b in ranges:
                run(a, b)

        rows = slice(row0, row0 + n)
        return ScanResult(n, flags[rows].astype(bool), views[:, rows], valid[:, rows], ints[:, rows], dbls[:, rows],
                          kinds[rows], data, side, hashes[rows])


def gather_strings(lib: Any, views: Any, valid: Any, buffers: list[Any]) -> Any:
    """An Arrow ``string`` array from ``[n, 16]`` string views over ``buffers`` (one copy, in C,
    without the GIL: cheaper than pyarrow's ``string_view`` cast)."""
    import numpy as np
    import pyarrow as pa

    n = len(views)
    lengths = np.ascontiguousarray(views).view(np.int32)[:, 0]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    if total >= 2**31 - 1:
        return pa.Array.from_buffers(pa.string_view(), n, [bitmap, pa.py_buffer(np.ascontiguousarray(views)),
                                                          *buffers]).cast(pa.large_string()).cast(pa.string())
    data = np.empty(max(total, 1), dtype=np.uint8)
    pointers = (ctypes.c_void_p * max(len(buffers), 1))(*[b.address for b in buffers])
    views = np.ascontiguousarray(views)
    lib.hl_gather(views.ctypes.data, n, ctypes.cast(pointers, ctypes.c_void_p), offsets.ctypes.data, data.ctypes.data)
    return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets.astype(np.int32)),
                                                  pa.py_buffer(data[:total])])


def md5_prefixes(lib: Any, views: Any, buffers: list[Any]) -> Any:
    """Per ``[n, 16]`` string view over ``buffers``: the first 8 bytes of the string's MD5 read
    big-endian (``uint64``), i.e. DuckDB's ``CAST('0x' || md5(s)[1:16] AS UBIGINT)``."""
    import numpy as np

    views = np.ascontiguousarray(views)
    n = len(views)
    out = np.zeros(n, dtype=np.uint64)
    if not n:
        return out
    pointers = (ctypes.c_void_p * max(len(buffers), 1))(*[b.address for b in buffers])

    def run(first: int, last: int) -> None:  # ctypes releases the GIL: the halves run in parallel
        lib.hl_md5_views(views.ctypes.data, first, last, ctypes.cast(pointers, ctypes.c_void_p), out.ctypes.data)

    if n < 20_000:
        run(0, n)
    else:
        half = n // 2
        worker = threading.Thread(target=run, args=(half, n))
        worker.start()
        run(0, half)
        worker.join()
    return out


def in_set(lib: Any, keys: Any, members: Any) -> Any:
    """Per key of ``keys`` (``uint64``): is it one of ``members``? (a hash set, in C)."""
    import numpy as np

    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    members = np.ascontiguousarray(members, dtype=np.uint64)
    out = np.zeros(len(keys), dtype=np.uint8)
    if len(keys) and len(members):
        if lib.hl_in_set(members.ctypes.data, len(members), keys.ctypes.data, len(keys), out.ctypes.data) != 0:
            return np.isin(keys, members)
    return out.astype(bool)


def repeated(lib: Any, keys: Any) -> Any:
    """Per key of ``keys`` (``uint64``): does it occur more than once? (a hash table, in C)."""
    import numpy as np

    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    out = np.zeros(len(keys), dtype=np.uint8)
    if len(keys) > 1 and lib.hl_repeated(keys.ctypes.data, len(keys), out.ctypes.data) != 0:
        values, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        return counts[inverse.reshape(-1)] > 1
    return out.astype(bool)


def group_views(lib: Any, views: Any, valid: Any, buffers: list[Any]) -> tuple[Any, Any] | None:
    """Per ``[n, 16]`` string view over ``buffers`` (``valid``: not null), its group number in
    order of first appearance (``-1`` for a null), as the indices of Arrow's ``dictionary_encode``,
    and the first row of each group; ``None`` when out of memory."""
    import numpy as np

    views = np.ascontiguousarray(views)
    valid = np.ascontiguousarray(valid, dtype=np.uint8)
    n = len(views)
    codes = np.empty(n, dtype=np.int64)
    first = np.empty(max(n, 1), dtype=np.int64)
    pointers = (ctypes.c_void_p * max(len(buffers), 1))(*[b.address for b in buffers])
    groups = lib.hl_group_views(views.ctypes.data, valid.ctypes.data, n, ctypes.cast(pointers, ctypes.c_void_p),
                                codes.ctypes.data, first.ctypes.data)
    if groups < 0:
        return None
    return codes, first[:groups]
