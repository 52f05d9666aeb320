"""A minimal stdio MCP server with one tool, ``add``, for end-to-end sessions.

JSON-RPC 2.0, one message per line on stdin/stdout (the MCP stdio transport). Claude Code names
its tool ``mcp__<server>__add`` where ``<server>`` is the key in the ``--mcp-config`` file.
Standard library only.
"""

from __future__ import annotations

import json
import sys
from typing import Any

PROTOCOL_VERSION = "2025-06-18"

ADD_TOOL = {
    "name": "add",
    "description": "Add two integers and return the sum.",
    "inputSchema": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}


def handle(request: dict[str, Any]) -> dict[str, Any] | None:
    """The response to one JSON-RPC message, or None for notifications."""
    method = request.get("method")
    if "id" not in request:
        return None
    rid = request["id"]
    if method == "initialize":
        params = request.get("params") or {}
        return {
            "jsonrpc": "2.0",
            "id": rid,
            "result": {
                "protocolVersion": params.get("protocolVersion", PROTOCOL_VERSION),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "calc", "version": "1.0.0"},
            },
        }
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": rid, "result": {"tools": [ADD_TOOL]}}
    if method == "tools/call":
        params = request.get("params") or {}
        args = params.get("arguments") or {}
        if params.get("name") != "add":
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "unknown tool"}}
        try:
            total = int(args["a"]) + int(args["b"])
        except (KeyError, TypeError, ValueError) as exc:
            return {"jsonrpc": "2.0", "id": rid,
                    "result": {"content": [{"type": "text", "text": f"bad arguments: {exc}"}], "isError": True}}
        return {"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": str(total)}]}}
    if method == "ping":
        return {"jsonrpc": "2.0", "id": rid, "result": {}}
    if method in ("resources/list", "prompts/list", "resources/templates/list"):
        key = {"resources/list": "resources", "prompts/list": "prompts",
               "resources/templates/list": "resourceTemplates"}[method]
        return {"jsonrpc": "2.0", "id": rid, "result": {key: []}}
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method not found: {method}"}}


def main() -> int:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            continue
        response = handle(request) if isinstance(request, dict) else None
        if response is not None:
            sys.stdout.write(json.dumps(response) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
