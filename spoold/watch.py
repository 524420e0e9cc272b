"""Wake-up hints for the daemon: watchdog on ``incoming`` (and ``control``).

A hint only: the daemon rescans the folders at start and on a timer, so a
missed event delays a request by at most the reconcile interval, never loses it.

* inotify where it works; the polling observer on network filesystems (NFS,
  Lustre, GPFS, CIFS ...: inotify misses other hosts' writes there), found from
  ``/proc/mounts``, or when asked (``--poll``);
* an observer thread that died (an exception in a handler, inotify limits) is
  restarted; after :data:`MAX_RESTARTS` it raises, so a supervisor restarts the daemon.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger("spoold.watch")

#: filesystem types where inotify does not see other hosts' writes
NETWORK_FS = frozenset(
    {
        "nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "ceph", "fuse.sshfs",
        "beegfs", "fuse.beegfs", "9p", "panfs", "afs", "glusterfs", "fuse.glusterfs",
        "fuse.cephfs", "ocfs2", "gfs2", "wekafs",
    }
)
MAX_RESTARTS = 5
POLL_INTERVAL = 0.5


def filesystem_type(path: Path, mounts: str = "/proc/mounts") -> str | None:
    """Return the type of the filesystem ``path`` is on (from /proc/mounts), or None."""
    target = os.path.realpath(path)
    best, best_type = "", None
    try:
        with open(mounts, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, best_type = point, fields[2]
    except OSError:
        return None
    return best_type


def needs_polling(path: Path) -> bool:
    """True when ``path`` is on a network filesystem, where inotify cannot be trusted."""
    return (filesystem_type(path) or "") in NETWORK_FS


class _Hint(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.wake.set()


class Watcher:
    """Sets ``wake`` whenever something happens in the watched folders.

    Parameters
    ----------
    folders : list of Path
        Folders to watch (not recursively).
    wake : threading.Event
        Set on every event; the daemon clears it when it wakes.
    poll : bool or None
        True: the polling observer; False: inotify; None: choose from the filesystem type.
    """

    def __init__(self, folders: list[Path], wake: threading.Event, *, poll: bool | None = None) -> None:
        self.folders = [Path(f) for f in folders]
        self.wake = wake
        self.polling = any(needs_polling(f) for f in self.folders) if poll is None else poll
        self.restarts = 0
        self._observer = None

    @property
    def mode(self) -> str:
        """``"inotify"`` or ``"polling"``."""
        return "polling" if self.polling else "inotify"

    def start(self) -> None:
        """Start the observer thread (falling back to polling if inotify cannot start)."""
        handler = _Hint(self.wake)
        if self.polling:
            observer = PollingObserver(timeout=POLL_INTERVAL)
        else:
            observer = Observer()
        observer.daemon = True
        for folder in self.folders:
            observer.schedule(handler, str(folder), recursive=False)
        try:
            observer.start()
        except OSError as error:  # inotify limits (max_user_watches/instances) reached
            if self.polling:
                raise
            log.warning("inotify unavailable (%s): watching by polling instead", error)
            self.polling = True
            self.start()
            return
        self._observer = observer

    def check(self) -> None:
        """Restart a dead observer thread; raise RuntimeError after too many restarts."""
        if self._observer is not None and self._observer.is_alive():
            return
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise RuntimeError(
                f"The {self.mode} watcher died {self.restarts} times; stopping so a supervisor restarts spoold."
            )
        log.warning("the %s watcher thread died; restarting it", self.mode)
        self.wake.set()  # we may have missed events: rescan
        self.stop()
        self.start()

    def stop(self) -> None:
        """Stop the observer thread."""
        if self._observer is None:
            return
        try:
            self._observer.stop()
            self._observer.join(timeout=2)
        except Exception:  # noqa: BLE001 - a dead observer may raise anything on stop
            pass
        self._observer = None
