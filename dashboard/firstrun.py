"""The data steps of ``hooklake demo`` and ``hooklake quickstart``: capture, ingest, learn.

Kept apart from the CLI so tests and scripts can build a demo home in-process.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.demo import DemoConfig

DEMO_MARKER = "demo.json"


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _lake_has_events() -> bool:
    from hooklake.paths import Paths

    events = Paths.resolve().events
    return events.exists() and any(events.rglob("*.parquet"))


def write_demo_data(days: int, seed: int, sessions_per_day: float | None = None, force: bool = False,
                    config: "DemoConfig | None" = None) -> bool:
    """Generate the demo dataset into the spool unless this home already has it; True when written."""
    from dashboard.demo import DemoConfig, write_demo
    from hooklake.errors import HooklakeError
    from hooklake.paths import Paths

    paths = Paths.resolve()
    marker = paths.state / DEMO_MARKER
    if marker.exists() and not force:
        info = json.loads(marker.read_text(encoding="utf-8") or "{}")
        step(f"demo data already in this home (written {info.get('written_at', '?')}); reusing it")
        return False
    if _lake_has_events() and not force and not marker.exists():
        raise HooklakeError(
            f"the lake at {paths.lake_uri} already has events; the demo would mix invented data into it. "
            "Use a separate home (HOOKLAKE_HOME=/tmp/hooklake-demo hooklake demo) or pass --force"
        )
    if config is None:
        config = DemoConfig(days=days, seed=seed) if sessions_per_day is None else \
            DemoConfig(days=days, seed=seed, sessions_per_day=sessions_per_day)
    days = config.days
    step(f"writing {days} days of demo Claude Code events through the capture hook into {paths.spool}")
    started = time.monotonic()

    def progress(n: int) -> None:
        print(f"    {n:,} events captured", end="\r", flush=True)

    report = write_demo(config, progress=progress)
    print(" " * 40, end="\r")
    print(f"    {report.events:,} events · {report.traces:,} prompts · {report.sessions:,} sessions · "
          f"{report.projects} projects ({time.monotonic() - started:.1f} s)", flush=True)
    paths.state.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                  "days": days, "seed": seed, **report.as_dict()}, indent=2), encoding="utf-8")
    return True


def run_ingest_step(progress: bool = True) -> None:
    from ingest.compactor import run_ingest

    step("ingesting the spool into the Parquet lake")
    started = time.monotonic()
    report = run_ingest(progress=progress)
    data = report.as_dict() if hasattr(report, "as_dict") else dict(report)
    print(f"    {data.get('events_written', 0):,} events written, {data.get('quarantined', 0):,} quarantined, "
          f"{data.get('duplicates', 0):,} duplicates ({time.monotonic() - started:.1f} s)", flush=True)


def run_learn_step(progress: bool = True) -> None:
    from hooklake.errors import HooklakeError

    step("learning patterns from successful traces (embeds prompts with MiniLM, builds the index)")
    started = time.monotonic()
    try:
        from learning.job import run_learn
    except ImportError as exc:
        raise HooklakeError(f"the learning job is not available ({exc}); pip install 'hooklake[learn]'") from exc
    report = run_learn(progress=progress)
    data = report.as_dict() if hasattr(report, "as_dict") else report
    summary = ", ".join(f"{k} {v}" for k, v in (data or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    print(f"    {summary[:200]} ({time.monotonic() - started:.1f} s)", flush=True)


def claude_history() -> list[Path]:
    """Claude Code transcripts of this user (``~/.claude/projects/*/*.jsonl``)."""
    root = Path.home() / ".claude" / "projects"
    if not root.is_dir():
        return []
    return sorted(root.glob("*/*.jsonl"))


def import_history() -> bool:
    """Import the user's transcripts with the transcript importer; False when it is not available."""
    try:
        from ingest.importers.transcripts import import_transcripts
    except ImportError:
        return False
    step("importing your Claude Code history from ~/.claude/projects (transcripts)")
    started = time.monotonic()
    report = import_transcripts()
    data = report.as_dict() if hasattr(report, "as_dict") else {}
    summary = ", ".join(f"{k} {v}" for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    print(f"    {summary[:200]} ({time.monotonic() - started:.1f} s)", flush=True)
    return True


def build_demo_home(config: "DemoConfig", learn: bool = True) -> dict:
    """Write the demo dataset, ingest it and (optionally) learn, in the home of ``$HOOKLAKE_HOME``.

    Returns what happened: ``{"written", "learned", "learn_error", "demo"}`` (``demo``: the dataset's
    counts as recorded in the state folder); a
    learning failure is returned rather than raised so a caller can still use the lake.
    """
    from hooklake.paths import Paths

    written = write_demo_data(config.days, config.seed, config=config)
    run_ingest_step(progress=False)
    learned, error = False, None
    if learn and not written and (Paths.resolve().index / "CURRENT").exists():
        learned = True  # this home was built and learned before: nothing new to learn
    elif learn:
        try:
            run_learn_step(progress=False)
            learned = True
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    marker = Paths.resolve().state / DEMO_MARKER
    demo = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else {}
    return {"written": written, "learned": learned, "learn_error": error, "demo": demo}
