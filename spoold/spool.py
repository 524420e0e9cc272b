"""The spool: the only code that touches the state folders.

Layout of a spool root::

    incoming/   users and the mail bridge drop request files here (by rename)
    intake/     the daemon's claims: incoming/<name> is renamed to intake/<id>/request.yaml
    pending/    accepted, waiting for a slot
    running/    being worked on (also those waiting for their data)
    hold/       held by ``spool hold`` until ``spool release``
    done/ failed/ rejected/ cancelled/   terminal states, one folder per request
    corrupt/    damaged requests put aside (Postfix's corrupt queue): the folder as it
                was, with ``<id>.reason.txt`` beside it saying why
    tmp/        half-written files (``spool submit`` writes here, then renames into incoming)
    control/    requests to the daemon from the ``spool`` command (cancel, hold, ...)
    mailin/     the mail bridge's requests: one folder each (``request.yaml`` and
                ``origin.json``), renamed in whole; writable by the service account only
    standing/   standing orders (``<name>.yaml``, :mod:`spoold.standing`) and, in ``.made/``,
                what each made; read by the daemon, written by ``spool standing``

Guarantees (Maildir, Postfix): a request is claimed by ``rename`` (atomic on one
filesystem; the loser gets ENOENT); a file is complete once it was written to
a temporary name, fsynced and renamed; a request lives in exactly one state
folder; nothing is deleted: unreadable input goes to ``rejected`` with reasons,
damaged requests to ``corrupt`` with theirs. Every move of a request folder goes
through :func:`spoold.files.rename_noreplace`, which never replaces what is already there
(the durable writes are :mod:`spoold.files`).
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

from spoold import events
from spoold.files import fsync_dir, rename_noreplace, write_atomic, write_file, write_json
from spoold.states import ACTIVE_FOLDERS, TERMINAL_FOLDERS, Folder

#: the folders a request can be in, in the order a request moves through them (see spoold.states)
STATE_DIRS: tuple[str, ...] = tuple(folder.value for folder in Folder)
TERMINAL: frozenset[str] = frozenset(folder.value for folder in TERMINAL_FOLDERS)
ACTIVE: frozenset[str] = frozenset(folder.value for folder in ACTIVE_FOLDERS)
ALL_DIRS: tuple[str, ...] = ("incoming", *STATE_DIRS, "tmp", "control", "mailin")
#: the file beside a request put aside in corrupt/ that says why
REASON_SUFFIX = ".reason.txt"
#: where claims of older spoolds recorded the name a request came by (this one: a ``claimed`` event)
LEGACY_CLAIM_RECORDS = ("incoming-name",)

#: request ids: 20231208-101500-crab-nebula-3f9a (time of submission, a slug, random)
ID_RE = re.compile(r"^\d{8}-\d{6}-[a-z0-9][a-z0-9-]{0,40}-[0-9a-f]{4}$")
_SLUG_RE = re.compile(r"[^a-z0-9]+")
#: suffixes of names in incoming that are not (yet) requests
IGNORED_SUFFIXES = (".part", ".tmp", ".swp", "~")


def is_request_id(text: str) -> bool:
    """True when ``text`` is a request id (checked before any path is built from it)."""
    return isinstance(text, str) and len(text) <= 80 and ID_RE.match(text) is not None


def new_request_id(name: str = "request", *, now: datetime | None = None) -> str:
    """Return a new request id from a name, e.g. ``20231208-101500-crab-nebula-3f9a``."""
    now = now or datetime.now(timezone.utc)
    slug = _SLUG_RE.sub("-", Path(name).stem.lower()).strip("-")[:30].strip("-") or "request"
    return f"{now:%Y%m%d-%H%M%S}-{slug}-{secrets.token_hex(2)}"


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Claimed:
    """A request file taken out of incoming."""

    request_id: str
    folder: Path  # intake/<id>/
    name: str  # the file's name in incoming
    owner_uid: int | None
    claimed_at: float  # time.time() at the rename
    via: str = "file"  # "file" (a drop into incoming) or "email" (the bridge's folder in mailin)
    recovered: bool = False  # found in intake at start (a crash came between claim and validation)


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
        self.dir("standing").mkdir(exist_ok=True)  # standing orders (spoold.standing); optional in older spools
        # only the service account (the daemon and the mail bridge) writes here
        os.chmod(self.dir("mailin"), 0o755)
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
            return [f"{self.root} is not a spool: run 'spool init {self.root}' first, or name your site's "
                    "spool with --spool or its site file with --config (or $ASTRAN_SITE)."]
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

        The id is the file's stem when it already is a request id that no request
        has (``spool submit`` names files so), otherwise a new one. Whatever the
        entry is (file, directory, symlink, FIFO), it is moved, never opened here.
        If anything fails half-way (a full disk), the claim is undone and the
        error raised: no empty folder is left in intake.
        """
        src = self.dir("incoming") / name
        try:
            os.lstat(src)  # taken already (by the other thread of the daemon, or another spoold): nothing to undo
        except FileNotFoundError:
            return None
        stem = name[:-5] if name.endswith(".yaml") else name[:-4] if name.endswith(".yml") else name
        folder = self._new_intake_folder(stem)
        try:
            # the claim's record (the name it came by, when) survives a crash before validation: the
            # journal's first line, a file created once and only appended to (no rewrite at validation)
            claimed_at = time.time()
            events.append(folder, events.make(events.Event.CLAIMED, detail=name, at=claimed_at), durable=False)
            st = os.lstat(src)
            os.rename(src, folder / "request.yaml")
        except BaseException as error:
            self._undo_claim(folder)
            if isinstance(error, OSError) and error.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise
        # one rename moved the entry out of incoming and into the folder: on a
        # journalling filesystem one directory fsync commits it
        if durable:
            fsync_dir(self.dir("incoming"))
        return Claimed(folder.name, folder, name, st.st_uid, claimed_at)

    def claim_mail(self, name: str, *, durable: bool = True) -> Claimed | None:
        """Take the mail bridge's ``mailin/name/`` (request.yaml + origin.json) into intake by one rename.

        ``mailin`` is writable by the service account only, so what is in it was
        written by the bridge: its ``origin.json`` names the sender. A folder that
        is not the bridge's (another owner, or no request in it) is refused with
        ValueError and left where it is for the administrator.
        """
        src = self.dir("mailin") / name
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (os.getuid(), 0):
            raise ValueError(f"mailin/{name} is not a folder written by the mail bridge's account; left alone.")
        request_id = name if is_request_id(name) and self.find(name) is None else new_request_id(name)
        folder = self.dir(Folder.INTAKE) / request_id
        try:
            rename_noreplace(src, folder)
        except FileNotFoundError:
            return None
        except FileExistsError:
            folder = self.dir(Folder.INTAKE) / new_request_id(name)
            rename_noreplace(src, folder)
        if durable:
            fsync_dir(self.dir("mailin"))
        return Claimed(folder.name, folder, name, st.st_uid, time.time(), via="email")

    def mailin_names(self) -> list[str]:
        """Return the mail bridge's complete request folders, oldest first (dotfiles are being written)."""
        try:
            entries = [(e.stat(follow_symlinks=False).st_mtime, e.name)
                       for e in os.scandir(self.dir("mailin")) if not e.name.startswith(".")]
        except FileNotFoundError:
            return []
        return [name for _, name in sorted(entries)]

    def _new_intake_folder(self, stem: str) -> Path:
        """Create ``intake/<id>/`` for a claim: the stem when it is a free request id, else a new id."""
        request_id = stem if is_request_id(stem) and self.find(stem) is None else new_request_id(stem)
        while True:
            folder = self.dir(Folder.INTAKE) / request_id
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                request_id = new_request_id(stem)

    @staticmethod
    def _undo_claim(folder: Path) -> None:
        for leftover in folder.iterdir() if folder.is_dir() else ():
            if leftover.name != "request.yaml":
                leftover.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass

    # -- requests -------------------------------------------------------------
    def find(self, request_id: str) -> tuple[str, Path] | None:
        """Return (state folder name, path) of a request, or None (also for what is no request id)."""
        if not is_request_id(request_id):
            return None
        for state in STATE_DIRS:
            path = self.dir(state) / request_id
            if path.is_dir():
                return state, path
        return None

    def elsewhere(self, request_id: str, state: str) -> bool:
        """True when a request of this id is also in a state folder other than ``state``."""
        return any((self.dir(other) / request_id).exists() for other in STATE_DIRS if other != state)

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
        """Move a request folder from state ``src`` to ``dst`` (one rename); return the new path.

        Raises FileExistsError when ``dst`` already has a request of that id: a
        folder is never put in another's place.
        """
        old = self.dir(src) / request_id
        new = self.dir(dst) / request_id
        rename_noreplace(old, new)
        if durable:
            fsync_dir(self.dir(dst))  # commits the rename (both directories' entries)
        return new

    def put_aside(self, request_id: str, src: str, reason: str) -> Path:
        """Move a damaged request from ``src`` to ``corrupt/`` with ``<id>.reason.txt`` beside it.

        Postfix's corrupt queue: nothing is deleted, and the reason says what was
        found. The folder keeps its name (``<id>.2`` ... when an earlier one is
        there). When it cannot be moved (a folder made unwritable or immutable),
        it stays where it is and the reason file says so; returns where it is.
        """
        corrupt = self.dir(Folder.CORRUPT)
        old = self.dir(src) / request_id
        name, n = request_id, 1
        while os.path.lexists(corrupt / name) or os.path.lexists(corrupt / f"{name}{REASON_SUFFIX}"):
            n += 1
            name = f"{request_id}.{n}"
        text = f"{reason}\nIt was in {src}/ ({now_utc()}).\n"
        where = corrupt / name
        try:
            rename_noreplace(old, where)
        except FileNotFoundError:
            raise
        except OSError as error:
            where = old
            text += (f"It could not be moved here ({error.strerror}), so it is still {old}; "
                     "spoold leaves it alone until an administrator repairs or removes it.\n")
        write_atomic(corrupt / f"{name}{REASON_SUFFIX}", text)
        fsync_dir(self.dir(src))
        return where

    def aside_reason(self, request_id: str) -> str | None:
        """The reason a request was put aside (``corrupt/<id>.reason.txt``), or None."""
        if not is_request_id(request_id):
            return None
        try:
            return (self.dir(Folder.CORRUPT) / f"{request_id}{REASON_SUFFIX}").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    # -- helpers for the spool command -----------------------------------------
    def drop(self, data: bytes, request_id: str) -> Path:
        """Write a request into incoming as ``<id>.yaml``: tmp/ + fsync, then rename."""
        tmp = self.dir("tmp") / f"{request_id}.yaml.part"
        write_file(tmp, data, exclusive=True)
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
