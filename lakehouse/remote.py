"""The lake on S3-compatible object storage: location, client, and the live-file protocol.

``HOOKLAKE_LAKE=s3://bucket/prefix`` puts the team's lake in a bucket; the endpoint comes from
``HOOKLAKE_S3_ENDPOINT`` (else ``AWS_ENDPOINT_URL``, else AWS itself) and credentials from the usual
AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance roles). Nothing
here logs, prints or stores a credential: messages name the bucket, the key and the error code only.

Layout under the prefix::

    events/date=YYYY-MM-DD/part-<host>-<commit>-<n>.parquet   data files (immutable)
    _hooklake/commits/<commit>.json                           one per upload: the files it added
    _hooklake/generations/<NNNNNNNNNN>.json                   one per compaction: the live set
    learned/<table>/<id>.parquet, _hooklake/learned/<table>.json   learned tables (pointer swap)
    index/versions/<v>/..., _hooklake/index/CURRENT.json           the published pattern index

Which files are live (readers see exactly these, never a half-published upload nor a half-done
compaction):

* the newest generation G (highest number; none = generation 0 with no files) lists files and the
  commits it absorbed;
* live = G.files + the files of every commit not absorbed by G.

An upload writes its data files first and its commit object last, so a crash in between leaves
only invisible objects (re-written under the same names by the retry). A compaction writes the
merged files and then ONE generation object (a conditional PUT that fails if another compactor
took that number): before that PUT readers resolve the old generation and see the old files,
after it the new generation and the new files; never both, never neither. Replaced files and
absorbed commit objects are deleted only after a grace period, so a reader that resolved the old
generation a moment ago can still read its files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklake.errors import HooklakeError
from hooklake.paths import LAKE_ENV, Paths

ENDPOINT_ENV = "HOOKLAKE_S3_ENDPOINT"
META = "_hooklake"
COMMITS = f"{META}/commits/"
GENERATIONS = f"{META}/generations/"
LEARNED_POINTERS = f"{META}/learned/"
INDEX_POINTER = f"{META}/index/CURRENT.json"
#: Seconds a replaced file / absorbed commit object is kept for readers still holding the old generation.
DEFAULT_GRACE_S = 3600.0


@dataclass(frozen=True)
class LakeLocation:
    """Where a remote lake lives: ``s3://bucket/prefix`` split into its parts."""

    bucket: str
    prefix: str = ""  # no leading or trailing slash

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, rel: str) -> str:
        """Object key of a lake-relative path (``events/date=.../x.parquet``)."""
        rel = rel.lstrip("/")
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def rel(self, key: str) -> str:
        return key[len(self.prefix) + 1:] if self.prefix else key

    def spark_uri(self, rel: str) -> str:
        """The same object for Spark/Hadoop (``s3a://``)."""
        return f"s3a://{self.bucket}/{self.key(rel)}"


_URI = re.compile(r"^s3a?://([a-z0-9][a-z0-9.\-_]{1,62})(?:/(.*))?$", re.IGNORECASE)


def parse_lake_uri(uri: str) -> LakeLocation:
    """``s3://bucket[/prefix]`` (``s3a://`` accepted) -> LakeLocation; anything else is an error."""
    m = _URI.match(uri.strip())
    if m is None:
        raise HooklakeError(
            f"${LAKE_ENV}={uri!r} is not a lake location hooklake can use: give a local folder or "
            "s3://bucket/prefix (an S3-compatible store; set $HOOKLAKE_S3_ENDPOINT for one that is not AWS)"
        )
    return LakeLocation(m.group(1), (m.group(2) or "").strip("/"))


def remote_location(paths: Paths | None = None) -> LakeLocation | None:
    """The remote lake when ``$HOOKLAKE_LAKE`` is a URI, else None (the lake is a local folder)."""
    uri = (paths or Paths.resolve()).lake_uri
    if "://" not in uri:
        return None
    if uri.startswith("file://"):
        return None
    return parse_lake_uri(uri)


