"""``lappana irfs``: IRFs for a set of lstchain models, by the real lstchain from simulated MC."""

from __future__ import annotations

import argparse
import os
import sys

from lappana.commands._flags import add_output
from lappana.errors import LappanaError



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``lappana irfs``."""
    from lappana.model_irfs import CUT_SETS, DEFAULT_AZIMUTH_DEG, DEFAULT_THROWN, DEFAULT_ZENITH_NODES_DEG

    add_output(parser, f"folder for the IRF sets ({', '.join(CUT_SETS)}), one subfolder each", metavar="DIR")
    parser.add_argument("--lstchain-env", default=os.environ.get("ASTRAN_LSTCHAIN_ENV"), metavar="ENV",
                        help="lstchain environment: a venv or its bin/ folder, or a command prefix "
                        "(default: $ASTRAN_LSTCHAIN_ENV)")
    parser.add_argument("--models", default=os.environ.get("ASTRAN_LSTCHAIN_MODELS"), metavar="DIR",
                        help="folder of the trained models the IRFs are for (default: $ASTRAN_LSTCHAIN_MODELS)")
    parser.add_argument("--config", metavar="JSON",
                        help="lstchain configuration for DL1 to DL2 (default: the models' lstchain_config.json)")
    parser.add_argument("--zenith", type=float, nargs="+", default=list(DEFAULT_ZENITH_NODES_DEG), metavar="DEG",
                        help="zenith angles of the pointing nodes (default: %(default)s)")
    parser.add_argument("--azimuth", type=float, default=DEFAULT_AZIMUTH_DEG, metavar="DEG",
                        help="azimuth of the nodes (default: %(default)s)")
    parser.add_argument("--thrown", type=int, default=DEFAULT_THROWN, metavar="N",
                        help="MC gammas thrown per node (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the MC gammas (default: %(default)s)")
    parser.add_argument("--set", dest="sets", action="append", metavar="NAME",
                        help="an IRF set to make, named by its cuts: eff_ghG_thT (efficiency cuts) or "
                        f"global_ghG_thetaT (a global cut); again for more (default: {', '.join(CUT_SETS)})")
    parser.add_argument("--add", action="store_true",
                        help="add nodes or sets to an IRF folder made before: its irf-recipe.json (how its sets "
                        "were made) is left as it is")


def run(args: argparse.Namespace) -> int:
    """Make the IRF sets; print one line per piece of work and the files at the end."""
    from lappana.model_irfs import cut_set_options, make_model_irfs

    if not args.lstchain_env:
        raise LappanaError("Say which lstchain to use: --lstchain-env ENV (or set ASTRAN_LSTCHAIN_ENV).")
    if not args.models:
        raise LappanaError("Say which models the IRFs are for: --models DIR (or set ASTRAN_LSTCHAIN_MODELS).")
    if args.thrown < 10_000:
        raise LappanaError(f"--thrown {args.thrown} is too few gammas for an IRF; give 10000 or more.")
    cut_sets = {name: cut_set_options(name) for name in args.sets} if args.sets else None
    made = make_model_irfs(
        args.models, args.output, lstchain_env=args.lstchain_env, config=args.config,
        zenith_nodes_deg=args.zenith, azimuth_deg=args.azimuth, seed=args.seed, n_thrown=args.thrown,
        progress=lambda line: print(line, file=sys.stderr, flush=True), cut_sets=cut_sets,
        write_recipe=not args.add,
    )
    for files in made.values():
        for path in files:
            print(path)
    return 0
