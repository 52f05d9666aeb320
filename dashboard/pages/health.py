"""Health: is capture working and is the lake up to date?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, common, lakeinfo

state = common.page_header("Health", "Capture, spool and ingest: is everything Claude Code does reaching the lake?")
info = lakeinfo.home_info(common.paths())

c = st.columns(5)
lag = info.ingest_lag_s
c[0].metric("Ingest lag", "up to date" if lag is not None and lag < 1 and not info.pending_spool_bytes
            else ("–" if lag is None else common.fmt_ms(lag * 1000)),
            help="Newest spool write minus newest lake file. Run `hooklake ingest` to catch up.")
c[1].metric("Spool", lakeinfo.human_bytes(info.spool.bytes), help=f"{info.spool.files} files in {common.paths().spool}")
c[2].metric("Not yet ingested", lakeinfo.human_bytes(info.pending_spool_bytes))
c[3].metric("Quarantined lines", f"{info.quarantined_lines:,}",
            help=f"Lines ingest could not read, kept with the reason in {common.paths().quarantine}")
c[4].metric("Capture errors", f"{info.capture_error_lines:,}", help=str(common.paths().capture_errors))

if info.kill_switch:
    st.warning("Capture is switched OFF (kill switch file or HOOKLAKE_DISABLED): hooks record nothing. "
               f"Remove `{common.paths().kill_switch}` to resume.")
if info.pending_spool_bytes:
    st.info(f"{lakeinfo.human_bytes(info.pending_spool_bytes)} of captured events are waiting: run `hooklake ingest`.")
if state.error is None and state.events == 0 and not info.spool.bytes:
    st.markdown(common.EMPTY_LAKE_HELP)

if info.capture_error_tail:
    with st.expander(f"Last capture errors ({info.capture_error_lines:,} lines)"):
        st.code("\n".join(info.capture_error_tail), language=None)

if state.events:
    filters = common.filters()
    with st.spinner("Counting events…"):
        counts = common.try_query("health_event_counts", filters, what="event counts")
        names = common.try_query("health_event_names", what="event names")
    if counts is not None and not counts.empty:
        st.altair_chart(charts.trend(counts, "events", "Events per day by producer", color="source", mark="bar"),
                        width="stretch")
    if names is not None and not names.empty:
        st.subheader("Event names")
        st.caption("Every hook event name and SDK kind in the lake. Names this version does not know are kept with "
                   "kind `other`.")
        st.dataframe(names, hide_index=True, width="stretch")

st.subheader("Completeness")
st.caption("`hooklake doctor`: per session, what each capture source (hooks, transcripts, telemetry) missed.")
with st.spinner("Reconciling sessions…"):
    report = common.doctor_report()
if report is None:
    st.info("The completeness report needs `hooklake doctor` (ingest.doctor), which this installation lacks.")
else:
    problems = report.get("problems") or []
    if not problems:
        st.success("No capture gaps found.")
    for problem in problems:
        st.markdown(f"- {problem}")
    sessions = pd.DataFrame(report.get("sessions") or [])
    if not sessions.empty and "problems" in sessions:
        gaps = sessions[sessions["problems"].map(len) > 0].copy()
        if not gaps.empty:
            gaps["problems"] = gaps["problems"].map(lambda p: "; ".join(p))
            cols = [c for c in ("session_id", "first_seen", "last_seen", "hook_events", "problems") if c in gaps]
            st.dataframe(gaps[cols], hide_index=True, width="stretch",
                         column_config={"problems": st.column_config.TextColumn(width="large")})
