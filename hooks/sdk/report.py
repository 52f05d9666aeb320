"""What a wrapped hook reports about its own work: intelligence functions, RAG queries, quality gates.

Each report becomes an ``intelligence`` event (a child step of the hook's execution, ids from the
environment ``hooklake run`` exported) and, inside a wrapped hook, is also appended to the
wrapper's report file (``$HOOKLAKE_REPORT_FILE``) so the hook's ``hook_execution`` event lists
it under ``intelligence_functions`` / ``rag_queries`` / ``quality_gates``.

The report-file line format is fixed, ``{"type":"<type>","data":{...}}`` with compact separators,
because the native wrapper reads it without a JSON parser.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hooks.sdk.context import CorrelationContext, current, new_context
from hooks.sdk.events import KIND_INTELLIGENCE, emit

ENV_REPORT_FILE = "HOOKLAKE_REPORT_FILE"

#: report type -> the hook_execution field that lists reports of that type
REPORT_TYPES: dict[str, str] = {
    "intelligence_function": "intelligence_functions",
    "rag_query": "rag_queries",
    "quality_gate": "quality_gates",
}

#: accepted spellings on the command line
ALIASES: dict[str, str] = {
    "intelligence": "intelligence_function",
    "intelligence_function": "intelligence_function",
    "function": "intelligence_function",
    "rag": "rag_query",
    "rag_query": "rag_query",
    "quality_gate": "quality_gate",
    "gate": "quality_gate",
}


def report_line(report_type: str, data: dict[str, Any]) -> bytes:
    return (
        '{"type":' + json.dumps(report_type) + ',"data":' + json.dumps(data, separators=(",", ":"), default=str) + "}\n"
    ).encode("utf-8")


def report(report_type: str, data: dict[str, Any] | None = None, *, ctx: CorrelationContext | None = None,
           paths: Any = None, source: str = "sdk") -> bool:
    """Record one report; never raises. ``report_type``: intelligence_function, rag_query, quality_gate."""
    try:
        kind = ALIASES.get(report_type)
        if kind is None:
            return False
        body = dict(data or {})
        parent = ctx if ctx is not None else current()
        step = parent.child() if parent is not None else new_context()
        fields = {"intelligence_type": kind, **body}
        written = emit(KIND_INTELLIGENCE, fields, ctx=step, source=source, paths=paths)
        target = os.environ.get(ENV_REPORT_FILE)
        if target:
            try:
                fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, report_line(kind, body))
                finally:
                    os.close(fd)
            except OSError:
                pass
        return written
    except Exception:
        return False