def endpoint_url() -> str | None:
    for name in (ENDPOINT_ENV, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def s3_client() -> Any:
    """A boto3 S3 client: endpoint from the environment, credentials from the standard AWS chain."""
    try:
        import boto3
        from botocore.config import Config
    except ModuleNotFoundError:
        raise HooklakeError("an s3:// lake needs boto3: pip install 'hooklake[s3]'") from None
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        s3={"addressing_style": "path"} if endpoint_url() else None,
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url(), region_name=region, config=config)


def describe_error(exc: BaseException) -> str:
    """A short, credential-free description of a storage error (error code, never the request)."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    if code:
        return f"{type(exc).__name__} {code}"
    text = str(exc)
    # botocore connection errors quote the endpoint URL only; strip any userinfo just in case.
    return re.sub(r"//[^/@\s]+@", "//", f"{type(exc).__name__}: {text}")[:300]


def storage_error(loc: LakeLocation, what: str, exc: BaseException) -> HooklakeError:
    return HooklakeError(f"{loc.uri}: {what} failed ({describe_error(exc)}); check the endpoint "
                         f"(${ENDPOINT_ENV}), the bucket and the AWS credentials, then run the command again")


# ---- objects -----------------------------------------------------------------------------------


def list_keys(client: Any, loc: LakeLocation, rel_prefix: str) -> list[str]:
    """Lake-relative paths of every object under ``rel_prefix`` (sorted)."""
    out: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=loc.bucket, Prefix=loc.key(rel_prefix)):
        for obj in page.get("Contents", []):
            out.append(loc.rel(obj["Key"]))
    return sorted(out)


def get_bytes(client: Any, loc: LakeLocation, rel: str) -> bytes:
    return client.get_object(Bucket=loc.bucket, Key=loc.key(rel))["Body"].read()


def get_json(client: Any, loc: LakeLocation, rel: str) -> Any:
    return json.loads(get_bytes(client, loc, rel))


def put_bytes(client: Any, loc: LakeLocation, rel: str, body: bytes, *, if_absent: bool = False) -> bool:
    """PUT an object. ``if_absent``: only if no object has that key (S3 conditional write);
    returns False when another writer got there first."""
    kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key(rel), "Body": body}
    if if_absent:
        kwargs["IfNoneMatch"] = "*"
    try:
        client.put_object(**kwargs)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        if if_absent and code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
            return False
        raise
    return True


def put_json(client: Any, loc: LakeLocation, rel: str, data: Any, *, if_absent: bool = False) -> bool:
    return put_bytes(client, loc, rel, json.dumps(data, indent=1, sort_keys=True).encode(), if_absent=if_absent)


def delete_keys(client: Any, loc: LakeLocation, rels: list[str]) -> None:
    for i in range(0, len(rels), 1000):
        chunk = rels[i:i + 1000]
        client.delete_objects(Bucket=loc.bucket, Delete={"Objects": [{"Key": loc.key(r)} for r in chunk], "Quiet": True})


# ---- the live set --------------------------------------------------------------------------------


def commit_rel(commit_id: str) -> str:
    return f"{COMMITS}{commit_id}.json"


def generation_rel(number: int) -> str:
    return f"{GENERATIONS}{number:010d}.json"


@dataclass
class Snapshot:
    """The live files of a remote lake at one moment, and how they were resolved."""

    generation: int
    files: dict[str, dict[str, Any]]  # lake-relative path -> {"size": int, "rows": int, ...}
    absorbed: list[str] = field(default_factory=list)  # commit ids the generation absorbed
    commits: list[str] = field(default_factory=list)  # commit ids (absorbed or not) that exist now
    generation_doc: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(int(m.get("rows", 0)) for m in self.files.values())


def latest_generation(client: Any, loc: LakeLocation) -> tuple[int, dict[str, Any]]:
    keys = [k for k in list_keys(client, loc, GENERATIONS) if k.endswith(".json")]
    if not keys:
        return 0, {"generation": 0, "files": {}, "absorbed": []}
    rel = keys[-1]
    return int(Path(rel).stem), get_json(client, loc, rel)


_COMMIT_CACHE: dict[tuple[str, str], dict[str, Any]] = {}


def read_commit(client: Any, loc: LakeLocation, commit_id: str) -> dict[str, Any]:
    """A commit object (immutable once written, so cached for the process)."""
    key = (loc.uri, commit_id)
    doc = _COMMIT_CACHE.get(key)
    if doc is None:
        doc = get_json(client, loc, commit_rel(commit_id))
        _COMMIT_CACHE[key] = doc
    return doc


def snapshot(client: Any, loc: LakeLocation) -> Snapshot:
    """Resolve the live files: newest generation first, then the commits it did not absorb.

    The order matters: a compaction that lands between the two listings only absorbs commits
    that this snapshot then still counts through the older generation (whose files are kept for
    the grace period)."""
    number, gen = latest_generation(client, loc)
    absorbed = set(gen.get("absorbed", []))
    files = dict(gen.get("files", {}))
    commits = [Path(k).stem for k in list_keys(client, loc, COMMITS) if k.endswith(".json")]
    for cid in commits:
        if cid in absorbed:
            continue
        try:
            doc = read_commit(client, loc, cid)
        except Exception as exc:
            if _is_missing(exc):
                continue  # deleted by garbage collection after a newer generation absorbed it
            raise
        for rel, meta in doc.get("files", {}).items():
            files[rel] = dict(meta, commit=cid)
    return Snapshot(number, files, sorted(absorbed), commits, gen)


def _is_missing(exc: BaseException) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    return code in ("NoSuchKey", "404", "NotFound")


# ---- reading the lake locally --------------------------------------------------------------------


def mirror_root(paths: Paths, loc: LakeLocation) -> Path:
    """Local copy of a remote lake (one per lake URI) under the home folder."""
    import hashlib

    digest = hashlib.sha1(loc.uri.encode()).hexdigest()[:12]
    return paths.home / "remote" / f"{loc.bucket}-{digest}"


@dataclass(frozen=True)
class MirrorPaths(Paths):
    """Paths whose lake (and the rollup cache in ``state``) is the local mirror of a remote lake;
    the spool, config, index and logs stay the home's."""

    mirror: Path = Path()

    @property
    def lake(self) -> Path:  # type: ignore[override]
        return self.mirror / "lake"

    @property
    def lake_uri(self) -> str:  # type: ignore[override]
        return str(self.mirror / "lake")

    @property
    def state(self) -> Path:  # type: ignore[override]
        return self.mirror / "state"


