"""Bad input: a 100 MB tool result in one line (bounded memory), OTLP files of another shape."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from import_helpers import payloads
from ingest.importers.transcripts import import_transcripts


@pytest.mark.slow
def test_100mb_tool_result_line_in_bounded_memory(paths, tmp_path):
    session = tmp_path / "big.jsonl"
    head = {"type": "assistant", "sessionId": "big", "uuid": "a1", "parentUuid": None, "timestamp": "2026-01-01T00:00:00Z",
            "requestId": "req_1", "message": {"id": "msg_1", "role": "assistant", "model": "m", "usage": {"input_tokens": 1, "output_tokens": 2},
                                              "content": [{"type": "tool_use", "id": "toolu_big", "name": "Read", "input": {"file_path": "x"}}]}}
    after = {"type": "user", "sessionId": "big", "uuid": "u2", "parentUuid": "u1", "timestamp": "2026-01-01T00:00:09Z",
             "message": {"role": "user", "content": "after the big one"}}
    with open(session, "w") as fh:
        fh.write(json.dumps(head) + "\n")
        # 2.1.x key order: the tool_use_id comes AFTER the huge content, as Claude Code writes it
        fh.write('{"parentUuid":"a1","isSidechain":false,"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"')
        chunk = "x" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
        fh.write('","is_error":false,"tool_use_id":"toolu_big"}]},"uuid":"u1","timestamp":"2026-01-01T00:00:05Z",'
                 '"toolUseResult":{"type":"text"},"sessionId":"big"}\n')
        fh.write(json.dumps(after) + "\n")
    assert session.stat().st_size > 100 * (1 << 20)
    tracemalloc.start()
    try:
        report = import_transcripts(session, paths=paths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 * (1 << 20), f"peak {peak / 2**20:.1f} MiB"
    events = payloads(paths)
    end = next(p for p in events if p["hook_event_name"] == "PostToolUse")
    assert end["tool_use_id"] == "toolu_big" and end["tool_name"] == "Read" and end["session_id"] == "big"
    assert end["duration_ms"] == 5000.0
    assert end["tool_response"]["truncated"] is True
    assert [p["prompt"] for p in events if p["hook_event_name"] == "UserPromptSubmit"] == ["after the big one"]
    assert any("bytes; kept its ids" in w for w in report.warnings)
