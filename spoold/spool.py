"""The spool: the only code that touches the state folders.

Layout of a spool root::

    incoming/   users and the mail bridge drop request files here (by rename)
    intake/     the daemon's claims: incoming/<name> is renamed to intake/<id>/request.yaml
    pending/    accepted, waiting for a slot
    running/    being worked on (also those waiting for their data)
    hold/       held by ``spool hold`` until ``spool release``
    done/ failed/ rejected/ cancelled/   terminal states, one folder per request
    tmp/        half-written files (``spool submit`` writes here, then renames into incoming)
    control/    requests to the daemon from the ``spool`` command (cancel, hold, ...)

Guarantees (Maildir, Postfix): a request is claimed by ``rename`` (atomic on one
filesystem; the loser gets ENOENT); a file is complete once it was written to
a temporary name, fsynced and renamed; a request lives in exactly one state
folder; nothing is deleted: unreadable input goes to ``rejected`` with reasons.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: the folders a request can be in, in the order a request moves through them
STATE_DIRS: tuple[str, ...] = (
    "intake",
    "pending",
    "running",
    "hold",
    "done",
    "failed",
    "rejected",
    "cancelled",
)
TERMINAL: frozenset[str] = frozenset({"done", "failed", "rejected", "cancelled"})
ACTIVE: frozenset[str] = frozenset({"intake", "pending", "running", "hold"})
ALL_DIRS: tuple[str, ...] = ("incoming", *STATE_DIRS, "tmp", "control")

#: request ids: 20231208-101500-crab-nebula-3f9a (time of submission, a slug, random)
ID_RE = re.compile(r"^\d{8}-\d{6}-[a-z0-9][a-z0-9-]{0,40}-[0-9a-f]{4}$")
_SLUG_RE = re.compile(r"[^a-z0-9]+")
#: suffixes of names in incoming that are not (yet) requests
IGNORED_SUFFIXES = (".part", ".tmp", ".origin.json", ".swp", "~")


def new_request_id(name: str = "request", *, now: datetime | None = None) -> str:
    """Return a new request id from a name, e.g. ``20231208-101500-crab-nebula-3f9a``."""
    now = now or datetime.now(timezone.utc)
    slug = _SLUG_RE.sub("-", Path(name).stem.lower()).strip("-")[:30].strip("-") or "request"
    return f"{now:%Y%m%d-%H%M%S}-{slug}-{secrets.token_hex(2)}"


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (after a create or rename in it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> None:
    """Flush everything written on the filesystem of ``path`` (Linux ``syncfs``; else ``sync``).

    The group commit of a batch: one flush instead of one fsync per file.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644, sync_dir: bool = True,
                 durable: bool = True) -> None:
    """Write ``path`` as temp + fsync + rename: readers see the old or the new file, never half.

    ``sync_dir=False`` skips the fsync of the folder, for a file whose folder is
    renamed (and that rename synced) right after. ``durable=False`` skips both
    fsyncs: the caller flushes a whole batch with :func:`sync_filesystem`.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir and durable:
        fsync_dir(path.parent)


def write_json(path: Path, data: Any, *, sync_dir: bool = True, durable: bool = True) -> None:
    """Write JSON atomically (indented, in the order given)."""
    write_atomic(path, json.dumps(data, indent=1, default=str) + "\n", sync_dir=sync_dir, durable=durable)


def read_json(path: Path) -> Any:
    """Read a JSON file; raises OSError or ValueError."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Claimed:
    """A request file taken out of incoming."""

    request_id: str
    folder: Path  # intake/<id>/
    name: str  # the file's name in incoming
    owner_uid: int | None
    claimed_at: float  # time.time() at the rename


