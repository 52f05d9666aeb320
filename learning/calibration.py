"""Fitting the scorer on the lake's own history: weights, calibration, threshold.

Samples come from re-playing the past against itself:

* time folds — successful traces in time order are cut into blocks; each block is matched
  against patterns learned from the blocks before it (what the router will face: the future);
* path hold-out folds — all traces of some execution paths are hidden and matched against the
  rest: every match is false, which measures false matches on requests of a kind never seen.
  Their weight is set so that unseen-kind requests make up ``novel_share`` of the samples (the
  share observed in the time folds, at least ``min_novel_share``).

* random folds — each trace matched against patterns learned from all the others (what a mature
  index looks like).

A logistic regression over the components (plus ``margin``) gives the fitted weights; an isotonic
regression of the top-1 score against correctness, on out-of-fold scores (5-fold cross-fitting),
gives the calibrated confidence; the threshold is the lowest confidence at which
precision reaches ``target_precision`` and the false-match rate stays under ``max_false_match_rate``.
The same is done for the seed's fixed weights and for plain nearest-neighbour cosine, so the
scorers can be compared on equal terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from learning.matcher import FEATURES, PatternSet, Scorer, candidate_features, make_query, retrieve
from learning.patterns import attribute_failures, cluster_traces
from learning.patternset import from_clusters


@dataclass
class Corpus:
    """Traces with their embeddings; ``ok`` = successful (time order), ``failed`` = the others."""

    ok: pl.DataFrame
    vectors: np.ndarray
    probs: np.ndarray
    hashes: list[str]
    failed: pl.DataFrame
    failed_vectors: np.ndarray

    def take(self, ok_idx: np.ndarray, failed_idx: np.ndarray) -> "Corpus":
        return Corpus(self.ok[ok_idx.tolist()], self.vectors[ok_idx], self.probs[ok_idx],
                      [self.hashes[i] for i in ok_idx], self.failed[failed_idx.tolist()], self.failed_vectors[failed_idx])


def build_patternset(c: Corpus, threshold: float) -> PatternSet:
    clusters = cluster_traces(c.ok["path_key"].to_list(), c.vectors, threshold)
    if c.failed.height:
        attribute_failures(clusters, c.failed["path_key"].to_list(), c.failed_vectors, threshold)
    return from_clusters(clusters, c.ok, c.vectors, c.probs, c.hashes)


@dataclass
class Samples:
    X: np.ndarray  # candidates x FEATURES
    y: np.ndarray  # candidate is on the query's path
    qid: np.ndarray  # query of each candidate
    novel: np.ndarray  # per query: its path is absent from the patterns
    weight: np.ndarray  # per query
    group: np.ndarray  # per query: 'time' or 'holdout'

    @property
    def n_queries(self) -> int:
        return len(self.novel)

    def subset(self, mask: np.ndarray) -> "Samples":
        qids = np.flatnonzero(mask)
        remap = -np.ones(len(mask), dtype=np.int64)
        remap[qids] = np.arange(len(qids))
        keep = mask[self.qid]
        return Samples(self.X[keep], self.y[keep], remap[self.qid[keep]], self.novel[mask], self.weight[mask], self.group[mask])

    @staticmethod
    def concat(parts: list["Samples"]) -> "Samples":
        parts = [p for p in parts if p.n_queries]
        if not parts:
            return Samples(np.zeros((0, len(FEATURES))), np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, bool),
                           np.zeros(0), np.zeros(0, dtype=object))
        offset, qids = 0, []
        for p in parts:
            qids.append(p.qid + offset)
            offset += p.n_queries
        return Samples(np.vstack([p.X for p in parts]), np.concatenate([p.y for p in parts]), np.concatenate(qids),
                       np.concatenate([p.novel for p in parts]), np.concatenate([p.weight for p in parts]),
                       np.concatenate([p.group for p in parts]))


def collect(pset: PatternSet, queries: Corpus, group: str, retrieve_m: int = 64, limit: int = 10) -> Samples:
    """Candidate features for each query trace against ``pset``; label = same execution path."""
    n = queries.ok.height
    if n == 0:
        return Samples.concat([])
    known = set(pset.path_keys)
    best = retrieve(pset, queries.vectors, retrieve_m)
    texts = queries.ok["prompt_text"].to_list()
    cwds = queries.ok["cwd"].to_list()
    keys = queries.ok["path_key"].to_list()
    X, y, qid = [], [], []
    for i in range(n):
        q = make_query(texts[i], queries.vectors[i], queries.probs[i], {"cwd": cwds[i]} if cwds[i] else None)
        for c in candidate_features(pset, q, best[i], limit):
            X.append([c.features[f] for f in FEATURES])
            y.append(pset.path_keys[c.pattern] == keys[i])
            qid.append(i)
    novel = np.array([k not in known for k in keys], dtype=bool)
    return Samples(np.array(X, dtype=np.float64).reshape(-1, len(FEATURES)), np.array(y, dtype=bool),
                   np.array(qid, dtype=np.int64), novel, np.ones(n), np.array([group] * n, dtype=object))


def gather_samples(c: Corpus, threshold: float, blocks: int = 5, holdout_folds: int = 5, max_queries: int = 4000,
                   min_novel_share: float = 0.15, seed: int = 0) -> tuple[Samples, dict[str, Any]]:
    """Time-fold and path-hold-out samples from the corpus (see module docstring)."""
    rng = np.random.default_rng(seed)
    n = c.ok.height
    failed_times = c.failed["started_at"].to_list() if c.failed.height else []
    ok_times = c.ok["started_at"].to_list()
    parts: list[Samples] = []
    bounds = np.linspace(0, n, blocks + 1).astype(int)
    per_block = max(1, max_queries // max(1, blocks - 1))
    for b in range(1, blocks):
        lo, hi = bounds[b], bounds[b + 1]
        if lo == 0 or hi <= lo:
            continue
        cut = ok_times[lo]
        train = c.take(np.arange(lo), np.array([i for i, t in enumerate(failed_times) if t < cut], dtype=np.int64))
        test_idx = np.arange(lo, hi)
        if len(test_idx) > per_block:
            test_idx = np.sort(rng.choice(test_idx, per_block, replace=False))
        test = c.take(test_idx, np.zeros(0, dtype=np.int64))
        parts.append(collect(build_patternset(train, threshold), test, "time"))
    # random folds: each trace matched against patterns from all other traces (a mature index)
    order = rng.permutation(n)
    per_rand = max(1, max_queries // (2 * blocks))
    ftimes_idx = np.arange(len(failed_times), dtype=np.int64)
    for fold in np.array_split(order, blocks) if n >= 2 * blocks else []:
        test_idx = np.sort(fold[:per_rand])
        train_idx = np.setdiff1d(np.arange(n), fold)
        parts.append(collect(build_patternset(c.take(train_idx, ftimes_idx), threshold),
                             c.take(test_idx, np.zeros(0, dtype=np.int64)), "random"))
    time_s = Samples.concat(parts)
    natural_novel = float(time_s.novel[time_s.group == "time"].mean()) if (time_s.group == "time").any() else 0.0
    # path hold-out
    keys = np.array(c.ok["path_key"].to_list(), dtype=object)
    uniq = np.array(sorted(set(keys.tolist())), dtype=object)
    rng.shuffle(uniq)
    hold_parts: list[Samples] = []
    if len(uniq) >= 2:
        folds = np.array_split(uniq, min(holdout_folds, len(uniq)))
        fkeys = np.array(c.failed["path_key"].to_list(), dtype=object) if c.failed.height else np.zeros(0, dtype=object)
        per_fold = max(1, max_queries // (2 * len(folds)))
        for fold in folds:
            inside = np.isin(keys, fold)
            train = c.take(np.flatnonzero(~inside), np.flatnonzero(~np.isin(fkeys, fold)) if len(fkeys) else np.zeros(0, np.int64))
            test_idx = np.flatnonzero(inside)
            if len(test_idx) > per_fold:
                test_idx = np.sort(rng.choice(test_idx, per_fold, replace=False))
            if train.ok.height == 0 or len(test_idx) == 0:
                continue
            hold_parts.append(collect(build_patternset(train, threshold), c.take(test_idx, np.zeros(0, np.int64)), "holdout"))
    hold_s = Samples.concat(hold_parts)
    target = max(natural_novel, min_novel_share)
    n_t, n_g = time_s.n_queries, hold_s.n_queries
    # The random folds add mostly known-kind queries: weigh the hold-out (all unseen-kind) queries
    # so that the whole sample has the target share of unseen-kind requests.
    mix_novel = float(time_s.novel.mean()) if n_t else 0.0
    if n_g and n_t:
        w = (target - mix_novel) * n_t / ((1 - target) * n_g) if target > mix_novel else 0.0
        hold_s.weight = np.full(n_g, max(w, 1e-3))
    samples = Samples.concat([time_s, hold_s])
    info = {"time_queries": int((time_s.group == "time").sum()), "random_queries": int((time_s.group == "random").sum()),
            "holdout_queries": n_g, "natural_novel_share": round(natural_novel, 4),
            "novel_share_used": round(target, 4)}
    return samples, info


# ---------------------------------------------------------------------------------------------
# Scoring samples with a scorer, fitting, metrics
# ---------------------------------------------------------------------------------------------


def _feature_dicts(X: np.ndarray) -> list[dict[str, float]]:
    return [dict(zip(FEATURES, row)) for row in X]


def top1(s: Samples, scorer: Scorer) -> tuple[np.ndarray, np.ndarray]:
    """Per query: the top candidate's raw score and whether it is correct."""
    raw = np.zeros(s.n_queries)
    correct = np.zeros(s.n_queries, dtype=bool)
    has = np.zeros(s.n_queries, dtype=bool)
    scores = np.array([scorer.raw(f) for f in _feature_dicts(s.X)]) if len(s.X) else np.zeros(0)
    for j in range(len(scores)):
        q = s.qid[j]
        if not has[q] or scores[j] > raw[q]:
            raw[q], correct[q], has[q] = scores[j], s.y[j], True
    return raw, correct


