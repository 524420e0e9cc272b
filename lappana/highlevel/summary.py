"""``summary.json``: the high-level numbers, the tools used and every product, checked against its schema."""

from __future__ import annotations

import datetime as _dt
import json
import os
from importlib import resources
from pathlib import Path

import jsonschema
import matplotlib
import numpy as np

import astropy
from lappana import __version__
from lappana.highlevel.diagnostics import RunDiagnostics
from lappana.highlevel.skymap import SkyMaps
from lappana.highlevel.theta2 import Theta2Result

SUMMARY_NAME = "summary.json"


def load_schema() -> dict:
    """Return the JSON schema of summary.json (package data ``lappana/schemas/summary.schema.json``)."""
    return json.loads(resources.files("lappana").joinpath("schemas/summary.schema.json").read_text())


def tool_versions(lstchain_version: str | None = None, gammapy_version: str | None = None) -> dict[str, str]:
    """The version of every tool used: lappana, numpy, astropy, matplotlib, and lstchain and gammapy when given."""
    tools = {"lappana": __version__, "numpy": np.__version__, "astropy": astropy.__version__,
             "matplotlib": matplotlib.__version__}
    if lstchain_version:
        tools["lstchain"] = str(lstchain_version)
    if gammapy_version:
        tools["gammapy"] = str(gammapy_version)
    return tools


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def build_summary(
    *,
    source_name: str,
    source_ra_deg: float,
    source_dec_deg: float,
    dl3_dir: str | Path,
    theta2_result: Theta2Result | None = None,
    skymaps: SkyMaps | None = None,
    diagnostics: list[RunDiagnostics] | None = None,
    products: dict[str, str] | None = None,
    problems: list[str] | None = None,
    lstchain_version: str | None = None,
    n_off: int = 3,
    energy_range: tuple[float, float] | None = None,
    quality_cuts: dict | None = None,
    flux=None,
    provenance: dict | None = None,
    dl3_runs: list | None = None,
    lstchain_version_from: str | None = None,
    energy_threshold: dict | None = None,
) -> dict:
    """Assemble the summary document (a dict that validates against the schema).

    ``dl3_runs`` (the :class:`~lappana.highlevel.dl3files.Dl3Run` read) give each run's night,
    UTC times and IRF node; ``lstchain_version_from`` says where ``lstchain_version`` was found;
    ``energy_threshold`` (:meth:`lappana.highlevel.threshold.EnergyBand.to_dict`) where the band's
    lower end comes from.
    """
    from lappana.highlevel.provenance import run_record

    problems = list(problems or [])
    diag_by_run = {d.obs_id: d for d in diagnostics or []}
    record_by_run = {run.obs_id: run_record(run) for run in dl3_runs or []}
    r = theta2_result
    runs = []
    for run in (r.runs if r else []):
        d = diag_by_run.get(run.obs_id)
        runs.append({**record_by_run.get(run.obs_id, {}),
            "obs_id": run.obs_id, "used": run.used, "good": d.good if d else None, "flags": d.flags if d else [],
            "livetime_s": run.livetime_s, "n_on": run.n_on, "n_off": run.n_off, "n_off_regions": run.n_off_regions,
            "alpha": run.alpha, "excess": run.excess, "significance": run.significance,
            "source_offset_deg": run.source_offset_deg, "pointing_ra_deg": run.pointing_ra_deg,
            "pointing_dec_deg": run.pointing_dec_deg, "mean_zenith_deg": d.mean_zenith_deg if d else None,
            "cosmic_ratio": _finite(d.cosmic_ratio) if d else None,
        })
    for d in diagnostics or []:
        if d.flags:
            problems.append(f"Run {d.obs_id} fails the quality cuts: {'; '.join(d.flags)}.")
    if r is not None:
        problems = r.problems + [p for p in problems if p not in r.problems]
    if skymaps is not None:
        problems += [p for p in skymaps.problems if p not in problems]
    notes = list(r.notes) if r is not None else []
    used = bool(r and any(x.used for x in r.runs))
    status = "failed" if not used else ("ok" if not problems else "incomplete")
    doc = {
        "schema_version": 1,
        "status": status,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": {"name": source_name, "ra_deg": float(source_ra_deg), "dec_deg": float(source_dec_deg)},
        "dl3_dir": str(dl3_dir),
        "nights": sorted({run["night"] for run in runs if run.get("night") and run["used"]}),
        "runs": runs,
        "livetime_s": r.livetime_s if r else 0.0,
        "n_on": r.n_on if r else 0,
        "n_off": r.n_off if r else 0,
        "alpha": r.alpha if r else 1.0 / n_off,
        "excess": r.excess if r else 0.0,
        "excess_error": r.excess_error if r else 0.0,
        "significance": r.significance if r else 0.0,
        "rates": {
            "gamma_per_min": r.gamma_rate_per_min if r else 0.0,
            "gamma_error_per_min": r.gamma_rate_error_per_min if r else 0.0,
            "background_per_min": r.background_rate_per_min if r else 0.0,
            "background_error_per_min": r.background_rate_error_per_min if r else 0.0,
        },
        "energy_range_tev": list(energy_range) if energy_range else None,
        "energy_threshold": energy_threshold,
        "cuts": {
            "theta": r.theta_cut if r else "not applied (no result)",
            "theta2_cut_deg2": r.theta2_cut_deg2 if r else None,
            "rad_max": r.rad_max if r else None,
            "n_off_regions": n_off,
            "quality": quality_cuts or {},
        },
        "skymap": {k: (_finite(v) if isinstance(v, float) else v) for k, v in skymaps.summary().items()}
        if skymaps is not None else None,
        "significance_time": {"livetime_min": r.cumulative_livetime_min if r else [],
                              "significance": r.cumulative_significance if r else []},
        "spectrum": flux.spectrum if flux is not None else None,
        "lightcurve": flux.lightcurve if flux is not None else None,
        "provenance": dict(provenance) if provenance else None,
        "tools": tool_versions(lstchain_version, flux.gammapy_version if flux is not None else None),
        "lstchain_version_from": lstchain_version_from or ("given by the caller" if lstchain_version else
                                                           "not known: no DL2 file given records it"),
        "products": dict(products or {}),
        "problems": problems,
        "notes": notes,
    }
    return doc


def validate_summary(doc: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``doc`` does not follow the schema."""
    jsonschema.validate(doc, load_schema())


def write_summary(out_dir: str | Path, **kwargs) -> Path:
    """Build, validate and write ``OUT_DIR/summary.json`` (atomically); return its path.

    Parameters
    ----------
    out_dir : str or Path
        Folder of the products.
    **kwargs
        As :func:`build_summary`.
    """
    return write_summary_doc(out_dir, build_summary(**kwargs))


def write_summary_doc(out_dir: str | Path, doc: dict) -> Path:
    """Validate a summary document and write it as ``OUT_DIR/summary.json`` (atomically)."""
    out_dir = Path(out_dir)
    validate_summary(doc)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SUMMARY_NAME
    tmp = path.with_name(f".{SUMMARY_NAME}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path
