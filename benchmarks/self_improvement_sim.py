"""Does hooklake get better with use? A simulated team, fed through the real pipeline, round by round.

The world: request kinds (debugging a flaky test, designing an API endpoint, speeding up a slow
query, ...) each written in many paraphrases, and a team of Claude Code subagents whose chance of
success depends on the kind (one agent is good at it, some are so-so, the rest are poor). The agent
descriptions in ``.claude/agents/*.md`` are what a team would write; they do not reveal who is
actually good at what, so the description-based fallback router has to guess.

Each round, every request goes through the same path a real session takes:

    route (learned Router: it replays a pattern when the request is of a kind it has seen and the
    best way of handling that kind has worked often enough — calibrated relevance x the lower bound
    of the path's success reaches [learning] min_replay_success; the advice layer's own gate,
    [advice] min_pattern_success, applies too; else the fallback router, with some exploration)
    -> the chosen agent runs ->
    Claude Code hook payloads (UserPromptSubmit, Agent PreToolUse, SubagentStart, the agent's tools,
    PostToolUse / PostToolUseFailure, SubagentStop, Stop) captured with hooks.spool.capture_bytes ->
    an ``advice`` event (treatment / holdout) and the user's verdict as a ``feedback`` event ->
    ``run_ingest`` -> ``hooklake learn`` -> the router reloads the new index.

Printed per round: success rate of the learned policy (realised) and of the fallback router on the
same requests (expected, from the world's probabilities, so both are judged on identical prompts),
the share of requests routed by a learned pattern, pattern replay success (target > 90%), and
routing latency of learned decisions vs fallback decisions.

    python benchmarks/self_improvement_sim.py [--quick] [--rounds N] [--per-round N] [--seed S]
        [--min-confidence C]   # the [learning] min_confidence override: replay the best match from
                               # confidence C up, instead of judging replays by their success
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "self_improvement_sim.json"

# --------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------

AGENTS: dict[str, str] = {
    "backend-dev": "Backend developer: Python services, APIs, databases and general code changes.",
    "qa-engineer": "Quality engineer: tests, test suites, CI pipelines and release checks.",
    "dba": "Database specialist: schemas, migrations, SQL and data work.",
    "tech-writer": "Writes and edits documentation, READMEs, guides and changelogs.",
    "frontend-dev": "Frontend developer: React components, CSS, accessibility and the UI.",
    "sre": "Site reliability: deployments, monitoring, incidents, infrastructure and performance.",
    "security-reviewer": "Reviews code for security problems and dependency risks.",
}
GENERAL = "general-purpose"


@dataclass(frozen=True)
class Kind:
    name: str
    templates: tuple[str, ...]
    fillers: dict[str, tuple[str, ...]]
    best: str
    ok: tuple[str, ...]
    tools: tuple[str, ...]


KINDS: tuple[Kind, ...] = (
    Kind(
        "flaky_test",
        (
            "The {thing} test is flaky on CI, it fails about one run in five. Find out why and make it deterministic.",
            "{thing} tests pass locally but randomly fail in the pipeline; please track down the flakiness.",
            "Intermittent failure in test_{thing}: sometimes it times out. Can you stabilise it?",
            "Our CI keeps going red because of a nondeterministic {thing} test. Fix the race.",
        ),
        {"thing": ("checkout", "login", "payment", "search", "upload", "invoice", "session", "cart")},
        best="sre", ok=("qa-engineer",), tools=("Bash", "Read", "Grep", "Edit", "Bash"),
    ),
    Kind(
        "api_endpoint",
        (
            "Add a REST endpoint to list {thing} with pagination and filtering.",
            "We need a new API route for {thing}: GET with page and per_page parameters.",
            "Design and implement an HTTP endpoint that returns {thing} as JSON, paginated.",
            "Expose {thing} through the public API, with cursor pagination and validation.",
        ),
        {"thing": ("orders", "customers", "invoices", "products", "shipments", "coupons", "refunds")},
        best="backend-dev", ok=(GENERAL,), tools=("Read", "Write", "Edit", "Bash"),
    ),
    Kind(
        "slow_query",
        (
            "The {thing} report page takes 12 seconds to load; the SQL query behind it is slow. Speed it up.",
            "Optimise the slow database query that builds the {thing} dashboard.",
            "Profiling shows the {thing} query doing a sequential scan. Make it fast.",
            "Loading {thing} statistics is sluggish; find the expensive query and fix it.",
        ),
        {"thing": ("sales", "inventory", "revenue", "traffic", "churn", "signup", "billing")},
        best="dba", ok=("backend-dev", "sre"), tools=("Bash", "Read", "Edit", "Bash"),
    ),
    Kind(
        "docs_update",
        (
            "Update the README section about {thing} so it matches the current behaviour.",
            "The docs for {thing} are out of date; rewrite that page.",
            "Write a short guide explaining how {thing} works for new contributors.",
            "Document the {thing} configuration options in the user manual.",
        ),
        {"thing": ("authentication", "deployment", "caching", "webhooks", "rate limiting", "exports")},
        best="tech-writer", ok=(GENERAL, "backend-dev"), tools=("Read", "Write"),
    ),
    Kind(
        "ui_bug",
        (
            "The {thing} button is misaligned on mobile screens; fix the CSS.",
            "On small viewports the {thing} form overflows the page. Please fix the layout.",
            "Screen readers cannot reach the {thing} menu; make it accessible.",
            "The {thing} modal flickers when it opens in Safari. Fix the component.",
        ),
        {"thing": ("checkout", "profile", "settings", "search", "signup", "navigation")},
        best="frontend-dev", ok=(GENERAL,), tools=("Read", "Edit", "Bash"),
    ),
    Kind(
        "dependency_audit",
        (
            "Check our dependencies for known vulnerabilities and upgrade the {thing} package safely.",
            "A CVE was published for {thing}; find where we use it and patch it.",
            "Audit the lockfile for risky versions, starting with {thing}.",
            "Is our {thing} version affected by the latest security advisory? Fix it if so.",
        ),
        {"thing": ("requests", "jinja2", "urllib3", "pyyaml", "cryptography", "lxml")},
        best="security-reviewer", ok=("sre",), tools=("Bash", "Read", "Edit", "Bash"),
    ),
    Kind(
        "schema_migration",
        (
            "Add a {thing} column to the users table with a migration and a backfill.",
            "Write the database migration that splits {thing} into its own table.",
            "We need to rename the {thing} field in the schema without downtime.",
            "Create a migration adding an index on {thing} and migrate existing rows.",
        ),
        {"thing": ("timezone", "locale", "last_login", "referral_code", "plan_tier", "phone")},
        best="qa-engineer", ok=("dba", "backend-dev"), tools=("Read", "Write", "Bash"),
    ),
)

P_BEST, P_OK, P_OTHER, P_GENERAL = 0.95, 0.30, 0.05, 0.25


def success_probability(kind: Kind, agent: str) -> float:
    if agent == kind.best:
        return P_BEST
    if agent in kind.ok:
        return P_OK
    if agent == GENERAL:
        return P_GENERAL
    return P_OTHER


def sample_request(rng: random.Random) -> tuple[Kind, str]:
    kind = rng.choice(KINDS)
    template = rng.choice(kind.templates)
    text = template.format(**{k: rng.choice(v) for k, v in kind.fillers.items()})
    return kind, text


def write_agents(project: Path) -> None:
    folder = project / ".claude" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    for name, description in AGENTS.items():
        (folder / f"{name}.md").write_text(f"---\nname: {name}\ndescription: {description}\n---\n\nYou are {name}.\n")


# --------------------------------------------------------------------------------------
# The pipeline (the real components)
# --------------------------------------------------------------------------------------


def capture(payload: dict[str, Any], paths: Any) -> None:
    """What the capture hook does with Claude Code's stdin: one envelope line in the spool."""
    from hooks.spool import capture_bytes

    capture_bytes(json.dumps(payload).encode(), paths=paths)


