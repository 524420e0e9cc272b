"""The one flag vocabulary of lappana's subcommands, with the older spellings as aliases.

Every subcommand spells the same thing the same way:

- ``-o/--output`` the folder (or file) it writes; ``--output-dir`` is an alias;
- ``--source-name``, ``--source-ra``, ``--source-dec`` the target, as lstchain's
  ``lstchain_create_dl3_file`` spells them; ``--ra`` and ``--dec`` are aliases. An
  angle is degrees (``83.633``) or any angle astropy reads (``83.633deg``, ``5h34m31.9s``);
- its inputs as positional arguments, and also under the option lstchain's own tool
  gives them (``-d/--input-dl2`` for ``dl3``, ``-d/--input-dl3-dir`` for ``index``,
  ``-f/--input-files`` for ``dl2``), so that the analysts' old names (``create_dl3_LP``
  …), which took lstchain's flags, still take them;
- ``--irf-nearest`` the nearest IRF node instead of the interpolated IRF (lstchain's
  ``--use-nearest-irf-node`` is an alias), into ``args.irf_method``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lappana.irf_method import IRF_INTERPOLATE, IRF_NEAREST
from lappana.errors import LappanaError

__all__ = ["add_output", "add_source", "add_inputs", "inputs", "angle_deg", "add_irf_method"]


def angle_deg(text: str) -> float:
    """Read an angle given on the command line: plain degrees, or an angle with its unit."""
    try:
        return float(text)
    except ValueError:
        pass
    from astropy.coordinates import Angle

    try:
        return float(Angle(text).deg)
    except Exception:  # astropy raises several kinds for text that is no angle
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an angle: give degrees (83.633) or an angle with its unit (83.633deg, 5h34m31.9s)"
        ) from None


def add_output(parser: argparse.ArgumentParser, help: str, *, metavar: str = "OUT", required: bool = True,
               old: tuple[str, ...] = ()) -> None:
    """``-o/--output`` (alias ``--output-dir`` and the old tool's spellings ``old``), into ``args.output``."""
    parser.add_argument("-o", "--output", "--output-dir", *old, dest="output", type=Path, required=required,
                        metavar=metavar, help=help)


def add_source(parser: argparse.ArgumentParser, *, required: bool = False, defaults: tuple | None = None,
               default_help: str = "") -> None:
    """``--source-name``, ``--source-ra`` (``--ra``), ``--source-dec`` (``--dec``), in degrees."""
    name, ra, dec = defaults if defaults is not None else (None, None, None)
    tail = f" (default: {default_help})" if default_help else ""
    parser.add_argument("--source-name", required=required, default=name, help=f"the target's name{tail}")
    parser.add_argument("--source-ra", "--ra", dest="source_ra", type=angle_deg, required=required, default=ra,
                        metavar="ANGLE", help=f"the target's RA, ICRS (degrees or an angle with its unit){tail}")
    parser.add_argument("--source-dec", "--dec", dest="source_dec", type=angle_deg, required=required,
                        default=dec, metavar="ANGLE",
                        help=f"the target's Dec, ICRS (degrees or an angle with its unit){tail}")


def add_irf_method(parser: argparse.ArgumentParser) -> None:
    """``--irf-nearest`` (alias ``--use-nearest-irf-node``): ``args.irf_method`` is nearest, else interpolate."""
    parser.add_argument("--irf-nearest", "--use-nearest-irf-node", dest="irf_method", action="store_const",
                        const=IRF_NEAREST, default=IRF_INTERPOLATE,
                        help="take the IRF node nearest to each run unchanged instead of interpolating between "
                             "the nodes around it (lstchain's default)")


def add_inputs(parser: argparse.ArgumentParser, dest: str, *, metavar: str, help: str, option: tuple[str, ...],
               many: bool = True) -> None:
    """Inputs as positional arguments or after ``option`` (lstchain's spelling); read them with :func:`inputs`."""
    parser.add_argument(dest, nargs="*" if many else "?", type=Path, metavar=metavar, help=help)
    parser.add_argument(*option, dest=f"{dest}_option", action="extend" if many else "store",
                        nargs="+" if many else None, type=Path, metavar=metavar,
                        help=f"the same as the positional {metavar}, as lstchain's tool spells it")


def inputs(args: argparse.Namespace, dest: str, *, what: str, option: str) -> list[Path]:
    """The inputs given either way, in order; a sentence when there are none."""
    given = getattr(args, dest)
    given = [] if given is None else ([given] if isinstance(given, Path) else list(given))
    extra = getattr(args, f"{dest}_option")
    given += [] if extra is None else ([extra] if isinstance(extra, Path) else list(extra))
    if not given:
        raise LappanaError(f"Give the {what}: as arguments, or after {option}.")
    return given
