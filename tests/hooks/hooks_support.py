"""Helpers shared by the capture hook tests (imported by conftest and test modules)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hooks import native

HOOKS_DIR = Path(native.__file__).resolve().parent


@dataclass
class Hook:
    """One way of running the capture hook as a process."""

    kind: str
    argv: list[str]

    def run(self, stdin: bytes, home: Path | None, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        argv = list(self.argv)
        if home is not None:
            argv += ["--home", str(home)]
        argv += list(extra)
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(argv, input=stdin, capture_output=True, env=full_env, timeout=60)


def spool_lines(home: Path) -> list[bytes]:
    lines: list[bytes] = []
    spool = home / "spool"
    if not spool.exists():
        return lines
    for f in sorted(spool.glob("*.jsonl")):
        data = f.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{f} ends mid-line"
        lines += data.splitlines()
    return lines


def spool_events(home: Path) -> list[dict]:
    return [json.loads(line) for line in spool_lines(home)]
