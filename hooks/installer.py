"""Merge hooklake's hook entries into a Claude Code settings.json, and take them out again.

The rules, because this file belongs to the user:

* everything already there (their hooks, other keys) is kept; hooklake adds its own matcher
  groups at the end of each event's list;
* running ``install`` twice changes nothing (the second run writes no byte);
* before any change the previous file is copied next to it
  (``settings.json.hooklake-backup-<UTC time>``) and the new one replaces it atomically;
* ``uninstall`` removes exactly the entries hooklake added, recognised by their command
  (the capture hook's program name, or a command recorded at install time), nothing else;
* a settings.json that is not valid JSON is never touched: the error names file, line, column.

Entries come from *contributions* (the capture hook for every event, the optional advice
hook, ...), so a new install flag only has to add one.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import KILL_SWITCH_ENV, Paths
from hooks import events as hook_events
from hooks import native

HOOK_TIMEOUT_S = 10
MATCH_ALL = "*"
REGISTRY_FILE = "installs.json"
BACKUP_INFIX = ".hooklake-backup-"


@dataclass(frozen=True)
class HookEntry:
    """One command hook hooklake wants in settings.json."""

    event: str
    command: str
    matcher: str | None
    """``"*"`` for events that take a matcher, ``None`` (key left out) for the others."""
    timeout: int = HOOK_TIMEOUT_S

    def group(self) -> dict[str, Any]:
        group: dict[str, Any] = {}
        if self.matcher is not None:
            group["matcher"] = self.matcher
        group["hooks"] = [{"type": "command", "command": self.command, "timeout": self.timeout}]
        return group


@dataclass
class Contribution:
    """A set of entries added by one install feature, and how to recognise them later."""

    name: str
    entries: list[HookEntry]
    owns: Callable[[str], bool]
    notes: list[str] = field(default_factory=list)


@dataclass
class InstallResult:
    settings_path: Path
    changed: bool
    backup: Path | None
    commands: dict[str, str]
    events: list[str]
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": str(self.settings_path),
            "changed": self.changed,
            "backup": str(self.backup) if self.backup else None,
            "commands": self.commands,
            "events": self.events,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------- locations


def user_settings_path() -> Path:
    return Path.home() / ".claude" / "settings.json"


def project_settings_path(project: str | os.PathLike[str] | None) -> Path:
    base = Path(project if project is not None else os.getcwd()).expanduser().resolve()
    return base / ".claude" / "settings.json"


def _existing_project(project: str | None) -> Path:
    path = project_settings_path(project)
    if not path.parent.parent.is_dir():
        raise HooklakeError(f"project folder {path.parent.parent} does not exist; pass an existing folder to --project")
    return path


def target_path(project: str | None = None, user: bool = False) -> Path:
    if user and project is not None:
        raise HooklakeError("choose either --user or --project DIR, not both")
    return user_settings_path() if user else _existing_project(project)


# ------------------------------------------------------------------------- reading JSON


def read_settings(path: Path) -> tuple[dict[str, Any], str | None]:
    """The settings object and the file's exact text (``None`` when the file does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        raise HooklakeError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HooklakeError(
            f"{path}: line {line}: not valid UTF-8 (byte {exc.start}); fix the file and run again — nothing was changed"
        ) from None
    if not text.strip():
        return {}, text
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HooklakeError(
            f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); "
            "fix the file and run again — nothing was changed"
        ) from None
    if not isinstance(obj, dict):
        raise HooklakeError(f"{path}: expected a JSON object at the top, found {type(obj).__name__}; nothing was changed")
    hooks = obj.get("hooks")
    if hooks is not None:
        if not isinstance(hooks, dict):
            raise HooklakeError(f'{path}: "hooks" must be an object mapping event names to lists; nothing was changed')
        for event, groups in hooks.items():
            if not isinstance(groups, list):
                raise HooklakeError(f'{path}: "hooks"."{event}" must be a list of matcher groups; nothing was changed')
    return obj, text


