"""``spool retry ID``: put a failed or cancelled request back into pending; its history is kept in state.json."""

from __future__ import annotations

import argparse

from spoold.commands import act, add_id_argument
from spoold.states import Action


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ID`` and ``--no-wait``."""
    add_id_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Put a failed or cancelled request back into pending; its history is kept in state.json."""
    return act(args, Action.RETRY)
