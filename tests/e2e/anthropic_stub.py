"""A scripted stand-in for the Anthropic Messages API, good enough to drive the real Claude Code.

Claude Code streams ``POST /v1/messages?beta=true`` and expects Server-Sent Events. This server
answers from a script instead of a model, so a test decides exactly which tools the "model" calls:

    script = Script([
        Conversation("run the checks", [
            Reply.tool("Bash", {"command": "echo hi"}),
            Reply.text("Done."),
        ]),
    ])
    with AnthropicStub(script) as stub:
        ...  # ANTHROPIC_BASE_URL=stub.base_url
        stub.requests  # every request body received, in order

How a request is matched to a step: each :class:`Conversation` has an anchor text. The anchor
message is the most recent user message whose own text (not tool results) contains that anchor;
the conversation whose anchor is most recent wins, and the step is the number of assistant messages
after the anchor. This holds for the main conversation, for a subagent (whose conversation starts
with the prompt the Agent tool was given) and for ``--continue`` sessions (the history of earlier
prompts precedes the new anchor). Requests without tools (title generation and similar side
requests) and requests matching no conversation get a short harmless text answer.

Standard library only; one daemon thread; 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):024d}"


@dataclass(frozen=True)
class Reply:
    """One assistant message: content blocks (``text`` / ``tool_use``) and its stop reason."""

    blocks: tuple[dict[str, Any], ...]
    stop_reason: str

    @classmethod
    def text(cls, text: str) -> "Reply":
        return cls(({"type": "text", "text": text},), "end_turn")

    @classmethod
    def tool(cls, name: str, tool_input: dict[str, Any], text: str | None = None) -> "Reply":
        return cls.tools([(name, tool_input)], text=text)

    @classmethod
    def tools(cls, calls: list[tuple[str, dict[str, Any]]], text: str | None = None) -> "Reply":
        """Several tool calls in one assistant message (Claude Code may run them in parallel)."""
        blocks: list[dict[str, Any]] = []
        if text is not None:
            blocks.append({"type": "text", "text": text})
        for name, tool_input in calls:
            blocks.append({"type": "tool_use", "name": name, "input": tool_input})
        return cls(tuple(blocks), "tool_use")


@dataclass
class Conversation:
    """The scripted replies for one conversation, identified by text in its opening user message."""

    anchor: str
    steps: list[Reply]
    #: Answer once the steps are used up (the model keeps talking after a tool result).
    after: Reply = field(default_factory=lambda: Reply.text("Done."))


@dataclass
class Script:
    conversations: list[Conversation]
    #: Answer for requests that match no conversation and for side requests without tools.
    fallback: Callable[[dict[str, Any]], Reply] | None = None

    def reply_for(self, body: dict[str, Any]) -> tuple[Reply, str]:
        """The reply for a request body and a label saying which script step produced it."""
        messages = body.get("messages") or []
        if body.get("tools"):
            best: tuple[int, Conversation] | None = None
            for conv in self.conversations:
                idx = _anchor_index(messages, conv.anchor)
                if idx is not None and (best is None or idx > best[0]):
                    best = (idx, conv)
            if best is not None:
                idx, conv = best
                step = sum(1 for m in messages[idx + 1 :] if m.get("role") == "assistant")
                if step < len(conv.steps):
                    return conv.steps[step], f"{conv.anchor!r}#{step}"
                return conv.after, f"{conv.anchor!r}#after"
        if self.fallback is not None:
            return self.fallback(body), "fallback"
        return _side_reply(body), "side"


def user_texts(message: dict[str, Any]) -> list[str]:
    """Texts a user message carries itself (string content or ``text`` blocks, not tool results)."""
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                texts.append(str(block.get("text", "")))
    return texts


def tool_results(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def _anchor_index(messages: list[dict[str, Any]], anchor: str) -> int | None:
    for idx in range(len(messages) - 1, -1, -1):
        msg = messages[idx]
        if msg.get("role") == "user" and any(anchor in t for t in user_texts(msg)):
            return idx
    return None


def _side_reply(body: dict[str, Any]) -> Reply:
    """Short answers for requests outside the script (titles, summaries, topic checks)."""
    system = json.dumps(body.get("system", ""))
    if "json" in system.lower() and "title" in system.lower():
        return Reply.text(json.dumps({"title": "Scripted session"}))
    return Reply.text("Scripted session")


def sse_events(reply: Reply, model: str, input_tokens: int) -> list[tuple[str, dict[str, Any]]]:
    """The event sequence of one streamed message, as the Messages API sends it."""
    msg_id = _next_id("msg_stub")
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "output_tokens": 1,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                },
            },
        )
    ]
    output_tokens = 1
    for index, block in enumerate(reply.blocks):
        if block["type"] == "text":
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index,
                                         "content_block": {"type": "text", "text": ""}})
            )
            text = block["text"]
            # Two deltas, so the client really assembles a streamed block.
            half = len(text) // 2
            for part in (text[:half], text[half:]):
                if part:
                    events.append(
                        ("content_block_delta", {"type": "content_block_delta", "index": index,
                                                 "delta": {"type": "text_delta", "text": part}})
                    )
            output_tokens += max(1, len(text) // 4)
        else:
            tool_id = block.get("id") or _next_id("toolu_stub")
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index,
                                         "content_block": {"type": "tool_use", "id": tool_id,
                                                           "name": block["name"], "input": {}}})
            )
            partial = json.dumps(block["input"])
            half = len(partial) // 2
            for part in (partial[:half], partial[half:]):
                events.append(
                    ("content_block_delta", {"type": "content_block_delta", "index": index,
                                             "delta": {"type": "input_json_delta", "partial_json": part}})
                )
            output_tokens += max(1, len(partial) // 4)
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                           "usage": {"output_tokens": output_tokens}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _message_json(reply: Reply, model: str, input_tokens: int) -> dict[str, Any]:
    """The same reply as a non-streamed message (for requests without ``"stream": true``)."""
    content = []
    for block in reply.blocks:
        if block["type"] == "text":
            content.append({"type": "text", "text": block["text"]})
        else:
            content.append({"type": "tool_use", "id": block.get("id") or _next_id("toolu_stub"),
                            "name": block["name"], "input": block["input"]})
    return {
        "id": _next_id("msg_stub"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 10},
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    #: Which script step answered ("'anchor'#N", "side", "fallback"), or None for other endpoints.
    answered_by: str | None = None


class AnthropicStub:
    """The server. Use as a context manager; ``base_url`` is what ``ANTHROPIC_BASE_URL`` needs."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "AnthropicStub":
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="anthropic-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "AnthropicStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "stub not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- inspection ------------------------------------------------------------------
    def message_requests(self) -> list[dict[str, Any]]:
        """Bodies of every ``/v1/messages`` request (the model calls), in arrival order."""
        with self._lock:
            return [r.body for r in self.requests if r.path == "/v1/messages" and isinstance(r.body, dict)]

    def model_saw(self, text: str) -> bool:
        """Whether any message request contained ``text`` anywhere (system, messages, tools)."""
        return any(text in json.dumps(body) for body in self.message_requests())

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)