def render(settings: dict[str, Any], original: str | None) -> str:
    """JSON text in the file's own indentation (2 spaces for a new file), ending in a newline."""
    indent: int | str = 2
    if original:
        match = re.search(r"^[{\[][^\n]*\n([ \t]+)\S", original, re.MULTILINE)
        if match:
            ws = match.group(1)
            indent = ws if "\t" in ws else len(ws)
    return json.dumps(settings, indent=indent, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------ merge / strip


def _commands(group: Any) -> list[Any]:
    if isinstance(group, dict) and isinstance(group.get("hooks"), list):
        return group["hooks"]
    return []


def _is_owned(hook: Any, owns: Callable[[str], bool]) -> bool:
    return isinstance(hook, dict) and isinstance(hook.get("command"), str) and owns(hook["command"])


def strip_owned(settings: dict[str, Any], owns: Callable[[str], bool], *, drop_empty_hooks_key: bool = True) -> dict[str, Any]:
    """A copy of ``settings`` without the hooks ``owns`` recognises.

    Groups, event lists and the ``hooks`` object that become empty *because of that removal*
    go too; anything the user left empty themselves stays.
    """
    out = json.loads(json.dumps(settings))
    hooks = out.get("hooks")
    if not isinstance(hooks, dict):
        return out
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        removed_any = False
        for group in groups:
            cmds = _commands(group)
            if cmds and any(_is_owned(h, owns) for h in cmds):
                removed_any = True
                remaining = [h for h in cmds if not _is_owned(h, owns)]
                if not remaining:
                    continue
                group = dict(group)
                group["hooks"] = remaining
            kept_groups.append(group)
        if removed_any and not kept_groups:
            del hooks[event]
        else:
            hooks[event] = kept_groups
    if not hooks and drop_empty_hooks_key and isinstance(settings.get("hooks"), dict) and settings["hooks"]:
        del out["hooks"]
    return out


def add_entries(settings: dict[str, Any], entries: list[HookEntry]) -> dict[str, Any]:
    out = json.loads(json.dumps(settings))
    hooks = out.setdefault("hooks", {})
    for entry in entries:
        hooks.setdefault(entry.event, []).append(entry.group())
    return out


def owned_commands(settings: dict[str, Any], owns: Callable[[str], bool]) -> dict[str, list[str]]:
    """Event -> commands in ``settings`` that ``owns`` recognises."""
    found: dict[str, list[str]] = {}
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return found
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            continue
        for group in groups:
            for hook in _commands(group):
                if _is_owned(hook, owns):
                    found.setdefault(event, []).append(hook["command"])
    return found


# ------------------------------------------------------------------------ registry


def _registry_path(paths: Paths) -> Path:
    return paths.state / REGISTRY_FILE


def load_registry(paths: Paths) -> dict[str, Any]:
    try:
        data = json.loads(_registry_path(paths).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_registry(paths: Paths, registry: dict[str, Any]) -> None:
    path = _registry_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, json.dumps(registry, indent=2, sort_keys=True) + "\n", mode=0o600)


# ------------------------------------------------------------------------ writing


def _atomic_write(path: Path, text: str, mode: int | None = None) -> None:
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    backup = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}-{n}")
    shutil.copy2(path, backup)
    return backup


def _write_settings(path: Path, text: str, existed: bool) -> Path | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backup = _backup(path) if existed else None
        _atomic_write(path, text)
    except OSError as exc:
        raise HooklakeError(f"cannot write {path}: {exc.strerror or exc}") from None
    return backup


# ------------------------------------------------------------------------ contributions


def capture_contribution(paths: Paths, mode: str = "auto") -> Contribution:
    hook = native.capture_hook(paths, mode)
    entries = [
        HookEntry(event, hook.command, MATCH_ALL if hook_events.takes_matcher(event) else None)
        for event in hook_events.INSTALLED_EVENTS
    ]
    notes = [hook.note] if hook.note else []
    return Contribution("capture", entries, native.is_capture_command, notes)