def append(payload: dict[str, Any], source: str, paths: Any) -> None:
    from hooks.spool import append_event

    append_event(payload, source, paths=paths)


def ingest(paths: Any) -> dict[str, Any]:
    from ingest.compactor import run_ingest

    return run_ingest(paths=paths, progress=False).as_dict()


def learn(paths: Any, embedder: Any) -> dict[str, Any]:
    """The learn job (``hooklake learn``), in process, sharing the loaded model."""
    from learning.job import run_learn

    return run_learn(paths=paths, embedder=embedder, progress=False).as_dict()


@dataclass
class TraceSpec:
    kind: Kind
    prompt: str
    agent: str
    success: bool
    strategy: str
    pattern_id: str | None
    confidence: float | None
    group: str | None
    route: dict[str, Any] = field(default_factory=dict)


def emit_trace(spec: TraceSpec, project: Path, paths: Any, rng: random.Random, advice_settings: Any) -> str:
    """The hook payloads Claude Code 2.1.x sends for one delegated request, plus verdict and advice."""
    session_id = str(uuid.UUID(int=rng.getrandbits(128)))
    prompt_id = str(uuid.UUID(int=rng.getrandbits(128)))
    agent_id = f"a{rng.getrandbits(64):016x}"
    transcript = f"{project}/.sim/{session_id}.jsonl"
    base = {"session_id": session_id, "transcript_path": transcript, "cwd": str(project),
            "prompt_id": prompt_id, "permission_mode": "default"}
    capture({**base, "hook_event_name": "SessionStart", "source": "startup"}, paths)
    capture({**base, "hook_event_name": "UserPromptSubmit", "prompt": spec.prompt}, paths)
    if spec.group is not None:
        from learning import advice

        decision = advice.decide({**base, "prompt": spec.prompt}, spec.route, advice_settings)
        if decision is not None:
            event = decision.event_payload()
            event.update({"group": spec.group, "injected": spec.group == "treatment",
                          "holdout": spec.group == "holdout", "shadow": False})
            append(event, advice.ADVICE_SOURCE, paths)
    agent_tool = f"toolu_{rng.getrandbits(64):016x}"
    agent_input = {"subagent_type": spec.agent, "description": spec.kind.name.replace("_", " "),
                   "prompt": spec.prompt, "run_in_background": False}
    capture({**base, "hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_input": agent_input,
             "tool_use_id": agent_tool}, paths)
    sub = {**base, "agent_id": agent_id, "agent_type": spec.agent}
    capture({**sub, "hook_event_name": "SubagentStart"}, paths)
    tools = list(spec.kind.tools)
    fail_at = len(tools) - 1 if not spec.success else -1
    for i, tool in enumerate(tools):
        tool_id = f"toolu_{rng.getrandbits(64):016x}"
        tool_input = {"command": "pytest -q"} if tool == "Bash" else {"file_path": f"{project}/src/{spec.kind.name}.py"}
        capture({**sub, "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": tool_input,
                 "tool_use_id": tool_id}, paths)
        if i == fail_at:
            capture({**sub, "hook_event_name": "PostToolUseFailure", "tool_name": tool, "tool_input": tool_input,
                     "tool_use_id": tool_id, "error": "Exit code 1: 3 tests failed", "is_interrupt": False,
                     "duration_ms": 900 + rng.random() * 400}, paths)
        else:
            capture({**sub, "hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tool_input,
                     "tool_use_id": tool_id, "tool_response": {"stdout": "ok"},
                     "duration_ms": 200 + rng.random() * 800}, paths)
    capture({**sub, "hook_event_name": "SubagentStop", "agent_transcript_path": transcript,
             "stop_hook_active": False}, paths)
    capture({**base, "hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_input": agent_input,
             "tool_use_id": agent_tool, "tool_response": {"status": "completed"}}, paths)
    capture({**base, "hook_event_name": "Stop", "stop_hook_active": False,
             "last_assistant_message": "Done." if spec.success else "I could not finish this."}, paths)
    # The user's verdict (as `hooklake feedback` records it): the ground truth of the world.
    append({"hook_event_name": "feedback", "correlation_id": prompt_id, "session_id": session_id,
            "verdict": "good" if spec.success else "bad"}, "sdk", paths)
    return prompt_id


