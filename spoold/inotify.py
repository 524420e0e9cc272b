"""A small inotify reader: the kernel's events for a few folders, read in one thread.

spoold needs little of inotify: which names in a folder were renamed in, closed
after writing, created or written, and when the kernel's queue overflowed (then
everything must be rescanned). watchdog's inotify observer gives that through
three threads and holds every event back for 0.5 s after an unpaired
IN_MOVED_FROM (each claim out of ``incoming`` is one), a delay that only a
private class attribute turns off. This module reads ``inotify(7)`` itself
through ``ctypes``: one thread, no delay, no private API.

>>> reader = InotifyReader([Path("spool/incoming")], on_event)  # doctest: +SKIP
>>> reader.start(); ...; reader.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("spoold.watch")

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
#: what spoold watches a folder for
WATCH_MASK = (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
              | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)


@dataclass(frozen=True)
class InotifyEvent:
    """One event: the watched folder (None for a queue overflow), the name in it, the kernel's mask."""

    folder: Path | None
    name: str
    mask: int

    @property
    def is_dir(self) -> bool:
        """True when the event is about a folder."""
        return bool(self.mask & IN_ISDIR)

    @property
    def overflow(self) -> bool:
        """True when the kernel dropped events (its queue was full): rescan everything."""
        return bool(self.mask & IN_Q_OVERFLOW)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class Inotify:
    """An inotify instance with watches on folders (not recursive); :meth:`read` parses its events."""

    def __init__(self) -> None:
        self._c = _libc()
        fd = self._c.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify cannot start: {os.strerror(code)}")
        self.fd = fd
        self._folders: dict[int, Path] = {}

    def add(self, folder: Path) -> None:
        """Watch ``folder`` (raises OSError, e.g. when the user's watch limit is reached)."""
        wd = self._c.inotify_add_watch(self.fd, os.fsencode(folder), WATCH_MASK)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify cannot watch {folder}: {os.strerror(code)}")
        self._folders[wd] = Path(folder)

    def read(self) -> list[InotifyEvent]:
        """Return the events waiting (none when there are none; never blocks)."""
        try:
            data = os.read(self.fd, 256 * 1024)
        except BlockingIOError:
            return []
        events, offset = [], 0
        while offset + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            raw = data[offset + _HEADER.size: offset + _HEADER.size + length]
            offset += _HEADER.size + length
            folder = self._folders.get(wd)
            if mask & IN_IGNORED:
                self._folders.pop(wd, None)  # the folder went away (or the watch was removed)
            events.append(InotifyEvent(folder, os.fsdecode(raw.split(b"\0", 1)[0]), mask))
        return events

    def close(self) -> None:
        """Close the instance (its watches go with it)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class InotifyReader:
    """One thread that reads inotify events for ``folders`` and hands each to ``on_event``.

    Parameters
    ----------
    folders : sequence of Path
        The folders to watch.
    on_event : callable
        Called in the reader's thread with each :class:`InotifyEvent`; an exception
        in it is logged and the thread goes on.
    """

    def __init__(self, folders: Sequence[Path], on_event: Callable[[InotifyEvent], None]) -> None:
        self.folders = [Path(f) for f in folders]
        self.on_event = on_event
        self._inotify: Inotify | None = None
        self._thread: threading.Thread | None = None
        self._stop_r, self._stop_w = -1, -1

    def start(self) -> None:
        """Add the watches (raises OSError when inotify cannot) and start the thread."""
        inotify = Inotify()
        try:
            for folder in self.folders:
                inotify.add(folder)
        except OSError:
            inotify.close()
            raise
        self._inotify = inotify
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self.loop, name="inotify", daemon=True)
        self._thread.start()

    def loop(self) -> None:
        """Read and dispatch events until :meth:`stop` (the thread's body)."""
        inotify = self._inotify
        assert inotify is not None
        poller = select.poll()
        poller.register(inotify.fd, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        while True:
            try:
                ready = {fd for fd, _ in poller.poll()}
            except InterruptedError:
                continue
            if self._stop_r in ready:
                return
            for event in inotify.read():
                try:
                    self.on_event(event)
                except Exception:  # noqa: BLE001 - one bad event must not end the watching
                    log.exception("handling the inotify event %s failed", event)

    def is_alive(self) -> bool:
        """True while the reader's thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and close the inotify instance."""
        if self._thread is not None:
            try:
                os.write(self._stop_w, b"x")
            except OSError as error:  # pragma: no cover - a full pipe still wakes the thread
                if error.errno != errno.EAGAIN:
                    raise
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._stop_r, self._stop_w):
            if fd >= 0:
                os.close(fd)
        self._stop_r = self._stop_w = -1
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
