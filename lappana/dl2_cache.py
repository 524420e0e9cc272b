"""A cache of DL2 files keyed by what makes them, so that each run's DL2 is made once.

The DL2 of a run is a function of the DL1 file, the models, the lstchain that
applies them and its configuration. :func:`dl2_cache_key` hashes those:

- the DL1 file's identity: its real path, size and modification time (LSTOSA
  replaces a DL1 file it reprocesses, which changes them);
- the models: the name and SHA-256 of each file of the models folder;
- lstchain: its environment (as given, and its real path when it is a folder)
  and the version of the ``lstchain`` distribution installed there;
- the configuration passed to lstchain (its SHA-256), or none (lstchain's own,
  which the version pins).

An entry is ``<cache>/<key>/dl2_LST-1.RunNNNNN.h5`` with ``made-from.json`` (what
the key hashes) beside it. :func:`make_cached_dl2` makes it with
:func:`lappana.dl2.run_dl1_to_dl2`, which writes into a hidden staging folder
and renames the DL2 file in once it is complete and checked: an entry is never
half-written. Two makers of one entry at once take turns on an exclusive
``flock`` of ``<cache>/<key>/.lock``; the second finds the first's file and uses it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lappana.dl2 import dl2_output_path, run_dl1_to_dl2
from lappana.dl2_config import resolve_config
from lappana.errors import LappanaError
from lappana.lstchain_env import installed_lstchain_version

__all__ = ["CachedDL2", "dl2_cache_key", "dl2_cache_entry", "entry_files", "link_entry_into", "link_into",
           "make_cached_dl2", "made_from", "models_digest"]

#: what the key of an entry hashes, beside its DL2 file
MADE_FROM = "made-from.json"


@dataclass(frozen=True)
class CachedDL2:
    """An entry of the DL2 cache: its file, its key, and whether this call made it."""

    dl2_path: Path
    key: str
    made: bool


#: SHA-256 of files already read, by (path, inode, size, mtime): a daemon asks for the same models' keys often
_DIGESTS: dict[tuple, str] = {}


def _sha256(path: Path) -> str:
    stat = path.stat()
    seen = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if seen not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[seen] = digest.hexdigest()
    return _DIGESTS[seen]


def made_from(dl1_path: str | os.PathLike, *, lstchain_env: str | os.PathLike, models_dir: str | os.PathLike,
              config: str | os.PathLike | None = None) -> dict:
    """What the DL2 of ``dl1_path`` is made from, as :func:`dl2_cache_key` hashes it.

    Raises
    ------
    LappanaError
        When the DL1 file or the models folder is not there.
    """
    dl1, models = Path(dl1_path), Path(models_dir)
    if not dl1.is_file():
        raise LappanaError(f"{dl1} does not exist: there is no DL2 to make of it.")
    if not models.is_dir():
        raise LappanaError(f"The models folder {models} does not exist.")
    stat = dl1.stat()
    config_path = resolve_config(config, models)
    env = str(lstchain_env)
    return {
        "dl1": {"path": str(dl1.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
        "models": _model_hashes(models),
        "lstchain": {"env": env, "real": str(Path(env).resolve()) if Path(env).is_dir() else None,
                     "version": installed_lstchain_version(env)},
        "config": _sha256(config_path) if config_path is not None else None,
    }


def models_digest(models_dir: str | os.PathLike) -> str:
    """A content hash of a models folder (16 hex digits of the SHA-256 over its ``.sav`` files' names and
    SHA-256s, as the cache keys hash them): the same models give the same digest wherever they are copied."""
    return _key(_model_hashes(Path(models_dir)))[:16]


def _model_hashes(models: Path) -> dict[str, str]:
    """The name and SHA-256 of each ``.sav`` file of a models folder."""
    return {p.name: _sha256(p) for p in sorted(models.iterdir()) if p.is_file() and p.suffix == ".sav"}


def dl2_cache_key(dl1_path: str | os.PathLike, *, lstchain_env: str | os.PathLike, models_dir: str | os.PathLike,
                  config: str | os.PathLike | None = None) -> str:
    """The key of the DL2 of ``dl1_path`` made with these models, lstchain and configuration (32 hex digits)."""
    return _key(made_from(dl1_path, lstchain_env=lstchain_env, models_dir=models_dir, config=config))


def _key(what: dict) -> str:
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:32]


def dl2_cache_entry(cache_root: str | os.PathLike, key: str, dl1_path: str | os.PathLike) -> Path:
    """The DL2 file of the entry ``key`` (there or not)."""
    return dl2_output_path(dl1_path, Path(cache_root) / key)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_cached_dl2(dl1_path: str | os.PathLike, cache_root: str | os.PathLike, *, lstchain_env: str | os.PathLike,
                    models_dir: str | os.PathLike, config: str | os.PathLike | None = None,
                    timeout: float | None = None) -> CachedDL2:
    """Return the cache's DL2 of ``dl1_path``, making it with the real lstchain when it is not there.

    Parameters
    ----------
    dl1_path : path-like
        The DL1 file.
    cache_root : path-like
        The cache's folder (created when missing).
    lstchain_env, models_dir, config, timeout
        As for :func:`lappana.dl2.run_dl1_to_dl2`.

    Returns
    -------
    CachedDL2
        The entry's DL2 file, its key, and True when this call made it.
    """
    what = made_from(dl1_path, lstchain_env=lstchain_env, models_dir=models_dir, config=config)
    key = _key(what)
    folder = Path(cache_root) / key
    dl2 = dl2_cache_entry(cache_root, key, dl1_path)
    if dl2.is_file():
        return CachedDL2(dl2, key, made=False)
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder / ".lock"):
        if dl2.is_file():  # made by the one we waited for
            return CachedDL2(dl2, key, made=False)
        (folder / MADE_FROM).write_text(json.dumps(what, indent=1, sort_keys=True) + "\n")
        run_dl1_to_dl2(dl1_path, folder, lstchain_env=lstchain_env, models_dir=models_dir, config=config,
                       overwrite=True, timeout=timeout)
    return CachedDL2(dl2, key, made=True)


def link_into(entry: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Put the cache's DL2 file ``entry`` into ``folder`` as a hard link (a copy on another filesystem).

    A link, not a symbolic one: the file stays whole if the cache entry goes, and a
    folder of products moves or is published like any other. An earlier link or copy
    of the same name is replaced.
    """
    entry, folder = Path(entry), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.name
    staged = folder / f".{entry.name}.link"
    staged.unlink(missing_ok=True)
    try:
        os.link(entry, staged)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(entry, staged)
    os.replace(staged, target)
    return target


def entry_files(dl2_path: str | os.PathLike) -> list[Path]:
    """The files of a cache entry a user gets: its DL2 file and lstchain's provenance log beside it, if any."""
    dl2 = Path(dl2_path)
    log = dl2.with_suffix(".provenance.log")
    return [dl2] + ([log] if log.is_file() else [])


def link_entry_into(dl2_path: str | os.PathLike, folder: str | os.PathLike) -> list[Path]:
    """:func:`link_into` for each of :func:`entry_files`; return the links."""
    return [link_into(path, folder) for path in entry_files(dl2_path)]
