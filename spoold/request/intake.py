"""Read a request file without trusting what it is: folders, links, FIFOs, huge files.

The daemon reads what lands in ``incoming`` with :func:`read_request_file`
(``follow_symlinks=False``): a symbolic link could point at any file the daemon
may read, a FIFO would block forever, a folder is no request. Each gets a
sentence, and the file is never read past the size limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from spoold.request.model import RequestRejected

__all__ = ["entry_problem", "read_request_file"]


def entry_problem(path: Path, *, max_bytes: int, follow_symlinks: bool = False) -> str | None:
    """Return a sentence when ``path`` cannot be a request file, else None.

    Parameters
    ----------
    path : Path
        The entry (in ``incoming``, or a user's file).
    max_bytes : int
        The site's request size limit.
    follow_symlinks : bool
        False for the daemon: a symbolic link is refused without being followed.
    """
    try:
        st = path.stat() if follow_symlinks else path.lstat()
    except FileNotFoundError:
        return f"There is no file {path.name}."
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror})."
    if stat.S_ISLNK(st.st_mode):
        return (
            f"{path.name} is a symbolic link; spoold reads only regular files, so copy the "
            "request itself into incoming."
        )
    if stat.S_ISDIR(st.st_mode):
        return f"{path.name} is a folder, not a request file; a request is one YAML file."
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        return f"{path.name} is {kind}, not a regular file; a request must be a YAML file."
    if st.st_size > max_bytes:
        return (
            f"The request is {st.st_size:,} bytes, more than the limit of {max_bytes:,} bytes; "
            "a request is a few lines of YAML, so check that this is the right file."
        )
    return None


def read_request_file(path: Path, *, max_bytes: int, follow_symlinks: bool = False) -> bytes:
    """Return the bytes of a request file, reading at most ``max_bytes + 1`` bytes.

    Raises
    ------
    RequestRejected
        With one sentence when the entry is not a regular file, is too large or
        cannot be read.
    """
    problem = entry_problem(path, max_bytes=max_bytes, follow_symlinks=follow_symlinks)
    if problem:
        raise RequestRejected([problem])
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) * (not follow_symlinks)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RequestRejected([f"{path.name} is a symbolic link; spoold reads only regular files."]) from None
        raise RequestRejected([f"{path.name} cannot be read ({exc.strerror})."]) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between lstat and open
            raise RequestRejected([f"{path.name} is not a regular file; a request must be a YAML file."])
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise RequestRejected([
            f"The request is more than the limit of {max_bytes:,} bytes; a request is a few "
            "lines of YAML, so check that this is the right file."
        ])
    return raw
