"""The GADF headers and the small HDUs (GTI, POINTING) of a DL3 file.

Keywords follow lstchain's ``create_event_list`` and what gammapy 2.1 reads:
times since MJDREF 58392 (UTC, topocentric), observatory location, pointing,
``DEADC`` and ``LIVETIME``. Where lstchain describes the run by its post-cut
events, lappana uses the whole run: TSTART/TSTOP and the GTI span the showers
recorded, so gammapy's livetime (ΣGTI × DEADC) equals ``LIVETIME``.
"""

from __future__ import annotations

import numpy as np

from astropy.io import fits
from astropy.time import Time

from lappana import __version__
from lappana.constants import LST1_HEIGHT_M, LST1_LAT_DEG, LST1_LON_DEG, MJDREFF, MJDREFI
from lappana.dl3.coords import time_since_reference, unix_to_time
from lappana.dl3.summary import RunSummary


__all__ = ["common_cards", "event_cards", "gti_hdu", "pointing_hdu"]

Card = tuple[str, object, str]


def common_cards(hduclas1: str, run_id: int) -> list[Card]:
    """Keywords every DL3 HDU carries: GADF class, creator, run and time reference."""
    return [
        ("CREATOR", f"lappana v{__version__}", "program that made this file"),
        ("HDUDOC", "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats", ""),
        ("HDUVERS", "0.3", "GADF version"),
        ("HDUCLASS", "GADF", ""),
        ("HDUCLAS1", hduclas1, ""),
        ("ORIGIN", "CTA", ""),
        ("TELESCOP", "CTA-N", ""),
        ("CREATED", Time.now().utc.iso, "UTC"),
        ("OBS_ID", int(run_id), "run number"),
        ("MJDREFI", MJDREFI, "integer part of the reference MJD"),
        ("MJDREFF", MJDREFF, "fractional part of the reference MJD"),
        ("TIMEUNIT", "s", ""),
        ("TIMESYS", "UTC", ""),
        ("TIMEREF", "TOPOCENTER", ""),
    ]


def _location_cards() -> list[Card]:
    return [
        ("GEOLON", LST1_LON_DEG, "Geographic longitude of telescope (deg)"),
        ("GEOLAT", LST1_LAT_DEG, "Geographic latitude of telescope (deg)"),
        ("ALTITUDE", round(LST1_HEIGHT_M, 2), "Altitude of telescope (m)"),
    ]


def _iso(unix_s: float) -> tuple[str, str]:
    text = unix_to_time(unix_s).to_value("iso", "date_hms")
    return text[:10], text[11:]


def event_cards(*, run_id: int, summary: RunSummary, source_name: str, source_ra_deg: float,
                source_dec_deg: float) -> list[Card]:
    """Keywords of the EVENTS HDU."""
    eff = summary.efftime
    start, stop = eff.first_time(), eff.last_time()
    tstart, tstop = (float(t) for t in time_since_reference(np.array([start, stop])))
    live, elapsed = eff.effective_s(), eff.elapsed_s
    ra_pnt, dec_pnt = summary.mean_radec_deg()
    alt_pnt, az_pnt = summary.mean_altaz_deg()
    date_obs, time_obs = _iso(start)
    date_end, time_end = _iso(stop)
    tels = sorted(summary.tel_ids)
    tellist = "LST-" + " ".join(str(t) for t in tels)
    return [
        *common_cards("EVENTS", run_id),
        ("DATE-OBS", date_obs, "UTC date of the first shower"),
        ("TIME-OBS", time_obs, "UTC time of the first shower"),
        ("DATE-END", date_end, "UTC date of the last shower"),
        ("TIME-END", time_end, "UTC time of the last shower"),
        ("TSTART", tstart, "[s] first shower, since MJDREF"),
        ("TSTOP", tstop, "[s] last shower, since MJDREF"),
        ("ONTIME", elapsed, "[s] elapsed time without DAQ breaks"),
        ("TELAPSE", tstop - tstart, "[s] TSTOP - TSTART"),
        ("DEADC", live / elapsed, "dead-time correction, LIVETIME / ONTIME"),
        ("LIVETIME", live, "[s] lstchain's effective time"),
        ("OBJECT", source_name, "target"),
        ("OBS_MODE", "POINTING", ""),
        ("N_TELS", len(tels), ""),
        ("TELLIST", tellist, ""),
        ("INSTRUME", tellist, ""),
        ("RA_PNT", ra_pnt, "[deg] mean pointing RA (ICRS)"),
        ("DEC_PNT", dec_pnt, "[deg] mean pointing Dec (ICRS)"),
        ("ALT_PNT", alt_pnt, "[deg] mean pointing altitude"),
        ("AZ_PNT", az_pnt, "[deg] mean pointing azimuth"),
        ("RA_OBJ", float(source_ra_deg), "[deg] target RA (ICRS)"),
        ("DEC_OBJ", float(source_dec_deg), "[deg] target Dec (ICRS)"),
        ("FOVALIGN", "RADEC", ""),
        *_location_cards(),
        ("EQUINOX", 2000.0, ""),
        ("RADECSYS", "ICRS", ""),
        ("EUNIT", "TeV", ""),
    ]


def _table_hdu(name: str, columns: list[fits.Column], cards: list[Card]) -> fits.BinTableHDU:
    hdu = fits.BinTableHDU.from_columns(columns, name=name)
    for key, value, comment in cards:
        hdu.header[key] = (value, comment)
    return hdu


def gti_hdu(run_id: int, summary: RunSummary) -> fits.BinTableHDU:
    """The GTI HDU: the stretches of the run without DAQ breaks (total = ONTIME)."""
    intervals = np.array(summary.efftime.gti(), dtype=float).reshape(-1, 2)
    start = time_since_reference(intervals[:, 0]) if len(intervals) else np.zeros(0)
    stop = time_since_reference(intervals[:, 1]) if len(intervals) else np.zeros(0)
    columns = [fits.Column("START", "D", unit="s", array=start), fits.Column("STOP", "D", unit="s", array=stop)]
    return _table_hdu("GTI", columns, common_cards("GTI", run_id))


def pointing_hdu(run_id: int, summary: RunSummary, zenith_deg: float, azimuth_deg: float,
                 b_delta_deg: float) -> fits.BinTableHDU:
    """The POINTING HDU: one row, the mean pointing of the run."""
    ra_pnt, dec_pnt = summary.mean_radec_deg()
    alt_pnt, az_pnt = summary.mean_altaz_deg()
    tstart = float(time_since_reference(summary.efftime.first_time()))
    columns = [
        fits.Column("TIME", "D", unit="s", array=[tstart]),
        fits.Column("RA_PNT", "D", unit="deg", array=[ra_pnt]),
        fits.Column("DEC_PNT", "D", unit="deg", array=[dec_pnt]),
        fits.Column("ALT_PNT", "D", unit="deg", array=[alt_pnt]),
        fits.Column("AZ_PNT", "D", unit="deg", array=[az_pnt]),
    ]
    cards = [
        *common_cards("POINTING", run_id), *_location_cards(),
        ("MEAN_ZEN", zenith_deg, "[deg] mean zenith of the run"),
        ("MEAN_AZ", azimuth_deg, "[deg] mean azimuth of the run"),
        ("B_DELTA", b_delta_deg, "[deg] geomagnetic angle of the mean pointing"),
    ]
    return _table_hdu("POINTING", columns, cards)
