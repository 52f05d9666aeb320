"""Matching and routing over a lake built by the real ingest and learned by the real job."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hooklake.paths import Paths
from hooklake.settings import Settings
from learning import index as idx
from learning.router import Router

COMPONENT_KEYS = {"semantic", "keyword", "intent", "context", "historical"}


@pytest.fixture(scope="module")
def router(learned_home, embedder):
    return Router.load(paths=learned_home["paths"], settings=Settings(), embedder=embedder)


def _lake_prompt(learned_home, kind_name: str, eval_traces) -> str:
    return next(t.prompt for t in eval_traces if t.kind == kind_name and t.success)


def test_match_finds_the_path_of_a_paraphrase(router):
    matches = router.match("Please write pytest unit tests for the calculate_tax function, with edge cases", k=3)
    assert matches, "a learned index returns candidates"
    top = matches[0]
    assert top.agent == "test-writer" and "Write" in top.tools
    assert set(top.components) >= COMPONENT_KEYS
    assert all(0.0 <= top.components[c] <= 1.0 for c in COMPONENT_KEYS)
    assert 0.0 <= top.confidence <= 1.0 and "semantic" in top.explanation
    assert [m.confidence for m in matches] == sorted((m.confidence for m in matches), reverse=True) or \
        [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    d = top.as_dict()
    assert {"pattern_id", "agent", "score", "confidence", "components", "explanation"} <= set(d)


def test_route_uses_a_confident_learned_pattern(router, learned_home, eval_traces):
    prompt = _lake_prompt(learned_home, "slow_sql_query", eval_traces)
    d = router.route(prompt, {"cwd": "/home/dev/shop"}, log=False)
    assert d.strategy == "learned_pattern", d.explanation
    assert d.confidence >= d.threshold and d.pattern_id
    assert d.agent == "db-optimizer"
    plan = d.replay_plan
    assert {"agent", "hook_plan", "intelligence_plan", "endpoint_expectations", "performance_expectations"} <= set(plan)
    assert plan["endpoint_expectations"][0]["service"] == "postgres"
    assert plan["endpoint_expectations"][0]["request_template"] == {"query": "<string>"}
    assert plan["performance_expectations"]["expected_duration_ms"] > 0
    assert plan["hook_plan"][0]["hook_type"] == "UserPromptSubmit"


def test_route_falls_back_to_user_agents(router, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / ".claude" / "agents").mkdir(parents=True)
    (project / ".claude" / "agents" / "translator.md").write_text(
        "---\nname: i18n-translator\ndescription: Translates user interface strings and locale files into other "
        "languages such as German or French.\ntools: Read, Edit\n---\nYou translate.\n")
    home = tmp_path / "home"
    (home / ".claude" / "agents").mkdir(parents=True)
    (home / ".claude" / "agents" / "pdf.md").write_text(
        "---\nname: pdf-reporter\ndescription: >\n  Builds PDF reports from spreadsheets\n  and charts.\n---\n")
    monkeypatch.setenv("HOME", str(home))
    d = router.route("Translate all the button labels of the settings screen into German", {"cwd": str(project)}, log=False)
    assert d.strategy == "fallback" and d.agent == "i18n-translator" and d.replay_plan is None
    assert "translator.md" in d.explanation
    d2 = router.route("Make a PDF report from this spreadsheet with charts", {"cwd": str(project)}, log=False)
    assert d2.agent == "pdf-reporter"
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(empty))
    d3 = router.route("Translate the labels into German", {"cwd": str(empty)}, log=False)
    assert d3.strategy == "fallback" and d3.agent == "general-purpose"


def test_routing_decision_is_logged_with_correlation_id(learned_home, embedder, tmp_path):
    pytest.importorskip("hooks.spool")
    paths = Paths.resolve(tmp_path)
    shutil.copytree(learned_home["paths"].index, paths.index)
    r = Router.load(paths=paths, settings=Settings(), embedder=embedder)
    d = r.route("Write a README for this repo with setup instructions", {"cwd": str(tmp_path)}, correlation_id="trace-42")
    assert d.logged
    lines = [json.loads(x) for f in paths.spool.glob("*.jsonl") for x in f.read_text().splitlines()]
    (line,) = lines
    p = line["payload"]
    assert line["source"] == "router" and p["hook_event_name"] == "routing_decision"
    assert p["correlation_id"] == "trace-42" and p["selected_agent"] == d.agent and p["strategy"] == d.strategy
    assert p["confidence"] == d.confidence and p["pattern_id"] == d.pattern_id
    # and it reaches the lake as an ordinary event
    from ingest.compactor import run_ingest

    run_ingest(paths=paths)
    import lakehouse

    con = lakehouse.connect(home=paths.home)
    rows = con.execute("SELECT correlation_id FROM events WHERE event_kind = 'routing_decision'").fetchall()
    assert rows == [("trace-42",)]


def test_reload_when_a_new_version_is_published(learned_home, embedder, tmp_path):
    paths = Paths.resolve(tmp_path)
    shutil.copytree(learned_home["paths"].index, paths.index)
    r = Router.load(paths=paths, settings=Settings(), embedder=embedder)
    before = r.version
    assert r.reload_if_changed() is False
    clone = r.copy()
    src = idx.version_dir(paths.index, before)
    manifest = idx.read_manifest(paths.index)

    def write(folder):
        for f in src.iterdir():
            if f.name != idx.MANIFEST_FILE:
                shutil.copy(f, folder / f.name)

    new = idx.publish_version(paths.index, write, manifest)
    assert clone.reload_if_changed() is True and clone.version == new != before
    assert r.version == before, "the original router object is untouched by its clone's reload"
    assert clone.embedder is r.embedder


def test_router_without_index_falls_back(embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    r = Router.load(paths=Paths.resolve(tmp_path), settings=Settings(), embedder=embedder)
    assert r.version is None and r.match("anything at all") == []
    d = r.route("fix the login bug", {"cwd": str(tmp_path)}, log=False)
    assert d.strategy == "fallback" and d.agent == "general-purpose" and d.calibrated is False


def test_router_refuses_index_of_another_model(learned_home, embedder, tmp_path):
    from hooklake.errors import HooklakeError
    from hooklake.settings import LearningSettings

    class OtherModel:  # a second model cannot be downloaded here: same vectors, another name
        model_name = "sentence-transformers/all-mpnet-base-v2"
        dimension = embedder.dimension

        def encode(self, texts, batch_size=64):
            return embedder.encode(texts)

    paths = Paths.resolve(tmp_path)
    shutil.copytree(learned_home["paths"].index, paths.index)
    settings = Settings(learning=LearningSettings(model=OtherModel.model_name))
    with pytest.raises(HooklakeError, match="learn --full"):
        Router.load(paths=paths, settings=settings, embedder=OtherModel())


def test_calibration_is_monotone_and_sane(learned_home):
    from learning.calibration import ece, fit_isotonic, fit_platt

    version = idx.current_version(learned_home["paths"].index)
    calib = json.loads((idx.version_dir(learned_home["paths"].index, version) / idx.CALIBRATION_FILE).read_text())
    sc = calib["scorer"]
    ys = sc["iso_y"]
    assert sc["calibrated"] is True and ys == sorted(ys) and all(0.0 <= y <= 1.0 for y in ys)
    assert 0.5 <= sc["threshold"] <= 1.01
    assert {"fitted", "seed", "nearest_neighbour"} <= set(calib["all_scorers"])
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 4000)
    correct = rng.uniform(0, 1, 4000) < raw  # a perfectly calibrated raw score
    for fitter in (fit_isotonic, fit_platt):
        xs, ys = fitter(raw, correct, np.ones(4000))
        assert list(ys) == sorted(ys)
        conf = np.interp(raw, xs, ys)
        assert ece(conf, correct) < 0.03
        assert 0.0 < float(np.interp(1.0, xs, ys)) < 1.0, "never an absolute certainty"
