"""Overview: headline numbers, trends over time, and what is worst right now."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, common
from lakehouse.queries import worst

state = common.page_header("Overview", "Every Claude Code request as one trace: how many, how well, how fast.")
if common.empty_state(state):
    st.stop()
filters = common.filters()

with st.spinner("Summarising traces…"):
    kpis = common.try_query("overview_kpis", filters, what="trace summary")
if kpis is None:
    st.stop()
if not kpis.get("traces"):
    common.no_rows()
    st.stop()

# One row of six metrics in a horizontal container (not six columns): fewer elements for the
# browser to draw on the first paint.
row = st.container(horizontal=True, gap="medium")
row.metric("Traces", common.fmt_int(kpis.get("traces")),
           help=f"{common.fmt_int(kpis.get('sessions'))} sessions in {common.fmt_int(kpis.get('projects'))} projects")
row.metric("Success rate", common.fmt_pct(kpis.get("success_rate")))
row.metric("p50 duration", common.fmt_ms(kpis.get("p50_duration_ms")))
row.metric("p95 duration", common.fmt_ms(kpis.get("p95_duration_ms")))
row.metric("Tool failure rate", common.fmt_pct(kpis.get("tool_failure_rate")),
           help=f"{common.fmt_int(kpis.get('tool_failures'))} of {common.fmt_int(kpis.get('tool_calls'))} tool calls")
tokens = (kpis.get("input_tokens") or 0) + (kpis.get("output_tokens") or 0)
if kpis.get("cost_usd"):
    row.metric("Cost", f"${kpis['cost_usd']:,.2f}", help=f"{tokens:,.0f} tokens")
elif tokens:
    row.metric("Tokens", f"{tokens:,.0f}")
else:
    row.metric("Tokens / cost", "–", help="Claude Code hooks do not report tokens; import transcripts "
               "(`hooklake import`) or send OTLP to see them.")


def _worst(frame, key: str, rate: str, volume: str, label: str) -> None:
    if frame is None:
        return
    top = worst(frame, rate, volume)
    if top.empty:
        st.caption("Nothing failing.")
        return
    st.dataframe(top[[key, volume, rate, "p95_ms"]], hide_index=True, width="stretch",
                 column_config={key: st.column_config.TextColumn(label),
                                rate: common.rate_column("failure rate"),
                                "p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f")})


def details() -> None:
    """Trends and the "worst right now" rankings (charts and tables)."""
    with st.spinner("Computing trends…"):
        trend = common.try_query("overview_trend", filters, what="trends")
    if trend is not None and not trend.empty:
        bucket = filters.bucket()
        left, right = st.columns(2)
        left.altair_chart(charts.trend(trend, "traces", f"Traces per {bucket}", bucket=bucket, mark="bar"),
                          width="stretch")
        right.altair_chart(charts.trend(trend, "success_rate", "Success rate", fmt="%", bucket=bucket),
                           width="stretch")
        left, right = st.columns(2)
        durations = trend.melt(id_vars=["bucket"], value_vars=["p50_duration_ms", "p95_duration_ms"],
                               var_name="percentile", value_name="ms")
        durations["percentile"] = durations["percentile"].str.replace("_duration_ms", "", regex=False)
        durations["seconds"] = durations["ms"] / 1000.0
        left.altair_chart(charts.trend(durations, "seconds", "Trace duration (seconds)", bucket=bucket,
                                       color="percentile", fmt=",.1f"), width="stretch")
        right.altair_chart(charts.trend(trend, "tool_failure_rate", "Tool failure rate", fmt="%", bucket=bucket),
                           width="stretch")

    st.subheader("Worst right now")
    recent = common.worst_window(filters, state)
    st.caption("Highest failure rates over the last 7 days of data (within the filters), at least 3 calls each.")
    with st.spinner("Ranking agents, hooks, tools and endpoints…"):
        agents = common.try_query("agent_stats", recent, what="agent statistics")
        hooks = common.try_query("hook_stats", recent, what="hook statistics")
        tools = common.try_query("tool_stats", recent, what="tool statistics")
        endpoints = common.try_query("endpoint_stats", recent, what="endpoint statistics")
    a, b = st.columns(2)
    with a:
        st.markdown("**Agents** (subagent runs that failed)")
        _worst(agents, "agent_type", "error_rate", "runs", "agent")
    with b:
        st.markdown("**Hooks** (errors and time-outs)")
        _worst(hooks, "hook_name", "failure_rate", "executions", "hook")
    a, b = st.columns(2)
    with a:
        st.markdown("**Tools**")
        _worst(tools, "tool_name", "failure_rate", "calls", "tool")
    with b:
        st.markdown("**Endpoints** (MCP servers and services)")
        _worst(endpoints, "endpoint_path", "error_rate", "calls", "endpoint")


if st.context.headers.get("User-Agent") and not st.session_state.get("overview_details_shown"):
    # A browser session's first visit: the headline numbers paint first. The browser loads the chart
    # and table code (about a megabyte of JavaScript) only when the first chart arrives, and until it
    # has, it shows nothing of the page; so the trends and rankings follow in a second run, started
    # by the browser a moment after it has painted the numbers. Later visits render everything at once.
    # (A session without a browser, such as Streamlit's AppTest, renders everything in one run.)
    @st.fragment(run_every=0.4)
    def _details_next() -> None:
        if st.session_state.get("overview_details_due"):
            st.session_state["overview_details_shown"] = True
            st.rerun(scope="app")
        st.session_state["overview_details_due"] = True
        st.caption("Loading trends and rankings…")

    _details_next()
else:
    details()
