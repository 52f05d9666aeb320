"""The fallback router's agents: Claude Code subagent definitions the user has.

``<project>/.claude/agents/*.md`` and ``~/.claude/agents/*.md`` start with YAML front matter
giving at least ``name`` and ``description``; a project definition wins over a user one of the
same name (as in Claude Code). Parsed without a YAML library: ``key: value`` lines, with quoted
values and ``|``/``>`` blocks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_AGENT = "general-purpose"


@dataclass(frozen=True)
class AgentDef:
    name: str
    description: str
    path: str
    scope: str
    """project | user"""


def parse_front_matter(text: str) -> dict[str, str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    out: dict[str, str] = {}
    key, block = None, []
    for line in lines[1:]:
        if line.strip() == "---":
            break
        if key is not None and (line.startswith(" ") or line.startswith("\t") or not line.strip()):
            block.append(line.strip())
            continue
        if key is not None:
            out[key] = " ".join(b for b in block if b)
            key, block = None, []
        if ":" not in line:
            continue
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if v in ("|", ">", "|-", ">-"):
            key, block = k, []
            continue
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        out[k] = v
    if key is not None:
        out[key] = " ".join(b for b in block if b)
    return out


def discover(cwd: str | None = None, home: str | None = None) -> list[AgentDef]:
    found: dict[str, AgentDef] = {}
    home_dir = Path(home) if home else Path(os.path.expanduser("~"))
    places = [(home_dir / ".claude" / "agents", "user")]
    if cwd:
        places.append((Path(cwd) / ".claude" / "agents", "project"))
    for folder, scope in places:  # project last: it wins
        if not folder.is_dir():
            continue
        for md in sorted(folder.glob("*.md")):
            try:
                meta = parse_front_matter(md.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            name = meta.get("name") or md.stem
            found[name] = AgentDef(name, meta.get("description", ""), str(md), scope)
    return list(found.values())
