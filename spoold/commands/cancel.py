"""``spool cancel ID``: cancel a request (pending, running or held) and stop its tasks."""

from __future__ import annotations

import argparse

from spoold.commands import act, add_id_argument
from spoold.states import Action


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ID`` and ``--no-wait``."""
    add_id_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Cancel a request (pending, running or held) and stop its tasks."""
    return act(args, Action.CANCEL)
