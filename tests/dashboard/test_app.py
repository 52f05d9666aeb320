"""Every page of the workbench under Streamlit's AppTest: on an empty lake and on a demo lake."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import dashboard

APP = str(Path(dashboard.__file__).with_name("app.py"))
PAGES = {
    "overview": "pages/overview.py",
    "traces": "pages/traces.py",
    "agents": "pages/agents.py",
    "hooks_tools": "pages/hooks_tools.py",
    "endpoints": "pages/endpoints.py",
    "errors": "pages/errors.py",
    "patterns": "pages/patterns.py",
    "health": "pages/health.py",
}
TIMEOUT = 60


def run_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "overview":
        at.switch_page(PAGES[page]).run()
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [t.value for t in at.title] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def waterfalls(at: AppTest) -> list:
    """The trace waterfall charts on the page (the Traces page also charts the listed traces)."""
    return [c for c in at.get("vega_lite_chart") if "milliseconds since the prompt" in c.proto.spec]


def assert_clean(at: AppTest) -> None:
    """No exception and no error box other than a trace's failed success criteria."""
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error if not e.value.startswith("Failed criteria")]
    assert not errors, errors


# --------------------------------------------------------------------------------------
# Empty lake: every page says what to run
# --------------------------------------------------------------------------------------


def test_empty_lake_pages_say_what_to_run() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert "Last ingested:** never" in "\n".join(c.value for c in at.sidebar.caption)
    for page, path in PAGES.items():
        if page != "overview":
            at.switch_page(path).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page == "health":
            continue
        body = texts(at)
        assert "hooklake demo" in body, page
        assert "hooklake install --project ." in body, page
        assert "hooklake ingest" in body, page


def test_empty_lake_health_page_shows_zeroes_and_what_to_run() -> None:
    at = run_page("health")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Quarantined lines"] == "0"
    assert metrics["Capture errors"] == "0"
    assert "hooklake demo" in texts(at)


# --------------------------------------------------------------------------------------
# Demo lake
# --------------------------------------------------------------------------------------


def test_overview_numbers_match_the_dataset(lake_home) -> None:
    at = run_page("overview")
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    # every prompt of the dataset is one root trace
    assert metrics["Traces"] == f"{lake_home.demo['event_counts']['UserPromptSubmit']:,}"
    assert metrics["Success rate"].endswith("%")
    assert metrics["p95 duration"] != "–"
    assert metrics["Cost"].startswith("$")  # the demo's api_response events carry cost
    assert len(at.get("vega_lite_chart")) >= 4  # the four trend charts
    assert "Worst right now" in texts(at)


def test_project_filter_narrows_the_overview(lake_home) -> None:
    at = run_page("overview")
    total = int(next(m.value for m in at.metric if m.label == "Traces").replace(",", ""))
    assert "/home/dev/src/infra" in at.sidebar.selectbox(key="f_project").options
    # AppTest re-runs only the page script of an st.navigation app, so the sidebar filter is set
    # through its widget key before the first run (what a user's pick does in the browser).
    narrowed_app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    narrowed_app.session_state["f_project"] = "/home/dev/src/infra"
    narrowed_app.run()
    assert_clean(narrowed_app)
    assert narrowed_app.session_state["filters"].project == "/home/dev/src/infra"
    narrowed = int(next(m.value for m in narrowed_app.metric if m.label == "Traces").replace(",", ""))
    assert 0 < narrowed < total


def test_traces_table_search_and_trace_detail(lake_home) -> None:
    at = run_page("traces")
    assert_clean(at)
    assert not waterfalls(at)  # no trace open yet
    assert any('"seconds"' in c.proto.spec for c in at.get("vega_lite_chart"))  # the listed traces, charted
    table = at.dataframe[0].value
    assert len(table) > 10
    assert {"correlation_id", "prompt_text", "status", "duration_ms"} <= set(table.columns)
    # search narrows to prompts containing the words
    at.text_input(key="t_search").input("unit tests").run()
    found = at.dataframe[0].value
    assert 0 < len(found) < len(table)
    assert found["prompt_text"].str.contains("unit tests", case=False).all()


