"""The runs of a simulated night: when they start, where the telescope points.

A night is the evening's date. The runs of one source are scheduled as one block,
centred on the source's culmination and kept inside astronomical darkness (Sun
below −18°). Runs are wobble observations: the telescope points 0.4° away from the
source, the wobble direction turning by 180° then 90° from run to run, and tracks
that position. Alt/az come from astropy at LST-1 (offline: see :mod:`lappana.env`),
computed every few seconds and interpolated for each event.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass

import numpy as np

import astropy.units as u
from astropy.coordinates import AltAz, SkyCoord, get_sun
from astropy.time import Time
from astropy.utils.exceptions import AstropyWarning

from lappana.constants import LST1_LOCATION, WOBBLE_OFFSET_DEG
from lappana.errors import LappanaError

#: Position angles (deg, east of north) of the wobble positions, run after run.
WOBBLE_ANGLES_DEG = (0.0, 180.0, 90.0, 270.0)
#: Pause between two runs (s): the time LST-1 needs to stop and start a run.
RUN_GAP_S = 60.0
#: Step (s) of the alt/az tables that are interpolated for each event.
TRACK_STEP_S = 10.0
#: Lowest altitude (deg) at which the simulator agrees to observe.
MIN_ALTITUDE_DEG = 20.0


@dataclass(frozen=True)
class RunPlan:
    """One run: its number, times, wobble position and the alt/az tracks.

    Attributes
    ----------
    run_id : int
        Run number.
    start_unix : float
        Start of the run, unix seconds (UTC), a whole second.
    duration_s : float
        Length of the run in seconds.
    wobble_angle_deg : float
        Position angle of the pointing around the source (deg).
    pointing_ra_deg, pointing_dec_deg : float
        The wobble position the telescope tracks.
    track_unix : numpy.ndarray
        Times of the alt/az tables (unix s).
    pointing_alt, pointing_az : numpy.ndarray
        Pointing at ``track_unix`` (rad; az unwrapped).
    source_alt, source_az : numpy.ndarray
        Source direction at ``track_unix`` (rad; az unwrapped).
    """

    run_id: int
    start_unix: float
    duration_s: float
    wobble_angle_deg: float
    pointing_ra_deg: float
    pointing_dec_deg: float
    track_unix: np.ndarray
    pointing_alt: np.ndarray
    pointing_az: np.ndarray
    source_alt: np.ndarray
    source_az: np.ndarray

    @property
    def stop_unix(self) -> float:
        """End of the run, unix seconds (UTC)."""
        return self.start_unix + self.duration_s

    def pointing_at(self, t_unix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Telescope alt/az (rad, az in [0, 2π)) at unix times ``t_unix``."""
        return _interp_altaz(t_unix, self.track_unix, self.pointing_alt, self.pointing_az)

    def source_at(self, t_unix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source alt/az (rad, az in [0, 2π)) at unix times ``t_unix``."""
        return _interp_altaz(t_unix, self.track_unix, self.source_alt, self.source_az)

    def mean_zenith_deg(self) -> float:
        """Mean zenith angle of the pointing during the run (deg)."""
        return float(90.0 - np.degrees(np.mean(self.pointing_alt)))


def _interp_altaz(t, grid, alt, az):
    t = np.asarray(t, dtype=float)
    return np.interp(t, grid, alt), np.mod(np.interp(t, grid, az), 2.0 * np.pi)


def _quiet_altaz(coord: SkyCoord, times: Time) -> SkyCoord:
    frame = AltAz(obstime=times, location=LST1_LOCATION)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        warnings.simplefilter("ignore", UserWarning)
        return coord.transform_to(frame)


def dark_window(night: _dt.date) -> tuple[Time, Time]:
    """Astronomical darkness (Sun below −18°) of the night that starts on ``night``'s evening.

    Returns
    -------
    start, end : astropy.time.Time
        Dusk and dawn, to the minute.
    """
    noon = Time(_dt.datetime(night.year, night.month, night.day, 12, 0, 0), scale="utc")
    times = noon + np.arange(0, 24 * 60 + 1, 2) * u.min
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        sun_alt = _quiet_altaz(get_sun(times), times).alt.deg
    dark = np.flatnonzero(sun_alt < -18.0)
    if dark.size == 0:
        raise LappanaError(f"The night of {night} has no astronomical darkness at La Palma.")
    return times[dark[0]], times[dark[-1]]


def plan_night(
    night: _dt.date,
    *,
    source_ra_deg: float,
    source_dec_deg: float,
    n_runs: int,
    run_minutes: float,
    first_run: int,
    start: Time | None = None,
    wobble_offset_deg: float = WOBBLE_OFFSET_DEG,
) -> list[RunPlan]:
    """Schedule the wobble runs of one source in a night.

    Parameters
    ----------
    night : datetime.date
        The evening's date.
    source_ra_deg, source_dec_deg : float
        The source (ICRS, deg).
    n_runs : int
        Number of runs.
    run_minutes : float
        Length of each run (min).
    first_run : int
        Number of the first run; the others follow.
    start : astropy.time.Time, optional
        Start of the first run. By default the block of runs is centred on the
        source's culmination, inside astronomical darkness.
    wobble_offset_deg : float
        Distance between source and pointing (deg).

    Returns
    -------
    list of RunPlan
    """
    if n_runs < 1:
        raise LappanaError("Ask for at least one run (--runs 1 or more).")
    if run_minutes <= 0:
        raise LappanaError("Runs must last a positive number of minutes (--minutes).")
    duration = run_minutes * 60.0
    block = n_runs * duration + (n_runs - 1) * RUN_GAP_S
    source = SkyCoord(ra=source_ra_deg * u.deg, dec=source_dec_deg * u.deg, frame="icrs")
    if start is None:
        start = _centred_start(night, source, block)
    start_unix = float(np.floor(start.unix))

    plans = []
    for i in range(n_runs):
        run_start = start_unix + i * (duration + RUN_GAP_S)
        angle = WOBBLE_ANGLES_DEG[i % len(WOBBLE_ANGLES_DEG)]
        pointing = source.directional_offset_by(angle * u.deg, wobble_offset_deg * u.deg)
        n_steps = int(np.ceil(duration / TRACK_STEP_S)) + 1
        grid = run_start + np.arange(n_steps + 1) * TRACK_STEP_S
        times = Time(grid, format="unix", scale="utc")
        p_altaz = _quiet_altaz(pointing, times)
        s_altaz = _quiet_altaz(source, times)
        plans.append(
            RunPlan(
                run_id=first_run + i,
                start_unix=run_start,
                duration_s=duration,
                wobble_angle_deg=angle,
                pointing_ra_deg=float(pointing.ra.deg),
                pointing_dec_deg=float(pointing.dec.deg),
                track_unix=grid,
                pointing_alt=p_altaz.alt.rad,
                pointing_az=np.unwrap(p_altaz.az.rad),
                source_alt=s_altaz.alt.rad,
                source_az=np.unwrap(s_altaz.az.rad),
            )
        )
        lowest = np.degrees(p_altaz.alt.rad.min())
        if lowest < MIN_ALTITUDE_DEG:
            raise LappanaError(
                f"Run {first_run + i} would point as low as {lowest:.0f}° altitude; the source "
                f"is not observable long enough on the night of {night}: choose fewer or "
                "shorter runs, or another night."
            )
    return plans


def _centred_start(night: _dt.date, source: SkyCoord, block_s: float) -> Time:
    dusk, dawn = dark_window(night)
    times = dusk + np.linspace(0.0, (dawn - dusk).to_value(u.s), 400) * u.s
    alt = _quiet_altaz(source, times).alt.deg
    culmination = times[int(np.argmax(alt))]
    start = culmination - (block_s / 2.0) * u.s
    latest = dawn - block_s * u.s
    if latest < dusk:
        raise LappanaError(
            f"{block_s / 3600:.1f} h of runs do not fit into the {((dawn - dusk).to_value(u.h)):.1f} h "
            f"of darkness of the night of {night}: ask for fewer or shorter runs."
        )
    if start < dusk:
        start = dusk
    if start > latest:
        start = latest
    return start
