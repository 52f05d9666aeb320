"""``hooklake run``: run a user's own hook command and measure it, changing nothing it does.

    hooklake run [--timeout SECONDS] [--name NAME] [--sh] -- CMD [ARGS...]

Contract with Claude Code, kept exactly: the hook's stdin payload is passed through byte for
byte, its stdout and stderr are relayed as they come, and its exit code is ours (2 still blocks).
Added: the correlation ids go to the child as ``HOOKLAKE_CORRELATION_ID``, ``HOOKLAKE_ROOT_ID``,
``HOOKLAKE_PARENT_ID``, ``HOOKLAKE_EXECUTION_ID``, ``HOOKLAKE_SESSION_ID`` (taken from the payload's
``prompt_id`` / ``session_id``, or from an enclosing wrapper), a child still running after the
timeout is killed (exit 124, a non-blocking error for Claude Code), and one ``hook_execution``
event is appended to the spool. ``--sh`` runs CMD as one shell string (``sh -c``), which is how
``hooklake install --wrap-existing`` wraps commands that use pipes or ``&&``.

Speed: this file is standard library only and runs as ``python -S -I hooks/wrapper.py``; the
native twin ``hooks/wrapper.c`` (built by :func:`build_native`) does the same in well under a
millisecond and is what installed hooks call. Both write identical events (a test runs both).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

ENV_TIMEOUT = "HOOKLAKE_RUN_TIMEOUT"
ENV_REPORT_FILE = "HOOKLAKE_REPORT_FILE"
DEFAULT_TIMEOUT_S = 600.0
EXIT_TIMEOUT = 124
EXIT_USAGE = 64
STDOUT_KEEP = 64 * 1024
ERROR_KEEP = 2000
NATIVE_NAME = "hooklake-run"
NATIVE_SOURCE = "wrapper.c"

USAGE = "usage: hooklake run [--timeout SECONDS] [--name NAME] [--sh] -- CMD [ARGS...]\n"


class Options:
    __slots__ = ("timeout", "name", "shell", "command")

    def __init__(self) -> None:
        self.timeout: float | None = None
        self.name: str | None = None
        self.shell = False
        self.command: list[str] = []


def parse_args(argv: list[str]) -> Options:
    """Hand-rolled (argparse costs start-up time); raises ValueError with a usage message."""
    opts = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            opts.command = argv[i + 1 :]
            break
        if arg in ("--timeout", "-t") and i + 1 < len(argv):
            opts.timeout = _positive(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--timeout="):
            opts.timeout = _positive(arg.split("=", 1)[1])
        elif arg == "--name" and i + 1 < len(argv):
            opts.name = argv[i + 1]
            i += 2
            continue
        elif arg.startswith("--name="):
            opts.name = arg.split("=", 1)[1]
        elif arg == "--sh":
            opts.shell = True
        elif arg.startswith("-"):
            raise ValueError(f"unknown option {arg!r}")
        else:
            opts.command = argv[i:]
            break
        i += 1
    if not opts.command:
        raise ValueError("no command given")
    if opts.shell and len(opts.command) != 1:
        raise ValueError("--sh takes exactly one shell string after --")
    if opts.timeout is None:
        env = os.environ.get(ENV_TIMEOUT)
        opts.timeout = _positive(env) if env else DEFAULT_TIMEOUT_S
    return opts


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"timeout must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"timeout must be > 0, got {text!r}")
    return value


def _span_id() -> str:
    value = os.urandom(8).hex()
    return value if value != "0" * 16 else "0" * 15 + "1"


def _uuid4() -> str:
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _iso(ts: float) -> str:
    t = time.gmtime(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int((ts % 1) * 1000):03d}Z"


def _str_field(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value != "" else None


def correlation(payload: dict, environ: dict) -> dict[str, str]:
    """Ids for this execution: the trace from the payload (or an enclosing wrapper), a fresh span."""
    env_cid = environ.get("HOOKLAKE_CORRELATION_ID") or None
    prompt_id = _str_field(payload, "prompt_id")
    cid = prompt_id or env_cid or _uuid4()
    nested = env_cid is not None and env_cid == cid
    root = (environ.get("HOOKLAKE_ROOT_ID") or None) if nested else None
    parent = (environ.get("HOOKLAKE_EXECUTION_ID") or None) if nested else None
    if parent is None:
        parent = _str_field(payload, "tool_use_id")
    session = _str_field(payload, "session_id") or environ.get("HOOKLAKE_SESSION_ID") or None
    ids = {
        "correlation_id": cid,
        "root_id": root if root is not None else cid,
        "parent_id": parent,
        "execution_id": _span_id(),
        "session_id": session,
    }
    return {k: v for k, v in ids.items() if v is not None}


def decision_of(stdout_head: bytes, exit_code: int | None, timed_out: bool) -> str:
    """What the hook decided: an explicit JSON decision on stdout, else from the exit code."""
    if timed_out:
        return "timeout"
    try:
        out = json.loads(stdout_head.decode("utf-8")) if stdout_head.lstrip()[:1] == b"{" else None
    except (ValueError, UnicodeDecodeError):
        out = None
    if isinstance(out, dict):
        spec = out.get("hookSpecificOutput")
        if isinstance(spec, dict) and isinstance(spec.get("permissionDecision"), str):
            return spec["permissionDecision"]
        if isinstance(out.get("decision"), str):
            return out["decision"]
        if out.get("continue") is False:
            return "stop"
    if exit_code == 0:
        return "allow"
    if exit_code == 2:
        return "block"
    return "error"


def read_reports(path: str) -> dict[str, list]:
    """Reports a wrapped hook made with ``hooklake emit`` (see hooks/sdk/report.py); file removed."""
    fields = {"intelligence_function": "intelligence_functions", "rag_query": "rag_queries", "quality_gate": "quality_gates"}
    found: dict[str, list] = {}
    try:
        with open(path, "rb") as fh:
            data = fh.read(4 * 1024 * 1024)
        os.unlink(path)
    except OSError:
        return found
    for line in data.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("type") in fields and isinstance(item.get("data"), dict):
            found.setdefault(fields[item["type"]], []).append(item["data"])
    return found


def _read_stdin() -> bytes:
    try:
        if os.isatty(0):
            return b""
    except OSError:
        return b""
    chunks = []
    while True:
        try:
            chunk = os.read(0, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _stdin_fd(data: bytes) -> int:
    """A readable fd holding exactly ``data`` (memfd, else an unlinked temp file): no pipe deadlock."""
    try:
        fd = os.memfd_create("hooklake-stdin", 0)
    except (AttributeError, OSError):
        import tempfile

        fd, name = tempfile.mkstemp(prefix="hooklake-stdin-")
        os.unlink(name)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BrokenPipeError:
            return
        except InterruptedError:
            continue
        view = view[n:]


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except OSError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def run(opts: Options, environ: dict | None = None) -> int:
    """Run the wrapped command; returns its exit code (124 on timeout)."""
    import selectors

    env = dict(os.environ if environ is None else environ)
    stdin_data = _read_stdin()
    try:  # the first JSON value on stdin; trailing bytes are passed on but not parsed (as the native twin)
        text = stdin_data.decode("utf-8").lstrip()
        payload = json.JSONDecoder().raw_decode(text)[0] if text else {}
    except (ValueError, UnicodeDecodeError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    ids = correlation(payload, env)
    child_env = dict(env)
    for key, name in (
        ("correlation_id", "HOOKLAKE_CORRELATION_ID"),
        ("root_id", "HOOKLAKE_ROOT_ID"),
        ("parent_id", "HOOKLAKE_PARENT_ID"),
        ("execution_id", "HOOKLAKE_EXECUTION_ID"),
        ("session_id", "HOOKLAKE_SESSION_ID"),
    ):
        if key in ids:
            child_env[name] = ids[key]
        else:
            child_env.pop(name, None)
    tmpdir = env.get("TMPDIR") or "/tmp"
    report_path = os.path.join(tmpdir, f"hooklake-report-{os.getpid()}-{ids['execution_id']}.jsonl")
    child_env[ENV_REPORT_FILE] = report_path
    argv = ["/bin/sh", "-c", opts.command[0]] if opts.shell else list(opts.command)
    command_text = opts.command[0] if opts.shell else " ".join(_quote(a) for a in opts.command)

    started_wall = time.time()
    t0 = time.perf_counter()
    in_fd = _stdin_fd(stdin_data)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    exec_r, exec_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setpgid(0, 0)
            os.dup2(in_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_fd, out_r, out_w, err_r, err_w, exec_r):
                os.close(fd)
            for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            os.execvpe(argv[0], argv, child_env)
        except BaseException as exc:  # exec failed: tell the parent, exit like a shell would
            try:
                os.write(exec_w, f"{type(exc).__name__}: {exc}".encode())
            finally:
                os._exit(127)
    os.close(exec_w)
    for fd in (in_fd, out_w, err_w):
        os.close(fd)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass

    def forward(signum: int, _frame: object) -> None:
        _kill_group(pid, signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, forward)
        except (OSError, ValueError):
            pass

    exec_error = os.read(exec_r, 4096).decode("utf-8", "replace")
    os.close(exec_r)
    if exec_error:
        message = f"hooklake run: cannot run {argv[0]!r}: {exec_error}\n".encode()
        _write_all(2, message)

    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ, 1)
    sel.register(err_r, selectors.EVENT_READ, 2)
    open_fds = 2
    counts = {1: 0, 2: 0}
    stdout_head = bytearray()
    stderr_tail = bytearray()
    deadline = t0 + float(opts.timeout)  # type: ignore[arg-type]
    timed_out = False
    killed_at: float | None = None
    while open_fds:
        now = time.perf_counter()
        if not timed_out and now >= deadline:
            timed_out = True
            killed_at = now
            _kill_group(pid, signal.SIGTERM)
        if killed_at is not None and now - killed_at > 0.2:
            _kill_group(pid, signal.SIGKILL)
            killed_at = float("inf")
        wait = max(0.0, deadline - now) if not timed_out else 0.05
        for key, _ in sel.select(timeout=wait):
            try:
                chunk = os.read(key.fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(key.fd)
                os.close(key.fd)
                open_fds -= 1
                continue
            target = key.data
            counts[target] += len(chunk)
            _write_all(target, chunk)
            if target == 1 and len(stdout_head) < STDOUT_KEEP:
                stdout_head += chunk[: STDOUT_KEEP - len(stdout_head)]
            elif target == 2:
                stderr_tail += chunk
                if len(stderr_tail) > ERROR_KEEP:
                    del stderr_tail[: len(stderr_tail) - ERROR_KEEP]
        if timed_out and killed_at == float("inf"):
            break  # the group is dead; a grandchild holding the pipes must not keep us here
    sel.close()
    _, status = os.waitpid(pid, 0)
    duration_ms = (time.perf_counter() - t0) * 1000.0
    if timed_out:
        exit_code = EXIT_TIMEOUT
    elif os.WIFEXITED(status):
        exit_code = os.WEXITSTATUS(status)
    elif os.WIFSIGNALED(status):
        exit_code = 128 + os.WTERMSIG(status)
    else:
        exit_code = 1
    if timed_out:
        _write_all(2, f"hooklake run: hook timed out after {opts.timeout:g}s and was killed\n".encode())

    decision = decision_of(bytes(stdout_head), exit_code, timed_out)
    failed = timed_out or exit_code not in (0, 2)
    event = {
        "hook_event_name": "hook_execution",
        **ids,
        "prompt_id": _str_field(payload, "prompt_id"),
        "timestamp": _iso(started_wall),
        "hook_name": opts.name if opts.name else _hook_name(opts),
        "command": command_text,
        "hook_event": _str_field(payload, "hook_event_name"),
        "tool_name": _str_field(payload, "tool_name"),
        "tool_use_id": _str_field(payload, "tool_use_id"),
        "agent_id": _str_field(payload, "agent_id"),
        "agent_type": payload.get("agent_type") if isinstance(payload.get("agent_type"), str) else None,
        "cwd": _str_field(payload, "cwd"),
        "exit_code": exit_code,
        "decision": decision,
        "status": "error" if failed else "ok",
        "duration_ms": round(duration_ms, 3),
        "stdout_bytes": counts[1],
        "stderr_bytes": counts[2],
        "timed_out": timed_out,
        "timeout_s": opts.timeout,
        "error": (
            f"timed out after {opts.timeout:g}s"
            if timed_out
            else (bytes(stderr_tail).decode("utf-8", "replace").strip() or f"exit code {exit_code}") if failed else None
        ),
        "error_type": "timeout" if timed_out else (f"exit_{exit_code}" if failed else None),
        "reason": bytes(stderr_tail).decode("utf-8", "replace").strip() if exit_code == 2 else None,
    }
    event.update(read_reports(report_path))
    record({k: v for k, v in event.items() if v is not None})
    return exit_code


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _hook_name(opts: Options) -> str:
    first = opts.command[0].split()[0] if opts.shell and opts.command[0].split() else opts.command[0]
    base = os.path.basename(first)
    if base.startswith("python") or base in ("node", "bash", "sh", "uv", "npx", "bun", "deno", "ruby", "perl"):
        words = opts.command[0].split() if opts.shell else opts.command
        for word in words[1:]:
            if word and not word.startswith("-"):
                return os.path.basename(word.split()[0] if word.split() else word)
    return base


def record(payload: dict) -> None:
    """Append the event to the spool; failures are logged by the spool and never change the exit code."""
    try:
        _ensure_import_path()
        from hooks.spool import append_event

        append_event(payload, "wrapper")
    except Exception:
        pass


def _ensure_import_path() -> None:
    """Under ``python -S -I`` the repository is not on sys.path: add the folder holding ``hooks/``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)


