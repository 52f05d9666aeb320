"""Scoring a request against learned patterns.

Retrieval first (FAISS over the prompts of every pattern), then per candidate pattern the seed's
components — semantic, keyword, intent, context, historical — plus ``margin`` (how much closer the
request is to this pattern than to the best pattern of a different execution path). The combined
``score`` uses weights fitted on the lake's own history (:mod:`learning.calibration`); the seed's
fixed weights (0.4/0.2/0.2/0.1/0.1) are kept as a scorer for comparison. ``confidence`` is the
score mapped through an isotonic calibration, so it reads as a probability of being right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from learning.text import keywords as extract_keywords

COMPONENTS = ("semantic", "keyword", "intent", "context", "historical")
FEATURES = COMPONENTS + ("margin",)
SEED_WEIGHTS = {"semantic": 0.4, "keyword": 0.2, "intent": 0.2, "context": 0.1, "historical": 0.1}


@dataclass
class PatternSet:
    """Patterns and their exemplar vectors, in memory (what a matcher needs, nothing else)."""

    pattern_ids: list[str]
    path_keys: list[str]
    agents: list[str]
    keywords: list[frozenset[str]]
    intent_dist: np.ndarray
    """patterns x intents: mean intent probabilities of each pattern's prompts."""
    cwds: list[frozenset[str]]
    historical: np.ndarray
    active: np.ndarray
    """False for pruned patterns: kept in the index, never returned."""
    ex_ids: np.ndarray
    """Sorted int64 ids of the exemplar vectors in the search index."""
    ex_pattern: np.ndarray
    """Pattern row of each exemplar id (same order as ex_ids)."""
    searcher: Any = None
    """Object with ``search(q (n x d) float32, m) -> (sims, ids)``; FAISS index or compatible."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Full pattern rows (for replay plans and explanations); optional in evaluation folds."""

    def __len__(self) -> int:
        return len(self.pattern_ids)

    def pattern_of(self, ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.ex_ids, ids)
        pos = np.clip(pos, 0, max(len(self.ex_ids) - 1, 0))
        ok = (ids >= 0) & (len(self.ex_ids) > 0)
        if len(self.ex_ids):
            ok &= self.ex_ids[pos] == ids
        out = np.full(ids.shape, -1, dtype=np.int64)
        out[ok] = self.ex_pattern[pos[ok]]
        return out


@dataclass
class Query:
    text: str
    vector: np.ndarray
    intent_probs: np.ndarray
    keywords: frozenset[str]
    cwd: str | None = None


def make_query(text: str, vector: np.ndarray, intent_probs: np.ndarray, context: dict | None) -> Query:
    cwd = None
    if context:
        cwd = context.get("cwd") or context.get("project")
    return Query(text, vector, intent_probs, frozenset(extract_keywords(text, limit=24)), cwd)


@dataclass
class Candidate:
    pattern: int
    features: dict[str, float]
    shared_keywords: list[str]


def retrieve(pset: PatternSet, qvecs: np.ndarray, m: int) -> list[dict[int, float]]:
    """For each query: pattern row -> best cosine among that pattern's exemplars (top m hits)."""
    if len(pset.ex_ids) == 0:
        return [{} for _ in range(len(qvecs))]
    m = int(min(m, len(pset.ex_ids)))
    sims, ids = pset.searcher.search(np.ascontiguousarray(qvecs, dtype=np.float32), m)
    out = []
    for srow, irow in zip(sims, ids):
        pats = pset.pattern_of(irow)
        keep = pats >= 0
        keep[keep] = pset.active[pats[keep]]
        best: dict[int, float] = {}
        for s, p in zip(srow[keep].tolist(), pats[keep].tolist()):  # best first: the first hit is the best
            if p not in best:
                best[p] = s
        out.append(best)
    return out


