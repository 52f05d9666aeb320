"""A realistic multi-week demo dataset, fed through the real capture path.

The generator writes Claude-Code-shaped hook payloads (the same fields Claude Code sends:
``session_id``, ``transcript_path``, ``cwd``, ``hook_event_name``, ``prompt_id``, ``tool_use_id``,
``agent_id``/``agent_type`` inside subagents, ...) plus a ``timestamp`` field so that the events
spread over the weeks the demo covers instead of all landing "now". Each payload is serialised and
handed to :func:`hooks.spool.capture_bytes`, exactly what the capture hook does with its stdin, so
the demo exercises capture, ingest, the lakehouse views and learning end to end.

What the data contains, so every page has something to show:

* several projects (cwds) and developers' sessions spread over working hours, weekdays busier;
* prompts of many kinds (debugging, testing, api design, performance, refactoring, docs, database,
  devops, security, review) with paraphrases, so learning finds patterns;
* subagents (``Agent`` tool), some nested two deep, and a few background subagents whose completion
  comes back as a ``<task-notification>`` prompt;
* failing tools (Bash exit codes, Edit mismatches), MCP endpoints ``mcp__<server>__<tool>`` with
  their own latency and error profiles, interrupted tools, API failures (``StopFailure``);
* error bursts: a database outage and an API overload window;
* old-version sessions (no ``prompt_id``, ``tool_use_id`` or ``agent_id``; ``Task`` instead of
  ``Agent``), as Claude Code sent them before 2.1.196.

Everything is deterministic for a given seed and end time.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

DEMO_SOURCE = "claude_code"
"""The payloads imitate Claude Code's hooks, so they are captured as Claude Code events."""

SDK_SOURCE = "demo"
"""Events the demo adds beyond hook payloads (token usage) are labelled as demo data."""
_SDK_NAMES = frozenset({"api_response", "hook_execution"})

DEMO_USER_HOME = "/home/dev"

PROJECTS: tuple[tuple[str, float], ...] = (
    ("/home/dev/src/payments-api", 0.34),
    ("/home/dev/src/web-frontend", 0.26),
    ("/home/dev/src/data-pipeline", 0.22),
    ("/home/dev/src/infra", 0.18),
)

# --------------------------------------------------------------------------------------
# Request kinds: prompt templates, the execution path that usually serves them, outcomes
# --------------------------------------------------------------------------------------

_MODULES = (
    "the invoice service", "auth middleware", "the checkout flow", "the CSV importer",
    "the retry queue", "the user settings page", "the billing webhook", "the search index",
    "the rate limiter", "the session store", "the report generator", "the email sender",
)
_ERRORS = (
    "KeyError", "NullPointerException", "timeout", "race condition", "memory leak",
    "off-by-one error", "500 error", "deadlock", "UnicodeDecodeError", "flaky failure",
)
_FEATURES = (
    "refunds", "team invitations", "audit logs", "API keys", "usage quotas", "webhooks",
    "dark mode", "CSV export", "SSO login", "pagination",
)
_TABLES = ("orders", "users", "invoices", "events", "subscriptions")


@dataclass(frozen=True)
class Kind:
    """One kind of request and how the simulated agent usually serves it."""

    name: str
    templates: tuple[str, ...]
    tools: tuple[str, ...]
    """Typical tool sequence of the main agent (``@agent`` entries delegate to a subagent)."""
    success: float
    """Base probability that the trace ends well."""
    weight: float


