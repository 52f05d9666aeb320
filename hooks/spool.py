"""Append events to the spool: the Python capture path and the API for programmatic producers.

Standard library only, and nothing imported at module level beyond ``os``, ``sys``, ``time``,
``_json`` and ``hooks.envelope``: the fallback capture hook (``hooks/capture.py``, run with
``python -S -I``) imports this module for every hook event, so even ``json`` (which pulls in
``re``) is only imported when a payload turns out to be invalid or on the producer API path.

Two entry points, both of which never raise into the caller:

* :func:`append_event` -- a producer (SDK, wrapper, importer, router, demo) hands over a dict;
* :func:`capture_bytes` -- raw stdin bytes of a hook, exactly what ``hooks/capture.c`` does.

Each event becomes ONE line written with ONE ``write()`` to an ``O_APPEND`` file
``<spool>/<YYYYMMDDHH UTC>.<host>.jsonl``, so concurrent writers never tear or interleave
lines. Failures (unwritable folder, disk full, short write) are appended to the capture
error log (``Paths.capture_errors``) and the function returns ``None``.

The line format is byte-for-byte the one the native hook writes (a test compares them):
envelope fields in a fixed order, then either the payload embedded verbatim (trimmed, raw
CR/LF turned into spaces: outside strings they can only be whitespace) or, for a payload
that is not a UTF-8 JSON object, ``"defect"`` and ``"raw_b64"`` with the exact raw bytes.
"""

from __future__ import annotations

import os
import sys
import time

from hooks import envelope as _env

try:  # the C scanner behind json.loads, without importing json (and re, enum, ...) up front
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - interpreters without the _json accelerator
    _make_scanner = None

# Folder layout below the home folder. Must match hooklake/paths.py (a test compares them);
# duplicated so the capture hook never imports more than it needs.
SPOOL_DIR = "spool"
LOGS_DIR = "logs"
ERRORS_FILE = "capture-errors.log"
KILL_SWITCH_FILE = "capture-off"
HOME_ENV = "HOOKLAKE_HOME"
KILL_SWITCH_ENV = "HOOKLAKE_DISABLED"

#: Containers may nest this deep; deeper input is stored as ``invalid_json`` (as in capture.c).
MAX_DEPTH = 512
#: Longest host / source name kept, in bytes (as in capture.c).
MAX_NAME = 128

_JSON_WS = b" \t\r\n"
_NAME_OK = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_OFF_VALUES = ("", "0", "false", "no", "off")


class _Where:
    """The three locations capture needs, as plain strings (no pathlib on the hot path)."""

    __slots__ = ("home", "spool", "errors", "kill_switch")

    def __init__(self, home: str, spool: str, errors: str, kill_switch: str) -> None:
        self.home = home
        self.spool = spool
        self.errors = errors
        self.kill_switch = kill_switch

    @classmethod
    def from_home(cls, home: str) -> "_Where":
        return cls(
            home,
            os.path.join(home, SPOOL_DIR),
            os.path.join(home, LOGS_DIR, ERRORS_FILE),
            os.path.join(home, KILL_SWITCH_FILE),
        )


def default_home() -> str:
    """``$HOOKLAKE_HOME``, else the platform's user data dir (as ``hooklake.paths`` decides).

    Uses ``hooklake.paths`` when it can be imported with its dependencies; under
    ``python -S`` (no site-packages) it computes the same answer itself.
    """
    env = os.environ.get(HOME_ENV)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    try:
        from hooklake.paths import home_dir

        return str(home_dir())
    except Exception:  # platformdirs unavailable under -S: same rule, by hand
        pass
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/hooklake")
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "hooklake")
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if not xdg.strip():
        xdg = os.path.expanduser("~/.local/share")
    return os.path.join(xdg, "hooklake")


def _where(paths: object) -> _Where:
    """Accept a ``hooklake.paths.Paths``, a home folder (str / PathLike) or ``None``."""
    if paths is None:
        return _Where.from_home(default_home())
    if isinstance(paths, (str, os.PathLike)):
        return _Where.from_home(os.path.expanduser(os.fspath(paths)))
    return _Where(str(paths.home), str(paths.spool), str(paths.capture_errors), str(paths.kill_switch))


