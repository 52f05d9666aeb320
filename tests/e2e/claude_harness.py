"""Run the real Claude Code headless against the scripted API stub, in a throw-away home.

A :class:`ClaudeProject` is a temporary folder holding a fake ``HOME`` and a project directory.
``run()`` starts ``claude -p PROMPT --output-format json`` there with the environment that keeps
Claude Code offline (see ``tests/e2e/README.md``) and returns what happened: exit code, the parsed
JSON result, stderr and the stub's requests made during that run.

Hooks go into ``<project>/.claude/settings.json``; :meth:`ClaudeProject.add_recorder` registers
a recorder hook for every hook event so a test can compare its own view of the payloads with
what another hook (hooklake's) captured.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anthropic_stub import AnthropicStub, RecordedRequest

CLAUDE_CODE_VERSION = "2.1.328"
CLAUDE_BIN_ENV = "HOOKLAKE_CLAUDE_BIN"
REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent

#: Every hook event name Claude Code 2.1.328 accepts in settings.json (from its settings schema).
HOOK_EVENTS: tuple[str, ...] = (
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
    "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop", "StopFailure",
    "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "PreModelSwitch", "PostModelSwitch",
    "PermissionRequest", "PermissionDenied", "Setup", "TeammateIdle", "TaskCreated", "TaskCompleted",
    "Elicitation", "ElicitationResult", "ConfigChange", "WorktreeCreate", "WorktreeRemove",
    "InstructionsLoaded", "CwdChanged", "FileChanged", "DirectoryAdded", "MessageDisplay",
)

#: Events whose hook output changes what Claude Code does beyond "observe": a recorder hook
#: that prints nothing could still alter behaviour (WorktreeCreate expects a path on stdout),
#: so the recorder stays off them.
NOT_RECORDED: frozenset[str] = frozenset({"WorktreeCreate", "WorktreeRemove"})

DEFAULT_TOOLS = "Bash Write Read Agent"


def find_claude() -> Path | None:
    """The Claude Code binary: ``$HOOKLAKE_CLAUDE_BIN``, else the copy ``make test`` installs."""
    env = os.environ.get(CLAUDE_BIN_ENV)
    if env is not None and env != "":
        path = Path(env)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    local = REPO_ROOT / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
    return local if local.is_file() and os.access(local, os.X_OK) else None


def skip_reason() -> str:
    env = os.environ.get(CLAUDE_BIN_ENV)
    if env:
        return f"${CLAUDE_BIN_ENV}={env} is not an executable file"
    return (
        f"Claude Code not found: set ${CLAUDE_BIN_ENV} or run `npm install --prefix .cache/claude-code "
        f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}` (make test does this)"
    )


def encode_project_dir(path: str | os.PathLike[str]) -> str:
    """How Claude Code names a project's transcript folder: every non-alphanumeric becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


@dataclass
class ClaudeRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    #: Requests the stub received during this run.
    requests: list[RecordedRequest]

    @property
    def result(self) -> dict[str, Any] | None:
        """The ``--output-format json`` result object, or None when stdout is not JSON."""
        try:
            value = json.loads(self.stdout)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def describe(self) -> str:
        return (
            f"claude {' '.join(shlex.quote(a) for a in self.args)} -> exit {self.returncode} "
            f"in {self.duration_s:.1f}s\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}"
        )


@dataclass
class ClaudeProject:
    """A temporary HOME plus a project folder in which Claude Code runs."""

    root: Path
    claude_bin: Path
    stub: AnthropicStub
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.home.mkdir(parents=True, exist_ok=True)
        self.project.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def settings_path(self) -> Path:
        return self.project / ".claude" / "settings.json"

    @property
    def transcripts_dir(self) -> Path:
        """``~/.claude/projects/<encoded project dir>`` inside the fake home."""
        return self.home / ".claude" / "projects" / encode_project_dir(self.project)

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": self.stub.base_url,
            "ANTHROPIC_API_KEY": "test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        for name in ("HOOKLAKE_HOME", "HOOKLAKE_LAKE", "HOOKLAKE_DISABLED"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(self.extra_env)
        return env

    # -- settings --------------------------------------------------------------------------
    def read_settings(self) -> dict[str, Any]:
        if not self.settings_path.exists():
            return {}
        return json.loads(self.settings_path.read_text())

    def write_settings(self, settings: dict[str, Any]) -> None:
        self.settings_path.parent.mkdir(parents=True, exist_ok=True)
        self.settings_path.write_text(json.dumps(settings, indent=2) + "\n")

    def add_recorder(self, out: Path, events: tuple[str, ...] = HOOK_EVENTS) -> None:
        """Register a recorder hook for every event: each payload lands verbatim in its own file.

        ``out`` is a directory; each hook process writes ``<ns since epoch>-<pid>.json`` there
        with ``cat`` (a shell and two tiny programs: ~10 ms even on a loaded machine, where a
        Python start-up per event can cost far more). :func:`read_recorded` returns the payloads
        in the order the hooks started. One file per payload means hooks running at the same
        time (parallel tools, background subagents) can never interleave.
        """
        out.mkdir(parents=True, exist_ok=True)
        target = shlex.quote(str(out)) + '/"$(date +%s%N)-$$.json"'
        command = f"cat > {target}"
        settings = self.read_settings()
        hooks = settings.setdefault("hooks", {})
        for event in events:
            if event in NOT_RECORDED:
                continue
            hooks.setdefault(event, []).append(
                {"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": 30}]}
            )
        self.write_settings(settings)

    def install_helper(self, name: str) -> Path:
        """Copy a helper script of tests/e2e (stdlib only) into ``<home>/.e2e-helpers/``."""
        dest = self.home / ".e2e-helpers" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(E2E_DIR / name, dest)
        return dest

    # -- running ---------------------------------------------------------------------------
    def run(
        self,
        prompt: str,
        *,
        continue_session: bool = False,
        allowed_tools: str = DEFAULT_TOOLS,
        extra_args: list[str] | None = None,
        timeout: float = 90,
    ) -> ClaudeRun:
        args = ["-p", prompt, "--allowedTools", allowed_tools, "--output-format", "json"]
        if continue_session:
            args.append("--continue")
        if extra_args:
            args.extend(extra_args)
        before = len(self.stub.requests)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [str(self.claude_bin), *args],
                cwd=self.project,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            returncode = -9
            stdout = _text(exc.stdout)
            stderr = _text(exc.stderr) + f"\n[timed out after {timeout}s]"
        return ClaudeRun(
            args=args,
            returncode=returncode,
            stdout=stdout,
            stderr=stderr,
            duration_s=time.monotonic() - started,
            requests=list(self.stub.requests[before:]),
        )


def python_command() -> str:
    """``python3`` when it is on PATH (helpers are stdlib only), else this interpreter."""
    return "python3" if shutil.which("python3") else shlex.quote(sys.executable)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def read_recorded(out: Path) -> list[dict[str, Any]]:
    """Payloads written by the recorder hook of :meth:`ClaudeProject.add_recorder`, in start order."""
    return [json.loads(raw) for raw in recorded_raw(out)]


def recorded_raw(out: Path) -> list[str]:
    """The recorder's payload texts, exactly as Claude Code sent them, in start order."""
    if not out.exists():
        return []

    def start(path: Path) -> tuple[int, int]:
        ns, _, pid = path.stem.partition("-")
        return int(ns), int(pid)

    return [p.read_text(encoding="utf-8") for p in sorted(out.glob("*.json"), key=start)]
