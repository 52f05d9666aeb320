"""``connect()``: one DuckDB connection with every view bound to the lake.

The connection is in-memory; the lake is only read. Relations, in creation order:

* ``lake_events``: every row of ``<lake>/events/**/*.parquet`` (Hive ``date=`` partitions), or an
  empty relation typed by ``ingest.schema.arrow_schema()`` when the lake has no files;
* ``lakehouse_settings``: one row with the ``[success]`` thresholds of config.toml;
* ``lakehouse/views/NN_name.sql`` in file-name order (``events`` first: the de-duplicated events);
* the learned base tables of ``learning.tables.LEARNED_TABLES`` (over ``<lake>/learned/<name>/``, or
  empty typed) and then ``learning/views/*.sql``, when the learning package provides them.

Speed: the views that need whole-lake work (pairing tool calls, per-trace facts, ...) are
materialised incrementally in a DuckDB file under the state folder (see ``lakehouse.rollup``).
When that rollup covers exactly the lake's current files, those views read it instead of
recomputing; otherwise the rollup is brought up to date first (``refresh="auto"``), and if that is
not possible (another process is refreshing it) the views compute from the Parquet files.
Either way the answers are the same.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hooklake.paths import Paths

VIEWS_DIR = Path(__file__).resolve().parent / "views"

#: Views whose rows the rollup stores (each has a ``session_key`` column; see lakehouse.rollup).
MATERIALISED: tuple[str, ...] = (
    "tool_calls_base",
    "trace_facts",
    "execution_traces",
    "hook_executions",
    "endpoint_calls",
    "routing_logged",
    "error_events",
    "session_facts",
)

#: Views the rollup stores whole, as ``summary_<name>`` tables (recomputed at each refresh, and
#: when an open trace passes in_progress_timeout_s; see lakehouse.rollup): the summary views, and
#: agent_routing_decisions, whose "latest N" over a union with a join cannot be pruned when it is
#: computed at query time (every logged decision is joined to its trace before the sort).
SUMMARIES: tuple[str, ...] = (
    "agent_success_rates",
    "hook_performance_summary",
    "endpoint_reliability",
    "tool_performance",
    "session_summary",
    "agent_routing_decisions",
)

#: How a stored table is read back. execution_traces is stored as of its refresh; the only column
#: that can change later without a new event is status in_progress -> interrupted (the idle
#: timeout), and that change leaves every criterion and the score as they are (completed is false
#: in both states), so this one expression makes the stored rows exact at query time.
READ_BACK: dict[str, str] = {
    "execution_traces": (
        "SELECT * REPLACE (CASE WHEN status = 'in_progress' AND last_event_at < now() - "
        "to_seconds((SELECT in_progress_timeout_s FROM lakehouse_settings LIMIT 1)) "
        "THEN 'interrupted' ELSE status END AS status) FROM rollup.execution_traces"
    ),
}


SETTING_SUBQUERY = "(SELECT in_progress_timeout_s FROM lakehouse_settings LIMIT 1)"


def settings_literals(con: Any) -> dict[str, str]:
    """Text substitutions that inline the connection's in_progress_timeout_s (fixed for its life)
    into view SQL: a scalar subquery there stops DuckDB from pushing a top-N's dynamic filter into
    the scan of a stored, time-clustered table."""
    row = con.execute("SELECT in_progress_timeout_s FROM lakehouse_settings LIMIT 1").fetchone()
    if row is None or row[0] is None:
        return {}
    return {SETTING_SUBQUERY: f"{float(row[0])!r}::DOUBLE"}


def _substitute(sql: str, substitutions: dict[str, str]) -> str:
    for old, new in substitutions.items():
        sql = sql.replace(old, new)
    return sql


def bind_to_rollup(con: Any) -> None:
    """Point the stored views at the attached ``rollup`` database, then create the others."""
    literals = settings_literals(con)
    for name in MATERIALISED:
        sql = _substitute(READ_BACK.get(name, f"SELECT * FROM rollup.{name}"), literals)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    stored = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'rollup'").fetchall()}
    summaries = frozenset(n for n in SUMMARIES if f"summary_{n}" in stored)
    for name in summaries:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM rollup.summary_{name}")
    apply_views(con, skip=frozenset(MATERIALISED) | summaries, substitutions=literals)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_files(directory: Path = VIEWS_DIR) -> list[Path]:
    """The ``.sql`` files of a views folder in application order (file-name order)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".sql" and p.is_file())


