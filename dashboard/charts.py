"""Altair chart builders shared by the pages.

Colours come from categorical schemes that read well on light and dark backgrounds, and charts
are rendered with Streamlit's theme (no hard-coded text or background colours), so both themes work.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

STATUS_COLORS = {
    "ok": "#4C9F70",
    "success": "#4C9F70",
    "error": "#E4572E",
    "interrupted": "#F2A541",
    "timeout": "#B5179E",
    "in_progress": "#4D96FF",
}
CATEGORY_COLORS = {"tool": "#4D96FF", "endpoint": "#9B5DE5", "subagent": "#F2A541", "hook": "#8D99AE"}
HEIGHT = 220


def _time_axis(bucket: str) -> alt.Axis:
    return alt.Axis(title=None, format="%b %d %H:%M" if bucket == "hour" else "%b %d", labelOverlap=True)


def _rows_height(rows: int) -> int:
    """Chart height for ``rows`` categories: Streamlit fits title and axes inside the height."""
    return max(HEIGHT, 90 + 24 * rows)


def _legend() -> alt.Legend:
    # On the right: a legend below the plot eats the plot's height when the chart fits its container.
    return alt.Legend(orient="right", title=None, labelLimit=170, symbolLimit=12)


def trend(frame: pd.DataFrame, y: str, title: str, fmt: str = ",.0f", bucket: str = "day",
          color: str | None = None, mark: str = "line", log: bool = False) -> alt.Chart:
    """A time series of ``y`` per bucket, optionally one line per ``color`` category."""
    base = alt.Chart(frame, title=title, height=HEIGHT)
    single = {} if color is not None else {"color": "#4D96FF"}
    if mark == "bar":
        chart = base.mark_bar(opacity=0.9, width={"band": 0.8}, **single)
    else:
        chart = base.mark_line(point=alt.OverlayMarkDef(size=16, **single), strokeWidth=2, **single)
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    enc: dict[str, Any] = {
        # a time unit gives bars a band as wide as the bucket (not a hairline)
        "x": alt.X(f"{'yearmonthdatehours' if bucket == 'hour' else 'yearmonthdate'}(bucket):T",
                   axis=_time_axis(bucket)) if mark == "bar" else alt.X("bucket:T", axis=_time_axis(bucket)),
        "y": alt.Y(f"{y}:Q", title=None, axis=alt.Axis(format=fmt, tickCount=5), scale=scale,
                   stack=True if mark == "bar" else None),
        "tooltip": [alt.Tooltip("bucket:T", title="time", format="%Y-%m-%d %H:%M"),
                    alt.Tooltip(f"{y}:Q", format=fmt)],
    }
    if color is not None:
        enc["color"] = alt.Color(f"{color}:N", scale=alt.Scale(scheme="tableau10"), legend=_legend())
        enc["tooltip"].insert(1, alt.Tooltip(f"{color}:N"))
    return chart.encode(**enc)


def percentiles(frame: pd.DataFrame, key: str, title: str, cols: tuple[str, ...] = ("p50_ms", "p95_ms", "p99_ms"),
                top: int = 15) -> alt.Chart:
    """Latency percentiles per ``key`` as dots joined by a line, on a log scale (ms to minutes)."""
    cols = tuple(c for c in cols if c in frame)
    head = frame.head(top)
    data = head.melt(id_vars=[key], value_vars=list(cols), var_name="percentile", value_name="ms")
    data["percentile"] = data["percentile"].str.replace("_ms", "", regex=False)
    data = data[data["ms"].notna() & (data["ms"] > 0)]
    names = [c.replace("_ms", "") for c in cols]
    order = list(head[key])
    y = alt.Y(f"{key}:N", title=None, sort=order, axis=alt.Axis(labelLimit=240, labelOverlap=False))
    x = alt.X("ms:Q", title="milliseconds (log scale)", scale=alt.Scale(type="log"))
    rule = alt.Chart(data).mark_rule(color="#8D99AE", strokeWidth=2).encode(
        y=y, x=alt.X("min(ms):Q", scale=alt.Scale(type="log"), title="milliseconds (log scale)"), x2="max(ms):Q")
    dots = alt.Chart(data).mark_circle(size=90, opacity=1).encode(
        y=y, x=x,
        color=alt.Color("percentile:N", scale=alt.Scale(domain=names, range=["#4D96FF", "#F2A541", "#E4572E"][: len(names)]),
                        legend=_legend()),
        tooltip=[alt.Tooltip(f"{key}:N"), "percentile:N", alt.Tooltip("ms:Q", format=",.0f")],
    )
    return alt.layer(rule, dots, title=title).properties(height=_rows_height(len(order)))


def rate_bars(frame: pd.DataFrame, key: str, rate: str, volume: str, title: str, top: int = 15) -> alt.Chart:
    """Horizontal bars of a rate (0..1) per ``key``, with the volume in the tooltip."""
    data = frame.sort_values(rate, ascending=False).head(top)
    return (
        alt.Chart(data, title=title, height=_rows_height(len(data)))
        .mark_bar(color="#E4572E", cornerRadiusEnd=2)
        .encode(
            y=alt.Y(f"{key}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240, labelOverlap=False)),
            x=alt.X(f"{rate}:Q", title=None, axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip(f"{key}:N"), alt.Tooltip(f"{rate}:Q", format=".1%"), alt.Tooltip(f"{volume}:Q", format=",")],
        )
    )


_FAILED = "indexof(['error', 'interrupted', 'timeout'], datum.status) >= 0"


_NOT_SPANS = ["PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch"]
"""Events the waterfall draws as bars (tool calls), not as hook ticks."""


def _text_col(values: pd.Series) -> pd.Series:
    """A column as text; None / NaN / NA become ''."""
    return values.astype(object).where(values.notna(), "").astype(str)


def waterfall(spans: pd.DataFrame, events: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """A Gantt of the trace's spans as a Vega-Lite spec (for ``st.vega_lite_chart``); rows in
    start order, subagent work indented under its agent. None when there is nothing to draw.

    Hook events without a duration (prompt, stop, subagent start/stop, notifications) are drawn as
    ticks on a top row so the whole life of the trace is visible.

    A plain spec rather than an Altair chart: opening a trace is interactive, and building and
    validating the Altair objects cost more than assembling the trace (tens of milliseconds per
    chart). The columns are computed vectorised, so a trace with thousands of spans stays quick.
    """
    has_events = events is not None and not events.empty
    if spans.empty and not has_events:
        return None
    starts = pd.to_datetime(spans["started_at"], utc=True) if not spans.empty else pd.Series(dtype="datetime64[ns, UTC]")
    event_times = pd.to_datetime(events["event_time"], utc=True) if has_events else None
    candidates = [t for t in (starts.min() if not starts.empty else None,
                              event_times.min() if event_times is not None else None) if t is not None and pd.notna(t)]
    if not candidates:
        return None
    origin = min(candidates)
    frame = pd.DataFrame()
    if not spans.empty:
        keep = starts.notna()
        s = spans[keep.to_numpy()].reset_index(drop=True)
        start = starts[keep].reset_index(drop=True)
        end = pd.to_datetime(s["ended_at"], utc=True)
        start_ms = (start - origin).dt.total_seconds() * 1000
        duration = pd.to_numeric(s["duration_ms"], errors="coerce").astype(float)
        measured = ((end - start).dt.total_seconds() * 1000).clip(lower=0)
        duration = duration.fillna(measured).fillna(0.0)
        depth = pd.to_numeric(s.get("depth", 0), errors="coerce").fillna(0).astype(int)
        label = _text_col(s["label"]).replace("", "?")
        frame = pd.DataFrame({
            "row": [f"{i + 1:>3} {'· ' * d}{text}" for i, (d, text) in enumerate(zip(depth, label))],
            "start_ms": start_ms,
            "end_ms": start_ms + duration.clip(lower=1.0),
            "duration_ms": duration,
            "category": _text_col(s["category"]).replace("", "tool"),
            "status": _text_col(s["status"]).replace("", "in_progress"),
            "label": label,
            "error": _text_col(s["error_message"]).str.slice(0, 300),
        })
        if not frame.empty:  # keep millisecond spans visible next to minute-long ones
            visible = max(1.0, (frame["end_ms"].max() - frame["start_ms"].min()) * 0.004)
            shortest = frame["start_ms"] + visible
            frame["end_ms"] = frame["end_ms"].where(frame["end_ms"] >= shortest, shortest)
    order = list(frame["row"]) if not frame.empty else []
    layers: list[dict[str, Any]] = []
    datasets: dict[str, pd.DataFrame] = {}
    if has_events:
        marks = ~events["event_name"].isin(_NOT_SPANS).to_numpy()
        if marks.any():
            ticks = pd.DataFrame({
                "row": "hook events",
                "at_ms": ((event_times[marks] - origin).dt.total_seconds() * 1000).to_numpy(),
                "event": _text_col(events["event_name"][marks]).to_numpy(),
                "agent": _text_col(events["agent_type"][marks]).to_numpy(),
            })
            order = ["hook events", *order]
            datasets["hook_events"] = ticks
            layers.append({
                "data": {"name": "hook_events"},
                "mark": {"type": "tick", "color": "#8D99AE", "size": 16, "thickness": 2},
                "encoding": {
                    "y": {"field": "row", "type": "nominal", "sort": order, "title": None},
                    "x": {"field": "at_ms", "type": "quantitative"},
                    "tooltip": [{"field": "event", "type": "nominal"}, {"field": "agent", "type": "nominal"},
                                {"field": "at_ms", "type": "quantitative", "title": "at (ms)", "format": ",.0f"}],
                },
            })
    if not frame.empty:
        datasets["spans"] = frame
        layers.append({
            "data": {"name": "spans"},
            "mark": {"type": "bar", "cornerRadius": 2, "height": {"band": 0.7}},
            "encoding": {
                "y": {"field": "row", "type": "nominal", "sort": order, "title": None,
                      "axis": {"labelLimit": 320, "labelFontSize": 11}},
                "x": {"field": "start_ms", "type": "quantitative", "title": "milliseconds since the prompt"},
                "x2": {"field": "end_ms"},
                "color": {"field": "category", "type": "nominal",
                          "scale": {"domain": list(CATEGORY_COLORS), "range": list(CATEGORY_COLORS.values())},
                          "legend": {"orient": "top", "title": None, "symbolStrokeWidth": 0}},
                "stroke": {"condition": {"test": _FAILED, "value": "#E4572E"}, "value": None},
                "strokeWidth": {"condition": {"test": _FAILED, "value": 2.5}, "value": 0},
                "tooltip": [{"field": "label", "type": "nominal"}, {"field": "category", "type": "nominal"},
                            {"field": "status", "type": "nominal"},
                            {"field": "duration_ms", "type": "quantitative", "format": ",.0f"},
                            {"field": "start_ms", "type": "quantitative", "title": "starts at (ms)", "format": ",.0f"},
                            {"field": "error", "type": "nominal"}],
            },
        })
    if not layers:
        return None
    return {"datasets": datasets, "layer": layers, "height": max(120, 22 * (len(order) + 1))}


def trace_scatter(traces: pd.DataFrame) -> dict[str, Any] | None:
    """The listed traces as dots: when they started, how long they took (log scale), their status.

    A plain Vega-Lite spec (see :func:`waterfall`). None without a trace that has both times.
    """
    if traces.empty or "started_at" not in traces or "duration_ms" not in traces:
        return None
    data = pd.DataFrame({
        "started_at": pd.to_datetime(traces["started_at"], utc=True),
        "seconds": pd.to_numeric(traces["duration_ms"], errors="coerce") / 1000.0,
        "status": _text_col(traces["status"]).replace("", "in_progress") if "status" in traces else "ok",
        "prompt": _text_col(traces["prompt_text"]).str.slice(0, 120) if "prompt_text" in traces else "",
    })
    data = data[data["started_at"].notna() & (data["seconds"] > 0)]
    if data.empty:
        return None
    statuses = sorted(set(data["status"]))
    return {
        "datasets": {"traces": data},
        "data": {"name": "traces"},
        "height": 150,
        "mark": {"type": "circle", "size": 28, "opacity": 0.75},
        "encoding": {
            "x": {"field": "started_at", "type": "temporal", "title": None},
            "y": {"field": "seconds", "type": "quantitative", "title": "seconds (log)", "scale": {"type": "log"}},
            "color": {"field": "status", "type": "nominal",
                      "scale": {"domain": statuses, "range": [STATUS_COLORS.get(x, "#8D99AE") for x in statuses]},
                      "legend": {"orient": "right", "title": None}},
            "tooltip": [{"field": "started_at", "type": "temporal", "format": "%Y-%m-%d %H:%M:%S"},
                        {"field": "seconds", "type": "quantitative", "format": ",.1f"},
                        {"field": "status", "type": "nominal"}, {"field": "prompt", "type": "nominal"}],
        },
    }


def pattern_map(points: pd.DataFrame, color: str) -> alt.Chart:
    """Scatter of patterns in the 2-D projection of their embeddings."""
    is_rate = points[color].dtype.kind == "f"
    enc_color = (alt.Color(f"{color}:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1]), title=color)
                 if is_rate else alt.Color(f"{color}:N", scale=alt.Scale(scheme="tableau10"), title=color))
    return (
        alt.Chart(points, height=420)
        .mark_circle(opacity=0.85, stroke="#00000033", strokeWidth=0.5)
        .encode(
            x=alt.X("x:Q", title="component 1", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title="component 2", axis=alt.Axis(labels=False, ticks=False)),
            size=alt.Size("trace_count:Q", title="traces", scale=alt.Scale(range=[40, 500])),
            color=enc_color,
            tooltip=["pattern_id:N", "agent:N", "intent:N", "prompt_text:N", alt.Tooltip("trace_count:Q"),
                     alt.Tooltip("historical_success:Q", format=".2f")],
        )
        .interactive()
    )
