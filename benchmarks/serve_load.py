"""Load test of ``hooklake serve``: a fixed request rate for a fixed time, latency and errors.

Starts ``hooklake serve`` as its own process (the real CLI) over a hooklake home that already has
an index (``--home``; default: $HOOKLAKE_HOME), then sends POST /route and /match requests at
``--rate`` per second for ``--duration`` seconds from 32 client threads over keep-alive
connections. Latency is measured from each request's scheduled send time (open loop), so a stalled
server cannot hide its queueing delay. Prompts come from a pool: ``--distinct`` of them, so a
share of requests are cache hits as with real traffic (a team repeats itself); ``--distinct 0``
makes every prompt unique (nothing cached: the model and index path every time).

    python benchmarks/serve_load.py [--quick] [--home DIR] [--rate 200] [--duration 60] [--distinct 500]
    python benchmarks/serve_load.py --synthetic 100000 [...]

``--synthetic N``: instead of a learned home, the service process holds the real Router over an
index of N synthetic pattern vectors (built by benchmarks/learning_latency.py's code, the same FAISS
index kinds as ``hooklake learn``), to measure the service at a pattern count no test lake has.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "serve_load.json"

SUBJECTS = ("checkout test", "orders endpoint", "billing query", "README", "login form", "cache layer",
            "deployment script", "user migration", "search index", "payment webhook", "retry logic")
VERBS = ("fix the flaky", "speed up the", "document the", "refactor the", "add tests for the", "debug the",
         "review the", "rewrite the", "profile the", "harden the")


def prompt(rng: random.Random, serial: int | None = None) -> str:
    text = f"{rng.choice(VERBS)} {rng.choice(SUBJECTS)} in module {rng.randint(1, 40)}"
    return text if serial is None else f"{text} (ticket {serial})"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))], 2)


def serve_synthetic(n: int) -> int:
    """Child-process mode: the real service and Router over N synthetic patterns."""
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    from learning_latency import build_pattern_set

    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from learning import serve
    from learning.embeddings import Embedder
    from learning.intent import IntentClassifier
    from learning.matcher import Scorer
    from learning.router import Router

    torch.set_num_threads(1)
    paths = Paths.resolve()
    settings = load_settings()
    embedder = Embedder()
    pset, info = build_pattern_set(n, embedder.dimension, settings.learning.ivf_threshold, settings.learning.nprobe)
    scorer = Scorer("fitted", {"semantic": 0.3, "keyword": 1.9, "intent": 2.1, "context": -0.1, "historical": -2.0,
                               "margin": 11.0}, -2.0, [0.0, 1.0], [0.0, 1.0], 0.9, True)
    state = {"version": f"synthetic-{n}", "pset": pset, "scorer": scorer, "intent": IntentClassifier.build(embedder),
             "row_of": {f"pat_{i:012x}": i for i in range(n)}, "manifest": info}
    router = Router(paths, settings, embedder, state)
    holder = serve.RouterHolder(paths, loader=lambda p, prev: router)
    running = serve.start_server(paths, holder=holder, background=False)
    serve.serve_forever(running)
    return 0


def start_service(home: Path, tcp: bool, synthetic: int | None = None) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {**os.environ, "HOOKLAKE_HOME": str(home)}
    state_file = home / "state" / "serve.json"
    state_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "hooklake", "serve"] + (["--port", "0"] if tcp else [])
    if synthetic:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-synthetic", str(synthetic)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hooklake serve exited: {proc.stderr.read() if proc.stderr else ''}")
        if state_file.exists():
            return proc, json.loads(state_file.read_text())
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("hooklake serve did not start within 300 s")


def connect(state: dict[str, Any], home: Path) -> tuple[http.client.HTTPConnection, dict[str, str]]:
    if state["transport"] == "unix":
        return UnixConnection(state["socket"], 30), {}
    token = Path(state.get("token_file") or home / "state" / "serve-token").read_text().strip()
    return http.client.HTTPConnection(state["host"], state["port"], timeout=30), {"Authorization": f"Bearer {token}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s at the same rate")
    parser.add_argument("--home", default=os.environ.get("HOOKLAKE_HOME"), help="hooklake home with an index")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default 60; 10 with --quick)")
    parser.add_argument("--distinct", type=int, default=500, help="size of the prompt pool (0 = all unique)")
    parser.add_argument("--tcp", action="store_true", help="use loopback TCP with the bearer token")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--warm", action="store_true", help="send every prompt of the pool once before measuring")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synthetic", type=int, default=None, metavar="N",
                        help="serve a Router over N synthetic patterns instead of a learned home")
    parser.add_argument("--serve-synthetic", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_synthetic:
        return serve_synthetic(args.serve_synthetic)
    if args.synthetic and not args.home:
        import tempfile

        args.home = tempfile.mkdtemp(prefix="hooklake-serve-load-")
    if not args.home:
        raise SystemExit("pass --home (a hooklake home that has run `hooklake learn`) or set HOOKLAKE_HOME")
    duration = args.duration if args.duration is not None else (10.0 if args.quick else 60.0)
    home = Path(args.home).resolve()
    rng = random.Random(args.seed)
    pool = [prompt(rng) for _ in range(args.distinct)] if args.distinct > 0 else []

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    proc, state = start_service(home, args.tcp, args.synthetic)
    startup_s = time.perf_counter() - t0
    try:
        # Warm-up: a few requests so the first model call is not in the figures; with --warm, every
        # prompt of the pool once (a service that has been running sees its team's requests again).
        conn, headers = connect(state, home)
        warm = [prompt(rng, -i) for i in range(5)] + (pool if args.warm else [])
        t_warm = time.perf_counter()
        for text in warm:
            for path in ("/route", "/match"):
                body = {"request": text, "context": {"cwd": "/home/dev/project"}}
                conn.request("POST", path, body=json.dumps(body), headers=headers)
                conn.getresponse().read()
        warm_s = time.perf_counter() - t_warm
        conn.close()

        total = int(args.rate * duration)
        jobs: queue.Queue[tuple[float, str, str] | None] = queue.Queue()
        results: list[tuple[str, int, float]] = []
        errors: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            conn, headers = connect(state, home)
            while True:
                job = jobs.get()
                if job is None:
                    return
                scheduled, path, text = job
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                body = {"request": text, "context": {"cwd": "/home/dev/project"}}
                if path == "/match":
                    body["k"] = 5
                try:
                    conn.request("POST", path, body=json.dumps(body), headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                except Exception as exc:  # noqa: BLE001 - count it, reconnect, go on
                    status = -1
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn, headers = connect(state, home)
                ms = (time.perf_counter() - scheduled) * 1000
                with lock:
                    results.append((path, status, ms))

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
        for t in threads:
            t.start()
        start = time.perf_counter() + 0.2
        for i in range(total):
            text = rng.choice(pool) if pool else prompt(rng, i)
            jobs.put((start + i / args.rate, "/route" if i % 2 == 0 else "/match", text))
        for _ in threads:
            jobs.put(None)
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start

        conn, headers = connect(state, home)
        conn.request("GET", "/metrics", headers=headers)
        metrics = json.loads(conn.getresponse().read())
        conn.request("GET", "/health", headers=headers)
        health = json.loads(conn.getresponse().read())
        conn.close()
    finally:
        proc.terminate()
        proc.wait(30)

    ok = [ms for _p, status, ms in results if status == 200]
    bad = [(p, status) for p, status, _ms in results if status != 200]
    by_path = {path: [ms for p, s, ms in results if p == path and s == 200] for path in ("/route", "/match")}
    report = {
        "home": str(home),
        "patterns": health.get("patterns"),
        "index_version": health.get("index_version"),
        "transport": state["transport"],
        "rate_target": args.rate,
        "duration_s": duration,
        "requests": len(results),
        "achieved_rate": round(len(results) / elapsed, 1),
        "errors": len(bad),
        "error_samples": errors[:5] + [f"HTTP {s} on {p}" for p, s in bad[:5]],
        "latency_ms_all": {"p50": pct(ok, 50), "p95": pct(ok, 95), "p99": pct(ok, 99), "max": pct(ok, 100)},
        "latency_ms_route": {q: pct(by_path["/route"], v) for q, v in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "latency_ms_match": {q: pct(by_path["/match"], v) for q, v in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "server_cache_hits": metrics.get("cache_hits"),
        "server_cache_misses": metrics.get("cache_misses"),
        "distinct_prompts": args.distinct,
        "service_startup_s": round(startup_s, 2),
        "warm_pool": bool(args.warm),
        "warm_up_s": round(warm_s, 2),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    print(f"hooklake serve load: {report['requests']} requests at {report['achieved_rate']}/s "
          f"(target {args.rate}/s for {duration:.0f} s) over {state['transport']}; "
          f"{report['patterns']} patterns, index {report['index_version']}")
    print(f"{'':<8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>9}   (ms, from scheduled send time)")
    for name, key in (("all", "latency_ms_all"), ("/route", "latency_ms_route"), ("/match", "latency_ms_match")):
        r = report[key]
        print(f"{name:<8}{r.get('p50') or 0:>8.1f}{r.get('p95') or 0:>8.1f}{r.get('p99') or 0:>8.1f}{r.get('max') or 0:>9.1f}")
    print(f"load average before/after: {load_before[0]:.2f}/{report['load_average_after'][0]:.2f}")
    print(f"errors: {report['errors']}   cache hits/misses: {report['server_cache_hits']}/{report['server_cache_misses']}"
          f"   service start-up (model + index load): {report['service_startup_s']} s")
    print(f"targets: p95 <= 15 ms: {'ok' if (report['latency_ms_all']['p95'] or 1e9) <= 15 else 'MISSED'}; "
          f"no error: {'ok' if report['errors'] == 0 else 'MISSED'}")
    out = RESULTS if args.distinct > 0 else RESULTS.with_name("serve_load.uncached.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out.relative_to(REPO)}")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
