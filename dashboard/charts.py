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


def _text(value: Any) -> str:
    """A cell as text; None / NaN / NA become ''."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def waterfall(spans: pd.DataFrame, events: pd.DataFrame | None = None) -> alt.Chart | None:
    """A Gantt of the trace's spans; rows in start order, subagent work indented under its agent.

    Hook events without a duration (prompt, stop, subagent start/stop, notifications) are drawn as
    ticks on a top row so the whole life of the trace is visible.
    """
    if spans.empty and (events is None or events.empty):
        return None
    starts = [pd.to_datetime(spans["started_at"], utc=True).min()] if not spans.empty else []
    if events is not None and not events.empty:
        starts.append(pd.to_datetime(events["event_time"], utc=True).min())
    origin = min(s for s in starts if pd.notna(s))
    rows = []
    for i, span in enumerate(spans.itertuples(index=False)):
        start = pd.to_datetime(span.started_at, utc=True)
        end = pd.to_datetime(span.ended_at, utc=True)
        if pd.isna(start):
            continue
        start_ms = (start - origin).total_seconds() * 1000
        duration = None if span.duration_ms is None or pd.isna(span.duration_ms) else float(span.duration_ms)
        if duration is None:
            duration = max(0.0, (end - start).total_seconds() * 1000) if pd.notna(end) else 0.0
        indent = "· " * int(getattr(span, "depth", 0) or 0)
        label = _text(span.label) or "?"
        rows.append({
            "row": f"{i + 1:>3} {indent}{label}",
            "start_ms": start_ms,
            "end_ms": start_ms + max(float(duration), 1.0),
            "duration_ms": float(duration),
            "category": _text(span.category) or "tool",
            "status": _text(span.status) or "in_progress",
            "label": label,
            "error": _text(span.error_message)[:300],
        })
    frame = pd.DataFrame(rows)
    if not frame.empty:  # keep millisecond spans visible next to minute-long ones
        visible = max(1.0, (frame["end_ms"].max() - frame["start_ms"].min()) * 0.004)
        shortest = frame["start_ms"] + visible
        frame["end_ms"] = frame["end_ms"].where(frame["end_ms"] >= shortest, shortest)
    layers = []
    order = list(frame["row"]) if not frame.empty else []
    if events is not None and not events.empty:
        marks = events[~events["event_name"].isin(["PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch"])]
        if not marks.empty:
            ev = pd.DataFrame({
                "row": "hook events",
                "at_ms": [(pd.to_datetime(t, utc=True) - origin).total_seconds() * 1000 for t in marks["event_time"]],
                "event": marks["event_name"].astype(str).tolist(),
                "agent": marks["agent_type"].fillna("").astype(str).tolist(),
            })
            order = ["hook events", *order]
            layers.append(
                alt.Chart(ev).mark_tick(thickness=2, size=16, color="#8D99AE").encode(
                    y=alt.Y("row:N", sort=order, title=None),
                    x=alt.X("at_ms:Q"),
                    tooltip=["event:N", "agent:N", alt.Tooltip("at_ms:Q", title="at (ms)", format=",.0f")],
                )
            )
    if not frame.empty:
        layers.append(
            alt.Chart(frame).mark_bar(cornerRadius=2, height=alt.RelativeBandSize(0.7)).encode(
                y=alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=320, labelFontSize=11)),
                x=alt.X("start_ms:Q", title="milliseconds since the prompt"),
                x2="end_ms:Q",
                color=alt.Color("category:N", scale=alt.Scale(domain=list(CATEGORY_COLORS), range=list(CATEGORY_COLORS.values())),
                                legend=alt.Legend(orient="top", title=None, symbolStrokeWidth=0)),
                stroke=alt.condition(_FAILED, alt.value("#E4572E"), alt.value(None)),
                strokeWidth=alt.condition(_FAILED, alt.value(2.5), alt.value(0)),
                tooltip=["label:N", "category:N", "status:N", alt.Tooltip("duration_ms:Q", format=",.0f"),
                         alt.Tooltip("start_ms:Q", title="starts at (ms)", format=",.0f"), "error:N"],
            )
        )
    height = max(120, 22 * (len(order) + 1))
    return alt.layer(*layers).properties(height=height)


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