def metrics(conf: np.ndarray, correct: np.ndarray, novel: np.ndarray, weight: np.ndarray, threshold: float) -> dict[str, float]:
    m = conf >= threshold
    w = weight
    matched_w = float((w * m).sum())
    seen = ~novel
    out = {
        "threshold": round(float(threshold), 4),
        "precision": float((w * (m & correct)).sum() / matched_w) if matched_w else 1.0,
        "coverage": float((w * (m & seen)).sum() / (w * seen).sum()) if (w * seen).sum() else 0.0,
        "correct_coverage": float((w * (m & correct & seen)).sum() / (w * seen).sum()) if (w * seen).sum() else 0.0,
        "false_match_rate": float((w * (m & novel)).sum() / (w * novel).sum()) if (w * novel).sum() else 0.0,
        "ece": ece(conf, correct, w),
        "queries": int(len(conf)),
        "novel_queries": int(novel.sum()),
    }
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def ece(conf: np.ndarray, correct: np.ndarray, weight: np.ndarray | None = None, bins: int = 10) -> float:
    if len(conf) == 0:
        return 0.0
    w = np.ones(len(conf)) if weight is None else weight
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = w.sum()
    err = 0.0
    for b in range(bins):
        sel = idx == b
        if not sel.any():
            continue
        wb = w[sel].sum()
        err += wb / total * abs(float((w[sel] * conf[sel]).sum() / wb) - float((w[sel] * correct[sel]).sum() / wb))
    return float(err)


