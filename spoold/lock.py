"""One daemon per spool: a lock on the spool folder itself, and ``<spool>/spoold.lock`` as the holder's record.

* The authority is ``flock`` on the spool folder (an ``O_RDONLY|O_DIRECTORY``
  descriptor), held for the holder's life. A folder cannot be removed while it
  holds requests, so ``rm spoold.lock`` does not free the spool; the kernel
  drops the lock when the process dies, so a crash leaves no stale lock.
* ``spoold.lock`` records who holds it: host, pid, the pid's start time and a
  heartbeat the holder refreshes (``spool status`` reads it). Where flock is
  not shared between hosts (NFS ``nolock``, Lustre ``localflock``) the record
  is the lock: a holder on another host is honoured while its heartbeat is
  fresh; on the same host, while its pid lives (and is the same process: the
  start time guards against pid reuse).
* :meth:`SpoolLock.heartbeat` checks that the record on disk is still the file
  it wrote (its inode): a removed record is written again, with a warning; a
  record that now names another live holder stops this one with
  :class:`LockLost` (the daemon exits, and says why).

The ``spool`` commands take the same lock for a moment when no daemon runs.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("spoold")

LOCK_NAME = "spoold.lock"
#: seconds between heartbeats; a holder on another host is stale after 6 missed ones
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 6 * HEARTBEAT_SECONDS


class SpoolLocked(Exception):
    """Another live process serves this spool; the message says which."""


class LockLost(SpoolLocked):
    """The record of a held lock now names another live holder: this holder must stop at once."""


def pid_start_time(pid: int) -> int | None:
    """Return the start time of a process (clock ticks since boot), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields and fields[0] == b"Z":  # a zombie is dead
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def holder_alive(info: dict[str, Any], *, now: float | None = None) -> bool:
    """True when the holder described by a lock file's content still serves the spool."""
    now = time.time() if now is None else now
    if info.get("host") == socket.gethostname():
        start = pid_start_time(int(info.get("pid", -1)))
        return start is not None and (info.get("pid_start") in (None, start))
    return now - float(info.get("heartbeat", 0)) < STALE_SECONDS


def describe(info: dict[str, Any], *, now: float | None = None) -> str:
    """Return 'spoold pid N on host H (heartbeat Ns ago)'."""
    now = time.time() if now is None else now
    age = now - float(info.get("heartbeat", now))
    what = info.get("what", "spoold")
    return f"{what} pid {info.get('pid')} on host {info.get('host')} (heartbeat {age:.0f} s ago)"


def read_holder(spool_root: Path) -> dict[str, Any] | None:
    """Return the content of the spool's lock file, or None."""
    try:
        data = json.loads((Path(spool_root) / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class SpoolLock:
    """The lock of one spool, held by this process.

    Use :meth:`acquire` (raises :class:`SpoolLocked`), :meth:`heartbeat` from the
    main loop (raises :class:`LockLost`) and :meth:`release` at exit (or just die:
    the lock is stale-safe).
    """

    spool_root: Path
    what: str = "spoold"
    _dir_fd: int | None = None
    _fd: int | None = None
    _last_beat: float = 0.0

    @property
    def path(self) -> Path:
        """The holder's record."""
        return Path(self.spool_root) / LOCK_NAME

    def acquire(self, *, wait_for_commands: float = 0.0) -> None:
        """Take the lock or raise :class:`SpoolLocked` naming the holder.

        ``wait_for_commands``: seconds to wait while the holder is a ``spool``
        command (cancel, retry ... hold the lock for a moment when no daemon runs),
        so that a daemon starting at that moment does not give up.
        """
        deadline = time.monotonic() + wait_for_commands
        while True:
            try:
                self._acquire_once()
                return
            except SpoolLocked as error:
                if isinstance(error, LockLost):
                    raise
                info = read_holder(self.spool_root) or {}
                # a command, or someone between taking the flock and writing its record
                by_command = not info or str(info.get("what", "")).startswith("spool ")
                if not by_command:
                    raise self._served_by(info) from None
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _acquire_once(self) -> None:
        dir_fd = os.open(self.spool_root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._flock_folder(dir_fd)
            info = read_holder(self.spool_root)
            if info and info.get("pid") != os.getpid() and holder_alive(info):
                raise SpoolLocked(
                    f"The spool {self.spool_root} is already served by {describe(info)} "
                    "(its lock is held through the file's content on this filesystem): "
                    "stop that one first, or use another --spool."
                )
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except BaseException:
            os.close(dir_fd)
            raise
        self._dir_fd = dir_fd
        self.heartbeat(force=True)

    def _flock_folder(self, dir_fd: int) -> None:
        """flock the spool folder; raise SpoolLocked when another process holds it.

        A filesystem that cannot flock a folder leaves the record as the only lock.
        """
        try:
            fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                log.warning("cannot flock the spool folder %s (%s): the lock is only its record %s",
                            self.spool_root, error.strerror, self.path)
                return
            raise self._served_by(read_holder(self.spool_root) or {}) from None

    def _served_by(self, info: dict[str, Any]) -> SpoolLocked:
        """The refusal naming the holder of the folder's flock as its record describes it."""
        who = describe(info) if info else f"another process (its record {LOCK_NAME} is missing or empty)"
        return SpoolLocked(
            f"The spool {self.spool_root} is already served by {who}: stop that one first, or use another --spool."
        )

    def heartbeat(self, *, force: bool = False) -> None:
        """Check the record is still ours, and refresh it (at most every HEARTBEAT_SECONDS unless forced).

        Raises
        ------
        LockLost
            When the record on disk is another file that names another live holder.
        """
        if self._fd is None:
            return
        if not self._record_is_ours():
            self._take_back_record()
            force = True
        now = time.time()
        if not force and now - self._last_beat < HEARTBEAT_SECONDS:
            return
        record = json.dumps(
            {
                "what": self.what,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "pid_start": pid_start_time(os.getpid()),
                "heartbeat": now,
            }
        ).encode()
        os.pwrite(self._fd, record, 0)
        os.ftruncate(self._fd, len(record))
        os.fsync(self._fd)
        self._last_beat = now

    def _record_is_ours(self) -> bool:
        """True when the record on disk is the file this holder writes."""
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self._fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def _take_back_record(self) -> None:
        """Write the record again after it was removed or replaced; stop when it names another live holder."""
        info = read_holder(self.spool_root)
        mine = (socket.gethostname(), os.getpid())
        if info and (info.get("host"), info.get("pid")) != mine and holder_alive(info):
            raise LockLost(
                f"The record {self.path} of this daemon's lock now names {describe(info)}: two daemons "
                "serve this spool (its filesystem does not share flock between hosts); this one stops. "
                "Stop the other one too, then start one daemon."
            )
        log.warning("the lock's record %s was %s; writing it again (the spool stays locked by its folder)",
                    self.path, "replaced" if self.path.exists() else "removed")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        os.close(self._fd)
        self._fd = fd

    def release(self) -> None:
        """Empty the record (when it is still ours) and drop the lock."""
        if self._fd is None:
            return
        try:
            if self._record_is_ours():
                os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)
            self._fd = None
            if self._dir_fd is not None:
                os.close(self._dir_fd)  # closing the descriptor drops its flock
                self._dir_fd = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> "SpoolLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
