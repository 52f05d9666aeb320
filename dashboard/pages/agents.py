"""Agents: the seed's agent_success_rates, and per-subagent error rates and durations over time."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, common

state = common.page_header("Agents", "Subagents Claude Code delegated to (the Agent / Task tool), and how they fare.")
if common.empty_state(state):
    st.stop()
filters = common.filters()

with st.spinner("Aggregating subagent runs…"):
    stats = common.try_query("agent_stats", filters, what="subagent statistics")
    trend = common.try_query("agent_trend", filters, what="subagent trends")

if stats is not None:
    if stats.empty:
        common.no_rows("subagent runs")
    else:
        left, right = st.columns(2)
        left.altair_chart(charts.rate_bars(stats, "agent_type", "error_rate", "runs", "Error rate by agent"), width="stretch")
        right.altair_chart(charts.percentiles(stats, "agent_type", "Run duration percentiles",
                                              cols=("p50_ms", "p95_ms")), width="stretch")
        st.dataframe(stats, hide_index=True, width="stretch",
                     column_config={"error_rate": common.rate_column("error rate"),
                                    "p50_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
                                    "p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f")})
if trend is not None and not trend.empty:
    bucket = filters.bucket()
    left, right = st.columns(2)
    left.altair_chart(charts.trend(trend, "runs", f"Runs per {bucket}", bucket=bucket, color="agent_type"), width="stretch")
    right.altair_chart(charts.trend(trend, "error_rate", "Failure rate over time", fmt="%", bucket=bucket,
                                    color="agent_type"), width="stretch")

st.subheader("agent_success_rates")
st.caption("The seed design's view, as the lakehouse computes it over the whole lake (not filtered).")
with st.spinner("Loading agent_success_rates…"):
    seed = common.try_query("seed_view", "agent_success_rates", what="agent_success_rates")
if seed is not None:
    st.dataframe(seed, hide_index=True, width="stretch")

st.subheader("Agent chains")
st.caption("Sequences of delegated subagents learned by `hooklake learn`.")
chains = common.try_query("learned", "chaining_patterns", what="agent chaining patterns")
if chains is not None:
    if chains.empty:
        st.info("No chaining patterns learned yet: run `hooklake learn`.")
    else:
        st.dataframe(chains, hide_index=True, width="stretch")
