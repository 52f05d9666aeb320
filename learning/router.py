"""Matching and routing, warm: load the model and the current index once, answer many requests.

    router = Router.load()                       # model + index named by <index>/CURRENT
    router.match("fix the flaky login test")     # -> [Match, ...] best first
    router.route("fix the flaky login test", {"cwd": "/path/to/project"})  # -> RouteDecision
    router.reload_if_changed()                   # after a new 'hooklake learn'

``route`` uses a learned pattern only when its calibrated confidence reaches the fitted threshold
(or ``[learning] min_confidence``); otherwise it falls back to the user's Claude Code agents
(``.claude/agents/*.md`` in the project and the home folder) by similarity to their descriptions,
and to ``general-purpose`` when none fits. Every decision is logged as a ``routing_decision``
event through the spool (same correlation id as the trace when the context gives one).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from hooklake.errors import HooklakeError
from learning import index as idx
from learning.agents import DEFAULT_AGENT, AgentDef, discover
from learning.matcher import COMPONENTS, PatternSet, Scorer, explain, make_query, rank, retrieve
from learning.replay import ReplayPlan, plan_for

RETRIEVE_M = 64
CANDIDATES = 20
FALLBACK_MIN_SIMILARITY = 0.3
ROUTE_CANDIDATES = 10
"""Patterns considered for a replay: the best few by match score."""
LIKELY_MATCH = 0.5
"""A match this confident (calibrated) is more likely than not the request's own path."""
SUCCESS_QUANTILE = 0.1
"""A pattern's success is judged by the 10% quantile of its Beta posterior (a lower bound)."""


def success_lower_bound(successes: int, failures: int, quantile: float = SUCCESS_QUANTILE) -> float:
    """Lower ``quantile`` of Beta(successes + 1, failures + 1): the success rate a path reaches with
    ~90% posterior probability. Two successes out of two give 0.46, twenty out of twenty 0.90."""
    from scipy.special import betaincinv

    return float(betaincinv(max(0, successes) + 1.0, max(0, failures) + 1.0, quantile))


@dataclass
class ReplayChoice:
    """Why a pattern is (or is not) worth replaying for one request."""

    match: "Match"
    success_lb: float
    """Lower bound of the pattern's success rate (its source traces and replays, Beta posterior)."""
    relevance: float
    """Calibrated probability that the request is of the kind these patterns serve (capped at 1)."""
    confidence: float
    """relevance x success_lb: the estimated chance that replaying the pattern succeeds."""
    successes: int
    failures: int
    considered: int


@dataclass
class Match:
    pattern_id: str
    """Learned pattern id (stable across versions)."""
    version: int
    agent: str
    """First delegated subagent of the pattern ('main' = no delegation)."""
    score: float
    """Combined score of the components (the scorer named in ``scorer``)."""
    confidence: float
    """Calibrated probability that the pattern's execution path is the right one."""
    components: dict[str, float]
    """semantic, keyword, intent, context, historical (and margin)."""
    explanation: str
    above_threshold: bool
    """confidence >= the router's threshold."""
    scorer: str
    intent: str
    example_prompt: str
    agents: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    trace_count: int = 0
    status: str = "active"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json_dict(self) -> dict[str, Any]:
        """The fields without :func:`asdict`'s deep copy (nested dicts and lists are shared): for
        answers serialised at once, e.g. by the service (a fifth of the cost)."""
        return _shallow(self)


@dataclass
class RouteDecision:
    agent: str
    """Agent to use: the pattern's first subagent, a user agent, or general-purpose."""
    confidence: float
    strategy: str
    """learned_pattern | fallback"""
    pattern_id: str | None
    replay_plan: dict[str, Any] | None
    components: dict[str, float]
    explanation: str
    correlation_id: str
    threshold: float
    calibrated: bool
    intent: dict[str, Any]
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    index_version: str | None = None
    latency_ms: float = 0.0
    logged: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json_dict(self) -> dict[str, Any]:
        """As :meth:`Match.as_json_dict`: the fields, nested values shared."""
        return _shallow(self)


