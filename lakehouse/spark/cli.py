"""Command handlers for ``--engine spark`` (the commands themselves are registered by the
lakehouse and learning command modules; these run when the option picks Spark).

Only argparse/stdlib at module level: pyspark is imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

ENGINES = ("duckdb", "spark")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--master`` for a command that can run on Spark."""
    parser.add_argument("--engine", choices=ENGINES, default="duckdb",
                        help="duckdb (default, in-process) or spark (Spark SQL over the same lake)")
    parser.add_argument("--master", default=None,
                        help="Spark master URL with --engine spark (default local[2]; e.g. spark://host:7077, yarn, "
                             "k8s://...; $HOOKLAKE_SPARK_MASTER)")


def analytics_spark(args: argparse.Namespace) -> int:
    """``hooklake analytics VIEW --engine spark``: the view computed by Spark SQL."""
    from hooklake.errors import HooklakeError
    from lakehouse.spark.engine import open_lake

    lake = open_lake(master=args.master)
    if args.view not in lake.views:
        raise HooklakeError(f"unknown view '{args.view}'; views: {', '.join(lake.views)}")
    rows = lake.rows(args.view, limit=args.limit)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print(f"{args.view}: no rows")
        return 0
    cols = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        text = "" if v is None else str(v).replace("\n", " ")
        return text if len(text) <= 40 else text[:37] + "..."

    table = [[cell(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in table)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    return 0


def learn_spark(args: argparse.Namespace) -> int:
    """``hooklake learn --engine spark``."""
    from learning.spark_job import run_learn_spark

    report, extras = run_learn_spark(master=args.master, full=bool(getattr(args, "full", False)),
                                     progress=not (args.json or getattr(args, "no_progress", False)))
    data = {**report.as_dict(), "engine": "spark", "master": extras.master, "spark_seconds": extras.spark_seconds,
            "embedded_on_spark": extras.embedded_on_spark, "distinct_prompts": extras.distinct_prompts,
            "index_shards": extras.index_shards, "published_objects": len(extras.published)}
    if args.json:
        print(json.dumps(data, default=str))
    else:
        print(f"learned {report.patterns} pattern(s) from {report.successful_traces} successful trace(s) on Spark "
              f"({extras.master}); {extras.embedded_on_spark} prompt(s) embedded on the executors; "
              f"index {report.index_version} ({extras.index_shards} shard(s) merged)" + (f"; published {len(extras.published)} object(s)" if extras.published else ""))
    return 0
