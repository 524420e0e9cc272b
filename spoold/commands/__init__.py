"""The subcommands of ``spool``: one module each (see :mod:`spoold.cli`).

:func:`act` is shared by cancel, retry, hold and release.
"""

from __future__ import annotations

import argparse
import json
import os
import time

#: seconds to wait for a running daemon to apply an action
ACTION_WAIT_SECONDS = 30.0


def add_id_argument(parser: argparse.ArgumentParser) -> None:
    """The request id argument."""
    parser.add_argument("id", help="the request id (as 'spool submit' printed it, or from 'spool status')")
    parser.add_argument("--no-wait", action="store_true",
                        help="leave the action for the daemon and return at once")


def act(args: argparse.Namespace, action: str) -> int:
    """Apply an action to a request: directly when no daemon serves the spool, else through it.

    When a daemon holds the spool's lock, the action is left in ``control/``
    and the daemon applies it on its next turn (the command waits for its
    answer); otherwise the command takes the lock itself and applies it, so
    both never touch a request at the same time.
    """
    from spoold.cli import SpoolCommandError, site_and_spool
    from spoold.daemon import Daemon
    from spoold.lock import SpoolLocked

    site, spool = site_and_spool(args)
    problems = spool.check_layout()
    if problems:
        raise SpoolCommandError(" ".join(problems))
    waiting_in_incoming = (spool.dir("incoming") / f"{args.id}.yaml").exists()
    if spool.find(args.id) is None and not waiting_in_incoming:
        raise SpoolCommandError(f"There is no request {args.id} in {spool.root}; see 'spool status'.")
    daemon = Daemon(site, spool_root=spool.root)
    daemon.lock.what = f"spool {action}"
    try:
        if waiting_in_incoming:
            raise SpoolLocked("the daemon has to pick it up first")
        daemon.lock.acquire()
    except SpoolLocked:
        pass
    else:
        try:
            print(daemon.apply(args.id, action))
        finally:
            daemon.stop()
        return 0
    done = spool.dir("control") / f".{args.id}.{action}.done"
    try:
        done.unlink()
    except FileNotFoundError:
        pass
    user = os.environ.get("USER", "")
    try:
        path = spool.control(args.id, action, by=user)
    except PermissionError:
        raise SpoolCommandError(f"You may not write into {spool.dir('control')}; ask the spool's administrator.")
    if args.no_wait:
        print(f"asked the daemon to {action} {args.id}.")
        return 0
    deadline = time.monotonic() + ACTION_WAIT_SECONDS
    while time.monotonic() < deadline:
        if done.exists() and not path.exists():
            try:
                print(json.loads(done.read_text(encoding="utf-8")).get("message", "done."))
                done.unlink()
            except (OSError, ValueError):
                print(f"{action}: done.")
            return 0
        time.sleep(0.1)
    print(f"asked the daemon to {action} {args.id}; it has not answered within {ACTION_WAIT_SECONDS:.0f} s "
          "and will do it when it next wakes.")
    return 0
