"""``hooklake evaluate``: learn on the past, match the future, report how good matching is.

The lake's successful traces are split by time (the first ``train_share`` of the time span is
the past). The scorers
are fitted and calibrated on the past alone (:func:`learning.calibration.gather_samples` / ``fit``),
then every future trace is matched against patterns built from the past. A match is right when
the pattern's execution path is the one the future trace actually took; a future trace whose path
never occurred in the past is a request of an unseen kind, and any match for it is a false match.
Reported for the fitted scorer, the seed's weights and the plain nearest-neighbour baseline (top-1
cosine): precision and coverage at each one's threshold, false-match rate on unseen kinds,
expected calibration error, and precision at equal coverage.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from learning import calibration as cal


def split_corpus(c: cal.Corpus, train_share: float) -> tuple[cal.Corpus, cal.Corpus]:
    n = c.ok.height
    times = c.ok["started_at"].to_list()
    cut_t = times[0] + (times[-1] - times[0]) * train_share if n else None
    cut_i = sum(1 for t in times if t < cut_t) if n else 0
    ftimes = c.failed["started_at"].to_list() if c.failed.height else []
    f_train = np.array([i for i, t in enumerate(ftimes) if cut_t is None or t < cut_t], dtype=np.int64)
    return c.take(np.arange(cut_i), f_train), c.take(np.arange(cut_i, n), np.zeros(0, np.int64))


def evaluate_corpus(c: cal.Corpus, *, threshold: float, target_precision: float, max_fmr: float,
                    train_share: float = 0.7, min_novel_share: float = 0.15) -> dict[str, Any]:
    t0 = time.perf_counter()
    past, future = split_corpus(c, train_share)
    if past.ok.height < 10 or future.ok.height < 5:
        return {"error": f"not enough successful traces for a time split ({c.ok.height}; need ~20 or more)"}
    samples, info = cal.gather_samples(past, threshold, min_novel_share=min_novel_share)
    fitted = cal.fit(samples, target_precision, max_fmr)
    pset = cal.build_patternset(past, threshold)
    test = cal.collect(pset, future, "future")
    out: dict[str, Any] = {
        "train_traces": past.ok.height, "test_traces": future.ok.height, "patterns": len(pset),
        "test_unseen_kind_traces": int(test.novel.sum()), "calibration_samples": info | fitted.info,
        "chosen_scorer": fitted.chosen, "scorers": {},
    }
    confs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, sc in fitted.scorers.items():
        raw, correct = cal.top1(test, sc)
        conf = np.array([sc.confidence(r) for r in raw])
        confs[name] = (raw, correct)
        m = cal.metrics(conf, correct, test.novel, test.weight, sc.threshold)
        out["scorers"][name] = {"kind": sc.kind, "calibrated": sc.calibrated, "weights": sc.weights,
                                "intercept": round(sc.intercept, 4), **m}
    ref = out["scorers"].get(fitted.chosen, {}).get("coverage", 0.0)
    for name, (conf, correct) in confs.items():
        out["scorers"][name]["at_equal_coverage"] = cal.precision_at_coverage(conf, correct, test.novel, test.weight, ref) if ref else {}
    out["duration_s"] = round(time.perf_counter() - t0, 2)
    return out


def corpus_from_lake(paths, settings, embedder, data=None, progress: bool = False) -> cal.Corpus:
    """Successful and failed main traces with prompts, embedded (through the cache)."""
    import polars as pl

    from learning.embeddings import EmbeddingCache
    from learning.intent import IntentClassifier, taxonomy_from_settings
    from learning.text import content_hash

    if data is None:
        from learning.source import load

        data = load(paths)
    ls = settings.learning
    traces = data.traces.sort("started_at")
    traces = traces.filter(pl.col("prompt_text").is_not_null() & (pl.col("prompt_text").str.strip_chars() != ""))
    cache = EmbeddingCache(paths.index / "embeddings", ls.model, embedder.dimension)
    texts = traces["prompt_text"].to_list()
    hashes = [content_hash(t) for t in texts]
    vecs = cache.get_or_embed(hashes, texts, embedder, batch_size=ls.batch_size, progress=progress)
    mask = traces["success"].to_numpy()
    ok, failed = traces.filter(pl.col("success")), traces.filter(~pl.col("success"))
    clf = IntentClassifier.build(embedder, taxonomy_from_settings(ls.intents))
    probs = clf.probabilities(vecs[mask], ok["prompt_text"].to_list()) if ok.height else np.zeros((0, len(clf.names)), np.float32)
    return cal.Corpus(ok, vecs[mask], probs, [h for h, m in zip(hashes, mask) if m], failed, vecs[~mask])


def run_evaluate(paths=None, settings=None, embedder=None, data=None, train_share: float = 0.7, progress: bool = False) -> dict[str, Any]:
    from hooklake.paths import Paths
    from hooklake.settings import load_settings

    from learning.embeddings import get_embedder

    paths = paths or Paths.resolve()
    settings = settings or load_settings(paths.config)
    ls = settings.learning
    embedder = embedder or get_embedder(ls.model)
    corpus = corpus_from_lake(paths, settings, embedder, data, progress)
    out = evaluate_corpus(corpus, threshold=ls.similarity_threshold, target_precision=ls.target_precision,
                          max_fmr=ls.max_false_match_rate, train_share=train_share, min_novel_share=ls.min_novel_share)
    out["model"] = ls.model
    out["train_share"] = train_share
    return out
