"""hooklake install / uninstall / status against real settings.json files in tmp folders."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from hooklake.cli import main as cli_main
from hooklake.errors import HooklakeError
from hooklake.paths import Paths
from hooks import events, installer, native
from hooks_support import spool_events

USER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git status)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/guard.sh", "timeout": 5}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
        "CustomFutureEvent": [{"hooks": [{"type": "command", "command": "python3 ~/scripts/capture.py"}]}],
    },
    "env": {"FOO": "bar"},
}


def _write(path: Path, obj: dict) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(obj, indent=2) + "\n").encode()
    path.write_bytes(data)
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    return p


@pytest.fixture
def paths(hooklake_home: Path, request: pytest.FixtureRequest) -> Paths:
    p = Paths.resolve(hooklake_home)
    if native.find_compiler():  # reuse the session's build instead of compiling per test
        built = request.getfixturevalue("native_binary")
        p.bin.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, p.bin / built.name)
    return p


def _ours(settings: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for event, groups in settings["hooks"].items():
        for group in groups:
            for hook in group["hooks"]:
                if native.is_capture_command(hook["command"]):
                    out.setdefault(event, []).append(group)
    return out


def test_install_merges_and_preserves(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    _write(target, USER_SETTINGS)
    result = installer.install(target, paths)
    assert result.changed and result.backup is not None
    assert json.loads(result.backup.read_text()) == USER_SETTINGS
    after = json.loads(target.read_text())
    for key in ("model", "permissions", "env"):
        assert after[key] == USER_SETTINGS[key]
    assert after["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    assert after["hooks"]["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    assert after["hooks"]["CustomFutureEvent"] == USER_SETTINGS["hooks"]["CustomFutureEvent"]
    ours = _ours(after)
    assert set(ours) == set(events.INSTALLED_EVENTS)
    assert "WorktreeCreate" not in after["hooks"] and "WorktreeRemove" not in after["hooks"]
    for event, [group] in ours.items():
        assert group.get("matcher") == ("*" if event in events.MATCHER_EVENTS else None)
        [hook] = group["hooks"]
        assert hook["type"] == "command" and hook["timeout"] == 10
        assert hook["command"] == result.commands["capture"]
    argv = shlex.split(result.commands["capture"])
    assert argv[1:] == ["--home", str(paths.home)]
    assert Path(argv[0]).parent == paths.bin


def test_install_is_idempotent(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    _write(target, USER_SETTINGS)
    installer.install(target, paths)
    first = target.read_bytes()
    backups = sorted(target.parent.glob("settings.json.hooklake-backup-*"))
    again = installer.install(target, paths)
    assert not again.changed and again.backup is None
    assert target.read_bytes() == first
    assert sorted(target.parent.glob("settings.json.hooklake-backup-*")) == backups


def test_uninstall_removes_exactly_what_was_added(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    original = _write(target, USER_SETTINGS)
    installer.install(target, paths)
    result = installer.uninstall(target, paths)
    assert result.changed and set(result.events) == set(events.INSTALLED_EVENTS)
    assert target.read_bytes() == original
    assert not installer.uninstall(target, paths).changed


def test_uninstall_keeps_entries_added_after_install(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    _write(target, USER_SETTINGS)
    installer.install(target, paths)
    settings = json.loads(target.read_text())
    settings["hooks"]["PostToolUse"].append({"matcher": "Edit", "hooks": [{"type": "command", "command": "fmt"}]})
    settings["theme"] = "dark"
    _write(target, settings)
    installer.uninstall(target, paths)
    expected = json.loads(json.dumps(USER_SETTINGS))
    expected["hooks"]["PostToolUse"] = [{"matcher": "Edit", "hooks": [{"type": "command", "command": "fmt"}]}]
    expected["theme"] = "dark"
    assert json.loads(target.read_text()) == expected


def test_install_into_missing_file_and_uninstall_removes_it(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    result = installer.install(target, paths)
    assert result.changed and result.backup is None and target.exists()
    installer.uninstall(target, paths)
    assert not target.exists()


def test_keeps_file_indentation(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    target.parent.mkdir(parents=True)
    original = json.dumps(USER_SETTINGS, indent=4) + "\n"
    target.write_text(original)
    installer.install(target, paths)
    assert target.read_text().startswith('{\n    "model"')
    installer.uninstall(target, paths)
    assert target.read_text() == original


def test_malformed_settings_error_names_file_line_column(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    target.parent.mkdir(parents=True)
    bad = '{\n  "model": "opus",\n  "hooks": {,}\n}\n'
    target.write_text(bad)
    with pytest.raises(HooklakeError) as err:
        installer.install(target, paths)
    assert str(target) in str(err.value) and "line 3, column 13" in str(err.value)
    assert target.read_text() == bad
    assert list(target.parent.iterdir()) == [target]
    with pytest.raises(HooklakeError, match="line 3"):
        installer.uninstall(target, paths)


@pytest.mark.parametrize("content", ['["a list"]', '{"hooks": []}', '{"hooks": {"Stop": {}}}'])
def test_wrong_shapes_are_errors(project: Path, paths: Paths, content: str) -> None:
    target = project / ".claude" / "settings.json"
    target.parent.mkdir(parents=True)
    target.write_text(content)
    with pytest.raises(HooklakeError, match=str(target)):
        installer.install(target, paths)
    assert target.read_text() == content


def test_cli_user_install_with_home_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, paths: Paths) -> None:
    fake_home = tmp_path / "userhome"
    fake_home.mkdir()
    monkeypatch.setenv("HOME", str(fake_home))
    assert cli_main(["install", "--user"]) == 0
    out = capsys.readouterr().out
    target = fake_home / ".claude" / "settings.json"
    assert f"into {target}" in out and "capture command: " in out
    assert set(_ours(json.loads(target.read_text()))) == set(events.INSTALLED_EVENTS)
    assert cli_main(["install", "--user"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert cli_main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [user] = [i for i in report["installs"] if i["scope"] == "user"]
    assert user["installed"] and user["settings"] == str(target) and user["missing_events"] == []
    assert cli_main(["uninstall", "--user"]) == 0
    assert not target.exists()


def test_is_capture_command_is_strict() -> None:
    assert native.is_capture_command("/h/bin/hooklake-capture-0123abcd --home /h")
    assert native.is_capture_command("'/h h/bin/hooklake-capture-0123abcd' --home '/h h'")
    assert native.is_capture_command("/venv/bin/python -S -I /src/hooks/capture.py --home /h")
    assert not native.is_capture_command("python3 ~/proj/hooks/capture.py")
    assert not native.is_capture_command("echo hooklake-capture-1")
    assert not native.is_capture_command("unbalanced 'quote")


def test_missing_project_folder_is_an_error(tmp_path: Path, capsys) -> None:
    assert cli_main(["install", "--project", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


def test_cli_malformed_is_clean_error(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    target = project / ".claude" / "settings.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"a": 1,,}')
    assert cli_main(["install", "--project", str(project)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hooklake: error: ") and "line 1, column 9" in err and "Traceback" not in err


def test_python_capture_install_runs(project: Path, paths: Paths) -> None:
    target = project / ".claude" / "settings.json"
    result = installer.install(target, paths, capture="python")
    command = result.commands["capture"]
    assert " -S -I " in command and command.endswith(f"capture.py --home {paths.home}")
    proc = subprocess.run(command, shell=True, input=b'{"hook_event_name":"Stop"}', capture_output=True)
    assert proc.returncode == 0 and proc.stdout == b""
    assert spool_events(paths.home)[0]["payload"] == {"hook_event_name": "Stop"}
    # switching to the native hook replaces the entries instead of adding a second set
    if native.find_compiler():
        installer.install(target, paths, capture="native")
        ours = _ours(json.loads(target.read_text()))
        assert all(len(groups) == 1 for groups in ours.values())


def test_no_compiler_falls_back_to_python(project: Path, paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "find_compiler", lambda: None)
    monkeypatch.setattr(native, "binary_path", lambda p: p.bin / "hooklake-capture-notbuilt")
    result = installer.install(project / ".claude" / "settings.json", paths)
    assert "capture.py" in result.commands["capture"]
    assert result.notes and "no C compiler found" in result.notes[0]
    with pytest.raises(HooklakeError, match="no C compiler"):
        installer.install(project / ".claude" / "settings.json", paths, capture="native")


def test_compiler_failure_is_clear(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", shutil.which("false") or "/bin/false")
    monkeypatch.setattr(native, "binary_path", lambda p: p.bin / "hooklake-capture-notbuilt")
    with pytest.raises(HooklakeError, match="compiling .*capture.c with .*false failed"):
        native.build(paths)
    assert not list(paths.bin.glob(".hooklake-capture-notbuilt*")), "temporary output must be cleaned up"


def test_installed_native_command_captures(project: Path, paths: Paths) -> None:
    if not native.find_compiler():
        pytest.skip("no C compiler")
    result = installer.install(project / ".claude" / "settings.json", paths)
    proc = subprocess.run(result.commands["capture"], shell=True, input=b'{"a":1}', capture_output=True)
    assert proc.returncode == 0 and proc.stdout == b""
    assert spool_events(paths.home)[0]["payload"] == {"a": 1}


def test_wrap_existing_missing_module_is_clear_error(project: Path, paths: Paths, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "hooks.wrap_existing", None)  # as if the module were absent
    target = project / ".claude" / "settings.json"
    with pytest.raises(HooklakeError, match="--wrap-existing needs the hooks.wrap_existing module"):
        installer.install(target, paths, wrap_existing=True)
    assert not target.exists()


def test_wrap_existing_and_advice_contributions(project: Path, paths: Paths, monkeypatch) -> None:
    """Stand-ins for the wrap/advice modules (built separately) exercise the installer's calls."""
    wrap = types.ModuleType("hooks.wrap_existing")

    def wrap_existing_hooks(settings: dict) -> dict:
        out = json.loads(json.dumps(settings))
        for groups in out.get("hooks", {}).values():
            for group in groups:
                for hook in group["hooks"]:
                    assert not native.is_capture_command(hook["command"]), "own entries must not be wrapped"
                    if not hook["command"].startswith("hooklake run -- "):
                        hook["command"] = "hooklake run -- " + hook["command"]
        return out

    def unwrap_existing_hooks(settings: dict) -> dict:
        out = json.loads(json.dumps(settings))
        for groups in out.get("hooks", {}).values():
            for group in groups:
                for hook in group["hooks"]:
                    hook["command"] = hook["command"].removeprefix("hooklake run -- ")
        return out

    wrap.wrap_existing_hooks = wrap_existing_hooks
    wrap.unwrap_hooks = unwrap_existing_hooks
    advice = types.ModuleType("hooks.advice")
    advice.advice_hook_command = lambda p: f"hooklake-advice --home {p.home}"
    monkeypatch.setitem(sys.modules, "hooks.wrap_existing", wrap)
    monkeypatch.setitem(sys.modules, "hooks.advice", advice)

    target = project / ".claude" / "settings.json"
    original = _write(target, USER_SETTINGS)
    installer.install(target, paths, wrap_existing=True, advice=True)
    first = target.read_bytes()
    after = json.loads(first)
    assert after["hooks"]["Stop"][0]["hooks"][0]["command"] == "hooklake run -- notify-send done"
    ups = [h["command"] for g in after["hooks"]["UserPromptSubmit"] for h in g["hooks"]]
    assert f"hooklake-advice --home {paths.home}" in ups
    assert not installer.install(target, paths, wrap_existing=True, advice=True).changed
    assert target.read_bytes() == first
    installer.uninstall(target, paths)
    assert target.read_bytes() == original