def test_trace_detail_shows_waterfall_criteria_and_raw_events(lake_home) -> None:
    import lakehouse
    from lakehouse import queries

    con = lakehouse.connect()
    rows = queries.traces(con, queries.Filters(), limit=2000)
    # a trace with a subagent and a failed tool: the richest panel
    pick = rows[(rows["subagents"] > 0) & (rows["tool_failures"] > 0)].iloc[0]
    at = run_page("traces", {"trace": pick["correlation_id"]})
    assert_clean(at)
    assert any(s.value.startswith("Trace ") for s in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tool failures"] == str(int(pick["tool_failures"]))
    assert waterfalls(at), "the waterfall chart is missing"
    assert pick["correlation_id"] in texts(at)  # the full id is on the panel, not just its prefix
    # only the open tab is computed: the raw events table is not drawn with the timeline
    assert not any("event_name" in df.value.columns for df in at.dataframe)
    tabs = f"trace_tab_{pick['correlation_id']}"
    at.session_state[tabs] = "Success criteria"
    at.run()
    assert_clean(at)
    body = texts(at)
    assert "Failed criteria" in "\n".join(e.value for e in at.get("alert")) or "no_errors" in body \
        or any("no_errors" in str(df.value) for df in at.dataframe)
    at.session_state[tabs] = "Routing"
    at.run()
    assert_clean(at)
    assert "Delegated to:" in texts(at)  # the trace delegated to a subagent
    # raw events table lists the trace's hook events, payload shown as JSON
    at.session_state[tabs] = "Raw events"
    at.run()
    assert_clean(at)
    assert any("event_name" in df.value.columns for df in at.dataframe)
    assert at.json, "raw payload JSON is missing"
    # "Similar traces" matches the prompt against the learned patterns on demand
    if lake_home.learned:
        at.session_state[tabs] = "Similar traces"
        at.run()
        at.button(key=f"similar_{pick['correlation_id']}").click().run()
        assert_clean(at)
        assert any("confidence" in m.value and "pat_" in m.value for m in at.markdown), \
            [i.value for i in at.info]


def test_opening_another_trace_starts_on_its_timeline(lake_home) -> None:
    import lakehouse
    from lakehouse import queries

    con = lakehouse.connect()
    first, second = queries.traces(con, queries.Filters(), limit=2)["correlation_id"]
    at = run_page("traces", {"trace": first})
    at.session_state[f"trace_tab_{first}"] = "Raw events"
    at.run()
    assert any("event_name" in df.value.columns for df in at.dataframe)
    at.text_input(key="t_open").input(second).run()
    assert_clean(at)
    assert at.query_params["trace"] == [second] or at.query_params["trace"] == second
    assert second in texts(at)
    assert waterfalls(at), "the new trace opens on its waterfall"
    assert not any("event_name" in df.value.columns for df in at.dataframe)


def test_unknown_trace_id_says_so(lake_home) -> None:
    at = run_page("traces", {"trace": "no-such-trace"})
    assert_clean(at)
    assert any("No trace with correlation id" in w.value for w in at.warning)


def test_agents_page_lists_subagent_types(lake_home) -> None:
    at = run_page("agents")
    assert_clean(at)
    agents = set(at.dataframe[0].value["agent_type"])
    assert {"test-runner", "code-reviewer"} & agents
    assert len(at.get("vega_lite_chart")) >= 2


def test_hooks_tools_page_times_wrapped_hooks(lake_home) -> None:
    at = run_page("hooks_tools")
    assert_clean(at)
    frames = [df.value for df in at.dataframe]
    tools = next(f for f in frames if "tool_name" in f.columns and "calls" in f.columns)
    assert {"Read", "Bash", "mcp__postgres__query"} <= set(tools["tool_name"])
    hooks = next(f for f in frames if "hook_name" in f.columns and "executions" in f.columns)
    timed = hooks[hooks["p50_ms"].notna()]
    assert {"guard-commands", "quality-gate"} <= set(timed["hook_name"])


def test_endpoints_page_shows_mcp_servers(lake_home) -> None:
    at = run_page("endpoints")
    assert_clean(at)
    endpoints = set(at.dataframe[0].value["endpoint_path"])
    assert "postgres/query" in endpoints and "github/create_pull_request" in endpoints


def test_errors_page_groups_templates_with_samples(lake_home) -> None:
    at = run_page("errors")
    assert_clean(at)
    groups = at.dataframe[0].value
    assert len(groups) >= 3 and groups["occurrences"].is_monotonic_decreasing
    # the sample table of the selected template links to traces
    assert any("open" in df.value.columns for df in at.dataframe)


def test_health_page_on_demo_lake(lake_home) -> None:
    at = run_page("health")
    assert_clean(at)
    names = next(df.value for df in at.dataframe if "event_name" in df.value.columns)
    assert {"UserPromptSubmit", "PreToolUse", "hook_execution"} <= set(names["event_name"])
    assert {m.label: m.value for m in at.metric}["Not yet ingested"] == "0 B"


def test_patterns_page_search_and_open_pattern(lake_home) -> None:
    if not lake_home.learned:
        pytest.fail(f"the learning job did not run on the fixture lake: {lake_home.learn_error}")
    at = run_page("patterns")
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Active patterns"].replace(",", "")) > 0
    at.text_input(key="p_search").input("write unit tests for the checkout flow").run()
    assert_clean(at)
    matches = next(df.value for df in at.dataframe if "semantic" in df.value.columns)
    assert len(matches) > 0 and matches["confidence"].between(0, 1).all()
    assert any("Router decision" in m.value for m in at.markdown)
    pattern_id = str(matches.iloc[0]["pattern_id"])
    at2 = run_page("patterns", {"pattern": pattern_id})
    assert_clean(at2)
    assert any(f"Pattern `{pattern_id}`" in m.value for m in at2.markdown)
    assert len(at2.get("vega_lite_chart")) >= 1  # the embedding map
