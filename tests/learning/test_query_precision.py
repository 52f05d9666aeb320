"""Request vectors at reduced precision (``[learning] query_precision``): the service embeds
requests in bf16 (or int8 when asked) while pattern vectors stay fp32, so the mix must find the
same neighbours as fp32 requests do. Measured on a fixed query set from the evaluation requests."""

from __future__ import annotations

import numpy as np
import pytest

from hooklake.errors import HooklakeError


@pytest.fixture(scope="module")
def query_set(embedder):
    """400 evaluation prompts as fp32 'patterns' (as learn embeds them) and 120 others as requests."""
    from learning import synth

    reqs = synth.load_eval_set()["requests"]
    order = np.random.default_rng(5).permutation(len(reqs))
    patterns = [reqs[i] for i in order[:400]]
    queries = [reqs[i] for i in order[400:520]]
    pvecs = embedder.encode([r["text"] for r in patterns])
    qref = embedder.encode([r["text"] for r in queries])
    return {"patterns": patterns, "queries": queries, "pvecs": pvecs, "qref": qref}


def _agreement(query_set, qvecs: np.ndarray) -> tuple[float, float, float]:
    """(top-1 pattern agreement with fp32 requests, kind accuracy of fp32, kind accuracy of qvecs)."""
    kinds = np.array([r["kind"] for r in query_set["patterns"]])
    want = np.array([r["kind"] for r in query_set["queries"]])
    ref_top = (query_set["qref"] @ query_set["pvecs"].T).argmax(axis=1)
    got_top = (qvecs @ query_set["pvecs"].T).argmax(axis=1)
    return (float(np.mean(ref_top == got_top)), float(np.mean(kinds[ref_top] == want)),
            float(np.mean(kinds[got_top] == want)))


def test_bf16_requests_find_the_same_patterns_as_fp32(embedder, query_set):
    texts = [r["text"] for r in query_set["queries"]]
    got = np.concatenate([embedder.encode_small([t], "bf16") for t in texts])  # one request at a time
    assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (got * query_set["qref"]).sum(axis=1)
    assert cos.min() >= 0.999, cos.min()
    agree, acc_ref, acc = _agreement(query_set, got)
    assert agree >= 0.97, agree
    assert acc >= acc_ref - 0.01
    batch = embedder.encode_small(texts[:8], "bf16")  # a padded micro-batch gives the same vectors
    assert ((batch * got[:8]).sum(axis=1)).min() >= 0.9995


def test_int8_requests_stay_close_to_fp32(embedder, query_set):
    texts = [r["text"] for r in query_set["queries"]]
    got = np.concatenate([embedder.encode_small([t], "int8") for t in texts])
    cos = (got * query_set["qref"]).sum(axis=1)
    assert cos.mean() >= 0.97 and cos.min() >= 0.9, (cos.mean(), cos.min())
    agree, acc_ref, acc = _agreement(query_set, got)
    # Nearest prompts move (near-ties among paraphrases), the kind they belong to hardly does.
    assert agree >= 0.85, agree
    assert acc >= acc_ref - 0.03, (acc, acc_ref)


def test_reduced_precision_never_touches_pattern_vectors(embedder):
    texts = ["fix the flaky login test", "Add a REST endpoint to list orders with pagination"]
    before = embedder.encode(texts)
    embedder.warm_up(trace=True, precision="bf16")
    embedder.encode_small(texts, "bf16")
    assert np.array_equal(embedder.encode(texts), before)  # learn's path: always fp32
    fp32 = embedder.encode_small(texts)  # the default request precision is fp32 too
    assert ((fp32 * before).sum(axis=1)).min() > 0.9999


def test_warm_up_resolves_auto_and_refuses_unknown_precisions(embedder, monkeypatch):
    from learning import embeddings

    info = embedder.warm_up(trace=True, precision="auto")
    check = info["precision_check"]
    if info["precision"] == "bf16":  # kept only when harmless, and native or measured faster here
        assert check["min_cosine_vs_fp32"] >= embeddings.AUTO_MIN_COSINE
        assert check["native_bf16"] or check["bf16_speedup"] >= embeddings.AUTO_MIN_SPEEDUP
    else:
        assert info["precision"] == "fp32" and check["reason"]
    monkeypatch.setattr(embeddings, "native_bf16", lambda: False)
    monkeypatch.setattr(embeddings, "AUTO_MIN_SPEEDUP", 1000.0)  # emulated bf16 that is not faster
    info = embedder.warm_up(trace=True, precision="auto")
    assert info["precision"] == "fp32" and "not faster" in info["precision_check"]["reason"]
    assert embedder.encode_small(["x"], "auto").shape == (1, embedder.dimension)  # auto: what warm-up chose
    monkeypatch.setattr(embeddings, "bf16_supported", lambda: False)
    info = embedder.warm_up(trace=True, precision="auto")
    assert info["precision"] == "fp32" and "no bf16" in info["precision_check"]["reason"]
    assert embedder.warm_up(trace=True, precision="fp32")["precision"] == "fp32"
    with pytest.raises(HooklakeError, match="query_precision"):
        embedder.warm_up(precision="fp8")
    with pytest.raises(HooklakeError, match="query_precision"):
        embedder.encode_small(["x"], "half")