def precision_at_coverage(conf: np.ndarray, correct: np.ndarray, novel: np.ndarray, weight: np.ndarray, coverage: float) -> dict[str, float]:
    """Precision of the highest-scoring matches when the threshold on ``conf`` (raw scores: no ties)
    gives ``coverage`` of seen-kind queries."""
    seen_conf = np.sort(conf[~novel])[::-1]
    if len(seen_conf) == 0:
        return {"coverage": 0.0, "precision": 1.0, "raw_threshold": 1.0}
    k = int(np.ceil(coverage * len(seen_conf))) - 1
    t = float(seen_conf[max(0, min(k, len(seen_conf) - 1))])
    m = metrics(conf, correct, novel, weight, t)
    return {"coverage": m["coverage"], "precision": m["precision"], "raw_threshold": m["threshold"],
            "false_match_rate": m["false_match_rate"]}


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    d = 1 + z * z / n
    c = p + z * z / (2 * n)
    r = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (c - r) / d, (c + r) / d


def _n_eff(w: np.ndarray) -> float:
    s2 = float((w * w).sum())
    return float(w.sum()) ** 2 / s2 if s2 > 0 else 0.0


def choose_threshold(conf, correct, novel, weight, target_precision: float, max_fmr: float, z: float = 1.28) -> float:
    """Lowest threshold (most coverage) at which, with ~90% one-sided confidence (Wilson bounds),
    precision is at least ``target_precision`` and the false-match rate on unseen-kind requests at
    most ``max_fmr``. 1.01 = never match."""
    for t in np.unique(conf):
        m = conf >= t
        if not m.any():
            continue
        p = float((weight * (m & correct)).sum() / (weight * m).sum())
        p_lo, _ = _wilson(p, _n_eff(weight[m]), z)
        if novel.any():
            f = float((weight * (m & novel)).sum() / (weight * novel).sum())
            _, f_hi = _wilson(f, _n_eff(weight[novel]), z)
        else:
            f_hi = 0.0
        if p_lo >= target_precision and f_hi <= max_fmr:
            return float(t)
    return 1.01


