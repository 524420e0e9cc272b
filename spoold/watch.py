"""Wake-up hints for the daemon: events in ``incoming`` (and ``control``, ``mailin``).

A hint only: the daemon rescans the folders at start and on a timer, so a
missed event delays a request by at most the reconcile interval, never loses it.

* inotify where it works (:mod:`spoold.inotify`, one reader thread of spoold's own);
  watchdog's polling observer on network filesystems (NFS,
  Lustre, GPFS, CIFS ...: inotify misses other hosts' writes there), found from
  ``/proc/mounts``, or when asked (``--poll``);
* an observer thread that died (an exception in a handler, inotify limits) is
  restarted; after :data:`MAX_RESTARTS` it raises, so a supervisor restarts the daemon.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.polling import PollingObserver

from spoold.inotify import IN_CLOSE_WRITE, IN_CREATE, IN_MODIFY, IN_MOVED_TO, InotifyEvent, InotifyReader
from spoold.wakeup import Wakeup

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
    """Sets ``wake`` on any event and tracks which names in ``incoming`` are complete.

    With inotify (full events) a file renamed into incoming arrives as a moved
    event and a file written in place ends with a close-after-write event: both
    mean complete. A create or a modify means someone is writing it.
    """

    def __init__(self, wake: Wakeup, incoming: Path | None,
                 on_complete: Callable[[str], None] | None = None) -> None:
        self.wake = wake
        self.incoming = str(incoming) if incoming is not None else None
        self.complete: dict[str, bool] = {}
        self.lock = threading.Lock()
        self.on_complete = on_complete

    def _mark(self, path: str, complete: bool) -> None:
        if self.incoming is None or not path or os.path.dirname(path) != self.incoming:
            return
        name = os.path.basename(path)
        with self.lock:
            if len(self.complete) > 100_000:
                self.complete.clear()
            self.complete[name] = complete
        if complete and self.on_complete is not None and not name.startswith("."):
            try:
                self.on_complete(name)
            except Exception:  # noqa: BLE001 - never let the observer thread die; the rescan takes it
                log.exception("taking %s from incoming failed; the next rescan will", name)

    def on_any_event(self, event: FileSystemEvent) -> None:
        """The polling observer's events (watchdog's public API)."""
        try:
            kind = event.event_type
            if kind == "moved":
                self._mark(os.fsdecode(event.dest_path), not event.is_directory)
            elif kind == "closed":
                self._mark(os.fsdecode(event.src_path), True)
            elif kind in ("created", "modified") and not event.is_directory:
                self._mark(os.fsdecode(event.src_path), False)
        finally:
            self.wake.set()

    def on_inotify(self, event: InotifyEvent) -> None:
        """The inotify reader's events (a queue overflow only wakes the daemon, which rescans)."""
        try:
            if event.folder is None or not event.name:
                return
            path = os.path.join(str(event.folder), event.name)
            if event.mask & IN_MOVED_TO:
                self._mark(path, not event.is_dir)
            elif event.mask & IN_CLOSE_WRITE:
                self._mark(path, True)
            elif event.mask & (IN_CREATE | IN_MODIFY) and not event.is_dir:
                self._mark(path, False)
        finally:
            self.wake.set()


class Watcher:
    """Sets ``wake`` whenever something happens in the watched folders.

    Parameters
    ----------
    folders : list of Path
        Folders to watch (not recursively).
    wake : spoold.wakeup.Wakeup
        Set on every event; the daemon clears it when it wakes.
    poll : bool or None
        True: the polling observer; False: inotify; None: choose from the filesystem type.
    """

    def __init__(self, folders: list[Path], wake: Wakeup, *, poll: bool | None = None,
                 incoming: Path | None = None, on_complete: Callable[[str], None] | None = None) -> None:
        self.folders = [Path(f) for f in folders]
        self.wake = wake
        self.polling = any(needs_polling(f) for f in self.folders) if poll is None else poll
        self.restarts = 0
        self._observer = None
        # the polling observer cannot tell a complete file: no early pickup there
        self._handler = _Hint(wake, incoming, on_complete if not self.polling else None)

    def complete(self, name: str) -> bool:
        """True when inotify saw ``incoming/name`` renamed in or closed after writing.

        Always False by polling (the polling observer cannot tell): then the
        daemon waits until the file has not changed for the settle time.
        """
        if self.polling:
            return False
        with self._handler.lock:
            return self._handler.complete.get(name, False)

    def writing(self, name: str) -> bool:
        """True when inotify saw ``incoming/name`` created or written and not yet closed.

        Such a file is being written in place: it is not taken however long it
        has been quiet (up to the daemon's grace time), since its writer may
        pause between parts. Always False by polling.
        """
        if self.polling:
            return False
        with self._handler.lock:
            return self._handler.complete.get(name) is False

    def forget(self, name: str) -> None:
        """Drop what is known about a name (it was claimed)."""
        with self._handler.lock:
            self._handler.complete.pop(name, None)

    @property
    def mode(self) -> str:
        """``"inotify"`` or ``"polling"``."""
        return "polling" if self.polling else "inotify"

    def start(self) -> None:
        """Start the observer thread (falling back to polling if inotify cannot start)."""
        handler = self._handler
        if self.polling:
            observer = PollingObserver(timeout=POLL_INTERVAL)
            observer.daemon = True
            for folder in self.folders:
                observer.schedule(handler, str(folder), recursive=False)
            observer.start()
            self._observer = observer
            return
        reader = InotifyReader(self.folders, handler.on_inotify)
        try:
            reader.start()
        except OSError as error:  # inotify limits (max_user_watches/instances) reached
            log.warning("inotify unavailable (%s): watching by polling instead", error)
            self.polling = True
            self._handler.on_complete = None  # polling cannot tell a complete file
            self.start()
            return
        self._observer = reader

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
            self._observer.stop()  # the inotify reader joins its thread itself
            if isinstance(self._observer, PollingObserver):
                self._observer.join(timeout=2)
        except Exception:  # noqa: BLE001 - a dead observer may raise anything on stop
            pass
        self._observer = None