def _shallow(obj: Any) -> dict[str, Any]:
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class Router:
    """A warm matcher/router over one published index version. See the module docstring."""

    def __init__(self, paths, settings, embedder, state: dict[str, Any]):
        self.paths = paths
        self.settings = settings
        self.embedder = embedder
        self._state = state
        self._agent_cache: dict[tuple[str, float], np.ndarray] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, paths=None, settings=None, embedder=None) -> "Router":
        from hooklake.paths import Paths
        from hooklake.settings import load_settings

        paths = paths or Paths.resolve()
        settings = settings or load_settings(paths.config)
        from lakehouse.remote import refresh_index  # team lake: take its newer published index first

        refresh_index(paths)
        model = settings.learning.model
        if embedder is None:
            from learning.embeddings import get_embedder

            embedder = get_embedder(model)
        elif embedder.model_name != model:
            raise HooklakeError(f"embedder is '{embedder.model_name}' but [learning] model is '{model}'")
        return cls(paths, settings, embedder, _load_state(paths, settings, embedder))

    def copy(self) -> "Router":
        """A new router sharing the loaded model (cheap); reload it without touching this one."""
        return Router(self.paths, self.settings, self.embedder, self._state)

    def reload_if_changed(self) -> bool:
        """Load the index version named by CURRENT if it differs from the loaded one."""
        version = idx.current_version(self.paths.index)
        if version == self._state.get("version"):
            return False
        self._state = _load_state(self.paths, self.settings, self.embedder)
        return True

    @property
    def version(self) -> str | None:
        return self._state.get("version")

    @property
    def threshold(self) -> float:
        """Calibrated match threshold: a match at or above it is the right pattern with the target precision."""
        override = self.settings.learning.min_confidence
        return float(override) if override is not None else float(self._state["scorer"].threshold)

    @property
    def replay_threshold(self) -> float:
        """Least estimated replay success (relevance x success lower bound) at which ``route`` replays."""
        return float(self.settings.learning.min_replay_success)

    @property
    def pattern_count(self) -> int:
        pset = self._state.get("pset")
        return len(pset) if pset is not None else 0

    def info(self) -> dict[str, Any]:
        s = self._state
        return {"index_version": s.get("version"), "model": self.embedder.model_name, "patterns": self.pattern_count,
                "scorer": s["scorer"].kind, "threshold": self.threshold, "calibrated": s["scorer"].calibrated,
                "manifest": s.get("manifest")}

    # ---------------------------------------------------------------- matching
    def embed(self, text: str) -> np.ndarray:
        return self.embedder.encode_one(text)

    def _query(self, request: str, context: dict | None, vector: np.ndarray | None = None):
        vec = self.embed(request) if vector is None else vector
        clf = self._state["intent"]
        probs = clf.probabilities(vec[None, :], [request])[0]
        return make_query(request, vec, probs, context), probs

    def match(self, request: str, context: dict | None = None, k: int = 5, min_confidence: float | None = None,
              vector: np.ndarray | None = None) -> list[Match]:
        """Top ``k`` patterns for ``request``, best first; ``min_confidence`` filters (None: no filter)."""
        if not isinstance(request, str) or not request.strip():
            raise HooklakeError("the request to match is empty")
        q, _ = self._query(request, context, vector)
        return self._match_query(q, k, min_confidence)

    def _match_query(self, q, k: int, min_confidence: float | None) -> list[Match]:
        pset: PatternSet | None = self._state.get("pset")
        if pset is None or len(pset) == 0:
            return []
        scorer: Scorer = self._state["scorer"]
        best = retrieve(pset, q.vector[None, :], RETRIEVE_M)[0]
        out: list[Match] = []
        for cand, raw in rank(pset, q, best, scorer, CANDIDATES)[:k]:
            conf = scorer.confidence(raw)
            if min_confidence is not None and conf < min_confidence:
                continue
            row = pset.rows[cand.pattern]
            out.append(Match(
                pattern_id=row["pattern_id"], version=int(row.get("version") or 1), agent=row.get("agent") or "main",
                score=round(float(raw), 4), confidence=round(conf, 4),
                components={c: round(float(cand.features[c]), 4) for c in (*COMPONENTS, "margin")},
                explanation=explain(cand, pset, scorer, raw, conf), above_threshold=conf >= self.threshold,
                scorer=scorer.kind, intent=row.get("intent") or "", example_prompt=row.get("prompt_text") or "",
                agents=list(row.get("agents") or []), tools=list(row.get("tool_names") or []),
                endpoints=list(row.get("endpoint_paths") or []), trace_count=int(row.get("trace_count") or 0),
                status=row.get("status") or "active",
            ))
        return out

    # ---------------------------------------------------------------- routing
    def route(self, request: str, context: dict | None = None, *, log: bool = True,
              correlation_id: str | None = None, vector: np.ndarray | None = None) -> RouteDecision:
        t0 = time.perf_counter()
        context = dict(context or {})
        cid = correlation_id or context.get("correlation_id") or context.get("prompt_id") or str(uuid.uuid4())
        q, probs = self._query(request, context, vector)
        clf = self._state["intent"]
        j = int(np.argmax(probs))
        intent = {"intent": clf.names[j], "confidence": round(float(probs[j]), 4)}
        matches = self._match_query(q, ROUTE_CANDIDATES, None)
        scorer: Scorer = self._state["scorer"]
        override = self.settings.learning.min_confidence is not None
        chosen: Match | None = None
        choice: ReplayChoice | None = None
        if override:
            # [learning] min_confidence: the user's own bar on the best match's confidence.
            threshold = self.threshold
            if matches and matches[0].confidence >= threshold and matches[0].status == "active":
                chosen = matches[0]
        else:
            threshold = self.replay_threshold
            choice = self.replay_choice(matches)
            if choice is not None and choice.confidence >= threshold:
                chosen = choice.match
        alternatives = [{"agent": m.agent, "confidence": m.confidence, "pattern_id": m.pattern_id, "source": "learned_pattern"}
                        for m in matches if m is not chosen][:3]
        if chosen is not None:
            best = chosen
            row = self._state["pset"].rows[self._state["row_of"][best.pattern_id]]
            plan: ReplayPlan = plan_for(row)
            confidence, why = best.confidence, ""
            components = dict(best.components)
            if choice is not None:
                confidence = round(choice.confidence, 4)
                components.update({"match_confidence": best.confidence, "relevance": round(choice.relevance, 4),
                                   "success_lower_bound": round(choice.success_lb, 4)})
                why = (f"; replay chosen among {choice.considered} similar pattern(s) by success: "
                       f"{choice.successes} succeeded, {choice.failures} failed, lower bound {choice.success_lb:.2f}, "
                       f"relevance {choice.relevance:.2f} -> replay confidence {choice.confidence:.2f} >= {threshold:.2f}")
            decision = RouteDecision(
                agent=best.agent,
                confidence=confidence, strategy="learned_pattern", pattern_id=best.pattern_id,
                replay_plan=plan.as_dict(), components=components,
                explanation=f"learned pattern {best.pattern_id} v{best.version}: {best.explanation}{why}",
                correlation_id=cid, threshold=threshold, calibrated=scorer.calibrated, intent=intent,
                alternatives=alternatives, index_version=self.version,
            )
        else:
            decision = self._fallback(request, q.vector, context, cid, threshold, intent, alternatives, matches, choice)
        decision.latency_ms = round((time.perf_counter() - t0) * 1000, 3)
        if log:
            decision.logged = self._log(decision, request, context)
        return decision

    def replay_choice(self, matches: list[Match]) -> ReplayChoice | None:
        """The pattern worth replaying among ``matches``, with the evidence for it (None: none is similar).

        Considered: among the best few matches, active patterns at least as similar to the request
        as the learner requires of a trace joining a pattern (``[learning] similarity_threshold``),
        or whose calibrated confidence says they are more likely than not the request's path — the
        ways requests of this kind were handled before. Relevance is the calibrated probability
        that one of them is the request's path (their confidences summed, since at most one path is
        right; capped at 1 — the calibration is of the top match, so for the others it is an
        approximation). Among them the path with the best lower bound on its success wins: a path
        that succeeded 20 times out of 21 beats one that succeeded 3 times out of 10, whichever is
        the closer match.
        """
        floor = float(self.settings.learning.similarity_threshold)
        similar = [m for m in matches if m.status == "active"
                   and (m.components.get("semantic", 0.0) >= floor or m.confidence >= LIKELY_MATCH)]
        if not similar:
            return None
        rows = self._state["pset"].rows
        row_of = self._state["row_of"]
        relevance = min(1.0, sum(m.confidence for m in similar))
        # Evidence per execution path: similar patterns of one path are the same way of handling
        # this kind of request (split only because their prompts differ), so their counts add up.
        # Replays are traces too: their outcomes are in the trace counts already.
        paths: dict[str, list[Any]] = {}
        for m in similar:
            row = rows[row_of[m.pattern_id]] if m.pattern_id in row_of else {}
            key = row.get("path_key") or m.pattern_id
            entry = paths.setdefault(key, [m, 0, 0])
            entry[1] += int(row.get("trace_count") or 0)
            entry[2] += int(row.get("failed_trace_count") or 0)
        best: ReplayChoice | None = None
        for m, s, f in paths.values():
            lb = success_lower_bound(s, f)
            c = ReplayChoice(m, lb, relevance, relevance * lb, s, f, len(similar))
            if best is None or (lb, m.confidence) > (best.success_lb, best.match.confidence):
                best = c
        return best

    def _fallback(self, request, vec, context, cid, threshold, intent, alternatives, matches, choice=None) -> RouteDecision:
        agents = discover(context.get("cwd"))
        best_agent, best_sim, scored = DEFAULT_AGENT, 0.0, []
        if agents:
            mat = self._agent_vectors(agents)
            sims = mat @ vec
            from learning.text import keywords as kw

            qk = set(kw(request, limit=24))
            for a, s in zip(agents, sims):
                overlap = len(qk & set(kw(f"{a.name.replace('-', ' ')} {a.description}", limit=60))) / max(1, len(qk))
                scored.append((a, float(s) + 0.1 * overlap))
            scored.sort(key=lambda t: -t[1])
            if scored[0][1] >= FALLBACK_MIN_SIMILARITY:
                best_agent, best_sim = scored[0][0].name, scored[0][1]
        if choice is not None:
            why_not = (f"best replay {choice.match.pattern_id} ({choice.successes} succeeded, {choice.failures} failed) has "
                       f"replay confidence {choice.confidence:.2f} < threshold {threshold:.2f}")
        elif matches and self.settings.learning.min_confidence is None:
            why_not = (f"no learned pattern is similar enough (best {matches[0].pattern_id}: semantic "
                       f"{matches[0].components.get('semantic', 0.0):.2f} < {self.settings.learning.similarity_threshold:.2f})")
        elif matches:
            why_not = f"best learned match {matches[0].pattern_id} has confidence {matches[0].confidence:.2f} < threshold {threshold:.2f}"
        else:
            why_not = "no learned pattern is similar"
        if best_agent == DEFAULT_AGENT:
            how = f"no user agent fits (best similarity {scored[0][1]:.2f} < {FALLBACK_MIN_SIMILARITY})" if scored else "no .claude/agents definitions found"
        else:
            a = scored[0][0]
            how = f"agent '{a.name}' ({a.scope}: {a.path}) description similarity {best_sim:.2f}"
        alts = alternatives + [{"agent": a.name, "confidence": round(s, 4), "source": a.scope} for a, s in scored[1:4]]
        return RouteDecision(
            agent=best_agent, confidence=round(min(1.0, max(0.0, best_sim)), 4), strategy="fallback", pattern_id=None,
            replay_plan=None, components={"semantic": round(best_sim, 4)}, explanation=f"fallback: {why_not}; {how}",
            correlation_id=cid, threshold=threshold, calibrated=False, intent=intent, alternatives=alts,
            index_version=self.version,
        )

    def _agent_vectors(self, agents: list[AgentDef]) -> np.ndarray:
        rows = []
        missing = []
        for a in agents:
            try:
                key = (a.path + "\x1f" + a.name + "\x1f" + a.description, Path(a.path).stat().st_mtime)
            except OSError:
                key = (a.path + a.description, 0.0)
            if key not in self._agent_cache:
                missing.append((key, f"{a.name.replace('-', ' ')}: {a.description}"))
            rows.append(key)
        if missing:
            vecs = self.embedder.encode([m[1] for m in missing])
            for (key, _), v in zip(missing, vecs):
                self._agent_cache[key] = v
        return np.stack([self._agent_cache[k] for k in rows])

    def _log(self, d: RouteDecision, request: str, context: dict) -> bool:
        try:
            from hooks.spool import append_event
        except ImportError:
            return False
        comps = d.components
        plan = d.replay_plan or {}
        payload = {
            "hook_event_name": "routing_decision",
            "correlation_id": d.correlation_id,
            "root_id": context.get("root_id") or d.correlation_id,
            "parent_id": context.get("parent_id"),
            "execution_id": uuid.uuid4().hex,
            "session_id": context.get("session_id"),
            "cwd": context.get("cwd"),
            "selected_agent": d.agent,
            "strategy": d.strategy,
            "confidence": d.confidence,
            "confidence_components": comps,
            "trigger_confidence": comps.get("semantic"),
            "capability_confidence": comps.get("keyword"),
            "context_confidence": comps.get("context"),
            "historical_confidence": comps.get("historical"),
            "pattern_id": d.pattern_id,
            "pattern_version": plan.get("pattern_version"),
            "replay_plan": {"agents": plan.get("agents"), "tools": plan.get("tools")} if plan else None,
            "alternatives": d.alternatives,
            "reason": d.explanation,
            "threshold": d.threshold,
            "calibrated": d.calibrated,
            "intent": d.intent.get("intent"),
            "index_version": d.index_version,
            "duration_ms": d.latency_ms,
            "prompt": request,
            "status": "ok",
        }
        try:
            return bool(append_event(payload, "router", paths=self.paths))
        except Exception:  # logging must never break routing
            return False


