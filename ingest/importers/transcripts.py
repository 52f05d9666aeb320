"""Claude Code transcripts (``~/.claude/projects/**.jsonl``) -> hook-shaped spool events.

What one transcript line can give (the format is internal and changes between versions; every
rule below is tolerant of absent fields and unknown line types, which are counted and skipped):

- ``user`` line with text content -> ``UserPromptSubmit`` (``promptId`` since 2.1.x is the
  ``prompt_id`` hooks send; meta lines, compact summaries and local command output are not prompts).
- ``assistant`` line with ``tool_use`` blocks -> ``PreToolUse`` (the block ``id`` is the hooks'
  ``tool_use_id``); its ``message.usage`` -> one ``api_response`` per (message.id, requestId):
  one API response spans several lines that repeat the usage, the last seen wins.
- ``user`` line with ``tool_result`` blocks -> ``PostToolUse`` / ``PostToolUseFailure``
  (``is_error``), with ``toolUseResult`` as the response when present.
- Subagents: new layout ``<session>/subagents/agent-<id>.jsonl`` (+ ``agent-<id>.meta.json`` with
  ``agentType`` and the parent ``toolUseId``); old layout: inline ``isSidechain`` lines whose first
  message is the ``Task`` prompt. Either gives ``SubagentStart`` / tool events with ``agent_id`` /
  ``SubagentStop`` (from the Agent/Task tool result).
- ``system`` ``compact_boundary`` -> ``PreCompact`` (trigger, pre_tokens); ``end_turn`` of the main
  conversation -> ``Stop``.

Streaming: lines are read one at a time; a line longer than :data:`MAX_LINE_BYTES` (a 100 MB tool
result) is scanned in chunks for the few fields needed and never held whole. Incremental: per-file
byte offsets and the little parse state needed to continue are kept in
``<state>/transcripts-import.json``, so a re-run reads only new bytes; event ids are hashes of
(session, file, byte offset, block), so even a re-run without the checkpoint writes the same ids.
A file whose last line is incomplete (still being written, or cut) is read up to that line, which
is retried next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooks import envelope
from ingest.importers.spool_writer import SpoolWriter, stable_id

MAX_LINE_BYTES = 4 * 1024 * 1024
SCAN_CHUNK = 1 << 20
MAX_RESPONSE_BYTES = 256 * 1024
MAX_PENDING_TOOLS = 2000
MAX_PENDING_INPUT_BYTES = 16 * 1024
API_FLUSH_AFTER_LINES = 200
CHECKPOINT_NAME = "transcripts-import.json"
CHECKPOINT_EVERY_S = 2.0
SUBAGENT_TOOLS = ("Agent", "Task")
INTERRUPT_MARKERS = ("[Request interrupted by user", "The user doesn't want to proceed", "Interrupted by user")
NOT_PROMPT_PREFIXES = (
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "Caveat: The messages below",
    "[Request interrupted by user",
)


@dataclass
class ImportReport:
    """What one ``hooklake import transcripts`` run did."""

    files: int = 0
    files_unchanged: int = 0
    bytes_read: int = 0
    lines: int = 0
    events: int = 0
    api_responses: int = 0
    sessions: set[str] = field(default_factory=set)
    skipped_line_types: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "files_unchanged": self.files_unchanged,
            "bytes_read": self.bytes_read,
            "lines": self.lines,
            "events": self.events,
            "api_responses": self.api_responses,
            "sessions": len(self.sessions),
            "skipped_line_types": dict(sorted(self.skipped_line_types.items())),
            "errors": self.errors,
            "warnings": self.warnings,
            "duration_s": round(self.duration_s, 3),
        }


# ---------------------------------------------------------------------------------------------
# Reading lines, including ones too long to hold
# ---------------------------------------------------------------------------------------------


@dataclass
class RawLine:
    offset: int
    end: int
    """Offset just after the line (and its newline)."""
    data: bytes | None
    """The whole line, or None for an oversized one (see ``fields``)."""
    complete: bool
    """False for a last line without its newline."""
    size: int = 0
    fields: dict[str, Any] | None = None
    """For an oversized line: the fields found by scanning it."""


_SCAN_PATTERNS: dict[str, re.Pattern[bytes]] = {
    name: re.compile(rb'"' + name.encode() + rb'"\s*:\s*"((?:[^"\\]|\\.){0,512})"')
    for name in ("type", "sessionId", "promptId", "uuid", "parentUuid", "timestamp", "agentId", "tool_use_id",
                 "requestId", "model", "cwd", "version")
}
_SCAN_BOOL = {name: re.compile(rb'"' + name.encode() + rb'"\s*:\s*(true|false)') for name in ("is_error", "isSidechain")}
_SCAN_TOOL_USE = re.compile(rb'"type"\s*:\s*"tool_use"\s*,\s*"id"\s*:\s*"([^"\\]{1,200})"\s*,\s*"name"\s*:\s*"([^"\\]{1,200})"')
_SCAN_MSG_ID = re.compile(rb'"id"\s*:\s*"(msg_[^"\\]{1,200})"')


def _scan_oversized(first: bytes, fh: Any) -> tuple[dict[str, Any], int, bool]:
    """Read the rest of a huge line in chunks, keeping only the first match of each field."""
    found: dict[str, Any] = {}
    head = first[:4096]
    size = len(first)
    window = b""
    chunk = first
    complete = False
    while True:
        text = window + chunk
        for name, pattern in _SCAN_PATTERNS.items():
            if name not in found:
                m = pattern.search(text)
                if m:
                    found[name] = m.group(1).decode("utf-8", "replace")
        for name, pattern in _SCAN_BOOL.items():
            if name not in found:
                m = pattern.search(text)
                if m:
                    found[name] = m.group(1) == b"true"
        if "tool_use" not in found:
            m = _SCAN_TOOL_USE.search(text)
            if m:
                found["tool_use"] = (m.group(1).decode(), m.group(2).decode())
        if "message_id" not in found:
            m = _SCAN_MSG_ID.search(text)
            if m:
                found["message_id"] = m.group(1).decode()
        if chunk.endswith(b"\n"):
            complete = True
            break
        window = text[-1024:]
        chunk = fh.readline(SCAN_CHUNK)
        if not chunk:
            break
        size += len(chunk)
    found["_head"] = head.decode("utf-8", "replace")
    return found, size, complete


def iter_lines(fh: Any, offset: int, max_line: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    fh.seek(offset)
    pos = offset
    while True:
        data = fh.readline(max_line + 1)
        if not data:
            return
        if len(data) > max_line and not data.endswith(b"\n"):
            fields, size, complete = _scan_oversized(data, fh)
            yield RawLine(pos, pos + size, None, complete, size, fields)
            pos += size
            continue
        yield RawLine(pos, pos + len(data), data, data.endswith(b"\n"), len(data))
        pos += len(data)


# ---------------------------------------------------------------------------------------------
# Per-file parse state (saved in the checkpoint so a re-run continues where it stopped)
# ---------------------------------------------------------------------------------------------


@dataclass
class FileState:
    offset: int = 0
    head: str = ""
    """Hash of the file's first bytes: a different head means the file was replaced."""
    session_id: str | None = None
    prompt_id: str | None = None
    cwd: str | None = None
    version: str | None = None
    pending_tools: dict[str, list] = field(default_factory=dict)
    """tool_use_id -> [tool_name, timestamp, tool_input or None, agent_id or None]"""
    sidechains: dict[str, str] = field(default_factory=dict)
    """old inline sidechains: line uuid -> agent id"""
    task_prompts: dict[str, list] = field(default_factory=dict)
    """old layout: Task prompt text hash -> [tool_use_id, subagent_type]"""
    agent_of_tool: dict[str, list] = field(default_factory=dict)
    """Agent/Task tool_use_id -> [agent_id, agent_type]"""

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FileState":
        state = cls()
        for key, value in data.items():
            if hasattr(state, key):
                setattr(state, key, value)
        return state


