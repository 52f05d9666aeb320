"""One Spark session (``local[2]``) for all Spark tests, and one fixture lake learned once.

The fixture lake mixes the learning evaluation traces (real ingest of Claude Code-shaped hook
payloads, prompts of many kinds) with lakehouse.synthetic's generator (subagents nested two deep,
MCP tools, failures, SDK endpoint calls, routing decisions, wrapped hooks), so every view has rows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

KINDS = {"fix_python_exception", "write_unit_tests", "slow_sql_query", "docker_build", "write_readme",
         "regex_help", "k8s_crashloop"}


def _java_ok() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


@pytest.fixture(scope="session")
def spark() -> Any:
    pytest.importorskip("pyspark", reason="needs pyspark: pip install 'hooklake[spark]'")
    if not _java_ok():
        pytest.fail("Spark needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)")
    from lakehouse.spark.session import get_session, stop_session

    # Quick JVM start for tests (C1 JIT only): the data here is tiny.
    session = get_session("local[2]", conf={
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
        "spark.sql.shuffle.partitions": "2",
    })
    yield session
    stop_session()


@pytest.fixture(scope="session")
def fixture_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A lake of both generators, learned once by the local (Polars) job."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from hooklake.paths import Paths
    from hooklake.settings import load_settings
    from lakehouse.synthetic import generate
    from learning import synth
    from learning.embeddings import get_embedder
    from learning.job import run_learn

    home = tmp_path_factory.mktemp("spark-home")
    paths = Paths.resolve(home)
    counts: dict[str, int] = {}
    kept = []
    for t in synth.generate(seed=3, kinds=KINDS):
        counts[t.kind] = counts.get(t.kind, 0) + 1
        if counts[t.kind] <= 6:
            kept.append(t)
    synth.build_lake(kept, paths, via="ingest")
    generate(home, events=800, days=2, seed=5)
    embedder = get_embedder("all-MiniLM-L6-v2")
    report = run_learn(paths, load_settings(paths.config), embedder=embedder)
    queries = [t.prompt for t in kept[::5]] + ["completely unrelated: bake a sourdough loaf"]
    return {"home": Path(home), "paths": paths, "report": report, "embedder": embedder, "queries": queries}
