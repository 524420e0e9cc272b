"""The run catalogue rows of simulated runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from astropy.time import Time

from lappana.io.runcatalog import write_run_catalog
from lappana.simulate.observation import RunPlan


def catalog_rows(
    plans: Sequence[RunPlan], *, source_name: str, source_ra_deg: float, source_dec_deg: float,
    n_subruns: Mapping[int, int] | None = None,
) -> list[dict]:
    """One ``RunCatalog`` row per planned run (the source, the wobble pointing and times, and ``n_subruns``,
    the number of subrun DL1 files, when ``n_subruns`` gives the runs' as LST-1's run summary does)."""
    rows = []
    for plan in plans:
        rows.append(
            {
                "run_id": int(plan.run_id),
                "source_name": source_name,
                "source_ra": float(source_ra_deg),
                "source_dec": float(source_dec_deg),
                "pointing_ra": round(plan.pointing_ra_deg, 6),
                "pointing_dec": round(plan.pointing_dec_deg, 6),
                "wobble_angle": float(plan.wobble_angle_deg),
                "tstart": Time(plan.start_unix, format="unix").isot,
                "tstop": Time(plan.stop_unix, format="unix").isot,
                "mean_zenith": round(plan.mean_zenith_deg(), 3),
                **({"n_subruns": int(n_subruns[plan.run_id])} if n_subruns else {}),
            }
        )
    return rows


def write_catalog(path: str | Path, plans: Sequence[RunPlan], **source) -> Path:
    """Write ``RunCatalog_YYYYMMDD.ecsv`` for the planned runs (see :func:`catalog_rows`)."""
    return write_run_catalog(path, catalog_rows(plans, **source))
