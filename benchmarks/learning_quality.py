"""Match quality of the learned router on the evaluation request set, through the real pipeline.

For each seed: the evaluation set (learning/data/eval_requests.json: 800 request texts, 46 kinds,
8 kinds never seen before the split) becomes a lake of Claude Code hook events (spool -> real
ingest), then ``hooklake evaluate``'s code learns on the first 70% of the time span and matches
the rest. Reports per scorer (fitted weights, the seed's fixed weights, nearest-neighbour
top-1 cosine): precision, coverage and false-match rate at each one's fitted threshold, expected
calibration error, and precision at equal coverage (the fitted scorer's).

    python benchmarks/learning_quality.py [--quick] [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "learning_quality.json"
TARGETS = {"precision": 0.95, "coverage": 0.6, "false_match_rate": 0.05, "ece": 0.05}


def run_seed(seed: int, embedder, via: str) -> dict:
    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from learning import synth
    from learning.evaluate import run_evaluate

    with tempfile.TemporaryDirectory(prefix="hooklake-quality-") as home:
        os.environ["HOOKLAKE_HOME"] = home
        paths = Paths.resolve(home)
        traces = synth.generate(seed=seed)
        lake = synth.build_lake(traces, paths, via=via)
        out = run_evaluate(paths, load_settings(paths.config), embedder)
        out["lake"] = {k: lake.get(k) for k in ("via", "events_written", "ingest_error")}
        out["seed"] = seed
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--via", choices=("auto", "ingest", "rows"), default="auto", help="how the lake is built")
    args = ap.parse_args()
    from learning.embeddings import Embedder

    t0 = time.perf_counter()
    embedder = Embedder()
    seeds = [1] if args.quick else list(range(1, args.seeds + 1))
    runs = []
    for s in seeds:
        r = run_seed(s, embedder, args.via)
        if "error" in r:
            print(f"seed {s}: {r['error']}")
            return 1
        runs.append(r)
        f = r["scorers"][r["chosen_scorer"]]
        print(f"seed {s}: lake via {r['lake']['via']}, {r['train_traces']} past / {r['test_traces']} future traces "
              f"({r['test_unseen_kind_traces']} unseen-kind), {r['patterns']} patterns, shipped scorer {r['chosen_scorer']}: "
              f"P={f['precision']:.3f} C={f['coverage']:.3f} FMR={f['false_match_rate']:.3f} ECE={f['ece']:.3f}", flush=True)
    names = list(runs[0]["scorers"])
    summary = {}
    print()
    print(f"{'scorer':<18} {'precision':>10} {'coverage':>10} {'false-match':>12} {'ECE':>8} {'P@equal-cov':>12}   (mean over {len(runs)} seeds, min-max)")
    for n in names:
        row = {}
        for key in ("precision", "coverage", "false_match_rate", "ece"):
            vals = [r["scorers"][n][key] for r in runs]
            row[key] = {"mean": round(statistics.mean(vals), 4), "min": min(vals), "max": max(vals)}
        eq = [r["scorers"][n]["at_equal_coverage"].get("precision", float("nan")) for r in runs]
        row["precision_at_equal_coverage"] = {"mean": round(statistics.mean(eq), 4), "min": min(eq), "max": max(eq)}
        summary[n] = row
        fmt = lambda d: f"{d['mean']:.3f}"  # noqa: E731
        print(f"{n:<18} {fmt(row['precision']):>10} {fmt(row['coverage']):>10} {fmt(row['false_match_rate']):>12} "
              f"{fmt(row['ece']):>8} {fmt(row['precision_at_equal_coverage']):>12}   "
              f"P {row['precision']['min']:.3f}-{row['precision']['max']:.3f}, ECE {row['ece']['min']:.3f}-{row['ece']['max']:.3f}")
    chosen = [r["chosen_scorer"] for r in runs]
    fitted = summary["fitted"]
    checks = {
        "precision>=0.95": fitted["precision"]["mean"] >= TARGETS["precision"],
        "coverage>=0.6": fitted["coverage"]["mean"] >= TARGETS["coverage"],
        "false_match_rate<=0.05": fitted["false_match_rate"]["mean"] <= TARGETS["false_match_rate"],
        "ece<=0.05": fitted["ece"]["mean"] <= TARGETS["ece"],
        "fitted_beats_nn_at_equal_coverage": fitted["precision_at_equal_coverage"]["mean"] > summary["nearest_neighbour"]["precision_at_equal_coverage"]["mean"],
        "fitted_beats_seed_at_equal_coverage": fitted["precision_at_equal_coverage"]["mean"] > summary["seed"]["precision_at_equal_coverage"]["mean"],
    }
    print()
    print("fitted scorer vs targets (means): " + ", ".join(f"{k} {'OK' if v else 'MISSED'}" for k, v in checks.items()))
    print(f"scorer shipped by learn per seed: {chosen}")
    weights = [r["scorers"]["fitted"]["weights"] for r in runs]
    mean_w = {k: round(statistics.mean(w[k] for w in weights), 3) for k in weights[0]}
    print(f"fitted weights (logistic, mean over seeds): {mean_w}, intercept {statistics.mean(r['scorers']['fitted']['intercept'] for r in runs):.3f}")
    print(f"fitted thresholds (calibrated confidence): {[r['scorers']['fitted']['threshold'] for r in runs]}")
    out = {"seeds": seeds, "summary": summary, "checks": checks, "targets": TARGETS, "shipped": chosen,
           "mean_fitted_weights": mean_w, "runs": runs, "duration_s": round(time.perf_counter() - t0, 1),
           "quick": args.quick}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} in {out['duration_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
