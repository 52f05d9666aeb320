"""Build the native capture hook (``hooks/capture.c``) and say which command Claude Code should run.

The C hook costs about as much as ``cat >> file`` per event; the Python fallback pays an
interpreter start-up (~15-20 ms) on every tool call. ``hooklake install`` compiles the C source
with the system compiler (``$CC``, else ``cc``/``gcc``/``clang``) into ``Paths.bin``, under a
name carrying the source hash, so an unchanged source is never rebuilt and an upgraded one
never overwrites a binary that another settings file still points to.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hooklake.errors import HooklakeError
from hooklake.paths import Paths

SOURCE = Path(__file__).with_name("capture.c")
PYTHON_HOOK = Path(__file__).with_name("capture.py")
BINARY_PREFIX = "hooklake-capture-"
CFLAGS = ("-O2", "-std=c99", "-Wall")
COMPILERS = ("cc", "gcc", "clang")


@dataclass(frozen=True)
class CaptureHook:
    """The program Claude Code runs for each hook event."""

    kind: str
    """``native`` (the compiled C hook) or ``python`` (``hooks/capture.py``)."""
    argv: tuple[str, ...]
    """Program and arguments, without the shell quoting of :attr:`command`."""
    note: str = ""
    """Why the Python fallback was chosen, when it was."""

    @property
    def command(self) -> str:
        """The shell command string written into settings.json."""
        return shlex.join(self.argv)


def source_hash() -> str:
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(" ".join(CFLAGS).encode())
    return digest.hexdigest()[:16]


def binary_path(paths: Paths) -> Path:
    return paths.bin / f"{BINARY_PREFIX}{source_hash()}"


def find_compiler() -> str | None:
    env = os.environ.get("CC")
    candidates = ([env] if env else []) + list(COMPILERS)
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


def build(paths: Paths | None = None, *, force: bool = False) -> Path:
    """Compile the native hook if needed and return its path.

    Raises :class:`HooklakeError` when no compiler is found or compilation fails; the
    message says what to install or where the compiler output is.
    """
    paths = paths or Paths.resolve()
    target = binary_path(paths)
    if target.exists() and os.access(target, os.X_OK) and not force:
        return target
    compiler = find_compiler()
    if compiler is None:
        raise HooklakeError(
            "no C compiler found ($CC, cc, gcc or clang) to build the native capture hook; "
            "install one (e.g. `apt install gcc` or Xcode command line tools) and run "
            "`hooklake install` again, or use `--capture python`"
        )
    paths.bin.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=paths.bin)
    os.close(fd)
    try:
        # A static binary starts ~0.3 ms faster (no dynamic loader); not every platform can
        # link one (macOS cannot), so fall back to a normal build.
        for extra in (["-static"], []):
            proc = subprocess.run(
                [compiler, *CFLAGS, *extra, "-o", tmp, str(SOURCE)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if proc.returncode == 0:
                break
        if proc.returncode != 0:
            raise HooklakeError(
                f"compiling {SOURCE} with {compiler} failed (exit {proc.returncode}):\n"
                f"{proc.stderr.strip()}\nuse `hooklake install --capture python` to install the Python hook instead"
            )
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HooklakeError(f"could not build the native capture hook into {paths.bin}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def python_hook(paths: Paths, source: str = "claude_code", note: str = "") -> CaptureHook:
    argv = [sys.executable, "-S", "-I", str(PYTHON_HOOK), "--home", str(paths.home)]
    if source != "claude_code":
        argv += ["--source", source]
    return CaptureHook("python", tuple(argv), note)


def native_hook(paths: Paths, source: str = "claude_code") -> CaptureHook:
    argv = [str(build(paths)), "--home", str(paths.home)]
    if source != "claude_code":
        argv += ["--source", source]
    return CaptureHook("native", tuple(argv))


def capture_hook(paths: Paths | None = None, mode: str = "auto", source: str = "claude_code") -> CaptureHook:
    """The hook to install: ``native``, ``python``, or ``auto`` (native, else Python with a note)."""
    paths = paths or Paths.resolve()
    if mode == "python":
        return python_hook(paths, source)
    if mode == "native":
        return native_hook(paths, source)
    if mode != "auto":
        raise HooklakeError(f"unknown capture mode {mode!r}: use auto, native or python")
    try:
        return native_hook(paths, source)
    except HooklakeError as exc:
        return python_hook(paths, source, note=f"using the Python capture hook (slower): {exc}")


def is_capture_command(command: str) -> bool:
    """True when a settings.json command runs a hooklake capture hook (native or Python).

    Native: the program is ``hooklake-capture-<hash>``. Python: an interpreter run with
    ``-S -I`` on ``hooks/capture.py`` with ``--home``, exactly as :func:`python_hook` writes it,
    so a user's own ``hooks/capture.py`` script is never mistaken for hooklake's.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if not words:
        return False
    if os.path.basename(words[0]).startswith(BINARY_PREFIX):
        return True
    return (
        len(words) >= 4
        and words[1:3] == ["-S", "-I"]
        and os.path.basename(words[3]) == "capture.py"
        and os.path.basename(os.path.dirname(words[3])) == "hooks"
        and "--home" in words[4:]
    )