def _trim(d: dict, limit: int) -> None:
    while len(d) > limit:
        d.pop(next(iter(d)))


def _head_hash(path: Path, length: int = 1024) -> str:
    """``<n>:<hash of the first n bytes>``: compared over the same n bytes as the file grows."""
    with open(path, "rb") as fh:
        data = fh.read(length)
    return f"{len(data)}:{hashlib.sha256(data).hexdigest()[:16]}"


# ---------------------------------------------------------------------------------------------
# The parser of one file
# ---------------------------------------------------------------------------------------------


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)]
        return "\n".join(parts) if parts else None
    return None


def _capped(value: Any) -> Any:
    """A tool response as sent, unless its JSON is larger than MAX_RESPONSE_BYTES."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    if len(text) <= MAX_RESPONSE_BYTES:
        return value
    return {"truncated": True, "bytes": len(text.encode("utf-8", "replace")), "head": text[:4096]}


class _FileParser:
    def __init__(self, path: Path, file_key: str, state: FileState, writer: SpoolWriter, report: ImportReport,
                 agent_id: str | None, agent_meta: dict[str, Any], links: dict[str, list]) -> None:
        self.links = links
        self.path = path
        self.file_key = file_key
        self.state = state
        self.writer = writer
        self.report = report
        self.file_agent_id = agent_id
        self.agent_meta = agent_meta
        self.api: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self.api_seen_at: dict[tuple[str, str], int] = {}
        self.line_no = 0

    # -- output -----------------------------------------------------------------------------
    def _emit(self, payload: dict[str, Any], offset: int, index: int, line: dict[str, Any]) -> None:
        st = self.state
        payload.setdefault("session_id", st.session_id)
        payload.setdefault("transcript_path", str(self.path))
        payload.setdefault("cwd", st.cwd)
        ts = line.get("timestamp")
        if isinstance(ts, str):
            payload.setdefault("timestamp", ts)
        if st.prompt_id is not None:
            payload.setdefault("prompt_id", st.prompt_id)
        if isinstance(line.get("uuid"), str):
            payload.setdefault("transcript_uuid", line["uuid"])
        if st.version is not None:
            payload.setdefault("claude_code_version", st.version)
        clean = {k: v for k, v in payload.items() if v is not None}
        event_id = stable_id("transcript", st.session_id, self.file_key, offset, index, clean.get("hook_event_name"))
        self.writer.add(clean, event_id)
        self.report.events += 1

    def _agent_fields(self, line: dict[str, Any]) -> dict[str, Any]:
        if self.file_agent_id is not None:
            return {"agent_id": self.file_agent_id, "agent_type": self.agent_meta.get("agentType")}
        if line.get("isSidechain") is True:
            agent_id = line.get("agentId") if isinstance(line.get("agentId"), str) else None
            if agent_id is None:
                parent = line.get("parentUuid")
                agent_id = self.state.sidechains.get(parent) if isinstance(parent, str) else None
            if agent_id is not None:
                agent_type = None
                for tool_use_id, (aid, atype) in self.state.agent_of_tool.items():
                    if aid == agent_id:
                        agent_type = atype
                        break
                return {"agent_id": agent_id, "agent_type": agent_type}
        return {}

    # -- per line ---------------------------------------------------------------------------
    def handle(self, raw: RawLine) -> None:
        self.line_no += 1
        if raw.data is not None:
            text = raw.data.strip()
            if not text:
                return
            try:
                line = json.loads(text)
            except (ValueError, UnicodeDecodeError) as exc:
                self.report.errors.append(f"{self.path}: line {self.line_no} (byte {raw.offset}): not JSON ({exc}); skipped")
                return
        else:
            line = self._from_scan(raw)
            self.report.warnings.append(
                f"{self.path}: line {self.line_no} (byte {raw.offset}) is {raw.size} bytes; kept its ids, not its content"
            )
        if not isinstance(line, dict):
            self.report.errors.append(f"{self.path}: line {self.line_no}: not a JSON object; skipped")
            return
        st = self.state
        if isinstance(line.get("sessionId"), str):
            st.session_id = line["sessionId"]
            self.report.sessions.add(st.session_id)
        if isinstance(line.get("cwd"), str):
            st.cwd = line["cwd"]
        if isinstance(line.get("version"), str):
            st.version = line["version"]
        kind = line.get("type")
        try:
            if kind == "user":
                self._user(line, raw.offset)
            elif kind == "assistant":
                self._assistant(line, raw.offset)
            elif kind == "system":
                self._system(line, raw.offset)
            else:
                name = kind if isinstance(kind, str) else "<none>"
                self.report.skipped_line_types[name] = self.report.skipped_line_types.get(name, 0) + 1
        except Exception as exc:  # one odd line never stops the file
            self.report.errors.append(f"{self.path}: line {self.line_no} (byte {raw.offset}): {type(exc).__name__}: {exc}; skipped")
        self._flush_api(force=False)

    def _from_scan(self, raw: RawLine) -> dict[str, Any]:
        f = raw.fields or {}
        line: dict[str, Any] = {k: f[k] for k in ("type", "sessionId", "promptId", "uuid", "parentUuid", "timestamp",
                                                  "agentId", "isSidechain", "cwd", "version", "requestId") if k in f}
        note = f"[{raw.size} bytes, not imported] " + f.get("_head", "")[:1000]
        if f.get("type") == "user" and "tool_use_id" in f:
            line["message"] = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f["tool_use_id"],
                                                            "is_error": bool(f.get("is_error")), "content": note}]}
            line["toolUseResult"] = {"truncated": True, "bytes": raw.size}
        elif f.get("type") == "assistant":
            content = []
            if "tool_use" in f:
                content.append({"type": "tool_use", "id": f["tool_use"][0], "name": f["tool_use"][1],
                                "input": {"truncated": True, "bytes": raw.size}})
            line["message"] = {"role": "assistant", "id": f.get("message_id"), "model": f.get("model"), "content": content}
        else:
            line["type"] = "oversized"
        return line

    def _user(self, line: dict[str, Any], offset: int) -> None:
        st = self.state
        message = line.get("message") if isinstance(line.get("message"), dict) else {}
        content = message.get("content")
        if isinstance(line.get("promptId"), str):
            st.prompt_id = line["promptId"]
        results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(content, list) else []
        if line.get("isSidechain") is True and self.file_agent_id is None and line.get("parentUuid") is not None:
            self._link_sidechain(line)
        if results:
            for index, block in enumerate(results):
                self._tool_result(line, block, offset, index)
            return
        text = _text_of(content)
        if text is None:
            return
        in_subagent = self.file_agent_id is not None or line.get("isSidechain") is True
        if in_subagent:
            if line.get("parentUuid") is None:
                self._subagent_start(line, text, offset)
            return
        if line.get("isMeta") is True or line.get("isCompactSummary") is True or line.get("isVisibleInTranscriptOnly"):
            return
        if text.lstrip().startswith(NOT_PROMPT_PREFIXES):
            return
        payload = {"hook_event_name": "UserPromptSubmit", "prompt": text, "permission_mode": line.get("permissionMode")}
        if not isinstance(line.get("promptId"), str):
            # old versions: no prompt id; ingest derives the trace from session order
            st.prompt_id = None
        self._emit(payload, offset, 0, line)

    def _link_sidechain(self, line: dict[str, Any]) -> None:
        parent = line.get("parentUuid")
        uuid = line.get("uuid")
        if isinstance(parent, str) and isinstance(uuid, str) and parent in self.state.sidechains:
            self.state.sidechains[uuid] = self.state.sidechains[parent]
            _trim(self.state.sidechains, 50_000)

    def _subagent_start(self, line: dict[str, Any], text: str, offset: int) -> None:
        st = self.state
        parent_tool = None
        agent_type = None
        if self.file_agent_id is not None:
            agent_id = self.file_agent_id
            parent_tool = self.agent_meta.get("toolUseId")
            agent_type = self.agent_meta.get("agentType")
            link = self.links.pop(_prompt_key(st.session_id, text), None)
            if link is not None:
                parent_tool = parent_tool or link[0]
                agent_type = agent_type if agent_type is not None else link[1]
                if agent_type is not None:
                    self.agent_meta = {**self.agent_meta, "agentType": agent_type}
        else:
            agent_id = line.get("agentId") if isinstance(line.get("agentId"), str) else None
            key = _prompt_key(st.session_id, text)
            own, shared = st.task_prompts.pop(key, None), self.links.pop(key, None)
            link = own or shared
            if link is not None:
                parent_tool, agent_type = link[0], link[1]
            if agent_id is None:
                base = parent_tool or line.get("uuid") or f"{offset}"
                agent_id = "sidechain-" + stable_id(st.session_id, base)[:16]
            if isinstance(line.get("uuid"), str):
                st.sidechains[line["uuid"]] = agent_id
            if parent_tool is not None:
                st.agent_of_tool[parent_tool] = [agent_id, agent_type]
                _trim(st.agent_of_tool, MAX_PENDING_TOOLS)
        payload = {
            "hook_event_name": "SubagentStart",
            "agent_id": agent_id,
            "agent_type": agent_type if agent_type is not None else "",
            "parent_tool_use_id": parent_tool,
            "subagent_prompt": text,
            "agent_transcript_path": str(self.path) if self.file_agent_id is not None else None,
        }
        self._emit(payload, offset, 0, line)

    def _assistant(self, line: dict[str, Any], offset: int) -> None:
        st = self.state
        message = line.get("message") if isinstance(line.get("message"), dict) else {}
        if isinstance(line.get("isSidechain"), bool) and line.get("isSidechain") and self.file_agent_id is None:
            self._link_sidechain(line)
        agent = self._agent_fields(line)
        content = message.get("content") if isinstance(message.get("content"), list) else []
        for index, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") not in ("tool_use", "server_tool_use"):
                continue
            tool_use_id = block.get("id")
            name = block.get("name")
            tool_input = block.get("input")
            if not isinstance(tool_use_id, str):
                continue
            small_input = tool_input
            try:
                if len(json.dumps(tool_input, default=str)) > MAX_PENDING_INPUT_BYTES:
                    small_input = None
            except (TypeError, ValueError):
                small_input = None
            st.pending_tools[tool_use_id] = [name, line.get("timestamp"), small_input, agent.get("agent_id")]
            _trim(st.pending_tools, MAX_PENDING_TOOLS)
            if name in SUBAGENT_TOOLS and isinstance(tool_input, dict) and isinstance(tool_input.get("prompt"), str):
                key = _prompt_key(st.session_id, tool_input["prompt"])
                st.task_prompts[key] = [tool_use_id, tool_input.get("subagent_type")]
                self.links[key] = [tool_use_id, tool_input.get("subagent_type")]
                _trim(st.task_prompts, MAX_PENDING_TOOLS)
                _trim(self.links, MAX_PENDING_TOOLS)
            payload = {"hook_event_name": "PreToolUse", "tool_name": name, "tool_input": _capped(tool_input),
                       "tool_use_id": tool_use_id, **agent}
            self._emit(payload, offset, index, line)
        self._api_usage(line, message, agent)
        if (message.get("stop_reason") == "end_turn" and self.file_agent_id is not None
                and self.agent_meta.get("requestShape") == "background"):
            # a background subagent ends here; its Agent tool result only said "launched"
            payload = {"hook_event_name": "SubagentStop", "stop_hook_active": False,
                       "parent_tool_use_id": self.agent_meta.get("toolUseId"),
                       "last_assistant_message": _text_of(content), **agent}
            payload["agent_type"] = payload.get("agent_type") or ""
            self._emit(payload, offset, len(content) + 2, line)
        if message.get("stop_reason") == "end_turn" and not agent and line.get("isSidechain") is not True:
            payload = {"hook_event_name": "Stop", "stop_hook_active": False,
                       "last_assistant_message": _text_of(content)}
            self._emit(payload, offset, len(content) + 1, line)

    def _api_usage(self, line: dict[str, Any], message: dict[str, Any], agent: dict[str, Any]) -> None:
        message_id = message.get("id")
        usage = message.get("usage")
        if not isinstance(message_id, str) or not isinstance(usage, dict):
            return
        request_id = line.get("requestId") if isinstance(line.get("requestId"), str) else ""
        key = (message_id, request_id)
        entry = self.api.get(key)
        if entry is None:
            entry = {
                "payload": {
                    "hook_event_name": "api_response",
                    "message_id": message_id,
                    "request_id": request_id or None,
                    "model": message.get("model"),
                    "session_id": self.state.session_id,
                    "prompt_id": self.state.prompt_id,
                    "timestamp": line.get("timestamp"),
                    "transcript_path": str(self.path),
                    "cwd": self.state.cwd,
                    **agent,
                },
            }
            self.api[key] = entry
        p = entry["payload"]
        for src, dst in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                         ("cache_read_input_tokens", "cache_read_tokens"),
                         ("cache_creation_input_tokens", "cache_creation_tokens")):
            value = usage.get(src)
            if isinstance(value, int) and not isinstance(value, bool):
                p[dst] = max(value, p.get(dst) or 0)
        if isinstance(message.get("stop_reason"), str):
            p["stop_reason"] = message["stop_reason"]
        p["status"] = "ok"
        self.api.move_to_end(key)
        self.api_seen_at[key] = self.line_no

    def _flush_api(self, force: bool) -> None:
        while self.api:
            key, entry = next(iter(self.api.items()))
            if not force and self.line_no - self.api_seen_at.get(key, 0) < API_FLUSH_AFTER_LINES:
                return
            self.api.popitem(last=False)
            self.api_seen_at.pop(key, None)
            payload = {k: v for k, v in entry["payload"].items() if v is not None}
            self.writer.add(payload, stable_id("transcript-api", payload.get("session_id"), key[0], key[1]))
            self.report.events += 1
            self.report.api_responses += 1

    def _tool_result(self, line: dict[str, Any], block: dict[str, Any], offset: int, index: int) -> None:
        st = self.state
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            return
        pending = st.pending_tools.pop(tool_use_id, None) or [None, None, None, None]
        name, started, tool_input, pending_agent = pending
        agent = self._agent_fields(line)
        if not agent and pending_agent is not None:
            agent = {"agent_id": pending_agent}
        result = line.get("toolUseResult")
        duration = None
        if isinstance(result, dict):
            for key in ("durationMs", "totalDurationMs", "duration_ms"):
                if isinstance(result.get(key), (int, float)) and not isinstance(result.get(key), bool):
                    duration = float(result[key])
                    break
        if duration is None:
            duration = _ms_between(started, line.get("timestamp"))
        is_error = block.get("is_error") is True
        if name in SUBAGENT_TOOLS:
            self._subagent_stop(line, tool_use_id, result, offset, index)
        payload: dict[str, Any] = {
            "tool_name": name,
            "tool_input": tool_input,
            "tool_use_id": tool_use_id,
            "duration_ms": duration,
            **agent,
        }
        if is_error:
            text = _text_of(block.get("content"))
            if text is None and isinstance(block.get("content"), str):
                text = block["content"]
            payload["hook_event_name"] = "PostToolUseFailure"
            payload["error"] = text if text is not None else (result if isinstance(result, str) else None)
            payload["is_interrupt"] = bool(text) and any(marker in text for marker in INTERRUPT_MARKERS)
        else:
            payload["hook_event_name"] = "PostToolUse"
            payload["tool_response"] = _capped(result if result is not None else block.get("content"))
        self._emit(payload, offset, 100 + index, line)

    def _subagent_stop(self, line: dict[str, Any], tool_use_id: str, result: Any, offset: int, index: int) -> None:
        st = self.state
        linked = st.agent_of_tool.pop(tool_use_id, None)
        agent_id = agent_type = None
        status = None
        if isinstance(result, dict):
            agent_id = result.get("agentId") if isinstance(result.get("agentId"), str) else None
            agent_type = result.get("agentType") if isinstance(result.get("agentType"), str) else None
            status = result.get("status") if isinstance(result.get("status"), str) else None
        if agent_id is None and linked is not None:
            agent_id, agent_type = linked[0], agent_type or linked[1]
        if agent_id is None or status not in (None, "completed"):
            return  # a background launch: the subagent ends later, in a task notification
        payload = {
            "hook_event_name": "SubagentStop",
            "agent_id": agent_id,
            "agent_type": agent_type if agent_type is not None else "",
            "parent_tool_use_id": tool_use_id,
            "stop_hook_active": False,
            "last_assistant_message": _text_of(result.get("content")) if isinstance(result, dict) else None,
        }
        self._emit(payload, offset, 50 + index, line)

    def _system(self, line: dict[str, Any], offset: int) -> None:
        subtype = line.get("subtype")
        if subtype == "compact_boundary":
            meta = line.get("compactMetadata") if isinstance(line.get("compactMetadata"), dict) else {}
            payload = {"hook_event_name": "PreCompact", "trigger": meta.get("trigger"),
                       "pre_tokens": meta.get("preTokens"), "compact_boundary": True}
            self._emit(payload, offset, 0, line)
        elif subtype == "api_error":
            error = line.get("error")
            payload = {"hook_event_name": "api_response", "status": "error",
                       "error": error if isinstance(error, str) else json.dumps(error, default=str)[:2000],
                       "retry_attempt": line.get("retryAttempt")}
            self._emit(payload, offset, 0, line)
        else:
            name = f"system:{subtype}"
            self.report.skipped_line_types[name] = self.report.skipped_line_types.get(name, 0) + 1

    def finish(self) -> None:
        self._flush_api(force=True)


def _prompt_key(session_id: str | None, text: str) -> str:
    """Links a subagent's first message to the Agent/Task call that gave it that prompt."""
    return hashlib.sha256(f"{session_id}\x1f{text.strip()}".encode("utf-8", "replace")).hexdigest()[:16]


