"""A/B statistics against known values, and the report's shape."""

from __future__ import annotations

import math

import pytest

from learning import ab


def test_wilson_interval_known_values():
    # 8/10 at 95%: the textbook Wilson interval is [0.4902, 0.9433].
    low, high = ab.wilson_interval(8, 10, 0.95)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    # Edge cases stay inside [0, 1] and are not degenerate.
    low, high = ab.wilson_interval(0, 20)
    assert low == 0.0 and 0.15 < high < 0.17
    low, high = ab.wilson_interval(20, 20)
    assert high == 1.0 and 0.83 < low < 0.85
    assert ab.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        ab.wilson_interval(11, 10)


def test_newcombe_difference_matches_the_paper():
    # Newcombe (1998), example (a): 56/70 vs 48/80 -> diff 0.2000, 95% CI 0.0524 to 0.3339.
    diff, low, high = ab.newcombe_difference(56, 70, 48, 80)
    assert diff == pytest.approx(0.2)
    assert low == pytest.approx(0.0524, abs=1e-4) and high == pytest.approx(0.3339, abs=1e-4)
    # (b): 9/10 vs 3/10 -> 0.6000, 0.1705 to 0.8090.
    diff, low, high = ab.newcombe_difference(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)


def test_two_proportion_p_value():
    # 56/70 vs 48/80: pooled p = 104/150, z = 0.2 / 0.07547 = 2.650, two-sided p = 0.00805.
    assert ab.two_proportion_p_value(56, 70, 48, 80) == pytest.approx(0.00805, abs=1e-4)
    assert ab.two_proportion_p_value(5, 10, 5, 10) == pytest.approx(1.0)
    assert ab.two_proportion_p_value(0, 0, 1, 2) is None


def test_bootstrap_mean_covers_the_mean_and_is_reproducible():
    values = [100.0, 120.0, 90.0, 110.0, 95.0, 105.0, 130.0, 85.0]
    mean, low, high = ab.bootstrap_mean(values, seed=1)
    assert mean == pytest.approx(sum(values) / len(values))
    assert low < mean < high
    assert ab.bootstrap_mean(values, seed=1) == (mean, low, high)
    assert ab.bootstrap_mean([]) == (None, None, None)
    diff, dlow, dhigh = ab.bootstrap_difference([10.0] * 20, [5.0, 6.0, 4.0, 5.0] * 5, seed=0)
    assert diff == pytest.approx(5.0) and 4.0 < dlow <= dhigh < 6.0


def test_compare_groups_and_significance():
    outcomes = (
        [ab.Outcome("treatment", True, 1000.0, 0.0)] * 90
        + [ab.Outcome("treatment", False, 3000.0, 2.0)] * 10
        + [ab.Outcome("holdout", True, 2000.0, 1.0)] * 60
        + [ab.Outcome("holdout", False, 4000.0, 3.0)] * 40
        + [ab.Outcome("holdout", None)] * 5  # not finished yet
    )
    report = ab.compare(outcomes, seed=0)
    treat, hold = report.group("treatment"), report.group("holdout")
    assert (treat.prompts, treat.completed, treat.successes) == (100, 100, 90)
    assert (hold.prompts, hold.completed, hold.successes) == (105, 100, 60)
    assert treat.success_rate == pytest.approx(0.9) and hold.success_rate == pytest.approx(0.6)
    (comparison,) = report.comparisons
    assert comparison.control == "holdout"
    diff, low, high = comparison.success_rate_diff
    assert diff == pytest.approx(0.3) and 0.0 < low < 0.3 < high
    assert comparison.significant and comparison.p_value < 0.001
    assert comparison.duration_ms_diff[0] == pytest.approx(1200.0 - 2800.0)
    assert comparison.tool_failures_diff[2] < 0  # fewer tool failures with advice, interval below 0
    data = report.as_dict()
    assert data["groups"][1]["pending"] == 5
    assert data["comparisons"][0]["success_rate_diff"]["value"] == pytest.approx(0.3)
    text = ab.format_report(report)
    assert "treatment - holdout: success rate +30.0%" in text and "significant" in text


def test_no_difference_is_not_significant():
    outcomes = [ab.Outcome("treatment", i % 2 == 0, 100.0, 0.0) for i in range(40)] + [
        ab.Outcome("shadow", i % 2 == 0, 100.0, 0.0) for i in range(40)
    ]
    (comparison,) = ab.compare(outcomes).comparisons
    assert comparison.control == "shadow"
    assert not comparison.significant
    assert comparison.success_rate_diff[1] < 0 < comparison.success_rate_diff[2]


def test_empty_report_explains_what_to_do():
    report = ab.compare([])
    assert report.groups == [] and report.comparisons == []
    assert "hooklake install --advice" in ab.format_report(report)
    assert not math.isnan(ab.compare([ab.Outcome("treatment", True)]).groups[0].success_rate)


