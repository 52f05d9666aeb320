"""``hooklake install``, ``uninstall`` and ``status``: registration only (argparse and stdlib)."""

from __future__ import annotations

import argparse
import json
import time


def _add_target(parser: argparse.ArgumentParser, verb: str) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--project",
        metavar="DIR",
        nargs="?",
        const=".",
        default=None,
        help=f"{verb} DIR/.claude/settings.json (default: the current folder)",
    )
    where.add_argument("--user", action="store_true", help=f"{verb} ~/.claude/settings.json instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def register(subparsers: argparse._SubParsersAction) -> None:
    install = subparsers.add_parser(
        "install",
        help="add the capture hook for every Claude Code hook event to settings.json",
        description="Merge hooklake's capture hook into a Claude Code settings.json for every hook "
        "event (matcher '*' where the event takes one, timeout 10 s), keeping everything "
        "already there. Idempotent; the "
        "previous file is backed up next to it before any change. The native hook is compiled "
        "with the system C compiler into the hooklake bin folder; without one, the Python hook "
        "is installed. WorktreeCreate/WorktreeRemove are left out: a hook there replaces Claude "
        "Code's own git worktree handling.",
    )
    _add_target(install, "install into")
    install.add_argument(
        "--capture",
        choices=("auto", "native", "python"),
        default="auto",
        help="which capture hook to install: the compiled C hook, the Python one, or auto "
        "(native when a C compiler is available; default)",
    )
    install.add_argument(
        "--wrap-existing",
        action="store_true",
        help="also wrap the hooks already in settings.json so their runs are timed and recorded",
    )
    install.add_argument(
        "--advice",
        action="store_true",
        help="also add a UserPromptSubmit hook that suggests what worked before for similar prompts",
    )
    install.set_defaults(func=_cmd_install)

    uninstall = subparsers.add_parser(
        "uninstall",
        help="remove exactly the hook entries hooklake added to settings.json",
        description="Remove the hook entries hooklake installed (recognised by their command) "
        "and nothing else; the previous file is backed up next to it.",
    )
    _add_target(uninstall, "remove from")
    uninstall.set_defaults(func=_cmd_uninstall)

    status = subparsers.add_parser(
        "status",
        help="show where hooks are installed, kill switch, spool size, last event, capture errors",
        description="Show which settings files carry hooklake's hooks (user, this project, and "
        "every file hooklake installed into), whether capture is switched off "
        "($HOOKLAKE_DISABLED or the capture-off file), the spool's file count, size and last "
        "event time, and the capture error count with the last error.",
    )
    status.add_argument("--project", metavar="DIR", default=None, help="project folder to inspect (default: current folder)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=_cmd_status)


def _cmd_install(args: argparse.Namespace) -> int:
    from hooklake.paths import Paths
    from hooks import installer

    paths = Paths.resolve()
    target = installer.target_path(args.project, args.user)
    result = installer.install(
        target, paths, capture=args.capture, wrap_existing=args.wrap_existing, advice=args.advice
    )
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    for note in result.notes:
        print(f"note: {note}")
    if result.changed:
        print(f"installed hooklake hooks for {len(result.events)} events into {result.settings_path}")
        if result.backup:
            print(f"previous file saved as {result.backup}")
    else:
        print(f"already installed in {result.settings_path} (nothing changed)")
    for name, command in result.commands.items():
        print(f"{name} command: {command}")
    return 0


def _cmd_uninstall(args: argparse.Namespace) -> int:
    from hooklake.paths import Paths
    from hooks import installer

    paths = Paths.resolve()
    target = installer.target_path(args.project, args.user)
    result = installer.uninstall(target, paths)
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    for note in result.notes:
        print(f"note: {note}")
    if result.changed:
        print(f"removed hooklake hooks for {len(result.events)} events from {result.settings_path}")
        if result.backup:
            print(f"previous file saved as {result.backup}")
    else:
        print(f"no hooklake hooks in {result.settings_path} (nothing changed)")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _cmd_status(args: argparse.Namespace) -> int:
    from hooklake.paths import Paths
    from hooks import installer

    report = installer.status(Paths.resolve(), args.project)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"home         {report['home']}")
    for inst in report["installs"]:
        where = f"{inst['scope']:<8} {inst['settings']}"
        if "error" in inst:
            print(f"installed    {where}: unreadable: {inst['error']}")
        elif inst["installed"]:
            missing = f", missing {', '.join(inst['missing_events'])}" if inst["missing_events"] else ""
            print(f"installed    {where}: {len(inst['events'])} events ({', '.join(inst['features'])}){missing}")
            for prog in inst["programs"]:
                state = "" if prog["exists"] else "  (MISSING: run `hooklake install` again)"
                print(f"             runs {prog['program']}{state}")
        else:
            print(f"not installed {where}" if inst["exists"] else f"not installed {where} (no file)")
    ks = report["kill_switch"]
    if ks["active"]:
        why = " and ".join(x for x, on in (("$HOOKLAKE_DISABLED", ks["env"]), (ks["file_path"], ks["file"])) if on)
        print(f"kill switch  ON (capture is off: {why})")
    else:
        print(f"kill switch  off (create {ks['file_path']} or set HOOKLAKE_DISABLED=1 to stop capture)")
    sp = report["spool"]
    last = "no events yet"
    if sp["last_event_ns"]:
        ago = max(0.0, time.time() - sp["last_event_ns"] / 1e9)
        last = f"last event {sp['last_event_at']} ({_ago(ago)} ago)"
    print(f"spool        {sp['files']} files, {_size(sp['bytes'])}, {last}  [{sp['dir']}]")
    ce = report["capture_errors"]
    print(f"errors       {ce['count']} capture errors" + (f", last: {ce['last']}" if ce["last"] else "") + f"  [{ce['path']}]")
    return 0


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"
