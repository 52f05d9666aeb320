"""Errors: normalised error templates with counts, trend, samples and what they hit."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, common

state = common.page_header("Errors", "Failures of tools, endpoints, hooks, subagents and the API, grouped by message "
                                     "template (numbers, paths and ids stripped).")
if common.empty_state(state):
    st.stop()
filters = common.filters()

with st.spinner("Grouping errors…"):
    trend = common.try_query("error_trend", filters, what="error trend")
    groups = common.try_query("error_groups", filters, limit=100, what="error groups")

if trend is not None and not trend.empty:
    bucket = filters.bucket()
    st.altair_chart(charts.trend(trend, "errors", f"Errors per {bucket} by source", bucket=bucket, color="source_kind",
                                 mark="bar"), width="stretch")
if groups is not None:
    if groups.empty:
        common.no_rows("errors")
    else:
        view = groups.copy()
        for col in ("agents", "tools", "endpoints"):
            if col in view:
                view[col] = view[col].map(common.join_list)
        st.dataframe(view.drop(columns=[c for c in ("sample_traces",) if c in view]), hide_index=True,
                     width="stretch", height=360,
                     column_config={"error_template": st.column_config.TextColumn("template", width="large"),
                                    "sample_message": st.column_config.TextColumn("sample", width="medium")})
        template = st.selectbox("Show samples of", groups["error_template"].tolist(), key="e_template",
                                format_func=lambda t: (t or "")[:120])
        if template:
            samples = common.try_query("error_samples", template, what="error samples")
            if samples is not None:
                samples = samples.copy()
                samples["open"] = samples["correlation_id"].map(common.trace_link)
                st.dataframe(samples, hide_index=True, width="stretch",
                             column_order=["open", "occurred_at", "source_kind", "agent_type", "tool_name", "service",
                                           "endpoint", "error_message", "correlation_id"],
                             column_config={"open": st.column_config.LinkColumn("trace", display_text="open"),
                                            "error_message": st.column_config.TextColumn(width="large")})

st.subheader("Learned error patterns")
learned = common.try_query("learned", "error_patterns", what="learned error patterns")
if learned is not None:
    if learned.empty:
        st.info("No error patterns learned yet: run `hooklake learn`.")
    else:
        st.dataframe(learned, hide_index=True, width="stretch")
