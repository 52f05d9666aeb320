"""The lakehouse on Apache Spark: the same views (translated from the DuckDB SQL files by
sqlglot) over the same lake, for a team's lake that outgrows one machine.

    from lakehouse.spark.engine import open_lake
    lake = open_lake(master="local[2]")          # or spark://..., yarn, k8s://...
    lake.table("agent_success_rates").show()

Nothing here is imported by the default (DuckDB) paths; pyspark is needed only when used.
"""