def _ms_between(start: Any, end: Any) -> float | None:
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    try:
        from datetime import datetime

        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    ms = (b - a).total_seconds() * 1000.0
    return round(ms, 3) if ms >= 0 else None


# ---------------------------------------------------------------------------------------------
# Files, checkpoint, entry point
# ---------------------------------------------------------------------------------------------

_AGENT_FILE = re.compile(r"^agent-(.+)\.jsonl$")


def default_root() -> Path:
    return Path.home() / ".claude" / "projects"


def find_transcripts(root: Path) -> list[Path]:
    """Session files first, then subagent files (so a subagent's parent is seen first)."""
    if root.is_file():
        return [root]
    files = [p for p in root.rglob("*.jsonl") if p.is_file()]
    return sorted(files, key=lambda p: (p.name.startswith("agent-"), str(p)))


def _file_key(path: Path) -> str:
    if path.parent.name == "subagents":
        return "/".join(path.parts[-3:])
    return path.name


def _agent_of(path: Path) -> tuple[str | None, dict[str, Any]]:
    m = _AGENT_FILE.match(path.name)
    if not m:
        return None, {}
    meta: dict[str, Any] = {}
    meta_path = path.with_name(f"agent-{m.group(1)}.meta.json")
    try:
        loaded = json.loads(meta_path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            meta = loaded
    except (OSError, ValueError):
        pass
    return m.group(1), meta


class Checkpoint:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, dict[str, Any]] = {}
        self.links: dict[str, list] = {}
        """Agent/Task prompts not yet matched to a subagent file (prompt key -> [tool_use_id, type])."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("files"), dict):
                self.files = data["files"]
                self.links = data.get("links") if isinstance(data.get("links"), dict) else {}
        except (OSError, ValueError):
            pass

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"version": 1, "files": self.files, "links": self.links}), encoding="utf-8")
        os.replace(tmp, self.path)


def import_transcripts(path: str | os.PathLike[str] | None = None, paths: Any = None) -> ImportReport:
    """Import every transcript under ``path`` (a file or folder; default ``~/.claude/projects``)."""
    from hooklake.errors import HooklakeError
    from hooklake.paths import Paths

    p = paths if paths is not None else Paths.resolve()
    root = Path(path).expanduser() if path is not None else default_root()
    if not root.exists():
        raise HooklakeError(f"{root}: no such file or folder (pass the Claude Code projects folder or a .jsonl transcript)")
    report = ImportReport()
    started = time.perf_counter()
    checkpoint = Checkpoint(Path(p.state) / CHECKPOINT_NAME)
    last_save = time.monotonic()
    with SpoolWriter(Path(p.spool), envelope.SOURCE_TRANSCRIPT) as writer:
        for file in find_transcripts(root):
            files_before = report.files
            try:
                _import_file(file, checkpoint, writer, report)
            except OSError as exc:
                report.errors.append(f"{file}: cannot read ({exc}); skipped")
            # the spool first, then the checkpoint: a crash in between re-reads (same ids), never skips
            if report.files != files_before and time.monotonic() - last_save >= CHECKPOINT_EVERY_S:
                writer.flush()
                checkpoint.save()
                last_save = time.monotonic()
        writer.flush()
        checkpoint.save()
    report.duration_s = time.perf_counter() - started
    return report


def _import_file(file: Path, checkpoint: Checkpoint, writer: SpoolWriter, report: ImportReport) -> None:
    key = str(file.resolve())
    size = file.stat().st_size
    saved = checkpoint.files.get(key)
    state = FileState.from_json(saved) if saved else FileState()
    known_len = int(state.head.split(":", 1)[0]) if saved and ":" in state.head else 1024
    if saved and (_head_hash(file, known_len) != state.head or size < state.offset):
        report.warnings.append(f"{file}: replaced or shortened since the last import; read again from the start")
        state = FileState()
    state.head = _head_hash(file)
    if state.session_id is None and file.parent.name == "subagents":
        state.session_id = file.parent.parent.name
    elif state.session_id is None and not file.name.startswith("agent-"):
        state.session_id = file.stem
    if size == state.offset:
        report.files_unchanged += 1
        return
    report.files += 1
    agent_id, meta = _agent_of(file)
    links = checkpoint.links
    parser = _FileParser(file, _file_key(file), state, writer, report, agent_id, meta, links)
    with open(file, "rb") as fh:
        for raw in iter_lines(fh, state.offset):
            if not raw.complete:
                if raw.data is not None:
                    try:
                        json.loads(raw.data)
                    except (ValueError, UnicodeDecodeError):
                        report.warnings.append(
                            f"{file}: last line (byte {raw.offset}, {raw.size} bytes) is incomplete; "
                            "it will be read again on the next import"
                        )
                        break
                else:
                    report.warnings.append(f"{file}: last line (byte {raw.offset}) is incomplete; will be retried")
                    break
            parser.handle(raw)
            report.lines += 1
            report.bytes_read += raw.size
            state.offset = raw.end
    parser.finish()
    checkpoint.files[key] = state.to_json()
