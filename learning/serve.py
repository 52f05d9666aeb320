"""The resident service: keeps the embedding model and the pattern index warm.

``hooklake serve`` answers ``POST /match``, ``POST /route`` and ``POST /advice`` (the advice hook's
one call) in milliseconds, reloads the index when ``hooklake learn`` publishes a new version, and
accepts events from producers on other machines (``POST /api/traces/{start,hook,routing,endpoint}``).

Why a stdlib ``ThreadingHTTPServer``: it serves a unix socket as easily as TCP, keeps connections
alive, and the expensive part of a request (one embedding) runs under a single compute lock anyway,
so an async stack would buy nothing but a dependency. Requests that hit the answer cache never take
that lock.

Reload without a failed request: a watcher thread polls the index ``CURRENT`` pointer; when it
changes, the new router is built next to the old one and swapped in with one reference assignment.
A request holds the router it started with until it finishes.

Nothing here blocks on disk: events (from the intake API and the advice log) go into a bounded queue
drained by one writer thread; when the queue is full the event is refused with 503 and counted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import hmac
import json
import logging
import os
import queue
import secrets
import signal
import socket
import socketserver
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from hooklake.errors import HooklakeError
from hooklake.paths import Paths

log = logging.getLogger("hooklake.serve")

SERVE_STATE_FILE = "serve.json"
"""Written into ``Paths.state`` while the service runs: where to reach it (read by the advice hook)."""
TOKEN_FILE = "serve-token"
"""Bearer token for the TCP listener, created with mode 0600 when not given on the command line."""
SOCKET_FILE = "serve.sock"
"""Default unix socket, inside ``Paths.state``."""

DEFAULT_MAX_BODY = 1024 * 1024
DISCARD_LIMIT = 16 * 1024 * 1024
"""A refused body up to this size is read and dropped so the client sees the 413 cleanly."""
DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_CACHE_SIZE = 4096
LATENCY_BUCKETS_MS: tuple[float, ...] = (1, 2, 5, 10, 15, 25, 50, 100, 250, 500, 1000, 5000)


# --------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------


class Metrics:
    """Request counts, a latency histogram per endpoint, cache and reload counters (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.requests: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.histograms: dict[str, list[int]] = {}
        self.latency_sum_ms: dict[str, float] = {}
        self.counters: dict[str, int] = {
            "cache_hits": 0,
            "cache_misses": 0,
            "reloads": 0,
            "reload_failures": 0,
            "events_accepted": 0,
            "events_dropped": 0,
            "events_written": 0,
            "events_write_failures": 0,
            "advice_injected": 0,
            "advice_withheld": 0,
            "advice_late": 0,
            "advice_none": 0,
        }

    def observe(self, endpoint: str, status: int, duration_ms: float) -> None:
        with self._lock:
            self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
            key = str(status)
            self.statuses[key] = self.statuses.get(key, 0) + 1
            hist = self.histograms.setdefault(endpoint, [0] * (len(LATENCY_BUCKETS_MS) + 1))
            for i, bound in enumerate(LATENCY_BUCKETS_MS):
                if duration_ms <= bound:
                    hist[i] += 1
                    break
            else:
                hist[-1] += 1
            self.latency_sum_ms[endpoint] = self.latency_sum_ms.get(endpoint, 0.0) + duration_ms

    def incr(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + by

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            bounds = [str(b) for b in LATENCY_BUCKETS_MS] + ["+Inf"]
            return {
                "uptime_s": round(time.time() - self.started, 3),
                "requests_total": sum(self.requests.values()),
                "requests": dict(self.requests),
                "statuses": dict(self.statuses),
                "latency_ms": {
                    endpoint: {
                        "buckets": dict(zip(bounds, hist)),
                        "count": sum(hist),
                        "sum": round(self.latency_sum_ms.get(endpoint, 0.0), 3),
                    }
                    for endpoint, hist in self.histograms.items()
                },
                **dict(self.counters),
            }

    def prometheus(self, extra: dict[str, Any]) -> str:
        """The same figures in the Prometheus text format (``GET /metrics?format=prometheus``)."""
        snap = self.snapshot()
        lines = ["# TYPE hooklake_requests_total counter"]
        for endpoint, count in sorted(snap["requests"].items()):
            lines.append(f'hooklake_requests_total{{endpoint="{endpoint}"}} {count}')
        lines.append("# TYPE hooklake_request_duration_ms histogram")
        for endpoint, data in sorted(snap["latency_ms"].items()):
            cumulative = 0
            for bound, count in data["buckets"].items():
                cumulative += count
                lines.append(f'hooklake_request_duration_ms_bucket{{endpoint="{endpoint}",le="{bound}"}} {cumulative}')
            lines.append(f'hooklake_request_duration_ms_sum{{endpoint="{endpoint}"}} {data["sum"]}')
            lines.append(f'hooklake_request_duration_ms_count{{endpoint="{endpoint}"}} {data["count"]}')
        for name in sorted(self.counters):
            lines.append(f"hooklake_{name} {snap[name]}")
        for name, value in sorted(extra.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                lines.append(f"hooklake_{name} {value}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Answer cache
# --------------------------------------------------------------------------------------


class AnswerCache:
    """A small LRU of computed answers, keyed by request and index version (a reload empties it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: Any) -> str:
        raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def get(self, key: str) -> Any:
        if self.size <= 0:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


# --------------------------------------------------------------------------------------
# Router holder: load once, swap atomically on a new index version
# --------------------------------------------------------------------------------------


def read_index_version(paths: Paths) -> str | None:
    """The published index version (content of ``<index>/CURRENT``), or None before the first learn."""
    try:
        return (paths.index / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None


def default_router_loader(paths: Paths, previous: Any | None, embedder: Any = None) -> Any:
    """Build a router for the current index. Reuses the previous router's model when it can.

    ``embedder``: an already loaded model to share (tests and benchmarks load it once).
    """
    from learning.router import Router

    if previous is not None and hasattr(previous, "reload_if_changed") and hasattr(previous, "copy"):
        # A router that can clone itself cheaply (sharing the model) reloads the clone, so the
        # object in use is never mutated while requests run on it.
        clone = previous.copy()
        clone.reload_if_changed()
        return clone
    return Router.load(paths=paths, embedder=embedder)


class RouterHolder:
    """Owns the current router. ``current`` is read without a lock; a swap is one assignment."""

    def __init__(self, paths: Paths, loader: Callable[[Paths, Any | None], Any] = default_router_loader) -> None:
        self.paths = paths
        self.loader = loader
        self._pair: tuple[Any | None, str | None] = (None, None)
        self.loaded_at: float | None = None
        self.last_error: str | None = None
        self._reload_lock = threading.Lock()
        self._stat: tuple[int, int] | None = None
        self.on_swap: list[Callable[[], None]] = []

    @property
    def current(self) -> Any | None:
        return self._pair[0]

    @property
    def version(self) -> str | None:
        return self._pair[1]

    def snapshot(self) -> tuple[Any | None, str | None]:
        """The router and its index version, read together (a swap replaces both at once)."""
        return self._pair

    def _current_stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.paths.index / "CURRENT")
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load_initial(self) -> None:
        self._stat = self._current_stat()
        version = read_index_version(self.paths)
        self._pair = (self.loader(self.paths, None), version)
        self.loaded_at = time.time()

    def changed(self) -> bool:
        """Cheap check (one stat, then one small read) whether learn published another version."""
        stat = self._current_stat()
        if stat == self._stat:
            return False
        return read_index_version(self.paths) != self.version

    def reload_if_changed(self, metrics: Metrics | None = None) -> bool:
        if not self.changed():
            return False
        with self._reload_lock:
            stat = self._current_stat()
            version = read_index_version(self.paths)
            if version == self.version:
                self._stat = stat
                return False
            try:
                fresh = self.loader(self.paths, self.current)
            except Exception as exc:  # noqa: BLE001 - keep serving the old index
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("index reload to version %s failed, keeping %s: %s", version, self.version, exc)
                if metrics is not None:
                    metrics.incr("reload_failures")
                self._stat = stat  # do not retry the same broken version in a loop
                return False
            self._pair = (fresh, version)  # the atomic swap: router and version together
            self.loaded_at = time.time()
            self.last_error = None
            self._stat = stat
        if metrics is not None:
            metrics.incr("reloads")
        for callback in self.on_swap:
            callback()
        log.info("index version %s loaded", version)
        return True


# --------------------------------------------------------------------------------------
# Event writer: bounded queue, one thread, never blocks a request
# --------------------------------------------------------------------------------------


def _default_append(payload: dict[str, Any], source: str, paths: Paths) -> None:
    from hooks.spool import append_event

    if append_event(payload, source, paths=paths) is None:
        raise OSError(f"the spool refused the event (see {paths.capture_errors})")


class EventWriter:
    """Queues spool writes; ``submit`` never blocks and returns False when the event was dropped."""

    def __init__(
        self,
        paths: Paths,
        metrics: Metrics,
        maxsize: int = DEFAULT_QUEUE_SIZE,
        append: Callable[[dict[str, Any], str, Paths], None] = _default_append,
    ) -> None:
        self.paths = paths
        self.metrics = metrics
        self.append = append
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="hooklake-event-writer", daemon=True)
        self._last_warning = 0.0

    def start(self) -> "EventWriter":
        self._thread.start()
        return self

    def submit(self, payload: dict[str, Any], source: str) -> bool:
        try:
            self.queue.put_nowait((payload, source))
        except queue.Full:
            self.metrics.incr("events_dropped")
            now = time.monotonic()
            if now - self._last_warning > 5.0:
                self._last_warning = now
                log.warning("event queue full (%d); dropping events", self.queue.maxsize)
            return False
        self.metrics.incr("events_accepted")
        return True

    def submit_call(self, func: Callable[[], Any]) -> bool:
        """Queue a call that writes on its own (the router's decision log); dropped when full."""
        try:
            self.queue.put_nowait(func)
        except queue.Full:
            self.metrics.incr("events_dropped")
            return False
        self.metrics.incr("events_accepted")
        return True

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            try:
                if callable(item):
                    item()
                else:
                    payload, source = item
                    self.append(payload, source, self.paths)
                self.metrics.incr("events_written")
            except Exception as exc:  # noqa: BLE001 - one bad event never stops the writer
                self.metrics.incr("events_write_failures")
                log.warning("could not write event to the spool: %s", exc)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (bounded by ``timeout``), then stop the thread."""
        if not self._thread.is_alive():
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.queue.put(None, timeout=max(0.01, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    return
        self._thread.join(max(0.0, deadline - time.monotonic()))


# --------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------


class RequestError(Exception):
    """A client error: becomes a 4xx/5xx JSON answer ``{"error": reason}``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --------------------------------------------------------------------------------------
# Micro-batching of request embeddings
# --------------------------------------------------------------------------------------


class _Pending:
    __slots__ = ("embedder", "text", "precision", "done", "vector", "error")

    def __init__(self, embedder: Any, text: str, precision: str = "fp32") -> None:
        self.embedder, self.text, self.precision = embedder, text, precision
        self.done = threading.Event()
        self.vector: Any = None
        self.error: BaseException | None = None


class EmbedBatcher:
    """Embeds the prompts of concurrent requests together: one forward pass for several prompts.

    One lock owns the model. A request that arrives while the model is idle and nobody is queued
    is embedded at once on the request's own thread: no hand-over to another thread, whose
    wake-up costs milliseconds on a loaded machine. While a pass runs, arriving prompts queue up
    and the worker thread's next pass takes all of them (up to ``max_batch``). Only when requests
    are already overlapping does the worker also wait up to ``window_s`` for more, so a burst
    shares passes instead of queueing behind one pass per prompt.
    """

    def __init__(self, window_s: float = 0.0015, max_batch: int = 16, metrics: "Metrics | None" = None) -> None:
        self.window_s = window_s
        self.max_batch = max(1, max_batch)
        self.metrics = metrics
        self._queue: "queue.SimpleQueue[_Pending]" = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._last_size = 1

    def embed(self, embedder: Any, text: str, timeout: float = 60.0, precision: str = "fp32") -> Any:
        """``precision``: passed to ``embedder.encode_small`` (when not fp32) for the request vectors."""
        item = _Pending(embedder, text, precision)
        if self._queue.empty() and self._model_lock.acquire(blocking=False):
            try:  # idle: embed on this thread
                self._pass([item])
            finally:
                self._model_lock.release()
        else:
            if self._thread is None:
                with self._start_lock:
                    if self._thread is None:
                        self._thread = threading.Thread(target=self._run, name="hooklake-embed", daemon=True)
                        self._thread.start()
            self._queue.put(item)
            if not item.done.wait(timeout):
                raise RequestError(503, "embedding the request timed out")
        if item.error is not None:
            raise item.error
        return item.vector

    def _collect(self, first: _Pending) -> list[_Pending]:
        batch = [first]
        deadline = None
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            if len(batch) == 1 and self._last_size == 1:
                break  # nobody else is waiting: answer this one now
            if deadline is None:
                deadline = time.perf_counter() + self.window_s
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            with self._model_lock:  # prompts queued while an inline pass ran join this pass
                batch = self._collect(first)
                self._last_size = len(batch)
                self._pass(batch)

    def _pass(self, batch: list[_Pending]) -> None:
        """Embed ``batch`` (the caller holds the model lock) and wake the queued callers."""
        groups: dict[tuple[int, str], list[_Pending]] = {}
        for item in batch:
            groups.setdefault((id(item.embedder), item.precision), []).append(item)
        for (_, precision), items in groups.items():
            try:
                texts = [i.text for i in items]
                if precision == "fp32":
                    vectors = items[0].embedder.encode_small(texts)
                else:
                    vectors = items[0].embedder.encode_small(texts, precision=precision)
                for i, v in zip(items, vectors):
                    i.vector = v
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
                for i in items:
                    i.error = exc
            for i in items:
                i.done.set()
        if self.metrics is not None:
            self.metrics.incr("embed_passes", len(groups))
            self.metrics.incr("embedded_prompts", len(batch))


@dataclass
class ServiceConfig:
    max_body_bytes: int = DEFAULT_MAX_BODY
    cache_size: int = DEFAULT_CACHE_SIZE
    queue_size: int = DEFAULT_QUEUE_SIZE
    reload_interval_s: float = 1.0
    compute_threads: int | None = 1
    """Threads the model may use per request (torch). One is fastest when the machine is shared:
    requests are serialised anyway, and more threads fight other processes for the cores."""
    batch_window_ms: float = 1.5
    """While requests overlap, wait this long for more prompts to embed in the same forward pass."""
    max_batch: int = 16
    """Most prompts embedded in one forward pass."""
    trace_model: bool = True
    """At start, replace the transformer's Python forward by a TorchScript trace (checked to give
    the same hidden states; kept only then)."""
    freeze_gc: bool = True
    """At start, move the objects loaded so far into the garbage collector's permanent generation
    (``gc.freeze``; undone at stop), so no full collection pass stalls a request."""
    query_precision: str | None = None
    """Precision of request embeddings (learning.embeddings.PRECISIONS); None = the settings
    file's ``[learning] query_precision``. Resolved at warm-up (``auto`` -> bf16 or fp32)."""
    token: str | None = None
    """Bearer token required on every request except ``/health`` (None: no auth, unix socket)."""
    advice: Any = None
    """AdviceSettings (timeout, holdout share, shadow); None = the settings file's."""
    extra: dict[str, Any] = field(default_factory=dict)


class Service:
    """Everything a request handler needs: router holder, cache, metrics, event writer."""

    def __init__(
        self,
        paths: Paths,
        config: ServiceConfig,
        holder: RouterHolder | None = None,
        writer: EventWriter | None = None,
    ) -> None:
        self.paths = paths
        self.config = config
        self.metrics = Metrics()
        self.holder = holder if holder is not None else RouterHolder(paths)
        self.cache = AnswerCache(config.cache_size)
        self.vectors = AnswerCache(config.cache_size)
        self.holder.on_swap.append(self.cache.clear)
        self.writer = writer if writer is not None else EventWriter(paths, self.metrics, config.queue_size)
        self.writer.metrics = self.metrics
        self.compute_lock = threading.Lock()
        self.batcher = EmbedBatcher(config.batch_window_ms / 1000.0, config.max_batch, self.metrics)
        self.warm_info: dict[str, Any] = {}
        self.query_precision = "fp32"
        """What request vectors are embedded at (set by the warm-up)."""
        self._stop = threading.Event()
        self._froze_gc = False
        self._watcher = threading.Thread(target=self._watch, name="hooklake-index-watcher", daemon=True)
        if config.advice is None or config.query_precision is None:
            from hooklake.settings import load_settings

            loaded = load_settings(paths.config)
            if config.advice is None:
                config.advice = loaded.advice
            if config.query_precision is None:
                config.query_precision = loaded.learning.query_precision
        from learning.embeddings import check_precision

        check_precision(config.query_precision)

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        if self.holder.current is None:
            self.holder.load_initial()
        if self.config.compute_threads is not None:
            _limit_compute_threads(self.config.compute_threads)
        self._warm_up()
        if self.config.freeze_gc:
            # Everything loaded so far (model, index, libraries: ~500k objects) lives as long as
            # the service: keep it out of the cyclic collector, whose full passes over it stall
            # every thread for about a quarter of a second.
            gc.collect(1)
            gc.freeze()
            self._froze_gc = True
        self.writer.start()
        self._watcher.start()

    def _warm_up(self) -> None:
        """Embeddings before the first request, so no caller pays for lazy initialisation (and the
        model's forward traced, when it allows it)."""
        router = self.holder.current
        warm = getattr(getattr(router, "embedder", None), "warm_up", None)
        if callable(warm):
            with contextlib.suppress(Exception):
                if _accepts(warm, "precision"):
                    self.warm_info = dict(warm(trace=self.config.trace_model, precision=self.config.query_precision))
                    self.query_precision = str(self.warm_info.get("precision") or "fp32")
                else:
                    self.warm_info = dict(warm(trace=self.config.trace_model))
                return
        embed = getattr(router, "embed", None)
        if callable(embed):
            with contextlib.suppress(Exception):
                embed("warm up the model")

    def stop(self) -> None:
        self._stop.set()
        self.writer.close()
        if self._froze_gc:
            self._froze_gc = False
            gc.unfreeze()

    def _watch(self) -> None:
        while not self._stop.wait(self.config.reload_interval_s):
            try:
                from lakehouse.remote import refresh_index  # team lake: pull a newer published index (throttled)

                refresh_index(self.holder.paths)
                self.holder.reload_if_changed(self.metrics)
            except Exception as exc:  # noqa: BLE001 - the watcher must survive anything
                log.warning("index watcher: %s", exc)

    # -- endpoints -----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        router = self.holder.current
        return {
            "status": "ok" if router is not None else "no_index",
            "index_version": self.holder.version,
            "loaded_at": self.holder.loaded_at,
            "last_reload_error": self.holder.last_error,
            "pid": os.getpid(),
            "patterns": _pattern_count(router),
            "queue_depth": self.writer.queue.qsize(),
            "query_precision": self.query_precision,
        }

    def _cached(self, kind: str, key_parts: tuple[Any, ...], compute: Callable[[Any], Any]) -> tuple[Any, bool]:
        router, version = self.holder.snapshot()
        key = self.cache.key(kind, version, *key_parts)
        hit = self.cache.get(key)
        if hit is not None:
            self.metrics.incr("cache_hits")
            return hit, True
        self.metrics.incr("cache_misses")
        if router is None:
            raise RequestError(503, "no router loaded yet; run `hooklake learn`")
        with self.compute_lock:
            value = compute(router)
        if self.holder.version == version:
            self.cache.put(key, value)
        return value, False

    def _vector(self, router: Any, text: str) -> Any:
        """The request's embedding, cached by text: /match and /route of one prompt embed it once,
        and the cache survives index reloads (the model does not change with the index)."""
        precision = self.query_precision
        key = self.cache.key("vector", getattr(getattr(router, "embedder", None), "model_name", None), precision, text)
        vector = self.vectors.get(key)
        if vector is None:
            embedder = getattr(router, "embedder", None)
            if callable(getattr(embedder, "encode_small", None)):
                vector = self.batcher.embed(embedder, text, precision=precision)
            else:
                vector = router.embed(text)
            self.vectors.put(key, vector)
        return vector

    def match(self, body: dict[str, Any]) -> dict[str, Any]:
        request = _require_text(body, "request")
        context = _optional_dict(body, "context")
        k = _optional_int(body, "k", 5, 1, 100)
        min_conf = _optional_float(body, "min_confidence")

        def compute(router: Any) -> list[dict[str, Any]]:
            return [_as_dict(m) for m in router.match(request, context, k=k, min_confidence=min_conf, **extra)]

        router = self.holder.current
        extra: dict[str, Any] = {}
        if router is not None and _accepts(router.match, "vector"):
            # Embedded outside the compute lock: concurrent requests share forward passes.
            key = self.cache.key("match", self.holder.version, request, context, k, min_conf)
            if self.cache.get(key) is None:
                extra = {"vector": self._vector(router, request)}
        matches, cached = self._cached("match", (request, context, k, min_conf), compute)
        return {"matches": matches, "index_version": self.holder.version, "cached": cached}

    def _route(self, request: str, context: dict[str, Any], correlation_id: str | None,
               log: bool = True) -> tuple[dict[str, Any], bool]:
        """Route with the answer cache; the decision is logged for every request, cached or not.

        The cache keeps the router's decision object; a hit is re-stamped with this request's
        correlation id. Logging (one spool write) runs on the writer thread, never in the request.
        """
        router, version = self.holder.snapshot()
        key = self.cache.key("route", version, request, {k: v for k, v in context.items() if k not in _PER_REQUEST})
        if router is None:
            raise RequestError(503, "no router loaded yet; run `hooklake learn`")
        supports_log = _accepts(router.route, "log")
        hit = self.cache.get(key)
        if hit is not None:
            self.metrics.incr("cache_hits")
            decision, cached = hit, True
            if correlation_id is not None and dataclasses.is_dataclass(decision) and hasattr(decision, "correlation_id"):
                decision = dataclasses.replace(decision, correlation_id=correlation_id)
        else:
            self.metrics.incr("cache_misses")
            cached = False
            # Embedded outside the compute lock: concurrent requests share forward passes.
            extra = {"vector": self._vector(router, request)} if supports_log and _accepts(router.route, "vector") else {}
            with self.compute_lock:
                if supports_log:
                    decision = router.route(request, context, log=False, correlation_id=correlation_id, **extra)
                else:
                    decision = router.route(request, context)
            if self.holder.version == version:
                self.cache.put(key, decision)
        if log and supports_log and hasattr(router, "_log"):
            self.writer.submit_call(lambda: router._log(decision, request, context))
        return _as_dict(decision), cached

    def route(self, body: dict[str, Any]) -> dict[str, Any]:
        request = _require_text(body, "request")
        context = _optional_dict(body, "context")
        correlation_id = body.get("correlation_id") or context.get("correlation_id") or context.get("prompt_id")
        if correlation_id is not None and not isinstance(correlation_id, str):
            raise RequestError(400, "'correlation_id' must be a string")
        log = body.get("log", True)
        if not isinstance(log, bool):
            raise RequestError(400, "'log' must be true or false")
        result, cached = self._route(request, context, correlation_id, log=log)
        return {"route": result, "index_version": self.holder.version, "cached": cached}

    def advice(self, body: dict[str, Any], deadline: float | None = None) -> dict[str, Any] | None:
        """The advice hook's call: the raw UserPromptSubmit payload in, the hook's stdout JSON out.

        ``deadline`` (perf_counter time): when the hook will have given up. Advice computed after
        it is logged as not injected (``late``), so the A/B report does not credit advice the
        session never saw.
        """
        from learning import advice

        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise RequestError(400, "'prompt' must be a non-empty string (a UserPromptSubmit payload)")
        context = advice.context_from_payload(body)
        prompt_id = body.get("prompt_id") if isinstance(body.get("prompt_id"), str) else None
        if isinstance(body.get("session_id"), str):
            context["session_id"] = body["session_id"]
        # The advice event below is this decision's record (with its group); a routing_decision
        # as well would count the same replay twice in the pattern's usage statistics.
        route, _cached = self._route(prompt, context, prompt_id, log=False)
        decision = advice.decide(body, route, self.config.advice, index_version=self.holder.version)
        if decision is None:
            self.metrics.incr("advice_none")
            return None
        if decision.injected and deadline is not None and time.perf_counter() > deadline:
            decision = dataclasses.replace(decision, injected=False, late=True)
        counter = "advice_late" if decision.late else ("advice_injected" if decision.injected else "advice_withheld")
        self.metrics.incr(counter)
        self.writer.submit(decision.event_payload(), advice.ADVICE_SOURCE)
        return decision.hook_output() if decision.injected else None

    def intake(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        from learning import serve_intake as intake

        try:
            payload = intake.to_payload(kind, body)
        except intake.IntakeError as exc:
            raise RequestError(422 if exc.unprocessable else 400, str(exc)) from None
        if not self.writer.submit(payload, intake.INTAKE_SOURCE):
            raise RequestError(503, "event queue is full; the event was dropped, retry later")
        return {"accepted": True, "correlation_id": payload.get("correlation_id"), "kind": payload["hook_event_name"]}


BUDGET_HEADER = "X-Hooklake-Budget-Ms"
"""Sent by the advice hook: milliseconds left before it gives up."""


def _deadline(headers: Any, started: float) -> float | None:
    raw = headers.get(BUDGET_HEADER)
    if raw is None:
        return None
    try:
        budget_ms = float(raw)
    except ValueError:
        return None
    return started + max(0.0, budget_ms) / 1000.0


def _limit_compute_threads(n: int) -> None:
    """Cap torch's and FAISS's threads when the router loaded them (a router without a model never pays)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        with contextlib.suppress(Exception):
            torch.set_num_threads(max(1, n))
    # FAISS searches one query at a time here: its OpenMP threads only spin against other
    # processes for the cores (p50 0.2 ms with one thread, tens of ms with two on a busy machine).
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        with contextlib.suppress(Exception):
            faiss.omp_set_num_threads(max(1, n))


_PER_REQUEST = frozenset({"session_id", "correlation_id", "prompt_id", "root_id", "parent_id", "execution_id"})
"""Context keys that identify the request, not what it asks: left out of the cache key."""


def _accepts(func: Any, name: str) -> bool:
    """Whether ``func`` takes a parameter ``name`` (remembered per function: asked per request)."""
    target = getattr(func, "__func__", func)
    try:
        return _accepts_cached(target, name)
    except TypeError:  # unhashable callable
        return _signature_has(target, name)


@functools.lru_cache(maxsize=256)
def _accepts_cached(func: Any, name: str) -> bool:
    return _signature_has(func, name)


def _signature_has(func: Any, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _pattern_count(router: Any) -> int | None:
    if router is None:
        return None
    for attr in ("pattern_count", "n_patterns", "size"):
        value = getattr(router, attr, None)
        if callable(value):
            with contextlib.suppress(Exception):
                value = value()
        if isinstance(value, int):
            return value
    return None


def _as_dict(obj: Any) -> Any:
    """An answer as a JSON-ready dict: ``as_json_dict()`` when the object has it (the router's
    answers: no deep copy, as they are serialised at once), else ``as_dict()``."""
    if obj is None:
        return None
    fast = getattr(obj, "as_json_dict", None)
    if fast is not None:
        return fast()
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if isinstance(obj, dict):
        return obj
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _require_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise RequestError(400, f"'{name}' must be a non-empty string")
    return value


def _optional_dict(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(400, f"'{name}' must be a JSON object")
    return value


def _optional_int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RequestError(400, f"'{name}' must be an integer between {lo} and {hi}")
    return value


def _optional_float(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise RequestError(400, f"'{name}' must be a number between 0 and 1")
    return float(value)


# --------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------

_POST_ROUTES = {"/match": "match", "/route": "route", "/advice": "advice"}
_INTAKE_PREFIX = "/api/traces/"


class _Handler(BaseHTTPRequestHandler):
    service: Service
    protocol_version = "HTTP/1.1"
    wbufsize = -1
    """Buffered: status line, headers and body leave in one write when the request is handled
    (http.server flushes after each request), so the client wakes once, not per part."""
    server_version = "hooklake"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base-class signature
        log.debug("%s " + format, self.command, *args)

    # -- helpers -----------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, separators=(",", ":"), default=str).encode())

    def _authorised(self) -> bool:
        token = self.service.config.token
        if token is None:
            return True
        header = self.headers.get("Authorization") or ""
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    def _read_json(self) -> dict[str, Any]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True  # the unread chunks must not be parsed as a request
            raise RequestError(411, "chunked bodies are not accepted; send Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            raise RequestError(411, "Content-Length is required")
        try:
            length = int(length_header)
        except ValueError:
            raise RequestError(400, "Content-Length is not a number") from None
        if length < 0:
            raise RequestError(400, "Content-Length is negative")
        if length > self.service.config.max_body_bytes:
            self.close_connection = True
            self._discard(length)
            raise RequestError(413, f"body of {length} bytes exceeds the limit of {self.service.config.max_body_bytes}")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            raise RequestError(400, "empty body; expected a JSON object")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(400, f"body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise RequestError(400, f"body must be a JSON object, got {type(body).__name__}")
        return body

    def _discard(self, length: int) -> None:
        """Read (and drop) a refused body of moderate size, so the client can read the 413 instead of
        seeing its connection reset mid-send; a huge one is not worth reading: just close."""
        if length > DISCARD_LIMIT:
            return
        with contextlib.suppress(OSError):
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(65536, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)

    # -- verbs -------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        started = time.perf_counter()
        parts = urlsplit(self.path)
        endpoint, status = parts.path, 200
        try:
            if parts.path == "/health":
                self._send_json(200, self.service.health())
            elif not self._authorised():
                status = 401
                self._send_json(401, {"error": "missing or wrong bearer token"})
            elif parts.path == "/metrics":
                extra = {"index_loaded": int(self.service.holder.current is not None),
                         "queue_depth": self.service.writer.queue.qsize(),
                         "cache_entries": len(self.service.cache)}
                if "format=prometheus" in (parts.query or "") or "text/plain" in (self.headers.get("Accept") or ""):
                    self._send(200, self.service.metrics.prometheus(extra).encode(), "text/plain; version=0.0.4")
                else:
                    snap = self.service.metrics.snapshot()
                    snap.update(extra)
                    snap["index_version"] = self.service.holder.version
                    self._send_json(200, snap)
            else:
                status, endpoint = 404, "other"
                self._send_json(404, {"error": f"no such endpoint: GET {parts.path}"})
        finally:
            self.service.metrics.observe(endpoint, status, (time.perf_counter() - started) * 1000)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        started = time.perf_counter()
        path = urlsplit(self.path).path
        endpoint = path if (path in _POST_ROUTES or path.startswith(_INTAKE_PREFIX)) else "other"
        status = 200
        try:
            if not self._authorised():
                status = 401
                self.close_connection = True
                self._send_json(401, {"error": "missing or wrong bearer token"})
                return
            if path in _POST_ROUTES:
                body = self._read_json()
                name = _POST_ROUTES[path]
                if name == "advice":
                    result = self.service.advice(body, deadline=_deadline(self.headers, started))
                else:
                    result = getattr(self.service, name)(body)
                if name == "advice" and result is None:
                    status = 204
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send_json(200, result)
            elif path.startswith(_INTAKE_PREFIX):
                kind = path[len(_INTAKE_PREFIX):]
                from learning import serve_intake as intake

                if kind not in intake.KINDS:
                    raise RequestError(404, f"no such endpoint: {path} (known: {', '.join(sorted(intake.KINDS))})")
                body = self._read_json()
                status = 202
                self._send_json(202, self.service.intake(kind, body))
            else:
                raise RequestError(404, f"no such endpoint: POST {path}")
        except RequestError as exc:
            status = exc.status
            self._send_json(exc.status, {"error": exc.reason})
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # the client gave up (the advice hook's deadline passed): nothing to answer
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug answers 500, the server keeps running
            status = 500
            log.exception("internal error on %s", path)
            self._send_json(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})
        finally:
            self.service.metrics.observe(endpoint, status, (time.perf_counter() - started) * 1000)


class _QuietErrors:
    """A client that hangs up mid-answer is routine, not a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return
        log.exception("unhandled error while serving a request")


class _TCPServer(_QuietErrors, ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


class _UnixServer(_QuietErrors, ThreadingHTTPServer):
    address_family = socket.AF_UNIX
    daemon_threads = True
    request_queue_size = 256

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, _addr = self.socket.accept()
        return sock, ("unix", 0)


def _prepare_socket_path(path: Path) -> None:
    if len(str(path).encode()) > 100:
        raise HooklakeError(f"unix socket path {path} is too long (max ~100 bytes); pass a shorter --socket")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # stale socket from a service that died
        else:
            raise HooklakeError(f"another service is already listening on {path}; stop it or pass another --socket")
        finally:
            probe.close()


def load_or_create_token(paths: Paths) -> str:
    """The TCP bearer token: read from ``<state>/serve-token`` or created there with mode 0600."""
    token_path = paths.state / TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        token = token_path.read_text(encoding="utf-8").strip()
        if token:
            return token
    paths.state.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    os.chmod(token_path, 0o600)
    return token


@dataclass
class RunningServer:
    """A started service; ``address`` is the socket path or ``(host, port)``."""

    service: Service
    server: ThreadingHTTPServer
    thread: threading.Thread | None
    address: str | tuple[str, int]
    state_file: Path | None

    @property
    def base_url(self) -> str:
        if isinstance(self.address, tuple):
            return f"http://{self.address[0]}:{self.address[1]}"
        return "http://localhost"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.service.stop()
        if isinstance(self.address, str):
            with contextlib.suppress(OSError):
                os.unlink(self.address)
        if self.state_file is not None:
            _remove_state_file(self.state_file, os.getpid())


def _write_state_file(paths: Paths, info: dict[str, Any]) -> Path:
    paths.state.mkdir(parents=True, exist_ok=True)
    target = paths.state / SERVE_STATE_FILE
    tmp = target.with_name(f".{SERVE_STATE_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(info, indent=2).encode())
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return target


def _remove_state_file(path: Path, pid: int) -> None:
    """Remove the state file only if it still describes this process (a newer service may own it)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()


def start_server(
    paths: Paths | None = None,
    *,
    socket_path: str | os.PathLike[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    config: ServiceConfig | None = None,
    holder: RouterHolder | None = None,
    writer: EventWriter | None = None,
    background: bool = True,
    write_state: bool = True,
) -> RunningServer:
    """Load the router, bind, and serve (in a daemon thread when ``background``).

    TCP binds only to loopback addresses unless the caller passes another host explicitly, and
    always requires a bearer token; the unix socket is created with mode 0600 and needs none.
    """
    paths = paths if paths is not None else Paths.resolve()
    config = config if config is not None else ServiceConfig()
    tcp = host is not None or port is not None
    if tcp:
        host = host if host is not None else "127.0.0.1"
        port = port if port is not None else 0
        if config.token is None:
            config.token = load_or_create_token(paths)
    service = Service(paths, config, holder=holder, writer=writer)
    service.start()

    # TCP_NODELAY on loopback TCP: an answer is one write and must not wait for the client's ACK
    # of the previous one (a unix socket has no such option).
    handler = type("Handler", (_Handler,), {"service": service, "disable_nagle_algorithm": tcp})
    server: ThreadingHTTPServer
    address: str | tuple[str, int]
    if tcp:
        try:
            server = _TCPServer((host, port), handler)
        except OSError as exc:
            service.stop()
            raise HooklakeError(f"cannot listen on {host}:{port}: {exc}; pick another --port") from None
        address = (str(server.server_address[0]), int(server.server_address[1]))
        info: dict[str, Any] = {"transport": "tcp", "host": address[0], "port": address[1],
                                "token_file": str(paths.state / TOKEN_FILE)}
    else:
        sock_path = Path(socket_path) if socket_path is not None else paths.state / SOCKET_FILE
        _prepare_socket_path(sock_path)
        old_umask = os.umask(0o177)
        try:
            server = _UnixServer(str(sock_path), handler)
        finally:
            os.umask(old_umask)
        os.chmod(sock_path, 0o600)
        address = str(sock_path)
        info = {"transport": "unix", "socket": address}
    info.update({"pid": os.getpid(), "started_at": time.time(), "timeout_ms": config.advice.timeout_ms,
                 "index_version": service.holder.version})
    state_file = _write_state_file(paths, info) if write_state else None
    thread = None
    if background:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="hooklake-serve", daemon=True)
        thread.start()
    return RunningServer(service, server, thread, address, state_file)


def serve_forever(running: RunningServer) -> None:
    """Run in the foreground until SIGINT/SIGTERM, then stop cleanly (socket and state file removed)."""
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="hooklake-serve", daemon=True)
    thread.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def read_state(paths: Paths | None = None) -> dict[str, Any] | None:
    """What ``<state>/serve.json`` says about the running service (None when it is not running)."""
    paths = paths if paths is not None else Paths.resolve()
    try:
        return json.loads((paths.state / SERVE_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
