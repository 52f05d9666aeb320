"""The DuckDB path: spool lines -> canonical rows in DuckDB SQL, no Python loop per event.

Ingest uses it when the native scanner (:mod:`ingest.native`) is not available (no C compiler,
``HOOKLAKE_INGEST_NATIVE=0``) or cannot apply the configuration (extra redaction patterns);
:func:`keys_sql` (correlation ids in session order, duplicates) is this path's key step; the
native path computes the same keys with numpy (:mod:`ingest.native.keys`).

A batch of spool lines arrives as one Arrow string column (zero-copy over the bytes read).
One vectorised regular-expression scan (:meth:`ingest.redact.Redactor.prefilter_regex`, Polars /
Rust ``regex``) marks the lines that may hold a secret; DuckDB parses every other line once
(``json_extract`` with all paths) and computes the same columns that
:func:`ingest.normalize.pre_row` computes in Python. A line the SQL is not sure about (invalid
JSON, unexpected envelope types, ...) is handed to the Python path, which quarantines it or
normalises it exactly. Field type checks are generated from the pydantic payload models
(:func:`ingest.normalize.payload_field_checks`), so the SQL checks what the contract declares.
"""

from __future__ import annotations

from hooks import envelope as env_format
from ingest import schema
from ingest.normalize import payload_field_checks

ENVELOPE_PATHS: tuple[str, ...] = (
    env_format.FIELD_VERSION,
    env_format.FIELD_EVENT_ID,
    env_format.FIELD_CAPTURED_NS,
    env_format.FIELD_SOURCE,
    env_format.FIELD_HOST,
    env_format.FIELD_DEFECT,
    env_format.FIELD_RAW_B64,
)

#: Payload paths read by the extraction (besides the fields the pydantic checks need).
EXTRA_PAYLOAD_PATHS: tuple[str, ...] = (
    "hook_event_name", "session_id", "prompt_id", "correlation_id", "root_id", "parent_id", "execution_id",
    "agent_id", "agent_type", "tool_name", "tool_use_id", "service", "endpoint", "duration_ms", "status",
    "error", "is_interrupt", "exit_code", "success", "prompt", "cwd", "transcript_path", "permission_mode",
    "model", "input_tokens", "output_tokens", "usage.input_tokens", "usage.output_tokens", "cost_usd",
    "timestamp",
)

MAX_EVENT_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z

