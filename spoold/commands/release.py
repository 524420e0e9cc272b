"""``spool release ID``: let a held request go on where it was."""

from __future__ import annotations

import argparse

from spoold.commands import act, add_id_argument
from spoold.states import Action


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ID`` and ``--no-wait``."""
    add_id_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Let a held request go on where it was."""
    return act(args, Action.RELEASE)