def test_query_precision_setting_is_read(tmp_path):
    from hooklake.settings import load_settings

    assert load_settings(tmp_path / "missing.toml").learning.query_precision == "auto"
    cfg = tmp_path / "config.toml"
    cfg.write_text('[learning]\nquery_precision = "int8"\n')
    assert load_settings(cfg).learning.query_precision == "int8"


def test_bf16_requests_run_the_compact_encoder_close_to_fp32(embedder, query_set):
    """MiniLM's bf16 request path is the compact encoder (fp32 residual stream, bf16 products),
    created and warmed at warm-up; its vectors are nearer fp32 than the bf16 module's and find
    the same patterns."""
    info = embedder.warm_up(trace=True, precision="bf16")
    variant = embedder._variant("bf16")
    assert info["compact"] is True and variant.compact is not None and variant.compact.warmed
    texts = [r["text"] for r in query_set["queries"]]
    got = np.concatenate([embedder.encode_small([t], "bf16") for t in texts])
    cos = (got * query_set["qref"]).sum(axis=1)
    assert cos.min() >= 0.9999, cos.min()
    agree, _acc_ref, _acc = _agreement(query_set, got)
    assert agree >= 0.99, agree
    # A micro-batch above the warmed row count (rows padded to a kernel size) gives the same vectors.
    from learning.embeddings import WARM_ROWS

    long_texts = [t + " " + t for t in texts[:6]]
    feats = variant._features(long_texts)
    assert feats["input_ids"].numel() > WARM_ROWS
    batch = embedder.encode_small(long_texts, "bf16")
    single = np.concatenate([embedder.encode_small([t], "bf16") for t in long_texts])
    assert ((batch * single).sum(axis=1)).min() >= 0.9999


def test_direct_tokenizer_gives_the_hugging_face_features(embedder):
    from learning import synth

    fast = embedder._direct()
    assert fast._tokenize is not None  # MiniLM's fast tokenizer is called directly
    texts = [r["text"] for r in synth.load_eval_set()["requests"]][:200]
    texts += ["x", "   ", "Ünïcödé — émojis 🚀 CJK 漢字\tand a tab", "word " * 400, "[CLS] [SEP] [PAD] literal tokens"]
    for group in [[t] for t in texts] + [texts[:50], texts[-5:]]:
        want = fast.tokenizer(group, padding=True, truncation="longest_first", max_length=fast.max_length, return_tensors="pt")
        got = fast._features(group)
        assert set(got) == {"input_ids", "token_type_ids", "attention_mask"}
        for k, v in got.items():
            assert v.dtype == want[k].dtype and v.shape == want[k].shape and bool((v == want[k]).all()), (k, group[:1])


def test_compact_encoder_is_used_only_when_it_agrees(embedder, monkeypatch):
    """A compact encoder whose vectors disagree with fp32 (or a model it does not cover) falls
    back to the converted module."""
    import torch

    from learning import embeddings

    class Config:
        model_type = "roberta"

    class Model:
        config = Config()

    assert embeddings._CompactBert.create(Model(), torch.bfloat16) is None

    class Wrong:
        def __call__(self, feats):
            ids = feats["input_ids"]
            return torch.rand(ids.shape[0], ids.shape[1], embedder.dimension, generator=torch.Generator().manual_seed(1))

    monkeypatch.setattr(embeddings._CompactBert, "create", classmethod(lambda cls, model, dtype: Wrong()))
    variant = embedder._direct().converted("bf16")  # not stored: the embedder's own variant is untouched
    assert variant.compact is None and variant.transformer is not None
    vec = variant(["fix the flaky login test"])
    assert float((vec * embedder.encode(["fix the flaky login test"])).sum()) >= 0.999