#: Payload fields read as strings (decoded once per row).
TEXT_FIELDS: tuple[str, ...] = (
    "hook_event_name", "session_id", "prompt_id", "agent_id", "agent_type", "tool_name", "tool_use_id",
    "prompt", "cwd", "transcript_path", "permission_mode", "status", "error", "timestamp",
)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Extraction:
    """Builds the SQL once per process (it depends only on the schema module)."""

    def __init__(self) -> None:
        self.checks = payload_field_checks()
        payload_paths: list[str] = list(EXTRA_PAYLOAD_PATHS)
        for name in self.checks:
            if name not in payload_paths:
                payload_paths.append(name)
        self.index: dict[str, int] = {}
        self.env_paths = [f"$.{name}" for name in ENVELOPE_PATHS]
        for i, name in enumerate(ENVELOPE_PATHS):
            self.index["env." + name] = i + 1
        self.payload_paths = []
        for i, name in enumerate(payload_paths):
            self.index[name] = i + 1
            self.payload_paths.append("$." + ".".join(f'"{part}"' for part in name.split(".")))

    def f(self, name: str) -> str:
        """The JSON fragment (text) of a payload field, NULL when absent."""
        return f"b[{self.index[name]}]"

    def env(self, name: str) -> str:
        return f"h[{self.index['env.' + name]}]"

    # --- typed readers, mirroring ingest.normalize -------------------------------------
    # A JSON fragment's type is read from its first character (no second parse): '"' string,
    # '{' object, '[' array, 't'/'f' boolean, 'n' null, '-' or a digit a number.

    @staticmethod
    def is_string(frag: str) -> str:
        return f"starts_with({frag}, '\"')"

    @staticmethod
    def is_number(frag: str) -> str:
        return f"(ascii({frag}) BETWEEN 48 AND 57 OR ascii({frag}) = 45)"

    def is_integer(self, frag: str) -> str:
        return f"({self.is_number(frag)} AND strpos({frag}, '.') = 0 AND strpos(lower({frag}), 'e') = 0)"

    def text(self, name: str) -> str:
        """A string field's value; anything else (absent, wrong type) is NULL."""
        return f"s_{name.replace('.', '_')}"

    def decode(self, name: str) -> str:
        """Unquote a string fragment; only one with escapes needs a JSON parse."""
        frag = self.f(name)
        return (
            f"(CASE WHEN {self.is_string(frag)} THEN CASE WHEN contains({frag}, '\\') "
            f"THEN json_extract_string({frag}, '$') ELSE {frag}[2:-2] END END)"
        )

    def as_text(self, name: str) -> str:
        frag = self.f(name)
        return (
            f"(CASE WHEN {frag} IS NULL OR {frag} = 'null' THEN NULL "
            f"WHEN {self.is_string(frag)} THEN json_extract_string({frag}, '$') ELSE {frag} END)"
        )

    def as_integer(self, name: str) -> str:
        frag = self.f(name)
        return f"(CASE WHEN {self.is_integer(frag)} THEN TRY_CAST({frag} AS BIGINT) END)"

    def as_number(self, name: str) -> str:
        frag = self.f(name)
        return f"(CASE WHEN {self.is_number(frag)} THEN CAST({frag} AS DOUBLE) END)"

    def kind_check(self, frag: str, kind: str) -> str:
        absent = f"{frag} IS NULL OR {frag} = 'null'"
        if kind == "string":
            return f"({absent} OR {self.is_string(frag)})"
        if kind == "number":
            return f"({absent} OR {self.is_number(frag)})"
        if kind == "integer":
            return f"({absent} OR {self.is_integer(frag)})"
        if kind == "boolean":
            return f"({absent} OR {frag} IN ('true', 'false'))"
        return "FALSE"  # a type the SQL cannot check: send the line to the Python path

    def field_ok(self, name: str) -> str:
        per_event = self.checks[name]
        frag = self.f(name)
        specific = {ev: kind for ev, kind in per_event.items() if ev != "*"}
        default = self.kind_check(frag, per_event["*"]) if "*" in per_event else "TRUE"
        if not specific:
            return default
        whens = " ".join(
            f"WHEN event_name = {_q(ev)} THEN {self.kind_check(frag, kind)}" for ev, kind in specific.items()
        )
        return f"(CASE {whens} ELSE {default} END)"

    def kind_expr(self) -> str:
        whens = " ".join(f"WHEN {_q(name)} THEN {_q(kind)}" for name, kind in schema.CLAUDE_CODE_KINDS.items())
        sdk = ", ".join(_q(k) for k in sorted(schema.SDK_KINDS))
        return (
            f"(CASE event_name {whens} ELSE "
            f"CASE WHEN event_name IN ({sdk}) THEN event_name ELSE {_q(schema.OTHER_KIND)} END END)"
        )

    def timestamp_us(self) -> str:
        frag = self.f("timestamp")
        iso = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
        s = self.text("timestamp")
        n = f"TRY_CAST({frag} AS BIGINT)"
        d = f"CAST({frag} AS DOUBLE)"
        return f"""(CASE
            WHEN {s} IS NOT NULL THEN
                CASE WHEN regexp_full_match({s}, {_q(iso)}) THEN epoch_us(TRY_CAST({s} AS TIMESTAMPTZ)) END
            WHEN {self.is_integer(frag)} AND {n} IS NOT NULL THEN
                CASE WHEN abs({n}) >= 100000000000000000 THEN {n} // 1000
                     WHEN abs({n}) >= 100000000000000 THEN {n}
                     WHEN abs({n}) >= 100000000000 THEN {n} * 1000
                     ELSE {n} * 1000000 END
            WHEN {self.is_number(frag)} THEN TRY_CAST(
                CASE WHEN abs({d}) >= 1e17 THEN floor({d} / 1000)
                     WHEN abs({d}) >= 1e14 THEN floor({d})
                     WHEN abs({d}) >= 1e11 THEN floor({d} * 1000)
                     ELSE floor({d} * 1e6) END AS BIGINT)
        END)"""

    def sdk_status(self) -> str:
        err, st, ec, ok = self.f("error"), self.f("status"), self.f("exit_code"), self.f("success")
        word = f"lower(trim({self.text('status')}, ' \t\n\r'))"
        from ingest.normalize import STATUS_WORDS

        word_map = " ".join(f"WHEN {_q(w)} THEN {_q(s)}" for w, s in STATUS_WORDS.items())
        return f"""(CASE
            WHEN {err} IS NOT NULL AND {err} NOT IN ('null', 'false', '""', '{{}}', '[]') THEN 'error'
            WHEN {self.is_number(st)} THEN
                CASE WHEN CAST({st} AS DOUBLE) >= 400 THEN 'error' ELSE 'ok' END
            WHEN {self.is_string(st)} AND {word} <> '' THEN (CASE {word} {word_map} ELSE {word} END)
            WHEN {self.is_integer(ec)} THEN CASE WHEN {ec} = '0' THEN 'ok' ELSE 'error' END
            WHEN {ok} = 'true' THEN 'ok'
            WHEN {ok} = 'false' THEN 'error'
        END)"""

    def error_text(self) -> str:
        frag = self.f("error")
        return f"""(CASE WHEN {frag} IS NULL OR {frag} = 'null' THEN NULL
            WHEN {self.is_string(frag)} THEN {self.text('error')}
            WHEN starts_with({frag}, '{{') AND starts_with(json_extract({frag}, '$.message'), '"')
                THEN json_extract_string({frag}, '$.message')
            ELSE {frag} END)"""

    # --- the statements -----------------------------------------------------------------

    def parse_sql(self, lines_relation: str) -> str:
        """Fill table ``pre`` (:data:`PRE_TABLE_TYPES`) from ``lines_relation(seq, slow, head, body)``.

        ``body`` is the payload's bytes exactly as in the spool line and ``head`` the line up to and
        including ``"payload":`` (see ``compactor._split_lines``): when both parse, the line is
        ``head + body + "}"``, so the payload is kept verbatim without re-serialising it.

        The parse is a ``MATERIALIZED`` CTE inside the one ``INSERT``: each line's JSON is parsed
        exactly once (an inlined CTE would repeat ``json_extract`` in every expression that reads
        it) and nothing but ``pre`` is stored as a table.

        Only rows the SQL fully understands land in ``pre``; the caller sends every other line
        (``slow`` ones, invalid JSON, unexpected envelope) through the Python path."""
        env_paths = "[" + ", ".join(_q(p) for p in self.env_paths) + "]"
        payload_paths = "[" + ", ".join(_q(p) for p in self.payload_paths) + "]"
        env_ok = " AND ".join(
            [
                f"{self.env(env_format.FIELD_VERSION)} = '{env_format.FORMAT_VERSION}'",
                f"{self.is_string(self.env(env_format.FIELD_EVENT_ID))}",
                f"length({self.env(env_format.FIELD_EVENT_ID)}) > 2",
                f"{self.is_integer(self.env(env_format.FIELD_CAPTURED_NS))}",
                f"TRY_CAST({self.env(env_format.FIELD_CAPTURED_NS)} AS BIGINT) IS NOT NULL",
                f"NOT starts_with({self.env(env_format.FIELD_CAPTURED_NS)}, '-')",
                f"{self.is_string(self.env(env_format.FIELD_SOURCE))}",
                f"{self.is_string(self.env(env_format.FIELD_HOST))}",
                f"({self.env(env_format.FIELD_DEFECT)} IS NULL OR {self.env(env_format.FIELD_DEFECT)} = 'null')",
                f"({self.env(env_format.FIELD_RAW_B64)} IS NULL OR {self.env(env_format.FIELD_RAW_B64)} = 'null')",
                "starts_with(body, '{')",
            ]
        )
        all_ok = " AND ".join(self.field_ok(name) for name in self.checks)
        bad_fields = (
            f"CASE WHEN {all_ok} THEN CAST([] AS VARCHAR[]) ELSE list_sort(list_filter(["
            + ", ".join(f"CASE WHEN NOT {self.field_ok(name)} THEN {_q(name)} END" for name in self.checks)
            + "], lambda x: x IS NOT NULL)) END"
        )
        tool = self.text("tool_name")
        rest = f"{tool}[6:]"
        pos = f"strpos({rest}, '__')"
        is_mcp = f"starts_with({tool}, 'mcp__') AND {pos} > 1 AND length({rest}) > {pos} + 1"
        captured_us = f"(CAST({self.env(env_format.FIELD_CAPTURED_NS)} AS BIGINT) // 1000)"
        decoded = ",\n        ".join(f"{self.decode(name)} AS {self.text(name)}" for name in TEXT_FIELDS)
        columns = ", ".join(f"{name} {typ}" for name, typ in PRE_TABLE_TYPES.items())
        return f"""
CREATE OR REPLACE TEMP TABLE pre ({columns});
INSERT INTO pre BY NAME
WITH parsed AS MATERIALIZED (
    SELECT seq, body,
        CAST(try(json_extract(head || '0}}', {env_paths})) AS VARCHAR[]) AS h,
        CAST(try(json_extract(body, {payload_paths})) AS VARCHAR[]) AS b
    FROM {lines_relation} WHERE NOT slow
), checked AS (
    SELECT seq, h, b, body FROM parsed WHERE h IS NOT NULL AND b IS NOT NULL AND {env_ok}
), named AS (
    SELECT seq, h, b, body,
        {decoded}
    FROM checked
), typed AS (
    SELECT *, {self.text('hook_event_name')} AS event_name FROM named
), kinded AS (
    SELECT *, {self.kind_expr()} AS event_kind, {self.timestamp_us()} AS ts_us,
        CASE WHEN {is_mcp} THEN {rest}[1:{pos} - 1] END AS mcp_s,
        CASE WHEN {is_mcp} THEN {rest}[{pos} + 2:] END AS mcp_t
    FROM typed
)
SELECT
    seq,
    json_extract_string({self.env(env_format.FIELD_EVENT_ID)}, '$') AS event_id,
    json_extract_string({self.env(env_format.FIELD_SOURCE)}, '$') AS source,
    json_extract_string({self.env(env_format.FIELD_HOST)}, '$') AS host,
    {captured_us} AS captured_us,
    CASE WHEN ts_us BETWEEN 0 AND {MAX_EVENT_US} THEN ts_us ELSE {captured_us} END AS event_us,
    event_name,
    event_kind,
    {self.text('session_id')} AS session_id,
    {self.text('prompt_id')} AS prompt_id,
    {self.as_text('correlation_id')} AS given_correlation_id,
    {self.as_text('root_id')} AS given_root_id,
    {self.as_text('parent_id')} AS parent_id,
    {self.as_text('execution_id')} AS execution_id,
    {self.text('agent_id')} AS agent_id,
    {self.text('agent_type')} AS agent_type,
    {tool} AS tool_name,
    {self.text('tool_use_id')} AS tool_use_id,
    CASE WHEN mcp_s IS NULL THEN {self.as_text('service')} ELSE mcp_s END AS mcp_server,
    CASE WHEN mcp_s IS NULL THEN {self.as_text('endpoint')} ELSE mcp_t END AS mcp_tool,
    {self.as_number('duration_ms')} AS duration_ms,
    CASE event_kind
        WHEN 'tool_end' THEN 'ok'
        WHEN 'stop' THEN 'ok'
        WHEN 'tool_failure' THEN CASE WHEN {self.f('is_interrupt')} = 'true' THEN 'interrupted' ELSE 'error' END
        WHEN 'stop_failure' THEN 'error'
        ELSE CASE WHEN event_kind IN ({", ".join(_q(k) for k in sorted(schema.SDK_KINDS))})
                  THEN {self.sdk_status()} END
    END AS status,
    {self.error_text()} AS error_message,
    CASE WHEN event_kind = 'prompt' THEN {self.text('prompt')} END AS prompt_text,
    {self.text('cwd')} AS cwd,
    {self.text('transcript_path')} AS transcript_path,
    {self.text('permission_mode')} AS permission_mode,
    {self.as_text('model')} AS model,
    coalesce({self.as_integer('input_tokens')}, {self.as_integer('usage.input_tokens')}) AS input_tokens,
    coalesce({self.as_integer('output_tokens')}, {self.as_integer('usage.output_tokens')}) AS output_tokens,
    {self.as_number('cost_usd')} AS cost_usd,
    body AS payload,
    0 AS redactions,
    {bad_fields} AS bad_fields
FROM kinded
"""


