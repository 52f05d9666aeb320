"""Duplicates, correlation ids and partition dates of one batch on the native path (numpy/Arrow).

The rules are those of :func:`ingest.vectorized.keys_sql`, which the DuckDB path runs; the two
paths must give identical lakes and checkpoints:

* duplicate key of an event = the first 8 bytes of ``md5(event_id)`` (big-endian ``uint64``);
  the batch keeps the first line (lowest seq) of every event id, then drops the ids whose key is
  in the committed history. Equal keys inside the batch are confirmed on the event id text, so
  two different ids never collapse into one;
* in every session, prompt events (``event_kind = 'prompt'`` with a session id) are numbered
  in seq order, continuing the session's ordinal of earlier batches; a prompt's trace is
  ``coalesce(prompt_id, correlation_id given, md5(session_id || ':' || ordinal))``;
* ``correlation_id`` = the row's prompt trace, else ``coalesce(prompt_id, correlation_id given)``,
  else (a session event other than ``session_start``) the latest prompt trace of its session so
  far (this batch, then earlier batches); ``root_id`` = ``coalesce(root_id given, correlation_id)``;
* date = the UTC day of ``event_us``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest import native

_EPOCH = _dt.date(1970, 1, 1)
_DAY_US = 86_400_000_000


@dataclass
class BatchKeys:
    """What the commit of a batch needs from its key step (both paths fill the summary fields;
    the native path also fills the per-row arrays used by its writer)."""

    written: int = 0
    redacted: int = 0
    redacted_events: int = 0
    missing_session: int = 0
    bad_fields: list[tuple[Any, str, int]] = field(default_factory=list)
    """``(event_name, field, count)`` of rows whose payload field had the wrong type."""
    dates: list[str] = field(default_factory=list)
    """Partition dates of the kept rows, sorted."""
    date_rows: dict[str, int] = field(default_factory=dict)
    new_hashes: Any = None
    """Duplicate keys of the kept rows, in seq order (``uint64``)."""
    session_updates: list[tuple[str, Any, Any, int]] = field(default_factory=list)
    """``(session_id, max ordinal or None, latest prompt trace or None, max captured_us)``."""
    seq: Any = None
    """Native path: the kept rows (seq, ascending)."""
    date_index: Any = None
    """Native path: per kept row, its date's index in ``dates``."""
    correlation_id: Any = None
    root_id: Any = None
    session_codes: Any = None
    """Native path: per kept row, its session's index in ``session_names`` (-1: no session)."""
    session_names: Any = None
    """Native path: the batch's distinct session ids (Arrow ``string``), in order of first row."""


