"""The rows of one ingest batch as numpy columns, text as Arrow string views.

Rows come from the C scanner (views into the spool bytes and its side buffer of decoded strings)
and from the exact Python path (views into the buffers of ordinary Arrow string arrays), each at
the position of its spool line in the batch. Keeping
text as 16-byte views makes selecting and reordering rows cheap: only the views move. The
Parquet writer reads the text of the written columns straight from those buffers
(:meth:`RowStore.string_view`), so the payload bytes are never copied before compression; the
few narrow text columns the key step needs are gathered into plain ``string`` arrays
(:meth:`RowStore.arrow`). pyarrow's own selection kernels do not handle ``string_view`` yet,
so rows are selected here, on the numpy arrays.
"""

from __future__ import annotations

from typing import Any

from ingest.native import DBL_COLUMNS, INT_COLUMNS, STR_COLUMNS, ScanResult, gather_strings, md5_prefixes

NUMERIC = {**{name: "int64" for name in INT_COLUMNS}, **{name: "float64" for name in DBL_COLUMNS}}


def string_views(array: Any, buffer_index: int) -> tuple[Any, Any, Any]:
    """(views, validity, data buffer) of an Arrow ``string`` array, views naming ``buffer_index``."""
    import numpy as np

    n = len(array)
    views = np.zeros((n, 16), dtype=np.uint8)
    valid = np.asarray(array.is_valid()).astype(bool) if array.null_count else np.ones(n, dtype=bool)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[array.offset:array.offset + n + 1].astype(np.int64) \
        if buffers[1] is not None else np.zeros(n + 1, dtype=np.int64)
    data = buffers[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None and data.size else np.zeros(1, dtype=np.uint8)
    starts = offsets[:-1]
    lengths = (offsets[1:] - starts).astype(np.int32)
    v32 = views.view(np.int32)
    v32[:, 0] = lengths
    long = lengths > 12
    if long.any():
        ls = starts[long]
        views[long, 4:8] = raw[ls[:, None] + np.arange(4)]
        v32[long, 2] = buffer_index
        v32[long, 3] = ls.astype(np.int32)
    short = ~long & (lengths > 0)
    if short.any():
        ss = starts[short]
        idx = np.minimum(ss[:, None] + np.arange(12), len(raw) - 1)
        views[short, 4:16] = raw[idx] * (np.arange(12) < lengths[short][:, None])
    import pyarrow as pa

    return views, valid, data if data is not None else pa.py_buffer(b"")


def select(values: Any, rows: Any) -> Any:
    """``values[rows]`` for ``rows`` a numpy index array (or a slice): a plain slice when the rows
    are a contiguous range, and 16-byte views moved as one item each, not byte by byte."""
    import numpy as np

    if isinstance(rows, np.ndarray) and len(rows) and int(rows[-1]) - int(rows[0]) + 1 == len(rows) \
            and (len(rows) < 2 or bool((np.diff(rows) == 1).all())):
        return values[int(rows[0]):int(rows[-1]) + 1]
    if values.ndim == 2 and values.shape[1] == 16 and values.dtype == np.uint8 and values.flags.c_contiguous:
        return values.view(np.dtype((np.void, 16)))[:, 0][rows].view(np.uint8).reshape(-1, 16)
    return values[rows]


class RowStore:
    """Columns of every line of a batch, indexed by ``seq`` (the line's position in the batch).

    Lines the scanner handled are filled by it; the rows of the exact path are written into
    their lines' places (:meth:`set_rows`); ``present`` marks the lines that became a row.
    """

    def __init__(self, kinds: list[str], lib: Any) -> None:
        self.kinds = kinds
        self.lib = lib
        self.buffers: list[Any] = []
        self.parts: list[ScanResult] = []
        self.cols: dict[str, Any] = {}
        self.hashes: Any = None
        self.bad: dict[int, list[str]] = {}
        self.present: Any = None
        self.n = 0

    def add_scan(self, result: ScanResult) -> None:
        """The next scan's lines (they follow the previous scan's). Its rows may be a slice of
        arrays that later scans fill too (:class:`ingest.native.ScanArrays`)."""
        import numpy as np
        import pyarrow as pa

        base = len(self.buffers)
        self.buffers += [pa.py_buffer(result.data), pa.py_buffer(result.side)]
        if base:
            v32 = result.views.view(np.int32)  # [column, row, 4]: a view of the scan's rows
            long = v32[:, :, 0] > 12
            v32[:, :, 2][long] += base
        self.parts.append(result)

    def finish_scans(self, arrays: Any = None) -> None:
        """Columns of all scanned lines: ``arrays`` (a :class:`ingest.native.ScanArrays` that
        the scans filled in place), else those of the one scan, else the scans concatenated."""
        import numpy as np

        parts = self.parts
        if arrays is not None:
            if sum(r.n for r in parts) != len(arrays.kinds):
                raise ValueError("the scans did not fill every row of the batch")
            views, valid, ints, dbls, kinds = arrays.views, arrays.valid, arrays.ints, arrays.dbls, arrays.kinds
            slow, hashes = arrays.flags.astype(bool), arrays.hashes
        elif len(parts) == 1:
            r = parts[0]
            views, valid, ints, dbls, kinds, slow = r.views, r.valid, r.ints, r.dbls, r.kinds, r.slow
            hashes = r.hashes
        elif parts:
            views = np.concatenate([r.views for r in parts], axis=1)
            valid = np.concatenate([r.valid for r in parts], axis=1)
            ints = np.concatenate([r.ints for r in parts], axis=1)
            dbls = np.concatenate([r.dbls for r in parts], axis=1)
            kinds = np.concatenate([r.kinds for r in parts])
            slow = np.concatenate([r.slow for r in parts])
            hashes = np.concatenate([r.hashes for r in parts])
        else:
            views = np.zeros((len(STR_COLUMNS), 0, 16), dtype=np.uint8)
            valid = np.zeros((len(STR_COLUMNS) + len(NUMERIC), 0), dtype=np.uint8)
            ints = np.zeros((len(INT_COLUMNS), 0), dtype=np.int64)
            dbls = np.zeros((len(DBL_COLUMNS), 0), dtype=np.float64)
            kinds = np.zeros(0, dtype=np.int32)
            slow = np.zeros(0, dtype=bool)
            hashes = np.zeros(0, dtype=np.uint64)
        self.parts = []
        n = len(kinds)
        self.n = n
        cols: dict[str, Any] = {}
        for k, name in enumerate(STR_COLUMNS):
            cols[name] = (views[k], valid[k])
        for k, name in enumerate(INT_COLUMNS):
            cols[name] = (ints[k], valid[len(STR_COLUMNS) + k])
        for k, name in enumerate(DBL_COLUMNS):
            cols[name] = (dbls[k], valid[len(STR_COLUMNS) + len(INT_COLUMNS) + k])
        cols["event_kind"] = kinds + 1
        cols["redactions"] = np.zeros(n, dtype=np.int32)
        self.cols = cols
        self.hashes = hashes
        self.present = ~slow
        self.bad: dict[int, list[str]] = {}
        """``seq -> bad_fields`` of the exact path's rows that have any."""

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """Rows of the exact path (``pre_row`` dicts with ``seq``) into their lines' places."""
        import numpy as np
        import pyarrow as pa

        if not rows:
            return
        seqs = np.array([r["seq"] for r in rows], dtype=np.int64)
        for name in STR_COLUMNS:
            array = pa.array([r[name] for r in rows], type=pa.string())
            views, valid, data = string_views(array, len(self.buffers))
            self.buffers.append(data)
            self.cols[name][0][seqs] = views
            self.cols[name][1][seqs] = valid
            if name == "event_id":
                self.hashes[seqs] = md5_prefixes(self.lib, views, self.buffers)
        for name, dtype in NUMERIC.items():
            values = [r[name] for r in rows]
            self.cols[name][0][seqs] = np.array([v if v is not None else 0 for v in values], dtype=dtype)
            self.cols[name][1][seqs] = np.array([v is not None for v in values], dtype=np.uint8)
        index = {kind: i for i, kind in enumerate(self.kinds)}
        self.cols["event_kind"][seqs] = np.array([index[r["event_kind"]] for r in rows], dtype=np.int32)
        self.cols["redactions"][seqs] = np.array([r["redactions"] for r in rows], dtype=np.int32)
        self.present[seqs] = True
        for r in rows:
            if r["bad_fields"]:
                self.bad[int(r["seq"])] = list(r["bad_fields"])

    def bad_fields(self, rows: Any) -> Any:
        """The ``bad_fields`` lists of ``rows`` (empty for every line the scanner handled)."""
        import numpy as np
        import pyarrow as pa

        lengths = np.zeros(len(rows), dtype=np.int32)
        values: list[str] = []
        if self.bad:
            for i, seq in enumerate(rows.tolist()):
                bad = self.bad.get(seq)
                if bad:
                    lengths[i] = len(bad)
                    values.extend(bad)
        offsets = np.zeros(len(rows) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.string()))

    def id_hashes(self, rows: Any) -> Any:
        """The duplicate keys (``uint64``, see :func:`ingest.native.md5_prefixes`) of the event
        ids of ``rows`` (computed by the scanner, and for the exact path's rows by
        :meth:`set_rows`)."""
        return select(self.hashes, rows)

    def string_view(self, name: str, rows: Any) -> Any:
        """Text column ``name`` of the lines ``rows`` as an Arrow ``string_view`` array over the
        batch's buffers (no string bytes are copied; the Parquet writer reads them in place)."""
        import numpy as np
        import pyarrow as pa

        views, valid = self.cols[name]
        views = np.ascontiguousarray(select(views, rows))
        valid = select(valid, rows)
        bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.Array.from_buffers(pa.string_view(), len(valid), [bitmap, pa.py_buffer(views), *self.buffers])

    def arrow(self, name: str, rows: Any = None) -> Any:
        """Column ``name`` (text as ``string``) of the lines ``rows`` (seq numbers; all if None)."""
        import numpy as np
        import pyarrow as pa

        if rows is None:
            rows = slice(None)
            seqs = np.arange(self.n, dtype=np.int64)
        else:
            seqs = np.asarray(rows, dtype=np.int64)
        if name == "seq":
            return pa.array(seqs)
        if name == "bad_fields":
            return self.bad_fields(seqs)
        col = self.cols[name]
        if name == "event_kind":
            return pa.array(self.kinds, type=pa.string()).take(pa.array(col[rows], type=pa.int32()))
        if not isinstance(col, tuple):
            return pa.array(col[rows])
        values, valid = np.ascontiguousarray(select(col[0], rows)), select(col[1], rows)
        if name not in NUMERIC:
            return gather_strings(self.lib, values, valid, self.buffers)
        bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(valid), [bitmap, pa.py_buffer(values)])
