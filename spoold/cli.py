"""The ``spool`` command for users: init, template, validate, submit, status, standing, cancel, retry, hold, release.

Each subcommand is a module under :mod:`spoold.commands` that defines
``HELP`` (optional), ``add_arguments(parser)`` and ``run(args) -> int``. Every
subcommand takes ``--spool DIR`` (default: the site file's spool, else
``./spool``) and ``--config SITE``; modules get the site and the spool with
:func:`site_and_spool`. Errors a user can cause are raised as
:class:`SpoolCommandError` (or ``SiteError``) and printed as sentences, exit 2;
an action refused for the request's state (:class:`ActionRefused`: a retry of a
done request, a release of one that is not held ...) exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from spoold import __version__
from spoold.states import Action

#: subcommand -> (module under spoold.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "create a spool's folders"),
    "template": ("template", "print an annotated example request that validates"),
    "validate": ("validate", "check a request file: exactly the messages the daemon would give"),
    "submit": ("submit", "validate a request and put it into the spool; prints its id"),
    "status": ("status", "list requests with their step and progress, or one request in detail"),
    "standing": ("standing", "add, list, show or remove standing orders: one request per night a source was observed"),
    # the actions the daemon applies (spoold.states.Action), each its own module
    Action.CANCEL.value: (Action.CANCEL.value, "cancel a request and stop its tasks"),
    Action.RETRY.value: (Action.RETRY.value, "put a failed or cancelled request back in the queue (history is kept)"),
    Action.HOLD.value: (Action.HOLD.value, "hold a request until 'spool release'"),
    Action.RELEASE.value: (Action.RELEASE.value, "let a held request go on"),
}


class SpoolCommandError(Exception):
    """A problem the user can fix; the message is one or more sentences."""

    #: the exit status of ``spool`` when this is raised
    exit_code = 2


class ActionRefused(SpoolCommandError):
    """cancel, hold, release or retry does not apply to the request in its state; nothing was changed."""

    exit_code = 1


def add_common(parser: argparse.ArgumentParser) -> None:
    """Add --spool and --config to a (sub)parser."""
    parser.add_argument("--spool", type=Path, default=argparse.SUPPRESS,
                        help="the spool root (default: the site file's, else ./spool)")
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="the site file (YAML; without it: $ASTRAN_SITE, else /etc/astran/site.yaml if there)")


def site_and_spool(args: argparse.Namespace) -> tuple[Any, Any]:
    """Return (Site, Spool) for a subcommand's arguments.

    Raises
    ------
    SpoolCommandError
        When the site file is not valid.
    """
    from spoold.site import SiteError, find_site_file, load_site
    from spoold.spool import Spool

    try:
        site = load_site(find_site_file(getattr(args, "config", None)), spool_root=getattr(args, "spool", None))
    except SiteError as error:
        raise SpoolCommandError("\n".join(error.errors)) from None
    return site, Spool(site.spool_root)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser (subcommands are parsed in a second pass)."""
    parser = argparse.ArgumentParser(prog="spool", description="Submit and follow astran analysis requests.")
    parser.add_argument("--version", action="version", version=f"spool {__version__}")
    add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=text, description=text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``spool``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    first, rest = parser.parse_known_args(argv)
    if getattr(first, "command", None) is None:
        parser.print_help()
        return 2
    module_name, text = SUBCOMMANDS[first.command]
    module = importlib.import_module(f"spoold.commands.{module_name}")
    sub_parser = argparse.ArgumentParser(prog=f"spool {first.command}", description=text)
    add_common(sub_parser)
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(rest)
    for name in ("spool", "config"):
        if not hasattr(args, name):
            setattr(args, name, getattr(first, name, None))
    try:
        return int(module.run(args) or 0)
    except SpoolCommandError as error:
        print(f"spool {first.command}: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # the reader went away (`spool status | head -3`): not an error of ours, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"spool {first.command}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # run as ``python -m spoold.cli``: use the imported module, so that its
    # SpoolCommandError is the class the subcommands raise
    from spoold.cli import main as _main

    sys.exit(_main())
