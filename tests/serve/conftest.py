"""Fixtures for the resident service tests (helpers live in ``serve_helpers``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hooklake.paths import Paths  # noqa: E402
from serve_helpers import start_static  # noqa: E402


@pytest.fixture
def paths(hooklake_home: Path) -> Paths:
    return Paths.resolve()


@pytest.fixture
def service(paths: Paths) -> Iterator[Any]:
    running = start_static(paths)
    try:
        yield running
    finally:
        running.stop()
