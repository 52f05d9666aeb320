"""The workbench's server process: Streamlit, plus a warm-up of what the first visitor needs.

``hooklake dashboard`` runs ``python -m dashboard.serve <streamlit flags>``, which starts Streamlit
in this process (exactly as ``streamlit run dashboard/app.py``) and, in a background thread, fills
the caches the pages read, so the first visitor does not pay for them:

1. the Python modules of the pages (pandas, Altair, DuckDB, the lakehouse queries);
2. the lake connection (attaching the lakehouse rollup) and the Overview's queries for the default
   filters (the ``st.cache_data`` entries the Overview page reads, keyed on the lake's change
   marker), then the Traces page's default list;
3. the learned patterns and the pattern router (the embedding model loads once per process), so
   the first pattern search costs one query embedding, not a model load.

Page runs wait for step 1 (and the Patterns page for step 3) rather than import the same libraries
concurrently: see ``dashboard.common.wait_for_warm_up``. Each step is best effort: a failure is
printed and the pages compute what they need themselves.
When done the thread prints one line, ``hooklake dashboard: warm-up done in N s``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import traceback
from pathlib import Path

APP = Path(__file__).with_name("app.py")
WARM_DONE = "hooklake dashboard: warm-up done"
#: Imported by the warm-up before any page runs (see dashboard.common.wait_for_warm_up): what the
#: Overview and the other lake pages use. No torch, sentence-transformers or scikit-learn here.
PRELOAD = ("numpy", "pandas", "pyarrow", "duckdb", "altair", "dashboard.charts", "dashboard.similar",
           "dashboard.tracedata",
           "lakehouse.connect", "lakehouse.queries", "lakehouse.traces")
#: Imported after the Overview's caches are filled, with the pattern router (the Patterns page
#: waits for these): the learning side and the libraries that probe each other in sys.modules.
PRELOAD_LEARNING = ("polars", "sklearn.decomposition", "learning.tables", "learning.router", "learning.index",
                    "learning.text", "learning.replay", "learning.embeddings")


def _import_all(names: tuple[str, ...]) -> list[str]:
    """Import ``names``; returns the ones that are not installed (optional extras)."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _wait_for_runtime(timeout_s: float = 120.0) -> bool:
    """The cache storage the pages use belongs to Streamlit's runtime: fill it once it exists."""
    from streamlit.runtime import Runtime

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if Runtime.exists():
            return True
        time.sleep(0.05)
    return False


def overview_queries(state, filters) -> list[tuple[str, object]]:
    """The (query, filters) pairs the Overview page runs, in page order (see pages/overview.py)."""
    from dashboard.common import worst_window

    recent = worst_window(filters, state)
    return [("overview_kpis", filters), ("overview_trend", filters), ("agent_stats", recent),
            ("hook_stats", recent), ("tool_stats", recent), ("endpoint_stats", recent)]


def _first_element_checks() -> None:
    """Streamlit checks once per process, on the first element a page draws, whether it runs in a
    REPL, by walking the whole call stack with source lookups (about 0.1 s). Pay it here, not in
    the first visitor's page run."""
    from streamlit import delta_generator

    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if callable(check):
        check()


def warm_up(patterns: bool = True) -> dict[str, float]:
    """Fill the Overview's, the Traces list's and the pattern search's caches; returns seconds per step."""
    # Running outside a page, Streamlit warns once per cached call that there is no script context.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    steps: dict[str, float] = {}

    def step(name: str, fn) -> object:
        started = time.perf_counter()
        try:
            return fn()
        except Exception as exc:  # a page computes it itself; say why the warm-up could not
            _say(f"hooklake dashboard: warm-up step {name} failed: {type(exc).__name__}: {exc}")
            if not isinstance(exc, (OSError, RuntimeError, ImportError)):
                traceback.print_exc()
            return None
        finally:
            steps[name] = round(time.perf_counter() - started, 3)

    from dashboard import common

    try:
        step("imports", lambda: _import_all(PRELOAD))
        step("streamlit", _first_element_checks)
    finally:
        if "imports" in common.WARM_UP:
            common.WARM_UP["imports"].set()
    from lakehouse.queries import Filters

    state = step("lake", common.lake_state)
    if state is None or state.error is not None or not state.events:
        return steps
    filters = Filters()
    step("filter_options", lambda: common.query("filter_options"))
    for name, f in overview_queries(state, filters):
        step(name, lambda name=name, f=f: common.query(name, f))
    step("traces_list", lambda: common.query("traces", filters, search=None, status=None, limit=500))
    if patterns:
        from dashboard import similar

        step("learning_imports", lambda: _import_all(PRELOAD_LEARNING))

        def router() -> None:
            r = similar.router()
            r.embed("warm up the embedding model")  # first call initialises the model's kernels

        step("patterns", lambda: common.query("learned", "success_patterns"))
        if similar.index_version() is not None:
            step("router", router)
    return steps


def freeze_heap() -> None:
    """Move what the warm-up loaded (libraries, the embedding model, the lake connection, cached
    results) out of the garbage collector's sight: it lives as long as the server, and a full
    collection would otherwise walk those millions of objects again and again while a visitor waits."""
    import gc

    gc.collect()
    gc.freeze()


def _warm_up_thread() -> None:
    from dashboard import common

    started = time.perf_counter()
    try:
        if not _wait_for_runtime():
            _say("hooklake dashboard: warm-up skipped (the Streamlit runtime did not start)")
            return
        steps = warm_up()
        freeze_heap()
        detail = ", ".join(f"{k} {v:.2f}s" for k, v in steps.items())
        _say(f"{WARM_DONE} in {time.perf_counter() - started:.1f} s ({detail})")
    finally:
        for event in common.WARM_UP.values():  # never leave a page waiting
            event.set()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from dashboard import common

    common.WARM_UP.update(imports=threading.Event(), done=threading.Event())
    threading.Thread(target=_warm_up_thread, name="hooklake-warm-up", daemon=True).start()
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(APP), *args]
    try:
        stcli.main(prog_name="streamlit")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
