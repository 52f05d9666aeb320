"""Shared fixtures: a small demo lake built through the real capture, ingest and learn code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from dashboard.demo import DemoConfig

#: A fixed end so the dataset is the same on every run (and every machine). The browser test
#: (tests/browser/conftest.py) uses the same config and folder, so a session builds the lake once.
FIXTURE_END = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
FIXTURE_CONFIG = DemoConfig(days=8, seed=11, sessions_per_day=5, end=FIXTURE_END)
SHARED_FOLDER = "shared-demo-lake"


@dataclass(frozen=True)
class FixtureLake:
    home: Path
    demo: dict[str, Any]
    """Counts of the generated dataset (events, traces, sessions, event_counts)."""
    learned: bool
    learn_error: str | None
    """Why learning could not run here (tests that need patterns report it instead of hiding it)."""


def build_lake(home: Path, config: DemoConfig, learn: bool = True) -> FixtureLake:
    """Demo events -> capture -> ingest (-> learn) into ``home``; restores $HOOKLAKE_HOME after."""
    from dashboard.firstrun import build_demo_home

    previous = os.environ.get("HOOKLAKE_HOME")
    os.environ["HOOKLAKE_HOME"] = str(home)
    try:
        result = build_demo_home(config, learn=learn)
    finally:
        if previous is None:
            os.environ.pop("HOOKLAKE_HOME", None)
        else:
            os.environ["HOOKLAKE_HOME"] = previous
    return FixtureLake(home, result["demo"], result["learned"], result["learn_error"])


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> FixtureLake:
    home = tmp_path_factory.getbasetemp() / SHARED_FOLDER
    home.mkdir(exist_ok=True)
    return build_lake(home, FIXTURE_CONFIG)


@pytest.fixture
def lake_home(demo_lake: FixtureLake, monkeypatch: pytest.MonkeyPatch) -> FixtureLake:
    """Point this test's $HOOKLAKE_HOME at the shared demo lake (read-only use)."""
    monkeypatch.setenv("HOOKLAKE_HOME", str(demo_lake.home))
    return demo_lake
