"""The published pattern index: versioned folders under ``Paths.index`` and a ``CURRENT`` pointer.

    <index>/versions/v000007/   manifest.json, exemplars.faiss, exemplars.npz, patterns.parquet,
                                intents.json, intent_vectors.npy, calibration.json
    <index>/CURRENT             "v000007"
    <index>/embeddings/<model>/ the embedding cache (learning.embeddings.EmbeddingCache)

A new version is written in a temporary folder, renamed into place, and only then ``CURRENT`` is
replaced (``os.replace``): a reader that follows ``CURRENT`` always finds a complete version.
The manifest records model, dimension, schema version, build time and counts; a version built
with one model is never extended with vectors of another (:func:`check_model`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from hooklake.errors import HooklakeError

INDEX_SCHEMA_VERSION = 1
CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
FAISS_FILE = "exemplars.faiss"
EXEMPLARS_FILE = "exemplars.npz"
PATTERNS_FILE = "patterns.parquet"
MANIFEST_FILE = "manifest.json"
CALIBRATION_FILE = "calibration.json"
INTENTS_FILE = "intents.json"
INTENT_VECTORS_FILE = "intent_vectors.npy"


def current_version(root: Path) -> str | None:
    try:
        text = (Path(root) / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def version_dir(root: Path, version: str) -> Path:
    return Path(root) / VERSIONS_DIR / version


def read_manifest(root: Path, version: str | None = None) -> dict[str, Any] | None:
    version = version or current_version(root)
    if version is None:
        return None
    path = version_dir(root, version) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HooklakeError(f"{path}: index version '{version}' named by {Path(root) / CURRENT_FILE} is unreadable ({exc}); "
                            "run 'hooklake learn --full' to publish a fresh index") from exc


def check_model(manifest: dict[str, Any] | None, model: str, dimension: int | None = None, where: Path | None = None) -> None:
    """Refuse to mix embeddings of different models in one index."""
    if manifest is None:
        return
    if manifest.get("model") != model or (dimension is not None and int(manifest.get("dimension", -1)) != dimension):
        raise HooklakeError(
            f"{where or 'index'}: the published index was built with model '{manifest.get('model')}' "
            f"(dimension {manifest.get('dimension')}), but the configured model is '{model}'"
            f"{f' (dimension {dimension})' if dimension is not None else ''}. Vectors of different models cannot be "
            "mixed: run 'hooklake learn --full' to rebuild the index with the configured model, or set "
            f"[learning] model = \"{manifest.get('model')}\" in config.toml."
        )


def _next_name(root: Path) -> str:
    folder = Path(root) / VERSIONS_DIR
    numbers = [int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()] if folder.exists() else []
    return f"v{(max(numbers) + 1) if numbers else 1:06d}"


def new_faiss_index(dimension: int, n: int, ivf_threshold: int, train: np.ndarray | None, nlist: int | None = None):
    """Flat (exact) below ``ivf_threshold`` vectors, IVF above; always with int64 ids."""
    import faiss

    if n < ivf_threshold or train is None or len(train) < 1000:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), "flat", 0
    nlist = nlist or int(min(65536, max(64, 4 * np.sqrt(n))))
    nlist = min(nlist, max(1, len(train) // 39))
    quantizer = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(np.ascontiguousarray(train, dtype=np.float32))
    return faiss.IndexIDMap2(ivf), "ivf", nlist


def set_nprobe(index, nprobe: int) -> None:
    import faiss

    try:
        inner = faiss.downcast_index(index.index)
        if hasattr(inner, "nprobe"):
            inner.nprobe = nprobe
    except Exception:  # not an IVF index
        pass


@dataclass
class IndexUpdate:
    index: Any
    kind: str
    nlist: int
    added: int
    removed: int
    rebuilt: bool
    reason: str


def update_index(
    root: Path, previous: str | None, ids: np.ndarray, vectors_for, dimension: int, *, full: bool,
    ivf_threshold: int,
) -> IndexUpdate:
    """Bring the previous version's FAISS index to exactly ``ids`` (add new, remove gone).

    ``vectors_for(ids) -> array`` supplies vectors for ids that must be added. The index is rebuilt
    only with ``full``, without a previous index, or when it must switch from flat to IVF.
    """
    import faiss

    builder = _BUILDER.get()
    if builder is not None:  # a distributed build (see build_with): always from scratch
        index, kind, nlist = builder(ids, vectors_for, dimension, ivf_threshold)
        return IndexUpdate(index, kind, nlist, len(ids), 0, True, "built in shards")
    prev_index = None
    prev_manifest = read_manifest(root, previous) if previous else None
    reason = ""
    if full:
        reason = "--full"
    elif previous is None:
        reason = "no previous index"
    else:
        path = version_dir(root, previous) / FAISS_FILE
        try:
            prev_index = faiss.read_index(str(path))
        except Exception as exc:  # corrupt or missing: rebuild
            reason = f"previous index unreadable ({exc})"
        if prev_index is not None and prev_manifest.get("index_kind") == "flat" and len(ids) >= ivf_threshold:
            prev_index, reason = None, f"grew past {ivf_threshold} vectors: switching to IVF"
    if prev_index is None:
        sample = None
        if len(ids) >= ivf_threshold:
            rng = np.random.default_rng(0)
            pick = np.sort(rng.choice(len(ids), min(len(ids), 200_000), replace=False))
            sample = vectors_for(ids[pick])
        index, kind, nlist = new_faiss_index(dimension, len(ids), ivf_threshold, sample)
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors_for(ids), dtype=np.float32), ids)
        return IndexUpdate(index, kind, nlist, len(ids), 0, True, reason)
    old_ids = faiss.vector_to_array(prev_index.id_map).astype(np.int64)
    gone = np.setdiff1d(old_ids, ids, assume_unique=False)
    new = np.setdiff1d(ids, old_ids, assume_unique=False)
    if len(gone):
        prev_index.remove_ids(faiss.IDSelectorBatch(gone))
    if len(new):
        prev_index.add_with_ids(np.ascontiguousarray(vectors_for(new), dtype=np.float32), new)
    return IndexUpdate(prev_index, prev_manifest.get("index_kind", "flat"), int(prev_manifest.get("nlist", 0)),
                       len(new), len(gone), False, "incremental")


# ---- hook: who builds a version from scratch --------------------------------------------------------

_BUILDER: ContextVar[Any] = ContextVar("hooklake_index_builder", default=None)


@contextmanager
def build_with(builder: Any) -> Iterator[None]:
    """Within the block, :func:`update_index` builds the index from scratch with
    ``builder(ids, vectors_for, dimension, ivf_threshold) -> (index, kind, nlist)`` instead of
    updating the previous version (``learn --engine spark``: shards filled on the executors,
    :mod:`learning.index_shards`)."""
    token = _BUILDER.set(builder)
    try:
        yield
    finally:
        _BUILDER.reset(token)


def publish_version(root: Path, write_files, manifest: dict[str, Any], keep_versions: int = 5) -> str:
    """Write a new version with ``write_files(folder)``, then point CURRENT at it atomically."""
    root = Path(root)
    versions = root / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        write_files(tmp)
        for _ in range(100):
            name = _next_name(root)
            manifest = dict(manifest, version=name, schema_version=INDEX_SCHEMA_VERSION)
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
            try:
                os.rename(tmp, versions / name)
                break
            except OSError:
                time.sleep(0.01)  # a concurrent learn took the name
        else:
            raise HooklakeError(f"{versions}: could not name a new index version")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = root / f".{CURRENT_FILE}.{uuid.uuid4().hex}.tmp"
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, root / CURRENT_FILE)
    _cleanup(root, keep_versions, name)
    return name


def _cleanup(root: Path, keep: int, current: str) -> None:
    versions = sorted((p for p in (root / VERSIONS_DIR).glob("v*") if p.name[1:].isdigit()), key=lambda p: p.name)
    for old in versions[:-max(1, keep)]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
