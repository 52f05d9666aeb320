"""Reading and publishing the learned tables (``<lake>/learned/<name>/data.parquet``).

Publishing writes the whole table to a temporary file in the same folder and swaps it in with
``os.replace``: a reader that globs ``*.parquet`` sees the old table or the new one, never half
of either (a reader that already opened the old file keeps reading it).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from learning.tables import LEARNED_TABLES

DATA_FILE = "data.parquet"


def table_dir(lake: Path, name: str) -> Path:
    return Path(lake) / "learned" / name


def read_table(lake: Path, name: str) -> pa.Table:
    """The published table, or an empty one with the registry schema."""
    schema = LEARNED_TABLES[name]
    folder = table_dir(lake, name)
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if not files:
        return schema.empty_table()
    tables = [pq.read_table(f) for f in files]
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    # Older files may lack newer columns: add them as nulls, keep the registry order.
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def publish_table(lake: Path, name: str, table: pa.Table) -> Path:
    """Atomically replace the table with ``table`` (cast to the registry schema)."""
    schema = LEARNED_TABLES[name]
    table = table.select(schema.names).cast(schema)
    folder = table_dir(lake, name)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DATA_FILE
    tmp = folder / f".{DATA_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    # Other *.parquet files (from an older layout) would be read alongside: fold them in once.
    for other in folder.glob("*.parquet"):
        if other.name != DATA_FILE:
            other.unlink()
    return target


def create_relations(con, lake: Path) -> None:
    """Create one relation per learned table on a DuckDB connection (files, or empty typed).

    ``lakehouse.connect()`` does this itself; this helper exists for a connection that has no
    lakehouse views (tests of the learned views, notebooks on a bare learned folder).
    """
    for name, schema in LEARNED_TABLES.items():
        folder = table_dir(lake, name)
        files = sorted(folder.glob("*.parquet")) if folder.exists() else []
        if files:
            listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet([{listing}], union_by_name=true)")
        else:
            empty = schema.empty_table()
            con.register(f"__empty_{name}", empty)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __empty_{name}")
            con.unregister(f"__empty_{name}")


def view_files() -> list[Path]:
    """The seed views over the learned tables, in the order they must be applied."""
    return sorted((Path(__file__).parent / "views").glob("*.sql"))


def apply_views(con) -> None:
    for path in view_files():
        con.execute(path.read_text(encoding="utf-8"))
