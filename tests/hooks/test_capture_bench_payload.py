"""The capture benchmark's payload is what it claims: a 2 KB PreToolUse object the hook embeds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from hooks.spool import classify

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "capture_bench.py"


def test_benchmark_payload_is_a_2kb_pre_tool_use() -> None:
    spec = importlib.util.spec_from_file_location("capture_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # no side effects at import: main() only runs as a script
    for size in (2048, 4096):
        data = module.payload(size)
        assert len(data) == size and classify(data) is None
        obj = json.loads(data)
        assert obj["hook_event_name"] == "PreToolUse" and obj["tool_name"] == "Write"
        assert {"session_id", "transcript_path", "cwd", "tool_input", "tool_use_id", "prompt_id"} <= set(obj)
