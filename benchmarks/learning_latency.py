"""Warm lookup latency of the router, including the embedding of the request.

The index holds N synthetic pattern vectors (random unit vectors: only the index size matters
for search cost) built with the same code as ``hooklake learn`` (flat below
``[learning] ivf_threshold``, IVF above); each lookup embeds a real request text with MiniLM,
classifies its intent, searches, scores the candidates and calibrates — ``Router.match`` end to
end. Measured in the same process: the embedding alone (the floor any lookup pays), so the
search + scoring overhead is reported as a difference and a ratio.

    python benchmarks/learning_latency.py [--quick] [--sizes 100000,1000000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "learning_latency.json"
TARGETS_MS = {100_000: 30.0, 1_000_000: 60.0}


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


def build_pattern_set(n: int, dim: int, ivf_threshold: int, nprobe: int):
    from learning import index as idx
    from learning.matcher import PatternSet

    rng = np.random.default_rng(0)
    ids = np.arange(n, dtype=np.int64)

    def chunk_vectors(start: int, stop: int) -> np.ndarray:
        r = np.random.default_rng(start).standard_normal((stop - start, dim)).astype(np.float32)
        return r / np.linalg.norm(r, axis=1, keepdims=True)

    sample = chunk_vectors(10**9, 10**9 + min(n, 100_000)) if n >= ivf_threshold else None
    t0 = time.perf_counter()
    index, kind, nlist = idx.new_faiss_index(dim, n, ivf_threshold, sample)
    train_s = time.perf_counter() - t0
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        index.add_with_ids(chunk_vectors(start, stop), ids[start:stop])
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


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k and 100k patterns, 100 queries")
    ap.add_argument("--sizes", default=None, help="comma-separated pattern counts (default 100000,1000000)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--nprobe", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch and FAISS threads (default 1, as `hooklake serve`)")
    ap.add_argument("--no-trace", action="store_true", help="keep the transformer's Python forward (no TorchScript trace)")
    args = ap.parse_args()
    os.environ.setdefault("HOOKLAKE_HOME", tempfile.mkdtemp(prefix="hooklake-latency-"))
    import torch

    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from learning import synth
    from learning.embeddings import Embedder
    from learning.intent import IntentClassifier
    from learning.matcher import Scorer
    from learning.router import Router

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000, 100_000] if args.quick else [100_000, 1_000_000])
    nq = 100 if args.quick else args.queries
    settings = load_settings()
    nprobe = args.nprobe or settings.learning.nprobe
    torch.set_num_threads(args.threads)
    import faiss

    faiss.omp_set_num_threads(args.threads)  # as `hooklake serve` does
    embedder = Embedder()
    clf = IntentClassifier.build(embedder)
    texts = [r["text"] for r in synth.load_eval_set()["requests"]]
    rng = np.random.default_rng(1)
    queries = [texts[i] for i in rng.choice(len(texts), nq, replace=True)]
    warm = embedder.warm_up(trace=not args.no_trace)  # what `hooklake serve` does at start
    for q in queries[:20]:
        embedder.encode([q], batch_size=1)
        embedder.encode_one(q)
    # Baseline in the same process, interleaved query by query (a shared machine's load changes
    # by the second): SentenceTransformer.encode() on one prompt vs the direct path.
    encode_ms, emb_ms = [], []
    for q in queries:
        t = time.perf_counter()
        embedder.encode([q], batch_size=1)
        t1 = time.perf_counter()
        embedder.encode_one(q)
        t2 = time.perf_counter()
        encode_ms.append((t1 - t) * 1000)
        emb_ms.append((t2 - t1) * 1000)
    same = [float(a @ b) for a, b in zip(embedder.encode(queries[:50]), embedder.encode_small(queries[:50]))]
    scorer = Scorer("fitted", {"semantic": 0.3, "keyword": 1.9, "intent": 2.1, "context": -0.1, "historical": -2.0, "margin": 11.0},
                    -2.0, [0.0, 1.0], [0.0, 1.0], 0.9, True)
    results = {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "queries": nq,
               "load_average": os.getloadavg(), "embedding_path": warm,
               "embedding_only_ms": {"p50": round(pct(emb_ms, 50), 2), "p95": round(pct(emb_ms, 95), 2)},
               "encode_baseline_ms": {"p50": round(pct(encode_ms, 50), 2), "p95": round(pct(encode_ms, 95), 2)},
               "embedding_speedup_p50": round(pct(encode_ms, 50) / pct(emb_ms, 50), 2),
               "min_cosine_direct_vs_encode": round(min(same), 6), "sizes": {}}
    print(f"load average {os.getloadavg()[0]:.2f}; {torch.get_num_threads()} torch threads; path {warm}")
    print(f"embedding only (MiniLM, one request, warm): p50 {pct(emb_ms, 50):.1f} ms, p95 {pct(emb_ms, 95):.1f} ms; "
          f"SentenceTransformer.encode() p50 {pct(encode_ms, 50):.1f} ms, p95 {pct(encode_ms, 95):.1f} ms "
          f"(ratio p50 {pct(encode_ms, 50) / pct(emb_ms, 50):.2f}); min cosine direct vs encode() {min(same):.6f}")
    print(f"{'patterns':>10} {'index':>6} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'search+score p95':>17} "
          f"{'route p50/p95':>14} {'target p95':>10}")
    for n in sizes:
        pset, info = build_pattern_set(n, embedder.dimension, settings.learning.ivf_threshold, nprobe)
        state = {"version": f"bench-{n}", "pset": pset, "scorer": scorer, "intent": clf, "row_of": {}, "manifest": None}
        router = Router(Paths.resolve(), settings, embedder, state)
        for q in queries[:20]:
            router.match(q, None, k=5)
        total, search = [], []
        for q in queries:
            t = time.perf_counter()
            vec = embedder.encode_one(q)
            t1 = time.perf_counter()
            router.match(q, None, k=5, vector=vec)
            t2 = time.perf_counter()
            total.append((t2 - t) * 1000)
            search.append((t2 - t1) * 1000)
        routes = []
        for q in queries:  # route end to end, uncached (embedding included), not logged
            t = time.perf_counter()
            router.route(q, None, log=False)
            routes.append((time.perf_counter() - t) * 1000)
        target = TARGETS_MS.get(n)
        row = {**info, "p50_ms": round(pct(total, 50), 2), "p95_ms": round(pct(total, 95), 2), "p99_ms": round(pct(total, 99), 2),
               "search_score_p50_ms": round(pct(search, 50), 2), "search_score_p95_ms": round(pct(search, 95), 2),
               "ratio_p95_to_embedding_p95": round(pct(total, 95) / pct(emb_ms, 95), 2), "target_p95_ms": target,
               "meets_target": (pct(total, 95) <= target) if target else None,
               "route_p50_ms": round(pct(routes, 50), 2), "route_p95_ms": round(pct(routes, 95), 2),
               "load_average_after": os.getloadavg()}
        results["sizes"][str(n)] = row
        print(f"{n:>10} {info['index_kind']:>6} {info['build_s']:>8.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
              f"{row['p99_ms']:>8.1f} {row['search_score_p95_ms']:>17.2f} {row['route_p50_ms']:>6.1f}/{row['route_p95_ms']:<7.1f} "
              f"{target if target else '-':>10}", flush=True)
        del router, pset, state
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results["quick"] = args.quick
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