def _optional_module(name: str, flag: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise HooklakeError(f"{flag} needs the {name} module, which this installation does not have") from None
        raise


def advice_contribution(paths: Paths) -> Contribution:
    advice = _optional_module("hooks.advice", "--advice")
    command = advice.advice_hook_command(paths)
    recognise = getattr(advice, "is_advice_command", None)

    def owns(cmd: str) -> bool:
        return cmd == command or (callable(recognise) and bool(recognise(cmd)))

    return Contribution("advice", [HookEntry("UserPromptSubmit", command, None)], owns)


def _registry_owns(record: dict[str, Any]) -> Callable[[str], bool]:
    recorded = set(record.get("commands", []))
    return lambda cmd: cmd in recorded


def _any_of(*preds: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda cmd: any(p(cmd) for p in preds)


# ------------------------------------------------------------------------ install / uninstall


def install(
    target: Path,
    paths: Paths | None = None,
    *,
    capture: str = "auto",
    wrap_existing: bool = False,
    advice: bool = False,
) -> InstallResult:
    """Merge hooklake's entries into the settings file ``target``; idempotent."""
    paths = paths or Paths.resolve()
    target = Path(target)
    settings, original = read_settings(target)  # raises before anything is built or written
    contributions = [capture_contribution(paths, capture)]
    if advice:
        contributions.append(advice_contribution(paths))
    wrapper = _optional_module("hooks.wrap_existing", "--wrap-existing") if wrap_existing else None

    registry = load_registry(paths)
    record = registry.get("settings", {}).get(str(target), {})
    owns = _any_of(_registry_owns(record), *(c.owns for c in contributions))

    had_ours = bool(owned_commands(settings, owns))
    created_hooks_key = record.get("created_hooks_key", "hooks" not in settings) if had_ours else "hooks" not in settings
    merged = strip_owned(settings, owns, drop_empty_hooks_key=created_hooks_key)
    if wrapper is not None:
        merged = wrapper.wrap_existing_hooks(merged)
    for contribution in contributions:
        merged = add_entries(merged, contribution.entries)

    text = render(merged, original)
    changed = text != original
    backup = _write_settings(target, text, original is not None) if changed else None

    commands = {c.name: c.entries[0].command for c in contributions if c.entries}
    new_record = {
        "commands": sorted({e.command for c in contributions for e in c.entries}),
        # wrapped hooks stay wrapped until uninstall, even if a later install omits the flag
        "features": [c.name for c in contributions]
        + (["wrap_existing"] if wrap_existing or "wrap_existing" in record.get("features", []) else []),
        "created_file": record.get("created_file", original is None) if had_ours else original is None,
        "created_hooks_key": created_hooks_key,
        "installed_at": record.get("installed_at") if not changed and record else _now_iso(),
    }
    if record != new_record:
        registry.setdefault("settings", {})[str(target)] = new_record
        try:
            _save_registry(paths, registry)
        except OSError:
            pass  # the registry only helps status/uninstall; the settings file is what matters
    events = sorted({e.event for c in contributions for e in c.entries}, key=_event_order)
    notes = [n for c in contributions for n in c.notes]
    return InstallResult(target, changed, backup, commands, events, notes)


def uninstall(target: Path, paths: Paths | None = None) -> InstallResult:
    """Remove exactly the entries hooklake added to ``target`` (and un-wrap wrapped hooks)."""
    paths = paths or Paths.resolve()
    target = Path(target)
    settings, original = read_settings(target)
    registry = load_registry(paths)
    record = registry.get("settings", {}).get(str(target), {})
    preds = [native.is_capture_command, _registry_owns(record)]
    try:
        advice = importlib.import_module("hooks.advice")
        preds.append(lambda cmd: cmd == advice.advice_hook_command(paths))
        if callable(getattr(advice, "is_advice_command", None)):
            preds.append(advice.is_advice_command)
    except ImportError:
        pass
    owns = _any_of(*preds)
    removed = owned_commands(settings, owns)
    result = strip_owned(settings, owns, drop_empty_hooks_key=record.get("created_hooks_key", True))
    notes: list[str] = []
    try:
        wrapper = importlib.import_module("hooks.wrap_existing")
    except ImportError:
        wrapper = None
    unwrap = getattr(wrapper, "unwrap_hooks", None) or getattr(wrapper, "unwrap_existing_hooks", None)
    list_wrapped = getattr(wrapper, "wrapped_commands", None)
    wrapped_here = "wrap_existing" in record.get("features", []) or (
        not record and callable(list_wrapped) and bool(list_wrapped(result))
    )
    if wrapped_here:
        if callable(unwrap):
            result = unwrap(result)
        else:
            notes.append("hooks wrapped by --wrap-existing were left wrapped (no unwrap available)")

    backup = None
    changed = False
    if original is not None and (removed or result != settings):
        if result == {} and record.get("created_file"):
            target.unlink()  # only hooklake's entries were ever in it: no backup needed
            notes.append(f"removed {target}: hooklake had created it")
        else:
            backup = _write_settings(target, render(result, original), True)
        changed = True
    if str(target) in registry.get("settings", {}):
        del registry["settings"][str(target)]
        try:
            _save_registry(paths, registry)
        except OSError:
            pass
    commands = {f"removed:{i}": cmd for i, cmd in enumerate(sorted({c for cs in removed.values() for c in cs}))}
    return InstallResult(target, changed, backup, commands, sorted(removed, key=_event_order), notes)


def _event_order(event: str) -> tuple[int, str]:
    try:
        return (hook_events.HOOK_EVENTS.index(event), event)
    except ValueError:
        return (len(hook_events.HOOK_EVENTS), event)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ------------------------------------------------------------------------ status


def _last_line_head(path: Path, limit: int = 512) -> bytes | None:
    """The first ``limit`` bytes of the last complete line of ``path`` (None if there is none)."""
    try:
        with path.open("rb") as fh:
            pos = fh.seek(0, os.SEEK_END)
            tail = b""
            while pos > 0:
                step = min(65536, pos)
                pos -= step
                fh.seek(pos)
                tail = fh.read(step) + tail
                end = tail.rfind(b"\n")
                if end < 0:
                    continue
                start = tail.rfind(b"\n", 0, end)
                if start >= 0 or pos == 0:
                    return tail[start + 1 : min(end, start + 1 + limit)]
    except OSError:
        return None
    return None


def spool_status(paths: Paths) -> dict[str, Any]:
    files = sorted(paths.spool.glob("*.jsonl")) if paths.spool.is_dir() else []
    total = 0
    newest: tuple[float, Path] | None = None
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        total += st.st_size
        if st.st_size and (newest is None or st.st_mtime > newest[0]):
            newest = (st.st_mtime, f)
    last_ns = None
    if newest is not None:
        head = _last_line_head(newest[1])
        match = re.search(rb'"captured_ns":(\d+)', head or b"")
        last_ns = int(match.group(1)) if match else int(newest[0] * 1e9)
    return {
        "dir": str(paths.spool),
        "files": len(files),
        "bytes": total,
        "last_event_ns": last_ns,
        "last_event_at": _iso_ns(last_ns) if last_ns else None,
    }


def _iso_ns(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns / 1e9))


def errors_status(paths: Paths) -> dict[str, Any]:
    count, last = 0, None
    try:
        with paths.capture_errors.open("rb") as fh:
            for raw in fh:
                if raw.strip():
                    count += 1
                    last = raw
    except OSError:
        pass
    return {
        "path": str(paths.capture_errors),
        "count": count,
        "last": last.decode("utf-8", "replace").rstrip("\n") if last else None,
    }


def kill_switch_status(paths: Paths) -> dict[str, Any]:
    value = os.environ.get(KILL_SWITCH_ENV)
    env_on = value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")
    file_on = paths.kill_switch.exists()
    return {"active": env_on or file_on, "env": env_on, "file": file_on, "file_path": str(paths.kill_switch)}


def settings_status(path: Path, scope: str, paths: Paths) -> dict[str, Any]:
    info: dict[str, Any] = {"settings": str(path), "scope": scope, "exists": path.exists()}
    try:
        settings, _ = read_settings(path)
    except HooklakeError as exc:
        info.update(error=str(exc), installed=False)
        return info
    registry = load_registry(paths).get("settings", {}).get(str(path), {})
    found = owned_commands(settings, _any_of(native.is_capture_command, _registry_owns(registry)))
    commands = sorted({c for cs in found.values() for c in cs})
    capture_events = [e for e, cs in found.items() if any(native.is_capture_command(c) for c in cs)]
    info["installed"] = bool(found)
    info["events"] = sorted(capture_events, key=_event_order)
    info["missing_events"] = [e for e in hook_events.INSTALLED_EVENTS if e not in found] if found else []
    info["commands"] = commands
    info["features"] = registry.get("features", ["capture"] if found else [])
    programs = []
    for cmd in commands:
        try:
            program = shlex.split(cmd)[0]
        except (ValueError, IndexError):
            continue
        programs.append({"program": program, "exists": os.path.exists(program)})
    info["programs"] = programs
    return info


def status(paths: Paths | None = None, project: str | None = None) -> dict[str, Any]:
    paths = paths or Paths.resolve()
    locations: list[tuple[Path, str]] = [(user_settings_path(), "user"), (project_settings_path(project), "project")]
    for recorded in load_registry(paths).get("settings", {}):
        p = Path(recorded)
        if all(p != q for q, _ in locations):
            locations.append((p, "user" if p == user_settings_path() else "project"))
    return {
        "home": str(paths.home),
        "installs": [settings_status(p, scope, paths) for p, scope in locations],
        "kill_switch": kill_switch_status(paths),
        "spool": spool_status(paths),
        "capture_errors": errors_status(paths),
    }