def capture_disabled(where: _Where) -> bool:
    """The kill switch: ``$HOOKLAKE_DISABLED`` set to a true value, or the sentinel file exists."""
    value = os.environ.get(KILL_SWITCH_ENV)
    if value is not None and value.strip().lower() not in _OFF_VALUES:
        return True
    return os.path.exists(where.kill_switch)


def sanitize_name(name: str | bytes, fallback: str) -> str:
    """Keep ``[A-Za-z0-9._-]`` (byte-wise, at most 128 bytes), anything else becomes ``_``."""
    raw = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
    raw = raw[:MAX_NAME]
    out = "".join(chr(b) if b in _NAME_OK else "_" for b in raw)
    return out or fallback


def host_name() -> str:
    try:
        node = os.uname().nodename
    except AttributeError:  # Windows
        import socket

        node = socket.gethostname()
    return sanitize_name(node, "unknown")


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


class _StrictContext:
    """What ``_json.make_scanner`` reads: strict strings, numbers checked but not converted."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = len
    parse_int = len
    parse_constant = staticmethod(_reject_constant)
    memo: dict = {}


_scan = _make_scanner(_StrictContext()) if _make_scanner is not None else None


def _parse(text: str) -> object:
    """``json.loads(text)`` with NaN/Infinity rejected and numbers left unconverted.

    Raises ValueError (or RecursionError) when ``text`` is not exactly one JSON value.
    """
    if _scan is not None:
        start = len(text) - len(text.lstrip(" \t\n\r"))
        try:
            obj, end = _scan(text, start)
        except (ValueError, RecursionError):
            raise
        except Exception:
            # StopIteration, or SystemError: the scanner builds its error from json.decoder,
            # which is not imported yet. Let json.loads give the verdict on this (bad) input.
            pass
        else:
            if text[end:].strip(" \t\n\r"):
                raise ValueError("extra data after the JSON value")
            return obj
    import json

    return json.loads(text, parse_int=len, parse_float=len, parse_constant=_reject_constant)


def _too_deep(obj: object, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def classify(raw: bytes) -> str | None:
    """``None`` when ``raw`` is one UTF-8 JSON object (RFC 8259, strict), else the defect name.

    Strict means: no NaN/Infinity, no BOM, no control characters in strings, no more than
    :data:`MAX_DEPTH` nested containers. Numbers are checked, not converted (a 10,000-digit
    integer is valid JSON).
    """
    if not raw.strip(_JSON_WS):
        return _env.DEFECT_EMPTY
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _env.DEFECT_INVALID_UTF8
    try:
        obj = _parse(text)
    except (ValueError, RecursionError):
        return _env.DEFECT_INVALID_JSON
    if isinstance(obj, (dict, list)) and text.count("{") + text.count("[") > MAX_DEPTH:
        if _too_deep(obj, MAX_DEPTH):
            return _env.DEFECT_INVALID_JSON
    if not isinstance(obj, dict):
        return _env.DEFECT_NOT_OBJECT
    return None


def build_line(raw: bytes, *, source: str, event_id: str, captured_ns: int, host: str) -> bytes:
    """The spool line for hook stdin ``raw`` (with its trailing newline)."""
    head = (
        f'{{"{_env.FIELD_VERSION}":{_env.FORMAT_VERSION},"{_env.FIELD_EVENT_ID}":"{event_id}",'
        f'"{_env.FIELD_CAPTURED_NS}":{captured_ns},"{_env.FIELD_SOURCE}":"{source}",'
        f'"{_env.FIELD_HOST}":"{host}",'
    ).encode("ascii")
    defect = classify(raw)
    if defect is None:
        body = raw.strip(_JSON_WS).replace(b"\n", b" ").replace(b"\r", b" ")
        return head + b'"' + _env.FIELD_PAYLOAD.encode() + b'":' + body + b"}\n"
    import base64

    return (
        head
        + f'"{_env.FIELD_DEFECT}":"{defect}","{_env.FIELD_RAW_B64}":"'.encode("ascii")
        + base64.b64encode(raw)
        + b'"}\n'
    )


def _stamp() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns // 1000 % 1_000_000:06d}Z"


def log_capture_error(where: _Where, message: str, component: str = "capture[python]") -> None:
    """Append one line ``<UTC time>\\t<component>\\t<message>`` to the capture error log."""
    try:
        text = f"{_stamp()}\t{component}\t{message}".replace("\n", " ").replace("\r", " ") + "\n"
        data = text.encode("utf-8", "replace")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(where.errors, flags, 0o600)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(where.errors), mode=0o700, exist_ok=True)
            fd = os.open(where.errors, flags, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except Exception:
        pass  # nowhere left to report; capture must not fail the host


def _append_line(where: _Where, line: bytes, captured_ns: int, host: str, component: str) -> bool:
    hour = time.strftime("%Y%m%d%H", time.gmtime(captured_ns // 1_000_000_000))
    path = os.path.join(where.spool, _env.spool_file_name(hour, host))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            try:
                os.makedirs(where.spool, mode=0o700, exist_ok=True)
            except OSError as exc:
                log_capture_error(where, f"cannot create spool dir {where.spool}: {exc.strerror}", component)
                return False
            fd = os.open(path, flags, 0o600)
    except OSError as exc:
        log_capture_error(where, f"cannot open spool file {path}: {exc.strerror}", component)
        return False
    try:
        written = os.write(fd, line)
        if written != len(line):
            log_capture_error(
                where,
                f"short write to spool file; event lost: {path} ({written} of {len(line)} bytes, "
                "disk full?); line terminated",
                component,
            )
            try:
                os.write(fd, b"\n")  # end the partial line so the next writer's line stays intact
            except OSError:
                pass
            return False
        return True
    except OSError as exc:
        log_capture_error(where, f"write to spool file failed; event dropped: {path}: {exc.strerror}", component)
        return False
    finally:
        try:
            os.close(fd)
        except OSError as exc:
            log_capture_error(where, f"closing spool file failed: {path}: {exc.strerror}", component)


def capture_bytes(raw: bytes, source: str = _env.SOURCE_CLAUDE_CODE, paths: object = None) -> str | None:
    """Spool one hook payload given as raw bytes (any bytes, any size); return its event id.

    Returns ``None`` when capture is switched off or the line could not be written (the
    reason is in the capture error log). Never raises.
    """
    where = None
    try:
        where = _where(paths)
        if capture_disabled(where):
            return None
        captured_ns = time.time_ns()
        event_id = os.urandom(16).hex()
        host = host_name()
        line = build_line(
            bytes(raw),
            source=sanitize_name(source, _env.SOURCE_CLAUDE_CODE),
            event_id=event_id,
            captured_ns=captured_ns,
            host=host,
        )
        if _append_line(where, line, captured_ns, host, "capture[python]"):
            return event_id
        return None
    except Exception as exc:  # never let capture hurt the session
        if where is not None:
            log_capture_error(where, f"capture failed: {type(exc).__name__}: {exc}")
        return None


def append_event(payload: dict, source: str, paths: object = None) -> str | None:
    """Spool one event produced in-process (SDK, wrapper, importer, router, demo).

    ``payload`` must be a JSON-serialisable dict (no NaN/Infinity); it is stored as the
    envelope's ``payload``. Returns the new event id, or ``None`` when capture is switched
    off or the event could not be serialised or written (the reason goes to the capture
    error log). Never raises.
    """
    where = None
    component = "append_event"
    try:
        where = _where(paths)
        component = f"append_event[{source}]"
        if capture_disabled(where):
            return None
        if not isinstance(payload, dict):
            log_capture_error(where, f"payload is a {type(payload).__name__}, not a dict; event dropped", component)
            return None
        import json

        try:
            body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            data = body.encode("utf-8")
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
            log_capture_error(where, f"payload is not JSON-serialisable ({exc}); event dropped", component)
            return None
        captured_ns = time.time_ns()
        event_id = os.urandom(16).hex()
        host = host_name()
        head = (
            f'{{"{_env.FIELD_VERSION}":{_env.FORMAT_VERSION},"{_env.FIELD_EVENT_ID}":"{event_id}",'
            f'"{_env.FIELD_CAPTURED_NS}":{captured_ns},'
            f'"{_env.FIELD_SOURCE}":"{sanitize_name(source, _env.SOURCE_SDK)}",'
            f'"{_env.FIELD_HOST}":"{host}","{_env.FIELD_PAYLOAD}":'
        ).encode("ascii")
        if _append_line(where, head + data + b"}\n", captured_ns, host, component):
            return event_id
        return None
    except Exception as exc:  # instrumentation never raises into the host program
        if where is not None:
            log_capture_error(where, f"append_event failed: {type(exc).__name__}: {exc}", component)
        return None