def fit_isotonic(raw: np.ndarray, correct: np.ndarray, weight: np.ndarray) -> tuple[list[float], list[float]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(raw, correct.astype(float), sample_weight=weight)
    xs = np.asarray(iso.X_thresholds_, dtype=float)
    ys = np.asarray(iso.y_thresholds_, dtype=float)
    # Shrink each isotonic level towards 1/2 by its weight, (y*n + 1)/(n + 2): a level seen right
    # 40 times out of 40 reads 0.98, not a certainty. Keep the mapping monotone afterwards.
    fitted = iso.predict(raw)
    levels = np.unique(ys)
    shrunk = ys.copy()
    for level in levels:
        n = float(weight[np.isclose(fitted, level)].sum())
        shrunk[np.isclose(ys, level)] = (level * n + 1.0) / (n + 2.0)
    shrunk = np.maximum.accumulate(shrunk)
    return xs.tolist(), shrunk.tolist()


def fit_platt(raw: np.ndarray, correct: np.ndarray, weight: np.ndarray) -> tuple[list[float], list[float]]:
    """Platt scaling, sigmoid(a*raw + b), tabulated on a grid (same form as the isotonic map)."""
    from sklearn.linear_model import LogisticRegression

    if correct.all() or not correct.any():
        return [0.0, 1.0], [float(correct.mean())] * 2
    lr = LogisticRegression(C=100.0, max_iter=1000)
    lr.fit(raw.reshape(-1, 1), correct.astype(int), sample_weight=weight)
    lo, hi = float(min(raw.min(), 0.0)), float(max(raw.max(), 1.0))
    xs = np.linspace(lo, hi, 101)
    ys = lr.predict_proba(xs.reshape(-1, 1))[:, 1]
    return xs.tolist(), np.maximum.accumulate(ys).tolist()


def fit_logistic(s: Samples) -> tuple[dict[str, float], float]:
    from sklearn.linear_model import LogisticRegression

    w = s.weight[s.qid]
    lr = LogisticRegression(C=1.0, max_iter=2000)
    lr.fit(s.X, s.y.astype(int), sample_weight=w)
    return {f: float(v) for f, v in zip(FEATURES, lr.coef_[0])}, float(lr.intercept_[0])


@dataclass
class FitResult:
    scorers: dict[str, Scorer]
    chosen: str
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "scorers": {k: v.as_dict() for k, v in self.scorers.items()},
                "metrics": self.metrics, "info": self.info}