def test_real_wrap_and_advice_modules(project: Path, paths: Paths) -> None:
    """The same round trip with the real hooks.wrap_existing and hooks.advice modules."""
    wrap = pytest.importorskip("hooks.wrap_existing")
    advice = pytest.importorskip("hooks.advice")
    target = project / ".claude" / "settings.json"
    original = _write(target, USER_SETTINGS)
    installer.install(target, paths, wrap_existing=True, advice=True)
    first = target.read_bytes()
    after = json.loads(first)
    assert wrap.wrapped_commands(after) and "notify-send done" in wrap.wrapped_commands(after)
    assert set(_ours(after)) == set(events.INSTALLED_EVENTS), "capture entries must not be wrapped"
    ups = [h["command"] for g in after["hooks"]["UserPromptSubmit"] for h in g["hooks"]]
    assert advice.advice_hook_command(paths) in ups
    assert not installer.install(target, paths, wrap_existing=True, advice=True).changed
    assert target.read_bytes() == first
    installer.uninstall(target, paths)
    assert target.read_bytes() == original


def test_status_reports_spool_errors_and_kill_switch(project: Path, paths: Paths, monkeypatch) -> None:
    from hooks import spool

    installer.install(project / ".claude" / "settings.json", paths, capture="python")
    ids = [spool.append_event({"i": i}, "sdk", paths) for i in range(3)]
    assert None not in ids
    (paths.spool / "2020010100.other.jsonl").write_bytes(b'{"v":1,"captured_ns":1}\n{"v":1,"captured_ns":2}\n{"par')
    spool.log_capture_error(spool._where(paths), "first problem")
    spool.log_capture_error(spool._where(paths), "second problem")
    paths.kill_switch.touch()
    report = installer.status(paths, str(project))
    [proj] = [i for i in report["installs"] if i["scope"] == "project"]
    assert proj["installed"] and proj["missing_events"] == [] and proj["programs"][0]["exists"]
    assert report["kill_switch"] == {"active": True, "env": False, "file": True, "file_path": str(paths.kill_switch)}
    assert report["spool"]["files"] == 2
    assert report["spool"]["bytes"] == sum(f.stat().st_size for f in paths.spool.iterdir())
    newest = json.loads((paths.spool.glob(f"*{spool.host_name()}.jsonl").__next__()).read_text().splitlines()[-1])
    assert report["spool"]["last_event_ns"] in (newest["captured_ns"], 2)
    assert report["capture_errors"]["count"] == 2 and report["capture_errors"]["last"].endswith("second problem")
    monkeypatch.chdir(project)
    assert cli_main(["status"]) == 0