# ----------------------------------------------------------------------------------------
# The native twin
# ----------------------------------------------------------------------------------------


def native_source() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), NATIVE_SOURCE)


def native_path(bin_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(bin_dir), NATIVE_NAME)


def find_native(bin_dir: str | os.PathLike[str]) -> str | None:
    """The built helper when it exists and is newer than its source, else None."""
    path = native_path(bin_dir)
    try:
        if os.path.getmtime(path) >= os.path.getmtime(native_source()) and os.access(path, os.X_OK):
            return path
    except OSError:
        return None
    return None


def build_native(bin_dir: str | os.PathLike[str], compiler: str | None = None) -> str | None:
    """Compile ``wrapper.c`` into ``<bin>/hooklake-run``; None when no C compiler works (fallback: Python)."""
    import shutil
    import subprocess

    cc = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None
    os.makedirs(bin_dir, exist_ok=True)
    target = native_path(bin_dir)
    tmp = f"{target}.tmp{os.getpid()}"
    base = [cc, "-O2", "-std=c99", "-D_GNU_SOURCE", "-o", tmp, native_source()]
    # static first: no dynamic loader at start-up saves ~1-2 ms per hook run; plain link otherwise
    for cmd in (base + ["-static"], base):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0:
            try:
                os.replace(tmp, target)
            except OSError:
                return None
            return target
    try:
        os.unlink(tmp)
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts = parse_args(args)
    except ValueError as exc:
        sys.stderr.write(f"hooklake run: {exc}\n{USAGE}")
        return EXIT_USAGE
    return run(opts)


if __name__ == "__main__":
    sys.exit(main())
