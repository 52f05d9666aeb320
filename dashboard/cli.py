"""``hooklake dashboard``, ``hooklake demo`` and ``hooklake quickstart``.

Registration imports argparse and the standard library only; the handlers import the heavy
parts (streamlit runs in a subprocess, ingest and learning are imported when used).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "dashboard",
        help="open the Streamlit workbench on the lake of $HOOKLAKE_HOME",
        description="Start the hooklake workbench (Streamlit) on 127.0.0.1 and open it in the browser.",
    )
    p.add_argument("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT}, or the next free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.set_defaults(func=cmd_dashboard)

    d = subparsers.add_parser(
        "demo",
        help="create a realistic multi-week demo dataset, ingest it, learn, open the dashboard",
        description="Feed several weeks of Claude-Code-shaped hook events (projects, sessions, subagents, "
        "failing tools, MCP endpoints, error bursts, old-version sessions) through the capture path, "
        "then run ingest and learn and open the dashboard. Runs once per home: a second run reuses the data.",
    )
    d.add_argument("--days", type=int, default=21, help="days of history to generate (default 21)")
    d.add_argument("--seed", type=int, default=7, help="random seed (default 7): same seed, same dataset shape")
    d.add_argument("--sessions-per-day", type=float, default=None, help="average sessions per weekday (default 9)")
    d.add_argument("--force", action="store_true", help="write demo data even if the lake already has events")
    d.add_argument("--no-learn", action="store_true", help="skip `hooklake learn`")
    d.add_argument("--no-dashboard", action="store_true", help="stop after the data steps")
    d.add_argument("--no-browser", action="store_true", help="start the dashboard without opening a browser")
    d.add_argument("--port", type=int, default=None, help="dashboard port")
    d.set_defaults(func=cmd_demo)

    q = subparsers.add_parser(
        "quickstart",
        help="import your Claude Code history (or the demo data), ingest, learn, open the dashboard",
        description="First run: import the transcripts under ~/.claude/projects when there are any, "
        "otherwise create the demo dataset; then ingest, learn and open the dashboard.",
    )
    q.add_argument("--no-browser", action="store_true", help="start the dashboard without opening a browser")
    q.add_argument("--no-dashboard", action="store_true", help="stop after the data steps")
    q.add_argument("--demo", action="store_true", help="use the demo dataset even if Claude Code history exists")
    q.add_argument("--port", type=int, default=None, help="dashboard port")
    q.set_defaults(func=cmd_quickstart)


# --------------------------------------------------------------------------------------
# dashboard
# --------------------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(host: str, wanted: int | None) -> int:
    from hooklake.errors import HooklakeError

    if wanted is not None:
        if not _port_free(host, wanted):
            raise HooklakeError(f"port {wanted} on {host} is in use; pick another with --port")
        return wanted
    for port in range(DEFAULT_PORT, DEFAULT_PORT + 50):
        if _port_free(host, port):
            return port
    raise HooklakeError(f"no free port in {DEFAULT_PORT}-{DEFAULT_PORT + 49} on {host}; pass --port")


def streamlit_command(host: str, port: int) -> list[str]:
    """Streamlit on ``app.py`` through ``dashboard.serve`` (which warms the caches the first visitor needs)."""
    return [
        sys.executable, "-m", "dashboard.serve",
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        # Streamlit collects all garbage (gc.collect(2)) after every script and fragment run by
        # default; with the embedding model and the query caches in memory that pause holds the
        # interpreter for 100-300 ms per click, before the answer reaches the browser. Python's own
        # generational collection still runs, over a heap the warm-up has frozen (dashboard.serve).
        "--runner.postScriptGC", "false",
    ]


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> bool:
    """Poll Streamlit's health endpoint until it answers (or the process died / time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def run_dashboard(host: str = "127.0.0.1", port: int | None = None, open_browser: bool = True) -> int:
    from hooklake.errors import HooklakeError
    from hooklake.paths import HOME_ENV, Paths

    import importlib.util

    if importlib.util.find_spec("streamlit") is None or importlib.util.find_spec("altair") is None:
        raise HooklakeError("the dashboard needs Streamlit and Altair: pip install 'hooklake[dashboard]'")
    port = pick_port(host, port)
    env = dict(os.environ)
    env[HOME_ENV] = str(Paths.resolve().home)  # the app must read the same lake, whatever its cwd
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    url = f"http://{host}:{port}"
    proc = subprocess.Popen(streamlit_command(host, port), env=env)

    def _stop(signum: int, frame: object) -> None:  # SIGTERM: stop Streamlit too, never orphan it
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        if wait_ready(url, proc):
            print(f"hooklake dashboard: {url}  (lake: {Paths.resolve().lake_uri}; Ctrl-C to stop)", flush=True)
            if open_browser:
                import webbrowser

                webbrowser.open(url)
        elif proc.poll() is not None:
            raise HooklakeError(f"the dashboard process exited with code {proc.returncode}; see its output above")
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def cmd_dashboard(args: argparse.Namespace) -> int:
    return run_dashboard(args.host, args.port, open_browser=not args.no_browser)


# --------------------------------------------------------------------------------------
# demo / quickstart
# --------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from dashboard.firstrun import run_ingest_step, run_learn_step, step, write_demo_data
    from hooklake.errors import HooklakeError

    if args.days < 1 or args.days > 365:
        raise HooklakeError(f"--days must be between 1 and 365, got {args.days}")
    write_demo_data(args.days, args.seed, args.sessions_per_day, force=args.force)
    run_ingest_step()
    learned = True if args.no_learn else _learn(run_learn_step, step)
    return _finish(args, learned, step)


def _learn(run_learn_step, step) -> bool:
    """Learning failing (missing extra, odd data) must not hide the traces: warn and go on."""
    from hooklake.errors import HooklakeError

    try:
        run_learn_step()
    except HooklakeError as exc:
        step(f"learning failed: {exc}")
        step("the dashboard still shows every trace; fix the problem and run `hooklake learn` for patterns")
        return False
    return True


def _finish(args: argparse.Namespace, learned: bool, step) -> int:
    if args.no_dashboard:
        step("done: run `hooklake dashboard` to explore" if learned else "done, without learned patterns")
        return 0 if learned else 1
    step("starting the dashboard")
    return run_dashboard(port=args.port, open_browser=not args.no_browser)


def cmd_quickstart(args: argparse.Namespace) -> int:
    from dashboard.firstrun import claude_history, import_history, run_ingest_step, run_learn_step, step, write_demo_data

    history = [] if args.demo else claude_history()
    imported = False
    if history:
        step(f"found {len(history):,} Claude Code transcripts")
        imported = import_history()
        if not imported:
            step("the transcript importer is not available in this installation; using the demo data instead")
    if not imported:
        write_demo_data(21, 7)
    run_ingest_step()
    return _finish(args, _learn(run_learn_step, step), step)
