"""Learn throughput: prompts embedded per second, and an incremental re-run vs a full build.

1. Embedding rate: MiniLM on this machine's cores, batches of ``[learning] batch_size``.
2. A lake of N traces (default 100k; the evaluation set's request texts, each repeated with a
   distinct suffix so every prompt is new) is learned once in full, then 1% new traces are added
   and ``learn`` runs again (incremental: cached embeddings, index updated in place).

Embedding 100k prompts takes ~N/rate seconds (about 10 minutes on 2 free cores), so for the full
build the vectors of the N base prompts are pre-seeded in the embedding cache (the real vector of
the request text plus small noise) and the full-build time is reported as the measured rest of the
job plus N / (measured embedding rate). The incremental run is measured end to end, embedding its
1% new prompts for real. Traces are handed to the job directly (the lakehouse read is not part of
this measurement).

    python benchmarks/learning_throughput.py [--quick] [--traces N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "learning_throughput.json"


def frame(data: dict, n: int, start_index: int, seed: int):
    """n traces as learning reads them (no events), prompts made distinct by a suffix."""
    import polars as pl

    from learning.source import _TRACE_SCHEMA, path_key

    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    reqs = data["requests"]
    rows = []
    for j in range(n):
        i = start_index + j
        req = reqs[i % len(reqs)]
        kind = data["kind_by_name"][req["kind"]]
        tools = list(kind["tools"])
        agents = list(kind.get("agents") or [])
        eps = list(kind.get("endpoints") or [])
        ok = rng.random() >= kind["fail"]
        rows.append({
            "correlation_id": f"bench-{i:08d}", "session_id": f"s{i // 3}", "source": "claude_code",
            "prompt_text": f"{req['text']} (ref {i})", "started_at": t0 + timedelta(seconds=30 * i),
            "duration_ms": kind["duration"] * rng.uniform(0.5, 1.5), "status": "success" if ok else "error", "success": ok,
            "success_score": 1.0 if ok else 0.5, "cwd": "/home/dev/shop", "tags": [], "agents": agents,
            "tool_sequence": tools, "tools": tools, "endpoints": eps, "hook_sequence": ["UserPromptSubmit", "Stop"],
            "hook_types": ["UserPromptSubmit", "Stop"], "tool_calls": len(tools), "hook_count": 2 + 2 * len(tools),
            "endpoint_count": len(eps), "subagents": len(agents), "input_tokens": None, "output_tokens": None,
            "child_duration_ms": 0.0, "depth": 1 if agents else 0, "path_key": path_key(agents, tools, eps),
        })
    return pl.DataFrame(rows, schema=_TRACE_SCHEMA)


def seed_cache(paths, embedder, traces, data) -> None:
    """Pre-seed the embedding cache: each prompt's vector = its request text's real vector + noise."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from learning.embeddings import model_slug
    from learning.text import content_hash

    texts = [r["text"] for r in data["requests"]]
    base = embedder.encode(texts)
    index_of = {t: i for i, t in enumerate(texts)}
    rng = np.random.default_rng(0)
    prompts = traces["prompt_text"].to_list()
    vecs = np.stack([base[index_of[p.rsplit(" (ref ", 1)[0]]] for p in prompts])
    vecs = vecs + 0.02 * rng.standard_normal(vecs.shape).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    folder = paths.index / "embeddings" / model_slug("all-MiniLM-L6-v2")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps({"model": "all-MiniLM-L6-v2", "dimension": embedder.dimension}))
    arr = pa.FixedSizeListArray.from_arrays(pa.array(vecs.astype(np.float32).reshape(-1)), embedder.dimension)
    pq.write_table(pa.table({"hash": [content_hash(p) for p in prompts], "vector": arr}), folder / "part-seed.parquet")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5k traces, 256 prompts for the rate")
    ap.add_argument("--traces", type=int, default=None)
    args = ap.parse_args()
    import polars as pl
    import torch

    from hooklake.paths import Paths
    from hooklake.settings import Settings
    from learning import synth
    from learning.embeddings import get_embedder
    from learning.job import run_learn
    from learning.source import LakeData

    n = args.traces or (5_000 if args.quick else 100_000)
    data = synth.load_eval_set()
    embedder = get_embedder()
    texts = [f"{r['text']} (variant {i})" for i, r in enumerate(data["requests"] * 2)][: 256 if args.quick else 1200]
    embedder.encode(texts[:64])
    t = time.perf_counter()
    embedder.encode(texts, batch_size=Settings().learning.batch_size)
    rate = len(texts) / (time.perf_counter() - t)
    print(f"embedding: {rate:.0f} prompts/s ({len(texts)} prompts, batch {Settings().learning.batch_size}, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} cpus)", flush=True)

    home = tempfile.mkdtemp(prefix="hooklake-throughput-")
    paths = Paths.resolve(home)
    base = frame(data, n, 0, 1)
    seed_cache(paths, embedder, base, data)
    empty = pl.DataFrame()
    t = time.perf_counter()
    full = run_learn(paths, Settings(), embedder=embedder, data=LakeData(base, empty, empty, empty, empty), full=True)
    full_rest_s = time.perf_counter() - t
    full_est = full_rest_s + n / rate
    print(f"full build of {n} traces: {full_rest_s:.1f} s measured without embedding (cache pre-seeded: "
          f"{full.prompts_embedded} embedded) + {n / rate:.0f} s embedding at {rate:.0f}/s = {full_est:.0f} s; "
          f"{full.patterns} patterns, index {full.index['kind']}", flush=True)
    more = frame(data, max(1, n // 100), n, 2)
    t = time.perf_counter()
    inc = run_learn(paths, Settings(), embedder=embedder, data=LakeData(pl.concat([base, more]), empty, empty, empty, empty))
    inc_s = time.perf_counter() - t
    print(f"incremental +{more.height} traces (1%): {inc_s:.1f} s end to end ({inc.prompts_embedded} prompts embedded, "
          f"{inc.embedding_cache_hits} cached, index {'updated in place' if inc.index['incremental'] else 'rebuilt'} "
          f"+{inc.index['added']} -{inc.index['removed']}) = {inc_s / full_est:.1%} of a full build", flush=True)
    out = {"traces": n, "embedding_prompts_per_s": round(rate, 1), "torch_threads": torch.get_num_threads(),
           "full_build_s_without_embedding": round(full_rest_s, 2), "full_build_s_estimated": round(full_est, 1),
           "incremental_s": round(inc_s, 2), "incremental_share_of_full": round(inc_s / full_est, 4),
           "incremental_embedded": inc.prompts_embedded, "incremental_cache_hits": inc.embedding_cache_hits,
           "incremental_index": inc.index, "full_report": {k: full.as_dict()[k] for k in ("patterns", "index", "duration_s")},
           "incremental_report": {k: inc.as_dict()[k] for k in ("patterns", "patterns_new", "patterns_new_versions",
                                                                "patterns_unchanged", "index", "duration_s")},
           "quick": args.quick}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
