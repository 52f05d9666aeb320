"""``hooklake dashboard``, ``demo`` and ``quickstart``: registration, guards, a real small demo run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from hooklake.cli import build_parser, main
from hooklake.paths import Paths


def test_commands_are_registered_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for command in ("dashboard", "demo", "quickstart"):
        with pytest.raises(SystemExit) as info:
            parser.parse_args([command, "--help"])
        assert info.value.code == 0
        assert "usage: hooklake " + command in capsys.readouterr().out


def test_registration_is_light() -> None:
    code = ("import sys, dashboard.cli; heavy = [m for m in ('streamlit', 'duckdb', 'pandas', 'polars', 'torch', "
            "'altair') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_busy_port_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--no-browser", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and "Traceback" not in err


def test_demo_refuses_to_mix_into_a_real_lake(capsys: pytest.CaptureFixture[str]) -> None:
    events = Paths.resolve().events / "date=2026-11-01"
    events.mkdir(parents=True)
    (events / "part-host-1.parquet").write_bytes(b"PAR1")  # any existing lake file counts
    assert main(["demo", "--no-dashboard", "--no-learn", "--days", "1"]) == 1
    err = capsys.readouterr().err
    assert "already has events" in err and "HOOKLAKE_HOME=" in err
    assert not any(Paths.resolve().spool.glob("*.jsonl")), "nothing may be written when refusing"


def test_demo_days_are_validated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--days", "0", "--no-dashboard"]) == 1
    assert "--days must be between 1 and 365" in capsys.readouterr().err


def test_small_demo_runs_once_per_home(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--days", "2", "--sessions-per-day", "3", "--no-learn", "--no-dashboard"]) == 0
    out = capsys.readouterr().out
    assert "through the capture hook" in out and "events written" in out
    marker = json.loads((Paths.resolve().state / "demo.json").read_text())
    assert marker["events"] > 100 and marker["days"] == 2
    lake_files = sorted(Paths.resolve().events.rglob("*.parquet"))
    assert lake_files
    # a second run reuses the data instead of doubling it
    assert main(["demo", "--days", "2", "--no-learn", "--no-dashboard"]) == 0
    assert "reusing it" in capsys.readouterr().out
    import lakehouse

    con = lakehouse.connect()
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == marker["events"]
