"""Wrap the user's own hook commands in ``settings.json`` so each run is measured.

``wrap_existing_hooks`` turns every command hook that is not hooklake's own into

    <runner> --sh -- '<original command, shell-quoted>'

where ``<runner>`` is the native ``hooklake-run`` helper (or ``python -S -I hooks/wrapper.py``,
or ``hooklake run``: the same code, see :mod:`hooks.wrapper`). ``--sh`` keeps pipes, ``&&`` and
redirections of the original working exactly as before. The original survives verbatim as the
last shell word, so :func:`unwrap_hooks` restores it byte for byte; both are idempotent. Claude
Code's own per-hook ``timeout`` is kept and the wrapper gets a slightly shorter one, so a hook
that hangs is killed and recorded by the wrapper before Claude Code gives up on it.
"""

from __future__ import annotations

import copy
import os
import shlex
import sys
from typing import Any

RUNNER_NAMES = frozenset({"hooklake-run", "wrapper.py"})


def default_runner(bin_dir: str | os.PathLike[str] | None = None) -> str:
    """The fastest wrapper available: the native helper (built on demand), else the stdlib script."""
    from hooks import wrapper

    if bin_dir is None:
        from hooklake.paths import Paths

        bin_dir = Paths.resolve().bin
    native = wrapper.find_native(bin_dir) or wrapper.build_native(bin_dir)
    if native is not None:
        return shlex.quote(native)
    return " ".join(shlex.quote(part) for part in (sys.executable, "-S", "-I", os.path.abspath(wrapper.__file__)))


def original_command(command: str) -> str | None:
    """The wrapped command inside a hooklake wrapper command, or None when ``command`` is not one."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if "--" not in words:
        return None
    sep = words.index("--")
    if sep != len(words) - 2 or "--sh" not in words[:sep]:
        return None
    head = words[:sep]
    for i, word in enumerate(head):
        base = os.path.basename(word)
        if base in RUNNER_NAMES or (base == "hooklake" and i + 1 < len(head) and head[i + 1] == "run"):
            return words[-1]
    return None


def is_wrapped(command: str) -> bool:
    return original_command(command) is not None


def _is_hooklake_own(command: str) -> bool:
    """hooklake's own hooks (capture, advice, any ``hooklake ...`` command) are never wrapped."""
    if is_wrapped(command):
        return False
    try:
        from hooks import native

        if native.is_capture_command(command):
            return True
    except Exception:  # capture module unavailable: fall back to the name test below
        pass
    try:
        from hooks import advice

        check = getattr(advice, "is_advice_command", None)
        if callable(check) and check(command):
            return True
    except Exception:
        pass
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return any(os.path.basename(word).startswith("hooklake") for word in words[:3])


def wrapper_timeout(claude_timeout: Any) -> float | None:
    """A wrapper timeout just under Claude Code's, so the wrapper records the kill itself."""
    if isinstance(claude_timeout, bool) or not isinstance(claude_timeout, (int, float)) or claude_timeout <= 0:
        return None
    return round(claude_timeout - 0.5, 3) if claude_timeout > 1 else round(claude_timeout * 0.9, 3)


def wrap_command(command: str, runner: str, timeout: float | None = None) -> str:
    parts = [runner]
    if timeout is not None:
        parts += ["--timeout", f"{timeout:g}"]
    parts += ["--sh", "--", shlex.quote(command)]
    return " ".join(parts)


def _command_hooks(settings: dict) -> list[dict]:
    found = []
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return found
    for groups in hooks.values():
        if not isinstance(groups, list):
            continue
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
                continue
            for hook in group["hooks"]:
                if isinstance(hook, dict) and hook.get("type") == "command" and isinstance(hook.get("command"), str):
                    found.append(hook)
    return found


def wrap_existing_hooks(settings: dict, runner: str | None = None) -> dict:
    """A copy of ``settings`` with every user command hook wrapped (already wrapped ones unchanged)."""
    result = copy.deepcopy(settings)
    targets = [hook for hook in _command_hooks(result) if not is_wrapped(hook["command"]) and not _is_hooklake_own(hook["command"])]
    if not targets:
        return result
    prefix = runner if runner is not None else default_runner()
    for hook in targets:
        hook["command"] = wrap_command(hook["command"], prefix, wrapper_timeout(hook.get("timeout")))
    return result


def unwrap_hooks(settings: dict) -> dict:
    """A copy of ``settings`` with every wrapped command restored to the original."""
    result = copy.deepcopy(settings)
    for hook in _command_hooks(result):
        original = original_command(hook["command"])
        if original is not None:
            hook["command"] = original
    return result


#: the name the installer's uninstall looks for
unwrap_existing_hooks = unwrap_hooks


def wrapped_commands(settings: dict) -> list[str]:
    """Original commands currently wrapped (for ``hooklake status``)."""
    return [o for o in (original_command(h["command"]) for h in _command_hooks(settings)) if o is not None]
