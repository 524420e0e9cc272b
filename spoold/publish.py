"""Put a request's products where it asked, without following a link anyone could have planted.

A request's tasks write only inside the request's own folder in the spool (which
only the daemon's account can write); when the request is done the daemon moves
the products into their destination (the request's ``output``, or the site's
``output_root``). The destination is opened component by component from the
write root it is in, with ``O_NOFOLLOW``, and the products are moved in with
file-descriptor-relative renames: a folder swapped for a symbolic link after the
request was checked (or at any moment before the move) is refused with a
sentence, never followed, and nothing is replaced that was already there.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from spoold.files import rename_noreplace_at, write_all

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PublishError(Exception):
    """The products cannot be put where the request asked; the message says why."""


def _relative_to_a_root(path: Path, roots: Iterable[Path]) -> tuple[Path, Path]:
    """Return (real root, path below it) for the first write root ``path`` is lexically inside."""
    path = Path(os.path.normpath(path))
    for root in roots:
        for base in (Path(os.path.normpath(root)), Path(os.path.realpath(root))):
            try:
                return Path(os.path.realpath(root)), path.relative_to(base)
            except ValueError:
                continue
    names = ", ".join(str(r) for r in roots) or "none"
    raise PublishError(f"{path} is outside the folders this site lets requests write to ({names}).")


@contextmanager
def open_folder(path: Path, roots: Iterable[Path], *, create: bool = True) -> Iterator[int]:
    """Open ``path`` as a directory fd, walking from its write root without following any link.

    Parameters
    ----------
    path : Path
        An absolute folder inside one of ``roots``.
    roots : iterable of Path
        The site's write roots (trusted: they are resolved as usual).
    create : bool
        Create missing folders on the way (mode 0755).

    Raises
    ------
    PublishError
        When a component is a symbolic link or not a folder, or ``path`` is outside ``roots``.
    """
    root, below = _relative_to_a_root(Path(path), list(roots))
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise PublishError(f"The site's write root {root} cannot be opened ({error.strerror}).") from None
    try:
        walked = root
        for part in below.parts:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as error:
                    raise PublishError(f"{walked / part} cannot be created ({error.strerror}).") from None
            walked = walked / part
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise PublishError(
                        f"{walked} is a symbolic link or not a folder, so the products are not written "
                        "through it (it may have been swapped after the request was checked); "
                        "give a real folder as 'output'."
                    ) from None
                raise PublishError(f"{walked} cannot be opened ({error.strerror}).") from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _entries(fd: int) -> list[str]:
    return sorted(os.listdir(fd))


def _conflicts(src_fd: int, dst_fd: int, prefix: str = "") -> list[str]:
    """Files in the source tree that already exist in the destination tree."""
    found = []
    for name in _entries(src_fd):
        try:
            there = os.stat(name, dir_fd=dst_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        here = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        if stat.S_ISDIR(here.st_mode) and stat.S_ISDIR(there.st_mode):
            sub_src = os.open(name, _DIR_FLAGS, dir_fd=src_fd)
            try:
                sub_dst = os.open(name, _DIR_FLAGS, dir_fd=dst_fd)
                try:
                    found += _conflicts(sub_src, sub_dst, f"{prefix}{name}/")
                finally:
                    os.close(sub_dst)
            finally:
                os.close(sub_src)
        else:
            found.append(prefix + name)
    return found


def _copy_file(name: str, src_fd: int, dst_fd: int) -> None:
    """Copy one file across filesystems (no link followed), then remove the source.

    The copy is written as ``.<name>.part`` and renamed into place without
    replacing anything, so a daemon killed half-way leaves no half file under
    the product's name (the next attempt copies it again).
    """
    part = f".{name}.part"
    fin = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_fd)
    try:
        mode = stat.S_IMODE(os.fstat(fin).st_mode)
        try:
            os.unlink(part, dir_fd=dst_fd)  # left by a copy cut short
        except FileNotFoundError:
            pass
        fout = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                       dir_fd=dst_fd)
        try:
            while True:
                chunk = os.read(fin, 1 << 20)
                if not chunk:
                    break
                write_all(fout, chunk)
            os.fsync(fout)
        finally:
            os.close(fout)
    finally:
        os.close(fin)
    rename_noreplace_at(dst_fd, part, dst_fd, name)
    os.unlink(name, dir_fd=src_fd)


def _move_tree(src_fd: int, dst_fd: int) -> None:
    """Move every entry of ``src_fd`` into ``dst_fd``, merging folders that exist on both sides."""
    for name in _entries(src_fd):
        here = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        try:
            rename_noreplace_at(src_fd, name, dst_fd, name)
            continue
        except FileExistsError:
            if not stat.S_ISDIR(here.st_mode):
                raise
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            if stat.S_ISREG(here.st_mode):
                _copy_file(name, src_fd, dst_fd)
                continue
            if not stat.S_ISDIR(here.st_mode):
                continue  # a link or a FIFO among the products is not published
            try:
                os.mkdir(name, 0o755, dir_fd=dst_fd)
            except FileExistsError:
                pass
        sub_src = os.open(name, _DIR_FLAGS, dir_fd=src_fd)
        try:
            sub_dst = os.open(name, _DIR_FLAGS, dir_fd=dst_fd)
            try:
                _move_tree(sub_src, sub_dst)
            finally:
                os.close(sub_dst)
        finally:
            os.close(sub_src)
        os.rmdir(name, dir_fd=src_fd)
    os.fsync(dst_fd)


def publish(staging: Path, destination: Path, roots: Iterable[Path]) -> None:
    """Move everything in ``staging`` into ``destination`` (inside ``roots``), following no link.

    Raises
    ------
    PublishError
        With a sentence when the destination is unsafe or already holds some of
        the products; then nothing was moved and the products stay in ``staging``.
    """
    roots = list(roots)
    with open_folder(destination, roots) as dst_fd:
        src_fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            clash = _conflicts(src_fd, dst_fd)
            if clash:
                shown = ", ".join(clash[:5]) + (f" and {len(clash) - 5} more" if len(clash) > 5 else "")
                raise PublishError(f"{destination} already has {shown}; nothing there is replaced, so the "
                                   f"products stay in {staging}. Choose another 'output' or move those away.")
            _move_tree(src_fd, dst_fd)
        finally:
            os.close(src_fd)


def read_published(destination: Path, roots: Iterable[Path], name: str) -> bytes | None:
    """The bytes of ``destination/name`` read without following any link, or None when it is not there."""
    try:
        with open_folder(destination, list(roots), create=False) as dir_fd:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except (PublishError, OSError):
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
    except OSError:
        return None
