"""Helpers for the poison-pill and escape tests: folders nobody may write, a full disk, a spool beside.

Everything here is real: an unwritable folder is ``chattr +i`` for root (whom
permissions do not stop) and ``chmod a-w`` otherwise; a full disk is a small
tmpfs mounted for the test (root only).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.spool import make_tree, spool_cmd, start_daemon, stop_daemon, where
from tests.helpers.waiting import wait_for

SITE = ("limits: {{reconcile_seconds: 0.3, settle_seconds: 0.3, max_tasks_in_flight: {tasks}, "
        "max_requests_in_flight: {requests}}}\n{extra}")


@contextlib.contextmanager
def unwritable(path: Path):
    """Make ``path`` unwritable even for root (immutable), and writable again afterwards."""
    path = Path(path)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield path
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield path
        finally:
            path.chmod(mode)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2m"):
    """Mount a tmpfs of ``size`` at ``path`` for the test (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` until a write fails with ENOSPC; return the filler file."""
    filler = folder / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 16, 1 << 12, 1):  # big blocks, then what is left
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


class Spool:
    """A spool with a data tree beside it and the real daemon (cheap steps) serving it."""

    def __init__(self, tmp_path: Path, *, extra_site: str = "", seconds: float = 0.2, tasks: int = 2,
                 requests: int = 4, log: Path | None = None) -> None:
        self.tmp = tmp_path
        self.log_file = log or tmp_path / "daemon.log"
        make_tree(tmp_path / "data")
        self.root = tmp_path / "spool"
        self.site = tmp_path / "site.yaml"
        self.site.write_text(SITE.format(extra=extra_site, tasks=tasks, requests=requests))
        spool_cmd("init", str(self.root), "--config", str(self.site), cwd=tmp_path)
        self.seconds = seconds
        self.proc = None

    def start(self, **kwargs):
        self.proc = start_daemon(self.root, self.log_file, seconds=self.seconds, config=self.site,
                                 **kwargs)
        return self.proc

    def stop(self) -> int | None:
        if self.proc is not None:
            return stop_daemon(self.proc)
        return None

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def where(self, rid: str) -> list[str]:
        found = where(self.root, rid)
        if (self.root / "corrupt" / rid).is_dir():
            found.append("corrupt")
        return found

    def wait_state(self, rid: str, states, timeout: float = 60) -> str:
        states = (states,) if isinstance(states, str) else tuple(states)
        got = wait_for(lambda: next((s for s in self.where(rid) if s in states), None), timeout=timeout,
                       what=f"{rid} to be in {states}; daemon log:\n{self.log()[-3000:]}")
        return got

    def status(self, rid: str) -> str:
        return spool_cmd("status", rid, "--spool", str(self.root), "--config", str(self.site), cwd=self.tmp,
                         check=False).stdout

    def submit(self, text: str, name: str = "req.yaml") -> str:
        """``spool submit`` a request; return its id."""
        path = self.tmp / name
        path.write_text(text)
        return spool_cmd("submit", str(path), "--spool", str(self.root), "--config", str(self.site),
                         cwd=self.tmp).stdout.strip().split()[-1]
