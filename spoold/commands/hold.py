"""``spool hold ID``: hold a request: a pending one at once, a running one when its current step ends."""

from __future__ import annotations

import argparse

from spoold.commands import act, add_id_argument
from spoold.states import Action


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ID`` and ``--no-wait``."""
    add_id_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Hold a request: a pending one at once, a running one when its current step ends."""
    return act(args, Action.HOLD)