class Spool:
    """A spool root and the moves between its folders.

    Parameters
    ----------
    root : Path
        The spool root; its folders are created by :meth:`init`.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    # -- layout ---------------------------------------------------------------
    def dir(self, state: str) -> Path:
        """Return a state folder's path."""
        return self.root / state

    def init(self, *, group_writable: bool = False, group: str | None = None) -> None:
        """Create the folders (idempotent).

        With ``group_writable`` (shared-account mode) ``incoming`` and ``tmp`` are
        made group-writable with the sticky bit, so every member of the group may
        drop requests but not remove others' files; with ``group`` they belong to it.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        for name in ALL_DIRS:
            self.dir(name).mkdir(exist_ok=True)
        if group_writable:
            gid = None
            if group:
                import grp

                gid = grp.getgrnam(group).gr_gid
            for name in ("incoming", "tmp"):
                path = self.dir(name)
                if gid is not None:
                    os.chown(path, -1, gid)
                os.chmod(path, 0o3773)  # rwxrwx-wx + setgid + sticky

    def check_layout(self) -> list[str]:
        """Return sentences for what is wrong with the layout ([] when usable)."""
        problems = []
        if not self.root.is_dir():
            return [f"{self.root} is not a spool: run 'spool init {self.root}' first."]
        for name in ALL_DIRS:
            if not self.dir(name).is_dir():
                problems.append(f"{self.dir(name)} is missing: run 'spool init {self.root}'.")
        devices = {self.dir(n).stat().st_dev for n in ALL_DIRS if self.dir(n).is_dir()}
        if len(devices) > 1:
            problems.append(
                f"The folders of {self.root} are on different filesystems; renames between them "
                "would fail: keep the whole spool on one filesystem."
            )
        return problems

    # -- incoming -------------------------------------------------------------
    def incoming_names(self) -> list[str]:
        """Return the names in incoming that may be requests, oldest first."""
        entries = []
        try:
            with os.scandir(self.dir("incoming")) as it:
                for entry in it:
                    name = entry.name
                    if name.startswith(".") or name.endswith(IGNORED_SUFFIXES):
                        continue
                    try:
                        mtime = entry.stat(follow_symlinks=False).st_mtime
                    except OSError:
                        continue
                    entries.append((mtime, name))
        except FileNotFoundError:
            return []
        return [name for _, name in sorted(entries)]

    def settled(self, name: str, settle_seconds: float, *, now: float | None = None) -> bool:
        """True when ``incoming/name`` has not changed for ``settle_seconds``.

        Writers should rename complete files into incoming; for those that copy
        in place, a file whose mtime (and ctime) is recent is left for later.
        """
        try:
            st = os.lstat(self.dir("incoming") / name)
        except OSError:
            return False
        now = time.time() if now is None else now
        return now - max(st.st_mtime, st.st_ctime) >= settle_seconds

    def claim(self, name: str, *, durable: bool = True) -> Claimed | None:
        """Take ``incoming/name`` into ``intake/<id>/`` by rename; None when another took it.

        The id is the file's stem when it already is a request id (``spool submit``
        names files so), otherwise a new one. A sidecar ``<stem>.origin.json`` (the
        mail bridge's) moves along as ``origin.json``. Whatever the entry is (file,
        directory, symlink, FIFO), it is moved, never opened here.
        """
        src = self.dir("incoming") / name
        stem = name[:-5] if name.endswith(".yaml") else name[:-4] if name.endswith(".yml") else name
        request_id = stem if ID_RE.match(stem) else new_request_id(stem)
        folder = self.dir("intake") / request_id
        while True:
            try:
                folder.mkdir()
                break
            except FileExistsError:
                request_id = new_request_id(stem)
                folder = self.dir("intake") / request_id
        # the name it came by survives a crash between this claim and the first state.json
        (folder / "incoming-name").write_text(name, encoding="utf-8", errors="surrogateescape")
        try:
            st = os.lstat(src)
            os.rename(src, folder / "request.yaml")
        except OSError as error:
            (folder / "incoming-name").unlink(missing_ok=True)
            folder.rmdir()
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise
        claimed_at = time.time()
        sidecar = self.dir("incoming") / f"{stem}.origin.json"
        try:
            os.rename(sidecar, folder / "origin.json")
        except OSError:
            pass
        # one rename moved the entry out of incoming and into the folder: on a
        # journalling filesystem one directory fsync commits it
        if durable:
            fsync_dir(self.dir("incoming"))
        return Claimed(request_id, folder, name, st.st_uid, claimed_at)

    # -- requests -------------------------------------------------------------
    def find(self, request_id: str) -> tuple[str, Path] | None:
        """Return (state folder name, path) of a request, or None."""
        if not request_id or "/" in request_id or request_id.startswith("."):
            return None
        for state in STATE_DIRS:
            path = self.dir(state) / request_id
            if path.is_dir():
                return state, path
        return None

    def list(self, state: str) -> list[Path]:
        """Return the request folders in a state, by name (= by submission time)."""
        try:
            return sorted(
                p for p in self.dir(state).iterdir() if p.is_dir() and not p.name.startswith(".")
            )
        except FileNotFoundError:
            return []

    def all_requests(self) -> Iterator[tuple[str, Path]]:
        """Yield (state, folder) for every request in every state folder."""
        for state in STATE_DIRS:
            for path in self.list(state):
                yield state, path

    def move(self, request_id: str, src: str, dst: str, *, durable: bool = True) -> Path:
        """Move a request folder from state ``src`` to ``dst`` (one rename); return the new path."""
        old = self.dir(src) / request_id
        new = self.dir(dst) / request_id
        os.rename(old, new)
        if durable:
            fsync_dir(self.dir(dst))  # commits the rename (both directories' entries)
        return new

    # -- helpers for the spool command -----------------------------------------
    def drop(self, data: bytes, request_id: str) -> Path:
        """Write a request into incoming as ``<id>.yaml``: tmp/ + fsync, then rename."""
        tmp = self.dir("tmp") / f"{request_id}.yaml.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        final = self.dir("incoming") / f"{request_id}.yaml"
        os.rename(tmp, final)
        fsync_dir(self.dir("incoming"))
        return final

    def control(self, request_id: str, action: str, *, by: str = "") -> Path:
        """Leave an action (cancel, hold, release, retry) for the daemon in control/."""
        path = self.dir("control") / f"{request_id}.{action}"
        write_json(path, {"action": action, "id": request_id, "by": by, "time": time.time()})
        return path

    def controls(self) -> list[tuple[str, str, Path]]:
        """Return the pending actions as (request id, action, file)."""
        found = []
        try:
            names = sorted(os.listdir(self.dir("control")))
        except FileNotFoundError:
            return []
        for name in names:
            if name.startswith(".") or "." not in name:
                continue
            request_id, action = name.rsplit(".", 1)
            found.append((request_id, action, self.dir("control") / name))
        return found

    def sweep_tmp(self, max_age_seconds: float = 36 * 3600) -> int:
        """Remove half-written files in tmp/ older than ``max_age_seconds`` (Maildir's rule)."""
        removed = 0
        now = time.time()
        for path in self.dir("tmp").glob("*"):
            try:
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime > max_age_seconds:
                    path.unlink()
                    removed += 1
            except OSError:
                pass
        return removed
