"""The service embeds requests at ``[learning] query_precision`` (resolved at warm-up) and the
embedding of an idle service runs on the request's own thread."""

from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

from hooklake.errors import HooklakeError
from learning import serve
from serve_helpers import connect, get_json, post_json, start_static


class RecordingEmbedder:
    """Stands in for learning.embeddings.Embedder: records the precision of every call."""

    model_name = "recording"

    def __init__(self) -> None:
        self.warmed: list[str] = []
        self.calls: list[tuple[str, tuple[str, ...], int]] = []

    def warm_up(self, trace: bool = True, precision: str = "fp32") -> dict:
        self.warmed.append(precision)
        return {"direct": True, "traced": trace, "precision": "bf16" if precision == "auto" else precision}

    def encode_small(self, texts: list[str], precision: str = "fp32") -> np.ndarray:
        self.calls.append((precision, tuple(texts), threading.get_ident()))
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0


class VectorRouter:
    """Answers with the precision-independent facts the service passed it."""

    def __init__(self) -> None:
        self.embedder = RecordingEmbedder()
        self.vectors: list[np.ndarray] = []

    def match(self, request, context, k=5, min_confidence=None, vector=None):
        self.vectors.append(vector)
        return []

    def route(self, request, context, log=True, correlation_id=None, vector=None):
        from serve_helpers import Obj

        self.vectors.append(vector)
        return Obj({"agent": "general-purpose", "strategy": "fallback", "pattern_id": None, "confidence": 0.2})


@pytest.mark.parametrize("configured,effective", [("int8", "int8"), ("fp32", "fp32"), ("auto", "bf16")])
def test_service_embeds_requests_at_the_configured_precision(paths, configured, effective):
    router = VectorRouter()
    running = start_static(paths, router, config=serve.ServiceConfig(query_precision=configured))
    try:
        conn = connect(running)
        assert router.embedder.warmed == [configured]
        assert get_json(conn, "/health")[1]["query_precision"] == effective
        assert post_json(conn, "/match", {"request": "fix the flaky test"})[0] == 200
        assert post_json(conn, "/route", {"request": "document the cache", "log": False})[0] == 200
        assert [c[0] for c in router.embedder.calls] == [effective, effective]
        assert all(v is not None for v in router.vectors)
    finally:
        running.stop()


def test_precision_comes_from_the_settings_file_and_is_checked(paths):
    paths.home.mkdir(parents=True, exist_ok=True)
    paths.config.write_text('[learning]\nquery_precision = "int8"\n')
    router = VectorRouter()
    running = start_static(paths, router)
    try:
        assert router.embedder.warmed == ["int8"] and running.service.query_precision == "int8"
    finally:
        running.stop()
    paths.config.write_text('[learning]\nquery_precision = "fp16"\n')
    with pytest.raises(HooklakeError, match=r"query_precision.*fp16"):
        start_static(paths, VectorRouter())


def test_an_idle_service_embeds_on_the_request_thread():
    emb = RecordingEmbedder()
    batcher = serve.EmbedBatcher(window_s=0.05)
    got = batcher.embed(emb, "alone", precision="bf16")
    assert got.tolist() == [0.5] * 4
    assert emb.calls == [("bf16", ("alone",), threading.get_ident())]
    assert batcher._thread is None  # no worker thread needed while requests do not overlap


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """A small learned home (real ingest, MiniLM, FAISS) and prompts it has not seen."""
    from hooklake.paths import Paths
    from learning import synth
    from learning.embeddings import Embedder
    from learning.job import run_learn

    kinds = {"fix_python_exception", "write_unit_tests", "slow_sql_query", "docker_build", "write_readme", "regex_help"}
    traces = synth.generate(seed=4, kinds=kinds)
    seen: dict[str, int] = {}
    train, unseen = [], []
    for t in traces:
        seen[t.kind] = seen.get(t.kind, 0) + 1
        (train if seen[t.kind] <= 10 else unseen).append(t)
    home = tmp_path_factory.mktemp("precision-home")
    paths = Paths.resolve(home)
    embedder = Embedder()
    synth.build_lake(train, paths, via="ingest")
    run_learn(paths, embedder=embedder)
    return {"paths": paths, "embedder": embedder, "prompts": [t.prompt for t in unseen[:40]]}


@pytest.mark.slow
def test_bf16_and_fp32_services_route_alike_over_a_learned_index(learned):
    """Patterns are fp32; bf16 requests must reach the same decisions as fp32 requests."""
    loader = functools.partial(serve.default_router_loader, embedder=learned["embedder"])
    answers = {}
    for precision in ("fp32", "bf16"):
        service = serve.Service(learned["paths"], serve.ServiceConfig(query_precision=precision, cache_size=0),
                                holder=serve.RouterHolder(learned["paths"], loader=loader))
        service.start()
        try:
            assert service.query_precision == precision
            answers[precision] = [service.route({"request": p, "log": False})["route"] for p in learned["prompts"]]
            matches = [service.match({"request": p, "k": 1})["matches"] for p in learned["prompts"]]
            answers[precision + "-match"] = [m[0]["pattern_id"] if m else None for m in matches]
        finally:
            service.stop()
    fp32, bf16 = answers["fp32"], answers["bf16"]
    assert sum(a["strategy"] == "learned_pattern" for a in fp32) >= len(fp32) // 2  # the index is used
    same = [(a["strategy"], a["pattern_id"], a["agent"]) == (b["strategy"], b["pattern_id"], b["agent"])
            for a, b in zip(fp32, bf16)]
    assert np.mean(same) >= 0.95, [(a["pattern_id"], b["pattern_id"]) for a, b in zip(fp32, bf16)]
    assert np.mean([a == b for a, b in zip(answers["fp32-match"], answers["bf16-match"])]) >= 0.95
    assert max(abs(a["confidence"] - b["confidence"]) for a, b in zip(fp32, bf16)) < 0.05