def test_status_last_line_skips_partial_line(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"captured_ns":1}\n' + b'{"captured_ns":2,"p":"' + b"x" * 200_000 + b'"}\n{"captured_ns":3')
    assert installer._last_line_head(f, 20) == b'{"captured_ns":2,"p"'
    f.write_bytes(b'{"captured_ns":5}\n')
    assert installer._last_line_head(f) == b'{"captured_ns":5}'


def test_help_texts() -> None:
    for cmd in ("install", "uninstall", "status"):
        proc = subprocess.run([sys.executable, "-m", "hooklake", cmd, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "usage: hooklake " + cmd in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "hooklake", "--help"], capture_output=True, text=True)
    for cmd in ("install", "uninstall", "status"):
        assert cmd in proc.stdout


def test_event_list_matches_claude_code_binary() -> None:
    """If the real Claude Code binary is around, its event list must be ours."""
    import os
    import re

    root = os.environ.get("HOOKLAKE_CLAUDE_BIN")
    candidates = [Path(root)] if root else []
    candidates.append(Path(__file__).resolve().parents[2] / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude")
    binary = next((c for c in candidates if c.exists()), None)
    if binary is None:
        pytest.skip("Claude Code binary not installed (set HOOKLAKE_CLAUDE_BIN)")
    real = binary.resolve()
    native_bins = list(real.parent.parent.parent.glob("claude-code-*/claude")) if real.name.endswith(".js") else []
    data = (native_bins[0] if native_bins else real).read_bytes()
    match = re.search(rb'\["PreToolUse","PostToolUse",[^\]]*"MessageDisplay"\]', data)
    if match is None:
        pytest.skip(f"no hook event list found in {binary} (different build layout)")
    assert tuple(json.loads(match.group(0))) == events.HOOK_EVENTS