def _load_state(paths, settings, embedder) -> dict[str, Any]:
    """Everything a router needs from the index version named by CURRENT (or an empty state)."""
    from learning.intent import DEFAULT_TAXONOMY, Intent, IntentClassifier, taxonomy_from_settings

    version = idx.current_version(paths.index)
    if version is None:
        taxonomy = taxonomy_from_settings(settings.learning.intents)
        return {"version": None, "pset": None, "scorer": Scorer("seed", threshold=0.85), "row_of": {},
                "intent": IntentClassifier.build(embedder, taxonomy), "manifest": None}
    folder = idx.version_dir(paths.index, version)
    manifest = idx.read_manifest(paths.index, version)
    idx.check_model(manifest, embedder.model_name, embedder.dimension, where=folder / idx.MANIFEST_FILE)
    import faiss
    import pyarrow.parquet as pq

    try:
        index = faiss.read_index(str(folder / idx.FAISS_FILE))
        idx.set_nprobe(index, int(manifest.get("nprobe") or settings.learning.nprobe))
        ex = np.load(folder / idx.EXEMPLARS_FILE)
        rows = pq.read_table(folder / idx.PATTERNS_FILE).to_pylist()
        calib = json.loads((folder / idx.CALIBRATION_FILE).read_text(encoding="utf-8"))
        taxonomy = tuple(Intent(i["name"], i["description"], tuple(i.get("keywords", ())), tuple(i.get("examples", ())))
                         for i in json.loads((folder / idx.INTENTS_FILE).read_text(encoding="utf-8")))
        desc = np.load(folder / idx.INTENT_VECTORS_FILE)
    except (OSError, ValueError, RuntimeError) as exc:
        raise HooklakeError(f"{folder}: index version '{version}' is incomplete or unreadable ({exc}); "
                            "run 'hooklake learn --full'") from exc
    examples = [embedder.encode(list(i.examples)) if i.examples else np.zeros((0, desc.shape[1]), np.float32) for i in taxonomy]
    clf = IntentClassifier(taxonomy or DEFAULT_TAXONOMY, desc, examples)
    from learning.patternset import from_rows

    pset = from_rows(rows, index, ex["ids"], ex["pattern"], len(taxonomy))
    return {"version": version, "pset": pset, "scorer": Scorer.from_dict(calib["scorer"]), "intent": clf,
            "row_of": {r["pattern_id"]: i for i, r in enumerate(rows)}, "manifest": manifest, "calibration": calib}


_DEFAULT: Router | None = None
_DEFAULT_LOCK = threading.Lock()


def default_router() -> Router:
    """A process-wide router (loaded on first use, reloaded when a new index is published)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Router.load()
        else:
            _DEFAULT.reload_if_changed()
        return _DEFAULT


def find_matching_patterns(request: str, context: dict | None = None, min_confidence: float | None = None, k: int = 5) -> list[Match]:
    """The seed's entry point: patterns matching ``request``, best first (see :meth:`Router.match`)."""
    return default_router().match(request, context, k=k, min_confidence=min_confidence)


def route(request: str, context: dict | None = None) -> RouteDecision:
    """The seed's entry point: learned pattern first, else the fallback router (see :meth:`Router.route`)."""
    return default_router().route(request, context)
