"""``hooklake install --wrap-existing``: the user's hooks wrapped, idempotently and reversibly."""

from __future__ import annotations

import copy
import json
import subprocess

from wrapper_helpers import hook_executions
from hooks.wrap_existing import is_wrapped, original_command, unwrap_hooks, wrap_existing_hooks, wrapped_commands

USER_SETTINGS = {
    "model": "opus",
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [
                {"type": "command", "command": "cat | grep -q 'rm -rf' && { echo 'no rm -rf' >&2; exit 2; } || exit 0",
                 "timeout": 10},
                {"type": "command", "command": "'/opt/hooklake/bin/hooklake-capture'"},
            ]},
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "python3 ~/hooks/notify.py --quiet"},
                            {"type": "prompt", "prompt": "Is the task done?"}]}],
    },
}


def test_wrap_is_idempotent_and_reversible(native_bin):
    before = copy.deepcopy(USER_SETTINGS)
    wrapped = wrap_existing_hooks(USER_SETTINGS, runner=native_bin)
    assert USER_SETTINGS == before  # the input is not modified
    pre = wrapped["hooks"]["PreToolUse"][0]["hooks"]
    stop = wrapped["hooks"]["Stop"][0]["hooks"]
    assert is_wrapped(pre[0]["command"]) and is_wrapped(stop[0]["command"])
    assert pre[0]["timeout"] == 10 and "--timeout 9.5" in pre[0]["command"]  # just under Claude Code's
    assert "--timeout" not in stop[0]["command"]
    assert pre[1]["command"] == "'/opt/hooklake/bin/hooklake-capture'"  # hooklake's own hook: untouched
    assert stop[1] == {"type": "prompt", "prompt": "Is the task done?"}
    assert wrapped["model"] == "opus"
    assert original_command(pre[0]["command"]) == USER_SETTINGS["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert wrap_existing_hooks(wrapped, runner=native_bin) == wrapped
    assert unwrap_hooks(wrapped) == USER_SETTINGS
    assert unwrap_hooks(USER_SETTINGS) == USER_SETTINGS
    assert sorted(wrapped_commands(wrapped)) == sorted([
        USER_SETTINGS["hooks"]["PreToolUse"][0]["hooks"][0]["command"], "python3 ~/hooks/notify.py --quiet"])


def test_wrapped_shell_command_behaves_like_the_original(native_bin, hooklake_home):
    """Pipes, ``&&`` and ``exit 2`` of the original still work through the wrapper (as Claude Code runs it: sh -c)."""
    wrapped = wrap_existing_hooks(USER_SETTINGS, runner=native_bin)
    command = wrapped["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    original = USER_SETTINGS["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    for tool_command, code in (("rm -rf /", 2), ("ls", 0)):
        payload = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": tool_command}})
        bare = subprocess.run(["sh", "-c", original], input=payload.encode(), capture_output=True, timeout=30)
        via = subprocess.run(["sh", "-c", command], input=payload.encode(), capture_output=True, timeout=30)
        assert (via.returncode, via.stdout, via.stderr) == (bare.returncode, bare.stdout, bare.stderr)
        assert via.returncode == code
    events = [e["payload"] for e in hook_executions(hooklake_home)]
    assert [e["decision"] for e in events] == ["block", "allow"] and events[0]["command"] == original
    assert events[0]["hook_name"] == "cat" and events[0]["timeout_s"] == 9.5


def test_default_runner_prefers_the_native_helper(hooklake_home):
    from hooks.wrap_existing import default_runner

    runner = default_runner()
    assert runner.endswith("hooklake-run") or "wrapper.py" in runner
    wrapped = wrap_existing_hooks({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}})
    assert is_wrapped(wrapped["hooks"]["Stop"][0]["hooks"][0]["command"])


def test_install_and_uninstall_round_trip(native_bin, hooklake_home, tmp_path):
    """Through the installer: ``install --wrap-existing`` wraps, ``uninstall`` restores the user's file."""
    import pytest

    installer = pytest.importorskip("hooks.installer")
    user_only = copy.deepcopy(USER_SETTINGS)
    del user_only["hooks"]["PreToolUse"][0]["hooks"][1]  # a capture entry would count as the installer's own
    target = tmp_path / "settings.json"
    target.write_text(json.dumps(user_only, indent=2))
    installer.install(target, wrap_existing=True)
    installed = json.loads(target.read_text())
    user_cmd = installed["hooks"]["Stop"][0]["hooks"][0]["command"]
    assert is_wrapped(user_cmd) and original_command(user_cmd) == "python3 ~/hooks/notify.py --quiet"
    installer.install(target, wrap_existing=True)
    assert json.loads(target.read_text()) == installed  # idempotent
    installer.uninstall(target)
    assert json.loads(target.read_text()) == user_only
