"""Advice hook wall time, as Claude Code pays it: a whole process fed a real UserPromptSubmit payload.

Scenarios (each timed from process spawn to exit, stdin written and stdout read):
  up       the service answers with advice (a stand-in router: measures the hook + HTTP + service path)
  learned  the service runs the real learned router over a built index (--learned; needs `hooklake learn`)
  down     no service (state file missing)          -> must be <= timeout + 10 ms
  refused  state file names a dead socket            -> must be <= timeout + 10 ms
  slow     the service accepts and never answers     -> must be <= timeout + 10 ms
Baseline in the same run: a bare ``python3 -S -I -c pass``; ratios are reported against it.

    python benchmarks/advice_hook_bench.py [--quick] [--learned] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
HOOK = REPO / "hooks" / "advice.py"
RESULTS = REPO / "benchmarks" / "results" / "advice_hook_bench.json"

PAYLOAD = json.dumps({
    "session_id": "0f9d8c7b-6a5e-4d3c-2b1a-000000000001",
    "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/0f9d8c7b.jsonl",
    "cwd": "/home/dev/shop",
    "permission_mode": "default",
    "hook_event_name": "UserPromptSubmit",
    "prompt_id": "5c1e2f3a-0000-4000-8000-00000000beef",
    "prompt": "The checkout integration test is flaky on CI: it times out waiting for the payment mock. "
              "Find the cause and make it deterministic, then run the whole test suite.",
}).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(pct(values, 50), 2), "p95": round(pct(values, 95), 2),
            "p99": round(pct(values, 99), 2), "mean": round(statistics.fmean(values), 2),
            "max": round(max(values), 2)}


def time_cmd(cmd: list[str], data: bytes, runs: int) -> tuple[list[float], bytes]:
    out = b""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(cmd, input=data, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
        out = proc.stdout
        assert proc.returncode == 0, proc.stderr
    return times, out


class StandInRouter:
    def match(self, request: str, context: dict, k: int = 5, min_confidence: float | None = None) -> list:
        return []

    def route(self, request: str, context: dict) -> dict:
        return {"agent": "test-runner", "confidence": 0.92, "strategy": "learned_pattern", "pattern_id": "p-bench",
                "replay_plan": {"agent": "test-runner", "tool_sequence": ["Bash", "Read", "Edit", "Bash"],
                                "avg_duration_ms": 5400.0, "min_duration_ms": 3100.0, "max_duration_ms": 9800.0}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 runs per scenario instead of 200")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--learned", action="store_true", help="also time the real learned router (needs an index)")
    args = parser.parse_args()
    runs = args.runs or (20 if args.quick else 200)

    from hooklake.paths import Paths
    from hooklake.settings import AdviceSettings
    from learning import serve

    home = Path(tempfile.mkdtemp(prefix="hooklake-bench-"))
    paths = Paths.resolve(home)
    timeout_ms = AdviceSettings().timeout_ms
    hook_cmd = [sys.executable, "-S", "-I", str(HOOK), "--state", str(paths.state)]
    results: dict[str, Any] = {"runs": runs, "timeout_ms": timeout_ms, "cpus": os.cpu_count()}

    base, _ = time_cmd([sys.executable, "-S", "-I", "-c", "pass"], b"", runs)
    results["baseline_python_S_I_pass"] = summary(base)

    # up: stand-in router, advice injected
    holder = serve.RouterHolder(paths, loader=lambda p, prev: StandInRouter())
    writer = serve.EventWriter(paths, serve.Metrics(), append=lambda *a: None)
    running = serve.start_server(paths, holder=holder, writer=writer,
                                 config=serve.ServiceConfig(advice=AdviceSettings(holdout_share=0.0)))
    try:
        up, out = time_cmd(hook_cmd, PAYLOAD, runs)
        assert b"additionalContext" in out, out
        results["up"] = summary(up)
    finally:
        running.stop()

    if args.learned:
        learned_home = Path(os.environ.get("HOOKLAKE_HOME", ""))
        lpaths = Paths.resolve(learned_home) if learned_home.name else Paths.resolve()
        running = serve.start_server(lpaths, socket_path=paths.state / "learned.sock", write_state=False,
                                     config=serve.ServiceConfig(cache_size=0,
                                                                advice=AdviceSettings(holdout_share=0.0)))
        state = {"transport": "unix", "socket": running.address, "timeout_ms": timeout_ms, "pid": os.getpid()}
        paths.state.mkdir(parents=True, exist_ok=True)
        (paths.state / serve.SERVE_STATE_FILE).write_text(json.dumps(state))
        try:
            learned, _out = time_cmd(hook_cmd, PAYLOAD, runs)
            results["learned_uncached"] = summary(learned)
        finally:
            running.stop()

    # down: no state file
    state_file = paths.state / serve.SERVE_STATE_FILE
    state_file.unlink(missing_ok=True)
    down, out = time_cmd(hook_cmd, PAYLOAD, runs)
    assert out == b""
    results["down_no_state"] = summary(down)

    # refused: state names a socket nobody listens on
    paths.state.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"transport": "unix", "socket": str(paths.state / "gone.sock"),
                                      "timeout_ms": timeout_ms}))
    refused, out = time_cmd(hook_cmd, PAYLOAD, runs)
    assert out == b""
    results["down_refused"] = summary(refused)

    # slow: accepts, never answers
    sock_path = paths.state / "slow.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock_path))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    state_file.write_text(json.dumps({"transport": "unix", "socket": str(sock_path), "timeout_ms": timeout_ms}))
    slow, out = time_cmd(hook_cmd, PAYLOAD, max(10, runs // 4))
    stop.set()
    thread.join(1)
    listener.close()
    for conn in held:
        conn.close()
    assert out == b""
    results["slow_service"] = summary(slow)

    base_p50 = results["baseline_python_S_I_pass"]["p50"]
    print(f"advice hook wall time, ms ({runs} runs; timeout {timeout_ms} ms; {os.cpu_count()} cpus)")
    print(f"{'scenario':<26}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>9}  {'p50 / bare python':>18}  target")
    targets = {"up": "p95 <= 60", "learned_uncached": "p95 <= 60", "down_no_state": f"p95 <= {timeout_ms + 10}",
               "down_refused": f"p95 <= {timeout_ms + 10}", "slow_service": f"p95 <= {timeout_ms + 10}"}
    for name in ("baseline_python_S_I_pass", "up", "learned_uncached", "down_no_state", "down_refused", "slow_service"):
        if name not in results:
            continue
        r = results[name]
        ratio = r["p50"] / base_p50 if base_p50 else float("nan")
        limit = targets.get(name)
        verdict = ""
        if limit:
            verdict = limit + (" ok" if r["p95"] <= float(limit.split("<=")[1]) else " MISSED")
        print(f"{name:<26}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['p99']:>8.1f}{r['max']:>9.1f}  {ratio:>18.2f}  {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
