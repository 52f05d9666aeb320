"""Warm lookup latency of the router, including the embedding of the request.

The index holds N synthetic pattern vectors built with the same code as ``hooklake learn`` (flat
below ``[learning] ivf_threshold``, IVF above). The vectors are clustered like prompts: noisy
copies (cosine ~0.8) of the MiniLM vectors of half the evaluation requests; the other half are
the lookups, so the index's recall against exact search is measured on realistic neighbours.
Every lookup is a unique prompt (nothing cached): it embeds a real request text with MiniLM at the
service's request precision (``[learning] query_precision``), classifies its intent, searches,
scores the candidates and calibrates — ``Router.match`` / ``Router.route`` end to end, then the
same through the real service over its unix socket (HTTP + JSON included).

Measured in the same process, interleaved query by query: the fp32 embedding (the baseline) and
the chosen precision's, and a breakdown per stage (tokenise, forward, pooling, intent, search,
scoring) so the overhead on top of the model is reported as a difference and a ratio.

    python benchmarks/learning_latency.py [--quick] [--sizes 100000,1000000] [--queries 300]
                                          [--threads 1] [--precision auto|fp32|bf16|int8] [--no-http]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "learning_latency.json"
TARGETS_MS = {100_000: 15.0, 1_000_000: 60.0}
NOISE = 0.75
"""Noise norm around a cluster centre: cosine(vector, centre) ~ 1/sqrt(1 + NOISE^2) = 0.8."""
RECALL_MAX_N = 300_000
"""Exact search for the recall figure is skipped above this many vectors (it regenerates them)."""


class _LazyRows:
    """Pattern rows made on access (1M dicts would dominate memory, not latency)."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {"pattern_id": f"pat_{i:012x}", "version": 1, "agent": ["main", "test-writer", "debugger"][i % 3],
                "agents": [], "tool_names": ["Read", "Edit", "Bash"], "endpoint_paths": [], "trace_count": 3,
                "intent": "testing", "prompt_text": f"synthetic pattern {i}", "status": "active", "path_key": f"p{i % 997}"}


class _LazyList:
    def __init__(self, n: int, fn):
        self.n, self.fn = n, fn

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return self.fn(i)


def chunk_vectors(start: int, stop: int, dim: int, centers: np.ndarray | None = None) -> np.ndarray:
    """Vectors ``start..stop`` (deterministic per chunk start): random unit vectors, or noisy
    copies of ``centers`` when given."""
    rng = np.random.default_rng(start)
    r = rng.standard_normal((stop - start, dim)).astype(np.float32)
    if centers is not None:
        r *= NOISE / np.sqrt(dim)
        r += centers[rng.integers(0, len(centers), stop - start)]
    return r / np.linalg.norm(r, axis=1, keepdims=True)


CHUNK = 100_000


def build_pattern_set(n: int, dim: int, ivf_threshold: int, nprobe: int, centers: np.ndarray | None = None):
    from learning import index as idx
    from learning.matcher import PatternSet

    rng = np.random.default_rng(0)
    ids = np.arange(n, dtype=np.int64)
    sample = chunk_vectors(10**9, 10**9 + min(n, 100_000), dim, centers) if n >= ivf_threshold else None
    t0 = time.perf_counter()
    index, kind, nlist = idx.new_faiss_index(dim, n, ivf_threshold, sample)
    train_s = time.perf_counter() - t0
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        index.add_with_ids(chunk_vectors(start, stop, dim, centers), ids[start:stop])
    idx.set_nprobe(index, nprobe)
    build_s = time.perf_counter() - t0
    vocab = ["test", "fix", "bug", "api", "endpoint", "slow", "query", "docker", "deploy", "readme", "refactor", "security"]
    pset = PatternSet(
        pattern_ids=_LazyList(n, lambda i: f"pat_{i:012x}"), path_keys=_LazyList(n, lambda i: f"p{i % 997}"),
        agents=_LazyList(n, lambda i: "main"),
        keywords=_LazyList(n, lambda i: frozenset(vocab[j % len(vocab)] for j in range(i % 7, i % 7 + 4))),
        intent_dist=rng.dirichlet(np.ones(13), size=n).astype(np.float32), cwds=_LazyList(n, lambda i: frozenset()),
        historical=rng.uniform(0.5, 0.95, n), active=np.ones(n, dtype=bool), ex_ids=ids, ex_pattern=ids,
        searcher=index, rows=_LazyRows(n),
    )
    return pset, {"index_kind": kind, "nlist": nlist, "nprobe": nprobe if kind == "ivf" else None,
                  "train_s": round(train_s, 2), "build_s": round(build_s, 2)}


