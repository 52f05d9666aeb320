"""Helpers for importer tests: read back what an import put into the spool."""

from __future__ import annotations

import json
from pathlib import Path

from hooklake.paths import Paths

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts"
#: Real Claude Code 2.1.328 runs: ``<scenario>.jsonl`` hook payloads and ``transcripts/<scenario>/``.
RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "claude_code" / "2.1.328"


def spool_events(paths: Paths) -> list[dict]:
    """Every envelope in the spool, in file order."""
    out = []
    for f in sorted(Path(paths.spool).glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def payloads(paths: Paths, name: str | None = None) -> list[dict]:
    return [e["payload"] for e in spool_events(paths) if name is None or e["payload"].get("hook_event_name") == name]
