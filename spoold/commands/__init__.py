"""The subcommands of ``spool``: one module each (see :mod:`spoold.cli`).

:func:`act` is shared by cancel, retry, hold and release; :func:`check_id` by
every subcommand that takes a request id.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

#: seconds to wait for a running daemon to apply an action
ACTION_WAIT_SECONDS = 30.0
#: at most this many characters of a bad id are repeated back to the user
SHOWN_ID_CHARS = 60


def add_id_argument(parser: argparse.ArgumentParser) -> None:
    """The request id argument."""
    parser.add_argument("id", help="the request id (as 'spool submit' printed it, or from 'spool status')")
    parser.add_argument("--no-wait", action="store_true",
                        help="leave the action for the daemon and return at once")


def check_id(request_id: str) -> str:
    """Return ``request_id`` when it has the form of a request id, before any path is made from it.

    Raises
    ------
    SpoolCommandError
        With a sentence saying what an id looks like.
    """
    from spoold.cli import SpoolCommandError
    from spoold.spool import ID_RE

    if ID_RE.match(request_id):
        return request_id
    shown = request_id if len(request_id) <= SHOWN_ID_CHARS else request_id[:SHOWN_ID_CHARS] + "…"
    raise SpoolCommandError(
        f"{shown!r} is not a request id: an id looks like 20231208-101500-crab-nebula-3f9a (the date and "
        "time of submission, a name, four hex digits), as 'spool submit' printed it; "
        "'spool status' lists the ids in this spool."
    )


def act(args: argparse.Namespace, action: str) -> int:
    """Apply an action to a request: directly when no daemon serves the spool, else through it.

    When a daemon holds the spool's lock, the action is left in ``control/``
    and the daemon applies it on its next turn (the command waits for its
    answer); otherwise the command takes the lock itself and applies it with
    :class:`spoold.daemon.controls.Controls`, so both never touch a request at
    the same time.

    Returns
    -------
    int
        0 when the action was done (or left for the daemon with ``--no-wait``).

    Raises
    ------
    SpoolCommandError
        For a bad id or spool; :class:`spoold.cli.ActionRefused` when the
        request is not in a state where the action applies.
    """
    from spoold.cli import SpoolCommandError, site_and_spool
    from spoold.lock import SpoolLock, SpoolLocked

    request_id = check_id(args.id)
    site, spool = site_and_spool(args)
    problems = spool.check_layout()
    if problems:
        raise SpoolCommandError(" ".join(problems))
    waiting_in_incoming = (spool.dir("incoming") / f"{request_id}.yaml").exists()
    if spool.find(request_id) is None and not waiting_in_incoming:
        raise SpoolCommandError(f"There is no request {request_id} in {spool.root}; see 'spool status'.")
    if waiting_in_incoming and not _daemon_serves(spool):
        spool.control(request_id, action, by=os.environ.get("USER", ""))
        print(f"{request_id} is still in incoming and no daemon serves {spool.root}: the {action} is left in "
              f"{spool.dir('control')} and is applied when spoold takes the request.")
        return 0
    lock = SpoolLock(spool.root)
    lock.what = f"spool {action}"
    try:
        if waiting_in_incoming:
            raise SpoolLocked("the daemon has to pick it up first")
        lock.acquire()
    except SpoolLocked:
        pass
    else:
        try:
            answer = _apply_here(site, spool, request_id, action)
        finally:
            lock.release()
        return _report(answer.ok, answer.message)
    done = spool.dir("control") / f".{request_id}.{action}.done"
    done.unlink(missing_ok=True)  # an old answer to the same action
    try:
        path = spool.control(request_id, action, by=os.environ.get("USER", ""))
    except PermissionError:
        raise SpoolCommandError(f"You may not write into {spool.dir('control')}; ask the spool's administrator.")
    if args.no_wait:
        print(f"asked the daemon to {action} {request_id}.")
        return 0
    answer = _wait_for_answer(path, done)
    if answer is None:
        print(f"asked the daemon to {action} {request_id}; it has not answered within {ACTION_WAIT_SECONDS:.0f} s "
              "and will do it when it next wakes.")
        return 0
    ok, message = answer
    return _report(ok, message)


def _apply_here(site, spool, request_id: str, action: str):
    """Apply an action with the spool's lock held and no daemon: controls and a journal, no daemon.

    The executor (to stop a cancelled request's tasks) is made only when there are some, and closed after.
    """
    from spoold.daemon.controls import Controls
    from spoold.daemon.journal import Journal
    from spoold.executors import make_executor

    made = []

    def executor():
        if not made:
            made.append(make_executor(site))
        return made[0]

    try:
        return Controls(spool, Journal(spool), executor).apply(request_id, action)
    finally:
        for one in made:
            one.close()


def _daemon_serves(spool) -> bool:
    """True when a live spoold holds the spool's lock (by its record)."""
    from spoold.lock import holder_alive, read_holder

    info = read_holder(spool.root)
    return bool(info) and str(info.get("what", "spoold")) == "spoold" and holder_alive(info)


def _wait_for_answer(asked: Path, done: Path) -> tuple[bool, str] | None:
    """Wait for the daemon's answer to the control file ``asked``; None when it does not come in time.

    The daemon writes ``done`` (``{"ok": ..., "message": ...}``), then removes
    ``asked``; an answer without ``ok`` (an older daemon) counts as done.
    """
    deadline = time.monotonic() + ACTION_WAIT_SECONDS
    while time.monotonic() < deadline:
        if done.exists() and not asked.exists():
            try:
                data = json.loads(done.read_text(encoding="utf-8"))
                done.unlink()
            except (OSError, ValueError):
                return True, "done."
            if not isinstance(data, dict):
                return True, "done."
            return bool(data.get("ok", True)), str(data.get("message") or "done.")
        time.sleep(0.1)
    return None


def _report(ok: bool, message: str) -> int:
    """Print a done action's sentence and return 0, or raise ActionRefused with it."""
    from spoold.cli import ActionRefused

    if not ok:
        raise ActionRefused(message)
    print(message)
    return 0
