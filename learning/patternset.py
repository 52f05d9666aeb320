"""Building an in-memory :class:`~learning.matcher.PatternSet` from clusters or pattern rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from learning.matcher import PatternSet
from learning.patterns import Cluster, historical, pattern_id_for
from learning.text import keywords as extract_keywords
from learning.text import stable_int64


class FlatSearcher:
    """Exact inner-product search with int64 ids (FAISS IndexIDMap2 over IndexFlatIP)."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray):
        import faiss

        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def search(self, q: np.ndarray, m: int):
        return self.index.search(q, m)


def exemplars(pattern_ids: list[str], members: list[list[int]], hashes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids sorted, pattern row per id, member row per id): one exemplar per distinct prompt per pattern."""
    ids, pats, rows = [], [], []
    for p, (pid, mem) in enumerate(zip(pattern_ids, members)):
        seen: set[str] = set()
        for i in mem:
            h = hashes[i]
            if h in seen:
                continue
            seen.add(h)
            ids.append(stable_int64(h, pid))
            pats.append(p)
            rows.append(i)
    ids_a = np.array(ids, dtype=np.int64)
    order = np.argsort(ids_a, kind="stable")
    return ids_a[order], np.array(pats, dtype=np.int64)[order], np.array(rows, dtype=np.int64)[order]


def from_clusters(
    clusters: list[Cluster], ok, vectors: np.ndarray, intent_probs: np.ndarray, hashes: list[str],
) -> PatternSet:
    """A light pattern set for evaluation folds (no replay data)."""
    prompts = ok["prompt_text"].to_list()
    cwd = ok["cwd"].to_list()
    agents_col = ok["agents"].to_list()
    pids, keys, agents, kws, dists, cwds, hist, members = [], [], [], [], [], [], [], []
    for c in clusters:
        pids.append(pattern_id_for(c, ok))
        keys.append(c.path_key)
        a = agents_col[c.members[0]] or []
        agents.append(a[0] if a else "main")
        from collections import Counter

        cnt = Counter()
        for i in c.members:
            cnt.update(set(extract_keywords(prompts[i], limit=24)))
        kws.append(frozenset(w for w, _ in cnt.most_common(24)))
        dists.append(intent_probs[c.members].mean(axis=0))
        cwds.append(frozenset(x for x in (cwd[i] for i in c.members) if x))
        hist.append(historical(len(c.members), len(c.failed), 0, 0))
        members.append(c.members)
    ex_ids, ex_pat, ex_rows = exemplars(pids, members, hashes)
    searcher = FlatSearcher(vectors[ex_rows] if len(ex_rows) else np.zeros((0, vectors.shape[1]), np.float32), ex_ids)
    k = intent_probs.shape[1]
    return PatternSet(
        pattern_ids=pids, path_keys=keys, agents=agents, keywords=kws,
        intent_dist=np.array(dists, dtype=np.float32).reshape(-1, k), cwds=cwds,
        historical=np.array(hist, dtype=np.float64), active=np.ones(len(pids), dtype=bool),
        ex_ids=ex_ids, ex_pattern=ex_pat, searcher=searcher,
    )


def from_rows(rows: list[dict[str, Any]], searcher: Any, ex_ids: np.ndarray, ex_pattern: np.ndarray, n_intents: int) -> PatternSet:
    """The serving pattern set from published rows and a loaded index."""
    return PatternSet(
        pattern_ids=[r["pattern_id"] for r in rows],
        path_keys=[r["path_key"] for r in rows],
        agents=[r["agent"] for r in rows],
        keywords=[frozenset(r.get("keywords") or []) for r in rows],
        intent_dist=np.array([r["intent_distribution"] for r in rows], dtype=np.float32).reshape(-1, n_intents),
        cwds=[frozenset(r.get("cwds") or []) for r in rows],
        historical=np.array([r["historical_success"] for r in rows], dtype=np.float64),
        active=np.array([r.get("status", "active") == "active" for r in rows], dtype=bool),
        ex_ids=ex_ids, ex_pattern=ex_pattern, searcher=searcher, rows=rows,
    )
