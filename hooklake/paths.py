"""The one place that decides where hooklake keeps its data.

Everything lives under a single home folder: ``$HOOKLAKE_HOME`` when set, else the
platform's user data dir (``~/.local/share/hooklake`` on Linux). The lake itself may
be moved elsewhere with ``$HOOKLAKE_LAKE`` (a local path or a URI) so a team can share it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "HOOKLAKE_HOME"
LAKE_ENV = "HOOKLAKE_LAKE"
KILL_SWITCH_ENV = "HOOKLAKE_DISABLED"
KILL_SWITCH_FILE = "capture-off"


def default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("hooklake", appauthor=False))


def home_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the home folder: explicit argument, then ``$HOOKLAKE_HOME``, then the platform default."""
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env is not None and env != "":
        return Path(env).expanduser().resolve()
    return default_home()


@dataclass(frozen=True)
class Paths:
    """Every location hooklake reads or writes, derived from one home folder."""

    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> "Paths":
        return cls(home_dir(home))

    @property
    def spool(self) -> Path:
        """Append-only JSON-lines files written by the capture hook and the SDK."""
        return self.home / "spool"

    @property
    def lake(self) -> Path:
        """Root of the Parquet lake (``$HOOKLAKE_LAKE`` overrides)."""
        env = os.environ.get(LAKE_ENV)
        if env is not None and env != "" and "://" not in env:
            return Path(env).expanduser().resolve()
        return self.home / "lake"

    @property
    def lake_uri(self) -> str:
        """The lake as a URI or local path string (``s3://...`` allowed)."""
        env = os.environ.get(LAKE_ENV)
        if env is not None and env != "":
            return env if "://" in env else str(Path(env).expanduser().resolve())
        return str(self.home / "lake")

    @property
    def events(self) -> Path:
        """Canonical events, Hive-partitioned by ``date=YYYY-MM-DD``."""
        return self.lake / "events"

    @property
    def quarantine(self) -> Path:
        """Rejected spool lines, kept with their raw bytes and the reason."""
        return self.home / "quarantine"

    @property
    def state(self) -> Path:
        """Checkpoints, locks and small bookkeeping files."""
        return self.home / "state"

    @property
    def index(self) -> Path:
        """Learned patterns, embeddings cache and FAISS index."""
        return self.home / "index"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def capture_errors(self) -> Path:
        """Where the capture hook logs its own failures (it never fails the session)."""
        return self.logs / "capture-errors.log"

    @property
    def bin(self) -> Path:
        """Compiled helpers (the native capture hook)."""
        return self.home / "bin"

    @property
    def kill_switch(self) -> Path:
        """Sentinel file: while it exists the capture hook records nothing."""
        return self.home / KILL_SWITCH_FILE

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    def as_dict(self) -> dict[str, str]:
        return {
            "home": str(self.home),
            "config": str(self.config),
            "spool": str(self.spool),
            "lake": self.lake_uri,
            "events": str(self.events),
            "quarantine": str(self.quarantine),
            "state": str(self.state),
            "index": str(self.index),
            "logs": str(self.logs),
            "capture_errors": str(self.capture_errors),
            "bin": str(self.bin),
            "kill_switch": str(self.kill_switch),
        }
