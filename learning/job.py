"""``hooklake learn``: lake -> patterns, chaining and error tables, calibrated scorer, index.

Incremental by construction: prompt embeddings come from a cache keyed by content hash (a re-run
embeds only prompts it has not seen), grouping is deterministic in time order (patterns keep
their ids; a changed pattern gets a new version, the old row is kept), and the FAISS index of the
previous version is updated in place (new exemplars added, vanished ones removed) instead of
rebuilt. ``--full`` re-embeds nothing that is cached for the same model but rebuilds the index.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from hooklake.errors import HooklakeError
from learning import index as idx
from learning import store
from learning.calibration import Corpus, fit, gather_samples
from learning.chaining import chaining_rows
from learning.errorpatterns import error_rows
from learning.patterns import attribute_failures, build_pattern_rows, cluster_traces, endpoint_profiles, historical
from learning.patternset import exemplars
from learning.source import LakeData
from learning.tables import LEARNED_TABLES
from learning.text import content_hash

OVERRIDES_FILE = "pattern_overrides.json"


@dataclass
class LearnReport:
    run_id: str
    index_version: str | None = None
    model: str = ""
    traces: int = 0
    successful_traces: int = 0
    skipped_without_prompt: int = 0
    prompts_embedded: int = 0
    embedding_cache_hits: int = 0
    embed_seconds: float = 0.0
    patterns: int = 0
    patterns_new: int = 0
    patterns_new_versions: int = 0
    patterns_unchanged: int = 0
    patterns_retired: int = 0
    pruned: list[dict[str, Any]] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    chains: int = 0
    error_patterns: int = 0
    usage_rows: int = 0
    index: dict[str, Any] = field(default_factory=dict)
    scorer: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _overrides(paths) -> dict[str, list[str]]:
    path = Path(paths.state) / OVERRIDES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"keep": [], "prune": []}
    return {"keep": list(data.get("keep", [])), "prune": list(data.get("prune", []))}


def set_override(paths, pattern_id: str, action: str) -> dict[str, list[str]]:
    """``keep`` exempts a pattern from pruning (undoes a prune), ``prune`` prunes it by hand,
    ``clear`` returns it to the automatic rule. Takes effect at the next learn."""
    data = _overrides(paths)
    data["keep"] = [p for p in data["keep"] if p != pattern_id]
    data["prune"] = [p for p in data["prune"] if p != pattern_id]
    if action in ("keep", "prune"):
        data[action].append(pattern_id)
    path = Path(paths.state) / OVERRIDES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)
    return data


def _usage_rows(data: LakeData, patterns_by_id: dict[str, dict], now: datetime) -> list[dict[str, Any]]:
    d = data.decisions
    if d.height == 0:
        return []
    traces = {r["correlation_id"]: r for r in data.traces.iter_rows(named=True)}
    rows = []
    for dec in d.iter_rows(named=True):
        t = traces.get(dec["correlation_id"])
        pat = patterns_by_id.get(dec["pattern_id"])
        expected_d = pat.get("avg_duration_ms") if pat else None
        actual = t["duration_ms"] if t else None
        dev = None
        if t is not None:
            exp_agents = set(dec.get("expected_agents") or (pat.get("agents") if pat else []) or [])
            exp_tools = set(dec.get("expected_tools") or (pat.get("tool_names") if pat else []) or [])
            used_a, used_t = set(t["agents"] or []), set(t["tools"] or [])
            dev = json.dumps({"agents_missing": sorted(exp_agents - used_a), "agents_unexpected": sorted(used_a - exp_agents),
                              "tools_missing": sorted(exp_tools - used_t), "tools_unexpected": sorted(used_t - exp_tools)})
        rows.append({
            "usage_id": dec["event_id"], "pattern_id": dec["pattern_id"],
            "pattern_version": int(dec["pattern_version"]) if dec.get("pattern_version") is not None else None,
            "correlation_id": dec["correlation_id"], "user_request": t["prompt_text"] if t else None,
            "match_score": float(dec["match_score"]) if dec.get("match_score") is not None else None,
            "strategy": dec["strategy"], "used": bool(dec["used"]),
            "outcome": "unknown" if t is None else ("success" if t["success"] else "failure"),
            "success": None if t is None else bool(t["success"]),
            "deviations": dev, "expected_duration_ms": expected_d, "actual_duration_ms": actual,
            "performance_variance": ((actual - expected_d) / expected_d) if (actual is not None and expected_d) else None,
            "created_at": dec["decided_at"] or now,
        })
    return rows


def run_learn(paths=None, settings=None, *, full: bool = False, progress: bool = False, embedder=None,
              data: LakeData | None = None, calibrate: bool = True, aggregate=None) -> LearnReport:
    """``aggregate``: optional ``(ok, failed, vectors, failed_vectors, probs, intent_names) -> pattern
    rows`` replacing the grouping below (``learn --engine spark`` groups on the executors)."""
    from hooklake.paths import Paths
    from hooklake.settings import load_settings

    t_start = time.perf_counter()
    paths = paths or Paths.resolve()
    settings = settings or load_settings(paths.config)
    ls = settings.learning
    now = datetime.now(timezone.utc)
    report = LearnReport(run_id=uuid.uuid4().hex[:12], model=ls.model)
    bar = _Stages(progress, ["read lake", "embed", "patterns", "tables", "calibrate", "index"])

    if data is None:
        from learning.source import load

        data = load(paths)
    bar.next()
    previous = idx.current_version(paths.index)
    prev_manifest = idx.read_manifest(paths.index, previous) if previous else None
    if not full:
        idx.check_model(prev_manifest, ls.model, where=paths.index / idx.CURRENT_FILE)

    from learning.embeddings import EmbeddingCache, get_embedder
    from learning.intent import IntentClassifier, taxonomy_from_settings

    embedder = embedder or get_embedder(ls.model)
    if embedder.model_name != ls.model:
        raise HooklakeError(f"embedder is '{embedder.model_name}' but [learning] model is '{ls.model}'")
    cache = EmbeddingCache(paths.index / "embeddings", ls.model, embedder.dimension)

    traces = data.traces.sort("started_at")
    report.traces = traces.height
    has_prompt = traces["prompt_text"].is_not_null() & (traces["prompt_text"].str.strip_chars() != "")
    report.skipped_without_prompt = int((~has_prompt).sum())
    traces = traces.filter(has_prompt)
    ok = traces.filter(pl.col("success"))
    failed = traces.filter(~pl.col("success"))
    report.successful_traces = ok.height

    t0 = time.perf_counter()
    texts = traces["prompt_text"].to_list()
    hashes_all = [content_hash(t) for t in texts]
    vecs_all = cache.get_or_embed(hashes_all, texts, embedder, batch_size=ls.batch_size, progress=progress)
    report.embed_seconds = round(time.perf_counter() - t0, 3)
    report.prompts_embedded = cache.stats.misses
    report.embedding_cache_hits = cache.stats.hits
    succ_mask = traces["success"].to_numpy()
    vectors = vecs_all[succ_mask]
    failed_vectors = vecs_all[~succ_mask]
    hashes = [h for h, s in zip(hashes_all, succ_mask) if s]
    taxonomy = taxonomy_from_settings(ls.intents)
    clf = IntentClassifier.build(embedder, taxonomy)
    probs = clf.probabilities(vectors, ok["prompt_text"].to_list()) if ok.height else np.zeros((0, len(taxonomy)), np.float32)
    bar.next()

    if aggregate is not None:
        rows = aggregate(ok, failed, vectors, failed_vectors, probs, clf.names)
    else:
        clusters = cluster_traces(ok["path_key"].to_list(), vectors, ls.similarity_threshold)
        if failed.height:
            attribute_failures(clusters, failed["path_key"].to_list(), failed_vectors, ls.similarity_threshold)
        rows = build_pattern_rows(clusters, ok, failed, vectors, probs, clf.names, endpoint_profiles(data.tool_calls), ls.model)
    bar.next()

    # ---- usage, pruning, versioning --------------------------------------------------------
    by_id = {r["pattern_id"]: r for r in rows}
    usage = _usage_rows(data, by_id, now)
    report.usage_rows = len(usage)
    per_pattern: dict[str, list[dict]] = {}
    for u in usage:
        if u["used"] and u["success"] is not None:
            per_pattern.setdefault(u["pattern_id"], []).append(u)
    overrides = _overrides(paths)
    prev_table = store.read_table(paths.lake, "learned_patterns")
    prev_rows = prev_table.to_pylist()
    prev_current = {r["pattern_id"]: r for r in prev_rows if r["is_current"]}
    out_rows = [r for r in prev_rows if not r["is_current"]]
    for r in rows:
        uses = per_pattern.get(r["pattern_id"], [])
        s = sum(1 for u in uses if u["success"])
        r["usage_count"], r["success_count"], r["failure_count"] = len(uses), s, len(uses) - s
        r["last_used_at"] = max((u["created_at"] for u in uses), default=None)
        r["historical_success"] = historical(r["trace_count"], r["failed_trace_count"], s, len(uses))
        replay_rate = (s + 1.0) / (len(uses) + 2.0)
        status, reason = "active", None
        if r["pattern_id"] in overrides["prune"]:
            status, reason = "pruned", "pruned by hand (hooklake patterns --prune)"
        elif len(uses) >= ls.prune_min_uses and replay_rate < ls.prune_max_success and r["pattern_id"] not in overrides["keep"]:
            status = "pruned"
            reason = f"replays keep failing: {s}/{len(uses)} succeeded, (s+1)/(n+2) = {replay_rate:.2f} < {ls.prune_max_success}"
        old = prev_current.pop(r["pattern_id"], None)
        if status == "pruned":
            report.pruned.append({"pattern_id": r["pattern_id"], "reason": reason})
        elif old is not None and old.get("status") == "pruned":
            report.restored.append(r["pattern_id"])
        r["status"], r["status_reason"] = status, reason
        r["learn_run_id"] = report.run_id
        r["updated_at"] = now
        r["superseded_at"] = None
        r["is_current"] = True
        if old is None:
            r["version"], r["created_at"] = 1, now
            report.patterns_new += 1
        elif old["content_hash"] != r["content_hash"]:
            out_rows.append(dict(old, is_current=False, superseded_at=now))
            r["version"], r["created_at"] = int(old["version"]) + 1, now
            report.patterns_new_versions += 1
        else:
            r["version"], r["created_at"] = int(old["version"]), old["created_at"]
            r["learn_run_id"] = old.get("learn_run_id") or report.run_id
            report.patterns_unchanged += 1
        out_rows.append(r)
    for old in prev_current.values():  # no longer formed from the lake (e.g. retention removed its traces)
        report.patterns_retired += old.get("status") != "retired"
        out_rows.append(dict(old, status="retired", status_reason="its traces are no longer in the lake", updated_at=now))
    report.patterns = len(rows)

    pat_schema = LEARNED_TABLES["learned_patterns"]
    store.publish_table(paths.lake, "learned_patterns", _to_table(out_rows, pat_schema))
    store.publish_table(paths.lake, "learned_pattern_usage", _to_table(usage, LEARNED_TABLES["learned_pattern_usage"]))
    chains = chaining_rows(data.traces, now)
    store.publish_table(paths.lake, "learned_chaining", _to_table(chains, LEARNED_TABLES["learned_chaining"]))
    errs = error_rows(data.errors, data.traces, now)
    store.publish_table(paths.lake, "learned_errors", _to_table(errs, LEARNED_TABLES["learned_errors"]))
    report.chains, report.error_patterns = len(chains), len(errs)
    bar.next()

    # ---- calibration ------------------------------------------------------------------------
    from learning.matcher import Scorer

    fitted = None
    reuse = _reusable_calibration(paths, previous, prev_manifest, ok.height, full) if calibrate else None
    if reuse is not None:
        calib_prev, reason = reuse
        scorer = Scorer.from_dict(calib_prev["scorer"])
    elif calibrate and ok.height:
        corpus = Corpus(ok, vectors, probs, hashes, failed, failed_vectors)
        samples, info = gather_samples(corpus, ls.similarity_threshold, min_novel_share=ls.min_novel_share)
        fitted = fit(samples, ls.target_precision, ls.max_false_match_rate)
        fitted.info.update(info)
        scorer = fitted.scorers[fitted.chosen]
    else:
        scorer = Scorer("seed", threshold=0.85)
    calib = calib_prev if reuse is not None else {
        "scorer": scorer.as_dict(),
        "chosen": fitted.chosen if fitted else "seed",
        "comparison": {k: {kk: vv for kk, vv in v.items()} for k, v in (fitted.metrics.items() if fitted else [])},
        "all_scorers": {k: v.as_dict() for k, v in fitted.scorers.items()} if fitted else {},
        "info": fitted.info if fitted else {"reason": "calibration skipped"},
        "target_precision": ls.target_precision, "max_false_match_rate": ls.max_false_match_rate,
        "calibrated_on_traces": ok.height,
    }
    if reuse is not None:
        calib = dict(calib, reused_in=report.run_id)
    report.scorer = {"kind": scorer.kind, "calibrated": scorer.calibrated, "threshold": round(scorer.threshold, 4),
                     "weights": {k: round(v, 4) for k, v in scorer.weights.items()}, "intercept": round(scorer.intercept, 4),
                     "comparison": calib.get("comparison"), "info": calib.get("info"),
                     "refitted": reuse is None, "reuse_reason": reuse[1] if reuse is not None else None}
    bar.next()

    # ---- index --------------------------------------------------------------------------------
    serving = [r for r in rows]  # active and pruned (pruned are filtered at query time: reversible)
    ex_ids, ex_pat, ex_rows = exemplars([r["pattern_id"] for r in serving], [r["member_rows"] for r in serving], hashes)
    row_of_id = dict(zip(ex_ids.tolist(), ex_rows.tolist()))

    def vectors_for(ids: np.ndarray) -> np.ndarray:
        return vectors[[row_of_id[int(i)] for i in ids]]

    upd = idx.update_index(paths.index, previous if not full else None, ex_ids, vectors_for, embedder.dimension,
                           full=full or prev_manifest is None, ivf_threshold=ls.ivf_threshold)

    def write_files(folder: Path) -> None:
        import faiss
        import pyarrow.parquet as pq

        faiss.write_index(upd.index, str(folder / idx.FAISS_FILE))
        np.savez(folder / idx.EXEMPLARS_FILE, ids=ex_ids, pattern=ex_pat)
        pq.write_table(_serving_table(serving), folder / idx.PATTERNS_FILE)
        (folder / idx.CALIBRATION_FILE).write_text(json.dumps(calib, indent=2, default=_json_default), encoding="utf-8")
        (folder / idx.INTENTS_FILE).write_text(json.dumps([asdict(i) for i in taxonomy], indent=2), encoding="utf-8")
        np.save(folder / idx.INTENT_VECTORS_FILE, clf.description_vectors)

    manifest = {
        "model": ls.model, "dimension": embedder.dimension, "built_at": now.isoformat(), "learn_run_id": report.run_id,
        "previous_version": previous, "index_kind": upd.kind, "nlist": upd.nlist, "nprobe": ls.nprobe,
        "incremental": not upd.rebuilt, "rebuild_reason": upd.reason or None,
        "counts": {"patterns": len(serving), "active": sum(r["status"] == "active" for r in serving),
                   "pruned": sum(r["status"] == "pruned" for r in serving), "exemplars": int(len(ex_ids)),
                   "traces": report.traces, "successful_traces": report.successful_traces,
                   "added": upd.added, "removed": upd.removed},
        "scorer": scorer.kind, "threshold": scorer.threshold, "learned_schema_version": pat_schema.metadata[b"hooklake_learned_schema_version"].decode(),
    }
    report.index_version = idx.publish_version(paths.index, write_files, manifest, ls.keep_versions)
    report.index = {"version": report.index_version, "kind": upd.kind, "incremental": not upd.rebuilt,
                    "reason": upd.reason, "exemplars": int(len(ex_ids)), "added": upd.added, "removed": upd.removed}
    bar.next()
    bar.close()
    report.duration_s = round(time.perf_counter() - t_start, 3)
    return report


#: Refit weights, calibration and threshold only when the successful traces grew by this share.
RECALIBRATE_GROWTH = 0.05


def _reusable_calibration(paths, previous, manifest, n_ok: int, full: bool):
    """The previous version's calibration when the lake grew by less than RECALIBRATE_GROWTH."""
    if full or previous is None or manifest is None:
        return None
    try:
        calib = json.loads((idx.version_dir(paths.index, previous) / idx.CALIBRATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    base = int(calib.get("calibrated_on_traces") or 0)
    if base <= 0 or not calib.get("scorer", {}).get("calibrated"):
        return None
    growth = (n_ok - base) / base
    if abs(growth) >= RECALIBRATE_GROWTH:
        return None
    return calib, f"lake changed by {growth:+.1%} since calibration on {base} traces (< {RECALIBRATE_GROWTH:.0%})"


SERVING_COLUMNS = (
    "pattern_id", "version", "status", "path_key", "agent", "agents", "routing_strategy", "tool_names",
    "endpoint_paths", "hook_types", "hook_sequence", "endpoint_pattern", "keywords", "cwds", "intent",
    "intent_confidence", "historical_success", "trace_count", "failed_trace_count", "usage_count", "success_count",
    "avg_duration_ms", "min_duration_ms", "max_duration_ms", "p50_duration_ms", "avg_tool_calls", "avg_hook_count",
    "avg_endpoint_count", "prompt_text", "prompt_examples", "source_correlation_id",
)


def _serving_table(rows: list[dict[str, Any]]) -> pa.Table:
    cols = {c: [r.get(c) for r in rows] for c in SERVING_COLUMNS}
    table = pa.table(cols) if rows else pa.table({c: pa.array([], pa.string()) for c in SERVING_COLUMNS})
    dist = [np.asarray(r["intent_distribution"], dtype=np.float32).tolist() for r in rows]
    return table.append_column("intent_distribution", pa.array(dist, pa.list_(pa.float32())))


def _to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    if not rows:
        return schema.empty_table()
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


class _Stages:
    """A tqdm bar over the job's stages (silent unless ``progress``)."""

    def __init__(self, enabled: bool, names: list[str]):
        self.names = names
        self.i = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=len(names), desc="learn", unit="stage")
            self.bar.set_postfix_str(names[0])

    def next(self) -> None:
        self.i += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.i < len(self.names):
                self.bar.set_postfix_str(self.names[self.i])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
