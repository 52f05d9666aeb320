"""``hooklake report ab``: do advised prompts do better than the holdout (or the shadow group)?

Per group: success rate with a Wilson score interval, mean trace duration and mean tool failures
per trace with percentile-bootstrap intervals. Per comparison (treatment against each control
group): the difference in success rate with Newcombe's hybrid score interval (built from the two
Wilson intervals, well-behaved at small n and near 0 or 1) and a two-proportion z-test p-value,
and bootstrap intervals for the differences in mean duration and tool failures.

The statistics are plain functions over lists so tests can check them against known values; the
lake query lives in ``ab_outcomes.sql``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Sequence

from learning.advice import GROUP_HOLDOUT, GROUP_SHADOW, GROUP_TREATMENT

SQL_PATH = Path(__file__).with_name("ab_outcomes.sql")
DEFAULT_BOOTSTRAP = 2000


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when there is no data."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes ({successes}) must be between 0 and n ({n})")
    z = _z(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; do not leave float dust there.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def newcombe_difference(s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference p1 - p2 with Newcombe's hybrid score interval (method 10): (diff, low, high)."""
    if n1 <= 0 or n2 <= 0:
        return (float("nan"), -1.0, 1.0)
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson_interval(s1, n1, confidence)
    l2, u2 = wilson_interval(s2, n2, confidence)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (diff, max(-1.0, low), min(1.0, high))


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled z-test for p1 == p2 (None when undefined)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0 if s1 / n1 == s2 / n2 else 0.0
    z = (s1 / n1 - s2 / n2) / math.sqrt(var)
    return 2.0 * (1.0 - NormalDist().cdf(abs(z)))


