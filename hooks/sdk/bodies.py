"""Request/response bodies made safe to keep: decoded, secrets masked, size-capped.

Ingest redacts again before anything reaches Parquet; masking here means a secret never even
reaches the spool from an instrumented service. A body that cannot be handled becomes a short
description, never an exception.
"""

from __future__ import annotations

import json
import re
from typing import Any

DEFAULT_MAX_BODY_BYTES = 4096
MASK = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|session[-_]?key",
    re.IGNORECASE,
)


def _mask(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return "[nested too deep]"
    if isinstance(value, dict):
        return {
            key: (MASK if isinstance(key, str) and _SECRET_KEY.search(key) else _mask(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask(item, depth + 1) for item in value]
    return value


def sanitise_body(data: bytes | str | None, content_type: str | None = None, limit: int = DEFAULT_MAX_BODY_BYTES,
                  total_size: int | None = None) -> Any:
    """A JSON value (masked) when the body is JSON within ``limit``; else text cut at ``limit`` bytes.

    ``total_size`` is the real size when ``data`` is already a prefix of a longer body.
    Empty bodies give None.
    """
    try:
        if data is None:
            return None
        raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
        size = total_size if total_size is not None else len(raw)
        if size == 0:
            return None
        if limit <= 0:
            return {"omitted_bytes": size}
        truncated = size > limit or len(raw) > limit
        head = raw[:limit]
        looks_json = (content_type is not None and "json" in content_type.lower()) or head[:1] in (b"{", b"[")
        if looks_json and not truncated:
            try:
                return _mask(json.loads(head.decode("utf-8")))
            except (ValueError, UnicodeDecodeError):
                pass
        if content_type is not None and not _is_textual(content_type):
            return {"content_type": content_type, "bytes": size}
        text = head.decode("utf-8", "replace")
        if looks_json:
            text = re.sub(
                r'("(?:[^"\\]|\\.)*(?:pass(?:word|wd)?|secret|token|api[-_]?key|authori[sz]ation)(?:[^"\\]|\\.)*"\s*:\s*)"(?:[^"\\]|\\.)*"',
                r'\1"' + MASK + '"',
                text,
                flags=re.IGNORECASE,
            )
        if truncated:
            return f"{text}…[truncated, {size} bytes]"
        return text
    except Exception:
        return "[body not recorded]"


def _is_textual(content_type: str) -> bool:
    ct = content_type.lower()
    return ct.startswith("text/") or any(part in ct for part in ("json", "xml", "form-urlencoded", "javascript"))


class BodyCapture:
    """Keeps the first ``limit`` bytes of a streamed body and counts the rest."""

    __slots__ = ("limit", "chunks", "kept", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.kept = 0
        self.size = 0

    def add(self, chunk: bytes | None) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        room = self.limit + 1 - self.kept  # one byte more than the cap tells "truncated"
        if room > 0:
            piece = chunk[:room]
            self.chunks.append(piece)
            self.kept += len(piece)

    def value(self, content_type: str | None) -> Any:
        return sanitise_body(b"".join(self.chunks), content_type, self.limit, total_size=self.size)