def candidate_features(pset: PatternSet, q: Query, best: dict[int, float], limit: int = 20) -> list[Candidate]:
    """Component values for the top ``limit`` patterns by semantic similarity."""
    if not best:
        return []
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    floor = min(best.values())
    qn = float(np.linalg.norm(q.intent_probs)) or 1.0
    paths = [pset.path_keys[p] for p, _ in ranked]
    # The rival of a pattern is the most similar pattern of another path: the top one, unless the
    # pattern shares the top one's path; then the best of any other path (floor when none).
    second = next((s for (_, s), key in zip(ranked, paths) if key != paths[0]), None)
    rows = np.fromiter((p for p, _ in ranked), dtype=np.int64, count=len(ranked))
    dists = pset.intent_dist[rows]
    dots = dists @ q.intent_probs
    norms = np.linalg.norm(dists, axis=1)
    out = []
    for j, (p, sem) in enumerate(ranked):
        if paths[j] != paths[0]:
            rival = ranked[0][1]
        else:
            rival = second if second is not None else floor
        kws = pset.keywords[p]
        shared = sorted(q.keywords & kws)
        keyword = len(shared) / max(1, len(q.keywords))
        intent = float(dots[j] / (qn * (float(norms[j]) or 1.0)))
        if q.cwd is None or not pset.cwds[p]:
            context = 0.5
        else:
            context = 1.0 if q.cwd in pset.cwds[p] else 0.0
        out.append(Candidate(p, {
            "semantic": max(0.0, min(1.0, sem)),
            "keyword": keyword,
            "intent": max(0.0, min(1.0, intent)),
            "context": context,
            "historical": float(pset.historical[p]),
            "margin": sem - rival,
        }, shared))
    return out


@dataclass
class Scorer:
    """How candidates are scored and calibrated (fitted by :mod:`learning.calibration`)."""

    kind: str = "seed"
    """fitted (logistic weights over FEATURES) | seed (fixed weights) | nearest_neighbour (top-1 cosine)."""
    weights: dict[str, float] = field(default_factory=lambda: dict(SEED_WEIGHTS))
    intercept: float = 0.0
    iso_x: list[float] = field(default_factory=list)
    iso_y: list[float] = field(default_factory=list)
    threshold: float = 0.85
    calibrated: bool = False

    def raw(self, f: dict[str, float]) -> float:
        if self.kind == "nearest_neighbour":
            return f["semantic"]
        if self.kind == "seed":
            return sum(SEED_WEIGHTS[c] * f[c] for c in COMPONENTS)
        z = self.intercept + sum(self.weights.get(n, 0.0) * f[n] for n in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def confidence(self, raw: float) -> float:
        if not self.iso_x:
            return float(raw)
        return float(np.interp(raw, self.iso_x, self.iso_y))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "weights": self.weights, "intercept": self.intercept, "iso_x": self.iso_x,
                "iso_y": self.iso_y, "threshold": self.threshold, "calibrated": self.calibrated}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Scorer":
        return cls(d.get("kind", "seed"), dict(d.get("weights") or SEED_WEIGHTS), float(d.get("intercept", 0.0)),
                   list(d.get("iso_x") or []), list(d.get("iso_y") or []), float(d.get("threshold", 0.85)),
                   bool(d.get("calibrated", False)))


def rank(pset: PatternSet, q: Query, best: dict[int, float], scorer: Scorer, limit: int = 20) -> list[tuple[Candidate, float]]:
    cands = candidate_features(pset, q, best, limit)
    scored = [(c, scorer.raw(c.features)) for c in cands]
    scored.sort(key=lambda cs: -cs[1])
    return scored


def explain(c: Candidate, pset: PatternSet, scorer: Scorer, raw: float, confidence: float) -> str:
    f = c.features
    parts = [f"semantic {f['semantic']:.2f}"]
    if c.shared_keywords:
        parts.append("keywords " + ", ".join(c.shared_keywords[:6]))
    else:
        parts.append("no shared keywords")
    parts.append(f"intent agreement {f['intent']:.2f}")
    parts.append("same project" if f["context"] == 1.0 else ("other project" if f["context"] == 0.0 else "project unknown"))
    parts.append(f"historical success {f['historical']:.2f}")
    parts.append(f"margin over other paths {f['margin']:+.2f}")
    how = {"fitted": "fitted weights", "seed": "seed weights", "nearest_neighbour": "nearest-neighbour cosine"}[scorer.kind]
    cal = "calibrated" if scorer.calibrated else "uncalibrated"
    return f"{'; '.join(parts)} -> score {raw:.2f} ({how}), {cal} confidence {confidence:.2f}"
