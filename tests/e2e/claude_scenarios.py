"""The scripted Claude Code sessions used by the end-to-end tests and by ``record_fixtures.py``.

Each scenario is a list of prompts (later ones run with ``--continue``) plus the stub's script
saying what the "model" does for each. Anchors are distinctive phrases of each prompt so the stub
can tell the main conversation, a subagent's conversation and a continued prompt apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from anthropic_stub import Conversation, Reply, Script
from claude_harness import ClaudeProject, ClaudeRun, python_command


@dataclass
class Scenario:
    name: str
    summary: str
    prompts: list[str]
    script: Script
    allowed_tools: str = "Bash Write Read Agent"
    #: MCP servers to pass through ``--mcp-config`` (name -> stdio server definition).
    mcp_servers: dict[str, dict] = field(default_factory=dict)
    #: Seconds per prompt; generous because CI machines may be heavily loaded.
    timeout: float = 120

    def run(self, project: ClaudeProject) -> list[ClaudeRun]:
        """Run every prompt of the scenario in ``project``; the stub must already serve ``self.script``."""
        extra: list[str] = []
        if self.mcp_servers:
            servers = {
                name: {**spec, "args": [str(project.install_helper(a)) if a.endswith(".py") else a
                                        for a in spec.get("args", [])]}
                for name, spec in self.mcp_servers.items()
            }
            config = project.home / ".e2e-helpers" / f"mcp-{self.name}.json"
            config.write_text(json.dumps({"mcpServers": servers}, indent=2))
            extra = ["--mcp-config", str(config)]
        runs = []
        for index, prompt in enumerate(self.prompts):
            runs.append(
                project.run(
                    prompt,
                    continue_session=index > 0,
                    allowed_tools=self.allowed_tools,
                    extra_args=extra,
                    timeout=self.timeout,
                )
            )
        return runs


SUBAGENT_PROMPT = "Subagent task: count the files in the project folder."
BACKGROUND_PROMPT = "Background task: write the build stamp."


def simple_text() -> Scenario:
    return Scenario(
        name="simple_text",
        summary="one prompt answered with text only: SessionStart, UserPromptSubmit, Stop, SessionEnd",
        prompts=["Explain in one sentence what a data lake is."],
        script=Script([
            Conversation("what a data lake is", [Reply.text("A data lake stores raw data in open files.")]),
        ]),
    )


def bash_and_write() -> Scenario:
    return Scenario(
        name="bash_and_write",
        summary="a Bash call that succeeds, then a Write of a new file: PreToolUse/PostToolUse pairs",
        prompts=["Print a greeting with bash, then save it to greeting.txt."],
        script=Script([
            Conversation("save it to greeting.txt", [
                Reply.tool("Bash", {"command": "echo hello from bash", "description": "Print a greeting"},
                           text="I'll print the greeting first."),
                Reply.tool("Write", {"file_path": "{project}/greeting.txt", "content": "hello from bash\n"}),
                Reply.text("Saved the greeting to greeting.txt."),
            ]),
        ]),
    )


def bash_failure() -> Scenario:
    return Scenario(
        name="bash_failure",
        summary="a Bash command exiting 3: PreToolUse then PostToolUseFailure (no PostToolUse)",
        prompts=["Run the check script and tell me whether it passes."],
        script=Script([
            Conversation("Run the check script", [
                Reply.tool("Bash", {"command": "echo checking >&2; exit 3", "description": "Run the check"}),
                Reply.text("The check failed with exit code 3."),
            ]),
        ]),
    )


def subagent() -> Scenario:
    return Scenario(
        name="subagent",
        summary="a foreground Agent call (general-purpose, run_in_background false) whose subagent runs "
        "Bash: SubagentStart/SubagentStop; the subagent's tool events carry agent_id and agent_type",
        prompts=["Delegate counting the project files to a helper agent."],
        script=Script([
            Conversation("Delegate counting", [
                Reply.tool("Agent", {"description": "Count project files", "prompt": SUBAGENT_PROMPT,
                                     "subagent_type": "general-purpose", "run_in_background": False}),
                Reply.text("The helper counted the files."),
            ]),
            Conversation(SUBAGENT_PROMPT, [
                Reply.tool("Bash", {"command": "ls -1 | wc -l", "description": "Count files"}),
                Reply.text("There are 0 files in the project folder."),
            ]),
        ]),
    )


def two_prompts() -> Scenario:
    return Scenario(
        name="two_prompts",
        summary="two prompts in one session (the second with --continue), each with a Bash call: "
        "two prompt_ids, one session",
        prompts=["First prompt: show the current date.", "Second prompt: show the kernel name."],
        script=Script([
            Conversation("First prompt", [
                Reply.tool("Bash", {"command": "date -u +%Y", "description": "Show the year"}),
                Reply.text("That is the current year."),
            ]),
            Conversation("Second prompt", [
                Reply.tool("Bash", {"command": "uname -s", "description": "Show the kernel"}),
                Reply.text("The kernel is Linux."),
            ]),
        ]),
    )


def mcp_tool() -> Scenario:
    return Scenario(
        name="mcp_tool",
        summary="a call to a stdio MCP server's tool: tool_name mcp__calc__add",
        prompts=["Use the calculator to add 2 and 3."],
        allowed_tools="Bash mcp__calc__add",
        # "mcp_calc_server.py" is copied into the session's home before the run.
        mcp_servers={"calc": {"type": "stdio", "command": python_command(), "args": ["mcp_calc_server.py"]}},
        script=Script([
            Conversation("add 2 and 3", [
                Reply.tool("mcp__calc__add", {"a": 2, "b": 3}),
                Reply.text("2 + 3 = 5."),
            ]),
        ]),
    )


def background_subagent() -> Scenario:
    return Scenario(
        name="background_subagent",
        summary="an Agent call with run_in_background true; its completion comes back as a "
        "<task-notification> prompt",
        prompts=["Start the stamp writer in the background and wait for it."],
        script=Script([
            Conversation("stamp writer in the background", [
                Reply.tool("Agent", {"description": "Write build stamp", "prompt": BACKGROUND_PROMPT,
                                     "subagent_type": "general-purpose", "run_in_background": True}),
                Reply.text("The stamp writer is running in the background."),
            ]),
            Conversation(BACKGROUND_PROMPT, [
                Reply.tool("Bash", {"command": "echo stamp > stamp.txt", "description": "Write stamp"}),
                Reply.text("Wrote stamp.txt."),
            ]),
            Conversation("<task-notification>", [Reply.text("The background stamp writer finished.")]),
        ]),
    )


ALL: dict[str, Callable[[], Scenario]] = {
    "simple_text": simple_text,
    "bash_and_write": bash_and_write,
    "bash_failure": bash_failure,
    "subagent": subagent,
    "two_prompts": two_prompts,
    "mcp_tool": mcp_tool,
    "background_subagent": background_subagent,
}


def materialise(scenario: Scenario, project_dir: Path) -> Scenario:
    """Fill ``{project}`` placeholders in tool inputs with the real project path."""
    for conv in scenario.script.conversations:
        conv.steps = [
            Reply(tuple(json.loads(json.dumps(b).replace("{project}", str(project_dir))) for b in r.blocks),
                  r.stop_reason)
            for r in conv.steps
        ]
    return scenario
