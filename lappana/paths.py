"""lstchain's file names and per-night folders.

The run number is taken from the file name with lstchain's own pattern
``LST-(\\d+)(.\\d+)?.Run(\\d+)``, never from ``obs_id``.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

_RUN_RE = re.compile(r"LST-(\d+)(\.\d+)?\.Run(\d+)(?:\.(\d+))?")


def run_file_name(level: str, run_id: int, subrun: int | None = None) -> str:
    """Return lstchain's file name for a run at a data level.

    Parameters
    ----------
    level : str
        One of ``"dl1"``, ``"dl2"``, ``"dl3"``.
    run_id : int
        The run number.
    subrun : int, optional
        The subrun number, for per-subrun DL1 files.

    Returns
    -------
    str
        For example ``dl1_LST-1.Run15864.h5`` or ``dl3_LST-1.Run15864.fits.gz``.
    """
    level = level.lower()
    stem = f"{level}_LST-1.Run{int(run_id):05d}"
    if subrun is not None:
        stem += f".{int(subrun):04d}"
    if level in ("dl1", "dl2"):
        return stem + ".h5"
    if level == "dl3":
        return stem + ".fits.gz"
    raise ValueError(f"Unknown data level {level!r}: expected dl1, dl2 or dl3.")


def parse_run_id(path: str | Path) -> int:
    """Return the run number in an lstchain file name.

    Raises
    ------
    ValueError
        When the name does not contain ``LST-1.RunNNNNN``.
    """
    match = _RUN_RE.search(Path(path).name)
    if match is None:
        raise ValueError(
            f"{Path(path).name!r} is not an lstchain run file name "
            "(expected something like dl2_LST-1.Run15864.h5)."
        )
    return int(match.group(3))


def parse_subrun(path: str | Path) -> int | None:
    """Return the subrun number in an lstchain file name (``dl1_LST-1.Run15864.0003.h5`` → 3), or None for a
    run's file (``dl1_LST-1.Run15864.h5``).

    Raises
    ------
    ValueError
        When the name does not contain ``LST-1.RunNNNNN``.
    """
    parse_run_id(path)
    subrun = _RUN_RE.search(Path(path).name).group(4)
    return None if subrun is None else int(subrun)


def night_folder(night: _dt.date | str) -> str:
    """Return the folder name of a night: the evening's date as ``YYYYMMDD``."""
    if isinstance(night, str):
        night = parse_night(night)
    return night.strftime("%Y%m%d")


def parse_night(text: str) -> _dt.date:
    """Parse a night given as ``YYYY-MM-DD`` or ``YYYYMMDD``."""
    text = str(text).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a night: write it as YYYY-MM-DD, for example 2023-12-07.")


def run_catalog_name(night: _dt.date | str) -> str:
    """Return the name of a night's run catalogue, ``RunCatalog_YYYYMMDD.ecsv``."""
    return f"RunCatalog_{night_folder(night)}.ecsv"


def irf_set_name(
    *,
    gh_cut: float | None = None,
    theta_cut_deg: float | None = None,
    gh_efficiency: float | None = None,
    theta_containment: float | None = None,
) -> str:
    """Return the folder name of the IRF set that matches a choice of cuts.

    A global cut (``gh_cut`` and ``theta_cut_deg``) gives ``global_gh0.70_theta0.20``;
    efficiency cuts (``gh_efficiency`` and ``theta_containment``) give
    ``eff_gh0.70_th0.70``. The simulator writes IRFs under these names and spoold
    chooses the IRF folder of a request with this function.
    """
    if gh_cut is not None and theta_cut_deg is not None:
        return f"global_gh{gh_cut:.2f}_theta{theta_cut_deg:.2f}"
    if gh_efficiency is not None and theta_containment is not None:
        return f"eff_gh{gh_efficiency:.2f}_th{theta_containment:.2f}"
    raise ValueError(
        "Give either gh_cut and theta_cut_deg (a global cut) or gh_efficiency and "
        "theta_containment (efficiency cuts)."
    )