# --------------------------------------------------------------------------------------
# Rounds
# --------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _route_dict(result: Any) -> dict[str, Any]:
    return result.as_dict() if hasattr(result, "as_dict") else dict(result)


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="hooklake-sim-"))
    os.environ["HOOKLAKE_HOME"] = str(root / "home")
    os.environ["HOME"] = str(root / "user")  # the fallback router also reads ~/.claude/agents
    (root / "user").mkdir()
    project = root / "project"
    write_agents(project)
    if args.min_confidence is not None:
        # The user-facing override of the calibrated threshold ([learning] min_confidence).
        (root / "home").mkdir(parents=True, exist_ok=True)
        (root / "home" / "config.toml").write_text(f"[learning]\nmin_confidence = {args.min_confidence}\n")

    from hooklake.paths import Paths
    from learning.embeddings import Embedder
    from learning.router import Router

    paths = Paths.resolve()
    context = {"cwd": str(project)}
    embedder = Embedder()
    import torch

    torch.set_num_threads(args.threads)  # one thread is fastest on a shared 2-core machine
    router = Router.load(paths=paths, embedder=embedder)  # no index yet: fallback only
    # The fallback router: the same Router over a home with no learned patterns.
    fallback = Router.load(paths=Paths.resolve(root / "empty-home"), embedder=embedder)
    from hooklake.settings import AdviceSettings
    from learning import advice

    advice_settings = AdviceSettings(holdout_share=0.0, min_pattern_success=args.min_pattern_success)
    rounds: list[dict[str, Any]] = []
    for round_no in range(1, args.rounds + 1):
        t_round = time.perf_counter()
        learned_ok = fallback_expected = 0.0
        learned_expected = 0.0
        replays = replay_ok = 0
        lat_learned: list[float] = []
        lat_fallback: list[float] = []
        n = args.per_round
        for _ in range(n):
            kind, prompt = sample_request(rng)
            t0 = time.perf_counter()
            fb = _route_dict(fallback.route(prompt, context, log=False))
            lat_fallback.append((time.perf_counter() - t0) * 1000)
            fallback_agent = fb.get("agent") or GENERAL
            t0 = time.perf_counter()
            route = _route_dict(router.route(prompt, context, log=False))
            ms = (time.perf_counter() - t0) * 1000
            strategy = route.get("strategy") or "fallback"
            pattern_id, confidence = route.get("pattern_id"), route.get("confidence")
            if strategy == "learned_pattern":
                lat_learned.append(ms)
                # The advice layer's gate: a confident match to a pattern that has worked often enough.
                if advice.decide({"prompt": prompt}, route, advice_settings) is None:
                    strategy = "fallback"
            group = None
            if strategy == "learned_pattern":
                group = "holdout" if rng.random() < args.holdout else "treatment"
            if strategy == "learned_pattern" and group == "treatment":
                agent = route.get("agent") or GENERAL
            elif rng.random() < args.explore:
                agent = rng.choice([*AGENTS, GENERAL])  # exploration: how new paths get discovered
            else:
                agent = fallback_agent
            p = success_probability(kind, agent)
            success = rng.random() < p
            learned_ok += success
            learned_expected += p
            fallback_expected += success_probability(kind, fallback_agent)
            if strategy == "learned_pattern" and group == "treatment":
                replays += 1
                replay_ok += success
            emit_trace(TraceSpec(kind, prompt, agent, success, strategy, pattern_id, confidence, group, route),
                       project, paths, rng, advice_settings)
        t_pipe = time.perf_counter()
        ingest_report = ingest(paths)
        t_learn = time.perf_counter()
        learn(paths, embedder)
        t_reload = time.perf_counter()
        router.reload_if_changed()
        done = time.perf_counter()
        row = {
            "round": round_no,
            "requests": n,
            "learned_success": learned_ok / n,
            "learned_expected": learned_expected / n,
            "fallback_expected": fallback_expected / n,
            "learned_share": replays / n,
            "replays": replays,
            "replay_success": (replay_ok / replays) if replays else None,
            "route_ms_learned_p50": pct(lat_learned, 50),
            "route_ms_learned_p95": pct(lat_learned, 95),
            "route_ms_fallback_p50": pct(lat_fallback, 50),
            "route_ms_fallback_p95": pct(lat_fallback, 95),
            "events_written": ingest_report.get("events_written"),
            "patterns": router.pattern_count,
            "threshold": round(router.threshold, 3),
            "replay_threshold": round(router.replay_threshold, 3),
            "ingest_s": round(t_learn - t_pipe, 2),
            "learn_s": round(t_reload - t_learn, 2),
            "reload_s": round(done - t_reload, 2),
            "round_s": round(done - t_round, 2),
        }
        rounds.append(row)
        _print_row(row, header=round_no == 1)
    return {"rounds": rounds, "home": str(root)}


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _print_row(row: dict[str, Any], header: bool) -> None:
    if header:
        print(f"{'round':>5} {'learned':>8} {'(exp.)':>7} {'fallback':>9} {'learned%':>9} {'replay ok':>10} "
              f"{'route ms learned p50/p95':>25} {'fallback p50/p95':>17} {'round s':>8}")
    print(f"{row['round']:>5} {row['learned_success']:>8.1%} {row['learned_expected']:>7.1%} "
          f"{row['fallback_expected']:>9.1%} {row['learned_share']:>9.1%} {_fmt(row['replay_success'], '.1%'):>10} "
          f"{_fmt(row['route_ms_learned_p50'], '.1f'):>12}/{_fmt(row['route_ms_learned_p95'], '.1f'):<12} "
          f"{_fmt(row['route_ms_fallback_p50'], '.1f'):>8}/{_fmt(row['route_ms_fallback_p95'], '.1f'):<8} "
          f"{row['round_s']:>8.1f}", flush=True)