def exact_top(qvecs: np.ndarray, n: int, dim: int, centers: np.ndarray | None, k: int = 10) -> np.ndarray:
    """Exact top-k ids by inner product over the same generated vectors, chunk by chunk."""
    best_s = np.full((len(qvecs), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(qvecs), k), -1, dtype=np.int64)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        sims = qvecs @ chunk_vectors(start, stop, dim, centers).T
        s = np.concatenate([best_s, sims], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(np.arange(start, stop), sims.shape)], axis=1)
        top = np.argsort(-s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    return best_i


def recall(index, qvecs: np.ndarray, exact: np.ndarray, m: int) -> dict[str, float]:
    _, got = index.search(np.ascontiguousarray(qvecs, dtype=np.float32), m)
    r1 = float(np.mean(got[:, 0] == exact[:, 0]))
    r10 = float(np.mean([len(set(g[:10]) & set(e)) / len(e) for g, e in zip(got, exact)]))
    found = float(np.mean([e[0] in set(g) for g, e in zip(got, exact)]))
    return {"recall_at_1": round(r1, 4), "recall_10_at_10": round(r10, 4), f"top1_in_top{m}": round(found, 4)}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def stats(xs: list[float]) -> dict[str, float]:
    return {"p50": round(pct(xs, 50), 3), "p95": round(pct(xs, 95), 3)}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def http_client(socket_path: str, queries_file: str) -> int:
    """Child-process mode: POST each prompt to /match and /route, print the latencies (ms) as JSON.

    A separate process, as the advice hook is: the client does not compete with the service for
    the interpreter lock."""
    queries = json.loads(Path(queries_file).read_text())
    conn = _UnixConnection(socket_path)
    out: dict[str, list[float]] = {"match": [], "route": []}
    for n, q in enumerate(queries):
        for ep in ("match", "route"):
            text = f"{q} (ticket {ep}-{n})"  # unique: the answer and vector caches never hit
            body = json.dumps({"request": text, "log": False} if ep == "route" else {"request": text})
            t = time.perf_counter()
            conn.request("POST", f"/{ep}", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            dt = (time.perf_counter() - t) * 1000
            if resp.status != 200:
                print(json.dumps({"error": f"/{ep} answered {resp.status}: {data[:200]!r}"}))
                return 1
            if n >= 10:  # the first requests warm the connection and the service's threads
                out[ep].append(dt)
    conn.close()
    print(json.dumps(out))
    return 0


def http_latency(router, queries: list[str], precision: str, threads: int) -> dict[str, object]:
    """POST /match and /route to the real service (this process, its unix socket) from a client
    process; every prompt unique."""
    import subprocess

    from hooklake.paths import Paths
    from learning import serve

    paths = Paths.resolve()
    holder = serve.RouterHolder(paths, loader=lambda p, prev: router)
    config = serve.ServiceConfig(query_precision=precision, reload_interval_s=3600, compute_threads=threads)
    running = serve.start_server(paths, holder=holder, config=config, write_state=False)
    # The service's own time per request (body parsed to answer built), apart from HTTP and the
    # two processes' wake-ups: the difference to the client's figure is transport and scheduling.
    inside_ms: dict[str, list[float]] = {"match": [], "route": []}
    for ep in inside_ms:
        def timed(body, _call=getattr(running.service, ep), _out=inside_ms[ep]):
            t = time.perf_counter()
            try:
                return _call(body)
            finally:
                _out.append((time.perf_counter() - t) * 1000)
        setattr(running.service, ep, timed)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(queries, f)
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--http-client", str(running.address), f.name],
                              capture_output=True, text=True, timeout=1800)
        os.unlink(f.name)
        try:
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SystemExit(f"http client failed: {proc.stdout[-500:]} {proc.stderr[-2000:]}") from None
        if "error" in out:
            raise SystemExit(out["error"])
        snap = running.service.metrics.snapshot()
        inside = {ep: round(v["sum"] / max(1, v["count"]), 3) for ep, v in snap["latency_ms"].items()}
        return {"match_ms": stats(out["match"]), "route_ms": stats(out["route"]),
                "service_compute_ms": {ep: stats(v[10:]) for ep, v in inside_ms.items()},
                "service_side_mean_ms": inside, "client_mean_ms": {k: round(float(np.mean(v)), 3) for k, v in out.items()},
                "service_precision": running.service.health().get("query_precision"),
                "cache_hits": snap.get("cache_hits"), "embed_passes": snap.get("embed_passes")}
    finally:
        running.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k and 100k patterns, 100 queries")
    ap.add_argument("--sizes", default=None, help="comma-separated pattern counts (default 100000,1000000)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--nprobe", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch and FAISS threads (default 1, as `hooklake serve`)")
    ap.add_argument("--precision", default=None, help="request precision: auto, fp32, bf16, int8 "
                    "(default: [learning] query_precision, as `hooklake serve`)")
    ap.add_argument("--no-trace", action="store_true", help="keep the transformer's Python forward (no TorchScript trace)")
    ap.add_argument("--no-http", action="store_true", help="skip the measurement through the service's socket")
    ap.add_argument("--random-vectors", action="store_true", help="unclustered random pattern vectors (the old workload)")
    ap.add_argument("--http-client", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.http_client:
        return http_client(*args.http_client)
    os.environ.setdefault("HOOKLAKE_HOME", tempfile.mkdtemp(prefix="hooklake-latency-"))
    import torch

    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from learning import synth
    from learning.embeddings import Embedder
    from learning.intent import IntentClassifier
    from learning.matcher import Scorer, rank, retrieve
    from learning.router import RETRIEVE_M, Router

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000, 100_000] if args.quick else [100_000, 1_000_000])
    nq = 100 if args.quick else args.queries
    settings = load_settings()
    nprobe = args.nprobe or settings.learning.nprobe
    precision = args.precision or settings.learning.query_precision
    torch.set_num_threads(args.threads)
    import faiss

    faiss.omp_set_num_threads(args.threads)  # as `hooklake serve` does
    embedder = Embedder()
    clf = IntentClassifier.build(embedder)
    texts = [r["text"] for r in synth.load_eval_set()["requests"]]
    rng = np.random.default_rng(1)
    order = rng.permutation(len(texts))
    center_texts = [texts[i] for i in order[: len(texts) // 2]]
    query_pool = [texts[i] for i in order[len(texts) // 2:]]
    # Unique prompts: a pool of 400 texts, each lookup's text made distinct by a ticket number.
    queries = [f"{query_pool[i % len(query_pool)]} (ticket {i})" for i in range(nq)]
    centers = None if args.random_vectors else embedder.encode(center_texts)
    warm = embedder.warm_up(trace=not args.no_trace, precision=precision)  # what `hooklake serve` does at start
    prec = warm["precision"]
    fp32, variant = embedder._direct(), embedder._variant(prec)
    for q in queries[:20]:
        embedder.encode_small([q])
        embedder.encode_small([q], prec)
    # Baseline in the same process, interleaved query by query (a shared machine's load changes
    # by the second): fp32 vs the request precision, and SentenceTransformer.encode().
    encode_ms, fp32_ms, emb_ms, fp32_cpu, emb_cpu = [], [], [], [], []
    for q in queries:
        t = time.perf_counter()
        embedder.encode([q], batch_size=1)
        t1, c1 = time.perf_counter(), time.thread_time()
        embedder.encode_small([q])
        t2, c2 = time.perf_counter(), time.thread_time()
        embedder.encode_small([q], prec)
        t3, c3 = time.perf_counter(), time.thread_time()
        encode_ms.append((t1 - t) * 1000)
        fp32_ms.append((t2 - t1) * 1000)
        emb_ms.append((t3 - t2) * 1000)
        fp32_cpu.append((c2 - c1) * 1000)
        emb_cpu.append((c3 - c2) * 1000)
    check = query_pool[:200]
    ref = embedder.encode(check)
    got = embedder.encode_small(check, prec) if fp32 is not None else ref
    cos = (ref * got).sum(axis=1)
    top_ref = (ref @ centers.T).argmax(axis=1) if centers is not None else None
    agreement = float(np.mean(top_ref == (got @ centers.T).argmax(axis=1))) if centers is not None else None
    scorer = Scorer("fitted", {"semantic": 0.3, "keyword": 1.9, "intent": 2.1, "context": -0.1, "historical": -2.0, "margin": 11.0},
                    -2.0, [0.0, 1.0], [0.0, 1.0], 0.9, True)
    load0 = os.getloadavg()
    results = {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "queries": nq,
               "load_average": load0, "embedding_path": warm, "precision": prec,
               "vectors": "random" if args.random_vectors else f"clustered around {len(center_texts)} prompt vectors",
               "embedding_ms": stats(emb_ms), "embedding_fp32_ms": stats(fp32_ms), "encode_baseline_ms": stats(encode_ms),
               "embedding_cpu_ms": stats(emb_cpu), "embedding_fp32_cpu_ms": stats(fp32_cpu),
               "embedding_speedup_vs_fp32_p50": round(pct(fp32_ms, 50) / pct(emb_ms, 50), 2),
               "precision_vs_fp32": {"prompts": len(check), "min_cosine": round(float(cos.min()), 5),
                                     "mean_cosine": round(float(cos.mean()), 5),
                                     "top1_agreement_over_centres": agreement},
               "sizes": {}}
    print(f"load average {load0[0]:.2f}; {torch.get_num_threads()} torch threads; path {warm}")
    print(f"embedding (one unique request, warm): {prec} p50 {pct(emb_ms, 50):.1f} ms p95 {pct(emb_ms, 95):.1f} ms; "
          f"fp32 p50 {pct(fp32_ms, 50):.1f} p95 {pct(fp32_ms, 95):.1f} (x{pct(fp32_ms, 50) / pct(emb_ms, 50):.2f}); "
          f"SentenceTransformer.encode() p50 {pct(encode_ms, 50):.1f} p95 {pct(encode_ms, 95):.1f}")
    print(f"  CPU time of this thread (load-independent): {prec} p50 {pct(emb_cpu, 50):.1f} p95 {pct(emb_cpu, 95):.1f} ms; "
          f"fp32 p50 {pct(fp32_cpu, 50):.1f} p95 {pct(fp32_cpu, 95):.1f} ms")
    print(f"{prec} vs fp32 on {len(check)} prompts: min cosine {cos.min():.5f}, mean {cos.mean():.5f}, "
          f"top-1 agreement over {len(center_texts)} prompt vectors {agreement}")
    print(f"{'patterns':>10} {'index':>6} {'build s':>8} {'match p50/p95':>14} {'route p50/p95':>14} "
          f"{'http match':>12} {'http route':>12} {'recall@1':>9} {'target p95':>10}")
    for n in sizes:
        pset, info = build_pattern_set(n, embedder.dimension, settings.learning.ivf_threshold, nprobe, centers)
        state = {"version": f"bench-{n}", "pset": pset, "scorer": scorer, "intent": clf, "row_of": {}, "manifest": None}
        router = Router(Paths.resolve(), settings, embedder, state)
        for q in queries[:20]:
            router.route(q, None, log=False, vector=embedder.encode_small([q], prec)[0])
        parts: dict[str, list[float]] = {k: [] for k in ("tokenise", "forward", "pool", "intent", "search", "score")}
        total, routes, total_cpu, routes_cpu = [], [], [], []
        for q in queries:
            # Stage by stage (the same calls encode_small and match make), then end to end.
            path = variant if variant is not None else fp32
            if path is not None:
                with torch.inference_mode():
                    t0 = time.perf_counter()
                    feats = path._features([q])
                    t1 = time.perf_counter()
                    hidden = path._hidden(feats)
                    t2 = time.perf_counter()
                    vec = path._pool(hidden, feats)[0]
                    t3 = time.perf_counter()
                parts["tokenise"].append((t1 - t0) * 1000)
                parts["forward"].append((t2 - t1) * 1000)
                parts["pool"].append((t3 - t2) * 1000)
            else:
                vec = embedder.encode_small([q], prec)[0]
            t3 = time.perf_counter()
            query, _ = router._query(q, None, vec)
            t4 = time.perf_counter()
            pset.searcher.search(np.ascontiguousarray(vec[None, :], dtype=np.float32), RETRIEVE_M)
            t5 = time.perf_counter()
            rank(pset, query, retrieve(pset, vec[None, :], RETRIEVE_M)[0], scorer)
            t6 = time.perf_counter()
            parts["intent"].append((t4 - t3) * 1000)
            parts["search"].append((t5 - t4) * 1000)
            parts["score"].append((t6 - t5) * 1000)
            t, c = time.perf_counter(), time.thread_time()
            v = embedder.encode_small([q + " (match)"], prec)[0]  # unique text: nothing reused
            router.match(q, None, k=5, vector=v)
            total.append((time.perf_counter() - t) * 1000)
            total_cpu.append((time.thread_time() - c) * 1000)
            t, c = time.perf_counter(), time.thread_time()
            v = embedder.encode_small([q + " (route)"], prec)[0]  # route as the service runs it
            router.route(q, None, log=False, vector=v)
            routes.append((time.perf_counter() - t) * 1000)
            routes_cpu.append((time.thread_time() - c) * 1000)
        row = {**info, "match_ms": stats(total), "route_ms": stats(routes),
               "match_cpu_ms": stats(total_cpu), "route_cpu_ms": stats(routes_cpu),
               "breakdown_ms": {k: stats(v) for k, v in parts.items() if v},
               "ratio_match_p95_to_embedding_p95": round(pct(total, 95) / pct(emb_ms, 95), 2)}
        if n <= RECALL_MAX_N and info["index_kind"] != "flat":
            qv = embedder.encode_small(query_pool, prec)
            row["recall_vs_exact"] = {"queries": len(query_pool), **recall(pset.searcher, qv, exact_top(qv, n, embedder.dimension, centers), RETRIEVE_M)}
        if not args.no_http:
            row["http"] = http_latency(router, [f"{q} (http)" for q in queries], prec, args.threads)
            # The texts differ (each must be unique), and the forward pass grows with the token count.
            tok = variant if variant is not None else fp32
            count = (lambda t: int(tok._features([t])["input_ids"].shape[1])) if tok is not None else (lambda t: 0)
            row["http"]["mean_tokens"] = {
                "in_process": round(float(np.mean([count(q + " (match)") for q in queries])), 1),
                "http": round(float(np.mean([count(f"{q} (http) (ticket match-{n})") for n, q in enumerate(queries)])), 1)}
            # What the service and its socket add on top of the same work in this process.
            row["http"]["over_in_process"] = {
                ep: {"p50_ms": round(row["http"][f"{ep}_ms"]["p50"] - row[f"{ep}_ms"]["p50"], 3),
                     "p95_ms": round(row["http"][f"{ep}_ms"]["p95"] - row[f"{ep}_ms"]["p95"], 3),
                     "p95_ratio": round(row["http"][f"{ep}_ms"]["p95"] / row[f"{ep}_ms"]["p95"], 2)}
                for ep in ("match", "route")}
        target = TARGETS_MS.get(n)
        worst = max(row["match_ms"]["p95"], row["route_ms"]["p95"], *([row["http"]["match_ms"]["p95"], row["http"]["route_ms"]["p95"]]
                                                                      if "http" in row else []))
        row.update({"target_p95_ms": target, "meets_target": (worst <= target) if target else None,
                    "load_average_after": os.getloadavg()})
        results["sizes"][str(n)] = row
        h = row.get("http")
        rc = row.get("recall_vs_exact", {}).get("recall_at_1")

        def pair(d: dict | None) -> str:
            return f"{d['p50']:.1f}/{d['p95']:.1f}" if d else "-"

        print(f"{n:>10} {info['index_kind']:>6} {info['build_s']:>8.1f} {pair(row['match_ms']):>14} {pair(row['route_ms']):>14} "
              f"{pair(h['match_ms'] if h else None):>12} {pair(h['route_ms'] if h else None):>12} "
              f"{rc if rc is not None else '-':>9} {target if target else '-':>10}", flush=True)
        print(f"            CPU time p50/p95 ms: match {pair(row['match_cpu_ms'])}, route {pair(row['route_cpu_ms'])}")
        if h:
            print("            over HTTP minus in process (p50/p95 ms, p95 ratio): " + ", ".join(
                f"{ep} +{v['p50_ms']:.1f}/+{v['p95_ms']:.1f} (x{v['p95_ratio']:.2f})" for ep, v in h["over_in_process"].items())
                + "; the service's own time p50/p95: " + ", ".join(f"{ep} {pair(v)}" for ep, v in h["service_compute_ms"].items())
                + f"; mean tokens per request in process {h['mean_tokens']['in_process']}, over HTTP {h['mean_tokens']['http']}")
        print("            breakdown p50/p95 ms: " + ", ".join(f"{k} {v['p50']:.2f}/{v['p95']:.2f}" for k, v in row["breakdown_ms"].items()))
        if "recall_vs_exact" in row:
            print(f"            recall vs exact ({info['index_kind']}, nlist {info['nlist']}, nprobe {nprobe}): {row['recall_vs_exact']}")
        del router, pset, state
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results["quick"] = args.quick
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
