"""``lappana dl2`` (old name ``create_dl2_LP``): DL1 → DL2 with the real lstchain."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lappana.commands._flags import add_inputs, add_output, inputs
from lappana.errors import LappanaError



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``lappana dl2``."""
    add_inputs(parser, "dl1", metavar="DL1", help="DL1 file(s), e.g. dl1_LST-1.Run15864.h5",
               option=("-f", "--input-files"))
    add_output(parser, "folder for the DL2 files (with --cache: where to link them; optional)", metavar="OUTDIR",
               required=False)
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="make each DL2 file once, into this cache keyed by the DL1 file, models, lstchain and "
                        "configuration, or reuse the one there (lappana.dl2_cache)")
    parser.add_argument(
        "--lstchain-env",
        default=os.environ.get("ASTRAN_LSTCHAIN_ENV"),
        metavar="ENV",
        help="lstchain environment: a venv or its bin/ folder, or a command prefix such as "
        "'conda run -n lst-0.12.3' (default: $ASTRAN_LSTCHAIN_ENV)",
    )
    parser.add_argument(
        "--models", "-p", "--path-models",
        dest="models",
        default=os.environ.get("ASTRAN_LSTCHAIN_MODELS"),
        metavar="DIR",
        help="folder of trained models: reg_energy.sav, cls_gh.sav, reg_disp_norm.sav, "
        "cls_disp_sign.sav (default: $ASTRAN_LSTCHAIN_MODELS)",
    )
    parser.add_argument(
        "-c", "--config",
        metavar="JSON",
        help="lstchain configuration (default: lstchain_config.json in the models folder, "
        "else lstchain's standard one)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing DL2 files")
    parser.add_argument("--log", metavar="FILE", help="lstchain's log (default: OUTDIR/<dl2 name>.log); one DL1 only")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop lstchain after this long")


def run(args: argparse.Namespace) -> int:
    """Run lstchain_dl1_to_dl2 on each DL1 file; print one line per DL2 file written."""
    from lappana.dl2 import run_dl1_to_dl2

    if not args.lstchain_env:
        raise LappanaError("Say which lstchain to use: --lstchain-env ENV (or set ASTRAN_LSTCHAIN_ENV).")
    if not args.models:
        raise LappanaError("Say which models to use: --models DIR (or set ASTRAN_LSTCHAIN_MODELS).")
    if args.output is None and args.cache is None:
        raise LappanaError("Say where the DL2 files go: -o OUTDIR, or --cache DIR.")
    dl1_files = inputs(args, "dl1", what="DL1 file(s)", option="-f/--input-files")
    if args.cache is not None:
        return _run_cached(args, dl1_files)
    if args.log and len(dl1_files) > 1:
        raise LappanaError("--log takes one DL1 file; leave it out to get one log per DL1 file.")
    for dl1 in dl1_files:
        result = run_dl1_to_dl2(
            dl1,
            args.output,
            lstchain_env=args.lstchain_env,
            models_dir=args.models,
            config=args.config,
            overwrite=args.overwrite,
            log_path=args.log,
            timeout=args.timeout,
        )
        print(f"{result.dl2_path}: {result.n_events} events in {result.seconds:.1f} s (log {result.log_path})")
    return 0


def _run_cached(args: argparse.Namespace, dl1_files) -> int:
    """``--cache``: make or reuse each DL1 file's cache entry; link it into ``-o`` when given."""
    from lappana.dl2_cache import link_entry_into, make_cached_dl2

    for dl1 in dl1_files:
        entry = make_cached_dl2(dl1, args.cache, lstchain_env=args.lstchain_env, models_dir=args.models,
                                config=args.config, timeout=args.timeout)
        linked = f", linked as {link_entry_into(entry.dl2_path, args.output)[0]}" if args.output is not None else ""
        print(f"{entry.dl2_path}: {'made' if entry.made else 'reused'} (cache key {entry.key}){linked}")
    return 0
