"""The hook events Claude Code offers, and which of them take a ``matcher``.

Source: the hook event list compiled into Claude Code 2.1.328 (the array of event names its
settings schema and ``/hooks`` menu are built from; found with ``strings`` on the native
binary of ``@anthropic-ai/claude-code-linux-x64@2.1.328``). An event takes a matcher when
its ``/hooks`` menu entry declares matcher values (``matcherMetadata``); for the others
Claude Code ignores the matcher, so the installer leaves it out.

Events not listed here (newer versions) are still captured when configured by hand, and
ingest keeps unknown event names.
"""

from __future__ import annotations

CLAUDE_CODE_VERSION = "2.1.328"

#: Every hook event of Claude Code 2.1.328, in the order Claude Code lists them.
HOOK_EVENTS: tuple[str, ...] = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "PermissionRequest",
    "PermissionDenied",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "MessageDisplay",
)

#: Events whose hook entries take a ``matcher`` (tool name, source, trigger, ...).
MATCHER_EVENTS: frozenset[str] = frozenset(
    {
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionDenied",
        "PermissionRequest",
        "Notification",
        "UserPromptExpansion",
        "SessionStart",
        "SessionEnd",
        "StopFailure",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "PostCompact",
        "PreModelSwitch",
        "PostModelSwitch",
        "Setup",
        "Elicitation",
        "ElicitationResult",
        "ConfigChange",
        "InstructionsLoaded",
        "DirectoryAdded",
    }
)

#: Events whose mere presence of a hook changes what Claude Code does, so a capture hook there
#: would hurt the session: with any WorktreeCreate/WorktreeRemove hook configured, Claude Code
#: stops creating git worktrees itself and expects the hook to print the new worktree's path.
NOT_INSTALLED: dict[str, str] = {
    "WorktreeCreate": "a WorktreeCreate hook replaces Claude Code's own git worktree creation",
    "WorktreeRemove": "a WorktreeRemove hook replaces Claude Code's own git worktree removal",
}

#: The events ``hooklake install`` adds the capture hook to.
INSTALLED_EVENTS: tuple[str, ...] = tuple(e for e in HOOK_EVENTS if e not in NOT_INSTALLED)


def takes_matcher(event: str) -> bool:
    return event in MATCHER_EVENTS
