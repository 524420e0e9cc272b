"""Are the light curves' errors right? Pulls of night- and run-wise fluxes over many seeds.

For each seed, the three steady nights of ``tests/lappana/highlevel/test_lightcurve.py``
(0.5, 1 and 2 Crab, 2 × 10 min each, LST-1's cosmic-ray rate above 0.2 TeV) are simulated
and analysed as that test does; the pulls (measured − injected) / error, and (measured −
realised) / error with the flux the night's gammas drew (the truth file's counts), are
collected, and their mean and rms printed per flux level with the Poisson z of the draws.
Right errors give pulls against the injected flux with mean 0 and rms 1. Run by
``scripts/check-lightcurve-pulls`` (about a minute per seed on one core).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

NIGHTS = [{"night": dt.date(2023, 12, 7 + i), "n_runs": 2, "run_minutes": 10, "source_flux": flux}
          for i, flux in enumerate((0.5, 1.0, 2.0))]


def _realised(runs: list[dict], injected: float) -> tuple[float, float]:
    """The flux the runs' gammas drew (Crab units), and the Poisson z of the draw."""
    drawn = sum(r["n_gamma_after_cuts"] for r in runs)
    expected = sum(r["expected_gamma_rate_after_cuts_per_min"] * r["livetime_s"] / 60.0 for r in runs)
    return injected * drawn / expected, (drawn - expected) / math.sqrt(expected)


def one_seed(seed: int, work: Path) -> list[dict]:
    """The night- and run-wise values of one seed: {kind, injected, crab, err, realised, z}."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from lappana.highlevel.lightcurve import LightCurveMaker
    from lappana.highlevel.onoff1d import OnOffMaker, read_observations
    from lappana.highlevel.spectrum import SpectrumEstimator
    from tests.helpers.highlevel import FLUX_BAND_TEV, make_flux_nights

    dl3, truths = make_flux_nights(work, NIGHTS, seed=seed)
    maker = OnOffMaker(SkyCoord(83.633, 22.014, unit="deg"), energy_range=list(FLUX_BAND_TEV) * u.TeV)
    observations = read_observations(dl3)
    datasets = maker.run(observations)
    result = SpectrumEstimator(flux_points=False).run(datasets)
    values = []
    for kind, groups in (("night", [t["runs"] for t in truths]), ("run", [[r] for t in truths for r in t["runs"]])):
        lc = LightCurveMaker(result, maker, kind).run(observations, datasets)
        for runs, flux, error in zip(groups, lc.crab_units, lc.crab_units_error):
            injected = runs[0]["source_flux_crab"]
            realised, z = _realised(runs, injected)
            values.append({"seed": seed, "kind": kind, "injected": injected, "crab": float(flux),
                           "err": float(error), "realised": realised, "z": z})
    return values


def summary(values: list[dict]) -> list[str]:
    """Mean (± its error) and rms of the pulls per kind and flux level, and of the draws' z."""
    lines = []
    for kind in ("night", "run"):
        for level in sorted({v["injected"] for v in values}) + [None]:
            chosen = [v for v in values if v["kind"] == kind and (level is None or v["injected"] == level)]
            if not chosen:
                continue
            cols = []
            for name, pulls in (("vs injected", [(v["crab"] - v["injected"]) / v["err"] for v in chosen]),
                                ("vs realised", [(v["crab"] - v["realised"]) / v["err"] for v in chosen]),
                                ("draw z", [v["z"] for v in chosen])):
                p = np.asarray(pulls)
                spread = f" ± {p.std(ddof=1) / math.sqrt(p.size):.2f}" if p.size > 1 else ""
                cols.append(f"{name} {p.mean():+.2f}{spread} rms {np.sqrt(np.mean(p**2)):.2f}")
            label = "all" if level is None else f"{level:g} Crab"
            lines.append(f"{kind:5s} {label:8s} n={len(chosen):3d}  " + "   ".join(cols))
    beyond = sum(abs(v["crab"] - v["injected"]) > 3 * v["err"] for v in values if v["kind"] == "night")
    lines.append(f"nights beyond 3 sigma of the injected flux: {beyond} of "
                 f"{sum(v['kind'] == 'night' for v in values)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check-lightcurve-pulls", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds, from --first (default: 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default: 1)")
    parser.add_argument("--json", type=Path, help="also write every value as JSON lines here")
    args = parser.parse_args(argv)
    values = []
    for seed in range(args.first, args.first + args.seeds):
        work = Path(tempfile.mkdtemp(prefix=f"lc-pulls-{seed}-"))
        try:
            found = one_seed(seed, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        values += found
        nights = [f"{(v['crab'] - v['injected']) / v['err']:+.2f}" for v in found if v["kind"] == "night"]
        print(f"seed {seed}: night-wise pulls vs injected {', '.join(nights)}", flush=True)
        if args.json:
            with args.json.open("a") as out:
                out.writelines(json.dumps(v) + "\n" for v in found)
    print("\n".join(summary(values)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
