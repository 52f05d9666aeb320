"""Every test runs against its own hooklake home, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def hooklake_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("hooklake-home")
    monkeypatch.setenv("HOOKLAKE_HOME", str(home))
    monkeypatch.delenv("HOOKLAKE_LAKE", raising=False)
    monkeypatch.delenv("HOOKLAKE_DISABLED", raising=False)
    return home
