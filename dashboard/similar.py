"""The learning side of the workbench: the router (matcher) loaded once per index version.

``learning.router.Router`` owns matching and routing; this module only loads it lazily (the
embedding model takes seconds), keeps it per index version, and turns its answers into plain
dicts for display. Pages degrade to a short explanation when no index has been built yet.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import streamlit as st

from dashboard import common

_LOCK = threading.Lock()


class NoIndex(RuntimeError):
    """The learned index is missing (``hooklake learn`` never ran) or the learning package is absent."""


def index_version() -> str | None:
    try:
        return (common.paths().index / "CURRENT").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


QUERY_THREADS = 1
"""Torch threads for the workbench's embeddings: one query text at a time is latency bound, and
more intra-op threads only add synchronisation. On a busy machine each extra thread can cost tens
to hundreds of milliseconds per query (measured: ~40 ms with one thread vs 0.4-1.6 s with two on a
loaded 2-core machine)."""


_LOADED: set[str] = set()
"""Index versions whose router this process has loaded (see :func:`router_ready`)."""


@st.cache_resource(max_entries=1, show_spinner=False)
def _router(version: str) -> Any:
    from learning.router import Router

    try:
        import torch

        torch.set_num_threads(QUERY_THREADS)
    except ImportError:
        pass
    loaded = Router.load(paths=common.paths())
    _LOADED.add(version)
    return loaded


def router_ready() -> bool:
    """True when the router of the current index is loaded: a search then costs one embedding,
    and the page needs no spinner for it."""
    version = index_version()
    return version is not None and version in _LOADED


def router() -> Any:
    version = index_version()
    if version is None:
        raise NoIndex("no pattern index yet: run `hooklake learn` (or `hooklake demo`)")
    try:
        return _router(version)
    except ImportError as exc:
        raise NoIndex(f"the learning package is not available ({exc})") from exc
    except Exception as exc:  # a broken or mismatched index must not take the page down
        raise NoIndex(f"the pattern index could not be loaded ({type(exc).__name__}: {exc})") from exc


def as_dict(obj: Any) -> Any:
    """Matches/routes may be dataclasses, pydantic models or dicts; the page wants dicts."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: as_dict(v) for k, v in dataclasses.asdict(obj).items()}
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if isinstance(obj, dict):
        return {k: as_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    return obj


def match(text: str, k: int = 5, min_confidence: float | None = 0.0) -> list[dict[str, Any]]:
    """Patterns matching ``text``, best first, each with score components and an explanation."""
    r = router()
    with _LOCK:
        found = r.match(text, {}, k=k, min_confidence=min_confidence)
    return [as_dict(m) for m in found]


def route(text: str) -> dict[str, Any]:
    """What the router would do for ``text`` (learned pattern or fallback, with the replay plan).

    ``log=False``: exploring in the workbench is not a routing decision and must not be recorded.
    """
    r = router()
    with _LOCK:
        answer = r.route(text, {}, log=False)
    return as_dict(answer)


@st.cache_data(max_entries=64, show_spinner=False)
def _search(version: str, text: str, k: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    r = router()
    with _LOCK:
        vector = r.embed(text)  # one embedding serves both the matches and the routing decision
        matches = r.match(text, {}, k=k, min_confidence=None, vector=vector)
        decision = r.route(text, {}, log=False, vector=vector)
    return [as_dict(m) for m in matches], as_dict(decision)


def search(text: str, k: int = 10) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Top ``k`` matches (score components, explanation) and the router's decision for ``text``."""
    version = index_version()
    router()  # NoIndex when there is nothing to search
    return _search(version or "", text, k)


def replay_plan(pattern: dict[str, Any]) -> dict[str, Any] | None:
    """The seed's ReplayPlan for a learned pattern row (agent, hook plan, endpoints, expectations)."""
    try:
        from learning.replay import plan_for
    except ImportError:
        return None
    row = {k: (list(v) if hasattr(v, "tolist") and not isinstance(v, str) else v) for k, v in pattern.items()}
    row = {k: (None if not isinstance(v, (list, str)) and _missing(v) else v) for k, v in row.items()}
    try:
        return as_dict(plan_for(row))
    except (KeyError, TypeError, ValueError):
        return None


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def render_similar(prompt: str, exclude: str | None = None, k: int = 5) -> None:
    """Similar traces: the prompt's best-matching learned patterns and the traces they came from."""
    if not prompt.strip():
        st.info("This trace has no prompt text to compare.")
        return
    try:
        with st.spinner("Matching against learned patterns…"):
            common.wait_for_warm_up("done")
            matches = match(prompt, k=k)
    except NoIndex as exc:
        st.info(f"Similar traces need the learned pattern index: {exc}.")
        return
    if not matches:
        st.info("No learned pattern is similar to this prompt.")
        return
    patterns = common.try_query("learned", "success_patterns", what="learned patterns")
    sources: dict[str, list[str]] = {}
    if patterns is not None and not patterns.empty and "source_trace_ids" in patterns:
        for pid, ids in zip(patterns["pattern_id"], patterns["source_trace_ids"]):
            sources[str(pid)] = [str(i) for i in (ids if ids is not None else [])]
    for m in matches:
        pid = str(m.get("pattern_id"))
        traces = [t for t in sources.get(pid, []) if t != exclude][:5]
        st.markdown(f"**{pid}** · agent `{m.get('agent')}` · confidence {float(m.get('confidence') or 0):.2f} "
                    f"· score {float(m.get('score') or 0):.2f}")
        if m.get("explanation"):
            st.caption(str(m["explanation"]))
        if traces:
            st.markdown(" ".join(f"[`{t[:8]}`](/traces?trace={t})" for t in traces))


def _cached_vectors(model: str, hashes: set[str]) -> dict[str, Any]:
    """Prompt embeddings the learn job already computed (``<index>/embeddings/<model>/part-*.parquet``)."""
    import numpy as np
    import pyarrow.parquet as pq

    from learning.embeddings import model_slug

    found: dict[str, Any] = {}
    folder = common.paths().index / "embeddings" / model_slug(model)
    for shard in sorted(folder.glob("part-*.parquet")):
        table = pq.read_table(shard)
        keys = table.column("hash").to_pylist()
        wanted = [i for i, h in enumerate(keys) if h in hashes]
        if not wanted:
            continue
        vectors = table.column("vector").to_pylist()
        for i in wanted:
            found[keys[i]] = np.asarray(vectors[i], dtype=np.float32)
    return found


@st.cache_data(max_entries=4, show_spinner=False)
def _points(version: str, ids: tuple[str, ...], texts: tuple[str, ...]) -> Any:
    """2-D PCA positions of the patterns' representative prompts.

    The vectors come from the embedding cache the learn job wrote, so drawing the map does not load
    the model; only prompts missing from the cache (rare) are embedded, with the router's model.
    """
    import numpy as np
    from sklearn.decomposition import PCA

    from learning.text import content_hash

    hashes = [content_hash(t) for t in texts]
    known = _cached_vectors(_index_model(version), set(hashes))
    missing = [t for t, h in zip(texts, hashes) if h not in known]
    if missing:
        r = router()
        with _LOCK:
            for t, v in zip(missing, r.embedder.encode(missing)):
                known[content_hash(t)] = v
    vectors = np.stack([known[h] for h in hashes])
    return PCA(n_components=2, random_state=0).fit_transform(vectors)


def _index_model(version: str) -> str:
    """The embedding model named in the index manifest (the map must use the index's own vectors)."""
    from learning.index import read_manifest

    manifest = read_manifest(common.paths().index, version) or {}
    model = manifest.get("model")
    if not model:
        raise NoIndex(f"the index manifest of version {version} names no model")
    return str(model)


def pattern_points(patterns: Any) -> Any:
    """The patterns with a 2-D position: PCA of the embeddings of their representative prompts."""
    import pandas as pd

    version = index_version()
    if version is None:
        raise NoIndex("no pattern index yet: run `hooklake learn`")
    import importlib.util

    if importlib.util.find_spec("learning.index") is None:
        raise NoIndex("the learning package is not available")
    frame = patterns.dropna(subset=["prompt_text"]).copy()
    if len(frame) < 3:
        return pd.DataFrame()
    xy = _points(version, tuple(frame["pattern_id"].astype(str)), tuple(frame["prompt_text"].astype(str)))
    frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    for col, default in (("agent", "main"), ("intent", "unknown"), ("trace_count", 1), ("historical_success", 0.5)):
        if col not in frame:
            frame[col] = default
    frame["agent"] = frame["agent"].fillna("main").astype(str)
    frame["intent"] = frame["intent"].fillna("unknown").astype(str)
    frame["historical_success"] = frame["historical_success"].astype(float)
    keep = ["pattern_id", "x", "y", "agent", "intent", "prompt_text", "trace_count", "historical_success"]
    return frame[keep]
