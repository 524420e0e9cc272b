"""Check a DL3 file against what gammapy needs: :func:`check_dl3`.

Reports: that it opens, the HDUs (EVENTS, GTI, POINTING and the point-like IRFs),
the EVENTS keywords gammapy reads (missing ones either fail in gammapy or, like
TIMESYS, silently shift times), the event columns, events against the GTI,
ΣGTI × DEADC against LIVETIME, and the ON-region size (``RAD_MAX`` keyword or
``RAD_MAX`` HDU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astropy.io import fits

from lappana.checks.report import CheckReport

__all__ = ["check_dl3", "REQUIRED_EVENT_KEYWORDS", "REQUIRED_EVENT_COLUMNS", "LIVETIME_TOLERANCE"]

#: EVENTS keywords gammapy 2.1 needs (or silently misreads without).
REQUIRED_EVENT_KEYWORDS = (
    "OBS_ID", "HDUCLASS", "HDUCLAS1", "MJDREFI", "MJDREFF", "TIMESYS", "TIMEUNIT", "TIMEREF", "TSTART", "TSTOP",
    "ONTIME", "LIVETIME", "DEADC", "RA_PNT", "DEC_PNT", "GEOLON", "GEOLAT", "ALTITUDE", "OBS_MODE",
    "OBJECT", "RA_OBJ", "DEC_OBJ", "DATE-OBS", "DATE-END",
)
REQUIRED_EVENT_COLUMNS = ("EVENT_ID", "TIME", "RA", "DEC", "ENERGY")
#: gammapy's livetime (ΣGTI × DEADC) may differ from LIVETIME by this fraction.
LIVETIME_TOLERANCE = 0.005
#: Events may lie this far (s) outside the GTI (float rounding).
GTI_SLACK_S = 1e-6


def check_dl3(path: str | Path) -> CheckReport:
    """Check a DL3 file and return what was found.

    Parameters
    ----------
    path : str or Path
        A GADF DL3 file (gzip or not).

    Returns
    -------
    CheckReport
        ``usable`` is False when the file cannot be read as FITS or has no EVENTS HDU.
    """
    path = Path(path)
    report = CheckReport(path, "DL3")
    if not path.is_file():
        return report.unusable(f"{path} does not exist.")
    try:
        with fits.open(path) as hdus:
            names = [h.name for h in hdus]
            if "EVENTS" not in names:
                return report.unusable(f"{path.name} has no EVENTS HDU; it is not a DL3 file.")
            headers = {h.name: h.header.copy() for h in hdus[1:]}
            events = np.array(hdus["EVENTS"].data)
            gti = np.array(hdus["GTI"].data) if "GTI" in names else None
            rad_max_hdu = "RAD_MAX" in names
    except (OSError, ValueError, EOFError, TypeError) as exc:
        return report.unusable(f"{path.name} cannot be read as FITS ({str(exc).splitlines()[0]}).")
    report.facts["HDUs"] = ", ".join(names[1:])
    header = headers["EVENTS"]
    _check_keywords(report, header)
    _check_events(report, events, header)
    _check_gti(report, gti, events, header)
    _check_irfs(report, headers, rad_max_hdu)
    return report


def _check_keywords(report: CheckReport, header: fits.Header) -> None:
    missing = [k for k in REQUIRED_EVENT_KEYWORDS if k not in header]
    if missing:
        report.problem(f"The EVENTS header lacks {', '.join(missing)}, which gammapy needs.")
    if header.get("TIMESYS", "UTC") != "UTC" and "TIMESYS" in header:
        report.facts["TIMESYS"] = header["TIMESYS"]
    for key in ("OBS_ID", "OBJECT", "LIVETIME", "ONTIME", "DEADC", "RA_PNT", "DEC_PNT", "ALT_PNT"):
        if key in header:
            report.facts[key] = header[key]
    deadc = header.get("DEADC")
    if deadc is not None and not 0 < float(deadc) <= 1:
        report.problem(f"DEADC is {deadc}; a dead-time correction lies in (0, 1].")


def _check_events(report: CheckReport, events: np.ndarray, header: fits.Header) -> None:
    report.facts["events"] = len(events)
    names = events.dtype.names or ()
    missing = [c for c in REQUIRED_EVENT_COLUMNS if c not in names]
    if missing:
        report.problem(f"The EVENTS table lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}.")
        return
    if len(events) == 0:
        report.problem("The EVENTS table is empty.")
        return
    bad = {c: int((~np.isfinite(events[c])).sum()) for c in ("TIME", "RA", "DEC", "ENERGY")}
    bad = {c: n for c, n in bad.items() if n}
    if bad:
        report.problem(f"Events with non-finite values: {bad}.")
    ids = events["EVENT_ID"]
    if len(np.unique(ids)) != len(ids):
        report.problem("EVENT_ID repeats; each event must appear once.")
    energy = events["ENERGY"]
    report.facts["energy TeV"] = f"{np.nanmin(energy):.3g} to {np.nanmax(energy):.3g}"
    if np.any(energy <= 0):
        report.problem("Some events have ENERGY ≤ 0.")
    tstart, tstop = header.get("TSTART"), header.get("TSTOP")
    if tstart is not None and tstop is not None:
        outside = int(np.sum((events["TIME"] < tstart - GTI_SLACK_S) | (events["TIME"] > tstop + GTI_SLACK_S)))
        if outside:
            report.problem(f"{outside} events lie outside TSTART–TSTOP.")


def _check_gti(report: CheckReport, gti: np.ndarray | None, events: np.ndarray, header: fits.Header) -> None:
    if gti is None:
        report.problem("There is no GTI HDU; gammapy cannot compute the livetime.")
        return
    if len(gti) == 0:
        report.problem("The GTI table is empty.")
        return
    start, stop = np.asarray(gti["START"], float), np.asarray(gti["STOP"], float)
    total = float(np.sum(stop - start))
    report.facts["GTI"] = f"{len(gti)} interval(s), {total:.3f} s"
    if np.any(stop < start):
        report.problem("A GTI row stops before it starts.")
    if "TIME" in (events.dtype.names or ()) and len(events):
        time = np.asarray(events["TIME"], float)
        inside = np.zeros(time.shape, dtype=bool)
        for a, b in zip(start, stop):
            inside |= (time >= a - GTI_SLACK_S) & (time <= b + GTI_SLACK_S)
        report.facts["events outside GTI"] = int((~inside).sum())
        if not inside.all():
            report.problem(f"{int((~inside).sum())} events lie outside the GTI; gammapy would drop them.")
    deadc, livetime = header.get("DEADC"), header.get("LIVETIME")
    if deadc is not None and livetime:
        gammapy_livetime = total * float(deadc)
        ratio = gammapy_livetime / float(livetime)
        report.facts["ΣGTI×DEADC / LIVETIME"] = ratio
        if abs(ratio - 1) > LIVETIME_TOLERANCE:
            report.problem(f"gammapy's livetime ΣGTI × DEADC = {gammapy_livetime:.3f} s differs from LIVETIME "
                           f"{float(livetime):.3f} s by {abs(ratio - 1):.2%}; the GTI should cover the whole run.")


def _check_irfs(report: CheckReport, headers: dict[str, fits.Header], rad_max_hdu: bool) -> None:
    irfs = {name: h for name, h in headers.items() if h.get("HDUCLAS1") == "RESPONSE"}
    classes = {str(h.get("HDUCLAS2", "")).strip(): name for name, h in irfs.items()}
    report.facts["IRFs"] = ", ".join(f"{c} ({n})" for c, n in classes.items()) or "none"
    for needed, what in (("EFF_AREA", "effective area"), ("EDISP", "energy dispersion")):
        if needed not in classes:
            report.problem(f"There is no {what} HDU (HDUCLAS2 {needed}); gammapy cannot load the observation.")
    point_like = any(str(h.get("HDUCLAS3", "")).strip() == "POINT-LIKE" for h in irfs.values())
    report.facts["point-like"] = point_like
    if not point_like:
        return
    aeff = headers.get(classes.get("EFF_AREA", ""), fits.Header())
    if rad_max_hdu:
        report.facts["RAD_MAX"] = "RAD_MAX HDU (energy-dependent)"
    elif "RAD_MAX" in aeff:
        try:
            value = float(aeff["RAD_MAX"])
        except (TypeError, ValueError):
            report.problem(f"RAD_MAX is {aeff['RAD_MAX']!r}; it must be a number of degrees.")
            return
        report.facts["RAD_MAX"] = f"{value} deg (global)"
        if not 0 < value < 5:
            report.problem(f"RAD_MAX is {value}°; an ON-region radius lies between 0 and a few degrees.")
    else:
        report.problem("The point-like IRF has neither a RAD_MAX keyword nor a RAD_MAX HDU; gammapy needs the ON size.")
    if "GH_CUT" not in aeff and "GH_CUTS" not in headers:
        report.facts["gammaness cut"] = "not recorded"
