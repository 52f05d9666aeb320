"""The direct embedding path (tokenizer -> transformer -> mean pooling -> normalise) must give the
vectors SentenceTransformer.encode() gives: the index is built with one, requests use the other."""

from __future__ import annotations

import numpy as np

PROMPTS = [
    "fix the flaky login test",
    "x",
    "Ünïcödé prompt — with émojis 🚀, CJK 漢字 and a tab\there",
    "Add a REST endpoint to list orders with pagination and filtering. " * 40,  # > 256 tokens: truncated alike
    "   leading and trailing spaces   ",
    "The checkout test is flaky on CI, it fails about one run in five. Find out why and make it deterministic.",
]


def _check(embedder, got: np.ndarray) -> None:
    want = embedder.encode(PROMPTS)
    assert got.shape == want.shape and got.dtype == np.float32
    cos = (got * want).sum(axis=1)
    assert cos.min() > 0.9999, cos
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_direct_path_equals_encode(embedder):
    from learning.embeddings import _DirectPath

    assert _DirectPath.create(embedder.model) is not None  # the default MiniLM takes the direct path
    _check(embedder, np.stack([embedder.encode_one(p) for p in PROMPTS]))  # one at a time
    _check(embedder, embedder.encode_small(PROMPTS))  # one padded batch


def test_traced_path_equals_encode(embedder):
    info = embedder.warm_up(trace=True)
    assert info["direct"] is True
    _check(embedder, np.stack([embedder.encode_one(p) for p in PROMPTS]))
    _check(embedder, embedder.encode_small(PROMPTS))
    assert embedder.encode_small([]).shape == (0, embedder.dimension)


def test_other_model_layouts_use_encode():
    from learning.embeddings import _DirectPath

    class Module:
        pass

    class Transformer(Module):
        pass

    class Pooling(Module):
        pooling_mode = "cls"

    assert _DirectPath.create([Transformer(), Pooling()]) is None  # CLS pooling: not reproduced
    assert _DirectPath.create([Transformer()]) is None
