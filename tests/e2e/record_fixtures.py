"""Record real Claude Code hook payloads and transcripts as test fixtures.

    python tests/e2e/record_fixtures.py [--out tests/fixtures/claude_code/<version>] [SCENARIO ...]

Runs each scenario of ``claude_scenarios.py`` with the real Claude Code (``$HOOKLAKE_CLAUDE_BIN`` or the
copy under ``.cache/claude-code``) against the scripted API stub, with a recorder hook registered
for every hook event, and writes:

- ``<out>/<scenario>.jsonl``: every hook payload, one JSON object per line, exactly as Claude Code
  sent it on stdin (in the order the hooks ran);
- ``<out>/transcripts/<scenario>/``: the transcript folder Claude Code wrote for the project
  (``~/.claude/projects/<encoded cwd>/``: ``<session>.jsonl`` and ``<session>/subagents/``).

Machine-specific paths are replaced by neutral ones, consistently in payloads and transcripts:
the project directory becomes ``/home/user/project``, the home ``/home/user``, the temp dir
``/tmp``, and the encoded transcript folder name ``-home-user-project``. Nothing else is changed.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anthropic_stub import AnthropicStub, Script  # noqa: E402
from claude_harness import (  # noqa: E402
    CLAUDE_CODE_VERSION,
    REPO_ROOT,
    ClaudeProject,
    encode_project_dir,
    find_claude,
    read_recorded,
    recorded_raw,
    skip_reason,
)

import claude_scenarios as scenarios  # noqa: E402

NEUTRAL_HOME = "/home/user"
NEUTRAL_PROJECT = "/home/user/project"
NEUTRAL_TMP = "/tmp"
NEUTRAL_KERNEL = "6.1.0-generic"


def neutraliser(project: ClaudeProject) -> list[tuple[str, str]]:
    """(machine-specific, neutral) replacements, longest first so prefixes never win."""
    pairs = [
        (str(project.project), NEUTRAL_PROJECT),
        (str(project.home), NEUTRAL_HOME),
        (str(project.tmp), NEUTRAL_TMP),
        (encode_project_dir(project.project), encode_project_dir(NEUTRAL_PROJECT)),
        (encode_project_dir(project.home), encode_project_dir(NEUTRAL_HOME)),
        (str(project.root), NEUTRAL_HOME),
        (encode_project_dir(project.root), encode_project_dir(NEUTRAL_HOME)),
    ]
    release = platform.release()
    if len(release) >= 5:
        pairs.append((release, NEUTRAL_KERNEL))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def neutralise(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def record(name: str, out: Path, claude_bin: Path, stub: AnthropicStub, workdir: Path) -> list[str]:
    """Run one scenario and write its fixtures; returns the hook event names recorded."""
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    project = ClaudeProject(root=root, claude_bin=claude_bin, stub=stub)
    scenario = scenarios.materialise(scenarios.ALL[name](), project.project)
    stub.script = scenario.script
    payload_dir = project.home / ".e2e-helpers" / "payloads"
    project.add_recorder(payload_dir)
    runs = scenario.run(project)
    for run in runs:
        if run.returncode != 0:
            raise SystemExit(f"{name}: {run.describe()}")
    pairs = neutraliser(project)

    lines = [raw.rstrip("\r\n") for raw in recorded_raw(payload_dir)]
    (out / f"{name}.jsonl").write_text(neutralise("".join(f"{line}\n" for line in lines), pairs),
                                       encoding="utf-8")

    dest = out / "transcripts" / name
    if dest.exists():
        shutil.rmtree(dest)
    src = project.transcripts_dir
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = neutralise(str(path.relative_to(src)), pairs)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(neutralise(path.read_text(encoding="utf-8"), pairs), encoding="utf-8")
    return [p.get("hook_event_name", "?") for p in read_recorded(payload_dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record real Claude Code hook payloads as fixtures.")
    parser.add_argument("scenario", nargs="*", help=f"scenarios to record (default: all of {', '.join(scenarios.ALL)})")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "tests" / "fixtures" / "claude_code" / CLAUDE_CODE_VERSION)
    args = parser.parse_args(argv)
    claude_bin = find_claude()
    if claude_bin is None:
        print(skip_reason(), file=sys.stderr)
        return 1
    names = args.scenario or list(scenarios.ALL)
    unknown = [n for n in names if n not in scenarios.ALL]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cc-fixtures-") as workdir, AnthropicStub(Script([])) as stub:
        for name in names:
            events = record(name, args.out, claude_bin, stub, Path(workdir))
            print(f"{name}: {len(events)} payloads: {' '.join(events)}")
        if stub.unexpected:
            print(f"stub saw unexpected requests: {stub.unexpected}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
