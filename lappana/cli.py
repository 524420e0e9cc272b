"""The ``lappana`` command and the analysts' old command names.

Each subcommand lives in its own module under :mod:`lappana.commands`, which
provides ``add_arguments(parser)`` and ``run(args) -> int``; the one-line help of each is
:data:`SUBCOMMAND_HELP`, here (one copy, and ``lappana --help`` imports no subcommand).
Modules are imported only when their subcommand runs, so ``lappana --help``
stays fast.

Errors a user can cause are raised as :class:`lappana.errors.LappanaError` and
printed as one sentence, with exit code 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from lappana import __version__
from lappana.errors import LappanaError

#: subcommand name -> module under lappana.commands
SUBCOMMANDS: dict[str, str] = {
    "simulate": "simulate",
    "dl2": "dl2",
    "irfs": "irfs",
    "dl3": "dl3",
    "index": "index",
    "check-dl2": "check_dl2",
    "check-dl3": "check_dl3",
    "theta2": "theta2",
    "skymap": "skymap",
    "diagnostics": "diagnostics",
    "report": "report",
}

#: Short help of each subcommand, kept here so that --help imports nothing heavy.
SUBCOMMAND_HELP: dict[str, str] = {
    "simulate": "simulate an LST-1-like night: DL1/DL2 runs, run catalogue, MC and IRFs",
    "dl2": "DL1 to DL2 with the real lstchain_dl1_to_dl2 in the site's lstchain environment",
    "irfs": "IRFs for lstchain models: simulated MC gammas through the real lstchain_dl1_to_dl2 and "
            "lstchain_create_irf_files",
    "dl3": "DL2 to DL3 (GADF) natively, with the gammaness cut of the IRF",
    "index": "write hdu-index and obs-index for a folder of DL3 files",
    "check-dl2": "check DL2 files: readable, complete, sane",
    "check-dl3": "check DL3 files against what gammapy needs",
    "theta2": "theta² distribution and Li & Ma significance from DL3 files",
    "skymap": "counts, background, excess and significance maps around the source",
    "diagnostics": "per-run diagnostics: rates, zenith, gammaness, cosmic-ray rate",
    "report": "summary.json and a self-contained report.html",
}


def _load(module_name: str):
    return importlib.import_module(f"lappana.commands.{module_name}")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``lappana`` with every subcommand's arguments."""
    parser = argparse.ArgumentParser(
        prog="lappana",
        description="LST-1 analysis: DL1 to DL3 and high-level results of one source.",
    )
    parser.add_argument("--version", action="version", version=f"lappana {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        sub.add_parser(name, help=SUBCOMMAND_HELP[name], description=SUBCOMMAND_HELP[name])
    return parser


def _run(argv: list[str], prog_command: str | None = None) -> int:
    if prog_command is not None:
        argv = [prog_command, *argv]
    if not argv or argv[0] not in SUBCOMMANDS:
        # No subcommand: the top-level parser prints help, the version or a usage error.
        parser = build_parser()
        parser.parse_args(argv)
        parser.print_help()
        return 2
    command = argv[0]
    from lappana.env import offline_astropy  # a setting of the process: made here, not by an import

    offline_astropy()
    module = _load(SUBCOMMANDS[command])
    prog = f"lappana {command}" if prog_command is None else _OLD_NAMES.get(prog_command, prog_command)
    sub_parser = argparse.ArgumentParser(prog=prog, description=SUBCOMMAND_HELP[command])
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except LappanaError as exc:
        print(f"{sub_parser.prog}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`lappana check-dl2 ... | head -1`): not an error of ours, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{sub_parser.prog}: interrupted.", file=sys.stderr)
        return 130


_OLD_NAMES = {
    "dl2": "create_dl2_LP",
    "dl3": "create_dl3_LP",
    "index": "create_index_LP",
    "check-dl2": "check_dl2",
    "check-dl3": "check_dl3",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``lappana``."""
    return _run(list(sys.argv[1:] if argv is None else argv))


def create_dl2_LP(argv: list[str] | None = None) -> int:  # noqa: N802 - the analysts' name
    """Old name of ``lappana dl2``."""
    return _run(list(sys.argv[1:] if argv is None else argv), "dl2")


def create_dl3_LP(argv: list[str] | None = None) -> int:  # noqa: N802
    """Old name of ``lappana dl3``."""
    return _run(list(sys.argv[1:] if argv is None else argv), "dl3")


def create_index_LP(argv: list[str] | None = None) -> int:  # noqa: N802
    """Old name of ``lappana index``."""
    return _run(list(sys.argv[1:] if argv is None else argv), "index")


def check_dl2(argv: list[str] | None = None) -> int:
    """Old name of ``lappana check-dl2``."""
    return _run(list(sys.argv[1:] if argv is None else argv), "check-dl2")


def check_dl3(argv: list[str] | None = None) -> int:
    """Old name of ``lappana check-dl3``."""
    return _run(list(sys.argv[1:] if argv is None else argv), "check-dl3")


if __name__ == "__main__":
    sys.exit(main())
