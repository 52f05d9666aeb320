"""The advice hook: a UserPromptSubmit hook that asks ``hooklake serve`` what worked before.

Run by Claude Code as ``python3 -S -I <this file> --state <state dir>`` (see
:func:`advice_hook_command`): no site-packages, no project imports, only ``os``, ``socket`` and
``sys`` on the hot path. It forwards the payload from stdin, unparsed, to the service's ``/advice``
endpoint over the unix socket (or loopback TCP with the bearer token) named in ``<state>/serve.json``,
and prints the service's answer, which is already the JSON Claude Code expects::

    {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "..."}}

Hard rules: one deadline (``timeout_ms`` from serve.json, default 150 ms) bounds connect, send and
receive. It is counted from the process start (see :func:`_process_start`), so the session waits at
most about ``timeout_ms`` in total. On any problem (no service, refused, slow, error status, odd answer) the hook prints nothing
and exits 0, so a session is never delayed past the deadline and never broken. It leaves with
``os._exit`` to skip interpreter teardown, and imports ``socket`` and ``json`` only once a service
is known to exist.
"""

import os
import sys
import time

def _process_start() -> float:
    """When this process started, on the monotonic clock (best of two estimates).

    The CPU time used so far is a lower bound of the time since exec; on Linux the kernel's
    start time (``/proc/self/stat``, in clock ticks since boot, compared with ``/proc/uptime``)
    also counts time spent waiting for a busy CPU. The earlier estimate wins: giving up a few
    milliseconds early is better than delaying the session."""
    now = time.monotonic()
    start = now - time.process_time()
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        started_after_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        start = min(start, now - max(0.0, uptime - started_after_boot))
    except Exception:  # noqa: BLE001 - not Linux, or /proc unreadable: keep the CPU-time estimate
        pass
    return start


_T0 = _process_start()
"""Estimated process start on the monotonic clock."""
EXIT_MARGIN_S = 0.006
"""Kept back from the budget for what the start-up estimate misses and for exiting."""

DEFAULT_TIMEOUT_MS = 150
MAX_ANSWER_BYTES = 64 * 1024
STATE_FILE = "serve.json"
TOKEN_FILE = "serve-token"


def advice_hook_command(paths) -> str:  # type: ignore[no-untyped-def] - stays importable without typing
    """The settings.json command for ``hooklake install --advice`` (a lean interpreter start)."""
    import shlex

    python = sys.executable or "python3"
    return " ".join(
        shlex.quote(part)
        for part in (python, "-S", "-I", os.path.abspath(__file__), "--state", str(paths.state))
    )


def is_advice_command(command: str) -> bool:
    """Whether a settings.json command is this hook (any interpreter, any home): for uninstall."""
    import shlex

    try:
        parts = shlex.split(command)
    except ValueError:
        return False
    suffix = os.sep + os.path.join("hooks", "advice.py")
    return "--state" in parts and any(part.endswith(suffix) for part in parts)


def _parse_state(raw: bytes) -> dict:
    # json costs a few ms to import; serve.json is written by us, small and flat, so json is fine
    # but only imported once the file exists (the no-service path never pays for it).
    import json

    data = json.loads(raw)
    return data if isinstance(data, dict) else {}


def _request(state: dict, state_dir: str, body: bytes, deadline: float) -> bytes | None:
    import socket

    transport = state.get("transport")
    headers = [
        "POST /advice HTTP/1.1",
        "Host: localhost",
        "Content-Type: application/json",
        "Content-Length: %d" % len(body),
        "Connection: close",
    ]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    headers.append("X-Hooklake-Budget-Ms: %d" % int(remaining * 1000))
    if transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = state.get("socket")
    elif transport == "tcp":
        token_path = state.get("token_file") or os.path.join(state_dir, TOKEN_FILE)
        with open(token_path, "rb") as fh:
            token = fh.read().strip().decode("ascii")
        headers.append("Authorization: Bearer " + token)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (state.get("host") or "127.0.0.1", int(state.get("port")))
    else:
        return None
    request = ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body
    try:
        sock.settimeout(remaining)
        sock.connect(address)
        sock.sendall(request)
        chunks = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                return None
    finally:
        sock.close()
    response = b"".join(chunks)
    head, sep, payload = response.partition(b"\r\n\r\n")
    if not sep:
        return None
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        return None
    return payload


def main(argv: list) -> int:
    state_dir = None
    if len(argv) >= 2 and argv[0] == "--state":
        state_dir = argv[1]
    if state_dir is None:
        return 0
    try:
        body = sys.stdin.buffer.read()
        with open(os.path.join(state_dir, STATE_FILE), "rb") as fh:
            state = _parse_state(fh.read())
        timeout_ms = state.get("timeout_ms")
        if not isinstance(timeout_ms, (int, float)) or isinstance(timeout_ms, bool) or timeout_ms <= 0:
            timeout_ms = DEFAULT_TIMEOUT_MS
        deadline = _T0 + timeout_ms / 1000.0 - EXIT_MARGIN_S
        answer = _request(state, state_dir, body, deadline)
    except Exception:  # noqa: BLE001 - no service, refused, slow, unreadable state: stay silent
        return 0
    if answer and answer[:1] == b"{" and time.monotonic() <= deadline:
        try:
            sys.stdout.buffer.write(answer)
            sys.stdout.buffer.flush()
        except Exception:  # noqa: BLE001 - a closed stdout must not fail the hook
            return 0
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except BaseException:  # noqa: BLE001 - never fail the session, whatever happens
        code = 0
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(code)
