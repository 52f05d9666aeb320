"""Lakehouse benchmark: trace assembly, every view, and `hooklake traces --limit 50`, at two lake sizes.

    python benchmarks/lakehouse_bench.py            # 1M and 10M events
    python benchmarks/lakehouse_bench.py --quick    # 100k and 300k events (a smoke run)
    python benchmarks/lakehouse_bench.py --events 2000000   # one size
    python benchmarks/lakehouse_bench.py --home H1 --home H2  # existing lakes ($HOOKLAKE_HOME folders)

With ``--home`` the lakes are only read: nothing is generated or compacted; the rollup under the
home's state folder is brought up to date (``--rebuild`` times a full build of it).

For each size: a synthetic lake (lakehouse.synthetic) is generated, compacted (sorted files) and
its rollup built; then, in one process, p50/p95 of ``assemble_trace`` over random traces, of each
view's query, and of ``hooklake traces --limit 50`` run as a subprocess (end to end). A baseline
measured in the same process (a plain group-by over all events in Parquet, and ``python -c pass``)
is reported next to the figures, because this machine is shared and timings are noisy.

``assemble_trace`` figures: "first lookup" asks for ids never looked up before on the connection
(nothing about them is in DuckDB's buffers yet); the rollup file is first read through once, so its
pages are in the OS page cache, as they are after any refresh (a refresh writes the whole file); the
same is measured through the rollup's tables (``lookup="tables"``, the path of rollups without
trace documents) on other ids, as a same-process baseline; "new process" runs each lookup in a
fresh Python process (connect, then one ``assemble_trace``; only that call is timed), and
``hooklake trace ID --json`` is timed end to end. Every id is used by one measurement only.
"cold disk" repeats the first lookup on a new connection after the rollup file's pages were
dropped from the OS cache (``posix_fadvise(DONTNEED)``): every block read then goes to the disk.
Its same-process baseline is one random 4 KB read of the dropped file.

Queries per view: summary views are read whole (``SELECT *``); row-level views are read the way the
dashboard and the CLI read them: the latest 100 rows, and the rows of one trace.

Prints a table and writes benchmarks/results/lakehouse_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SUMMARY_VIEWS = ("agent_success_rates", "hook_performance_summary", "endpoint_reliability", "tool_performance")
ROW_VIEWS = {  # view -> column ordering "latest"
    "execution_traces": "started_at",
    "tool_calls": "started_at",
    "subagent_runs": "started_at",
    "hook_executions": "started_at",
    "endpoint_calls": "started_at",
    "agent_routing_decisions": "created_at",
    "error_events": "occurred_at",
    "session_summary": "started_at",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[idx]


def timed(fn: Any, repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000.0)
    return {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(pct(samples, 0.95), 2),
            "n": repeat}


def build(home: Path, events: int) -> dict[str, Any]:
    from hooklake.paths import Paths
    from lakehouse.maintenance import compact_lake
    from lakehouse.rollup import refresh_rollup
    from lakehouse.synthetic import generate

    paths = Paths.resolve(home)
    out: dict[str, Any] = {}
    t = time.monotonic()
    out["generate"] = generate(home, events)
    out["generate_s"] = round(time.monotonic() - t, 1)
    t = time.monotonic()
    out["compact"] = compact_lake(paths=paths)
    out["compact_s"] = round(time.monotonic() - t, 1)
    t = time.monotonic()
    refresh_rollup(paths, full=True)
    out["rollup_build_s"] = round(time.monotonic() - t, 1)
    out["rollup_mb"] = round((paths.state / "lakehouse.duckdb").stat().st_size / 1e6, 1)
    return out


def use_existing(home: Path, rebuild: bool) -> dict[str, Any]:
    from hooklake.paths import Paths
    from lakehouse.connect import list_event_files
    from lakehouse.rollup import refresh_rollup

    paths = Paths.resolve(home)
    files = list_event_files(paths)
    if not files:
        raise SystemExit(f"{home}: no lake event files")
    out: dict[str, Any] = {"home": str(home), "files": len(files)}
    t = time.monotonic()
    refresh_rollup(paths, full=rebuild)
    out["rollup_build_s" if rebuild else "rollup_refresh_s"] = round(time.monotonic() - t, 1)
    out["rollup_mb"] = round((paths.state / "lakehouse.duckdb").stat().st_size / 1e6, 1)
    return out


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def read_through(path: Path) -> dict[str, float]:
    """Read a file once (its pages land in the OS page cache); returns the time and rate."""
    t = time.perf_counter()
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(8 << 20):
            size += len(chunk)
    s = time.perf_counter() - t
    return {"s": round(s, 2), "gb_per_s": round(size / 1e9 / max(s, 1e-9), 2)}


def drop_from_os_cache(path: Path) -> None:
    with open(path, "rb") as fh:
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def measure_cold(home: Path, ids: list[str]) -> dict[str, Any]:
    """First lookups with the rollup file dropped from the OS page cache, on a new connection, and
    the same-process baseline: one random 4 KB read of the dropped file."""
    import lakehouse
    from lakehouse.traces import assemble_trace

    db = home / "state" / "lakehouse.duckdb"
    drop_from_os_cache(db)
    con = lakehouse.connect(home, learning=False, refresh="never")
    con.execute("SET memory_limit = '3GB'")
    it = iter(ids)
    out: dict[str, Any] = {"assemble_trace_cold_disk": timed(lambda: assemble_trace(next(it), con), len(ids))}
    con.close()
    drop_from_os_cache(db)
    size = db.stat().st_size
    rng = random.Random(2)
    with open(db, "rb", buffering=0) as fh:
        fd = fh.fileno()
        out["baseline_cold_4k_read"] = timed(lambda: os.pread(fd, 4096, rng.randrange(0, size - 4096) & ~4095), 100)
    read_through(db)  # leave the file as it was found: in the OS cache
    return out


def measure(home: Path, repeat: int, traces_runs: int) -> dict[str, Any]:
    import lakehouse
    from lakehouse.traces import assemble_trace

    res: dict[str, Any] = {"loadavg_start": loadavg()}
    res["rollup_read_through"] = read_through(home / "state" / "lakehouse.duckdb")
    con = lakehouse.connect(home, learning=False)
    con.execute("SET memory_limit = '3GB'")  # a shared machine: stay within a fair share
    con.execute("SET threads = 2")
    res["events"] = con.execute("SELECT count(*) FROM lake_events").fetchone()[0]
    res["traces"] = con.execute("SELECT count(*) FROM rollup.trace_facts").fetchone()[0]
    from lakehouse.traces import _connection_facts

    res["lookup_path"] = "trace_docs" if _connection_facts(con)[2] is not None else "tables"
    glob = str(home / "lake" / "events" / "**" / "*.parquet")
    res["baseline_groupby_10cols"] = timed(lambda: con.execute(
        f"SELECT event_kind, count(*), avg(duration_ms) FROM read_parquet('{glob}') GROUP BY 1").fetchall(), 5)
    sample = [r[0] for r in con.execute(
        "SELECT correlation_id FROM rollup.trace_facts USING SAMPLE 1000 ROWS").fetchall()]
    random.Random(1).shuffle(sample)
    # disjoint id sets: no measurement warms the ids of another
    ids, table_ids, point_ids, process_ids = sample[:200], sample[200:400], sample[400:500], sample[500:800]
    cold_ids = sample[800:]
    it = iter(ids)
    # first lookup: every id looked up for the first time on this connection
    res["assemble_trace"] = timed(lambda: assemble_trace(next(it), con), len(ids))
    it_tables = iter(table_ids)
    res["assemble_trace_tables"] = timed(lambda: assemble_trace(next(it_tables), con, lookup="tables"),
                                         len(table_ids))
    it_pt = iter(point_ids)
    res["baseline_point_lookup"] = timed(lambda: con.execute(
        "SELECT * FROM rollup.trace_facts WHERE correlation_id = ?", [next(it_pt)]).fetchall(), len(point_ids))
    warm_ids = ids[:20]
    for cid in warm_ids:
        assemble_trace(cid, con)
    it_warm = iter(warm_ids * 20)
    res["assemble_trace_warm"] = timed(lambda: assemble_trace(next(it_warm), con), 200)
    sub_ids = [r[0] for r in con.execute(
        "SELECT DISTINCT root_id FROM rollup.trace_facts WHERE depth = 2 ORDER BY hash(root_id) LIMIT 50").fetchall()]
    it2 = iter(sub_ids * 4)
    if sub_ids:
        res["assemble_trace_nested"] = timed(lambda: assemble_trace(next(it2), con), min(len(sub_ids) * 2, 100))
    views: dict[str, Any] = {}
    for view in SUMMARY_VIEWS:
        views[view] = {"query": f"SELECT * FROM {view}",
                       **timed(lambda v=view: con.execute(f"SELECT * FROM {v}").fetchall(), repeat)}
    it3 = iter(ids * 20)
    for view, col in ROW_VIEWS.items():
        views[view + " (latest 100)"] = {
            "query": f"SELECT * FROM {view} ORDER BY {col} DESC LIMIT 100",
            **timed(lambda v=view, c=col: con.execute(f"SELECT * FROM {v} ORDER BY {c} DESC LIMIT 100").fetchall(),
                    repeat)}
        if view not in ("session_summary",):
            views[view + " (one trace)"] = {
                "query": f"SELECT * FROM {view} WHERE correlation_id = ?",
                **timed(lambda v=view: con.execute(f"SELECT * FROM {v} WHERE correlation_id = ?",
                                                   [next(it3)]).fetchall(), repeat)}
    res["views"] = views
    env = {**os.environ, "HOOKLAKE_HOME": str(home)}
    hooklake = str(Path(sys.executable).parent / "hooklake")
    cmd = [hooklake, "traces", "--limit", "50"] if Path(hooklake).exists() else [
        sys.executable, "-m", "hooklake", "traces", "--limit", "50"]
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm-up run (as hyperfine --warmup 1)

    def run_cli() -> None:
        subprocess.run(cmd, env=env, capture_output=True, check=True)

    res["cli_traces_limit_50"] = timed(run_cli, traces_runs)
    res["cli_help"] = timed(lambda: subprocess.run([*cmd[:-3], "--help"], env=env, capture_output=True, check=True),
                            traces_runs)
    res.update(measure_new_process(home, process_ids[:2 * traces_runs], cmd))
    res["baseline_python_startup"] = timed(
        lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True), traces_runs)
    res["baseline_import_duckdb"] = timed(
        lambda: subprocess.run([sys.executable, "-c", "import duckdb"], capture_output=True, check=True), traces_runs)
    con.close()
    res.update(measure_cold(home, cold_ids))
    res["loadavg_end"] = loadavg()
    return res


NEW_PROCESS_CODE = """
import json, sys, time
import lakehouse
from lakehouse.traces import assemble_trace
t = time.perf_counter()
con = lakehouse.connect(sys.argv[1], learning=False, refresh="never")
con.execute("SET memory_limit = '3GB'")
connected = time.perf_counter()
tree = assemble_trace(sys.argv[2], con)
done = time.perf_counter()
assert tree is not None
print(json.dumps({"connect_ms": (connected - t) * 1000, "assemble_ms": (done - connected) * 1000}))
"""


def measure_new_process(home: Path, ids: list[str], cmd: list[str]) -> dict[str, Any]:
    """assemble_trace as the first call of a fresh process (a new DuckDB instance: no buffers,
    no index nodes loaded), and ``hooklake trace ID --json`` end to end."""
    env = {**os.environ, "HOOKLAKE_HOME": str(home)}
    connect_ms, assemble_ms, cli_ms = [], [], []
    half = max(1, len(ids) // 2)
    for cid in ids[:half]:
        out = subprocess.run([sys.executable, "-c", NEW_PROCESS_CODE, str(home), cid], env=env, capture_output=True,
                             text=True, check=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        connect_ms.append(row["connect_ms"])
        assemble_ms.append(row["assemble_ms"])
    trace_cmd = [*cmd[:-3], "trace"]
    for cid in ids[half:]:
        t = time.perf_counter()
        subprocess.run([*trace_cmd, cid, "--json"], env=env, capture_output=True, check=True)
        cli_ms.append((time.perf_counter() - t) * 1000.0)

    def stats(samples: list[float]) -> dict[str, float]:
        return {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(pct(samples, 0.95), 2),
                "n": len(samples)}

    out: dict[str, Any] = {"assemble_trace_new_process": stats(assemble_ms), "connect_new_process": stats(connect_ms)}
    if cli_ms:
        out["cli_trace_json"] = stats(cli_ms)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", help="lake size (repeatable); default 1M and 10M")
    parser.add_argument("--quick", action="store_true", help="100k and 300k events, fewer repetitions")
    parser.add_argument("--keep", metavar="DIR", help="build the lakes under DIR and keep them (reused if present)")
    parser.add_argument("--repeat", type=int, default=30, help="repetitions per view query")
    parser.add_argument("--home", action="append", metavar="DIR",
                        help="measure an existing lake (a hooklake home; repeatable, smallest first)")
    parser.add_argument("--rebuild", action="store_true", help="with --home: time a full rollup build")
    parser.add_argument("--cli-runs", type=int, default=20, help="runs of `hooklake traces --limit 50`")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "lakehouse_bench.json"),
                        help="where to write the JSON results")
    args = parser.parse_args(argv)
    sizes = args.events or ([100_000, 300_000] if args.quick else [1_000_000, 10_000_000])
    repeat = 10 if args.quick else args.repeat
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    results: dict[str, Any] = {"sizes": {}, "machine": {"cpus": os.cpu_count()},
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        for h in args.home or []:
            home = Path(h).resolve()
            info = use_existing(home, args.rebuild)
            print(f"[{home}] rollup: {json.dumps(info)}", flush=True)
            measured = measure(home, repeat, 5 if args.quick else args.cli_runs)
            results["sizes"][str(measured["events"])] = {"build": info, **measured}
        for n in sizes if not args.home else []:
            home = root / f"lake-{n}"
            if not (home / "state" / "lakehouse.duckdb").exists():
                shutil.rmtree(home, ignore_errors=True)
                info = build(home, n)
            else:
                info = {"reused": str(home)}
            print(f"[{n:,} events] built: {json.dumps(info)}", flush=True)
            results["sizes"][str(n)] = {"build": info, **measure(home, repeat, 5 if args.quick else args.cli_runs)}
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    keys = list(results["sizes"])
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, getter: Any) -> None:
        vals = []
        for k in keys:
            try:
                v = getter(results["sizes"][k])
                vals.append(f"{v['p50_ms']:.1f} / {v['p95_ms']:.1f}")
            except KeyError:
                vals.append("-")
        rows.append((label, vals))

    add("assemble_trace (first lookup of each id)", lambda r: r["assemble_trace"])
    add("assemble_trace (first lookup, rollup tables path)", lambda r: r["assemble_trace_tables"])
    add("assemble_trace (first lookup, cold disk, new connection)", lambda r: r["assemble_trace_cold_disk"])
    add("baseline: one random 4 KB read, cold disk", lambda r: r["baseline_cold_4k_read"])
    add("assemble_trace (new process: first call)", lambda r: r["assemble_trace_new_process"])
    add("assemble_trace (warm: ids seen before)", lambda r: r["assemble_trace_warm"])
    add("assemble_trace (2-deep subagents, each id twice)", lambda r: r["assemble_trace_nested"])
    add("lakehouse.connect (new process)", lambda r: r["connect_new_process"])
    add("hooklake trace ID --json (subprocess)", lambda r: r["cli_trace_json"])
    for view in results["sizes"][keys[0]]["views"]:
        add(view, lambda r, v=view: r["views"][v])
    add("hooklake traces --limit 50 (subprocess)", lambda r: r["cli_traces_limit_50"])
    add("hooklake --help (subprocess)", lambda r: r["cli_help"])
    add("baseline: one indexed point query (trace_facts)", lambda r: r["baseline_point_lookup"])
    add("baseline: group-by over all events", lambda r: r["baseline_groupby_10cols"])
    add("baseline: python -c pass", lambda r: r["baseline_python_startup"])
    add("baseline: python -c 'import duckdb'", lambda r: r["baseline_import_duckdb"])
    growth = {}
    if len(keys) == 2:
        a, b = results["sizes"][keys[0]], results["sizes"][keys[1]]
        growth["assemble_trace_p95"] = round(b["assemble_trace"]["p95_ms"] / a["assemble_trace"]["p95_ms"], 2)
        growth["cli_traces_p95"] = round(b["cli_traces_limit_50"]["p95_ms"] / a["cli_traces_limit_50"]["p95_ms"], 2)
        growth["views_p95"] = {v: round(b["views"][v]["p95_ms"] / max(a["views"][v]["p95_ms"], 0.01), 2)
                               for v in a["views"]}
        growth["baseline_groupby_p95"] = round(
            b["baseline_groupby_10cols"]["p95_ms"] / a["baseline_groupby_10cols"]["p95_ms"], 2)
    results["growth"] = growth
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'p50 / p95 ms':<{width}}  " + "  ".join(f"{int(k):>14,}" for k in keys) + (
        "  growth(p95)" if growth else ""))
    for label, vals in rows:
        g = ""
        if growth:
            if label.startswith("assemble_trace (first lookup of"):
                g = f"x{growth['assemble_trace_p95']}"
            elif label.startswith("hooklake traces"):
                g = f"x{growth['cli_traces_p95']}"
            elif label in growth["views_p95"]:
                g = f"x{growth['views_p95'][label]}"
            elif label.startswith("baseline: group-by"):
                g = f"x{growth['baseline_groupby_p95']}"
        print(f"{label:<{width}}  " + "  ".join(f"{v:>14}" for v in vals) + (f"  {g:>10}" if g else ""))
    for k in keys:
        r = results["sizes"][k]
        print(f"[{int(k):,} events, {r['traces']:,} traces] load average (1/5/15 min) at start "
              f"{r['loadavg_start']}, at end {r['loadavg_end']}; trace lookups read {r['lookup_path']}")
        b = r["build"]
        if "rollup_refresh_s" in b:
            print(f"[{int(k):,}] rollup refresh {b['rollup_refresh_s']}s ({b['rollup_mb']} MB)")
        if "rollup_build_s" in b and "generate_s" not in b:
            print(f"[{int(k):,}] rollup build {b['rollup_build_s']}s ({b['rollup_mb']} MB)")
        if "generate_s" in b:
            print(f"[{int(k):,}] generate {b['generate_s']}s, compact {b['compact_s']}s, rollup build "
                  f"{b['rollup_build_s']}s ({b['rollup_mb']} MB)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
