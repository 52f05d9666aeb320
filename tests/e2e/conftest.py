"""Shared fixtures for the end-to-end tests that drive the real Claude Code binary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
if str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))

from claude_harness import find_claude, skip_reason  # noqa: E402


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The Claude Code binary, or a skip saying how to get it."""
    path = find_claude()
    if path is None:
        pytest.skip(skip_reason())
    return path


@pytest.fixture
def anthropic_stub():
    """A started scripted Messages API server; set ``anthropic_stub.script`` before running Claude Code."""
    from anthropic_stub import AnthropicStub, Script

    with AnthropicStub(Script([])) as stub:
        yield stub


@pytest.fixture
def claude_project(claude_bin: Path, anthropic_stub, tmp_path: Path, hooklake_home: Path):
    """A throw-away HOME + project wired to ``anthropic_stub``, with this test's HOOKLAKE_HOME."""
    from claude_harness import ClaudeProject

    return ClaudeProject(root=tmp_path / "claude", claude_bin=claude_bin, stub=anthropic_stub,
                         extra_env={"HOOKLAKE_HOME": str(hooklake_home)})
