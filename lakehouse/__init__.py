"""The lakehouse: DuckDB views over the Parquet lake, trace assembly, retention and compaction.

``lakehouse.connect()`` returns a DuckDB connection with every view (see lakehouse/connect.py).
"""

from lakehouse.connect import connect

__all__ = ["connect"]
