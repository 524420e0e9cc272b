"""Durable files: atomic writes, fsyncs and renames that never replace what is there.

What the spool, the request folders, the mail bridge and the publication of the
products write goes through here: a file is complete once it was written to a
temporary name, fsynced and renamed (:func:`write_atomic`, :func:`write_json`);
a folder is moved with :func:`rename_noreplace`, which fails rather than take
another's place; :func:`fsync_dir` commits a rename, :func:`sync_filesystem` a
whole batch (group commit).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from pathlib import Path
from typing import Any


_RENAME_NOREPLACE = 1  # linux/fs.h


def _renameat2() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    return func


_renameat2_func = _renameat2()
_AT_FDCWD = -100


def rename_noreplace_at(src_dir_fd: int, src: str | Path, dst_dir_fd: int, dst: str | Path) -> None:
    """Rename ``src`` to ``dst`` (each relative to its folder's fd), failing when ``dst`` exists.

    A plain ``rename`` of a folder onto an empty folder replaces it silently, and
    onto a file replaces the file: a request folder must never take the place of
    another. Linux's ``renameat2(RENAME_NOREPLACE)`` does it atomically; where
    the filesystem does not support it, the check is made just before the rename
    (spoold is the only writer of the state folders, so nothing races it there).

    Raises
    ------
    FileExistsError
        When ``dst`` exists.
    """
    func = _renameat2_func
    if func is not None:
        import ctypes

        if func(src_dir_fd, os.fsencode(src), dst_dir_fd, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(src))
    dst_fd = None if dst_dir_fd == _AT_FDCWD else dst_dir_fd
    try:
        os.stat(dst, dir_fd=dst_fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(src, dst, src_dir_fd=None if src_dir_fd == _AT_FDCWD else src_dir_fd, dst_dir_fd=dst_fd)
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, failing with FileExistsError when ``dst`` exists (see :func:`rename_noreplace_at`)."""
    rename_noreplace_at(_AT_FDCWD, src, _AT_FDCWD, dst)


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


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the file descriptor ``fd`` (``os.write`` may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_file(path: Path, data: bytes | str, *, exclusive: bool, mode: int = 0o644, durable: bool = True) -> None:
    """Write ``data`` to ``path`` (a new file with ``exclusive``, else created or truncated), fsynced if ``durable``.

    A write cut short (a full disk) raises; with ``exclusive`` the half file is removed.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        try:
            write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        if exclusive:
            Path(path).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644, sync_dir: bool = True,
                 durable: bool = True) -> None:
    """Write ``path`` as temp + fsync + rename: readers see the old or the new file, never half.

    ``sync_dir=False`` skips the fsync of the folder, for a file whose folder is
    renamed (and that rename synced) right after. ``durable=False`` skips both
    fsyncs: the caller flushes a whole batch with :func:`sync_filesystem`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    write_file(tmp, data, exclusive=True, mode=mode, durable=durable)  # a full disk leaves no temp file
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir and durable:
        fsync_dir(path.parent)


def write_in_place(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Write ``path`` directly (create or truncate), for a file in a folder that nobody reads yet.

    Only for files inside a request folder still in ``intake/``: no reader sees
    them before the folder is moved, and after a crash everything in intake is
    validated again, so a half-written one is rewritten. One directory entry
    fewer than :func:`write_atomic` (no temporary name): intake of a burst is
    bound by file creations.
    """
    write_file(path, data, exclusive=False, durable=durable)


def write_json(path: Path, data: Any, *, sync_dir: bool = True, durable: bool = True, in_place: bool = False) -> None:
    """Write JSON atomically (indented, in the order given); ``in_place`` see :func:`write_in_place`."""
    text = json.dumps(data, indent=1, default=str) + "\n"
    if in_place:
        write_in_place(path, text, durable=durable)
    else:
        write_atomic(path, text, sync_dir=sync_dir, durable=durable)


def read_json(path: Path) -> Any:
    """Read a JSON file; raises OSError or ValueError."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
