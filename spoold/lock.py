"""One daemon per spool: ``<spool>/spoold.lock``, stale-safe.

Two mechanisms, because a spool may be on a network filesystem:

* ``flock`` on the lock file, held for the daemon's life; the kernel drops it
  when the process dies, so a crashed daemon leaves no stale lock on a local
  filesystem;
* the file's content: host, pid, the pid's start time and a heartbeat the
  holder refreshes. Where flock is not shared between hosts (NFS ``nolock``,
  Lustre ``localflock``) a holder on another host is honoured while its
  heartbeat is fresh; on the same host, while its pid lives (and is the same
  process: the start time guards against pid reuse).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_NAME = "spoold.lock"
#: seconds between heartbeats; a holder on another host is stale after 6 missed ones
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 6 * HEARTBEAT_SECONDS


class SpoolLocked(Exception):
    """Another live process serves this spool; the message says which."""


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
    main loop and :meth:`release` at exit (or just die: the lock is stale-safe).
    """

    spool_root: Path
    what: str = "spoold"
    _fd: int | None = None
    _last_beat: float = 0.0

    @property
    def path(self) -> Path:
        """The lock file."""
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
            except SpoolLocked:
                info = read_holder(self.spool_root) or {}
                # a command, or someone between taking the flock and writing its record
                by_command = not info or str(info.get("what", "")).startswith("spool ")
                if not by_command or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _acquire_once(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            info = read_holder(self.spool_root) or {}
            raise SpoolLocked(
                f"The spool {self.spool_root} is already served by {describe(info)}: "
                "stop that one first, or use another --spool."
            ) from None
        info = read_holder(self.spool_root)
        if info and info.get("pid") != os.getpid() and holder_alive(info):
            os.close(fd)
            raise SpoolLocked(
                f"The spool {self.spool_root} is already served by {describe(info)} "
                "(its lock is held through the file's content on this filesystem): "
                "stop that one first, or use another --spool."
            )
        self._fd = fd
        self.heartbeat(force=True)

    def heartbeat(self, *, force: bool = False) -> None:
        """Refresh the holder record (at most every HEARTBEAT_SECONDS unless forced)."""
        if self._fd is None:
            return
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
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, record, 0)
        os.fsync(self._fd)
        self._last_beat = now

    def release(self) -> None:
        """Empty the record and drop the lock."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> "SpoolLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