def _percentile_interval(samples: Any, confidence: float) -> tuple[float, float]:
    import numpy as np

    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def bootstrap_mean(values: Sequence[float], confidence: float = 0.95, n_boot: int = DEFAULT_BOOTSTRAP,
                   seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """Mean with a percentile-bootstrap interval: (mean, low, high); Nones for no data."""
    import numpy as np

    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return (None, None, None)
    if data.size == 1:
        return (float(data[0]), float(data[0]), float(data[0]))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    low, high = _percentile_interval(means, confidence)
    return (float(data.mean()), low, high)


def bootstrap_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
                         n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """mean(a) - mean(b) with a percentile-bootstrap interval (groups resampled independently)."""
    import numpy as np

    xa = np.asarray([v for v in a if v is not None and not math.isnan(v)], dtype=float)
    xb = np.asarray([v for v in b if v is not None and not math.isnan(v)], dtype=float)
    if xa.size == 0 or xb.size == 0:
        return (None, None, None)
    rng = np.random.default_rng(seed)
    ma = xa[rng.integers(0, xa.size, size=(n_boot, xa.size))].mean(axis=1)
    mb = xb[rng.integers(0, xb.size, size=(n_boot, xb.size))].mean(axis=1)
    low, high = _percentile_interval(ma - mb, confidence)
    return (float(xa.mean() - xb.mean()), low, high)


@dataclass(frozen=True)
class Outcome:
    """One advised prompt: its group and what its trace did (None fields: trace not in the lake yet)."""

    group: str
    success: bool | None
    duration_ms: float | None = None
    tool_failures: float | None = None

    @property
    def completed(self) -> bool:
        return self.success is not None


def _interval(value: float | None, low: float | None, high: float | None) -> dict[str, float | None]:
    return {"value": value, "low": low, "high": high}


@dataclass(frozen=True)
class GroupStats:
    group: str
    prompts: int
    completed: int
    successes: int
    success_rate: float | None
    success_ci: tuple[float, float]
    duration_ms: tuple[float | None, float | None, float | None]
    tool_failures: tuple[float | None, float | None, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "prompts": self.prompts,
            "completed": self.completed,
            "pending": self.prompts - self.completed,
            "successes": self.successes,
            "success_rate": _interval(self.success_rate, *self.success_ci),
            "mean_duration_ms": _interval(*self.duration_ms),
            "mean_tool_failures": _interval(*self.tool_failures),
        }


@dataclass(frozen=True)
class Comparison:
    treatment: str
    control: str
    success_rate_diff: tuple[float, float, float]
    p_value: float | None
    duration_ms_diff: tuple[float | None, float | None, float | None]
    tool_failures_diff: tuple[float | None, float | None, float | None]

    @property
    def significant(self) -> bool:
        """The success-rate interval excludes zero."""
        _, low, high = self.success_rate_diff
        return low > 0 or high < 0

    def as_dict(self) -> dict[str, Any]:
        diff, low, high = self.success_rate_diff
        return {
            "treatment": self.treatment,
            "control": self.control,
            "success_rate_diff": _interval(None if math.isnan(diff) else diff, low, high),
            "success_rate_p_value": self.p_value,
            "significant": self.significant,
            "mean_duration_ms_diff": _interval(*self.duration_ms_diff),
            "mean_tool_failures_diff": _interval(*self.tool_failures_diff),
        }


@dataclass(frozen=True)
class ABReport:
    confidence: float
    groups: list[GroupStats]
    comparisons: list[Comparison] = field(default_factory=list)

    def group(self, name: str) -> GroupStats | None:
        return next((g for g in self.groups if g.group == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "groups": [g.as_dict() for g in self.groups],
            "comparisons": [c.as_dict() for c in self.comparisons],
        }


def group_stats(name: str, outcomes: Sequence[Outcome], confidence: float, seed: int = 0,
                n_boot: int = DEFAULT_BOOTSTRAP) -> GroupStats:
    done = [o for o in outcomes if o.completed]
    successes = sum(1 for o in done if o.success)
    return GroupStats(
        group=name,
        prompts=len(outcomes),
        completed=len(done),
        successes=successes,
        success_rate=successes / len(done) if done else None,
        success_ci=wilson_interval(successes, len(done), confidence),
        duration_ms=bootstrap_mean([o.duration_ms for o in done if o.duration_ms is not None], confidence, n_boot, seed),
        tool_failures=bootstrap_mean([o.tool_failures for o in done if o.tool_failures is not None],
                                     confidence, n_boot, seed),
    )


def compare(outcomes: Sequence[Outcome], confidence: float = 0.95, seed: int = 0,
            n_boot: int = DEFAULT_BOOTSTRAP) -> ABReport:
    """Statistics per group, and treatment against holdout and against shadow when present."""
    by_group: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_group.setdefault(outcome.group, []).append(outcome)
    order = [g for g in (GROUP_TREATMENT, GROUP_HOLDOUT, GROUP_SHADOW) if g in by_group]
    order += sorted(g for g in by_group if g not in order)
    stats = [group_stats(g, by_group[g], confidence, seed, n_boot) for g in order]
    comparisons: list[Comparison] = []
    treated = [o for o in by_group.get(GROUP_TREATMENT, []) if o.completed]
    if treated:
        for control_name in (GROUP_HOLDOUT, GROUP_SHADOW):
            control = [o for o in by_group.get(control_name, []) if o.completed]
            if not control:
                continue
            s1, n1 = sum(1 for o in treated if o.success), len(treated)
            s2, n2 = sum(1 for o in control if o.success), len(control)
            comparisons.append(Comparison(
                treatment=GROUP_TREATMENT,
                control=control_name,
                success_rate_diff=newcombe_difference(s1, n1, s2, n2, confidence),
                p_value=two_proportion_p_value(s1, n1, s2, n2),
                duration_ms_diff=bootstrap_difference(
                    [o.duration_ms for o in treated if o.duration_ms is not None],
                    [o.duration_ms for o in control if o.duration_ms is not None], confidence, n_boot, seed),
                tool_failures_diff=bootstrap_difference(
                    [o.tool_failures for o in treated if o.tool_failures is not None],
                    [o.tool_failures for o in control if o.tool_failures is not None], confidence, n_boot, seed),
            ))
    return ABReport(confidence=confidence, groups=stats, comparisons=comparisons)


def outcomes_from_connection(con: Any, since: str | None = None) -> list[Outcome]:
    """Read advised prompts and their outcomes from a lakehouse connection."""
    rows = con.execute(SQL_PATH.read_text(encoding="utf-8"), {"since": since}).fetchall()
    outcomes = []
    for _cid, group, _pattern, _at, completed, success, duration, failures in rows:
        outcomes.append(Outcome(
            group=str(group),
            success=bool(success) if completed and success is not None else None,
            duration_ms=float(duration) if completed and duration is not None else None,
            tool_failures=float(failures) if completed and failures is not None else None,
        ))
    return outcomes


def report_from_lake(confidence: float = 0.95, since: str | None = None, seed: int = 0, home: Any = None) -> ABReport:
    from hooklake.errors import HooklakeError

    if not 0.0 < confidence < 1.0:
        raise HooklakeError(f"--confidence must be between 0 and 1 (exclusive), got {confidence}")
    try:
        import lakehouse
    except ImportError as exc:  # pragma: no cover - the lakehouse ships with the package
        raise HooklakeError(f"the lakehouse is not available: {exc}") from None
    con = lakehouse.connect(home=home, read_only=True)
    try:
        outcomes = outcomes_from_connection(con, since)
    finally:
        con.close()
    return compare(outcomes, confidence=confidence, seed=seed)


def _fmt_interval(value: float | None, low: float | None, high: float | None, pct: bool = False, digits: int = 1) -> str:
    if value is None:
        return "-"
    if pct:
        return f"{value:.1%} [{low:.1%}, {high:.1%}]"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def format_report(report: ABReport) -> str:
    level = f"{report.confidence:.0%}"
    if not report.groups:
        return ("No advice events in the lake yet. Install the advice hook (`hooklake install --advice`), "
                "run `hooklake serve`, use Claude Code, then `hooklake ingest`.")
    header = f"{'group':<10} {'prompts':>7} {'done':>5}  {'success rate (' + level + ' CI)':<28} " \
             f"{'mean duration ms':<26} {'tool failures/trace':<22}"
    lines = [header, "-" * len(header)]
    for g in report.groups:
        lines.append(
            f"{g.group:<10} {g.prompts:>7} {g.completed:>5}  "
            f"{_fmt_interval(g.success_rate, *g.success_ci, pct=True):<28} "
            f"{_fmt_interval(*g.duration_ms, digits=0):<26} {_fmt_interval(*g.tool_failures, digits=2):<22}"
        )
    for c in report.comparisons:
        diff, low, high = c.success_rate_diff
        p = "-" if c.p_value is None else f"{c.p_value:.3f}"
        verdict = "significant" if c.significant else "not significant"
        lines.append("")
        lines.append(f"{c.treatment} - {c.control}: success rate {diff:+.1%} [{low:+.1%}, {high:+.1%}] "
                     f"(p={p}, {verdict} at {level})")
        d = c.duration_ms_diff
        if d[0] is not None:
            lines.append(f"  mean duration {d[0]:+.0f} ms [{d[1]:+.0f}, {d[2]:+.0f}]")
        t = c.tool_failures_diff
        if t[0] is not None:
            lines.append(f"  tool failures per trace {t[0]:+.2f} [{t[1]:+.2f}, {t[2]:+.2f}]")
    return "\n".join(lines)