KINDS: tuple[Kind, ...] = (
    Kind(
        "debugging",
        (
            "Fix the {error} in {module}",
            "Why does {module} throw a {error} when the cache is cold?",
            "Debug the {error} we see in {module} since yesterday's deploy",
            "There's a {error} in {module}, can you find the root cause and fix it?",
        ),
        ("Grep", "Read", "Read", "Bash:test", "Edit", "Bash:test", "mcp__sentry__get_issue"),
        0.78,
        0.22,
    ),
    Kind(
        "testing",
        (
            "Write unit tests for {module}",
            "Add integration tests covering {feature}",
            "Increase test coverage of {module} to 90%",
            "The tests for {module} are flaky, make them deterministic",
        ),
        ("Glob", "Read", "@test-runner", "Write", "Bash:test"),
        0.82,
        0.16,
    ),
    Kind(
        "api_design",
        (
            "Design a REST endpoint for {feature}",
            "Add a GraphQL mutation for {feature}",
            "Draft the OpenAPI spec for the {feature} API",
        ),
        ("Read", "@Plan", "Write", "Edit", "Bash:lint", "mcp__github__create_pull_request"),
        0.86,
        0.09,
    ),
    Kind(
        "performance",
        (
            "Speed up {module}, it takes 8 seconds per request",
            "Profile {module} and remove the N+1 queries",
            "Why is {module} so slow under load?",
        ),
        ("Read", "mcp__postgres__query", "mcp__postgres__explain", "Edit", "Bash:bench"),
        0.7,
        0.09,
    ),
    Kind(
        "refactoring",
        (
            "Refactor {module} to use dependency injection",
            "Split {module} into smaller functions",
            "Remove the duplicated validation logic in {module}",
        ),
        ("Grep", "Read", "Edit", "Edit", "@code-reviewer", "Bash:test"),
        0.8,
        0.12,
    ),
    Kind(
        "documentation",
        (
            "Document {module} in the README",
            "Write docstrings for the public functions of {module}",
            "Update the changelog for the {feature} release",
        ),
        ("Read", "@docs-writer", "Edit"),
        0.93,
        0.08,
    ),
    Kind(
        "database",
        (
            "Add a migration that adds a {feature} column to {table}",
            "Write a query that finds duplicate rows in {table}",
            "Add an index to {table} for the {feature} lookup",
        ),
        ("mcp__postgres__list_tables", "mcp__postgres__query", "@db-migrator", "Bash:migrate"),
        0.75,
        0.09,
    ),
    Kind(
        "devops",
        (
            "Set up CI to run the linters on every push",
            "Fix the failing Docker build for {module}",
            "Add a health check to the deployment of {module}",
        ),
        ("Read", "Edit", "Bash:docker", "mcp__github__list_workflow_runs"),
        0.66,
        0.07,
    ),
    Kind(
        "code_review",
        (
            "Review the open pull request for {feature}",
            "Check PR #{number} for security problems",
        ),
        ("mcp__github__get_pull_request", "@code-reviewer", "mcp__github__create_review"),
        0.88,
        0.08,
    ),
)

#: What each subagent does inside its own run (``@`` entries delegate again: nesting).
SUBAGENT_TOOLS: dict[str, tuple[str, ...]] = {
    "test-runner": ("Read", "Bash:test", "Bash:test"),
    "Plan": ("Glob", "Read", "Read"),
    "code-reviewer": ("Grep", "Read", "Read", "@test-runner"),
    "docs-writer": ("Read", "Write"),
    "db-migrator": ("mcp__postgres__list_tables", "Write", "Bash:migrate"),
    "general-purpose": ("Grep", "Read"),
    "Explore": ("Glob", "Grep", "Read"),
}

#: Latency (median ms, spread) and base error rate per tool / MCP endpoint.
TOOL_PROFILES: dict[str, tuple[float, float, float]] = {
    "Read": (12, 0.5, 0.01),
    "Grep": (60, 0.6, 0.0),
    "Glob": (25, 0.5, 0.0),
    "Write": (15, 0.4, 0.01),
    "Edit": (20, 0.4, 0.06),
    "Bash:test": (9000, 0.7, 0.22),
    "Bash:lint": (2500, 0.5, 0.12),
    "Bash:bench": (15000, 0.5, 0.1),
    "Bash:migrate": (3000, 0.5, 0.15),
    "Bash:docker": (45000, 0.6, 0.3),
    "mcp__sentry__get_issue": (650, 0.5, 0.05),
    "mcp__postgres__query": (180, 0.9, 0.04),
    "mcp__postgres__explain": (240, 0.7, 0.04),
    "mcp__postgres__list_tables": (90, 0.5, 0.02),
    "mcp__github__create_pull_request": (1400, 0.4, 0.08),
    "mcp__github__get_pull_request": (500, 0.4, 0.03),
    "mcp__github__create_review": (900, 0.4, 0.05),
    "mcp__github__list_workflow_runs": (700, 0.5, 0.06),
}

_BASH_COMMANDS = {
    "Bash:test": ("pytest -q", "npm test", "go test ./...", "pytest tests/unit -x"),
    "Bash:lint": ("ruff check .", "npm run lint", "mypy src"),
    "Bash:bench": ("python bench.py --quick", "wrk -t2 -c50 -d10s http://127.0.0.1:8000/"),
    "Bash:migrate": ("alembic upgrade head", "python manage.py migrate"),
    "Bash:docker": ("docker build -t app .", "docker compose up -d --build"),
}

