"""A hook command that appends Claude Code's stdin payload, verbatim, as one line of a file.

Usage in settings.json: ``python3 record_hook.py /path/to/payloads.jsonl``. One ``write()`` on an
``O_APPEND`` descriptor, so hooks running at the same time (parallel tools, subagents) never
interleave. Exit 0 without output: the recorder must not change what Claude Code does.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    data = sys.stdin.buffer.read().rstrip(b"\r\n")
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data + b"\n")
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
