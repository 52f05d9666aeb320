"""The approximate (IVF) index used from ``[learning] ivf_threshold`` exemplars up must find what
exact search finds: recall against a flat index on a generated, clustered set of that size, with
the default ``nprobe`` (what ``hooklake learn`` builds and ``hooklake serve`` searches)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _clustered(rng: np.random.Generator, centers: np.ndarray, n: int, noise: float) -> np.ndarray:
    """Noisy copies of cluster centres: prompts of one kind are paraphrases of each other
    (cosine to their centre ~ 1/sqrt(1 + noise^2))."""
    x = centers[rng.integers(0, len(centers), n)] + rng.standard_normal((n, centers.shape[1])).astype(np.float32) * (
        noise / np.sqrt(centers.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_recall_against_exact_search_at_the_threshold():
    import faiss

    from hooklake.settings import LearningSettings
    from learning import index as idx

    defaults = LearningSettings()
    dim, n = 384, defaults.ivf_threshold
    rng = np.random.default_rng(11)
    centers = rng.standard_normal((3000, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    vectors = _clustered(rng, centers, n, noise=0.9)  # cosine to centre ~0.74: loose clusters
    queries = _clustered(rng, centers, 300, noise=0.9)
    ids = np.arange(n, dtype=np.int64) * 7 + 3  # ids are not positions

    faiss.omp_set_num_threads(1)
    pick = np.sort(rng.choice(n, min(n, 200_000), replace=False))
    index, kind, nlist = idx.new_faiss_index(dim, n, defaults.ivf_threshold, vectors[pick])
    assert kind == "ivf" and nlist > 1
    index.add_with_ids(vectors, ids)
    idx.set_nprobe(index, defaults.nprobe)
    exact = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    exact.add_with_ids(vectors, ids)

    _, got = index.search(queries, 64)
    _, want = exact.search(queries, 10)
    recall_at_1 = float(np.mean(got[:, 0] == want[:, 0]))
    recall_10_at_10 = float(np.mean([len(set(g[:10]) & set(w)) / 10 for g, w in zip(got, want)]))
    assert recall_at_1 >= 0.95, recall_at_1
    assert recall_10_at_10 >= 0.9, recall_10_at_10

    idx.set_nprobe(index, 1)  # the measurement can fail: one list is not enough
    _, few = index.search(queries, 10)
    assert float(np.mean(few[:, 0] == want[:, 0])) < recall_at_1
