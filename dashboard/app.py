"""hooklake workbench: ``hooklake dashboard`` runs this file with Streamlit (through
``dashboard.serve``, which warms the caches the first visitor needs).

The pages live in ``dashboard/pages/``; every page gets the sidebar filters and the "last
ingested" indicator from here, then calls the query functions of ``lakehouse.queries`` (no SQL
in pages).
"""

from __future__ import annotations

import streamlit as st

from dashboard import common

st.set_page_config(page_title="hooklake", page_icon=":material/water:", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
    st.Page("pages/traces.py", title="Traces", icon=":material/timeline:", url_path="traces"),
    st.Page("pages/agents.py", title="Agents", icon=":material/smart_toy:", url_path="agents"),
    st.Page("pages/hooks_tools.py", title="Hooks & tools", icon=":material/build:", url_path="hooks_tools"),
    st.Page("pages/endpoints.py", title="Endpoints", icon=":material/hub:", url_path="endpoints"),
    st.Page("pages/errors.py", title="Errors", icon=":material/error:", url_path="errors"),
    st.Page("pages/patterns.py", title="Patterns", icon=":material/auto_awesome:", url_path="patterns"),
    st.Page("pages/health.py", title="Health", icon=":material/health_and_safety:", url_path="health"),
]

page = st.navigation(PAGES)
common.wait_for_warm_up("imports")
with st.spinner("Opening the lake (the first time after an ingest this brings the lakehouse rollup up to date)…"):
    state = common.lake_state()
st.session_state["lake_state"] = state
common.sidebar(state)
page.run()
