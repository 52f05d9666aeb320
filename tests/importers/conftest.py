"""Fixtures for importer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklake.paths import Paths
from import_helpers import FIXTURES


@pytest.fixture
def paths(hooklake_home: Path) -> Paths:
    return Paths.resolve(hooklake_home)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
