"""Hooks & tools: hook_performance_summary, tool latency percentiles, failure rates over time."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, common

state = common.page_header("Hooks & tools", "Every hook event and tool call: how often, how slow, how often it fails.")
if common.empty_state(state):
    st.stop()
filters = common.filters()

with st.spinner("Aggregating tool calls…"):
    stats = common.try_query("tool_stats", filters, what="tool statistics")
    trend = common.try_query("tool_trend", filters, what="tool trends")

st.subheader("Tools")
if stats is not None:
    if stats.empty:
        common.no_rows("tool calls")
    else:
        left, right = st.columns(2)
        left.altair_chart(charts.percentiles(stats, "tool_name", "Latency percentiles (top tools by calls)"),
                          width="stretch")
        right.altair_chart(charts.rate_bars(stats[stats["calls"] >= 3], "tool_name", "failure_rate", "calls",
                                            "Failure rate (tools with at least 3 calls)"), width="stretch")
        st.dataframe(stats, hide_index=True, width="stretch",
                     column_config={"failure_rate": common.rate_column("failure rate"),
                                    **{c: st.column_config.NumberColumn(c.replace("_ms", " ms"), format="%.0f")
                                       for c in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}})
if trend is not None and not trend.empty:
    bucket = filters.bucket()
    top = stats["tool_name"].head(6).tolist() if stats is not None else []
    shown = trend[trend["tool_name"].isin(top)] if top else trend
    left, right = st.columns(2)
    left.altair_chart(charts.trend(shown, "failure_rate", "Failure rate over time (top 6 tools)", fmt="%",
                                   bucket=bucket, color="tool_name"), width="stretch")
    right.altair_chart(charts.trend(shown, "p95_ms", "p95 latency over time (ms, log scale)", bucket=bucket,
                                    color="tool_name", log=True), width="stretch")

st.subheader("Hooks")
st.caption("Claude Code's own hook events are counted (it does not time them); your hooks run through "
           "`hooklake run` are timed, with failures, time-outs and blocked tool calls.")
with st.spinner("Aggregating hook executions…"):
    hooks = common.try_query("hook_stats", filters, what="hook statistics")
    htrend = common.try_query("hook_trend", filters, what="hook trends")
if hooks is not None:
    if hooks.empty:
        common.no_rows("hook executions")
    else:
        timed = hooks[(hooks["hook_type"] != "capture") & hooks["p50_ms"].notna()]
        if not timed.empty:
            left, right = st.columns(2)
            left.altair_chart(charts.percentiles(timed, "hook_name", "Timed hooks: latency percentiles"),
                              width="stretch")
            right.altair_chart(charts.rate_bars(timed, "hook_name", "failure_rate", "executions",
                                                "Timed hooks: failure rate (errors and time-outs)"), width="stretch")
        st.dataframe(hooks.sort_values(["hook_type", "executions"], ascending=[False, False]), hide_index=True,
                     width="stretch",
                     column_config={"failure_rate": common.rate_column("failure rate"),
                                    **{c: st.column_config.NumberColumn(c.replace("_ms", " ms"), format="%.0f")
                                       for c in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}})
if htrend is not None and not htrend.empty:
    bucket = filters.bucket()
    left, right = st.columns(2)
    left.altair_chart(charts.trend(htrend, "p95_ms", "Timed hooks: p95 latency over time (ms, log scale)",
                                   bucket=bucket, color="hook_name", log=True), width="stretch")
    right.altair_chart(charts.trend(htrend, "failure_rate", "Timed hooks: failure rate over time", fmt="%",
                                    bucket=bucket, color="hook_name"), width="stretch")

with st.expander("hook_performance_summary (the seed design's view, whole lake)"):
    seed = common.try_query("seed_view", "hook_performance_summary", what="hook_performance_summary")
    if seed is not None:
        st.dataframe(seed, hide_index=True, width="stretch")

with st.expander("tool_performance (the lakehouse's per-tool view, whole lake)"):
    perf = common.try_query("seed_view", "tool_performance", what="tool_performance")
    if perf is not None:
        st.dataframe(perf, hide_index=True, width="stretch")
