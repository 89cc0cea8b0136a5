"""Files between machines in the distributed mode (#8): no worker needs a shared file system.

The work bucket (private, [cluster] work_bucket on [storage] endpoint) holds
    masters/<sha256>              each master, uploaded once by `pipeline run` on the coordinator
    outputs/<asset id>/<path>     what the stages made, laid out as output/<asset id>/ is in the embedded mode

A task works in its own folder on the worker (a Workspace): the master and the outputs its stages read are
downloaded into it, the files the stages write are uploaded, and the folder is removed when the task ends,
whatever happens. An object appears in S3 only when its upload is complete, and a stage's job is marked done
only after all its uploads, so a half-finished task is never taken for a finished one.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from pipeline import fsutil
from pipeline.config import Settings
from pipeline.errors import StorageError
from pipeline.models import Asset
from pipeline.storage.objects import ObjectStore

NO_CACHE = "no-store"
MAX_NAME_BYTES = 200


def remove_abandoned(scratch: Path) -> None:
    """Remove the folders of tasks whose process has gone (killed, out of memory): `<asset>-<pid>-<random>`."""
    for folder in scratch.iterdir():
        pid = folder.name.split("-")[1] if folder.name.count("-") >= 2 else ""
        if folder.is_dir() and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def master_key(sha256: str) -> str:
    return f"masters/{sha256}"


def output_prefix(asset_id: str) -> str:
    return f"outputs/{asset_id}/"


def open_work_store(settings: Settings) -> ObjectStore:
    s = settings.storage
    store = ObjectStore(s.endpoint, settings.cluster.work_bucket, s.region, s.access_key_id or None,
                        s.secret_access_key or None, s.addressing_style)
    store.ensure_bucket()
    return store


def _content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def send_master(store: ObjectStore, master: Path, sha256: str) -> bool:
    """Upload a master for the workers, unless the work bucket holds it already. True when it was sent."""
    found = store.head(master_key(sha256))
    if found is not None and found.sha256 == sha256 and found.size == master.stat().st_size:
        return False
    store.upload(master, master_key(sha256), sha256=sha256, content_type="application/octet-stream",
                 cache_control=NO_CACHE)
    return True


def local_path(out_dir: Path, prefix: str, key: str) -> Path:
    """Where an object under `prefix` goes in `out_dir`. Any machine with the bucket's keys can write keys, so a
    key that would land outside the folder (`..`, an absolute path, a folder marker) is refused."""
    relative = key[len(prefix):]
    target = (out_dir / relative).resolve()
    if not key.startswith(prefix) or not relative or relative.endswith("/") or relative.startswith("/") \
            or not target.is_relative_to(out_dir.resolve()):
        raise StorageError(f"work bucket object {key!r} is not a file of this asset; remove it from the bucket")
    return target


def pull_outputs(store: ObjectStore, asset_id: str, out_dir: Path) -> int:
    """Bring an asset's outputs to this machine (the coordinator, where reviewers edit and publish from).
    Only missing files are fetched: a caption file already here may hold a reviewer's edits."""
    prefix = output_prefix(asset_id)
    fetched = 0
    for item in store.list_objects(prefix):
        target = local_path(out_dir, prefix, item.key)
        if not target.is_file():
            store.download(item.key, target)
            fetched += 1
    return fetched


class Workspace:
    """One task's folder on a worker: `with Workspace(store, scratch, asset) as ws:`."""

    def __init__(self, store: ObjectStore, scratch: Path, asset: Asset) -> None:
        self.store, self.scratch, self.asset = store, scratch, asset
        self.root = Path()
        self._fetched: dict[str, str] = {}  # relative path -> SHA-256 as downloaded

    def __enter__(self) -> Workspace:
        self.scratch.mkdir(parents=True, exist_ok=True)
        remove_abandoned(self.scratch)
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.asset.id}-{os.getpid()}-", dir=self.scratch))
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def master(self) -> Path:
        # The master keeps its file name: errors name it, and its name may declare its language (name.cy.mp4).
        name = Path(self.asset.source).name
        if not name or len(name.encode()) > MAX_NAME_BYTES:  # room for atomic_file's temporary suffix
            name = "master" + Path(name).suffix[:16]
        return self.root / "master" / name

    @property
    def output_root(self) -> Path:
        return self.root / "output"

    @property
    def out_dir(self) -> Path:
        return self.output_root / self.asset.id

    def fetch_master(self) -> None:
        self.store.download(master_key(self.asset.sha256), self.master)
        if fsutil.sha256_file(self.master) != self.asset.sha256:
            raise StorageError(f"{fsutil.display_name(self.master)}: the copy in the work bucket "
                               f"{self.store.bucket!r} does not match the master's content; run `pipeline run` "
                               "again on the coordinator to send it again")

    def fetch_outputs(self, wanted: Callable[[str], bool]) -> None:
        """Download the outputs that earlier stages made and this one reads (`wanted`: by relative path)."""
        prefix = output_prefix(self.asset.id)
        for item in self.store.list_objects(prefix):
            target = local_path(self.out_dir, prefix, item.key)
            relative = item.key[len(prefix):]
            if wanted(relative):
                self.store.download(item.key, target)
                self._fetched[relative] = fsutil.sha256_file(target)

    def push_outputs(self) -> int:
        """Upload every file the stages wrote or changed. Returns how many were sent."""
        sent = 0
        for path in sorted(p for p in self.out_dir.rglob("*") if p.is_file() and not fsutil.is_partial(p)):
            relative = path.relative_to(self.out_dir).as_posix()
            digest = fsutil.sha256_file(path)
            if self._fetched.get(relative) == digest:
                continue
            self.store.upload(path, output_prefix(self.asset.id) + relative, sha256=digest,
                              content_type=_content_type(path), cache_control=NO_CACHE)
            sent += 1
        return sent
