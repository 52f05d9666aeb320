"""Micro-batching of request embeddings in the service: concurrent prompts share forward passes,
each caller gets its own prompt's vector, and errors reach the callers that asked."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest


class SlowEmbedder:
    """Each forward pass takes 30 ms whatever its size (what makes batching pay)."""

    def __init__(self) -> None:
        self.passes: list[list[str]] = []
        self.fail_on: str | None = None

    def encode_small(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.03)
        self.passes.append(list(texts))
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return np.array([[float(len(t)), float(sum(map(ord, t)))] for t in texts], dtype=np.float32)


def _expected(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)))]


def test_concurrent_requests_share_passes_and_get_their_own_vectors():
    from learning.serve import EmbedBatcher, Metrics

    metrics = Metrics()
    batcher = EmbedBatcher(window_s=0.002, max_batch=16, metrics=metrics)
    emb = SlowEmbedder()
    texts = [f"prompt number {i} " + "x" * i for i in range(24)]
    out: dict[str, list[float]] = {}

    def call(t: str) -> None:
        out[t] = batcher.embed(emb, t).tolist()

    threads = [threading.Thread(target=call, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert {t: out[t] for t in texts} == {t: _expected(t) for t in texts}
    assert sum(len(p) for p in emb.passes) == len(texts)
    assert len(emb.passes) < len(texts) / 2, emb.passes  # shared passes, not one per prompt
    assert max(len(p) for p in emb.passes) <= 16
    snap = metrics.snapshot()
    counters = snap.get("counters", snap)
    assert counters["embedded_prompts"] == len(texts) and counters["embed_passes"] == len(emb.passes)


def test_an_idle_batcher_answers_at_once_and_errors_reach_the_caller():
    from learning.serve import EmbedBatcher

    batcher = EmbedBatcher(window_s=0.5, max_batch=16)
    emb = SlowEmbedder()
    t0 = time.perf_counter()
    assert batcher.embed(emb, "alone").tolist() == _expected("alone")
    assert time.perf_counter() - t0 < 0.4  # no batching window when nobody else is waiting
    emb.fail_on = "bad"
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.embed(emb, "bad")
    assert batcher.embed(emb, "fine again").tolist() == _expected("fine again")
