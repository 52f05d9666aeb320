"""The query functions behind the pages: every .sql runs on an empty lake and answers correctly
on the demo lake (checked against the generated dataset, not just row counts)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

import lakehouse
from lakehouse import queries as q

PAGE_QUERIES = {
    "lake_status": lambda con, f: q.lake_status(con),
    "filter_options": lambda con, f: q.filter_options(con),
    "overview_kpis": q.overview_kpis,
    "overview_trend": q.overview_trend,
    "traces": lambda con, f: q.traces(con, f, search="x"),
    "trace_detail": lambda con, f: q.trace_detail(con, "no-such-trace"),
    "agent_stats": q.agent_stats,
    "agent_trend": q.agent_trend,
    "tool_stats": q.tool_stats,
    "tool_trend": q.tool_trend,
    "endpoint_stats": q.endpoint_stats,
    "endpoint_trend": q.endpoint_trend,
    "hook_stats": q.hook_stats,
    "hook_trend": q.hook_trend,
    "error_groups": q.error_groups,
    "error_trend": q.error_trend,
    "error_samples": lambda con, f: q.error_samples(con, "x"),
    "health_event_counts": q.health_event_counts,
    "health_event_names": lambda con, f: q.health_event_names(con),
    **{f"seed_{v}": (lambda v: lambda con, f: q.seed_view(con, v))(v)
       for v in ("agent_success_rates", "hook_performance_summary", "endpoint_reliability", "tool_performance",
                 "session_summary")},
    **{f"learned_{t}": (lambda t: lambda con, f: q.learned(con, t))(t)
       for t in ("success_patterns", "pattern_usage", "chaining_patterns", "error_patterns")},
}


def test_every_sql_file_is_used_by_a_query_function() -> None:
    used = {"lake_status", "filter_options", "overview_kpis", "overview_trend", "traces_list", "trace_routing",
            "agent_stats", "agent_trend", "tool_stats",
            "tool_trend", "endpoint_stats", "endpoint_trend", "hook_stats", "hook_trend", "error_groups",
            "error_trend", "error_samples", "health_event_counts", "health_event_names"}
    used |= {f"seed_{v}" for v in ("agent_success_rates", "hook_performance_summary", "endpoint_reliability",
                                   "tool_performance", "session_summary")}
    used |= {f"learned_{t}" for t in ("success_patterns", "pattern_usage", "chaining_patterns", "error_patterns")}
    assert set(q.query_names()) == used


@pytest.mark.parametrize("name", sorted(PAGE_QUERIES))
def test_queries_run_on_an_empty_lake(name: str) -> None:
    con = lakehouse.connect()
    result = PAGE_QUERIES[name](con, q.Filters())
    if isinstance(result, pd.DataFrame):
        assert result.empty
    elif isinstance(result, q.TraceDetail):
        assert result.summary == {} and result.spans.empty and result.events.empty


def test_missing_relation_raises_query_unavailable() -> None:
    import duckdb

    con = duckdb.connect()
    with pytest.raises(q.QueryUnavailable) as info:
        q.overview_kpis(con, q.Filters())
    assert info.value.query == "overview_kpis" and "execution_traces" in info.value.reason


def test_bucket_is_hourly_for_short_ranges() -> None:
    f = q.Filters.last(2)
    assert f.bucket() == "hour"
    assert q.Filters.last(10).bucket() == "day"
    assert q.Filters().bucket() == "day"


def test_kpis_and_filters_on_the_demo_lake(lake_home) -> None:
    con = lakehouse.connect()
    counts = lake_home.demo["event_counts"]
    kpis = q.overview_kpis(con, q.Filters())
    assert kpis["traces"] == counts["UserPromptSubmit"]
    assert kpis["sessions"] == lake_home.demo["sessions"]
    assert kpis["projects"] == lake_home.demo["projects"]
    # tool failures/calls count the root traces' own calls; failures never exceed the dataset's
    assert 0 < kpis["tool_failures"] <= counts["PostToolUseFailure"]
    assert kpis["cost_usd"] > 0
    # the filters partition the traces
    options = q.filter_options(con)
    by_project = sum(q.overview_kpis(con, q.Filters(project=p))["traces"] for p in options["project"])
    assert by_project == kpis["traces"]
    last = pd.Timestamp(kpis["last_trace_at"]).to_pydatetime()
    recent = q.overview_kpis(con, q.Filters(since=last - timedelta(days=2)))
    assert 0 < recent["traces"] < kpis["traces"]
    # an agent filter keeps only traces that delegated to that agent
    rows = q.traces(con, q.Filters(agent="test-runner"), limit=5000)
    assert len(rows) > 0 and rows["agents"].str.contains("test-runner").all()


def test_trend_buckets_add_up(lake_home) -> None:
    con = lakehouse.connect()
    kpis = q.overview_kpis(con, q.Filters())
    trend = q.overview_trend(con, q.Filters())
    assert trend["traces"].sum() == kpis["traces"]
    assert trend["bucket"].is_monotonic_increasing


def test_trace_detail_nests_subagents(lake_home) -> None:
    con = lakehouse.connect()
    rows = q.traces(con, q.Filters(), limit=5000)
    pick = rows[rows["subagents"] > 0].iloc[0]
    detail = q.trace_detail(con, pick["correlation_id"])
    assert detail.summary["correlation_id"] == pick["correlation_id"]
    assert (detail.tree["depth"] >= 1).any()
    subagent_spans = detail.spans[detail.spans["category"] == "subagent"]
    assert len(subagent_spans) >= 1
    # the subagent's own tool calls are spans one level deeper than the main agent's
    assert detail.spans["depth"].max() >= 1
    assert set(detail.events["event_name"]) >= {"UserPromptSubmit", "PreToolUse"}
    assert (detail.events["event_time"].diff().dropna() >= pd.Timedelta(0)).all()


def test_search_and_status_filters(lake_home) -> None:
    con = lakehouse.connect()
    every = q.traces(con, q.Filters(), limit=5000)
    found = q.traces(con, q.Filters(), search="unit tests", limit=5000)
    assert 0 < len(found) < len(every)
    assert found["prompt_text"].str.contains("unit tests", case=False).all()
    by_id = q.traces(con, q.Filters(), search=every.iloc[3]["correlation_id"][:12], limit=10)
    assert every.iloc[3]["correlation_id"] in set(by_id["correlation_id"])
    for status in set(every["status"]):
        subset = q.traces(con, q.Filters(), status=status, limit=5000)
        assert len(subset) == (every["status"] == status).sum()


def test_tool_endpoint_hook_and_error_stats(lake_home) -> None:
    con = lakehouse.connect()
    f = q.Filters()
    tools = q.tool_stats(con, f).set_index("tool_name")
    assert tools.loc["Bash", "failures"] > 0 and tools.loc["Grep", "failures"] == 0
    assert (tools["p50_ms"] <= tools["p95_ms"]).all()
    endpoints = q.endpoint_stats(con, f)
    assert set(endpoints["service"]) >= {"postgres", "github"}
    assert (endpoints["endpoint_path"] == endpoints["service"] + "/" + endpoints["endpoint"]).all()
    hooks = q.hook_stats(con, f).set_index("hook_name")
    assert hooks.loc["guard-commands", "hook_type"] == "wrapped" and hooks.loc["guard-commands", "p50_ms"] > 0
    assert hooks.loc["PreToolUse", "hook_type"] == "capture"
    errors = q.error_groups(con, f)
    assert errors["occurrences"].is_monotonic_decreasing
    top = errors.iloc[0]
    samples = q.error_samples(con, top["error_template"])
    assert len(samples) == min(20, top["occurrences"])
