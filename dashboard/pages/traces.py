"""Traces: a searchable table; opening one shows its waterfall, routing, success criteria, raw events.

The table and the open trace form one fragment: opening a row (its Open button, or selecting the
row) reruns only that part, not the page, the sidebar and the search. The trace panel draws its
header and waterfall first; the other tabs (success criteria, routing, raw events, similar traces)
are computed when opened.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard import charts, common, similar, tracedata

#: The lakehouse's success criteria columns of execution_traces (each a boolean).
KNOWN_CRITERIA = ("completed", "no_errors", "hooks_succeeded", "quality_gates_passed",
                  "within_performance_thresholds", "no_timeouts", "intelligence_gathered", "user_confirmation")

state = common.page_header("Traces", "One row per user prompt. Open a row (or paste an id) to see its trace.")
if common.empty_state(state):
    st.stop()
filters = common.filters()



def _open_typed() -> None:
    typed = str(st.session_state.get("t_open") or "").strip()
    if typed:
        st.query_params["trace"] = typed


c1, c2, c3, c4 = st.columns([3, 1.1, 0.8, 2.4])
search = c1.text_input("Search", placeholder="words of the prompt, an error, a correlation or session id", key="t_search")
status = c2.selectbox("Status", ["any", "success", "error", "interrupted", "timeout", "in_progress"], key="t_status")
limit = c3.selectbox("Rows", [100, 500, 2000], index=1, key="t_limit")
c4.text_input("Open trace by correlation id", key="t_open", on_change=_open_typed,
              placeholder="paste a correlation id and press Enter")

with st.spinner("Searching traces…"):
    table = common.try_query("traces", filters, search=search or None,
                             status=None if status == "any" else status, limit=int(limit), what="traces")
if table is None:
    st.stop()

TABS = ["Timeline", "Success criteria", "Routing", "Raw events", "Similar traces"]


def _open_clicked() -> None:
    """The row's "Open" button opens that trace."""
    click = st.session_state.get("trace_open_click")
    if click is not None and click["row"] is not None:
        st.query_params["trace"] = str(table.iloc[int(click["row"])]["correlation_id"])


def _open_selected() -> None:
    """A row click opens that trace (only on a change of selection, so a typed id is not undone)."""
    selected = st.session_state.get("trace_table")
    rows = selected.selection.rows if selected is not None else []
    if rows:
        st.query_params["trace"] = str(table.iloc[rows[0]]["correlation_id"])