PRE_TABLE_TYPES: dict[str, str] = {
    "seq": "BIGINT", "event_id": "VARCHAR", "source": "VARCHAR", "host": "VARCHAR", "captured_us": "BIGINT",
    "event_us": "BIGINT", "event_name": "VARCHAR", "event_kind": "VARCHAR", "session_id": "VARCHAR",
    "prompt_id": "VARCHAR", "given_correlation_id": "VARCHAR", "given_root_id": "VARCHAR",
    "parent_id": "VARCHAR", "execution_id": "VARCHAR", "agent_id": "VARCHAR", "agent_type": "VARCHAR",
    "tool_name": "VARCHAR", "tool_use_id": "VARCHAR", "mcp_server": "VARCHAR", "mcp_tool": "VARCHAR",
    "duration_ms": "DOUBLE", "status": "VARCHAR", "error_message": "VARCHAR", "prompt_text": "VARCHAR",
    "cwd": "VARCHAR", "transcript_path": "VARCHAR", "permission_mode": "VARCHAR", "model": "VARCHAR",
    "input_tokens": "BIGINT", "output_tokens": "BIGINT", "cost_usd": "DOUBLE", "payload": "VARCHAR",
    "redactions": "INTEGER", "bad_fields": "VARCHAR[]",
}

_SQL_TYPES_FOR_ARROW = {
    "BIGINT": "int64", "VARCHAR": "string", "DOUBLE": "float64", "INTEGER": "int32",
}


