"""Fixtures for SDK tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklake.paths import Paths


@pytest.fixture
def paths(hooklake_home: Path) -> Paths:
    return Paths.resolve(hooklake_home)
