"""The capture hook in Python: the fallback when no C compiler was available at install time.

Claude Code runs it as ``python -S -I <this file> --home DIR [--source NAME]`` for every hook
event. ``-S -I`` keep start-up short and immune to the user's environment (no site-packages,
no PYTHONPATH, no current directory on ``sys.path``), so the folder holding the ``hooks``
package is put on ``sys.path`` explicitly and only ``hooks.spool`` (standard library only)
is imported. It behaves exactly like ``hooks/capture.c``: reads all of stdin, appends one
envelope line to the spool, prints nothing, exits 0 whatever happens.
"""

import os
import sys


def _args(argv: list[str]) -> tuple[str | None, str]:
    home, source = None, "claude_code"
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--home", "--source") and i + 1 < len(argv):
            if arg == "--home":
                home = argv[i + 1]
            else:
                source = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--home="):
            home = arg[len("--home=") :]
        elif arg.startswith("--source="):
            source = arg[len("--source=") :]
        i += 1  # unknown flags are ignored: a newer installer may pass more
    return home, source


def main(argv: list[str]) -> int:
    home, source = _args(argv)
    spool = None
    try:
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if package_root not in sys.path:
            sys.path.insert(0, package_root)
        from hooks import spool

        paths = home if home else None
        if spool.capture_disabled(spool._where(paths)):
            return 0  # switched off: stdin is not even read
        raw = sys.stdin.buffer.read() if sys.stdin is not None else b""
        spool.capture_bytes(raw, source, paths)
    except BaseException as exc:  # noqa: BLE001 - the hook must exit 0 whatever happens
        try:
            if spool is not None:
                where = spool._where(home if home else None)
                spool.log_capture_error(where, f"capture hook crashed: {type(exc).__name__}: {exc}")
        except BaseException:  # noqa: BLE001
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
