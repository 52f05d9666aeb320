"""Pattern extraction: successful traces with the same execution path and similar prompts
become ONE pattern, with counts, a duration profile, keywords, intent and source trace ids.

Grouping is leader clustering in time order within each path: a trace joins the closest existing
cluster of its path when the cosine to that cluster's centroid reaches ``similarity_threshold``,
otherwise it starts a new cluster. Processing in time order makes the result stable as the lake
grows: earlier traces are grouped the same way on every run, so a pattern keeps its id (derived
from its path and first trace) and only gains members — which gives it a new version.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from learning.text import keywords as extract_keywords
from learning.text import short_hash, strip_values, parse_json


@dataclass
class Cluster:
    path_key: str
    members: list[int] = field(default_factory=list)
    """Row numbers (into the successful-trace frame), in time order."""
    total: np.ndarray | None = None
    failed: list[int] = field(default_factory=list)
    """Row numbers into the failed-trace frame attributed to this cluster."""

    @property
    def centroid(self) -> np.ndarray:
        c = self.total
        n = float(np.linalg.norm(c))
        return c / n if n > 0 else c


def cluster_traces(path_keys: list[str], vectors: np.ndarray, threshold: float) -> list[Cluster]:
    """Leader clustering within each path; ``path_keys``/``vectors`` are in time order."""
    by_path: dict[str, list[int]] = {}
    for i, key in enumerate(path_keys):
        by_path.setdefault(key, []).append(i)
    clusters: list[Cluster] = []
    for key, rows in by_path.items():
        local: list[Cluster] = []
        cents = np.zeros((0, vectors.shape[1]), dtype=np.float32)
        for i in rows:
            v = vectors[i]
            if len(local):
                sims = cents @ v
                j = int(sims.argmax())
                if sims[j] >= threshold:
                    c = local[j]
                    c.members.append(i)
                    c.total = c.total + v
                    cents[j] = c.centroid
                    continue
            c = Cluster(key, [i], v.astype(np.float32).copy())
            local.append(c)
            cents = np.vstack([cents, c.centroid[None, :]])
        clusters.extend(local)
    return clusters


def attribute_failures(clusters: list[Cluster], failed_keys: list[str], failed_vectors: np.ndarray, threshold: float) -> None:
    """Give each failed trace to the closest cluster of its path (if similar enough)."""
    by_path: dict[str, list[int]] = {}
    for ci, c in enumerate(clusters):
        by_path.setdefault(c.path_key, []).append(ci)
    cents = {ci: clusters[ci].centroid for ci in range(len(clusters))}
    for fi, key in enumerate(failed_keys):
        cand = by_path.get(key)
        if not cand:
            continue
        sims = np.array([cents[ci] @ failed_vectors[fi] for ci in cand])
        j = int(sims.argmax())
        if sims[j] >= threshold:
            clusters[cand[j]].failed.append(fi)


def pattern_id_for(cluster: Cluster, ok: pl.DataFrame) -> str:
    first = ok["correlation_id"][cluster.members[0]]
    return "pat_" + short_hash(cluster.path_key, first, n=12)


def _rle(seq: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in seq:
        if out and out[-1]["hook_type"] == item:
            out[-1]["count"] += 1
        else:
            out.append({"hook_type": item, "count": 1})
    return out


def endpoint_profiles(tool_calls: pl.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """correlation_id -> endpoint -> {method, request_template, durations} from MCP tool calls."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if tool_calls.height == 0 or "mcp_server" not in tool_calls.columns:
        return out
    calls = tool_calls.filter(pl.col("mcp_server").is_not_null())
    for row in calls.iter_rows(named=True):
        ep = f"{row['mcp_server']}/{row.get('mcp_tool')}"
        slot = out.setdefault(row["correlation_id"], {}).setdefault(
            ep, {"method": "MCP", "request_template": None, "durations": [], "errors": 0}
        )
        if slot["request_template"] is None and row.get("tool_input") is not None:
            slot["request_template"] = strip_values(parse_json(row["tool_input"]))
        if row.get("duration_ms") is not None:
            slot["durations"].append(float(row["duration_ms"]))
        if row.get("status") == "error":
            slot["errors"] += 1
    return out