class _Handler(BaseHTTPRequestHandler):
    owner: AnthropicStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        pass

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", _next_id("req_stub"))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        path = urlsplit(self.path).path
        body = self._read_body()
        if path == "/v1/messages" and isinstance(body, dict):
            reply, label = self.owner.script.reply_for(body)
            self.owner._record(RecordedRequest("POST", path, body, label))
            model = str(body.get("model") or "claude-stub")
            input_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
            if body.get("stream"):
                payload = "".join(
                    f"event: {name}\ndata: {json.dumps(data)}\n\n"
                    for name, data in sse_events(reply, model, input_tokens)
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("request-id", _next_id("req_stub"))
                self.end_headers()
                self.wfile.write(payload)
            else:
                self._send_json(200, _message_json(reply, model, input_tokens))
            return
        self.owner._record(RecordedRequest("POST", path, body))
        if path == "/v1/messages/count_tokens":
            size = len(json.dumps(body)) if body is not None else 0
            self._send_json(200, {"input_tokens": max(1, size // 4)})
            return
        self.owner.unexpected.append(f"POST {self.path}")
        self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not scripted"}})

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        self.owner._record(RecordedRequest("GET", path, None))
        if path == "/v1/models":
            self._send_json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
            return
        self.owner.unexpected.append(f"GET {self.path}")
        self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not scripted"}})

    def do_HEAD(self) -> None:  # noqa: N802
        self.owner._record(RecordedRequest("HEAD", urlsplit(self.path).path, None))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
