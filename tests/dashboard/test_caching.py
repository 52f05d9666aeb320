"""The workbench's caches: the lake change marker, and the server warm-up filling the Overview's entries."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import dashboard
from dashboard import common, serve
from hooklake.paths import Paths
from lakehouse import queries as q

APP = str(Path(dashboard.__file__).with_name("app.py"))


def _touch_later(path: Path) -> None:
    """Create ``path`` so that its folder's mtime surely moves (coarse file-system clocks)."""
    time.sleep(0.02)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_lake_key_moves_with_ingest_learn_and_index() -> None:
    paths = Paths.resolve()
    empty = common.lake_key()
    assert common.lake_key() == empty  # stable while nothing changes
    partition = paths.events / "date=2026-11-20"
    _touch_later(partition / "part-a.parquet")
    first = common.lake_key()
    assert first != empty
    assert common.last_ingested_at() is not None
    _touch_later(partition / "part-b.parquet")  # a second ingest into the same day
    second = common.lake_key()
    assert second != first
    _touch_later(paths.lake / "learned" / "success_patterns" / "data.parquet")
    learned = common.lake_key()
    assert learned != second
    _touch_later(paths.index / "CURRENT")
    assert common.lake_key() != learned


def test_warm_up_fills_what_the_overview_reads(lake_home, monkeypatch: pytest.MonkeyPatch) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        steps = serve.warm_up(patterns=False)
        for name in ("lake", "filter_options", "overview_kpis", "overview_trend", "hook_stats", "traces_list"):
            assert name in steps, steps
        calls: list[str] = []

        def refuse(name: str):
            def run(*args, **kwargs):
                calls.append(name)
                raise AssertionError(f"{name} was not served from the warm cache")
            return run

        for name in ("lake_status", "filter_options", "overview_kpis", "overview_trend", "agent_stats", "hook_stats",
                     "tool_stats", "endpoint_stats"):
            monkeypatch.setattr(q, name, refuse(name))
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception, [e.value for e in at.exception]
        assert calls == []
        assert at.metric[0].value == f"{lake_home.demo['event_counts']['UserPromptSubmit']:,}"
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


def test_overview_does_not_load_the_learning_side(lake_home) -> None:
    """The Overview's first paint must not pay for torch / sentence-transformers."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=60).run()\n"
        "assert not at.exception, [e.value for e in at.exception]\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'faiss', 'learning.router') if m in sys.modules))\n"
    )
    env = {**os.environ, "HOOKLAKE_HOME": str(lake_home.home)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_lake_connection_memory_is_bounded(lake_home, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's DuckDB connection gets a memory limit (a shared machine also runs ingest and learn)."""
    import duckdb

    def limit_of(setting: str) -> str:
        probe = duckdb.connect(":memory:")
        probe.execute(f"SET memory_limit = '{setting}'")
        return probe.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    assert (1 << 30) <= int(common.memory_limit().removesuffix("MB")) << 20 <= (3 << 30)
    monkeypatch.setenv(common.MEMORY_LIMIT_ENV, "1GB")
    st.cache_resource.clear()
    try:
        con = common.connection()
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == limit_of("1GB")
        assert con.execute("SELECT count(*) FROM execution_traces").fetchone()[0] > 0
    finally:
        st.cache_resource.clear()
