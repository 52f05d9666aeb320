"""Trace documents: everything trace assembly reads about one trace, in one row of the rollup.

Why: assembling a trace reads its ``trace_facts`` row (63 columns) and its rows of four span tables
(``tool_calls_base``, ``hook_executions``, ``endpoint_calls``, ``routing_logged``). DuckDB loads a
whole storage block per column it touches, so the first lookup of a trace on a connection costs
some ninety block loads (milliseconds at 10M events), even though the rows are tiny. The
``trace_docs`` table holds, per trace, one JSON text with the same values (positional arrays, no
keys), so a first lookup loads the index path and one block of that one column.

Layout of a document (one JSON array)::

    [facts, [tool, ...], [hook, ...], [endpoint, ...], [routing, ...]]

``facts`` is the trace_facts row, each span a row of its table restricted to the columns trace
assembly reads (``PARTS``; the correlation id is left out: it is the document's). Values are JSON
values; timestamps are microseconds since the epoch (exact, and cheap to turn back into
datetimes). Rows of a span table are in row-id order, the order an index lookup returns them.
Endpoint spans are the ``kind = 'http'`` rows only (the ones assembly shows).

The rollup's ``rollup_meta`` row ``trace_docs_layout`` records the columns and types of each part.
A reader uses the documents only when that layout matches ``PARTS`` (otherwise, and on rollups
built before this table existed, it reads the tables as before). The rollup refresh keeps the
table current: the documents of every trace whose rows a refresh touched are rebuilt, and a
rollup without the table (or with an older layout) gets it from its existing tables in one
set-based pass (``build``), without recomputing any view.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

TABLE = "trace_docs"
META_KEY = "trace_docs_layout"
VERSION = 1

TOOL_COLUMNS = (
    "correlation_id", "tool_use_id", "tool_name", "mcp_server", "mcp_tool", "started_at", "ended_at", "duration_ms",
    "end_status", "open_status", "error_message", "tool_input", "subagent_type", "run_in_background", "agent_id",
)
HOOK_COLUMNS = (
    "correlation_id", "execution_id", "hook_name", "hook_event", "hook_type", "intelligence_type", "tool_name",
    "tool_use_id", "started_at", "duration_ms", "status", "exit_code", "decision", "error_message",
)
ENDPOINT_COLUMNS = (
    "correlation_id", "call_id", "service", "endpoint", "kind", "method", "started_at", "duration_ms", "status",
    "status_code", "error_type", "error_message", "retries",
)
ROUTING_COLUMNS = (
    "correlation_id", "decision_id", "selected_agent", "confidence_score", "alternatives", "reasoning",
    "routing_strategy", "routing_time_ms", "created_at",
)
ENDPOINT_FILTER = "kind = 'http'"

PARTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    # (part, rollup table, columns read by trace assembly, row filter)
    ("tools", "tool_calls_base", TOOL_COLUMNS, ""),
    ("hooks", "hook_executions", HOOK_COLUMNS, ""),
    ("endpoints", "endpoint_calls", ENDPOINT_COLUMNS, ENDPOINT_FILTER),
    ("routing", "routing_logged", ROUTING_COLUMNS, ""),
)
FACTS_TABLE = "trace_facts"

TIMESTAMP_TYPE = "TIMESTAMP WITH TIME ZONE"
PLAIN_TYPES = frozenset({"VARCHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                         "USMALLINT", "UINTEGER", "UBIGINT", "DOUBLE", "VARCHAR[]"})
"""Column types whose JSON value reads back as the Python value DuckDB would return (DOUBLE is
written with a decimal point or exponent, so it reads back as a float). Any other type (but
timestamps with time zone, stored as epoch microseconds) keeps the documents from being built."""

CHUNK_ROWS = 2_000_000
"""Span rows per pass of a whole-table build (bounds the memory of the aggregation)."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def expected_layout(con: Any, db: str = "rollup") -> dict[str, Any] | None:
    """The layout documents built now from ``db``'s tables would have; None when a table or a
    column is missing or a column has a type documents cannot carry exactly."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [db]).fetchall()}
    needed = [FACTS_TABLE, *(table for _, table, _, _ in PARTS)]
    if any(t not in tables for t in needed):
        return None
    facts = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {db}.{FACTS_TABLE}").fetchall()]
    out: dict[str, Any] = {"version": VERSION, "facts": facts}
    for part, table, columns, _ in PARTS:
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {db}.{table}").fetchall()}
        if any(c not in types for c in columns):
            return None
        out[part] = [(c, types[c]) for c in columns[1:]]
    for part in ("facts", *(p for p, _, _, _ in PARTS)):
        if any(t != TIMESTAMP_TYPE and t not in PLAIN_TYPES for _, t in out[part]):
            return None
    return json.loads(json.dumps(out))  # lists, as read back from the stored JSON


def stored_layout(meta: dict[str, str]) -> dict[str, Any] | None:
    """The layout recorded in a rollup's meta rows when this code can read it, else None."""
    raw = meta.get(META_KEY)
    if not raw:
        return None
    try:
        layout = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(layout, dict) or layout.get("version") != VERSION or not layout.get("facts"):
        return None
    for part, _, columns, _ in PARTS:
        if [c for c, _ in layout.get(part) or []] != list(columns[1:]):
            return None
    return layout


def needs_build(meta: dict[str, str]) -> bool:
    """True when a rollup has no documents this code can read, and was not found unable to
    carry them (a column type documents cannot hold exactly) by this version."""
    if stored_layout(meta) is not None:
        return False
    try:
        layout = json.loads(meta.get(META_KEY) or "null")
    except ValueError:
        return True
    return not (isinstance(layout, dict) and layout.get("version") == VERSION and layout.get("unsupported"))