def list_event_files(paths: Paths) -> dict[str, tuple[int, int]]:
    """Every Parquet file of the lake's events: relative path -> (size, mtime_ns)."""
    root = paths.events
    found: dict[str, tuple[int, int]] = {}
    if not root.is_dir():
        return found
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.endswith(".parquet") and not entry.name.startswith("."):
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue  # removed while listing (compaction, retention)
                found[os.path.relpath(entry.path, root)] = (st.st_size, st.st_mtime_ns)
    return found


def events_glob(paths: Paths) -> str:
    return str(paths.events / "**" / "*.parquet")


def duckdb_type(arrow_type: Any) -> str:
    """DuckDB type name for the arrow types the lake schema uses."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return duckdb_type(arrow_type.value_type) + "[]"
    simple = {
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.binary(): "BLOB",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    raise ValueError(f"no DuckDB type for arrow type {arrow_type}")


def empty_table_sql(name: str, schema: Any, extra: str = "") -> str:
    cols = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in schema)
    return f"CREATE OR REPLACE TABLE {name} ({cols}{extra})"


def create_empty_lake_events(con: Any, paths: Paths, files: dict[str, tuple[int, int]]) -> None:
    """``lake_events`` as an empty table with the lake's columns (typed from one file if any)."""
    if files:
        first = str(paths.events / min(files))
        con.execute(
            "CREATE OR REPLACE TABLE lake_events AS SELECT * FROM read_parquet("
            f"{_sql_literal(first)}, hive_partitioning = true) LIMIT 0"
        )
        if "date" not in [r[0] for r in con.execute("DESCRIBE lake_events").fetchall()]:
            con.execute('ALTER TABLE lake_events ADD COLUMN "date" DATE')
    else:
        from ingest.schema import arrow_schema

        con.execute(empty_table_sql("lake_events", arrow_schema(), ', "date" DATE'))


def bind_lake_events(con: Any, paths: Paths, files: dict[str, tuple[int, int]]) -> None:
    """Point ``lake_events`` at the lake's Parquet files (no-op on an empty lake)."""
    if not files:
        return
    con.execute("DROP TABLE IF EXISTS lake_events")
    con.execute(
        "CREATE VIEW lake_events AS SELECT * FROM read_parquet("
        f"{_sql_literal(events_glob(paths))}, hive_partitioning = true, union_by_name = true)"
    )


def create_lake_events(con: Any, paths: Paths, files: dict[str, tuple[int, int]] | None = None) -> None:
    """``lake_events`` over the lake's Parquet files, or empty typed when there are none."""
    if files is None:
        files = list_event_files(paths)
    create_empty_lake_events(con, paths, files)
    bind_lake_events(con, paths, files)


def create_settings(con: Any, settings: Any = None) -> None:
    if settings is None:
        from hooklake.settings import load_settings

        settings = load_settings().success
    con.execute(
        "CREATE OR REPLACE TABLE lakehouse_settings AS SELECT "
        "?::DOUBLE AS max_duration_ms, ?::DOUBLE AS max_hook_duration_ms, "
        "?::DOUBLE AS success_threshold, ?::DOUBLE AS in_progress_timeout_s",
        [
            float(settings.max_duration_ms),
            float(settings.max_hook_duration_ms),
            float(settings.success_threshold),
            float(settings.in_progress_timeout_s),
        ],
    )


def apply_views(con: Any, directory: Path = VIEWS_DIR, skip: frozenset[str] = frozenset(),
                stage: frozenset[str] = frozenset(), substitutions: dict[str, str] | None = None) -> list[str]:
    """Run every ``.sql`` file of ``directory`` in order; returns the view names (file stems without NN_).

    Views named in ``stage`` are computed into a temporary table right after creation and the
    view is pointed at it, so later views bind and run against a table (see STAGES).
    """
    names = []
    for path in view_files(directory):
        head, _, tail = path.stem.partition("_")
        name = tail if head.isdigit() and tail else path.stem
        names.append(name)
        if name in skip:
            continue
        try:
            con.execute(_substitute(path.read_text(encoding="utf-8"), substitutions or {}))
            if name in stage:
                con.execute(f"DROP TABLE IF EXISTS stage_{name}")
                con.execute(f"CREATE TEMP TABLE stage_{name} AS SELECT * FROM {name}")
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM stage_{name}")
        except Exception as exc:  # a broken view file must name itself
            from hooklake.errors import HooklakeError

            raise HooklakeError(f"{path}: could not create view: {exc}") from exc
    return names


#: Intermediate views computed once into temporary tables when views are evaluated in-memory
#: (rollup refresh, or ``refresh="off"``): later views read them many times.
STAGES: tuple[str, ...] = ("events", "trace_events", "tool_calls_base", "subagent_links", "trace_facts")


