"""A wake-up hint for the daemon's main loop, safe to give from a signal handler.

The main loop sleeps until something happens: the watcher thread saw a file, a
signal arrived, or the timer ran out. ``threading.Event`` is not safe here: its
``set()`` takes a lock, and a signal handler runs in the main thread, which may
be holding that very lock inside ``wait()`` or ``clear()`` — the handler then
waits forever for itself. A self-pipe has no lock: ``set()`` writes one byte,
``wait()`` selects on the other end.
"""

from __future__ import annotations

import os
import select


class Wakeup:
    """A self-pipe with the ``set`` / ``wait`` / ``clear`` methods of an Event.

    ``set`` may be called from any thread and from a signal handler.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def set(self) -> None:
        """Wake the waiter (now, or at its next ``wait``)."""
        try:
            os.write(self._write, b"!")
        except BlockingIOError:
            pass  # the pipe is full: a wake-up is pending anyway
        except OSError:
            pass  # closed at shutdown

    def is_set(self) -> bool:
        """True when a wake-up is pending."""
        readable, _, _ = select.select([self._read], [], [], 0)
        return bool(readable)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a wake-up is pending or ``timeout`` seconds passed; True if woken.

        A signal interrupts the sleep only through its handler calling :meth:`set`
        (Python retries ``select`` after a handler, PEP 475).
        """
        readable, _, _ = select.select([self._read], [], [], timeout)
        return bool(readable)

    def clear(self) -> None:
        """Forget the pending wake-ups."""
        while True:
            try:
                if not os.read(self._read, 4096):
                    return
            except (BlockingIOError, OSError):
                return

    def close(self) -> None:
        """Close both ends of the pipe."""
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
