"""Patterns: search learned patterns by free text, see why they match, their replay plan and history."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dashboard import charts, common, similar

state = common.page_header("Patterns", "What worked before: execution paths of successful traces, grouped by similar "
                                       "requests, learned by `hooklake learn`.")
if common.empty_state(state):
    st.stop()
with st.spinner("Loading the pattern matcher…"):
    common.wait_for_warm_up("done")

with st.spinner("Loading learned patterns…"):
    patterns = common.try_query("learned", "success_patterns", what="learned patterns")
if patterns is None:
    st.stop()
if patterns.empty:
    st.info("No patterns learned yet. Run `hooklake learn` (the demo and quickstart run it for you).")
    st.stop()

active = patterns[patterns["status"].fillna("active") == "active"] if "status" in patterns else patterns
pruned = patterns[patterns["status"].fillna("active") != "active"] if "status" in patterns else patterns.head(0)
c = st.columns(4)
c[0].metric("Active patterns", f"{len(active):,}")
c[1].metric("Pruned / retired", f"{len(pruned):,}")
c[2].metric("Traces behind them", f"{int(patterns['trace_count'].fillna(0).sum()):,}" if "trace_count" in patterns else "–")
c[3].metric("Replays logged", f"{int(patterns['usage_count'].fillna(0).sum()):,}" if "usage_count" in patterns else "–")

st.subheader("Search")


def _plan_of(best: dict, decision: dict | None) -> dict | None:
    """The replay plan of the best match: the router's when it chose that pattern, else the seed's."""
    if decision and decision.get("pattern_id") == best.get("pattern_id") and decision.get("replay_plan"):
        return decision["replay_plan"]
    best_row = patterns[patterns["pattern_id"].astype(str) == str(best.get("pattern_id"))]
    return similar.replay_plan(best_row.iloc[0].to_dict()) if not best_row.empty else None


@st.fragment
def search_panel() -> None:
    """Typing a request reruns only this panel (not the table, map and charts below): one query
    embedding with the router loaded once per server process (see dashboard.similar).

    The answer is drawn with few elements (the browser redraws each on every search); the replay
    plan is computed and drawn only when its expander is opened."""
    text = st.text_input("Describe a request", placeholder="e.g. fix the flaky tests in the importer", key="p_search")
    if not text:
        return
    started = time.perf_counter()
    try:
        if similar.router_ready():
            matches, decision = similar.search(text, k=10)
        else:
            with st.spinner("Loading the pattern matcher…"):
                matches, decision = similar.search(text, k=10)
    except similar.NoIndex as exc:
        st.info(f"Pattern search needs the index: {exc}.")
        return
    st.caption(f"{len(matches)} matches for “{text[:120]}” ({(time.perf_counter() - started) * 1000:.0f} ms)")
    lines = []
    if decision:
        lines.append(f"**Router decision:** `{decision.get('agent')}` via **{decision.get('strategy')}**, confidence "
                     f"{float(decision.get('confidence') or 0):.2f}"
                     + (f" (pattern `{decision.get('pattern_id')}`)" if decision.get("pattern_id") else ""))
    best = matches[0] if matches else None
    if best is not None:
        lines.append(f"**Why `{best.get('pattern_id')}` matches:** {best.get('explanation') or '–'}")
    if lines:
        st.markdown("\n\n".join(lines))
    if best is None:
        st.info("No learned pattern matches this request.")
        return
    rows = []
    for m in matches:
        comp = m.get("components") or {}
        rows.append({"pattern_id": m.get("pattern_id"), "agent": m.get("agent"),
                     "confidence": m.get("confidence"), "score": m.get("score"),
                     **{f"{k}": comp.get(k) for k in ("semantic", "keyword", "intent", "context", "historical")},
                     "explanation": m.get("explanation")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"confidence": common.score_column("confidence"),
                                "explanation": st.column_config.TextColumn(width="large")})
    best_id = str(best.get("pattern_id"))
    plan = st.expander(f"Replay plan of {best_id}", key=f"p_plan_{best_id}", on_change="rerun")
    if plan.open:
        steps = _plan_of(best, decision)
        if steps:
            plan.json(steps)
        else:
            plan.caption("No replay plan for this pattern.")
    if st.query_params.get("pattern") != best_id:
        if st.button(f"Open pattern {best_id}", key="p_open_best"):
            st.query_params["pattern"] = best_id
            st.rerun(scope="app")


search_panel()

st.subheader("Learned patterns")
shown_cols = [c for c in ("pattern_id", "version", "agent", "intent", "prompt_text", "trace_count", "historical_success",
                          "success_rate", "usage_count", "avg_duration_ms", "tool_names", "endpoint_paths", "last_seen_at")
              if c in active]
active = active.sort_values(["trace_count", "historical_success"], ascending=False) if "trace_count" in active else active


def _open_selected() -> None:
    state = st.session_state.get("pattern_table")
    rows = state.selection.rows if state is not None else []
    if rows:
        st.query_params["pattern"] = str(active.iloc[rows[0]]["pattern_id"])


st.dataframe(active[shown_cols], hide_index=True, width="stretch", height=320, key="pattern_table",
             on_select=_open_selected, selection_mode="single-row",
             column_config={"prompt_text": st.column_config.TextColumn("representative prompt", width="large"),
                            "historical_success": common.score_column("historical success")})

pattern_id = st.query_params.get("pattern")
if pattern_id:
    row = patterns[patterns["pattern_id"].astype(str) == pattern_id]
    if row.empty:
        st.warning(f"No pattern `{pattern_id}` in the current index.")
    else:
        p = row.iloc[0]
        st.markdown(f"#### Pattern `{pattern_id}` (v{p.get('version', '?')}, {p.get('status', 'active')})")
        st.markdown("> " + str(p.get("prompt_text") or ""))
        m = st.columns(4)
        m[0].metric("Traces", common.fmt_int(p.get("trace_count")))
        m[1].metric("Historical success", f"{float(p['historical_success']):.2f}"
                    if pd.notna(p.get("historical_success")) else "–")
        m[2].metric("Avg duration", common.fmt_ms(p.get("avg_duration_ms")))
        m[3].metric("Replays", common.fmt_int(p.get("usage_count")))
        path = {k: (list(p[k]) if p.get(k) is not None and not isinstance(p.get(k), str) else p.get(k))
                for k in ("agent", "agents", "intent", "keywords", "tool_names", "endpoint_paths", "hook_types")
                if k in p.index}
        st.json(path, expanded=False)
        plan = similar.replay_plan(p.to_dict())
        if plan:
            with st.expander("Replay plan (what the router hands to the agent when this pattern matches)"):
                st.json(plan)
        usage = common.try_query("learned", "pattern_usage", what="pattern usage log")
        if usage is not None and not usage.empty and "pattern_id" in usage:
            mine = usage[usage["pattern_id"].astype(str) == pattern_id]
            if mine.empty:
                st.caption("No replays of this pattern logged yet.")
            else:
                by_day = mine.assign(bucket=pd.to_datetime(mine["created_at"], utc=True).dt.floor("D"),
                                     ok=mine["success"].astype("float"))
                by_day = by_day.groupby("bucket", as_index=False).agg(uses=("ok", "size"), success_rate=("ok", "mean"))
                left, right = st.columns(2)
                left.altair_chart(charts.trend(by_day, "uses", "Replays per day", mark="bar"), width="stretch")
                right.altair_chart(charts.trend(by_day, "success_rate", "Replay success", fmt="%"), width="stretch")
                st.dataframe(mine, hide_index=True, width="stretch")
        ids = p.get("source_trace_ids")
        if ids is not None and len(ids):
            st.markdown("**Source traces:** " + " ".join(f"[`{t[:8]}`](/traces?trace={t})" for t in list(ids)[:12]))

st.subheader("Pattern map")
color = st.segmented_control("Colour by", ["agent", "historical_success", "intent"], default="agent", key="p_color")
with st.spinner("Projecting pattern embeddings…"):
    try:
        points = similar.pattern_points(active)
    except similar.NoIndex as exc:
        points = None
        st.info(f"The map needs the index: {exc}.")
if points is not None and not points.empty:
    st.altair_chart(charts.pattern_map(points, color or "agent"), width="stretch")
    st.caption("Each dot is a pattern; nearby dots have similar request texts (PCA of the MiniLM embeddings). "
               "Size = traces behind the pattern.")
elif points is not None:
    st.info("Not enough patterns for a map (at least 3 are needed).")

left, right = st.columns(2)
with left:
    st.subheader("Agent chains")
    chains = common.try_query("learned", "chaining_patterns", what="agent chaining patterns")
    if chains is not None:
        if chains.empty:
            st.caption("None learned yet.")
        else:
            st.dataframe(chains, hide_index=True, width="stretch")
with right:
    st.subheader("Pruned patterns")
    if pruned.empty:
        st.caption("No pattern has been pruned: none keeps failing when replayed.")
    else:
        cols = [c for c in ("pattern_id", "version", "status", "prompt_text", "usage_count", "failure_count") if c in pruned]
        st.dataframe(pruned[cols], hide_index=True, width="stretch")
