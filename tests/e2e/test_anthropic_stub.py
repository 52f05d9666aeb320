"""The scripted Messages API server speaks the streaming protocol Claude Code expects."""

from __future__ import annotations

import json
import urllib.request

from anthropic_stub import AnthropicStub, Conversation, Reply, Script

TOOLS = [{"name": "Bash", "input_schema": {"type": "object"}}]


def _post(stub: AnthropicStub, path: str, body: dict) -> tuple[str, str]:
    req = urllib.request.Request(stub.base_url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def _events(sse: str) -> list[tuple[str, dict]]:
    events = []
    for chunk in sse.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


SCRIPT = Script([
    Conversation("main task", [Reply.tool("Bash", {"command": "ls"}, text="Listing."), Reply.text("All done.")]),
    Conversation("sub task", [Reply.text("Sub done.")]),
])


def test_tool_use_stream_has_the_event_sequence_and_reassembles() -> None:
    with AnthropicStub(SCRIPT) as stub:
        ctype, body = _post(stub, "/v1/messages?beta=true", {
            "model": "m", "stream": True, "tools": TOOLS,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "do the main task"}]}]})
    assert ctype == "text/event-stream"
    events = _events(body)
    names = [name for name, _ in events]
    assert names == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                     "content_block_stop", "content_block_start", "content_block_delta",
                     "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    tool_start = events[5][1]["content_block"]
    assert tool_start["type"] == "tool_use" and tool_start["name"] == "Bash" and tool_start["input"] == {}
    partial = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"
                      and d["delta"]["type"] == "input_json_delta")
    assert json.loads(partial) == {"command": "ls"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_step_follows_the_most_recent_anchor_and_requests_are_recorded() -> None:
    with AnthropicStub(SCRIPT) as stub:
        history = [
            {"role": "user", "content": "do the main task"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sub task"}]},
        ]
        _, body = _post(stub, "/v1/messages", {"model": "m", "stream": True, "tools": TOOLS, "messages": history})
        texts = [d["delta"]["text"] for n, d in _events(body) if n == "content_block_delta"]
        assert "".join(texts) == "All done."  # a tool result mentioning "sub task" is not an anchor
        _, body = _post(stub, "/v1/messages", {"model": "m", "tools": TOOLS,
                                               "messages": [{"role": "user", "content": "sub task please"}]})
        assert json.loads(body)["content"][0]["text"] == "Sub done."  # non-streamed request
        _, body = _post(stub, "/v1/messages/count_tokens", {"messages": []})
        assert json.loads(body)["input_tokens"] >= 1
        labels = [r.answered_by for r in stub.requests]
        assert labels == ["'main task'#1", "'sub task'#0", None]
        assert stub.model_saw("sub task please")
        assert not stub.model_saw("never sent")
        assert stub.unexpected == []


def test_side_request_without_tools_gets_a_short_text() -> None:
    with AnthropicStub(SCRIPT) as stub:
        _, body = _post(stub, "/v1/messages", {"model": "m", "stream": True,
                                               "messages": [{"role": "user", "content": "main task title?"}]})
    assert [n for n, _ in _events(body)][-1] == "message_stop"
    assert stub.requests[0].answered_by == "side"