def materialise_stages(con: Any) -> None:
    """Compute the intermediate views once (temp tables) and point the views at them."""
    for name in STAGES:
        con.execute(f"DROP TABLE IF EXISTS stage_{name}")
        con.execute(f"CREATE TEMP TABLE stage_{name} AS SELECT * FROM {name}")
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM stage_{name}")


def _learned_tables(con: Any, paths: Paths) -> None:
    try:
        from learning.tables import LEARNED_TABLES
    except ModuleNotFoundError as exc:
        if exc.name in ("learning.tables", "learning"):
            return
        raise
    learned_root = paths.lake / "learned"
    for name, schema in LEARNED_TABLES.items():
        folder = learned_root / name
        if folder.is_dir() and any(p.suffix == ".parquet" for p in folder.iterdir()):
            glob = _sql_literal(str(folder / "*.parquet"))
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({glob}, union_by_name = true)")
        else:
            con.execute(empty_table_sql(name, schema))


def _learning_views_dir() -> Path | None:
    try:
        import learning
    except ModuleNotFoundError:
        return None
    base = getattr(learning, "__file__", None)
    if base is None:
        return None
    folder = Path(base).resolve().parent / "views"
    return folder if folder.is_dir() else None


def connect(
    home: str | os.PathLike[str] | None = None,
    read_only: bool = True,
    *,
    refresh: str = "auto",
    learning: bool = True,
    settings: Any = None,
) -> Any:
    """A DuckDB connection with every lakehouse view (and learning's) bound to the lake.

    ``read_only``: kept for the documented signature; the connection is an in-memory database in
    either case and never writes the lake (only the rollup cache under the state folder changes).
    ``refresh``: ``"auto"`` brings the rollup cache up to date when the lake changed (skipped if
    another process holds its lock), ``"never"`` uses it only when already current, ``"off"``
    ignores it (every view computes from the Parquet files).
    ``learning``: also create the learned tables and ``learning/views`` (needs pyarrow; the quick
    CLI listing turns it off).
    """
    import duckdb

    from lakehouse import rollup as rollup_mod

    paths = Paths.resolve(home)
    if "://" in paths.lake_uri:  # a team lake (s3://...): read a local mirror of its live files
        from lakehouse.remote import sync_mirror

        paths = sync_mirror(paths)
    files = list_event_files(paths)
    con = duckdb.connect(":memory:", config={"threads": max(1, min(4, os.cpu_count() or 1))})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET parquet_metadata_cache = true")
    create_settings(con, settings)
    attached = False
    if refresh != "off" and files:
        attached = rollup_mod.attach_if_current(con, paths, files, refresh=(refresh == "auto"))
    if attached:
        # Views are created against an empty typed lake_events (binding views over the Parquet
        # files at creation costs seconds); DuckDB binds views again at query time, so pointing
        # lake_events at the files afterwards is all it takes.
        create_empty_lake_events(con, paths, files)
        bind_to_rollup(con)
        bind_lake_events(con, paths, files)
    else:
        # No current rollup: compute the intermediate views once, in memory, as they are created.
        create_lake_events(con, paths, files)
        apply_views(con, stage=frozenset(STAGES))
    if learning:
        _learned_tables(con, paths)
        folder = _learning_views_dir()
        if folder is not None:
            apply_views(con, folder)
    return con


def connect_rollup(home: str | os.PathLike[str] | None = None, *, settings: Any = None) -> Any | None:
    """A light connection for point lookups: just the current rollup (attached as ``rollup``) and
    ``lakehouse_settings``, no views. Refreshes the rollup if the lake changed; None when it cannot
    be made current (then use :func:`connect`). ``hooklake traces`` uses it to start fast."""
    import duckdb

    from lakehouse import rollup as rollup_mod

    paths = Paths.resolve(home)
    files = list_event_files(paths)
    if not files:
        return None
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    create_settings(con, settings)
    if not rollup_mod.attach_if_current(con, paths, files, refresh=True):
        con.close()
        return None
    return con


def view_names(con: Any) -> list[str]:
    """Views a user may query (the lakehouse's and learning's), in creation order of the files."""
    names = apply_order_names(VIEWS_DIR)
    folder = _learning_views_dir()
    if folder is not None:
        names += apply_order_names(folder)
    existing = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    return [n for n in names if n in existing]


def apply_order_names(directory: Path) -> list[str]:
    out = []
    for path in view_files(directory):
        head, _, tail = path.stem.partition("_")
        out.append(tail if head.isdigit() and tail else path.stem)
    return out
