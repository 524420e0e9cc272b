"""Check a DL2 file before making DL3 from it: :func:`check_dl2`.

Reads the table chunk by chunk (any run size) and reports: that it opens, that
the table and every column making DL3 needs are there, event counts by type,
the time span and trigger rate, NaN fractions of the reconstructed quantities
among showers, the pointing (inside the sky, moving smoothly), and that
``obs_id`` is the run of the file name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lappana.checks.report import CheckReport
from lappana.constants import DL2_PARAMS_KEY, EVENT_TYPE_FLATFIELD, EVENT_TYPE_PEDESTAL, EVENT_TYPE_SHOWER
from lappana.errors import LappanaError
from lappana.io.dl2 import DL2_REQUIRED_COLUMNS
from lappana.io.hdf5 import get_table, iter_table_chunks, open_table_file
from lappana.paths import parse_run_id

__all__ = ["check_dl2", "NAN_COLUMNS", "MAX_NAN_FRACTION"]

#: Reconstructed columns whose NaN fraction among showers is reported.
NAN_COLUMNS = ("reco_energy", "gammaness", "reco_alt", "reco_az", "intensity", "length", "width")
#: More NaN than this among showers is a problem.
MAX_NAN_FRACTION = 0.05
#: Largest jump of the pointing between consecutive events (rad): 0.1°.
MAX_POINTING_STEP_RAD = np.radians(0.1)


class _Tally:
    def __init__(self) -> None:
        self.n = 0
        self.types: dict[int, int] = {}
        self.t_first = self.t_last = None
        self.backwards = 0
        self.nan = dict.fromkeys(NAN_COLUMNS, 0)
        self.n_showers = 0
        self.alt_min, self.alt_max = np.inf, -np.inf
        self.pointing_nan = 0
        self.max_step = 0.0
        self.obs_ids: set[int] = set()
        self._last_time = self._last_alt = None

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        self.n += len(chunk["event_id"])
        kinds, counts = np.unique(chunk["event_type"], return_counts=True)
        for k, c in zip(kinds, counts):
            self.types[int(k)] = self.types.get(int(k), 0) + int(c)
        t = np.asarray(chunk["dragon_time"], dtype=float)
        if t.size:
            prev = t[0] if self._last_time is None else self._last_time
            self.backwards += int(np.sum(np.diff(t, prepend=prev) < 0))
            self.t_first = float(t[0]) if self.t_first is None else self.t_first
            self.t_last, self._last_time = float(t[-1]), float(t[-1])
        showers = chunk["event_type"] == EVENT_TYPE_SHOWER
        self.n_showers += int(showers.sum())
        for name in NAN_COLUMNS:
            self.nan[name] += int(np.isnan(chunk[name][showers]).sum())
        alt, az = chunk["alt_tel"], chunk["az_tel"]
        bad = ~np.isfinite(alt) | ~np.isfinite(az)
        self.pointing_nan += int(bad.sum())
        good_alt = alt[~bad]
        if good_alt.size:
            self.alt_min = min(self.alt_min, float(good_alt.min()))
            self.alt_max = max(self.alt_max, float(good_alt.max()))
            prev = good_alt[0] if self._last_alt is None else self._last_alt
            self.max_step = max(self.max_step, float(np.max(np.abs(np.diff(good_alt, prepend=prev)))))
            self._last_alt = float(good_alt[-1])
        self.obs_ids.update(int(i) for i in np.unique(chunk["obs_id"]))


def check_dl2(path: str | Path, chunk_rows: int = 500_000) -> CheckReport:
    """Check a DL2 file and return what was found.

    Parameters
    ----------
    path : str or Path
        lstchain's DL2 file.
    chunk_rows : int
        Rows read at a time.

    Returns
    -------
    CheckReport
        ``usable`` is False when the file cannot be opened or read; ``problems``
        lists what would make DL3 wrong or impossible.
    """
    path = Path(path)
    report = CheckReport(path, "DL2")
    try:
        with open_table_file(path) as h5:
            table = get_table(h5, DL2_PARAMS_KEY)
            missing = [c for c in DL2_REQUIRED_COLUMNS if c not in table.colnames]
            report.facts["columns"] = len(table.colnames)
    except LappanaError as exc:
        return report.unusable(str(exc))
    if missing:
        report.problem(f"The DL2 table lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}, "
                       "which making DL3 needs.")
        return report
    tally = _Tally()
    try:
        for chunk in iter_table_chunks(path, DL2_PARAMS_KEY, list(DL2_REQUIRED_COLUMNS), chunk_rows):
            tally.add(chunk)
    except LappanaError as exc:
        return report.unusable(str(exc))
    _judge(report, tally, path)
    return report


def _judge(report: CheckReport, tally: _Tally, path: Path) -> None:
    facts = report.facts
    facts["events"] = tally.n
    facts["showers"] = tally.types.get(EVENT_TYPE_SHOWER, 0)
    facts["pedestals"] = tally.types.get(EVENT_TYPE_PEDESTAL, 0)
    facts["flatfields"] = tally.types.get(EVENT_TYPE_FLATFIELD, 0)
    if tally.n == 0:
        report.problem("The DL2 table has no events.")
        return
    if facts["showers"] == 0:
        report.problem("The DL2 table has no shower events (event_type 32).")
    span = tally.t_last - tally.t_first
    facts["time span s"] = span
    facts["shower rate Hz"] = facts["showers"] / span if span > 0 else float("nan")
    if span <= 0:
        report.problem("The events' dragon_time does not advance: the run has no duration.")
    if tally.backwards:
        report.problem(f"dragon_time goes backwards {tally.backwards} times; events should be in time order.")
    if tally.n_showers:
        fractions = {name: count / tally.n_showers for name, count in tally.nan.items()}
        facts["NaN fraction (showers)"] = {k: round(v, 6) for k, v in fractions.items() if v > 0} or "none"
        for name, fraction in fractions.items():
            if fraction > MAX_NAN_FRACTION:
                report.problem(f"{fraction:.1%} of the showers have no {name} (NaN); more than "
                               f"{MAX_NAN_FRACTION:.0%} means the reconstruction failed.")
    if tally.pointing_nan:
        report.problem(f"{tally.pointing_nan} events have no telescope pointing (alt_tel/az_tel NaN).")
    if np.isfinite(tally.alt_min):
        facts["pointing zenith deg"] = f"{90 - np.degrees(tally.alt_max):.2f} to {90 - np.degrees(tally.alt_min):.2f}"
        if tally.alt_min < 0 or tally.alt_max > np.pi / 2:
            report.problem("The telescope pointing (alt_tel) leaves 0–90°; alt_tel must be in radians above the horizon.")
        if tally.max_step > MAX_POINTING_STEP_RAD:
            report.problem(f"The pointing jumps by {np.degrees(tally.max_step):.2f}° between consecutive events; "
                           "the telescope should track smoothly within a run.")
    facts["obs_id"] = sorted(tally.obs_ids)[0] if len(tally.obs_ids) == 1 else sorted(tally.obs_ids)
    if len(tally.obs_ids) > 1:
        report.problem(f"The file mixes runs {sorted(tally.obs_ids)}; a DL2 file holds one run.")
    try:
        run_id = parse_run_id(path)
    except ValueError:
        report.problem(f"{path.name} is not named like lstchain's DL2 files (dl2_LST-1.RunNNNNN.h5); "
                       "lstchain takes the run number from the name.")
    else:
        if tally.obs_ids and tally.obs_ids != {run_id}:
            report.problem(f"The file is named for run {run_id} but its obs_id is {sorted(tally.obs_ids)}.")
