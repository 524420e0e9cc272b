"""``simulation.json``: what a simulated night was made with and what it holds, for tests to compare with."""

from __future__ import annotations

import json
from pathlib import Path

from lappana import __version__
from lappana.simulate import model
from lappana.simulate.events import RunSettings
from lappana.simulate.variability import Flare, injected_spectrum

__all__ = ["injected_truth", "locals_for_truth", "write_truth"]

def locals_for_truth(source_name, source_ra, source_dec, n_runs, run_minutes, first_run, seed,
                     levels, mc, irfs, source_flux, settings: RunSettings, mc_events,
                     flare: Flare | None = None, subrun_events: int | None = None) -> dict:
    """The parameters of a simulation, as recorded in ``simulation.json``."""
    return {
        "source_name": source_name, "source_ra": source_ra, "source_dec": source_dec,
        "n_runs": n_runs, "run_minutes": run_minutes, "first_run": first_run, "seed": seed,
        "levels": list(levels), "mc": mc, "irfs": irfs, "source_flux_crab": source_flux,
        "shower_rate_hz": settings.shower_rate_hz, "pedestal_rate_hz": settings.pedestal_rate_hz,
        "flatfield_rate_hz": settings.flatfield_rate_hz, "dead_time_s": settings.dead_time_s,
        "hadron_min_energy_tev": settings.hadron_min_energy_tev,
        "mc_events": mc_events,
        "source_spectrum": injected_spectrum(source_flux),
        "flare": flare.to_dict() if flare is not None else None,
        "subrun_events": subrun_events,
    }


def injected_truth(source_flux: float, shower_rate_hz: float) -> dict:
    """What the simulated sky and telescope were, as recorded in ``simulation.json``.

    The source's spectrum (the Crab log-parabola of :func:`lappana.simulate.model.crab_flux`
    times the flux in Crab units), the cosmic rays (LST-1's dR/dI, the trigger turn-over and the
    rate at 10° zenith against LST-1's) and the LST-1 tables the separation and resolutions were
    calibrated on, so that tests derive what to expect from them.
    """
    from lappana.simulate import separation

    return {
        "source": {
            "spectrum": "log-parabola dN/dE = amplitude (E/E0)^(-alpha - beta log10(E/E0))",
            "amplitude_per_tev_cm2_s": model.CRAB_AMPLITUDE * source_flux, "reference_energy_tev": 1.0,
            "alpha": model.CRAB_ALPHA, "beta": model.CRAB_BETA, "flux_crab": source_flux,
        },
        "cosmic_rays": {
            "dr_di": "p0 (I/422 p.e.)^p1 / (1 + (threshold/I)^steepness), p0 and p1 of cos(zenith) "
                     "as lstchain_cherenkov_transparency fits LST-1 (lappana.simulate.model)",
            "trigger_threshold_pe": model.TRIGGER_THRESHOLD_PE,
            "trigger_steepness": model.TRIGGER_STEEPNESS,
            "rate_at_10deg_hz": shower_rate_hz,
            "lst1_rate_at_10deg_hz": model.LST1_SHOWER_RATE_HZ,
            "fraction_of_lst1": shower_rate_hz / model.LST1_SHOWER_RATE_HZ,
            "field_spread_deg": model.HADRON_FIELD_SPREAD_DEG,
        },
        "calibrated_on": "lstchain's LST1_backg_irf_gheffi_0.70_theffi_0.70.csv and "
                         "LST1_gamma_irf_gheffi_0.70_theffi_0.70.csv (scripts/check-realism)",
        "classifier_training_protons_per_gamma": separation.TRAINING_PROTONS_PER_GAMMA,
    }


def write_truth(result, parameters: dict, *, irf_set: str) -> Path:
    """Write ``simulation.json`` of a simulated night (``result``, a :class:`lappana.simulate.night.SimulatedNight`):
    its parameters, what was injected, each run's truth counted after the cuts of the IRF set ``irf_set``, the files."""
    runs = [{**t.to_dict(), "source_flux_crab": result.run_flux_crab.get(t.run_id)} for t in result.truth.values()]
    livetime = sum(r["livetime_s"] for r in runs)
    n_gamma = sum(r["n_gamma_after_cuts"] for r in runs)
    n_bkg = sum(r["n_background_on_after_cuts"] for r in runs)
    doc = {
        "simulator": f"lappana {__version__}",
        "night": result.night.isoformat(),
        "parameters": parameters,
        "cuts": {
            "description": "reco_energy > 0.2 TeV, lstchain event selection, GH_CUTS and RAD_MAX of "
                           "the eff_gh0.70_th0.70 IRF node nearest to each run's zenith",
            "energy_threshold_tev": 0.2,
            "irf_set": irf_set,
        },
        "injected": injected_truth(parameters["source_flux_crab"], parameters["shower_rate_hz"]),
        "total": {
            "livetime_s": livetime,
            "n_gamma_after_cuts": n_gamma,
            "n_background_on_after_cuts": n_bkg,
            "gamma_rate_after_cuts_per_min": 60.0 * n_gamma / livetime if livetime > 0 else 0.0,
            "background_on_rate_after_cuts_per_min": 60.0 * n_bkg / livetime if livetime > 0 else 0.0,
        },
        "runs": runs,
        "files": {
            "dl1": {str(k): str(v) for k, v in result.dl1_files.items()},
            "dl1_subruns": {str(k): [str(p) for p in v] for k, v in result.dl1_subrun_files.items()},
            "dl2": {str(k): str(v) for k, v in result.dl2_files.items()},
            "run_catalog": str(result.run_catalog) if result.run_catalog else None,
            "irf_dirs": {k: str(v) for k, v in result.irf_dirs.items()},
            "mc": {k: str(v) for k, v in result.mc_files.items()},
        },
    }
    path = result.output / "simulation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    return path
