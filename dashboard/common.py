"""What every page shares: the lake connection, cached queries, sidebar filters, empty states.

Query results are cached with ``st.cache_data`` keyed on a fingerprint of the lake's files
(path, size, mtime) and of the learned index, so a fresh ingest or learn run shows up on the next
rerun while repeated reruns cost nothing. The DuckDB connection is one per fingerprint, guarded by a
lock because Streamlit runs sessions in threads.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from hooklake.paths import Paths
from lakehouse import queries as q
from lakehouse.queries import Filters, QueryUnavailable

RANGES: dict[str, float | None] = {
    "Last 24 hours": 1,
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "All time": None,
    "Custom": -1,
}
ALL = "(all)"
_LOCK = threading.Lock()

EMPTY_LAKE_HELP = """
**No traces in this lake yet.** To see the workbench with realistic data right away:

```
hooklake demo
```

To record your own Claude Code sessions:

```
hooklake install --project .     # add the capture hooks to this project's .claude/settings.json
# ... use Claude Code as usual ...
hooklake ingest                  # turn captured events into the Parquet lake
hooklake learn                   # learn patterns from successful traces
```
"""


# --------------------------------------------------------------------------------------
# Lake, fingerprint, connection
# --------------------------------------------------------------------------------------


def paths() -> Paths:
    return Paths.resolve()


def _scan(root: Path, suffixes: tuple[str, ...]) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    if not root.exists():
        return found
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(suffixes):
                full = os.path.join(dirpath, name)
                try:
                    stat = os.stat(full)
                except OSError:
                    continue
                found.append((full, stat.st_size, stat.st_mtime_ns))
    return found


def lake_files() -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every Parquet file of the lake and every file of the index."""
    p = paths()
    return sorted(_scan(p.lake, (".parquet",)) + _scan(p.index, ("",)))


def fingerprint() -> str:
    """Changes whenever ingest or learn changed something the pages read."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(str(paths().lake).encode())
    for path, size, mtime in lake_files():
        digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def last_ingested_at() -> datetime | None:
    """When the newest lake file was written (the last ingest that added events)."""
    newest = max((m for path, _s, m in _scan(paths().events, (".parquet",))), default=None)
    if newest is None:
        return None
    return datetime.fromtimestamp(newest / 1e9, tz=timezone.utc)


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(key: str) -> Any:
    import lakehouse

    return lakehouse.connect(read_only=True)


class LakehouseMissing(RuntimeError):
    pass


def connection() -> Any:
    try:
        import lakehouse

        getattr(lakehouse, "connect")
    except (ImportError, AttributeError) as exc:
        raise LakehouseMissing(
            "the lakehouse package (lakehouse.connect) is not available in this installation"
        ) from exc
    return _connection(fingerprint())


@st.cache_data(max_entries=256, show_spinner=False)
def _cached(key: str, fn_name: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    con = _connection(key)
    fn: Callable[..., Any] = getattr(q, fn_name)
    with _LOCK:
        return fn(con, *args, **dict(kwargs))


def query(fn_name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``lakehouse.queries.<fn_name>(con, *args, **kwargs)`` through the cache."""
    connection()
    return _cached(fingerprint(), fn_name, args, tuple(sorted(kwargs.items())))


def try_query(fn_name: str, *args: Any, what: str | None = None, **kwargs: Any) -> Any | None:
    """Like :func:`query`, but a missing view shows a short note and returns None."""
    try:
        return query(fn_name, *args, **kwargs)
    except QueryUnavailable as exc:
        unavailable(what or fn_name.replace("_", " "), exc.reason)
        return None


def unavailable(what: str, reason: str) -> None:
    st.info(
        f"**{what.capitalize()}** is not available for this lake yet ({reason}). "
        "Upgrade hooklake and run `hooklake ingest` (and `hooklake learn` for learned patterns)."
    )


# --------------------------------------------------------------------------------------
# Page frame: sidebar filters, freshness, empty state
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LakeState:
    events: int
    last_event_at: datetime | None
    first_event_at: datetime | None
    error: str | None = None


