"""How fast are the queries behind the workbench's views on a large lake?

Measures the ``lakehouse.queries`` functions each view calls, uncached (the dashboard caches
results per lake fingerprint, so the first paint after an ingest pays exactly this):

* Overview first paint: lake status + filter options + headline numbers;
* Overview complete: + trends and the four "worst right now" rankings;
* Traces list (500 newest) and a free-text search;
* open a trace: ``trace_detail`` (summary, subagent tree, spans, raw events, routing);
* pattern search: ``Router.match`` + ``Router.route`` (warm, embedding included) on a learned index.

The lake is a synthetic one (``lakehouse.synthetic``) of ``--events`` events; the pattern index is
the demo's (``hooklake demo`` data, learned), because learning on a synthetic 10M lake is not what
this measures. Timings are noisy on a shared machine, so each figure is also reported as a ratio to a
baseline measured in the same process: a plain group-by over every event
(``SELECT event_kind, count(*) FROM events GROUP BY 1``).

    python benchmarks/dashboard_bench.py                 # 10M events (builds the lake once, cached)
    python benchmarks/dashboard_bench.py --quick         # 300k events, a few seconds of queries
    python benchmarks/dashboard_bench.py --home DIR      # reuse / keep the generated lake in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "dashboard_bench.json"
TARGETS_S = {"overview_first_paint": 2.0, "open_trace": 0.5, "pattern_search": 0.3}


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    runs.sort()
    p95 = runs[min(len(runs) - 1, int(round(0.95 * (len(runs) - 1))))]
    return {"first_s": round(runs[0] if repeat == 1 else runs[0], 4), "p50_s": round(statistics.median(runs), 4),
            "p95_s": round(p95, 4), "max_s": round(runs[-1], 4), "runs": repeat}


def ensure_lake(home: Path, events: int) -> dict[str, Any]:
    from hooklake.paths import Paths

    paths = Paths.resolve(home)
    if paths.events.exists() and any(paths.events.rglob("*.parquet")):
        return {"generated": False}
    from lakehouse.synthetic import generate

    print(f"generating a synthetic lake of {events:,} events in {home} ...", flush=True)
    info = generate(home, events)
    print(f"  {info}", flush=True)
    return {"generated": True, **info}


def ensure_pattern_home(home: Path) -> Path:
    """A small learned demo home for the pattern-search figure (built once)."""
    from hooklake.paths import Paths

    if (Paths.resolve(home).index / "CURRENT").exists():
        return home
    from dashboard.demo import DemoConfig
    from dashboard.firstrun import build_demo_home

    os.environ["HOOKLAKE_HOME"] = str(home)
    print(f"building a learned demo home in {home} for pattern search ...", flush=True)
    result = build_demo_home(DemoConfig(days=14, seed=7, sessions_per_day=6), learn=True)
    if not result["learned"]:
        raise SystemExit(f"learning failed: {result['learn_error']}")
    return home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="300k events, fewer repeats")
    parser.add_argument("--home", type=Path, default=None, help="lake home to create or reuse")
    parser.add_argument("--pattern-home", type=Path, default=None, help="learned home for pattern search")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    events = 300_000 if args.quick else args.events
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    scratch = Path(tempfile.gettempdir()) / "hooklake-bench"
    home = args.home or scratch / f"dashboard-{events}"
    pattern_home = args.pattern_home or scratch / "dashboard-patterns"
    home.mkdir(parents=True, exist_ok=True)
    lake_info = ensure_lake(home, events)

    os.environ["HOOKLAKE_HOME"] = str(home)
    import lakehouse
    from lakehouse import queries as q

    t0 = time.perf_counter()
    con = lakehouse.connect(read_only=True)
    connect_s = time.perf_counter() - t0
    n_events = q.lake_status(con)["events"]
    print(f"lake: {n_events:,} events; connect (incl. any rollup refresh) {connect_s:.2f} s", flush=True)

    baseline = timed(lambda: con.execute("SELECT event_kind, count(*) FROM events GROUP BY 1").fetchall(), repeat)
    filters = q.Filters()
    recent = q.Filters.last(7, now=q.lake_status(con)["last_event_at"])
    traces = q.traces(con, filters, limit=2000)
    ids = traces["correlation_id"].tolist()
    rng = random.Random(1)

    def first_paint() -> None:
        q.lake_status(con)
        q.filter_options(con)
        q.overview_kpis(con, filters)

    def complete() -> None:
        first_paint()
        q.overview_trend(con, filters)
        for fn in (q.agent_stats, q.hook_stats, q.tool_stats, q.endpoint_stats):
            fn(con, recent)

    results: dict[str, dict[str, float]] = {
        "baseline_group_by": baseline,
        "overview_first_paint": timed(first_paint, repeat),
        "overview_complete": timed(complete, repeat),
        "traces_list_500": timed(lambda: q.traces(con, filters, limit=500), repeat),
        "traces_search": timed(lambda: q.traces(con, filters, search="unit tests", limit=500), repeat),
        "open_trace": timed(lambda: q.trace_detail(con, rng.choice(ids)), max(repeat, 10)),
        "errors_page": timed(lambda: (q.error_groups(con, filters), q.error_trend(con, filters)), repeat),
    }
    con.close()

    pattern_note = None
    try:
        ensure_pattern_home(pattern_home)
        os.environ["HOOKLAKE_HOME"] = str(pattern_home)
        from hooklake.paths import Paths
        from learning.router import Router

        router = Router.load(paths=Paths.resolve(pattern_home))
        router.match("warm up the model", {}, k=10)
        texts = ["write unit tests for the invoice service", "fix the flaky tests of the retry queue",
                 "why is the checkout flow slow under load?", "add an index to orders for the refunds lookup",
                 "document the rate limiter in the README"]

        def search() -> None:
            text = rng.choice(texts) + f" #{rng.randint(0, 10**6)}"  # defeat any answer cache
            vector = router.embed(text)  # as the Patterns page does: one embedding for both
            router.match(text, {}, k=10, vector=vector)
            router.route(text, {}, log=False, vector=vector)

        results["pattern_search"] = timed(search, max(repeat, 20))
        results["pattern_search"]["patterns"] = router.pattern_count
    except Exception as exc:  # reported, not hidden
        pattern_note = f"pattern search not measured: {type(exc).__name__}: {exc}"

    base = results["baseline_group_by"]["p50_s"] or 1e-9
    print(f"\n{'view':<24}{'p50 s':>9}{'p95 s':>9}{'x baseline':>12}{'target s':>10}")
    for name, r in results.items():
        target = TARGETS_S.get(name)
        print(f"{name:<24}{r['p50_s']:>9.3f}{r['p95_s']:>9.3f}{r['p50_s'] / base:>12.2f}"
              f"{(f'{target:.1f}' if target else '-'):>10}")
    if pattern_note:
        print(pattern_note)
    payload = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "events": n_events, "lake": lake_info, "connect_s": round(connect_s, 3),
        "results": results, "targets_s": TARGETS_S,
        "ratios_to_baseline": {k: round(v["p50_s"] / base, 2) for k, v in results.items()},
        "note": pattern_note,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    name = RESULTS if not args.quick else RESULTS.with_name("dashboard_bench_quick.json")
    name.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