def _value_sql(column: str, type_: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    return f"epoch_us({quoted})" if type_ == TIMESTAMP_TYPE else quoted


def _array_sql(columns: list[tuple[str, str]]) -> str:
    return "json_array(" + ", ".join(_value_sql(c, t) for c, t in columns) + ")::VARCHAR"


def _docs_sql(db: str, layout: dict[str, Any], scope: str) -> str:
    """SELECT correlation_id, doc for the traces ``scope`` (a predicate on correlation_id) selects."""
    joins, pieces = [], []
    for i, (part, table, _, where) in enumerate(PARTS):
        cond = f"({scope})" + (f" AND {where}" if where else "")
        joins.append(
            f"LEFT JOIN (SELECT correlation_id, string_agg({_array_sql(layout[part])}, ',' ORDER BY rowid) AS s "
            f"FROM {db}.{table} WHERE {cond} GROUP BY correlation_id) p{i} USING (correlation_id)")
        pieces.append(f"coalesce(p{i}.s, '')")
    body = " || '],[' || ".join(pieces)
    return (f"SELECT f.correlation_id, '[' || {_array_sql(layout['facts'])} "
            f"|| ',[' || {body} || ']]' AS doc "
            f"FROM (SELECT * FROM {db}.{FACTS_TABLE} WHERE {scope}) f " + " ".join(joins))


def build(con: Any, db: str = "rollup", *, scope_table: str | None = None) -> bool:
    """Create or refresh ``db.trace_docs`` from ``db``'s tables; True when the table is current.

    Without ``scope_table`` the table is (re)built whole, in passes over hash ranges of the
    correlation id. With it (a table with a ``correlation_id`` column) only those traces'
    documents are replaced (the caller must have kept the table current up to that change; if
    the stored layout differs, the whole table is rebuilt instead).
    Writes the ``trace_docs_layout`` meta row either way. When the tables cannot be carried
    exactly (``expected_layout`` is None) the table is dropped, the meta row says so (no later
    refresh tries again) and False is returned: trace assembly then reads the tables.
    """
    layout = expected_layout(con, db)
    if layout is None:
        drop(con, db)
        con.execute(f"INSERT INTO {db}.rollup_meta VALUES (?, ?)",
                    [META_KEY, json.dumps({"version": VERSION, "unsupported": True})])
        return False
    if scope_table is not None:
        stored = dict(con.execute(f"SELECT key, value FROM {db}.rollup_meta WHERE key = ?", [META_KEY]).fetchall())
        if stored_layout(stored) != layout:  # documents of another shape: replace them all
            scope_table = None
    con.execute("BEGIN")
    try:
        if scope_table is None:
            con.execute(f"DROP TABLE IF EXISTS {db}.{TABLE}")
            con.execute(f"CREATE TABLE {db}.{TABLE} (correlation_id VARCHAR, doc VARCHAR)")
            rows = max(con.execute(f"SELECT count(*) FROM {db}.{table}").fetchone()[0] for _, table, _, _ in PARTS)
            passes = max(1, -(-rows // CHUNK_ROWS))
            for n in range(passes):
                scope = "true" if passes == 1 else f"hash(correlation_id) % {passes} = {n}"
                con.execute(f"INSERT INTO {db}.{TABLE} {_docs_sql(db, layout, scope)}")
            con.execute(f"CREATE INDEX idx_{TABLE}_correlation_id ON {db}.{TABLE} (correlation_id)")
        else:
            scope = f"correlation_id IN (SELECT correlation_id FROM {scope_table})"
            con.execute(f"DELETE FROM {db}.{TABLE} WHERE {scope}")
            con.execute(f"INSERT INTO {db}.{TABLE} {_docs_sql(db, layout, scope)}")
        con.execute(f"DELETE FROM {db}.rollup_meta WHERE key = ?", [META_KEY])
        con.execute(f"INSERT INTO {db}.rollup_meta VALUES (?, ?)", [META_KEY, json.dumps(layout)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return True


def drop(con: Any, db: str = "rollup") -> None:
    con.execute(f"DROP TABLE IF EXISTS {db}.{TABLE}")
    con.execute(f"DELETE FROM {db}.rollup_meta WHERE key = ?", [META_KEY])


class Decoder:
    """Turns a stored document back into the rows the tables would give (same keys and Python
    types: timestamps as UTC datetimes)."""

    def __init__(self, layout: dict[str, Any]) -> None:
        self.facts = self._plan(layout["facts"])
        self.parts = {part: self._plan([["correlation_id", "VARCHAR"], *layout[part]]) for part, _, _, _ in PARTS}

    @staticmethod
    def _plan(columns: list[list[str]]) -> tuple[list[str], list[int]]:
        return [c for c, _ in columns], [i for i, (_, t) in enumerate(columns) if t == TIMESTAMP_TYPE]

    @staticmethod
    def _row(plan: tuple[list[str], list[int]], values: list[Any]) -> dict[str, Any]:
        names, stamps = plan
        for i in stamps:
            if values[i] is not None:
                values[i] = _EPOCH + dt.timedelta(microseconds=values[i])
        return dict(zip(names, values))

    def decode(self, correlation_id: str, doc: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """(trace_facts row, {part: [rows]}) of one document."""
        facts, *parts = json.loads(doc)
        spans = {}
        for (part, _, _, _), rows in zip(PARTS, parts):
            plan = self.parts[part]
            spans[part] = [self._row(plan, [correlation_id, *r]) for r in rows]
        return self._row(self.facts, facts), spans
