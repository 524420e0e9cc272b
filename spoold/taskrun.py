"""The wrapper every task runs in: ``python -m spoold.taskrun --result R --log L -- argv...``.

It runs ``argv`` with stdout and stderr appended to ``L`` and writes ``R``
atomically (temp + fsync + rename) when the command ends::

    {"exit_code": 0, "signal": null, "started": "...", "finished": "...",
     "seconds": 12.3, "max_rss_mb": 512.0, "host": "...", "pid": 4242, "argv": [...]}

(``max_rss_mb``: the peak resident memory of the largest process the command ran, itself or
one it waited for, as the kernel counts it for the wrapper's children).

so that a daemon that died while the task ran learns its outcome from the file.

With ``--once`` the wrapper first creates ``R.started`` (holding host, pid and
start time) complete or not at all: it writes and fsyncs a temporary file, then
links it to the marker's name. If the marker already exists the task was
started before (by this or an earlier daemon) and the wrapper exits at once
with :data:`EXIT_ALREADY_STARTED` without running anything: a task is never run
twice for the same result file. If the marker cannot be written (a full disk,
a folder that is not writable) nothing runs and the wrapper exits with
:data:`EXIT_NO_MARKER`, after a line saying why in the log (when the log can
still be written) and on stderr. The local executor uses ``--once`` and reads
``R.started`` to re-attach to a task it launched just before a crash.

Signals: SIGTERM, SIGINT and SIGHUP are forwarded to the command; the result
then records the signal (``exit_code`` is ``128 + signal``).
"""

from __future__ import annotations

import argparse
import errno
import json
import resource
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: exit code of ``--once`` when the task was already started
EXIT_ALREADY_STARTED = 75
#: exit code of ``--once`` when the start marker could not be written (the task did not run)
EXIT_NO_MARKER = 74
#: exit code when the command could not be started at all (not found, not executable)
EXIT_CANNOT_START = 127
#: how the line that says why ``--once`` could not write its marker begins, in the task's log
NO_MARKER_LINE = "# taskrun: cannot record the start of this task"


@dataclass(frozen=True)
class TaskResult:
    """What a task's result file says."""

    exit_code: int
    signal: int | None
    started: str
    finished: str
    seconds: float
    host: str
    pid: int

    @property
    def ok(self) -> bool:
        """True when the command exited with 0."""
        return self.exit_code == 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_folder(path.parent)


def started_file(result_file: Path) -> Path:
    """Return the ``--once`` marker of a result file: ``<result>.started``."""
    return result_file.with_name(result_file.name + ".started")


def read_result(result_file: Path) -> TaskResult | None:
    """Return the result a task wrote, or None when there is none (yet) or it is unreadable."""
    try:
        data = json.loads(Path(result_file).read_text(encoding="utf-8"))
        return TaskResult(
            exit_code=int(data["exit_code"]),
            signal=data.get("signal"),
            started=str(data.get("started", "")),
            finished=str(data.get("finished", "")),
            seconds=float(data.get("seconds", 0.0)),
            host=str(data.get("host", "")),
            pid=int(data.get("pid", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_started(result_file: Path) -> dict[str, Any] | None:
    """Return what ``<result>.started`` holds (host, pid, started), or None."""
    try:
        data = json.loads(started_file(Path(result_file)).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _own_start_time() -> int | None:
    """This process's start time in clock ticks since boot (tells a reused pid apart)."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _claim(result_file: Path) -> bool:
    """Create ``<result>.started``, complete or not at all; False when it already exists.

    Raises
    ------
    OSError
        When the marker cannot be written (the temporary file is removed again).
    """
    marker = started_file(result_file)
    payload = json.dumps(
        {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": _own_start_time(), "started": _now()}
    ).encode()
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, marker)
        except FileExistsError:
            return False
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
    _fsync_folder(marker.parent)
    return True


def _fsync_folder(folder: Path) -> None:
    """Make a new name in ``folder`` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _say_no_marker(result_file: Path, log_file: Path, error: OSError) -> None:
    """Say on stderr, and in the task's log when it can be written, why the task did not run."""
    reason = "the disk is full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
    line = (f"{NO_MARKER_LINE} in {started_file(result_file)}: {reason} ({error.strerror}); "
            "the task did not run.")
    print(line[2:], file=sys.stderr)
    try:
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(line + "\n")
    except OSError:
        pass


def run(argv: list[str], result_file: Path, log_file: Path, *, once: bool = False) -> int:
    """Run ``argv`` as a task; write its log and result file; return its exit code."""
    result_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if once:
        try:
            if not _claim(result_file):
                return EXIT_ALREADY_STARTED
        except OSError as error:
            _say_no_marker(result_file, log_file, error)
            return EXIT_NO_MARKER
    started, t0 = _now(), time.monotonic()
    host = socket.gethostname()
    received: list[int] = []
    with open(log_file, "ab", buffering=0) as log:
        log.write(f"# taskrun {started} on {host} pid {os.getpid()}: {' '.join(argv)}\n".encode())
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        except OSError as error:
            log.write(f"# taskrun: cannot start {argv[0]!r}: {error.strerror}\n".encode())
            code, sig = EXIT_CANNOT_START, None
        else:

            def forward(signum: int, _frame: object) -> None:
                received.append(signum)
                try:
                    child.send_signal(signum)
                except OSError:
                    pass

            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, forward)
            while True:
                try:
                    returncode = child.wait()
                    break
                except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                    continue
            if returncode < 0:
                sig, code = -returncode, 128 - returncode
            else:
                sig, code = None, returncode
            if sig is None and received and returncode != 0:
                sig = received[0]
        finished = _now()
        log.write(f"# taskrun {finished}: exit code {code}\n".encode())
    _write_atomic(
        result_file,
        {
            "exit_code": code,
            "signal": sig,
            "started": started,
            "finished": finished,
            "seconds": round(time.monotonic() - t0, 3),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1),
            "host": host,
            "pid": os.getpid(),
            "argv": argv,
        },
    )
    return code


def main(args: list[str] | None = None) -> int:
    """Entry point of ``python -m spoold.taskrun``."""
    parser = argparse.ArgumentParser(
        prog="python -m spoold.taskrun",
        description="Run one task of a request step: log its output, write its result file.",
    )
    parser.add_argument("--result", type=Path, required=True, help="result file (JSON) to write")
    parser.add_argument("--log", type=Path, required=True, help="log file to append to")
    parser.add_argument(
        "--once", action="store_true", help="refuse to run when this result file's task was started before"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- argv...")
    ns = parser.parse_args(args)
    command = list(ns.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("give the command after --")
    return run(command, ns.result, ns.log, once=ns.once)


if __name__ == "__main__":
    sys.exit(main())
