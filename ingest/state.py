"""Ingest bookkeeping in ``Paths.state``: the checkpoint, the pending batch record, the duplicate
history and the lock. Everything is written with temp file + fsync + rename, so a reader (or a
re-run after ``kill -9``) only ever sees a complete old or a complete new version.

Commit protocol of one batch (see :mod:`ingest.compactor`):

1. write the new duplicate-history file ``event-ids-<generation>.npy`` (unreferenced until 3.);
2. write ``ingest-pending.json``: batch id, the lake/quarantine files it will create, and the
   complete next checkpoint;
3. write each output as a temp file, fsync, rename into place;
4. write ``ingest-checkpoint.json`` = the next checkpoint (atomic rename) — the commit point;
5. delete the pending record and the previous history file.

A run that finds a pending record finishes the interrupted batch: if every output exists the
next checkpoint is committed (roll forward), otherwise the outputs that exist are deleted and the
batch is read again from the unchanged checkpoint (roll back). Either way nothing is lost and
nothing is written twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklake.errors import HooklakeError

CHECKPOINT_FILE = "ingest-checkpoint.json"
PENDING_FILE = "ingest-pending.json"
LOCK_FILE = "ingest.lock"
HISTORY_PREFIX = "event-ids-"
CHECKPOINT_FORMAT = 1


class IngestBusy(HooklakeError):
    """Another ingest holds the lock; nothing was done (not a failure of the data)."""

    exit_code = 0


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` so that it holds either its old or its new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


@dataclass
class Checkpoint:
    """What has been committed to the lake, per spool file, plus per-session trace state."""

    generation: int = 0
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    """spool file name -> {"inode", "offset" (bytes committed), "lines" (lines committed)}."""
    sessions: dict[str, list[Any]] = field(default_factory=dict)
    """session id -> [prompt ordinal, current trace id, last seen (us)]."""
    history_file: str | None = None
    """Name of the ``event-ids-*.npy`` file with recent event-id hashes."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "generation": self.generation,
            "files": self.files,
            "sessions": self.sessions,
            "history_file": self.history_file,
        }

    def to_text(self) -> str:
        """The JSON text of :meth:`to_json` (compact: a busy spool has many sessions)."""
        return json.dumps(self.to_json(), separators=(",", ":"), check_circular=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Checkpoint":
        return cls(
            generation=int(data["generation"]),
            files={k: dict(v) for k, v in data.get("files", {}).items()},
            sessions={k: list(v) for k, v in data.get("sessions", {}).items()},
            history_file=data.get("history_file"),
        )


class StateStore:
    """Reads and writes the files in ``Paths.state``."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.checkpoint_path = state_dir / CHECKPOINT_FILE
        self.pending_path = state_dir / PENDING_FILE

    def _read_json(self, path: Path) -> dict[str, Any] | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return data
        except ValueError as exc:
            raise HooklakeError(
                f"{path}: ingest state is unreadable ({exc}). Move the file aside and run "
                "`hooklake ingest` again; spool files still present will be re-read and events "
                "already in the lake dropped as duplicates within the recent history."
            ) from None

    def load(self) -> Checkpoint:
        data = self._read_json(self.checkpoint_path)
        if data is None:
            return Checkpoint()
        try:
            return Checkpoint.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise HooklakeError(f"{self.checkpoint_path}: ingest checkpoint is malformed ({exc})") from None

    def commit(self, checkpoint: Checkpoint, text: str | None = None) -> None:
        """Write ``checkpoint``; ``text``: its :meth:`Checkpoint.to_text` when the caller has it
        already (the sessions of a large batch take a while to serialise)."""
        if text is None:
            text = checkpoint.to_text()
        atomic_write_bytes(self.checkpoint_path, text.encode())

    def read_pending(self) -> dict[str, Any] | None:
        return self._read_json(self.pending_path)

    def write_pending(self, record: dict[str, Any], next_text: str | None = None) -> None:
        """Write the pending record; ``next_text``: the JSON of the next checkpoint, stored as the
        record's ``next`` member (serialised once for this record and the commit)."""
        text = json.dumps(record)
        if next_text is not None:
            text = text[:-1] + (", " if record else "") + '"next": ' + next_text + "}"
        atomic_write_bytes(self.pending_path, text.encode())

    def clear_pending(self) -> None:
        try:
            self.pending_path.unlink()
        except FileNotFoundError:
            pass
        fsync_dir(self.dir)

    # --- duplicate history -------------------------------------------------------------

    def load_history(self, checkpoint: Checkpoint) -> Any:
        import numpy as np

        if checkpoint.history_file is None:
            return np.zeros(0, dtype=np.uint64)
        path = self.dir / checkpoint.history_file
        try:
            return np.load(path, allow_pickle=False).astype(np.uint64, copy=False)
        except FileNotFoundError:
            raise HooklakeError(
                f"{path}: duplicate history named by the checkpoint is missing; "
                "remove 'history_file' from the checkpoint to continue without it"
            ) from None

    def write_history(self, generation: int, hashes: Any) -> str:
        import io

        import numpy as np

        name = f"{HISTORY_PREFIX}{generation:08d}.npy"
        buf = io.BytesIO()
        np.save(buf, hashes, allow_pickle=False)
        atomic_write_bytes(self.dir / name, buf.getvalue())
        return name

    def remove_unreferenced_history(self, keep: set[str]) -> None:
        for path in self.dir.glob(f"{HISTORY_PREFIX}*.npy"):
            if path.name not in keep:
                try:
                    path.unlink()
                except OSError:
                    pass


class IngestLock:
    """An exclusive ``fcntl`` lock on ``state/ingest.lock``; released when the process dies."""

    def __init__(self, state_dir: Path, wait_s: float) -> None:
        self.path = state_dir / LOCK_FILE
        self.wait_s = wait_s
        self.fd: int | None = None

    def __enter__(self) -> "IngestLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(self.wait_s, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = ""
                    try:
                        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    except OSError:
                        pass
                    os.close(fd)
                    raise IngestBusy(
                        f"another `hooklake ingest` is running ({holder or 'holder unknown'}; lock {self.path}); "
                        f"waited {self.wait_s:g} s. Nothing was done: that run ingests the spool."
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
