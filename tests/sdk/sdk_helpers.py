"""Helpers for SDK tests: Starlette apps served by uvicorn on 127.0.0.1 in a thread, spool reading."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hooklake.paths import Paths


@contextmanager
def serve(app) -> Iterator[str]:
    """Run ``app`` with uvicorn on an ephemeral 127.0.0.1 port; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def spool_payloads(paths: Paths) -> list[dict]:
    out = []
    for f in sorted(Path(paths.spool).glob("*.jsonl")):
        out += [json.loads(line)["payload"] for line in f.read_text().splitlines() if line.strip()]
    return out
