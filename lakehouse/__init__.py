"""The lakehouse: DuckDB views over the Parquet lake, trace assembly, retention and compaction.

``lakehouse.connect()`` returns a DuckDB connection with every view (see lakehouse/connect.py).
"""

from lakehouse.connect import connect
from lakehouse.traces import assemble_trace, trace_timeline

__all__ = ["assemble_trace", "connect", "trace_timeline"]
