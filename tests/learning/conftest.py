"""Shared fixtures: the real MiniLM model (loaded once per session) and small lakes built from
the evaluation request set through the real ingest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Kinds with distinct execution paths (two share one: debugging of Python and JS errors).
KINDS = {"fix_python_exception", "fix_js_type_error", "write_unit_tests", "slow_sql_query", "docker_build",
         "write_readme", "regex_help", "k8s_crashloop", "sentry_error_triage"}


@pytest.fixture(scope="session")
def embedder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from learning.embeddings import get_embedder

    return get_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def eval_traces():
    from learning import synth

    counts: dict[str, int] = {}
    kept = []
    for t in synth.generate(seed=3, kinds=KINDS):
        counts[t.kind] = counts.get(t.kind, 0) + 1
        if counts[t.kind] <= 12:
            kept.append(t)
    return kept


@pytest.fixture(scope="session")
def learned_home(tmp_path_factory, embedder, eval_traces):
    """A home whose lake was built by the real ingest and learned once. Read-only for tests."""
    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from learning import synth
    from learning.job import run_learn

    home = tmp_path_factory.mktemp("learned-home")
    paths = Paths.resolve(home)
    lake = synth.build_lake(eval_traces, paths, via="ingest")
    assert lake["events_written"] > 0
    report = run_learn(paths, load_settings(paths.config), embedder=embedder)
    return {"paths": paths, "report": report, "home": Path(home)}