def sync_mirror(paths: Paths | None = None, *, client: Any = None) -> MirrorPaths:
    """Bring the local mirror of the remote lake to the current live set and return its paths.

    Downloads live files not yet mirrored (write to a hidden temp name, then rename), removes
    mirrored files that are no longer live, and copies the published learned tables. DuckDB,
    the rollup and Spark then read an ordinary local lake that is exactly one snapshot."""
    paths = paths or Paths.resolve()
    loc = remote_location(paths)
    if loc is None:
        raise HooklakeError("the lake is local; nothing to mirror")
    client = client or s3_client()
    root = mirror_root(paths, loc)
    mp = MirrorPaths(home=paths.home, mirror=root)
    try:
        snap = snapshot(client, loc)
        _sync_folder(client, loc, mp.events, "events/", snap.files)
        for name, files in learned_pointers(client, loc).items():
            _sync_folder(client, loc, mp.lake / "learned" / name, f"learned/{name}/", files)
    except HooklakeError:
        raise
    except Exception as exc:
        raise storage_error(loc, "reading the lake", exc) from None
    mp.state.mkdir(parents=True, exist_ok=True)
    return mp


def _sync_folder(client: Any, loc: LakeLocation, local_root: Path, rel_root: str, files: dict[str, Any]) -> None:
    wanted = {rel[len(rel_root):]: meta for rel, meta in files.items() if rel.startswith(rel_root)}
    local_root.mkdir(parents=True, exist_ok=True)
    for sub, meta in wanted.items():
        target = local_root / sub
        size = meta.get("size")
        if target.exists() and (size is None or target.stat().st_size == int(size)):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
        client.download_file(loc.bucket, loc.key(rel_root + sub), str(tmp))
        os.replace(tmp, target)
    for path in list(local_root.rglob("*.parquet")):
        sub = path.relative_to(local_root).as_posix()
        if sub not in wanted:
            path.unlink(missing_ok=True)


# ---- learned tables and the index, published for every machine ------------------------------------


