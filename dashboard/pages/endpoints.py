"""Endpoints: MCP servers' tools and instrumented HTTP services — reliability and latency."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, common

state = common.page_header("Endpoints", "Calls to backend services: MCP tools (mcp__server__tool) and SDK-instrumented "
                                        "HTTP endpoints.")
if common.empty_state(state):
    st.stop()
filters = common.filters()

with st.spinner("Aggregating endpoint calls…"):
    stats = common.try_query("endpoint_stats", filters, what="endpoint statistics")
    trend = common.try_query("endpoint_trend", filters, what="endpoint trends")

if stats is not None:
    if stats.empty:
        common.no_rows("endpoint calls")
    else:
        left, right = st.columns(2)
        left.altair_chart(charts.percentiles(stats, "endpoint_path", "Latency percentiles"), width="stretch")
        right.altair_chart(charts.rate_bars(stats, "endpoint_path", "error_rate", "calls", "Error rate"),
                           width="stretch")
        st.dataframe(stats, hide_index=True, width="stretch",
                     column_config={"error_rate": common.rate_column("error rate"),
                                    **{c: st.column_config.NumberColumn(c.replace("_ms", " ms"), format="%.0f")
                                       for c in ("p50_ms", "p95_ms", "p99_ms")}})
if trend is not None and not trend.empty:
    bucket = filters.bucket()
    top = stats["endpoint_path"].head(6).tolist() if stats is not None else []
    shown = trend[trend["endpoint_path"].isin(top)] if top else trend
    left, right = st.columns(2)
    left.altair_chart(charts.trend(shown, "error_rate", "Error rate over time (top 6 endpoints)", fmt="%",
                                   bucket=bucket, color="endpoint_path"), width="stretch")
    right.altair_chart(charts.trend(shown, "p95_ms", "p95 latency over time (ms, log scale)", bucket=bucket,
                                    color="endpoint_path", log=True), width="stretch")

st.subheader("endpoint_reliability")
st.caption("The seed design's view, as the lakehouse computes it over the whole lake (not filtered).")
seed = common.try_query("seed_view", "endpoint_reliability", what="endpoint_reliability")
if seed is not None:
    st.dataframe(seed, hide_index=True, width="stretch")
