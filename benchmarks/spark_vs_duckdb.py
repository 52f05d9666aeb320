"""DuckDB vs Spark (local[2]) on the same synthetic lake: every view, and the learning job.

For a lake of ``--events`` events (lakehouse.synthetic, or an existing home with ``--home``):

* duckdb: ``lakehouse.connect(refresh="off")`` (views created, intermediate stages computed),
  then ``SELECT count(*)`` of every view;
* spark: session start (reported apart), ``SparkLake.open`` (views translated by sqlglot,
  intermediate stages computed), then ``count()`` of every view;
* learn-local / learn-spark: ``learning.job.run_learn`` vs ``learning.spark_job.run_learn_spark``,
  each in a fresh home whose lake is a hard-linked copy of the event files (the source lake is
  only read).

Phases run in the order given by ``--phases`` (default all); the JSON is rewritten after every
step, so a long run can be read while it goes. Each step records the 1-minute load average when
it ended (the machine may be shared: read ratios, not absolute times). Spark is expected to be
slower on one small machine; the docs (docs/team-setup.md) explain where a cluster wins. Usage:
``python benchmarks/spark_vs_duckdb.py [--quick] [--events N] [--home DIR] [--phases duckdb,spark]
[--out FILE]``; writes ``benchmarks/results/spark_vs_duckdb.json`` by default.
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PHASES = ("duckdb", "spark", "learn-local", "learn-spark")


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


class Results:
    def __init__(self, out: Path, data: dict[str, Any]):
        self.out = out
        self.data = data
        if out.exists():  # keep the phases of an earlier run of the same lake
            try:
                old = json.loads(out.read_text())
                if (old.get("events_requested") == data.get("events_requested")
                        and old.get("lake") == data.get("lake")):
                    self.data = {**old, **data, "views": old.get("views", {})}
            except ValueError:
                pass

    def save(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        tmp.replace(self.out)


def _linked_home(src_events: Path, home: Path) -> Any:
    """A fresh home whose lake's event files are hard links to ``src_events`` (never written)."""
    from hooklake.paths import Paths

    target = Paths.resolve(home)
    shutil.copytree(src_events, target.events, copy_function=os.link)
    return target


def _lake_facts(con: Any) -> dict[str, Any]:
    """Traces and distinct prompts of the lake (what embedding and grouping work on)."""
    traces, prompts, distinct = con.execute(
        "SELECT count(*), count(prompt_text), count(DISTINCT prompt_text) FROM execution_traces").fetchone()
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    return {"events": events, "traces": traces, "traces_with_prompt": prompts, "distinct_prompts": distinct}


