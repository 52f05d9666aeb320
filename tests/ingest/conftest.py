"""Fixtures for the ingest tests; helpers live in ``ingest_testkit``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklake.paths import Paths


@pytest.fixture
def paths(hooklake_home: Path) -> Paths:
    return Paths.resolve(hooklake_home)