_TOOL_ERRORS = {
    "Bash:test": (
        "Error: Exit code 1\nFAILED tests/test_{m}.py::test_roundtrip - AssertionError: expected 200, got 500",
        "Error: Exit code 1\n3 failed, 41 passed in 12.31s",
        "Error: Exit code 2\nERROR collecting tests/test_{m}.py - ImportError: cannot import name 'Client'",
    ),
    "Bash:lint": ("Error: Exit code 1\nsrc/{m}.py:41:5: F841 local variable 'result' is assigned to but never used",),
    "Bash:bench": ("Error: Exit code 1\nConnectionRefusedError: [Errno 111] Connection refused",),
    "Bash:migrate": ("Error: Exit code 1\nsqlalchemy.exc.OperationalError: relation \"{t}\" already exists",),
    "Bash:docker": (
        "Error: Exit code 1\nfailed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not complete successfully: exit code: 1",
        "Error: Exit code 125\ndocker: Error response from daemon: port is already allocated",
    ),
    "Edit": ("String to replace not found in file.\nString: def handle_{m}(",),
    "Read": ("File does not exist.",),
    "Write": ("EACCES: permission denied, open '/home/dev/src/{m}.lock'",),
    "mcp__sentry__get_issue": ("MCP error -32001: Request timed out",),
    "mcp__postgres__query": (
        "MCP error -32603: canceling statement due to statement timeout",
        "MCP error -32603: relation \"{t}_archive\" does not exist",
    ),
    "mcp__postgres__explain": ("MCP error -32603: syntax error at or near \"LIMIT\"",),
    "mcp__postgres__list_tables": ("MCP error -32000: Connection closed",),
    "mcp__github__create_pull_request": (
        "MCP error -32603: Validation Failed: A pull request already exists for dev:feature-{m}",
        "MCP error -32603: API rate limit exceeded for installation ID 4123",
    ),
    "mcp__github__get_pull_request": ("MCP error -32603: Not Found",),
    "mcp__github__create_review": ("MCP error -32603: API rate limit exceeded for installation ID 4123",),
    "mcp__github__list_workflow_runs": ("MCP error -32001: Request timed out",),
}

_OUTAGE_ERRORS = {
    "mcp__postgres__query": "MCP error -32000: connection to server at \"10.0.3.12\", port 5432 failed: Connection refused",
    "mcp__postgres__explain": "MCP error -32000: connection to server at \"10.0.3.12\", port 5432 failed: Connection refused",
    "mcp__postgres__list_tables": "MCP error -32000: connection to server at \"10.0.3.12\", port 5432 failed: Connection refused",
    "Bash:migrate": "Error: Exit code 1\npsycopg.OperationalError: connection to server at \"10.0.3.12\", port 5432 failed: Connection refused",
}

#: The user's own hooks, run through ``hooklake run`` (which records a ``hook_execution`` event):
#: project -> (hook event, tool matcher or None, hook name, command, median ms, error rate).
WRAPPED_HOOKS: dict[str, tuple[tuple[str, str | None, str, str, float, float], ...]] = {
    "/home/dev/src/payments-api": (
        ("PreToolUse", "Bash", "guard-commands", "python .claude/hooks/guard.py", 35, 0.02),
        ("PostToolUse", "Edit", "format-on-save", "ruff format --quiet", 420, 0.03),
        ("Stop", None, "quality-gate", "make check", 3800, 0.12),
    ),
    "/home/dev/src/infra": (
        ("PreToolUse", "Bash", "guard-commands", "python .claude/hooks/guard.py", 40, 0.03),
        ("PostToolUse", "Edit", "terraform-fmt", "terraform fmt -recursive", 2600, 0.08),
    ),
    "/home/dev/src/data-pipeline": (
        ("UserPromptSubmit", None, "inject-context", "python .claude/hooks/context.py", 160, 0.01),
    ),
}

_STOP_FAILURES = (
    "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
    "API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Rate limited\"}}",
)


@dataclass(frozen=True)
class DemoConfig:
    """Size and shape of the generated dataset."""

    days: int = 21
    """How many days of history, ending at ``end``."""
    seed: int = 7
    sessions_per_day: float = 9.0
    """Average sessions per weekday (weekends get a third of it)."""
    prompts_per_session: tuple[int, int] = (2, 6)
    end: datetime | None = None
    """Last moment of the dataset (default: now, UTC)."""
    old_version_share: float = 0.12
    """Share of sessions recorded by a Claude Code without prompt_id / tool_use_id / agent_id."""


