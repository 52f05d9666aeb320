"""DuckDB vs Spark (local[2]) on the same synthetic lake: every view, and the learning job.

For a lake of ``--events`` events (lakehouse.synthetic), in one process:

* DuckDB: ``lakehouse.connect(refresh="off")`` (views created, intermediate stages computed),
  then ``SELECT count(*)`` of every view;
* Spark: session start (reported apart), ``SparkLake.open`` (views translated by sqlglot,
  intermediate stages computed), then ``count()`` of every view;
* learn: ``learning.job.run_learn`` vs ``learning.spark_job.run_learn_spark`` on copies of the
  lake (``--skip-learn`` to leave out).

Spark is expected to be slower on one small machine; the ratio is the figure to read. The docs
(docs/team-setup.md) explain where a cluster wins. Usage:
``python benchmarks/spark_vs_duckdb.py [--quick] [--events N] [--master local[2]]``; writes
``benchmarks/results/spark_vs_duckdb.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20k events")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--skip-learn", action="store_true")
    parser.add_argument("--home", default=None, help="reuse (or create) a synthetic lake here")
    args = parser.parse_args(argv)
    events = 20_000 if args.quick else args.events
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from hooklake.paths import Paths
    from lakehouse.connect import connect, view_names
    from lakehouse.synthetic import generate

    work = Path(tempfile.mkdtemp(prefix="hooklake-spark-bench-"))
    home = Path(args.home) if args.home else work / "lake"
    if not Paths.resolve(home).events.is_dir():
        generate(home, events=events)
    paths = Paths.resolve(home)
    results: dict = {"events": events, "master": args.master, "views": {}}
    try:
        t0 = time.perf_counter()
        con = connect(home, refresh="off")
        results["duckdb_open_s"] = round(time.perf_counter() - t0, 3)
        names = view_names(con)
        for v in names:
            t0 = time.perf_counter()
            n = con.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0]
            results["views"][v] = {"rows": n, "duckdb_s": round(time.perf_counter() - t0, 4)}
        con.close()

        from lakehouse.spark.engine import SparkLake
        from lakehouse.spark.session import get_session

        t0 = time.perf_counter()
        spark = get_session(args.master)
        results["spark_start_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        lake = SparkLake.open(spark, paths, strict=False)
        results["spark_open_s"] = round(time.perf_counter() - t0, 3)
        results["spark_untranslated"] = lake.failures
        for v in names:
            if v not in lake.views:
                continue
            t0 = time.perf_counter()
            n = spark.table(v).count()
            results["views"][v].update(spark_rows=n, spark_s=round(time.perf_counter() - t0, 4))

        if not args.skip_learn:
            from hooklake.settings import load_settings
            from learning.job import run_learn
            from learning.spark_job import run_learn_spark

            for name in ("learn-local", "learn-spark"):
                target = Paths.resolve(work / name)
                shutil.copytree(paths.events, target.events)
            t0 = time.perf_counter()
            local = run_learn(Paths.resolve(work / "learn-local"), load_settings(Paths.resolve(work / "learn-local").config))
            results["learn_local_s"] = round(time.perf_counter() - t0, 3)
            sp = Paths.resolve(work / "learn-spark")
            t0 = time.perf_counter()
            report, extras = run_learn_spark(sp, load_settings(sp.config), spark=spark)
            results["learn_spark_s"] = round(time.perf_counter() - t0, 3)
            results["learn_patterns"] = {"local": local.patterns, "spark": report.patterns}
            results["learn_spark_parts_s"] = extras.spark_seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)

    d_total = sum(r["duckdb_s"] for r in results["views"].values())
    s_total = sum(r.get("spark_s", 0) for r in results["views"].values())
    print(f"lake: {events:,} events; Spark start {results['spark_start_s']}s (not counted below)")
    print(f"open (views + stages): duckdb {results['duckdb_open_s']}s  spark {results['spark_open_s']}s")
    print(f"{'view':<28}{'rows':>10}{'duckdb s':>10}{'spark s':>10}{'ratio':>8}")
    for v, r in results["views"].items():
        ratio = r["spark_s"] / r["duckdb_s"] if r.get("spark_s") and r["duckdb_s"] else float("nan")
        print(f"{v:<28}{r['rows']:>10,}{r['duckdb_s']:>10.3f}{r.get('spark_s', float('nan')):>10.3f}{ratio:>8.1f}")
    results["total_duckdb_s"] = round(d_total + results["duckdb_open_s"], 3)
    results["total_spark_s"] = round(s_total + results["spark_open_s"], 3)
    results["spark_vs_duckdb_ratio"] = round(results["total_spark_s"] / max(results["total_duckdb_s"], 1e-9), 2)
    print(f"total (open + all views): duckdb {results['total_duckdb_s']}s  spark {results['total_spark_s']}s  "
          f"ratio {results['spark_vs_duckdb_ratio']}")
    if "learn_local_s" in results:
        print(f"learn: local {results['learn_local_s']}s  spark {results['learn_spark_s']}s  "
              f"ratio {round(results['learn_spark_s'] / results['learn_local_s'], 2)}")
    out = REPO / "benchmarks" / "results" / "spark_vs_duckdb.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
