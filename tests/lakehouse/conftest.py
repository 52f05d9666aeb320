"""Fixtures for the lakehouse tests; the spool-building helpers live in lakehouse_testkit."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklake.paths import Paths
from lakehouse_testkit import Spool, fail, hook, now_ns, post, pre, prompt, stop  # noqa: F401


@pytest.fixture
def paths(hooklake_home: Path) -> Paths:
    return Paths.resolve(hooklake_home)