# -- the report over a constructed lake ----------------------------------------------------


def _write_lake(paths, traces: list[tuple[str, str | None, bool]]) -> None:
    """Canonical event rows for traces (correlation id, advice group or None, success) -> one Parquet file.

    A successful trace is a prompt, a tool call and a Stop; a failed one has a failing tool and a
    StopFailure. Advice events carry the group as the advice service writes it.
    """
    import json
    from datetime import datetime, timedelta, timezone

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest import schema

    rows: list[dict] = []
    t = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)

    def add(kind: str, name: str, cid: str, at: datetime, payload: dict, **cols) -> None:
        row = {c: None for c in schema.COLUMN_NAMES}
        row.update(schema_version=schema.SCHEMA_VERSION, event_id=f"{cid}-{len(rows)}", source="claude_code",
                   host="h", captured_at=at, event_time=at, event_name=name, event_kind=kind,
                   session_id=f"s-{cid}", prompt_id=cid, correlation_id=cid, root_id=cid, cwd="/p",
                   payload=json.dumps({"hook_event_name": name, **payload}), redactions=0, ingest_id="test")
        row.update(cols)
        rows.append(row)

    for i, (cid, group, success) in enumerate(traces):
        start = t + timedelta(minutes=i)
        add("prompt", "UserPromptSubmit", cid, start, {"prompt": "fix it"}, prompt_text="fix it")
        if group is not None:
            add("advice", "advice", cid, start + timedelta(milliseconds=5),
                {"group": group, "pattern_id": "p1", "correlation_id": cid}, source="router")
        add("tool_start", "PreToolUse", cid, start + timedelta(seconds=1), {}, tool_name="Bash",
            tool_use_id=f"tu-{cid}")
        if success:
            add("tool_end", "PostToolUse", cid, start + timedelta(seconds=2), {}, tool_name="Bash",
                tool_use_id=f"tu-{cid}", status="ok", duration_ms=1000.0)
            add("stop", "Stop", cid, start + timedelta(seconds=3), {})
        else:
            add("tool_failure", "PostToolUseFailure", cid, start + timedelta(seconds=2), {"error": "exit 1"},
                tool_name="Bash", tool_use_id=f"tu-{cid}", status="error", error_message="exit 1",
                duration_ms=1000.0)
            add("stop_failure", "StopFailure", cid, start + timedelta(seconds=9), {"error": "api error"},
                status="error", error_message="api error")
    table = pa.Table.from_pylist(rows, schema=schema.arrow_schema())
    folder = paths.events / "date=2026-11-20"
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-h-test.parquet", compression="zstd")


def test_report_from_a_constructed_lake(paths):
    traces = (
        [(f"t{i}", "treatment", i % 10 != 0) for i in range(40)]  # 36/40 succeed
        + [(f"h{i}", "holdout", i % 2 == 0) for i in range(20)]  # 10/20 succeed
        + [(f"n{i}", None, True) for i in range(5)]  # not in the experiment
    )
    _write_lake(paths, traces)
    report = ab.report_from_lake(seed=0)
    treat, hold = report.group("treatment"), report.group("holdout")
    assert (treat.completed, treat.successes) == (40, 36)
    assert (hold.completed, hold.successes) == (20, 10)
    assert [g.group for g in report.groups] == ["treatment", "holdout"]
    (comparison,) = report.comparisons
    diff, low, high = comparison.success_rate_diff
    assert diff == pytest.approx(0.4)
    assert (low, high) == pytest.approx(ab.newcombe_difference(36, 40, 10, 20)[1:])
    assert comparison.significant
    # Failed traces ran longer (StopFailure at +9 s vs Stop at +3 s) and had a tool failure each.
    assert treat.duration_ms[0] == pytest.approx((36 * 3000 + 4 * 9000) / 40)
    assert treat.tool_failures[0] == pytest.approx(4 / 40)
    assert comparison.tool_failures_diff[0] == pytest.approx(0.1 - 0.5)


def test_report_ab_cli_json(paths, capsys):
    import json

    from hooklake.cli import main

    _write_lake(paths, [("a1", "treatment", True), ("a2", "shadow", False)])
    assert main(["report", "ab", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [g["group"] for g in data["groups"]] == ["treatment", "shadow"]
    assert data["comparisons"][0]["control"] == "shadow"
    assert main(["report", "ab", "--json", "--since", "2030-01-01"]) == 0  # advice given before: none left
    assert json.loads(capsys.readouterr().out)["groups"] == []
    assert main(["report", "ab", "--confidence", "1.5"]) == 1
    assert "--confidence must be between 0 and 1" in capsys.readouterr().err
