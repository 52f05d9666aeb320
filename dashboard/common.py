"""What every page shares: the lake connection, cached queries, sidebar filters, empty states.

Query results are cached with ``st.cache_data`` keyed on the lake's change marker
(:func:`lake_key`: mtimes of the lake's folders, the learned tables and the index), so a fresh
ingest or learn run shows up on the next rerun while repeated reruns cost nothing. The DuckDB
connection is one per marker and server process (``st.cache_resource``), guarded by a lock because
Streamlit runs sessions in threads. ``dashboard.serve`` fills these caches for the Overview when the
server starts, so the first visitor does not wait for them.
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
# Server warm-up (dashboard.serve)
# --------------------------------------------------------------------------------------

#: Set by ``dashboard.serve`` when it runs the server: ``imports`` once the libraries the pages use
#: are imported, ``done`` once the whole warm-up (caches, pattern router) has finished. Both stay
#: None otherwise (``streamlit run`` by hand, AppTest), and then nothing waits.
WARM_UP: dict[str, threading.Event] = {}


def wait_for_warm_up(stage: str = "imports", timeout_s: float = 300.0) -> None:
    """Let the server's warm-up finish ``stage`` first ("imports" or "done").

    Importing a library in two threads at once can expose a half-initialised module to code that
    looks it up in ``sys.modules`` (pandas, polars and torch are probed that way by sklearn and
    others), so a page run waits for the warm-up's imports instead of racing them; the Patterns page
    also waits for the pattern router the warm-up is loading (it would wait for it anyway).
    """
    event = WARM_UP.get(stage)
    if event is not None and not event.is_set():
        event.wait(timeout_s)


# --------------------------------------------------------------------------------------
# Lake, change marker, connection
# --------------------------------------------------------------------------------------


def paths() -> Paths:
    return Paths.resolve()


def _dir_marks(root: Path, depth: int) -> list[str]:
    """``name:mtime_ns`` of ``root`` and its sub-folders down to ``depth`` levels (no file stats).

    Ingest, compaction and learn publish files by creating or renaming them inside a folder, which
    changes that folder's mtime: the folders alone tell that something changed.
    """
    marks: list[str] = []
    stack = [(str(root), 0)]
    while stack:
        folder, level = stack.pop()
        try:
            marks.append(f"{folder}:{os.stat(folder).st_mtime_ns}")
            if level < depth:
                with os.scandir(folder) as entries:
                    stack.extend((e.path, level + 1) for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
    return sorted(marks)


def lake_key() -> str:
    """The lake's change marker: changes whenever ingest, compaction or learn changed what pages read.

    Built from folder mtimes only (the events folder and its ``date=`` partitions, the learned
    tables, the index and its ``CURRENT`` version, config.toml), so it costs a few dozen ``stat``
    calls whatever the size of the lake. Query results and the connection are cached under it.
    """
    p = paths()
    digest = hashlib.blake2b(digest_size=12)
    digest.update(str(p.lake).encode())
    for mark in _dir_marks(p.events, 1) + _dir_marks(p.lake / "learned", 1) + _dir_marks(p.index, 0):
        digest.update(mark.encode())
        digest.update(b"\n")
    for extra in (p.index / "CURRENT", p.config):
        try:
            digest.update(f"{extra}:{os.stat(extra).st_mtime_ns}:{extra.read_bytes()[:256]!r}".encode())
        except OSError:
            pass
    return digest.hexdigest()


def last_ingested_at() -> datetime | None:
    """When the lake last changed: the newest mtime of its events folder and ``date=`` partitions."""
    newest = None
    for mark in _dir_marks(paths().events, 1):
        mtime = int(mark.rsplit(":", 1)[1])
        newest = mtime if newest is None else max(newest, mtime)
    if newest is None:
        return None
    return datetime.fromtimestamp(newest / 1e9, tz=timezone.utc)


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(key: str) -> Any:
    """One DuckDB connection per lake version, shared by every session of this server process.

    Opening it attaches the lakehouse rollup (refreshing it first when the lake changed), which is
    the expensive part; the queries then read the rollup's tables. A new ``key`` (the lake changed)
    replaces it.
    """
    import lakehouse

    con = lakehouse.connect(read_only=True)
    bound_memory(con)
    return con


MEMORY_LIMIT_ENV = "HOOKLAKE_DASHBOARD_MEMORY_LIMIT"
"""DuckDB ``memory_limit`` of the workbench's connection (e.g. ``2GB``); default :func:`memory_limit`."""


def memory_limit() -> str:
    """The workbench's DuckDB memory limit: ``$HOOKLAKE_DASHBOARD_MEMORY_LIMIT``, else an eighth of
    the machine's memory between 1 and 3 GB. The pages read the rollup's small tables and one
    trace's partitions at a time; a bound keeps a long-running server from growing into the memory
    that ingest and learn jobs on the same machine need (what does not fit spills to a temp folder)."""
    configured = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return f"{max(1 << 30, min(3 << 30, total // 8)) >> 20}MB"


def bound_memory(con: Any) -> None:
    """Apply :func:`memory_limit` and a private spill folder to ``con``."""
    import tempfile

    spill = Path(tempfile.gettempdir()) / f"hooklake-dashboard-{os.getpid()}.spill"
    limit = memory_limit().replace("'", "")
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")


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
    return _connection(lake_key())


@st.cache_data(max_entries=256, show_spinner=False)
def _cached(key: str, fn_name: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    con = _connection(key)
    fn: Callable[..., Any] = getattr(q, fn_name)
    with _LOCK:
        return fn(con, *args, **dict(kwargs))


def query(fn_name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``lakehouse.queries.<fn_name>(con, *args, **kwargs)`` through the cache."""
    key = lake_key()
    try:
        import lakehouse

        getattr(lakehouse, "connect")
    except (ImportError, AttributeError) as exc:
        raise LakehouseMissing(
            "the lakehouse package (lakehouse.connect) is not available in this installation"
        ) from exc
    return _cached(key, fn_name, args, tuple(sorted(kwargs.items())))


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
    # Few elements: the browser draws each one, and this sidebar is on every page's first paint.
    sb.markdown("## hooklake\n### Filters")
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
    sb.caption(f"**Last ingested:** {ago(ingested)}" + (f" ({ingested:%Y-%m-%d %H:%M} UTC)" if ingested else "")
               + f"  \n**Events:** {state.events:,} · **newest:** {ago(state.last_event_at)}"
               + f"  \nLake: `{paths().lake}`")
    if sb.button("Refresh", help="Re-read the lake now (queries are cached until the lake changes)."):
        st.cache_data.clear()
        st.cache_resource.clear()
        st.rerun()
    st.session_state["filters"] = filters
    return filters


def _now_rounded() -> datetime:
    """Now, floored to the minute, so relative ranges keep their cache key for a while."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def worst_window(filters: Filters, state: LakeState) -> Filters:
    """The Overview's "worst right now" window: the last 7 days of data, within the filters."""
    last = state.last_event_at
    if last is None:
        return filters
    week_start = last - timedelta(days=7)
    return filters.with_(since=max(filters.since, week_start) if filters.since else week_start)


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
        return _doctor(lake_key())
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