def fit(samples: Samples, target_precision: float, max_fmr: float, seed: int = 0) -> FitResult:
    """Fit every scorer on half of the queries, calibrate and threshold on the other half."""
    info: dict[str, Any] = {"queries": samples.n_queries, "candidates": int(len(samples.X))}
    positives = int(sum(1 for q in range(samples.n_queries) if not samples.novel[q]))
    if samples.n_queries < 40 or positives < 10 or samples.y.all() or not samples.y.any():
        info["reason"] = "too little history to fit and calibrate (need >= 40 held-out queries with both right and wrong matches)"
        return FitResult({"seed": Scorer("seed", threshold=0.85)}, "seed", {}, info)
    rng = np.random.default_rng(seed)
    # Cross-fitting: every query's fitted score comes from weights fitted without it, so the
    # calibration and the threshold see honest (out-of-fold) scores for all queries.
    folds = rng.integers(0, 5, samples.n_queries)
    oof_raw = np.zeros(samples.n_queries)
    oof_correct = np.zeros(samples.n_queries, dtype=bool)
    for f in range(5):
        train_s, held = samples.subset(folds != f), samples.subset(folds == f)
        if held.n_queries == 0 or train_s.y.all() or not train_s.y.any():
            continue
        w, b = fit_logistic(train_s)
        raw_f, cor_f = top1(held, Scorer("fitted", w, b))
        oof_raw[folds == f], oof_correct[folds == f] = raw_f, cor_f
    weights, intercept = fit_logistic(samples)
    cal_s = samples
    scorers = {
        "fitted": Scorer("fitted", weights, intercept),
        "seed": Scorer("seed"),
        "nearest_neighbour": Scorer("nearest_neighbour", {"semantic": 1.0}),
    }
    results: dict[str, dict[str, Any]] = {}
    parity = np.random.default_rng(seed + 1).random(cal_s.n_queries) < 0.5
    for name, sc in scorers.items():
        raw, correct = (oof_raw, oof_correct) if name == "fitted" else top1(cal_s, sc)
        # Isotonic or Platt, whichever has the lower cross-fitted calibration error (fit on one
        # half of the queries, measured on the other; in-sample error of isotonic is 0 by construction).
        best_method, best_ece = "isotonic", float("inf")
        for method, fitter in (("isotonic", fit_isotonic), ("platt", fit_platt)):
            cv_conf = np.zeros(len(raw))
            for part in (parity, ~parity):
                if part.sum() and (~part).sum():
                    xs, ys = fitter(raw[~part], correct[~part], cal_s.weight[~part])
                    cv_conf[part] = np.interp(raw[part], xs, ys)
            e = ece(cv_conf, correct, cal_s.weight)
            if e < best_ece:
                best_method, best_ece = method, e
        sc.iso_x, sc.iso_y = (fit_isotonic if best_method == "isotonic" else fit_platt)(raw, correct, cal_s.weight)
        sc.calibrated = True
        conf = np.array([sc.confidence(r) for r in raw])
        sc.threshold = choose_threshold(conf, correct, cal_s.novel, cal_s.weight, target_precision, max_fmr)
        results[name] = metrics(conf, correct, cal_s.novel, cal_s.weight, sc.threshold)
        results[name]["ece"] = round(best_ece, 4)
        results[name]["calibration_method"] = best_method
        results[name]["_raw"] = raw
        results[name]["_correct"] = correct
    # Compare at equal coverage (the fitted scorer's), ranking by raw score (no isotonic ties).
    ref = results["fitted"]["coverage"] or max(r["coverage"] for r in results.values())
    for name in scorers:
        r = results[name]
        r["at_equal_coverage"] = precision_at_coverage(r.pop("_raw"), r.pop("_correct"), cal_s.novel, cal_s.weight, ref) if ref else {}
    best = max(scorers, key=lambda n: (results[n]["at_equal_coverage"].get("precision", 0.0) if ref else 0.0,
                                       results[n]["coverage"], n == "fitted"))
    # Prefer the fitted scorer unless another is strictly better at equal coverage.
    fitted_p = results["fitted"]["at_equal_coverage"].get("precision", 0.0) if ref else 0.0
    chosen = "fitted" if results[best]["at_equal_coverage"].get("precision", 0.0) <= fitted_p + 1e-9 else best
    info.update({"fit_queries": samples.n_queries, "calibration_queries": cal_s.n_queries, "cross_fit_folds": 5})
    return FitResult(scorers, chosen, results, info)
