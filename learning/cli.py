"""CLI: ``learn``, ``patterns``, ``match``, ``route``, ``evaluate``.

Registration imports only argparse/stdlib; the handlers import the heavy modules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("learn", help="learn successful execution patterns from the lake and publish the index",
                              description="Group successful traces into patterns (same execution path, similar prompts), "
                              "version them, derive agent-chaining and error patterns, fit and calibrate the matcher, "
                              "and publish a new index version. Incremental: only new prompts are embedded.")
    p.add_argument("--json", action="store_true", help="print the run report as one JSON object")
    p.add_argument("--full", action="store_true", help="rebuild the index from scratch (also allows a model change)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from lakehouse.spark.cli import add_engine_options  # --engine duckdb|spark, --master

    add_engine_options(p)
    p.set_defaults(func=cmd_learn)

    p = subparsers.add_parser("patterns", help="list learned patterns (current versions)",
                              description="List the learned patterns, or keep/prune one by hand (effective at the next learn).")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.add_argument("--all-versions", action="store_true", help="include superseded versions")
    p.add_argument("--status", choices=("active", "pruned", "retired", "all"), default="all", help="filter by status")
    p.add_argument("--limit", type=int, default=None, help="show at most N patterns (most traces first)")
    p.add_argument("--keep", metavar="PATTERN_ID", help="exempt a pattern from pruning (undoes a prune)")
    p.add_argument("--prune", metavar="PATTERN_ID", help="prune a pattern by hand")
    p.add_argument("--auto", metavar="PATTERN_ID", help="return a pattern to the automatic pruning rule")
    p.set_defaults(func=cmd_patterns)

    p = subparsers.add_parser("match", help="score a request against learned patterns",
                              description="Top matching patterns for PROMPT with score components and an explanation.")
    p.add_argument("prompt", nargs="?", help="the request text")
    p.add_argument("--k", type=int, default=5, help="number of patterns (default 5)")
    p.add_argument("--min-confidence", type=float, default=None, help="only matches at or above this confidence")
    p.add_argument("--cwd", default=None, help="project folder of the request (context)")
    p.add_argument("--file", type=Path, help="one prompt per line; prints JSON lines (one model load)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_match)

    p = subparsers.add_parser("route", help="route a request: learned pattern above the threshold, else fallback agents",
                              description="Route PROMPT: a learned pattern when its calibrated confidence reaches the "
                              "threshold, otherwise the best of the user's .claude/agents (default general-purpose). "
                              "Each decision is logged as a routing_decision event.")
    p.add_argument("prompt", nargs="?", help="the request text")
    p.add_argument("--cwd", default=None, help="project folder (for .claude/agents and context; default: current folder)")
    p.add_argument("--correlation-id", default=None, help="trace id to log the decision under")
    p.add_argument("--no-log", action="store_true", help="do not log the decision")
    p.add_argument("--file", type=Path, help="one prompt per line; prints JSON lines (one model load)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_route)

    p = subparsers.add_parser("evaluate", help="time-split evaluation of matching: precision, coverage, false matches, ECE",
                              description="Learn on the past part of the lake, match the future; compare the fitted "
                              "scorer with the seed's weights and a nearest-neighbour baseline.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--train-share", type=float, default=0.7, help="share of the time span used as the past (default 0.7)")
    p.set_defaults(func=cmd_evaluate)


def _progress(args) -> bool:
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def cmd_learn(args) -> int:
    if getattr(args, "engine", "duckdb") == "spark":
        from lakehouse.spark.cli import learn_spark

        return learn_spark(args)
    from learning.job import run_learn

    report = run_learn(full=args.full, progress=_progress(args))
    d = report.as_dict()
    if args.json:
        print(json.dumps(d, default=str))
        return 0
    s = d["scorer"]
    print(f"learn {d['run_id']}: {d['traces']} traces ({d['successful_traces']} successful) -> {d['patterns']} patterns "
          f"({d['patterns_new']} new, {d['patterns_new_versions']} new versions, {d['patterns_unchanged']} unchanged, "
          f"{d['patterns_retired']} retired)")
    print(f"  embedded {d['prompts_embedded']} new prompts ({d['embedding_cache_hits']} cached) in {d['embed_seconds']} s")
    print(f"  chains {d['chains']}, error patterns {d['error_patterns']}, replays {d['usage_rows']}")
    for p in d["pruned"]:
        print(f"  pruned {p['pattern_id']}: {p['reason']}")
    for p in d["restored"]:
        print(f"  restored {p}")
    print(f"  scorer {s['kind']} ({'calibrated' if s['calibrated'] else 'NOT calibrated'}), threshold {s['threshold']}, "
          f"weights {s['weights']}")
    ix = d["index"]
    print(f"  index {ix['version']}: {ix['kind']}, {ix['exemplars']} prompts, "
          f"{'incremental' if ix['incremental'] else 'rebuilt'} (+{ix['added']} -{ix['removed']}) in {d['duration_s']} s")
    return 0


def cmd_patterns(args) -> int:
    from hooklake.paths import Paths
    from learning import store

    paths = Paths.resolve()
    for action, pid in (("keep", args.keep), ("prune", args.prune), ("clear", args.auto)):
        if pid:
            from learning.job import set_override

            set_override(paths, pid, action)
            print(json.dumps({"pattern_id": pid, "override": action, "effective": "next hooklake learn"}) if args.json
                  else f"{pid}: {action} (takes effect at the next 'hooklake learn')")
            return 0
    rows = store.read_table(paths.lake, "learned_patterns").to_pylist()
    if not args.all_versions:
        rows = [r for r in rows if r["is_current"]]
    if args.status != "all":
        rows = [r for r in rows if r["status"] == args.status]
    rows.sort(key=lambda r: (-(r["trace_count"] or 0), r["pattern_id"], -(r["version"] or 0)))
    if args.limit is not None:
        rows = rows[: args.limit]
    keys = ("pattern_id", "version", "is_current", "status", "status_reason", "agent", "agents", "intent", "keywords",
            "tool_names", "endpoint_paths", "trace_count", "failed_trace_count", "usage_count", "success_count",
            "historical_success", "avg_duration_ms", "min_duration_ms", "max_duration_ms", "prompt_text",
            "source_trace_ids", "first_seen_at", "last_seen_at", "created_at")
    out = [{k: r.get(k) for k in keys} for r in rows]
    if args.json:
        print(json.dumps(out, default=str))
        return 0
    if not out:
        print("no learned patterns (run 'hooklake learn' after 'hooklake ingest')")
        return 0
    for r in out:
        path = " > ".join(r["agents"] or ["main"]) + " | " + ",".join(r["tool_names"] or [])
        print(f"{r['pattern_id']} v{r['version']} {r['status']:<7} {r['trace_count']:>4} traces "
              f"hist {r['historical_success']:.2f} {r['intent']:<13} {path}")
        print(f"    {(r['prompt_text'] or '')[:110]}")
    return 0


def _prompts(args) -> list[str]:
    from hooklake.errors import HooklakeError

    if args.file is not None:
        try:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise HooklakeError(f"{args.file}: cannot read prompts ({exc.strerror}); give a text file, one prompt per line") from exc
        return [ln for ln in lines if ln.strip()]
    if args.prompt is None or not args.prompt.strip():
        raise HooklakeError("give a PROMPT argument or --file F (one prompt per line)")
    return [args.prompt]


def cmd_match(args) -> int:
    from learning.router import Router

    prompts = _prompts(args)
    router = Router.load()
    context = {"cwd": args.cwd} if args.cwd else None
    for prompt in prompts:
        matches = router.match(prompt, context, k=args.k, min_confidence=args.min_confidence)
        obj: dict[str, Any] = {"request": prompt, "index_version": router.version, "threshold": router.threshold,
                               "matches": [m.as_dict() for m in matches]}
        if args.json or args.file is not None:
            print(json.dumps(obj, default=str), flush=True)
            continue
        if not matches:
            print("no learned patterns" + ("" if router.version else " (run 'hooklake learn' first)"))
        for m in matches:
            flag = "*" if m.above_threshold else " "
            print(f"{flag} {m.pattern_id} v{m.version} agent={m.agent} confidence={m.confidence:.2f} score={m.score:.2f}")
            print(f"    {m.explanation}")
            print(f"    e.g. {m.example_prompt[:100]}")
        print(f"(* = at or above the threshold {router.threshold:.2f}; index {router.version})")
    return 0


def cmd_route(args) -> int:
    import os

    from learning.router import Router

    prompts = _prompts(args)
    router = Router.load()
    cwd = args.cwd or os.getcwd()
    for i, prompt in enumerate(prompts):
        ctx = {"cwd": cwd}
        cid = args.correlation_id if (args.correlation_id and len(prompts) == 1) else None
        d = router.route(prompt, ctx, log=not args.no_log, correlation_id=cid)
        if args.json or args.file is not None:
            print(json.dumps(d.as_dict(), default=str), flush=True)
            continue
        print(f"agent: {d.agent}  strategy: {d.strategy}  confidence: {d.confidence:.2f} (threshold {d.threshold:.2f})")
        if d.pattern_id:
            plan = d.replay_plan or {}
            print(f"pattern: {d.pattern_id} v{plan.get('pattern_version')}  tools: {', '.join(plan.get('tools') or [])}")
            perf = plan.get("performance_expectations") or {}
            print(f"expected duration: {perf.get('expected_duration_ms')} ms")
        print(f"why: {d.explanation}")
        print(f"correlation id: {d.correlation_id} ({'logged' if d.logged else 'not logged'})")
    return 0


def cmd_evaluate(args) -> int:
    from learning.evaluate import run_evaluate

    out = run_evaluate(train_share=args.train_share, progress=_progress(args))
    if args.json:
        print(json.dumps(out, default=str))
        return 0
    if "error" in out:
        print(out["error"])
        return 0
    print(f"time split {args.train_share:.0%}: {out['train_traces']} past traces -> {out['patterns']} patterns; "
          f"{out['test_traces']} future traces ({out['test_unseen_kind_traces']} of unseen kinds)")
    print(f"{'scorer':<18} {'threshold':>9} {'precision':>9} {'coverage':>8} {'false-match':>11} {'ECE':>6} {'prec@equal-cov':>14}")
    for name, m in out["scorers"].items():
        eq = m.get("at_equal_coverage") or {}
        mark = "*" if name == out["chosen_scorer"] else " "
        print(f"{mark}{name:<17} {m['threshold']:>9.3f} {m['precision']:>9.3f} {m['coverage']:>8.3f} "
              f"{m['false_match_rate']:>11.3f} {m['ece']:>6.3f} {eq.get('precision', float('nan')):>9.3f}@{eq.get('coverage', 0):.2f}")
    print("(* = the scorer learn ships; precision at equal coverage uses the shipped scorer's coverage)")
    return 0