def compute_keys(store: Any, history: Any, sessions: dict[str, list[Any]], sdk_kinds: frozenset[str]) -> BatchKeys:
    """The keys of the rows of ``store`` (a :class:`ingest.native.rows.RowStore`) that became a
    row, against the committed ``history`` (``uint64`` keys) and checkpoint ``sessions``
    (``session_id -> [ordinal, trace, last_seen_us]``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    present = np.flatnonzero(store.present)
    hashes = store.id_hashes(present)
    keep = _first_of_each_id(store, present, hashes)
    if history is not None and len(history) and keep.any():
        keep &= ~native.in_set(store.lib, hashes, history)
    kept = present[keep]
    k = len(kept)
    out = BatchKeys(seq=kept, new_hashes=hashes[keep], written=k)

    kinds = store.cols["event_kind"][kept]

    def of_kind(names: Any) -> Any:
        """Per kept row: its event kind is one of ``names`` (several codes may share a kind)."""
        return np.array([name in names for name in store.kinds], dtype=bool)[kinds]

    redactions = store.cols["redactions"][kept]
    out.redacted = int(redactions.sum())
    out.redacted_events = int(np.count_nonzero(redactions))

    sess, session_names = _session_groups(store, kept)
    sids = session_names.to_pylist()
    out.session_codes, out.session_names = sess, session_names
    has_session = sess >= 0
    out.missing_session = int(np.count_nonzero(~has_session & ~of_kind(sdk_kinds)))

    bad: Counter[tuple[Any, str]] = Counter()
    bad_rows = kept[np.isin(kept, np.fromiter(store.bad, dtype=np.int64))].tolist() if store.bad else []
    if bad_rows:
        names = store.arrow("event_name", np.array(bad_rows, dtype=np.int64)).to_pylist()
        for seq, name in zip(bad_rows, names):
            for f in store.bad[int(seq)]:
                bad[(name, f)] += 1
    out.bad_fields = [(name, f, count) for (name, f), count in bad.items()]

    # --- partition dates
    event_us = store.cols["event_us"][0][kept]
    days, out.date_index = _days(event_us // _DAY_US)
    out.dates = [(_EPOCH + _dt.timedelta(days=int(d))).isoformat() for d in days]
    counts = np.bincount(out.date_index, minlength=len(days)) if k else np.zeros(0, dtype=np.int64)
    out.date_rows = {d: int(c) for d, c in zip(out.dates, counts)}

    # --- correlation ids, in session order
    prompt_id = store.arrow("prompt_id", kept)
    given = pc.coalesce(prompt_id, store.arrow("given_correlation_id", kept)) \
        if _any_valid(store, "given_correlation_id", kept) else prompt_id
    is_prompt = of_kind(("prompt",)) & has_session
    old = [sessions.get(sid) for sid in sids]
    # one entry per session, plus a last one that rows without a session (index -1) read
    s_ordinal = np.array([int(o[0]) if o is not None and o[0] is not None else 0 for o in old] + [0], dtype=np.int64)
    s_trace = [o[1] if o is not None else None for o in old]

    order = np.argsort(sess, kind="stable")  # rows grouped by session, in seq order within each
    s_sorted = sess[order]
    starts_mask = np.ones(k, dtype=bool)
    starts_mask[1:] = s_sorted[1:] != s_sorted[:-1]
    group_start = np.maximum.accumulate(np.where(starts_mask, np.arange(k), 0)) if k else np.zeros(0, np.int64)
    p_sorted = is_prompt[order]
    running = np.cumsum(p_sorted)
    before = np.where(group_start > 0, running[group_start - 1], 0) if k else running
    nth = running - before  # prompts of the session up to and including this row (this batch)
    ordinal = np.zeros(k, dtype=np.int64)
    ordinal[order] = s_ordinal[s_sorted] + nth

    prompt_rows = np.flatnonzero(is_prompt)
    p_index = np.full(k, -1, dtype=np.int64)
    p_index[prompt_rows] = np.arange(len(prompt_rows))
    given_p = given.take(pa.array(prompt_rows, type=pa.int64()))
    derived: list[Any] = [None] * len(prompt_rows)
    missing = np.flatnonzero(~np.asarray(given_p.is_valid())) if given_p.null_count else []
    for i in missing:
        row = int(prompt_rows[i])
        derived[i] = hashlib.md5(f"{sids[sess[row]]}:{int(ordinal[row])}".encode()).hexdigest()
    prompt_trace = pc.coalesce(given_p, pa.array(derived, type=pa.string())) if len(prompt_rows) else \
        pa.array([], type=pa.string())

    # the latest prompt row of the session at or before each row (-1: none in this batch)
    pos_sorted = np.where(p_sorted, np.arange(k), -1)
    last_sorted = np.maximum.accumulate(pos_sorted) if k else pos_sorted
    last_sorted = np.where(last_sorted >= group_start, last_sorted, -1)
    last_prompt = np.full(k, -1, dtype=np.int64)
    last_prompt[order] = np.where(last_sorted >= 0, order[np.maximum(last_sorted, 0)], -1)

    n_p = len(prompt_rows)
    index = np.full(k, -1, dtype=np.int64)
    has_given = np.asarray(given.is_valid()) if given.null_count else np.ones(k, dtype=bool)
    index[has_given] = np.flatnonzero(has_given)
    inherit = ~has_given & ~is_prompt & has_session & ~of_kind(("session_start",))
    from_batch = inherit & (last_prompt >= 0)
    index[from_batch] = k + p_index[last_prompt[from_batch]]
    trace_known = np.array([t is not None for t in s_trace] + [False], dtype=bool)
    from_state = inherit & (last_prompt < 0) & trace_known[sess]
    index[from_state] = k + n_p + sess[from_state]
    index[prompt_rows] = k + np.arange(n_p)
    candidates = pa.concat_arrays([given.cast(pa.string()), prompt_trace.cast(pa.string()),
                                   pa.array(s_trace, type=pa.string())])
    out.correlation_id = candidates.take(pa.array(index, mask=index < 0, type=pa.int64()))
    out.root_id = pc.coalesce(store.arrow("given_root_id", kept), out.correlation_id) \
        if _any_valid(store, "given_root_id", kept) else out.correlation_id

    # --- the sessions' state for the next checkpoint
    if len(sids):
        group_first = np.flatnonzero(starts_mask)
        group_last = np.append(group_first[1:], k) - 1
        captured = store.cols["captured_us"][0][kept][order]
        last_seen = np.maximum.reduceat(captured, group_first)
        count = nth[group_last]
        trace_rows = last_prompt[order[group_last]]
        real = s_sorted[group_first] >= 0  # the group of rows without a session is not a session
        group_s = s_sorted[group_first][real]
        n_prompts = count[real]
        has_trace = trace_rows[real] >= 0
        trace_index = np.where(has_trace, p_index[np.maximum(trace_rows[real], 0)], -1)
        traces = prompt_trace.take(pa.array(trace_index, mask=~has_trace, type=pa.int64())).to_pylist() \
            if len(prompt_rows) else [None] * len(group_s)
        ordinals = (s_ordinal[group_s] + n_prompts).tolist()
        out.session_updates = [
            (sids[sid], ordinal if prompts else None, trace, seen)
            for sid, ordinal, prompts, trace, seen in zip(group_s.tolist(), ordinals, n_prompts.tolist(), traces,
                                                         last_seen[real].tolist())
        ]
    return out


def _session_groups(store: Any, rows: Any) -> tuple[Any, Any]:
    """The session of each of ``rows``: its index in the distinct session ids (``-1``: none),
    and those ids (Arrow ``string``) in order of first row, as ``dictionary_encode`` numbers
    them; grouped in C over the text views, only the distinct ids are copied out."""
    import numpy as np
    import pyarrow.compute as pc

    from ingest.native.rows import select

    views, valid = store.cols["session_id"]
    grouped = native.group_views(store.lib, select(views, rows), select(valid, rows), store.buffers)
    if grouped is not None:
        codes, first = grouped
        return codes, store.arrow("session_id", np.asarray(rows)[first])
    encoded = store.arrow("session_id", rows).dictionary_encode()
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _any_valid(store: Any, name: str, rows: Any) -> bool:
    """Does text column ``name`` have a value in any of ``rows``? (Most batches carry no given
    correlation or root ids: then the coalesce with them is skipped.)"""
    from ingest.native.rows import select

    return bool(select(store.cols[name][1], rows).any())


def _days(day: Any) -> tuple[Any, Any]:
    """``np.unique(day, return_inverse=True)``; by counting when the days span a few years
    (a batch's usually do), which is much cheaper than sorting."""
    import numpy as np

    if len(day):
        low = int(day.min())
        span = int(day.max()) - low + 1
        if span <= 4096:
            counts = np.bincount(day - low, minlength=span)
            used = counts > 0
            rank = np.cumsum(used) - 1
            return np.flatnonzero(used) + low, rank[day - low]
    days, inverse = np.unique(day, return_inverse=True)
    return days, inverse.reshape(-1)


def _first_of_each_id(store: Any, present: Any, hashes: Any) -> Any:
    """Mask over ``present``: the first row (lowest seq) of each event id. Rows whose key is
    unique in the batch are kept at once; rows sharing a key are decided on the id text."""
    import numpy as np

    m = len(present)
    keep = np.ones(m, dtype=bool)
    if m < 2:
        return keep
    same = native.repeated(store.lib, hashes)
    if not same.any():
        return keep
    rows = np.flatnonzero(same)
    ids = store.arrow("event_id", present[rows]).to_pylist()
    seen: set[Any] = set()
    for pos, event_id in zip(rows.tolist(), ids):
        if event_id in seen:
            keep[pos] = False
        else:
            seen.add(event_id)
    return keep