def trace_table(view: pd.DataFrame) -> None:
    if view.empty:
        common.no_rows()
        return
    st.caption(f"{len(view):,} traces shown (newest first; click a column header to sort). **Open** (or select) a "
               "row to see its trace.")
    st.dataframe(
        view,
        key="trace_table",
        on_select=_open_selected,
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        height=390,
        column_order=["open", "started_at", "prompt_text", "status", "success_score", "duration_ms", "tool_calls",
                      "tool_failures", "subagents", "agents", "cwd", "correlation_id"],
        column_config={
            # A button opens the trace at once; a row selection waits for the grid's selection debounce.
            "open": st.column_config.ButtonColumn("", type="tertiary", width="small", pinned=True,
                                                  on_click=_open_clicked, key="trace_open_click"),
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


def trace_panel(trace_id: str) -> None:
    """The open trace: header, headline numbers, and its tabs (only the open one is computed).

    Drawn with as few elements as it takes: the browser redraws each one when the panel changes."""
    with st.spinner("Assembling the trace…"):
        try:
            trace = tracedata.view(trace_id)
        except common.QueryUnavailable as exc:
            common.unavailable("trace detail", exc.reason)
            return
    summary = trace.summary
    if not summary:
        st.warning(f"No trace with correlation id `{trace_id}` in this lake.")
        return

    st.subheader("Trace " + trace_id[:13] + ("…" if len(trace_id) > 13 else ""), divider="gray")
    st.markdown("> " + (str(summary.get("prompt_text") or "(no prompt recorded)")[:600]).replace("\n", "\n> "))
    with st.container(horizontal=True, gap="medium"):
        st.metric("Status", str(summary.get("status") or "?"))
        st.metric("Score", f"{summary['success_score']:.2f}" if summary.get("success_score") is not None else "–")
        st.metric("Duration", common.fmt_ms(summary.get("duration_ms")))
        st.metric("Tool calls", common.fmt_int(summary.get("tool_calls")))
        st.metric("Tool failures", common.fmt_int(summary.get("tool_failures")))
        st.metric("Subagents", common.fmt_int(summary.get("subagents")))
    st.caption(f"correlation id `{trace_id}` · session `{summary.get('session_id')}` · project `{summary.get('cwd')}` "
               f"· started {summary.get('started_at')} · source {summary.get('source')}")

    # One tab set per trace (its key names the trace): a newly opened trace starts on its timeline.
    # Only the open tab is computed and drawn; switching tabs reruns this fragment.
    tab_time, tab_success, tab_route, tab_events, tab_similar = st.tabs(
        TABS, key=f"trace_tab_{trace_id}", on_change="rerun")
    if tab_time.open:
        with tab_time:
            timeline_tab(trace)
    if tab_success.open:
        with tab_success:
            success_tab(summary)
    if tab_route.open:
        with tab_route:
            routing_tab(trace, summary)
    if tab_events.open:
        with tab_events:
            events_tab(trace)
    if tab_similar.open:
        with tab_similar:
            similar_tab(trace_id, summary)


def timeline_tab(trace: tracedata.TraceView) -> None:
    spec = charts.waterfall(trace.spans, trace.hook_events)
    if spec is None:
        st.info("This trace has no tool, endpoint or subagent spans (a text-only answer).")
    else:
        st.vega_lite_chart(spec, width="stretch", alt=f"Waterfall of trace {trace.correlation_id}")
        st.caption("Bars: tool calls (blue), MCP/endpoint calls (purple), subagent runs (orange); a red outline marks "
                   "a failure. Rows prefixed with dots run inside a subagent (one dot per nesting level). Grey ticks "
                   "are hook events.")
    if not trace.spans.empty:
        spans = st.expander(f"The {len(trace.spans):,} spans as a table", key=f"spans_{trace.correlation_id}",
                            on_change="rerun")
        if spans.open:
            spans.dataframe(
                trace.spans[["started_at", "depth", "category", "label", "duration_ms", "status", "error_message"]],
                hide_index=True, width="stretch",
                column_config={"duration_ms": st.column_config.NumberColumn("duration ms", format="%.0f")})


def success_tab(summary: dict) -> None:
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


def routing_tab(trace: tracedata.TraceView, summary: dict) -> None:
    with st.spinner("Reading routing decisions…"):
        routing = tracedata.routing(trace)
    if routing is None:
        st.info("No routing view in this lake.")
    elif routing.empty:
        st.info("No routing decision recorded for this trace.")
    else:
        st.dataframe(routing, hide_index=True, width="stretch")
    agents = summary.get("agents")
    if agents is not None and len(agents):
        st.markdown("**Delegated to:** " + " → ".join(f"`{a}`" for a in agents))


def events_tab(trace: tracedata.TraceView) -> None:
    with st.spinner("Reading the trace's events…"):
        events = tracedata.events(trace)
    st.caption(f"{len(events):,} events (payloads are redacted at ingest).")
    st.dataframe(events.drop(columns=["payload"]), hide_index=True, width="stretch", height=300)
    if not events.empty:
        idx = st.number_input("Show payload of event #", min_value=0, max_value=len(events) - 1, value=0, step=1,
                              key=f"payload_{trace.correlation_id}")
        try:
            st.json(json.loads(events.iloc[int(idx)]["payload"] or "{}"), expanded=True)
        except (TypeError, ValueError):
            st.code(str(events.iloc[int(idx)]["payload"]))


def similar_tab(trace_id: str, summary: dict) -> None:
    # On demand: matching loads the embedding model (seconds, once per server), which opening a
    # trace should not wait for.
    if st.button("Find similar traces", key=f"similar_{trace_id}",
                 help="Match this prompt against the learned patterns and list the traces behind them."):
        st.session_state["similar_for"] = trace_id
    if st.session_state.get("similar_for") == trace_id:
        similar.render_similar(str(summary.get("prompt_text") or ""), exclude=trace_id)


@st.fragment
def explorer(view: pd.DataFrame) -> None:
    """The table and the open trace: an Open click, a row selection or a tab switch reruns only this."""
    trace_table(view)
    trace_id = st.query_params.get("trace")
    if trace_id:
        trace_panel(trace_id)


shown = table.copy()
shown["prompt_text"] = shown["prompt_text"].fillna("").str.slice(0, 140)
shown.insert(0, "open", ":material/open_in_new: Open")
explorer(shown)

# The listed traces at a glance, below the table and the open trace (so drawing it never moves the
# rows under the pointer), outside the fragment (drawn once per search, not on every open). Its
# metrics and chart also bring the browser's code for them in with the page, so the first trace
# opened draws as fast as the next ones.
scatter = charts.trace_scatter(table)
if scatter is not None:
    st.markdown("**The listed traces at a glance**")
    durations = pd.to_numeric(table["duration_ms"], errors="coerce")
    with st.container(horizontal=True, gap="medium"):
        st.metric("Listed", common.fmt_int(len(table)))
        st.metric("Succeeded", common.fmt_pct((table["status"] == "success").mean()))
        st.metric("p50 duration", common.fmt_ms(durations.median()))
        st.metric("p95 duration", common.fmt_ms(durations.quantile(0.95)))
    st.vega_lite_chart(scatter, width="stretch", alt="Listed traces over time")
    st.caption("Each dot is a listed trace: when it started, how long it took (log scale), its status.")
