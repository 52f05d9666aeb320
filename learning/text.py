"""Small text utilities: keywords, error templates, value-stripped request templates.

Pure Python (no heavy imports) so the router and the job share them cheaply.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

_WORD = re.compile(r"[a-z][a-z0-9_+#.-]*[a-z0-9+#]|[a-z]")

STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also am an and any are aren as at be because been before
    being below between both but by can cannot could couldn did didn do does doesn doing don down during
    each few for from further get got had hadn has hasn have haven having he her here hers herself him
    himself his how i if in into is isn it its itself just let lets like make me might more most must my
    myself need needs no nor not now of off on once only or other ought our ours ourselves out over own
    please same shall she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up us use using very want was wasn we were weren what when
    where which while who whom why will with won would you your yours yourself yourselves hey hi thanks
    thank ok okay could can't i'm it's we're there's that's what's let's currently right now maybe really
    something anything everything kind sort bit quick quickly help me look take see try way make sure
    one two new old still already again able""".split()
)


def tokens(text: str) -> list[str]:
    return _WORD.findall((text or "").lower())


def _stem(word: str) -> str:
    """A deliberately light stemmer: plural and -ing/-ed endings, enough for keyword overlap."""
    for suffix, min_len in (("ies", 5), ("ing", 6), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            base = word[: -len(suffix)]
            return base + ("y" if suffix == "ies" else "")
    return word


def keywords(text: str, limit: int = 16) -> list[str]:
    """Distinct content words of a prompt, stemmed lightly, in order of appearance."""
    seen: dict[str, None] = {}
    for tok in tokens(text):
        tok = tok.strip(".-")
        if len(tok) < 3 or tok in STOPWORDS or tok.isdigit():
            continue
        seen.setdefault(_stem(tok), None)
        if len(seen) >= limit:
            break
    return list(seen)


def content_hash(text: str) -> str:
    """Cache key of a prompt's embedding: the text exactly as embedded."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:32]


def stable_int64(*parts: str) -> int:
    """A non-negative int64 from strings (FAISS ids)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def short_hash(*parts: Any, n: int = 16) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:n]


# ---------------------------------------------------------------------------------------------
# Error templates
# ---------------------------------------------------------------------------------------------

_ERR_SUBS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]+){2,}/?"), "<path>"),
    (re.compile(r"\"[^\"]{0,200}\"|'[^']{0,200}'"), "<str>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:ms|s|kb|mb|gb|%)?\b", re.I), "<n>"),
    (re.compile(r"\s+"), " "),
)


def error_template(message: str | None, max_len: int = 240) -> str:
    """Strip values from an error message so occurrences of the same error group together."""
    if not message:
        return "<empty>"
    text = message.strip().splitlines()[0] if message.strip() else message
    for pattern, repl in _ERR_SUBS:
        text = pattern.sub(repl, text)
    return text.strip()[:max_len]


_ERROR_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("timeout", ("timeout", "timed out", "deadline")),
    ("permission", ("permission", "denied", "forbidden", "unauthori", "403", "401")),
    ("not_found", ("not found", "no such file", "404", "does not exist", "enoent")),
    ("validation", ("invalid", "validation", "schema", "expected", "malformed", "400", "422")),
    ("network", ("connection", "refused", "unreachable", "network", "dns", "econn", "socket")),
    ("rate_limit", ("rate limit", "429", "too many requests", "overloaded", "529")),
    ("server_error", ("500", "502", "503", "internal server", "bad gateway")),
    ("test_failure", ("assert", "test failed", "failed tests", "failing test")),
    ("interrupted", ("interrupt", "cancelled", "canceled", "aborted")),
)


def error_type(message: str | None, source_kind: str | None = None) -> str:
    low = (message or "").lower()
    for name, needles in _ERROR_TYPES:
        if any(n in low for n in needles):
            return name
    return f"{source_kind}_error" if source_kind else "error"


# ---------------------------------------------------------------------------------------------
# Endpoint request templates and response schemas
# ---------------------------------------------------------------------------------------------


def strip_values(value: Any, depth: int = 0) -> Any:
    """Keep a JSON value's structure, replace leaves by their type name."""
    if depth > 6:
        return "..."
    if isinstance(value, dict):
        return {str(k): strip_values(v, depth + 1) for k, v in list(value.items())[:40]}
    if isinstance(value, list):
        return [strip_values(value[0], depth + 1)] if value else []
    if isinstance(value, bool):
        return "<bool>"
    if isinstance(value, (int, float)):
        return "<number>"
    if value is None:
        return "<null>"
    return "<string>"


def json_schema_of(value: Any, depth: int = 0) -> Any:
    """A compact JSON-schema-like description of a response."""
    if depth > 5:
        return {}
    if isinstance(value, dict):
        return {"type": "object", "properties": {str(k): json_schema_of(v, depth + 1) for k, v in list(value.items())[:40]}}
    if isinstance(value, list):
        return {"type": "array", "items": json_schema_of(value[0], depth + 1) if value else {}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, (int, float)):
        return {"type": "number"}
    if value is None:
        return {"type": "null"}
    return {"type": "string"}


def parse_json(text: Any) -> Any:
    if text is None or isinstance(text, (dict, list)):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def first_seen(items: Iterable[str | None]) -> list[str]:
    out: dict[str, None] = {}
    for item in items:
        if item:
            out.setdefault(item, None)
    return list(out)