def build_pattern_rows(
    clusters: list[Cluster],
    ok: pl.DataFrame,
    failed: pl.DataFrame,
    vectors: np.ndarray,
    intent_probs: np.ndarray,
    intent_names: list[str],
    endpoint_info: dict[str, dict[str, dict[str, Any]]],
    model_name: str,
    max_source_ids: int = 100,
) -> list[dict[str, Any]]:
    """One dict per cluster with every learned_patterns column except versioning/usage fields."""
    rows: list[dict[str, Any]] = []
    prompts = ok["prompt_text"].to_list()
    corr = ok["correlation_id"].to_list()
    durations = ok["duration_ms"].to_numpy()
    started = ok["started_at"].to_list()
    for c in clusters:
        m = c.members
        centroid = c.centroid
        sims = vectors[m] @ centroid
        order = [m[i] for i in np.argsort(-sims, kind="stable")]
        rep = order[0]
        examples: list[str] = []
        for i in order:
            if prompts[i] not in examples:
                examples.append(prompts[i])
            if len(examples) >= 5:
                break
        kw = Counter()
        for i in m:
            kw.update(set(extract_keywords(prompts[i], limit=24)))
        keywords = [w for w, _ in kw.most_common(24)]
        probs = intent_probs[m].mean(axis=0)
        j = int(probs.argmax())
        d = durations[m].astype(float)
        d = d[~np.isnan(d)] if d.size else d
        rep_row = ok.row(rep, named=True)
        member_rows = ok[m]
        cwds = sorted({x for x in member_rows["cwd"].to_list() if x})
        sources = sorted({x for x in member_rows["source"].to_list() if x})
        tags = sorted({t for ts in member_rows["tags"].to_list() for t in (ts or [])})
        eps: list[dict[str, Any]] = []
        for ep in rep_row["endpoints"] or []:
            durs = [x for i in m for x in endpoint_info.get(corr[i], {}).get(ep, {}).get("durations", [])]
            info = endpoint_info.get(corr[rep], {}).get(ep, {})
            service, _, endpoint = ep.partition("/")
            eps.append({
                "service": service, "endpoint": endpoint, "method": info.get("method", "MCP"),
                "request_template": info.get("request_template"), "expected_response_schema": None,
                "typical_duration_ms": float(np.median(durs)) if durs else None,
            })
        agents = list(rep_row["agents"] or [])
        strategy = "delegated" if agents else "direct"
        score = member_rows["success_score"].drop_nulls()
        itok = member_rows["input_tokens"].drop_nulls()
        otok = member_rows["output_tokens"].drop_nulls()
        row = {
            "path_key": c.path_key,
            "pattern_id": pattern_id_for(c, ok),
            "source_correlation_id": corr[rep],
            "prompt_text": prompts[rep],
            "prompt_examples": examples,
            "intent": intent_names[j],
            "intent_confidence": float(intent_probs[m, j].mean()),
            "intent_distribution": probs.astype(np.float32),
            "keywords": keywords,
            "agent": agents[0] if agents else "main",
            "agents": agents,
            "routing_strategy": strategy,
            "hook_types": list(rep_row["hook_types"] or []),
            "tool_names": list(rep_row["tools"] or []),
            "endpoint_paths": list(rep_row["endpoints"] or []),
            "hook_sequence": json.dumps(_rle(list(rep_row["hook_sequence"] or []))),
            "endpoint_pattern": json.dumps(eps),
            "context": json.dumps({"cwds": cwds, "sources": sources}),
            "cwds": cwds,
            "tags": tags,
            "trace_count": len(m),
            "failed_trace_count": len(c.failed),
            "success_score": float(score.mean()) if score.len() else None,
            "avg_duration_ms": float(d.mean()) if d.size else None,
            "min_duration_ms": float(d.min()) if d.size else None,
            "max_duration_ms": float(d.max()) if d.size else None,
            "p50_duration_ms": float(np.median(d)) if d.size else None,
            "avg_tool_calls": float(member_rows["tool_calls"].mean() or 0.0),
            "avg_hook_count": float(member_rows["hook_count"].mean() or 0.0),
            "avg_endpoint_count": float(member_rows["endpoint_count"].mean() or 0.0),
            "avg_subagents": float(member_rows["subagents"].mean() or 0.0),
            "avg_input_tokens": float(itok.mean()) if itok.len() else None,
            "avg_output_tokens": float(otok.mean()) if otok.len() else None,
            "source_trace_ids": [corr[i] for i in m][-max_source_ids:],
            "member_rows": m,
            "embedding_model": model_name,
            "first_seen_at": started[m[0]],
            "last_seen_at": started[m[-1]],
        }
        row["content_hash"] = short_hash(
            row["path_key"], row["trace_count"], row["failed_trace_count"], row["keywords"][:12], row["intent"],
            row["prompt_text"], row["endpoint_pattern"], row["hook_sequence"],
        )
        rows.append(row)
    return rows


def historical(trace_successes: int, trace_failures: int, replay_successes: int, replay_uses: int) -> float:
    """Posterior mean success with a uniform prior: (s+1)/(n+2) over source traces and replays."""
    s = trace_successes + replay_successes
    n = trace_successes + trace_failures + replay_uses
    return (s + 1.0) / (n + 2.0)
