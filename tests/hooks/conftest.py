"""Fixtures for the capture hook tests: the compiled hook, the Python hook, a runner."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hooklake.paths import Paths
from hooks import native
from hooks_support import HOOKS_DIR, Hook



@pytest.fixture(scope="session")
def native_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if native.find_compiler() is None:
        pytest.skip("no C compiler: the native capture hook cannot be built here")
    return native.build(Paths.resolve(tmp_path_factory.mktemp("native-home")))


@pytest.fixture(scope="session")
def native_lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """capture.c built as a shared library, to call its JSON/UTF-8 classifier directly."""
    compiler = native.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("native-lib") / "libhlcapture.so"
    subprocess.run([compiler, "-O2", "-std=c99", "-shared", "-fPIC", "-o", str(out), str(native.SOURCE)], check=True)
    lib = ctypes.CDLL(str(out))
    lib.hl_classify.restype = ctypes.c_char_p
    lib.hl_classify.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib


@pytest.fixture(params=["native", "python"])
def hook(request: pytest.FixtureRequest) -> Hook:
    if request.param == "native":
        return Hook("native", [str(request.getfixturevalue("native_binary"))])
    return Hook("python", [sys.executable, "-S", "-I", str(HOOKS_DIR / "capture.py")])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def no_compiler_path(tmp_path: Path) -> str:
    """A PATH with python but no C compiler."""
    d = tmp_path / "nocc-bin"
    d.mkdir()
    for tool in ("python3",):
        found = shutil.which(tool)
        if found:
            (d / tool).symlink_to(found)
    return str(d)
