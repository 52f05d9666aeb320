"""Traces: a searchable table; selecting one opens its waterfall, routing, success criteria, raw events."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard import charts, common, similar

#: The lakehouse's success criteria columns of execution_traces (each a boolean).
KNOWN_CRITERIA = ("completed", "no_errors", "hooks_succeeded", "quality_gates_passed",
                  "within_performance_thresholds", "no_timeouts", "intelligence_gathered", "user_confirmation")

state = common.page_header("Traces", "One row per user prompt. Select a row (or paste an id) to open the trace.")
if common.empty_state(state):
    st.stop()
filters = common.filters()

c1, c2, c3 = st.columns([4, 1.3, 1])
search = c1.text_input("Search", placeholder="words of the prompt, an error, a correlation or session id", key="t_search")
status = c2.selectbox("Status", ["any", "success", "error", "interrupted", "timeout", "in_progress"], key="t_status")
limit = c3.selectbox("Rows", [100, 500, 2000], index=1, key="t_limit")

with st.spinner("Searching traces…"):
    table = common.try_query("traces", filters, search=search or None,
                             status=None if status == "any" else status, limit=int(limit), what="traces")
if table is None:
    st.stop()
if table.empty:
    common.no_rows()
else:
    st.caption(f"{len(table):,} traces shown (newest first; click a column header to sort).")
    view = table.copy()
    view["prompt_text"] = view["prompt_text"].fillna("").str.slice(0, 140)

    def _open_selected() -> None:
        """A row click opens that trace (only on a change of selection, so a typed id is not undone)."""
        state = st.session_state.get("trace_table")
        rows = state.selection.rows if state is not None else []
        if rows:
            st.query_params["trace"] = str(table.iloc[rows[0]]["correlation_id"])

    st.dataframe(
        view,
        key="trace_table",
        on_select=_open_selected,
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        height=390,
        column_order=["started_at", "prompt_text", "status", "success_score", "duration_ms", "tool_calls",
                      "tool_failures", "subagents", "agents", "cwd", "correlation_id"],
        column_config={
            "started_at": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm:ss"),
            "prompt_text": st.column_config.TextColumn("prompt", width="large"),
            "success_score": common.score_column("score"),
            "duration_ms": st.column_config.NumberColumn("duration ms", format="%.0f"),
            "tool_calls": st.column_config.NumberColumn("tools"),
            "tool_failures": st.column_config.NumberColumn("failed"),
            "cwd": st.column_config.TextColumn("project"),
            "correlation_id": st.column_config.TextColumn("correlation id"),
        },
    )


def _open_typed() -> None:
    typed = str(st.session_state.get("t_open") or "").strip()
    if typed:
        st.query_params["trace"] = typed


st.text_input("Open trace by correlation id", key="t_open", on_change=_open_typed,
              placeholder="paste a correlation id (prompt_id) and press Enter")
trace_id = st.query_params.get("trace")
if not trace_id:
    st.stop()

st.divider()
with st.spinner("Assembling the trace…"):
    try:
        detail = common.query("trace_detail", trace_id)
    except common.QueryUnavailable as exc:
        common.unavailable("trace detail", exc.reason)
        st.stop()
summary = detail.summary
if not summary:
    st.warning(f"No trace with correlation id `{trace_id}` in this lake.")
    st.stop()

st.subheader("Trace " + trace_id[:13] + ("…" if len(trace_id) > 13 else ""))
st.markdown("> " + (str(summary.get("prompt_text") or "(no prompt recorded)")[:600]).replace("\n", "\n> "))
m = st.columns(6)
m[0].metric("Status", str(summary.get("status") or "?"))
m[1].metric("Score", f"{summary['success_score']:.2f}" if summary.get("success_score") is not None else "–")
m[2].metric("Duration", common.fmt_ms(summary.get("duration_ms")))
m[3].metric("Tool calls", common.fmt_int(summary.get("tool_calls")))
m[4].metric("Tool failures", common.fmt_int(summary.get("tool_failures")))
m[5].metric("Subagents", common.fmt_int(summary.get("subagents")))
st.caption(f"session `{summary.get('session_id')}` · project `{summary.get('cwd')}` · started "
           f"{summary.get('started_at')} · source {summary.get('source')}")

tab_time, tab_success, tab_route, tab_events, tab_similar = st.tabs(
    ["Timeline", "Success criteria", "Routing", "Raw events", "Similar traces"])

with tab_time:
    chart = charts.waterfall(detail.spans, detail.events)
    if chart is None:
        st.info("This trace has no tool, endpoint or subagent spans (a text-only answer).")
    else:
        st.altair_chart(chart, width="stretch")
        st.caption("Bars: tool calls (blue), MCP/endpoint calls (purple), subagent runs (orange); a red outline marks "
                   "a failure. Rows prefixed with dots run inside a subagent (one dot per nesting level). Grey ticks "
                   "are hook events.")
    if not detail.spans.empty:
        st.dataframe(detail.spans[["started_at", "depth", "category", "label", "duration_ms", "status", "error_message"]],
                     hide_index=True, width="stretch",
                     column_config={"duration_ms": st.column_config.NumberColumn("duration ms", format="%.0f")})

with tab_success:
    criteria = {k: bool(summary[k]) for k in KNOWN_CRITERIA if summary.get(k) is not None}
    verdict = "succeeded" if summary.get("success") else "did not succeed"
    st.markdown(f"This trace **{verdict}** (score {summary.get('success_score', '–')}).")
    if criteria:
        frame = pd.DataFrame({"criterion": list(criteria), "passed": list(criteria.values())})
        failed = frame[~frame["passed"]]["criterion"].tolist()
        if failed:
            st.error("Failed criteria: " + ", ".join(f"`{c}`" for c in failed))
        st.dataframe(frame, hide_index=True, width="stretch")
    else:
        st.info("The lakehouse has not published per-criterion columns for this lake.")
    if summary.get("error_message"):
        st.markdown("**Error**")
        st.code(str(summary["error_message"])[:4000], language=None)
    with st.expander("All trace columns"):
        st.json({k: (str(v) if not isinstance(v, (int, float, str, bool, type(None))) else v)
                 for k, v in summary.items()}, expanded=False)

with tab_route:
    if detail.routing is None:
        st.info("No routing view in this lake.")
    elif detail.routing.empty:
        st.info("No routing decision recorded for this trace.")
    else:
        st.dataframe(detail.routing, hide_index=True, width="stretch")
    agents = summary.get("agents")
    if agents is not None and len(agents):
        st.markdown("**Delegated to:** " + " → ".join(f"`{a}`" for a in agents))

with tab_events:
    events = detail.events
    st.caption(f"{len(events):,} events (payloads are redacted at ingest).")
    st.dataframe(events.drop(columns=["payload"]), hide_index=True, width="stretch", height=300)
    if not events.empty:
        idx = st.number_input("Show payload of event #", min_value=0, max_value=len(events) - 1, value=0, step=1)
        try:
            st.json(json.loads(events.iloc[int(idx)]["payload"] or "{}"), expanded=True)
        except (TypeError, ValueError):
            st.code(str(events.iloc[int(idx)]["payload"]))

with tab_similar:
    # On demand: matching loads the embedding model (seconds, once per server), which opening a
    # trace should not wait for.
    if st.button("Find similar traces", key=f"similar_{trace_id}",
                 help="Match this prompt against the learned patterns and list the traces behind them."):
        st.session_state["similar_for"] = trace_id
    if st.session_state.get("similar_for") == trace_id:
        similar.render_similar(str(summary.get("prompt_text") or ""), exclude=trace_id)