def learned_pointers(client: Any, loc: LakeLocation) -> dict[str, dict[str, Any]]:
    """table name -> {lake-relative file: meta} of the published learned tables."""
    out = {}
    for rel in list_keys(client, loc, LEARNED_POINTERS):
        if rel.endswith(".json"):
            doc = get_json(client, loc, rel)
            out[Path(rel).stem] = doc.get("files", {})
    return out


def publish_learned_table(client: Any, loc: LakeLocation, name: str, local_file: Path) -> str:
    """Upload one learned table file under a fresh name, then swap the table's pointer (one PUT)."""
    import uuid

    rel = f"learned/{name}/{uuid.uuid4().hex}.parquet"
    client.upload_file(str(local_file), loc.bucket, loc.key(rel))
    put_json(client, loc, f"{LEARNED_POINTERS}{name}.json",
             {"files": {rel: {"size": local_file.stat().st_size}}})
    return rel


def _index_doc(version_folder: Path, version: str, rels: list[str]) -> dict[str, Any]:
    """The index pointer: the version, its files, and which learn run built it when (from the
    version's manifest) so a machine can tell a newer build from its own version of the same name."""
    try:
        manifest = json.loads((Path(version_folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    return {"version": version, "files": rels, "learn_run_id": manifest.get("learn_run_id"),
            "built_at": manifest.get("built_at"), "model": manifest.get("model")}


def publish_index(client: Any, loc: LakeLocation, version_folder: Path, version: str) -> list[str]:
    """Upload an index version folder, then point ``CURRENT`` at it (readers never see half)."""
    rels = []
    for path in sorted(version_folder.rglob("*")):
        if path.is_file():
            rel = f"index/versions/{version}/{path.relative_to(version_folder).as_posix()}"
            client.upload_file(str(path), loc.bucket, loc.key(rel))
            rels.append(rel)
    put_json(client, loc, INDEX_POINTER, _index_doc(version_folder, version, rels))
    return rels


def publish_index_local(lake: Path, version_folder: Path, version: str) -> list[str]:
    """The same publication into a lake that is a folder (a shared file system): the version's
    files under ``<lake>/index/versions/<v>/``, then the pointer replaced in one rename."""
    import shutil
    import uuid

    lake = Path(lake)
    target = lake / "index" / "versions" / version
    rels = [f"index/versions/{version}/{p.relative_to(version_folder).as_posix()}"
            for p in sorted(Path(version_folder).rglob("*")) if p.is_file()]
    tmp = target.parent / f".{version}.{uuid.uuid4().hex}.tmp"
    shutil.copytree(version_folder, tmp)
    if target.exists():  # a version of this name published before: replace it whole
        old = target.parent / f".{version}.{uuid.uuid4().hex}.old"
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(tmp, target)
    pointer = lake / INDEX_POINTER
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp_pointer = pointer.with_name(f".CURRENT.{uuid.uuid4().hex}.tmp")
    tmp_pointer.write_text(json.dumps(_index_doc(target, version, rels), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp_pointer, pointer)
    return rels


def published_index(paths: Paths | None = None, *, client: Any = None) -> dict[str, Any] | None:
    """The lake's index pointer (``version``, ``files``, ``learn_run_id``, ``built_at``), or None
    when no index is published there. Works for an ``s3://`` lake and for a lake folder."""
    paths = paths or Paths.resolve()
    loc = remote_location(paths)
    if loc is None:
        try:
            return json.loads((paths.lake / INDEX_POINTER).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise HooklakeError(f"{paths.lake / INDEX_POINTER}: unreadable index pointer ({exc}); "
                                "run 'hooklake learn --engine spark' to publish the index again") from None
    client = client or s3_client()
    try:
        return get_json(client, loc, INDEX_POINTER)
    except Exception as exc:
        if _is_missing(exc):
            return None
        raise storage_error(loc, "reading the published index", exc) from None


def _local_manifest(paths: Paths, version: str | None) -> dict[str, Any] | None:
    if not version:
        return None
    try:
        return json.loads((paths.index / "versions" / version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _local_current(paths: Paths) -> str | None:
    try:
        return (paths.index / "CURRENT").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def is_newer(doc: dict[str, Any], local: dict[str, Any] | None) -> bool:
    """Whether the published index ``doc`` should replace the local version ``local`` (its
    manifest): a different build (learn run) that is not older."""
    if local is None:
        return True
    if doc.get("learn_run_id") and doc.get("learn_run_id") == local.get("learn_run_id"):
        return False
    if not doc.get("learn_run_id") and doc.get("version") == local.get("version"):
        return False  # a pointer from before run ids were recorded: go by name
    remote_at, local_at = str(doc.get("built_at") or ""), str(local.get("built_at") or "")
    return not (remote_at and local_at and remote_at < local_at)


def pull_index(paths: Paths | None = None, *, client: Any = None) -> str | None:
    """Download the published index version into ``Paths.index`` (as learning's layout) and make it
    current; returns the local version name, or None when nothing is published.

    The version keeps its published name unless this machine has a different version of that
    name (its own ``hooklake learn``): then it is stored as ``<version>-<learn run id>``."""
    paths = paths or Paths.resolve()
    loc = remote_location(paths)
    if loc is not None:
        client = client or s3_client()
    doc = published_index(paths, client=client)
    if doc is None:
        return None
    version = str(doc["version"])
    name = version
    existing = _local_manifest(paths, name)
    target = paths.index / "versions" / name
    if target.is_dir() and doc.get("learn_run_id") and (existing or {}).get("learn_run_id") != doc["learn_run_id"]:
        name = f"{version}-{doc['learn_run_id']}"
        target = paths.index / "versions" / name
    if not target.is_dir():
        tmp = paths.index / "versions" / f".{name}.{os.getpid()}.tmp"
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        prefix = f"index/versions/{version}/"
        try:
            for rel in doc["files"]:
                dest = tmp / rel[len(prefix):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                if loc is None:
                    import shutil

                    shutil.copyfile(paths.lake / rel, dest)
                else:
                    client.download_file(loc.bucket, loc.key(rel), str(dest))
        except Exception as exc:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            if loc is None:
                raise HooklakeError(f"{paths.lake / 'index'}: copying the published index failed ({exc})") from None
            raise storage_error(loc, "downloading the published index", exc) from None
        os.replace(tmp, target)
    current = paths.index / "CURRENT"
    tmp_current = current.with_name(f".CURRENT.{os.getpid()}.tmp")
    tmp_current.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp_current, current)
    return name


#: (lake, index folder) -> monotonic time of the last check by :func:`refresh_index`.
_LAST_CHECK: dict[tuple[str, str], float] = {}


def refresh_index(paths: Paths | None = None, *, min_interval_s: float = 10.0, client: Any = None) -> str | None:
    """Pull the lake's published index when it is newer than the local one; for callers that load
    the index (the router when it loads, ``hooklake serve``'s reload watcher on every tick).

    Does nothing (returns None) unless ``$HOOKLAKE_LAKE`` names the lake — an ``s3://`` URI or a
    shared folder — so a machine with its own home lake never pays for it. Checks at most once per
    ``min_interval_s`` per lake and index folder; never raises (a storage error is logged without
    credentials and the local index stays in use). Returns the version pulled, else None. After a
    pull ``<index>/CURRENT`` names the new version, which is what the reload watchers look at."""
    import logging
    import time

    try:
        if not os.environ.get(LAKE_ENV):
            return None
        paths = paths or Paths.resolve()
        key = (paths.lake_uri, str(paths.index))
        now = time.monotonic()
        last = _LAST_CHECK.get(key)
        if last is not None and now - last < min_interval_s:
            return None
        _LAST_CHECK[key] = now
        loc = remote_location(paths)
        if loc is not None and client is None:
            client = s3_client()
        doc = published_index(paths, client=client)
        if doc is None:
            return None
        if not is_newer(doc, _local_manifest(paths, _local_current(paths))):
            return None
        return pull_index(paths, client=client)
    except Exception as exc:  # noqa: BLE001 - the caller keeps serving its index
        logging.getLogger("hooklake.remote").warning("index refresh from the lake skipped: %s",
                                                     exc if isinstance(exc, HooklakeError) else describe_error(exc))
        return None
