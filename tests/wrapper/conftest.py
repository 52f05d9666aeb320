"""Both wrapper implementations (native helper and ``python -S -I hooks/wrapper.py``) under test."""

from __future__ import annotations

import sys

import pytest

from hooks import wrapper
from wrapper_helpers import REPO


@pytest.fixture(scope="session")
def native_bin(tmp_path_factory: pytest.TempPathFactory) -> str:
    built = wrapper.build_native(tmp_path_factory.mktemp("bin"))
    if built is None:
        pytest.skip("no C compiler: the native wrapper cannot be built here")
    return built


@pytest.fixture(params=["native", "python"])
def runner(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "native":
        return [request.getfixturevalue("native_bin")]
    return [sys.executable, "-S", "-I", str(REPO / "hooks" / "wrapper.py")]
