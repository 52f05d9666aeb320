"""Wall time per event of the capture hook as a whole process (targets: p50 <= 5 ms, p99 <= 15 ms).

    python benchmarks/capture_bench.py [--quick] [-n N]

Each round runs every variant once, in shuffled order, from this one process, feeding the
same ~2 KB PreToolUse payload (a real Claude Code shape: a Write tool call) on stdin, so
machine noise hits all variants alike. Variants:

* ``native``          -- the compiled hook (hooks/capture.c), exec'd directly;
* ``python fallback`` -- hooks/capture.py under ``python -S -I`` (used when no C compiler);
* ``cat >> file``     -- ``cat`` appending stdin to a file: the floor for "a process that
  appends stdin somewhere";
* ``python3 -c pass`` -- the bare cost of starting an interpreter (this Python, the one the
  fallback hook runs on);
* ``python3 -S -I -c pass`` -- the same interpreter started the way the fallback is: the floor
  the Python hook cannot go below;
* ``native via bash -c`` -- the installed command string run through ``bash -c``, the way
  Claude Code runs command hooks (adds a shell start-up that no hook can avoid).

Ratios are of p50s, measured in the same run. ``cpu ms`` is the mean user+sys CPU time of
the process (and its children), which machine load does not inflate the way it does wall time. Events go to a throw-away HOOKLAKE_HOME; the
number of spool lines is checked afterwards. Writes benchmarks/results/capture_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hooklake.paths import Paths  # noqa: E402
from hooks import native  # noqa: E402

CONTENT = (
    "from __future__ import annotations\n\nimport json\nfrom pathlib import Path\n\n\n"
    "def load(path: Path) -> dict:\n    \"\"\"Read one settings file.\"\"\"\n"
    "    return json.loads(path.read_text(encoding='utf-8'))\n\n"
)


def payload(size: int = 2048) -> bytes:
    base = {
        "session_id": "398cf602-1fb3-441a-8988-b6db05378e07",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-project/398cf602-1fb3-441a-8988-b6db05378e07.jsonl",
        "cwd": "/home/dev/project",
        "permission_mode": "acceptEdits",
        "effort": {"level": "high"},
        "hook_event_name": "PreToolUse",
        "prompt_id": "ce1b2eb9-8e2c-49cd-986f-9b38cb0b1322",
        "tool_name": "Write",
        "tool_input": {"file_path": "/home/dev/project/src/settings_loader.py", "content": ""},
        "tool_use_id": "toolu_01ABCDEFGHIJKLMNOPQRSTUV",
    }
    empty = len(json.dumps(base).encode())
    text = (CONTENT * (size // len(CONTENT) + 1))[: max(0, size - empty - 40)]
    base["tool_input"]["content"] = text
    data = json.dumps(base).encode()
    while len(data) > size:  # escaped newlines make the exact size hard to hit in one step
        base["tool_input"]["content"] = base["tool_input"]["content"][:-1]
        data = json.dumps(base).encode()
    while len(data) < size:
        base["tool_input"]["content"] += "#"
        data = json.dumps(base).encode()
    return data


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=400, help="events per variant (default 400)")
    parser.add_argument("--quick", action="store_true", help="40 events per variant, for a smoke run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "capture_bench.json")
    parser.add_argument("--payload-bytes", type=int, default=2048)
    args = parser.parse_args()
    n = 40 if args.quick else args.n

    data = payload(args.payload_bytes)
    with tempfile.TemporaryDirectory(prefix="hooklake-capture-bench-") as tmp:
        tmpdir = Path(tmp)
        home_native, home_python, home_bash = tmpdir / "native", tmpdir / "python", tmpdir / "bash"
        binary = native.build(Paths.resolve(tmpdir / "build"))
        cat_target = tmpdir / "cat.jsonl"
        # The interpreter itself, not a launcher shim (pyenv shims add a bash script per call).
        python3 = os.path.realpath(sys.executable)
        bash = shutil.which("bash") or "/bin/sh"
        native_cmd = native.CaptureHook("native", (str(binary), "--home", str(home_bash))).command
        variants: dict[str, dict] = {
            "native": {"argv": [str(binary), "--home", str(home_native)]},
            "python fallback": {"argv": [sys.executable, "-S", "-I", str(native.PYTHON_HOOK), "--home", str(home_python)]},
            "cat >> file": {"argv": ["cat"], "append_to": cat_target},
            "python3 -c pass": {"argv": [python3, "-c", "pass"]},
            "python3 -S -I -c pass": {"argv": [python3, "-S", "-I", "-c", "pass"]},
            "native via bash -c": {"argv": [bash, "-c", native_cmd]},
        }
        env = {k: v for k, v in os.environ.items() if k != "HOOKLAKE_DISABLED"}
        times: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        rng = random.Random(1)
        for _ in range(3):  # warm the page cache and the binaries
            for name in names:
                _run(variants[name], data, env)
        for _ in range(n):
            rng.shuffle(names)
            for name in names:
                wall, used = _run(variants[name], data, env)
                times[name].append(wall)
                cpu[name].append(used)

        lines = {
            "native": _count_lines(home_native) - 3,
            "python fallback": _count_lines(home_python) - 3,
            "native via bash -c": _count_lines(home_bash) - 3,
        }
        homes = {"native": home_native, "python fallback": home_python, "native via bash -c": home_bash}
        for name, got in lines.items():
            if got != n:
                log = homes[name] / "logs" / "capture-errors.log"
                errors = log.read_text() if log.exists() else "(no capture errors logged)"
                raise SystemExit(f"{name}: expected {n} spool lines, found {got}\n{errors}")

    rows = []
    for name in variants:
        t = times[name]
        rows.append({
            "variant": name,
            "runs": len(t),
            "p50_ms": round(pct(t, 0.50), 3),
            "p90_ms": round(pct(t, 0.90), 3),
            "p99_ms": round(pct(t, 0.99), 3),
            "mean_ms": round(sum(t) / len(t), 3),
            "cpu_mean_ms": round(sum(cpu[name]) / len(cpu[name]), 3),
        })
    by = {r["variant"]: r for r in rows}
    ratios = {
        "native_p50_over_cat_p50": round(by["native"]["p50_ms"] / by["cat >> file"]["p50_ms"], 2),
        "native_p50_over_python3_pass_p50": round(by["native"]["p50_ms"] / by["python3 -c pass"]["p50_ms"], 3),
        "python_fallback_p50_over_cat_p50": round(by["python fallback"]["p50_ms"] / by["cat >> file"]["p50_ms"], 2),
        "python_fallback_p50_over_python3_pass_p50": round(
            by["python fallback"]["p50_ms"] / by["python3 -c pass"]["p50_ms"], 2
        ),
        "python_fallback_p50_over_python3_SI_pass_p50": round(
            by["python fallback"]["p50_ms"] / by["python3 -S -I -c pass"]["p50_ms"], 2
        ),
    }
    targets = {
        "native_p50_le_5ms": by["native"]["p50_ms"] <= 5.0,
        "native_p99_le_15ms": by["native"]["p99_ms"] <= 15.0,
    }
    report = {
        "benchmark": "capture_bench",
        "quick": args.quick,
        "payload_bytes": len(data),
        "events_per_variant": n,
        "cpu_count": os.cpu_count(),
        "python": os.path.realpath(sys.executable),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "rows": rows,
        "ratios": ratios,
        "targets_met": targets,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

    print(f"capture hook wall time per event, {len(data)} B PreToolUse payload, {n} events per variant")
    print(f"load average (1 min) at the end: {report['loadavg_1m']} on {os.cpu_count()} CPUs")
    print(f"{'variant':<24}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'cpu ms':>9}")
    for r in rows:
        print(
            f"{r['variant']:<24}{r['p50_ms']:>9.2f}{r['p90_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            f"{r['mean_ms']:>9.2f}{r['cpu_mean_ms']:>9.2f}"
        )
    for key, value in ratios.items():
        print(f"{key:<45}{value:>8}")
    for key, ok in targets.items():
        print(f"{key:<45}{'yes' if ok else 'NO':>8}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _run(variant: dict, data: bytes, env: dict[str, str]) -> tuple[float, float]:
    """Wall ms and CPU ms (user + sys of the child and its children) of one event."""
    target = variant.get("append_to")
    out = open(target, "ab") if target else subprocess.DEVNULL
    try:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(variant["argv"], input=data, stdout=out, stderr=subprocess.DEVNULL, env=env)
        elapsed = (time.perf_counter() - t0) * 1000.0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        if target:
            out.close()
    if proc.returncode != 0:
        raise SystemExit(f"{variant['argv']} exited {proc.returncode}")
    cpu = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1000.0
    return elapsed, cpu


def _count_lines(home: Path) -> int:
    return sum(f.read_bytes().count(b"\n") for f in (home / "spool").glob("*.jsonl"))


if __name__ == "__main__":
    sys.exit(main())
