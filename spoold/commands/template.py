"""``spool template``: print an annotated request that validates."""

from __future__ import annotations

import argparse
from importlib import resources

__all__ = ["HELP", "template_text", "add_arguments", "run"]

HELP = "print an annotated example request (save it, edit it, submit it)"


def template_text() -> str:
    """Return the annotated request template (``spoold/data/request-template.yaml``)."""
    return resources.files("spoold").joinpath("data/request-template.yaml").read_text("utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-o FILE`` (write the template to a file instead of the terminal)."""
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help="write the template to FILE (refuses to overwrite) instead of printing it",
    )


def run(args: argparse.Namespace) -> int:
    """Print (or write) the template; return 0, or 1 when FILE exists already."""
    text = template_text()
    output = getattr(args, "output", None)
    if output is None:
        print(text, end="")
        return 0
    try:
        with open(output, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        print(f"{output} exists already; choose another name or remove it first.")
        return 1
    print(f"Wrote the request template to {output}; edit it, then run 'spool validate {output}'.")
    return 0