def main() -> int:
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 rounds of 40 requests")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--per-round", type=int, default=None)
    parser.add_argument("--explore", type=float, default=0.15, help="share of non-learned requests sent to a random agent")
    parser.add_argument("--holdout", type=float, default=0.1, help="share of learned routes held out (A/B)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--min-pattern-success", type=float, default=0.5,
                        help="advice gate: the pattern's historical success must reach this ([advice] min_pattern_success)")
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="route by a learned pattern from this confidence up (default: the calibrated threshold)")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 4 if args.quick else 10
    if args.per_round is None:
        args.per_round = 40 if args.quick else 120
    result = run(args)
    rounds = result["rounds"]
    last = rounds[-1]
    replay_all = [r for r in rounds if r["replays"]]
    total_replays = sum(r["replays"] for r in replay_all)
    replay_rate = (sum((r["replay_success"] or 0) * r["replays"] for r in replay_all) / total_replays
                   if total_replays else None)
    later = [r for r in rounds[len(rounds) // 2:] if r["replays"]]
    later_n = sum(r["replays"] for r in later)
    replay_later = (sum((r["replay_success"] or 0) * r["replays"] for r in later) / later_n) if later_n else None
    lat_l = [r["route_ms_learned_p50"] for r in rounds if r["route_ms_learned_p50"] is not None]
    lat_f = [r["route_ms_fallback_p50"] for r in rounds if r["route_ms_fallback_p50"] is not None]
    summary = {
        "first_round_success": rounds[0]["learned_success"],
        "last_round_success": last["learned_success"],
        "last_round_fallback_expected": last["fallback_expected"],
        "replay_success_overall": replay_rate,
        "replay_target_met": replay_rate is not None and replay_rate > 0.9,
        "replay_success_second_half": replay_later,
        "replays_second_half": later_n,
        "route_ms_learned_p50_median": statistics.median(lat_l) if lat_l else None,
        "route_ms_fallback_p50_median": statistics.median(lat_f) if lat_f else None,
    }
    print()
    print(f"success: round 1 {summary['first_round_success']:.1%} -> round {last['round']} "
          f"{summary['last_round_success']:.1%} (fallback router on the same requests: "
          f"{summary['last_round_fallback_expected']:.1%} expected)")
    print(f"pattern replay success: {_fmt(replay_rate, '.1%')} over {total_replays} replays (target > 90%: "
          f"{'met' if summary['replay_target_met'] else 'NOT met'})")
    print(f"pattern replay success in the second half of the rounds: {_fmt(replay_later, '.1%')} over {later_n} replays")
    print(f"routing latency p50: learned {_fmt(summary['route_ms_learned_p50_median'], '.1f')} ms, "
          f"fallback {_fmt(summary['route_ms_fallback_p50_median'], '.1f')} ms")
    out = RESULTS if args.min_confidence is None else RESULTS.with_name(
        f"self_improvement_sim.min_conf_{args.min_confidence:g}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "summary": summary, **result}, indent=2, default=str))
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
