"""The quick half of ``check-realism``: the 70 % cuts of freshly trained forests against LST-1's.

The gammaness and θ cuts of an IRF come from MC gammas only, so whether a set of random
forests puts them where LST-1's tables have them needs no simulated run: train forests with
the real ``lstchain_mc_trainpipe`` on simulated MC (:func:`lappana.simulate.realism.train_models`),
make their IRFs with the real ``lstchain_create_irf_files`` at each zenith
(:func:`lappana.model_irfs.make_model_irfs`), and print per reconstructed-energy bin the
cuts next to the table's. About two minutes on 2 cores, so several trainings (``--mc-seed``)
show how far the cuts move from one training to the next.

    python -m lappana.simulate.realism_cuts --lstchain-env ENV --config JSON [--mc-seed N]
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Reconstructed-energy range (TeV) of issue 12's acceptance of the cuts, and its bounds.
ACCEPTANCE_RANGE_TEV = (0.05, 5.0)
ACCEPTANCE = {10.0: 0.25, 40.0: 0.35}


def cut_ratios(irf_file: Path, lstchain_data: Path, zenith_deg: float, gh_efficiency: float = 0.7,
               theta_containment: float = 0.7) -> list[tuple[float, float, float, float, float, float]]:
    """Per bin of an IRF: ``(lo, hi, gh cut, LST-1's, θ cut, LST-1's)``, the table's nearest bin."""
    from lappana.simulate.lst1_tables import read_lst1_performance
    from lappana.simulate.realism import _read_cuts

    lo, hi, gh, rad = _read_cuts(irf_file)
    table = read_lst1_performance(lstchain_data, zenith_deg, gh_efficiency, theta_containment)
    centres = np.sqrt(table.energy_lo_tev * table.energy_hi_tev)
    rows = []
    for i in range(lo.size):
        j = int(np.argmin(np.abs(np.log(centres / np.sqrt(lo[i] * hi[i])))))
        rows.append((float(lo[i]), float(hi[i]), float(gh[i]), float(table.gh_cut[j]),
                     float(rad[i]), float(table.theta_cut_deg[j])))
    return rows


def format_rows(zenith_deg: float, rows) -> str:
    """The bins of the acceptance range, with the ratios and the bins outside the bound marked."""
    bound = ACCEPTANCE.get(zenith_deg, 0.35)
    lines = [f"zenith {zenith_deg:g}° (bound ±{bound:.0%})", "  E_reco (TeV)   gh cut sim/LST-1 ratio | θ cut sim/LST-1 ratio"]
    for lo, hi, gh, gh_t, th, th_t in rows:
        if lo < 0.99 * ACCEPTANCE_RANGE_TEV[0] or hi > 1.01 * ACCEPTANCE_RANGE_TEV[1]:
            continue
        mark = "" if abs(gh / gh_t - 1.0) <= bound and abs(th / th_t - 1.0) <= bound else "  outside"
        lines.append(f"  {lo:.3f}-{hi:.3f}   {gh:.2f}/{gh_t:.2f} {gh / gh_t:5.2f} | {th:.3f}/{th_t:.3f} {th / th_t:5.2f}{mark}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lappana.simulate.realism_cuts``."""
    import argparse
    import shutil

    from lappana.env import offline_astropy
    from lappana.model_irfs import make_model_irfs
    from lappana.paths import irf_set_name
    from lappana.simulate.realism import add_common_arguments, lstchain_data, train_models

    offline_astropy()
    parser = argparse.ArgumentParser(prog="realism_cuts", description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--mc-seed", type=int, default=2024, help="seed of the training MC (setup-lstchain's: 2024)")
    parser.add_argument("--mc-events", type=int, default=20_000, help="MC events per particle for training")
    parser.add_argument("--thrown", type=int, default=200_000, help="IRF gammas thrown per zenith")
    parser.add_argument("--seed", type=int, default=12, help="seed of the IRF MC (check-realism's: 12)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    data = lstchain_data(args.lstchain_env, "realism_cuts")
    if data is None:
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="astran-realism-cuts."))
    name = irf_set_name(gh_efficiency=0.7, theta_containment=0.7)
    cut_set = {name: ("--energy-dependent-gh", "--energy-dependent-theta", "--gh-efficiency=0.7",
                      "--theta-containment=0.7")}
    try:
        models = args.models or train_models(work, lstchain_env=args.lstchain_env, config=args.config.resolve(),
                                             seed=args.mc_seed, mc_events=args.mc_events)
        irfs = make_model_irfs(models, work / "IRF", lstchain_env=args.lstchain_env, zenith_nodes_deg=args.zenith,
                               seed=args.seed, n_thrown=args.thrown, cut_sets=cut_set)
        for i, zenith in enumerate(args.zenith):
            print(format_rows(zenith, cut_ratios(irfs[name][i], data, zenith)))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
