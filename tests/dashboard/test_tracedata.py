"""The trace panel's data: the waterfall comes from the assembled trace alone, and says the same as
the raw events it no longer waits for."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

import lakehouse
from dashboard import charts, tracedata
from lakehouse import queries as q
from lakehouse.traces import assemble_trace, trace_timeline


@pytest.fixture
def con(lake_home):
    return lakehouse.connect()


def test_hook_ticks_are_the_traces_claude_code_hook_events(con) -> None:
    """Every Claude Code hook event of a trace (prompt, stop, subagent start/stop, notifications, ...)
    is a tick, at its time, in the agent it ran in; tool events are the bars instead."""
    ids = q.traces(con, q.Filters(), limit=2000)["correlation_id"].tolist()
    assert len(ids) > 100
    names: Counter[str] = Counter()
    for cid in ids:
        ticks = tracedata.hook_events(assemble_trace(cid, con))
        timeline = [e for e in trace_timeline(cid, con)
                    if e["source"] == "claude_code" and e["event_name"] not in tracedata.TOOL_EVENTS]
        assert Counter((t["event_name"], pd.Timestamp(t["event_time"])) for t in ticks) == \
            Counter((e["event_name"], pd.Timestamp(e["event_time"])) for e in timeline), cid
        assert Counter((t["event_name"], t["agent_type"]) for t in ticks) == \
            Counter((e["event_name"], e["agent_type"]) for e in timeline), cid
        names.update(t["event_name"] for t in ticks)
    assert {"UserPromptSubmit", "Stop", "SubagentStart", "SubagentStop"} <= set(names)


def test_view_matches_trace_detail_without_reading_events(con, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = q.traces(con, q.Filters(), limit=2000)
    pick = rows[(rows["subagents"] > 0) & (rows["tool_failures"] > 0)].iloc[0]["correlation_id"]
    detail = q.trace_detail(con, pick)

    import lakehouse.traces as traces_module

    def no_scan(*args, **kwargs):
        raise AssertionError("the panel's first screen must not scan the trace's raw events")

    monkeypatch.setattr(traces_module, "trace_timeline", no_scan)
    view = tracedata.build(con, pick)
    assert view.summary == detail.summary
    pd.testing.assert_frame_equal(view.spans, detail.spans)
    assert list(view.tree_ids) == detail.tree["correlation_id"].tolist()
    assert view.hook_events["event_time"].is_monotonic_increasing
    monkeypatch.undo()
    events = tracedata.read_events(con, pick)
    pd.testing.assert_frame_equal(events.reset_index(drop=True), detail.events.reset_index(drop=True))


def test_unknown_trace_is_an_empty_view(con) -> None:
    view = tracedata.build(con, "no-such-trace")
    assert view.summary == {} and view.spans.empty and view.hook_events.empty and view.tree_ids == ()


def test_waterfall_spec_draws_every_span_and_hook_event(con) -> None:
    rows = q.traces(con, q.Filters(), limit=2000)
    pick = rows[(rows["subagents"] > 0) & (rows["tool_failures"] > 0)].iloc[0]["correlation_id"]
    view = tracedata.build(con, pick)
    spec = charts.waterfall(view.spans, view.hook_events)
    assert spec is not None
    spans, ticks = spec["datasets"]["spans"], spec["datasets"]["hook_events"]
    assert len(spans) == len(view.spans) and len(ticks) == len(view.hook_events)
    order = spec["layer"][0]["encoding"]["y"]["sort"]
    assert order[0] == "hook events" and order[1:] == spans["row"].tolist()
    assert (spans["end_ms"] > spans["start_ms"]).all()  # every bar has a visible width
    assert spans["start_ms"].min() >= 0 and ticks["at_ms"].min() >= 0  # times from the first event on
    assert "error" in set(spans["status"])  # the failed tool call, outlined in red
    nested = spans[spans["row"].str.contains("· ")]
    assert not nested.empty  # subagent work is indented under its agent
    assert spec["height"] >= 22 * len(order)


def test_waterfall_of_nothing_is_none() -> None:
    empty_spans = pd.DataFrame(columns=["started_at", "ended_at", "duration_ms", "depth", "category", "label",
                                        "status", "error_message"])
    assert charts.waterfall(empty_spans, pd.DataFrame(columns=tracedata.HOOK_EVENT_COLUMNS)) is None