def lake_state() -> LakeState:
    """Event count and time span of the lake; ``error`` when the lake cannot be read at all."""
    try:
        status = query("lake_status")
    except LakehouseMissing as exc:
        return LakeState(0, None, None, str(exc))
    except QueryUnavailable as exc:
        return LakeState(0, None, None, exc.reason)
    return LakeState(int(status.get("events") or 0), _ts(status.get("last_event_at")), _ts(status.get("first_event_at")))


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = (datetime.now(timezone.utc) - when).total_seconds()
    if seconds < 90:
        return f"{max(0, int(seconds))} s ago"
    if seconds < 5400:
        return f"{int(seconds // 60)} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def sidebar(state: LakeState) -> Filters:
    """Render the filters and the freshness indicator; return the current filters."""
    sb = st.sidebar
    sb.markdown("### Filters")
    options: dict[str, list[str]] = {"project": [], "session": [], "agent": []}
    if state.events:
        try:
            options = query("filter_options")
        except (QueryUnavailable, LakehouseMissing):
            pass
    choice = sb.selectbox("Time range", list(RANGES), index=list(RANGES).index("All time"), key="f_range")
    now = _now_rounded()
    since: datetime | None = None
    until: datetime | None = None
    days = RANGES[choice]
    if days == -1:
        last = (state.last_event_at or now).date()
        first = (state.first_event_at or now - timedelta(days=7)).date()
        picked = sb.date_input("Dates", value=(max(first, last - timedelta(days=7)), last), key="f_dates")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            since = datetime.combine(picked[0], time.min, tzinfo=timezone.utc)
            until = datetime.combine(picked[1] + timedelta(days=1), time.min, tzinfo=timezone.utc)
        elif isinstance(picked, date):
            since = datetime.combine(picked, time.min, tzinfo=timezone.utc)
    elif days is not None:
        since = now - timedelta(days=days)
    project = sb.selectbox("Project (cwd)", [ALL, *options["project"]], key="f_project")
    agent = sb.selectbox("Agent", [ALL, *options["agent"]], key="f_agent")
    session = sb.selectbox(
        "Session", [ALL, *options["session"]], key="f_session",
        format_func=lambda s: s if s == ALL else s[:8] + "…",
        help="Most recent sessions first.",
    )
    filters = Filters(
        since=since,
        until=until,
        session=None if session == ALL else session,
        project=None if project == ALL else project,
        agent=None if agent == ALL else agent,
    )
    sb.divider()
    ingested = last_ingested_at()
    sb.caption(f"**Last ingested:** {ago(ingested)}" + (f" ({ingested:%Y-%m-%d %H:%M} UTC)" if ingested else ""))
    sb.caption(f"**Events:** {state.events:,} · **newest:** {ago(state.last_event_at)}")
    sb.caption(f"Lake: `{paths().lake}`")
    if sb.button("Refresh", help="Re-read the lake now (queries are cached until the lake changes)."):
        st.cache_data.clear()
        st.cache_resource.clear()
        st.rerun()
    st.session_state["filters"] = filters
    return filters


def _now_rounded() -> datetime:
    """Now, floored to the minute, so relative ranges keep their cache key for a while."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def filters() -> Filters:
    value = st.session_state.get("filters")
    return value if isinstance(value, Filters) else Filters()


def empty_state(state: LakeState) -> bool:
    """Show what to run when the lake is empty or unreadable; True when the page should stop."""
    if state.error is not None:
        st.warning(f"The lake at `{paths().lake}` cannot be read: {state.error}")
        st.markdown(EMPTY_LAKE_HELP)
        return True
    if state.events == 0:
        st.markdown(EMPTY_LAKE_HELP)
        return True
    return False


def no_rows(what: str = "traces") -> None:
    st.info(f"No {what} match the current filters. Widen the time range or clear the project/agent/session filters "
            "in the sidebar.")


def page_header(title: str, caption: str | None = None) -> LakeState:
    st.title(title)
    if caption:
        st.caption(caption)
    return st.session_state.get("lake_state") or lake_state()


def fmt_ms(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    if value != value:  # NaN
        return "–"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"


def fmt_pct(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    return "–" if value != value else f"{value * 100:.1f}%"


def fmt_int(value: Any) -> str:
    if value is None:
        return "–"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "–"


def trace_link(correlation_id: str) -> str:
    return f"/traces?trace={correlation_id}"


@st.cache_data(max_entries=4, show_spinner=False)
def _doctor(key: str) -> dict[str, Any] | None:
    try:
        from ingest.doctor import run_doctor
    except ImportError:
        return None
    return run_doctor(paths()).as_dict()


def doctor_report() -> dict[str, Any] | None:
    """The completeness report of ``hooklake doctor`` (ingest.doctor), or None when not installed.

    Cached until the lake changes; a failing report is shown as an error, not raised.
    """
    try:
        return _doctor(fingerprint())
    except Exception as exc:  # a broken report must not take the page down
        return {"ok": False, "problems": [f"hooklake doctor failed: {type(exc).__name__}: {exc}"], "sessions": []}


def join_list(value: Any, sep: str = ", ") -> str:
    """A list cell (list, array, None or NA) as text."""
    if value is None or isinstance(value, str):
        return value or ""
    try:
        return sep.join(str(x) for x in value)
    except TypeError:  # NA and other scalars
        return ""


def rate_column(label: str) -> Any:
    """A failure/error rate cell: an orange bar from 0 to 100%."""
    return st.column_config.ProgressColumn(label, format="percent", min_value=0, max_value=1, color="orange")


def score_column(label: str) -> Any:
    """A success score / probability cell: a green bar from 0 to 1."""
    return st.column_config.ProgressColumn(label, format="%.2f", min_value=0, max_value=1, color="green")


def ms_columns(*names: str) -> dict[str, Any]:
    return {n: st.column_config.NumberColumn(n.replace("_ms", " ms"), format="%.0f") for n in names}
