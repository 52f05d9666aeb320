"""One declaration of what ``config.toml`` may say, with every default in one place.

Each section is a frozen dataclass; a key the declaration does not know is an error that
names the key and the file, so a typo never silently falls back to a default. Components
read their section from :func:`load_settings`; they never parse the file themselves.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklake.paths import Paths


class SettingsError(ValueError):
    """config.toml is unreadable or says something the declaration does not allow."""


@dataclass(frozen=True)
class RedactionSettings:
    enabled: bool = True
    """Replace secrets with ``[REDACTED]`` before anything reaches Parquet."""
    extra_key_names: tuple[str, ...] = ()
    """More key names (case-insensitive substrings) whose values are always secret."""
    extra_patterns: tuple[str, ...] = ()
    """More regular expressions whose matches in free text are secret."""


@dataclass(frozen=True)
class IngestSettings:
    batch_bytes: int = 256 * 1024 * 1024
    """Spool bytes read per Parquet commit; bounds memory on huge spools."""
    spool_retire_after_s: int = 2 * 3600
    """A fully ingested spool file is removed once it has not been written for this long."""
    lock_wait_s: float = 10.0
    """How long a second ``hooklake ingest`` waits for a running one before giving up cleanly."""
    dedupe_history: int = 1_000_000
    """How many recent event ids the checkpoint remembers to drop re-sent duplicates."""


@dataclass(frozen=True)
class SuccessSettings:
    """Thresholds for the per-trace success criteria (lakehouse)."""

    max_duration_ms: float = 600_000.0
    """A trace slower than this fails the performance criterion."""
    max_hook_duration_ms: float = 10_000.0
    """A hook slower than this counts as a timeout."""
    success_threshold: float = 0.7
    """A trace with ``success_score`` at or above this counts as successful."""
    in_progress_timeout_s: float = 3600.0
    """A trace with no Stop and no event for this long counts as interrupted, not in progress."""


@dataclass(frozen=True)
class LearningSettings:
    model: str = "all-MiniLM-L6-v2"
    """Any sentence-transformers model name or path; the default loads offline."""
    min_confidence: float | None = None
    """Override the calibrated match threshold (None = use the fitted one). When set, ``route``
    replays the best match from this confidence up instead of judging replays by their success."""
    min_replay_success: float = 0.6
    """``route`` replays a learned pattern when relevance (calibrated) x the lower 10% bound of the
    pattern's success rate (Beta posterior over its traces and replays) reaches this."""
    similarity_threshold: float = 0.5
    """Cosine to a pattern's centroid at which a trace of the same path joins that pattern."""
    target_precision: float = 0.95
    """The fitted threshold is the lowest confidence at which matches are right this often."""
    max_false_match_rate: float = 0.05
    """...and at which requests of unseen kinds are matched at most this often."""
    min_novel_share: float = 0.15
    """Least share of unseen-kind requests assumed when calibrating (the lake's own share if higher)."""
    prune_min_uses: int = 5
    """A pattern is judged on its replays only after this many."""
    prune_max_success: float = 0.4
    """Prune when the replay success (s+1)/(n+2) falls below this; undone when it recovers."""
    batch_size: int = 64
    """Prompts embedded per batch."""
    ivf_threshold: int = 50_000
    """Exact (flat) FAISS search below this many indexed prompts, IVF above."""
    nprobe: int = 16
    """IVF lists searched per query (recall/latency trade-off)."""
    keep_versions: int = 5
    """Published index versions kept on disk (the current one is always kept)."""
    query_precision: str = "auto"
    """Precision of request embeddings in ``hooklake serve``: fp32, bf16, int8 or auto (bf16 where
    the CPU runs it natively, faster and within cosine 0.999 of fp32; else fp32). Pattern
    vectors are always fp32. int8 is fastest but changes a few percent of route decisions."""
    intents: tuple = ()
    """Extra or replacing intents: [[learning.intents]] name, description, keywords, examples."""


@dataclass(frozen=True)
class AdviceSettings:
    timeout_ms: int = 150
    holdout_share: float = 0.1
    shadow: bool = False
    min_confidence: float | None = None
    """Advise only above this route confidence (None = the router's calibrated threshold)."""
    min_pattern_success: float = 0.5
    """Advise only for patterns whose historical success, (successes+1)/(uses+2) over their source
    traces and replays, is at least this: a path that worked once by luck is not worth suggesting."""


@dataclass(frozen=True)
class Settings:
    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    success: SuccessSettings = field(default_factory=SuccessSettings)
    learning: LearningSettings = field(default_factory=LearningSettings)
    advice: AdviceSettings = field(default_factory=AdviceSettings)


def _build_section(cls: type, values: dict[str, Any], where: str, problems: list[str]) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            problems.append(f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(known))})")
            continue
        default = known[key].default
        if isinstance(default, tuple):
            if not isinstance(value, list):
                problems.append(f"{where}.{key}: expected a list, got {type(value).__name__}")
                continue
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                problems.append(f"{where}.{key}: expected true/false, got {value!r}")
                continue
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{where}.{key}: expected a number, got {value!r}")
                continue
        kwargs[key] = value
    return cls(**kwargs)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read ``config.toml`` (default: the one in the home folder); a missing file means defaults.

    Every problem in the file is reported at once, each naming the file and the key.
    """
    config_path = Path(path) if path is not None else Paths.resolve().config
    if not config_path.exists():
        return Settings()
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{config_path}: not valid TOML: {exc}") from exc
    sections = {f.name: f for f in dataclasses.fields(Settings)}
    problems: list[str] = []
    built: dict[str, Any] = {}
    for name, values in raw.items():
        if name not in sections:
            problems.append(f"{config_path}: unknown section [{name}] (allowed: {', '.join(sorted(sections))})")
            continue
        if not isinstance(values, dict):
            problems.append(f"{config_path}: [{name}] must be a table")
            continue
        section_cls = sections[name].default_factory  # type: ignore[misc]
        built[name] = _build_section(section_cls, values, f"{config_path} [{name}]", problems)
    if problems:
        raise SettingsError("\n".join(problems))
    return Settings(**built)