#: Columns of ``pre`` the session-ordered step needs (the wide ones, like payload, stay out of it).
KEY_INPUT = ("seq", "event_id", "session_id", "event_kind", "event_name", "prompt_id", "given_correlation_id",
             "given_root_id", "event_us", "captured_us", "redactions", "bad_fields")


def keys_sql() -> str:
    """``CREATE TABLE keys``: one row per kept event (duplicates dropped against this batch and
    ``history(h)``) with its correlation ids and partition date, computed in session order with
    ``sessions(session_id, ordinal, trace, last_seen_us)`` from earlier runs. Narrow on purpose:
    window operators materialise their input."""
    return f"""
CREATE OR REPLACE TEMP TABLE keys AS
WITH ranked AS (
    SELECT {", ".join(KEY_INPUT)}, row_number() OVER (PARTITION BY event_id ORDER BY seq) AS dup_rank,
           CAST('0x' || md5(event_id)[1:16] AS UBIGINT) AS id_hash
    FROM pre
), kept AS (
    SELECT r.* FROM ranked r WHERE dup_rank = 1 AND NOT EXISTS (SELECT 1 FROM history h WHERE h.h = r.id_hash)
), ordered AS (
    SELECT k.*, s.ordinal AS s_ordinal, s.trace AS s_trace,
        CASE WHEN event_kind = 'prompt' AND k.session_id IS NOT NULL THEN
            coalesce(s.ordinal, 0) + sum(CASE WHEN event_kind = 'prompt' THEN 1 ELSE 0 END)
                OVER (PARTITION BY k.session_id ORDER BY seq ROWS UNBOUNDED PRECEDING)
        END AS ordinal
    FROM kept k LEFT JOIN sessions s ON s.session_id = k.session_id
), traced AS (
    SELECT *,
        CASE WHEN ordinal IS NOT NULL THEN
            coalesce(prompt_id, given_correlation_id, md5(session_id || ':' || CAST(ordinal AS VARCHAR)))
        END AS prompt_trace
    FROM ordered
), correlated AS (
    SELECT *,
        CASE
            WHEN prompt_trace IS NOT NULL THEN prompt_trace
            WHEN coalesce(prompt_id, given_correlation_id) IS NOT NULL THEN coalesce(prompt_id, given_correlation_id)
            WHEN session_id IS NOT NULL AND event_kind <> 'session_start' THEN coalesce(
                last_value(prompt_trace IGNORE NULLS)
                    OVER (PARTITION BY session_id ORDER BY seq ROWS UNBOUNDED PRECEDING),
                s_trace)
        END AS correlation_id
    FROM traced
)
SELECT seq, correlation_id, coalesce(given_root_id, correlation_id) AS root_id,
    strftime(make_timestamp(event_us), '%Y-%m-%d') AS date,
    id_hash, ordinal, prompt_trace, session_id, event_kind, event_name, captured_us, redactions, bad_fields
FROM correlated
"""


def output_select(ingest_id: str, date: str) -> str:
    """The canonical rows (``schema.CANONICAL_COLUMNS`` order and types) of one partition date."""
    canonical = []
    for name, _typ, _doc in schema.CANONICAL_COLUMNS:
        if name == "schema_version":
            canonical.append(f"CAST({schema.SCHEMA_VERSION} AS SMALLINT) AS schema_version")
        elif name == "captured_at":
            canonical.append("CAST(make_timestamp(p.captured_us) AS TIMESTAMPTZ) AS captured_at")
        elif name == "event_time":
            canonical.append("CAST(make_timestamp(p.event_us) AS TIMESTAMPTZ) AS event_time")
        elif name == "ingest_id":
            canonical.append(f"{_q(ingest_id)} AS ingest_id")
        elif name == "redactions":
            canonical.append("CAST(p.redactions AS INTEGER) AS redactions")
        elif name in ("correlation_id", "root_id"):
            canonical.append(f"k.{name}")
        else:
            canonical.append(f"p.{name}")
    cols = ", ".join(canonical)
    return f"SELECT {cols} FROM pre p JOIN keys k USING (seq) WHERE k.date = {_q(date)}"