@dataclass
class DemoReport:
    sessions: int = 0
    traces: int = 0
    events: int = 0
    projects: int = 0
    first: str = ""
    last: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "traces": self.traces,
            "events": self.events,
            "projects": self.projects,
            "first": self.first,
            "last": self.last,
            "event_counts": dict(sorted(self.counts.items())),
        }


#: Events that carry ``effort`` (an object since 2.1.3xx) in recorded 2.1.328 payloads.
_EFFORT_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "SubagentStop", "Stop"})


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _encode_cwd(cwd: str) -> str:
    return cwd.replace("/", "-").replace(".", "-")


class _Session:
    """Builds the payloads of one Claude Code session, advancing its own clock."""

    def __init__(self, rng: random.Random, cwd: str, start: datetime, old: bool, outages: list[tuple[datetime, datetime, str]]):
        self.rng = rng
        self.cwd = cwd
        self.clock = start
        self.old = old
        self.outages = outages
        self.session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.transcript = f"{DEMO_USER_HOME}/.claude/projects/{_encode_cwd(cwd)}/{self.session_id}.jsonl"
        self.events: list[dict[str, Any]] = []
        self.prompt_id: str | None = None
        self.background: list[tuple[str, str]] = []  # (tool_use_id, agent_id) reported later
        self.traces = 0

    # -- helpers -------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _tool_use_id(self) -> str:
        return "toolu_01" + "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789") for _ in range(22))

    def _agent_id(self) -> str:
        return "a" + "".join(self.rng.choice("0123456789abcdef") for _ in range(16))

    def advance(self, ms: float) -> None:
        self.clock += timedelta(milliseconds=max(1.0, ms))

    def emit(self, name: str, agent: tuple[str, str] | None = None, **fields: Any) -> None:
        payload: dict[str, Any] = {
            "session_id": self.session_id,
            "transcript_path": self.transcript,
            "cwd": self.cwd,
            "hook_event_name": name,
        }
        if self.prompt_id is not None and not self.old:
            payload["prompt_id"] = self.prompt_id
        if name not in ("SessionStart", "SessionEnd", "SubagentStart", "MessageDisplay"):
            payload["permission_mode"] = "default"
        if agent is not None and not self.old:
            payload["agent_id"], payload["agent_type"] = agent
        if not self.old and name in _EFFORT_EVENTS:
            payload["effort"] = {"level": "medium"}
        payload.update(fields)
        payload["timestamp"] = _iso(self.clock)
        self.events.append(payload)

    def _outage(self, tool: str) -> str | None:
        for start, end, affected in self.outages:
            if start <= self.clock <= end and tool in _OUTAGE_ERRORS and affected == "postgres":
                return _OUTAGE_ERRORS[tool]
        return None

    # -- building blocks -----------------------------------------------------------------
    def tool_call(self, spec: str, agent: tuple[str, str] | None, depth: int, failure_bias: float) -> bool:
        """One tool call (or a subagent when ``spec`` starts with ``@``); returns False on failure."""
        if spec.startswith("@"):
            return self.subagent(spec[1:], agent, depth, failure_bias)
        rng = self.rng
        tool_name = spec.split(":")[0]
        median, spread, error_rate = TOOL_PROFILES.get(spec, (50, 0.5, 0.02))
        tool_input = self._tool_input(spec)
        tool_use_id = None if self.old else self._tool_use_id()
        pre: dict[str, Any] = {"tool_name": tool_name, "tool_input": tool_input}
        if tool_use_id is not None:
            pre["tool_use_id"] = tool_use_id
        if tool_name.startswith("mcp__") and not self.old:
            pre["mcp_server"] = {"name": tool_name.split("__")[1], "source": "dynamic"}
        self.advance(rng.uniform(300, 4000))  # the model thinks before calling the tool
        self.emit("PreToolUse", agent, **pre)
        self.wrapped_hooks("PreToolUse", agent, pre)
        duration = median * rng.lognormvariate(0, spread)
        outage = self._outage(spec)
        fails = outage is not None and rng.random() < 0.85
        fails = fails or rng.random() < min(0.9, error_rate * failure_bias)
        if outage is not None and fails:
            duration = rng.uniform(5000, 30000)
        self.advance(duration)
        if fails and rng.random() < 0.04:
            self.emit("PostToolUseFailure", agent, **pre, error="Interrupted by user", is_interrupt=True,
                      duration_ms=round(duration, 1))
            return False
        if fails:
            message = outage or rng.choice(_TOOL_ERRORS.get(spec, ("Error: tool failed",)))
            message = message.format(m=rng.choice(("invoice", "auth", "checkout", "importer")), t=rng.choice(_TABLES))
            self.emit("PostToolUseFailure", agent, **pre, error=message, is_interrupt=False,
                      duration_ms=round(duration, 1))
            return False
        response = self._tool_response(spec, tool_input)
        self.emit("PostToolUse", agent, **pre, tool_response=response, duration_ms=round(duration, 1))
        self.wrapped_hooks("PostToolUse", agent, pre)
        self.batch(agent, pre, response)
        return True

    def wrapped_hooks(self, event: str, agent: tuple[str, str] | None, tool: dict[str, Any] | None = None) -> None:
        """The project's own hooks for ``event``, as ``hooklake run`` records them (current versions only)."""
        if self.old:
            return
        rng = self.rng
        for hook_event, matcher, name, command, median, error_rate in WRAPPED_HOOKS.get(self.cwd, ()):
            if hook_event != event or (matcher is not None and (tool or {}).get("tool_name") != matcher):
                continue
            slow = self.cwd.endswith("infra") and rng.random() < 0.15
            duration = median * rng.lognormvariate(0, 0.45) * (rng.uniform(3, 6) if slow else 1.0)
            timed_out = duration > 10_000 and rng.random() < 0.5
            failed = timed_out or rng.random() < error_rate
            blocked = not failed and name == "guard-commands" and rng.random() < 0.04
            exit_code = 124 if timed_out else (1 if failed else (2 if blocked else 0))
            ids: dict[str, Any] = {"correlation_id": self.prompt_id, "root_id": self.prompt_id,
                                   "execution_id": "".join(rng.choice("0123456789abcdef") for _ in range(16)),
                                   "session_id": self.session_id, "prompt_id": self.prompt_id}
            if tool is not None and tool.get("tool_use_id"):
                ids["parent_id"] = tool["tool_use_id"]
            payload: dict[str, Any] = {
                "hook_event_name": "hook_execution", **ids, "timestamp": _iso(self.clock),
                "hook_name": name, "command": command, "hook_event": event, "cwd": self.cwd,
                "exit_code": exit_code,
                "decision": "timeout" if timed_out else ("block" if blocked else ("error" if failed else "allow")),
                "status": "error" if failed else "ok", "duration_ms": round(duration, 3),
                "stdout_bytes": 0, "stderr_bytes": 120 if failed or blocked else 0,
                "timed_out": timed_out, "timeout_s": 10.0 if name != "quality-gate" else 60.0,
            }
            if tool is not None:
                payload.update({k: tool[k] for k in ("tool_name", "tool_use_id") if tool.get(k)})
            if agent is not None:
                payload["agent_id"], payload["agent_type"] = agent
            if failed:
                payload["error"] = "timed out after 10s" if timed_out else rng.choice(
                    ("make: *** [check] Error 2", "error: could not format src/api/invoice.py: syntax error",
                     "Error: Failed to load plugin 'ruff': No module named 'ruff'"))
                payload["error_type"] = "timeout" if timed_out else f"exit_{exit_code}"
            if blocked:
                payload["reason"] = "Refusing to run rm -rf outside the build folder"
            self.events.append(payload)
            self.advance(duration)

    def batch(self, agent: tuple[str, str] | None, pre: dict[str, Any], response: Any) -> None:
        """``PostToolBatch`` closes each batch of tool calls in current versions."""
        if self.old:
            return
        call = {k: pre[k] for k in ("tool_name", "tool_input", "tool_use_id") if k in pre}
        self.advance(2)
        self.emit("PostToolBatch", agent, tool_calls=[{**call, "tool_response": response}])

    def subagent(self, agent_type: str, parent: tuple[str, str] | None, depth: int, failure_bias: float) -> bool:
        rng = self.rng
        description = f"{agent_type} for the current task"
        tool_name = "Task" if self.old else "Agent"
        background = not self.old and parent is None and rng.random() < 0.06
        tool_input: dict[str, Any] = {"description": description, "prompt": f"Act as {agent_type}: {description}",
                                      "subagent_type": agent_type}
        if background:
            tool_input["run_in_background"] = True
        tool_use_id = None if self.old else self._tool_use_id()
        pre: dict[str, Any] = {"tool_name": tool_name, "tool_input": tool_input}
        if tool_use_id is not None:
            pre["tool_use_id"] = tool_use_id
        self.advance(rng.uniform(500, 3000))
        self.emit("PreToolUse", parent, **pre)
        agent = (self._agent_id(), agent_type)
        started = self.clock
        self.advance(rng.uniform(20, 80))
        if not self.old:  # SubagentStart is recent; old versions only sent SubagentStop
            self.emit("SubagentStart", agent, agent_id=agent[0], agent_type=agent_type)
        if background:  # the Agent call returns at once; the subagent keeps working
            launched = {"isAsync": True, "status": "async_launched", "agentId": agent[0], "description": description}
            self.emit("PostToolUse", parent, **pre, tool_response=launched, duration_ms=round(rng.uniform(15, 40)))
            self.batch(parent, pre, launched)
            self.background.append((tool_use_id or "", agent[0]))
        ok = True
        for spec in SUBAGENT_TOOLS.get(agent_type, ("Read",)):
            if spec.startswith("@") and depth >= 2:
                continue
            ok = self.tool_call(spec, agent, depth + 1, failure_bias) and ok
        self.advance(rng.uniform(800, 4000))
        stop_fields: dict[str, Any] = {"stop_hook_active": False}
        if not self.old:
            stop_fields.update(
                agent_transcript_path=self.transcript.replace(".jsonl", f"/subagents/agent-{agent[0]}.jsonl"),
                last_assistant_message=f"{agent_type} finished." if ok else f"{agent_type} hit an error.",
                background_tasks=[], session_crons=[],
            )
        self.emit("SubagentStop", None if self.old else agent, **stop_fields)
        elapsed = (self.clock - started).total_seconds() * 1000
        if background:
            return True
        response = {"status": "completed", "prompt": tool_input["prompt"],
                    "content": [{"type": "text", "text": f"{agent_type} finished."}],
                    "totalDurationMs": round(elapsed), "totalToolUseCount": len(SUBAGENT_TOOLS.get(agent_type, ()))}
        self.emit("PostToolUse", parent, **pre, tool_response=response, duration_ms=round(elapsed))
        self.batch(parent, pre, response)
        return ok

    def prompt(self, text: str, kind: Kind, failure_bias: float) -> None:
        rng = self.rng
        self.prompt_id = self._uuid()
        self.traces += 1
        self.emit("UserPromptSubmit", None, prompt=text)
        self.wrapped_hooks("UserPromptSubmit", None)
        tools = list(kind.tools)
        if rng.random() < 0.25:  # a little variation in the path
            tools.insert(rng.randrange(len(tools) + 1), rng.choice(("Read", "Grep", "Glob")))
        if rng.random() < 0.08:
            tools.append("@general-purpose")
        if rng.random() < 0.05:
            tools.insert(0, "@Explore")
        failures = 0
        for spec in tools:
            if spec.startswith("@") and self.old and rng.random() < 0.5:
                continue
            if not self.tool_call(spec, None, 0, failure_bias):
                failures += 1
                if rng.random() < 0.5:  # the agent retries a failed step once
                    if self.tool_call(spec, None, 0, failure_bias):
                        failures -= 1
        if rng.random() < 0.05:
            self.emit("Notification", None, message="Claude needs your permission to use Bash",
                      notification_type="permission_prompt")
            self.advance(rng.uniform(4000, 40000))
        if rng.random() < 0.02:
            self.emit("PreCompact", None, trigger="auto", custom_instructions="")
        self.advance(rng.uniform(1500, 9000))
        overloaded = any(s <= self.clock <= e and what == "api" for s, e, what in self.outages)
        if (overloaded and rng.random() < 0.5) or rng.random() < 0.012:
            self.emit("StopFailure", None, error=rng.choice(_STOP_FAILURES))
            return
        summary = "Done: the change is in place and the tests pass." if failures == 0 else \
            f"I could not finish: {failures} step(s) failed, see the errors above."
        self.message(summary)
        self.usage(len(tools))
        self.emit("Stop", None, stop_hook_active=False, last_assistant_message=summary,
                  **({} if self.old else {"background_tasks": [], "session_crons": []}))
        self.wrapped_hooks("Stop", None)

    def usage(self, steps: int) -> None:
        """Token usage and cost of the prompt's model calls, as an ``api_response`` SDK event.

        Hook payloads carry no token counts; transcripts and OTLP do. The demo adds one such event
        per prompt (source ``demo``) so the cost and token views have something to show.
        """
        rng = self.rng
        calls = steps + 1
        input_tokens = int(calls * rng.uniform(9_000, 30_000))
        output_tokens = int(calls * rng.uniform(150, 900))
        payload = {"hook_event_name": "api_response", "session_id": self.session_id, "cwd": self.cwd,
                   "model": "claude-sonnet-4-5", "api_calls": calls,
                   "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                   "cost_usd": round(input_tokens * 3e-6 * 0.35 + output_tokens * 15e-6, 5)}
        if self.prompt_id is not None and not self.old:
            payload["prompt_id"] = self.prompt_id
        payload["timestamp"] = _iso(self.clock)
        self.events.append(payload)

    def message(self, text: str) -> None:
        """``MessageDisplay``: the assistant text shown to the user (current versions)."""
        if self.old:
            return
        self.emit("MessageDisplay", None, turn_id=self._uuid(), message_id=self._uuid(), index=0, final=True, delta=text)

    def task_notification(self) -> None:
        tool_use_id, agent_id = self.background.pop(0)
        self.prompt_id = self._uuid()
        self.traces += 1
        text = (f"<task-notification>\n<task-id>{agent_id}</task-id>\n<tool-use-id>{tool_use_id}</tool-use-id>\n"
                "<status>completed</status>\n<summary>Agent completed</summary>\n</task-notification>")
        self.emit("UserPromptSubmit", None, prompt=text)
        self.advance(self.rng.uniform(1500, 5000))
        self.message("The background task has finished.")
        self.emit("Stop", None, stop_hook_active=False, last_assistant_message="The background task has finished.",
                  background_tasks=[], session_crons=[])

    # -- inputs and responses ------------------------------------------------------------
    def _tool_input(self, spec: str) -> dict[str, Any]:
        rng = self.rng
        name = spec.split(":")[0]
        path = f"{self.cwd}/src/{rng.choice(('api', 'core', 'jobs', 'web'))}/{rng.choice(('invoice', 'auth', 'checkout', 'importer', 'queue'))}.py"
        if name == "Bash":
            return {"command": rng.choice(_BASH_COMMANDS.get(spec, ("ls",))), "description": "Run the command"}
        if name == "Read":
            return {"file_path": path}
        if name in ("Edit",):
            return {"file_path": path, "old_string": "return None", "new_string": "return result", "replace_all": False}
        if name == "Write":
            return {"file_path": path.replace(".py", "_test.py"), "content": "def test_it():\n    assert True\n"}
        if name == "Grep":
            return {"pattern": rng.choice(("def handle", "TODO", "retry", "timeout")), "path": self.cwd, "output_mode": "files_with_matches"}
        if name == "Glob":
            return {"pattern": rng.choice(("**/*.py", "src/**/*.ts", "tests/**/*"))}
        if name.startswith("mcp__postgres__"):
            return {"sql": f"SELECT * FROM {rng.choice(_TABLES)} WHERE id = $1 LIMIT 50"}
        if name.startswith("mcp__github__"):
            return {"owner": "acme", "repo": self.cwd.rsplit("/", 1)[-1], "pull_number": rng.randint(100, 999)}
        if name.startswith("mcp__sentry__"):
            return {"issue_id": str(rng.randint(4_000_000, 4_999_999))}
        return {}

    def _tool_response(self, spec: str, tool_input: dict[str, Any]) -> Any:
        name = spec.split(":")[0]
        if name == "Bash":
            return {"stdout": "ok", "stderr": "", "interrupted": False, "isImage": False}
        if name == "Read":
            return {"type": "text", "file": {"filePath": tool_input.get("file_path"), "content": "...", "numLines": 120,
                                             "startLine": 1, "totalLines": 120}}
        if name in ("Edit", "Write"):
            return {"filePath": tool_input.get("file_path"), "type": "update" if name == "Edit" else "create"}
        if name in ("Grep", "Glob"):
            return {"filenames": [f"{self.cwd}/src/api/invoice.py"], "numFiles": 1, "durationMs": 9}
        return [{"type": "text", "text": "{\"ok\": true}"}]


def _prompt_text(rng: random.Random, kind: Kind) -> str:
    template = rng.choice(kind.templates)
    text = template.format(
        module=rng.choice(_MODULES), error=rng.choice(_ERRORS), feature=rng.choice(_FEATURES),
        table=rng.choice(_TABLES), number=rng.randint(100, 999),
    )
    if rng.random() < 0.15:
        text = rng.choice(("Please ", "Can you ", "Quick one: ")) + text[0].lower() + text[1:]
    return text


def generate(config: DemoConfig | None = None) -> Iterator[dict[str, Any]]:
    """Yield the dataset's hook payloads, in time order per session (sessions may overlap)."""
    cfg = config if config is not None else DemoConfig()
    rng = random.Random(cfg.seed)
    end = (cfg.end if cfg.end is not None else datetime.now(timezone.utc)).astimezone(timezone.utc)
    end = end.replace(microsecond=0)
    start = (end - timedelta(days=cfg.days)).replace(hour=0, minute=0, second=0)
    # Error bursts: a database outage and an API overload window, inside the covered period.
    outages: list[tuple[datetime, datetime, str]] = []
    if cfg.days >= 2:
        outage_day = start + timedelta(days=max(1, int(cfg.days * 0.55)))
        outages.append((outage_day + timedelta(hours=9), outage_day + timedelta(hours=15), "postgres"))
        overload_day = start + timedelta(days=max(1, int(cfg.days * 0.8)))
        outages.append((overload_day + timedelta(hours=13), overload_day + timedelta(hours=16), "api"))
    kinds = list(KINDS)
    weights = [k.weight for k in kinds]
    projects = [p for p, _ in PROJECTS]
    project_weights = [w for _, w in PROJECTS]
    day = start
    while day < end:
        weekend = day.weekday() >= 5
        expected = cfg.sessions_per_day / (3 if weekend else 1)
        n_sessions = max(0, int(rng.gauss(expected, expected * 0.25) + 0.5))
        for _ in range(n_sessions):
            begin = day + timedelta(hours=rng.uniform(8.0, 19.0))
            if begin >= end:
                continue
            cwd = rng.choices(projects, project_weights)[0]
            old_share = cfg.old_version_share * (2.5 if (day - start).days < cfg.days / 3 else 0.3)
            session = _Session(rng, cwd, begin, rng.random() < old_share, outages)
            session.emit("SessionStart", None, source="startup", model="claude-sonnet-4-5")
            # A project-specific bias: infra is flakier, docs-heavy sessions are smooth.
            bias = {"/home/dev/src/infra": 1.6, "/home/dev/src/data-pipeline": 1.2}.get(cwd, 1.0)
            for _ in range(rng.randint(*cfg.prompts_per_session)):
                session.advance(rng.uniform(5_000, 180_000))
                if session.background and rng.random() < 0.7:
                    session.task_notification()
                    continue
                kind = rng.choices(kinds, weights)[0]
                failure_bias = bias * (0.6 if rng.random() < kind.success else 2.5)
                session.prompt(_prompt_text(rng, kind), kind, failure_bias)
            while session.background:
                session.advance(rng.uniform(5_000, 60_000))
                session.task_notification()
            session.advance(rng.uniform(2_000, 60_000))
            session.emit("SessionEnd", None, reason=rng.choice(("prompt_input_exit", "clear", "logout", "other")))
            yield from (e for e in session.events if _parse_ts(e["timestamp"]) <= end)
        day += timedelta(days=1)


def _parse_ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _capture_function() -> Callable[[bytes, str], Any]:
    from hooklake.errors import HooklakeError

    try:
        from hooks.spool import capture_bytes
    except ImportError as exc:
        raise HooklakeError(
            "the capture module hooks/spool.py is missing or incomplete; reinstall hooklake "
            f"(pip install -e .) and retry ({exc})"
        ) from exc
    return capture_bytes


def write_demo(config: DemoConfig | None = None, progress: Callable[[int], None] | None = None) -> DemoReport:
    """Feed the demo dataset through the capture path into the spool of ``$HOOKLAKE_HOME``."""
    capture = _capture_function()
    report = DemoReport()
    sessions: set[str] = set()
    projects: set[str] = set()
    first = last = None
    for payload in generate(config):
        source = SDK_SOURCE if payload["hook_event_name"] in _SDK_NAMES else DEMO_SOURCE
        capture(json.dumps(payload, separators=(",", ":")).encode("utf-8"), source)
        report.events += 1
        name = payload["hook_event_name"]
        report.counts[name] = report.counts.get(name, 0) + 1
        if name == "UserPromptSubmit":
            report.traces += 1
        sessions.add(payload["session_id"])
        projects.add(payload.get("cwd", ""))
        ts = payload["timestamp"]
        first = ts if first is None or ts < first else first
        last = ts if last is None or ts > last else last
        if progress is not None and report.events % 1000 == 0:
            progress(report.events)
    report.sessions = len(sessions)
    report.projects = len(projects)
    report.first = first or ""
    report.last = last or ""
    return report
