"""The learning commands: --json shapes, --file JSON lines, clean errors."""

from __future__ import annotations

import json

import pytest

from hooklake.cli import main


@pytest.fixture()
def in_learned_home(learned_home, monkeypatch, embedder):
    monkeypatch.setenv("HOOKLAKE_HOME", str(learned_home["home"]))
    return learned_home


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_patterns_json(in_learned_home, capsys):
    rows = _json(capsys, ["patterns", "--json"])
    assert isinstance(rows, list) and len(rows) == in_learned_home["report"].patterns
    assert {"pattern_id", "version", "status", "agent", "trace_count", "historical_success", "prompt_text"} <= set(rows[0])


def test_match_json_and_file(in_learned_home, capsys, tmp_path):
    obj = _json(capsys, ["match", "the docker image is huge, shrink it", "--k", "2", "--json"])
    assert obj["request"].startswith("the docker") and len(obj["matches"]) == 2
    m = obj["matches"][0]
    assert {"pattern_id", "agent", "score", "confidence", "components", "explanation"} <= set(m)
    assert {"semantic", "keyword", "intent", "context", "historical"} <= set(m["components"])
    f = tmp_path / "prompts.txt"
    f.write_text("fix the KeyError in the import job\n\nwrite a readme\nregex for hex colours\n")
    assert main(["match", "--file", str(f), "--k", "1"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["request"] for x in lines] == ["fix the KeyError in the import job", "write a readme", "regex for hex colours"]


def test_route_json(in_learned_home, capsys, tmp_path):
    obj = _json(capsys, ["route", "Write a Dockerfile for the billing service", "--json", "--no-log", "--cwd", str(tmp_path)])
    assert {"agent", "confidence", "strategy", "pattern_id", "replay_plan", "components", "correlation_id"} <= set(obj)
    assert obj["strategy"] in ("learned_pattern", "fallback") and obj["logged"] is False


def test_evaluate_json(in_learned_home, capsys):
    obj = _json(capsys, ["evaluate", "--json"])
    assert {"fitted", "seed", "nearest_neighbour"} <= set(obj["scorers"])
    for m in obj["scorers"].values():
        assert {"precision", "coverage", "false_match_rate", "ece", "threshold", "at_equal_coverage"} <= set(m)


def test_learn_json_on_a_fresh_lake(tmp_path, monkeypatch, capsys, embedder):
    from hooklake.paths import Paths
    from learning import synth

    monkeypatch.setenv("HOOKLAKE_HOME", str(tmp_path))
    synth.build_lake(synth.generate(seed=9, kinds={"regex_help", "write_readme"}), Paths.resolve(tmp_path), via="rows")
    obj = _json(capsys, ["learn", "--json", "--no-progress"])
    assert obj["patterns"] >= 2 and obj["index_version"] == "v000001"
    assert {"prompts_embedded", "embedding_cache_hits", "pruned", "index", "scorer", "chains", "error_patterns"} <= set(obj)
    again = _json(capsys, ["learn", "--json", "--no-progress"])
    assert again["prompts_embedded"] == 0 and again["index"]["incremental"] is True
    assert again["patterns_unchanged"] == again["patterns"]


def test_clean_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOOKLAKE_HOME", str(tmp_path))
    assert main(["match"]) == 1
    assert "give a PROMPT" in capsys.readouterr().err
    assert main(["route", "--file", str(tmp_path / "missing.txt")]) == 1
    assert "missing.txt" in capsys.readouterr().err