def _limit_duckdb(limit: str, spill: Path) -> None:
    """Every DuckDB connection this process opens gets ``memory_limit`` (and a spill folder)."""
    import duckdb

    original = duckdb.connect

    def connect(database: Any = ":memory:", read_only: bool = False, config: dict | None = None, **kw: Any) -> Any:
        config = dict(config or {})
        config.setdefault("memory_limit", limit)
        config.setdefault("temp_directory", str(spill / "duckdb-spill"))
        config.setdefault("preserve_insertion_order", False)
        return original(database, read_only, config=config, **kw)

    duckdb.connect = connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20k events")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--home", default=None, help="read the lake of this home (created if it has none)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--skip-learn", action="store_true", help="phases duckdb,spark only")
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/spark_vs_duckdb.json)")
    parser.add_argument("--workdir", default=None, help="where the learn homes are made (default a temp folder)")
    parser.add_argument("--duckdb-memory", default=None,
                        help="DuckDB memory_limit for the benchmark's connections, e.g. 6GB, with spilling to disk "
                             "and preserve_insertion_order=false (default: DuckDB's own, 80%% of RAM, which gets the "
                             "process killed on a shared machine)")
    args = parser.parse_args(argv)
    events = 20_000 if args.quick else args.events
    phases = [p for p in args.phases.split(",") if p]
    if args.skip_learn:
        phases = [p for p in phases if not p.startswith("learn")]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.duckdb_memory:
        _limit_duckdb(args.duckdb_memory, Path(args.workdir or tempfile.gettempdir()))

    from hooklake.paths import Paths
    from lakehouse.connect import connect, view_names
    from lakehouse.synthetic import generate

    work = Path(tempfile.mkdtemp(prefix="hooklake-spark-bench-", dir=args.workdir))
    home = Path(args.home) if args.home else work / "lake"
    if not Paths.resolve(home).events.is_dir():
        generate(home, events=events)
    paths = Paths.resolve(home)
    out = Path(args.out) if args.out else REPO / "benchmarks" / "results" / "spark_vs_duckdb.json"
    res = Results(out, {"events_requested": events, "lake": str(paths.events) if args.home else "synthetic",
                        "master": args.master, "cpus": os.cpu_count()})
    res.data.setdefault("views", {})
    res.data["events"] = events
    res.save()
    spark = None
    try:
        if "duckdb" in phases:
            t0 = time.perf_counter()
            con = connect(home, refresh="off")
            res.data["duckdb_open_s"] = round(time.perf_counter() - t0, 3)
            res.data["duckdb_open_load"] = _load()
            res.save()
            for v in view_names(con):
                t0 = time.perf_counter()
                n = con.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0]
                res.data["views"].setdefault(v, {}).update(rows=n, duckdb_s=round(time.perf_counter() - t0, 4),
                                                          duckdb_load=_load())
                res.save()
            t0 = time.perf_counter()
            res.data["lake_facts"] = _lake_facts(con)
            res.data["lake_facts"]["query_s"] = round(time.perf_counter() - t0, 3)
            res.save()
            con.close()

        if "spark" in phases or "learn-spark" in phases:
            from lakehouse.spark.session import get_session

            t0 = time.perf_counter()
            spark = get_session(args.master)
            res.data["spark_start_s"] = round(time.perf_counter() - t0, 3)
            res.save()

        if "spark" in phases:
            from lakehouse.spark.engine import SparkLake

            t0 = time.perf_counter()
            lake = SparkLake.open(spark, paths, strict=False)
            res.data["spark_open_s"] = round(time.perf_counter() - t0, 3)
            res.data["spark_open_load"] = _load()
            res.data["spark_untranslated"] = lake.failures
            res.save()
            names = list(res.data["views"]) or lake.views
            for v in names:
                if v not in lake.views:
                    continue
                t0 = time.perf_counter()
                n = spark.table(v).count()
                res.data["views"].setdefault(v, {}).update(spark_rows=n, spark_s=round(time.perf_counter() - t0, 4),
                                                          spark_load=_load())
                res.save()

        from hooklake.settings import load_settings

        if "learn-local" in phases:
            from learning.job import run_learn

            lp = _linked_home(paths.events, work / "learn-local")
            t0 = time.perf_counter()
            local = run_learn(lp, load_settings(lp.config))
            res.data["learn_local_s"] = round(time.perf_counter() - t0, 3)
            res.data["learn_local_load"] = _load()
            res.data["learn_local"] = {"patterns": local.patterns, "traces": local.traces,
                                       "prompts_embedded": local.prompts_embedded,
                                       "embedding_cache_hits": local.embedding_cache_hits,
                                       "embed_s": local.embed_seconds, "index": local.index}
            res.save()
        if "learn-spark" in phases:
            from learning.spark_job import run_learn_spark

            sp = _linked_home(paths.events, work / "learn-spark")
            t0 = time.perf_counter()
            report, extras = run_learn_spark(sp, load_settings(sp.config), spark=spark, master=args.master)
            res.data["learn_spark_s"] = round(time.perf_counter() - t0, 3)
            res.data["learn_spark_load"] = _load()
            res.data["learn_spark"] = {"patterns": report.patterns, "traces": report.traces,
                                       "prompts_embedded_on_spark": extras.embedded_on_spark,
                                       "parts_s": extras.spark_seconds, "index": report.index,
                                       "published": len(extras.published)}
            res.save()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    d = res.data
    print(f"lake: {d['events']:,} events; facts {d.get('lake_facts')}; Spark start {d.get('spark_start_s')}s "
          "(not counted below)")
    print(f"open (views + stages): duckdb {d.get('duckdb_open_s')}s  spark {d.get('spark_open_s')}s")
    print(f"{'view':<28}{'rows':>12}{'duckdb s':>10}{'spark s':>10}{'ratio':>8}")
    nan = float("nan")
    for v, r in d["views"].items():
        ratio = r["spark_s"] / r["duckdb_s"] if r.get("spark_s") and r.get("duckdb_s") else nan
        print(f"{v:<28}{r.get('rows', r.get('spark_rows', 0)):>12,}{r.get('duckdb_s', nan):>10.3f}"
              f"{r.get('spark_s', nan):>10.3f}{ratio:>8.1f}")
    if d.get("duckdb_open_s") is not None and d.get("spark_open_s") is not None:
        d_total = sum(r.get("duckdb_s", 0) for r in d["views"].values())
        s_total = sum(r.get("spark_s", 0) for r in d["views"].values())
        d["total_duckdb_s"] = round(d_total + d["duckdb_open_s"], 3)
        d["total_spark_s"] = round(s_total + d["spark_open_s"], 3)
        d["spark_vs_duckdb_ratio"] = round(d["total_spark_s"] / max(d["total_duckdb_s"], 1e-9), 2)
        print(f"total (open + all views): duckdb {d['total_duckdb_s']}s  spark {d['total_spark_s']}s  "
              f"ratio {d['spark_vs_duckdb_ratio']}")
    if d.get("learn_local_s") and d.get("learn_spark_s"):
        d["learn_ratio"] = round(d["learn_spark_s"] / d["learn_local_s"], 2)
        print(f"learn: local {d['learn_local_s']}s  spark {d['learn_spark_s']}s  ratio {d['learn_ratio']}")
    res.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
