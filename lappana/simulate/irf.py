"""Point-like IRFs of the simulated telescope, in the format lstchain writes them.

The IRFs are made the way ``lstchain_create_irf_files`` makes them, on Monte Carlo
gammas drawn from :mod:`lappana.simulate.model` (point-like, 0.4° off-axis):

- energy-dependent cuts: in each reconstructed-energy bin the gammaness cut keeps
  ``gh_efficiency`` of the gammas (``GH_CUTS`` HDU) and ``RAD_MAX`` is the
  ``theta_containment`` quantile of θ after that cut (``RAD_MAX`` HDU);
- global cuts: header keywords ``GH_CUT`` and ``RAD_MAX``;
- ``EFFECTIVE AREA`` = collection area × fraction passing both cuts, per true-energy
  bin; ``ENERGY DISPERSION`` = E_reco/E_true density of the gammas passing the cuts.

Every HDU is a one-row BINTABLE with transposed cell arrays (as pyirf writes them)
and the headers ``ZEN_PNT``, ``AZ_PNT``, ``B_DELTA`` (plus ``B_TOTAL/B_INC/B_DEC``)
that lstchain's IRF interpolation reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import astropy.units as u
from astropy.io import fits
from astropy.table import QTable
from astropy.time import Time

from lappana import __version__
from lappana.dl3.irf import geomagnetic_delta_deg, geomagnetic_field
from lappana.simulate import model
from lappana.simulate.separation import gamma_score
from lappana.simulate.showers import draw_reco_energy, image_parameters, reconstruct

#: True and reconstructed energy bin edges (TeV): 0.01-100 TeV, 5 per decade.
ENERGY_BINS_TEV = np.logspace(-2, 2, 21)
#: Migration (E_reco / E_true) bin edges, as lstchain's default.
MIGRATION_BINS = np.linspace(0.2, 5.0, 31)
#: Field-of-view offset bin of the point-like gammas (deg).
FOV_OFFSET_BINS_DEG = np.array([0.3, 0.5])
#: Offset of the point-like MC gammas (deg).
MC_OFFSET_DEG = 0.4
#: lstchain's limits of the energy-dependent cuts.
MIN_GH_CUT, MAX_GH_CUT = 0.1, 0.95
MIN_THETA_CUT_DEG, MAX_THETA_CUT_DEG = 0.1, 0.32
MIN_EVENTS_PER_BIN = 100
#: Zenith angles (deg) of the IRF pointing nodes; all at the same azimuth.
DEFAULT_ZENITH_NODES_DEG = (10.0, 20.0, 30.0, 40.0)
DEFAULT_AZIMUTH_DEG = 180.0


_DEG_TO_M = np.radians(1.0) * model.EFFECTIVE_FOCAL_LENGTH_M


@dataclass
class GammaSample:
    """Detected point-like MC gammas with what the IRF needs."""

    energy: np.ndarray
    reco_energy: np.ndarray
    gammaness: np.ndarray
    theta_deg: np.ndarray
    n_simulated_per_bin: np.ndarray
    simulated_area_m2: float


def simulate_point_gammas(
    rng: np.random.Generator, zenith_deg: float, n_simulated: int = 400_000
) -> GammaSample:
    """Draw point-like gammas log-uniform in true energy and keep the detected ones.

    A gamma of energy E is detected with probability collection_area(E) / A_sim,
    so that n_detected / n_simulated × A_sim estimates the collection area.
    """
    log_lo, log_hi = np.log10(ENERGY_BINS_TEV[[0, -1]])
    energy = 10 ** rng.uniform(log_lo, log_hi, n_simulated)
    n_per_bin = np.histogram(energy, ENERGY_BINS_TEV)[0]
    area = model.collection_area(energy, zenith_deg)
    a_sim = float(model.collection_area(ENERGY_BINS_TEV, zenith_deg).max() * 1.05)
    detected = rng.uniform(size=n_simulated) < area / a_sim
    e = energy[detected]
    n = e.size
    is_gamma = np.ones(n, dtype=bool)
    direction = rng.uniform(0, 2 * np.pi, n)
    src_x = MC_OFFSET_DEG * _DEG_TO_M * np.cos(direction)
    src_y = MC_OFFSET_DEG * _DEG_TO_M * np.sin(direction)
    reco_energy = draw_reco_energy(rng, e, is_gamma)
    score = gamma_score(rng, e, is_gamma, zenith_deg)
    image = image_parameters(
        rng, energy=e, reco_energy=reco_energy, score=score, is_gamma=is_gamma,
        src_x=src_x, src_y=src_y, zenith_deg=np.full(n, zenith_deg),
    )
    reco = reconstruct(
        rng, energy=e, reco_energy=reco_energy, score=score, is_gamma=is_gamma,
        src_x=src_x, src_y=src_y, image=image, zenith_deg=zenith_deg,
    )
    theta = np.hypot(reco["reco_src_x"] - src_x, reco["reco_src_y"] - src_y) / _DEG_TO_M
    keep = _passes_event_selection(image)
    return GammaSample(
        energy=e[keep],
        reco_energy=reco_energy[keep],
        gammaness=reco["gammaness"][keep],
        theta_deg=theta[keep],
        n_simulated_per_bin=n_per_bin,
        simulated_area_m2=a_sim,
    )


def _passes_event_selection(image: dict[str, np.ndarray]) -> np.ndarray:
    return (
        (image["r"] <= 1.0)
        & (image["wl"] >= 0.01)
        & (image["wl"] <= 1.0)
        & (image["leakage_intensity_width_2"] <= 1.0)
    )


def percentile_cuts(values: np.ndarray, reco_energy: np.ndarray, quantile: float,
                    low: float, high: float, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Per reco-energy bin quantile of ``values``, clipped to [low, high]; ``fill`` in sparse bins.

    Returns
    -------
    cuts, n_events : numpy.ndarray
    """
    index = np.digitize(reco_energy, ENERGY_BINS_TEV) - 1
    n_bins = ENERGY_BINS_TEV.size - 1
    cuts = np.full(n_bins, fill, dtype=float)
    n_events = np.zeros(n_bins, dtype=np.int64)
    for i in range(n_bins):
        v = values[index == i]
        n_events[i] = v.size
        if v.size >= MIN_EVENTS_PER_BIN:
            cuts[i] = np.clip(np.quantile(v, quantile), low, high)
    return cuts, n_events


def binned_cut(values: np.ndarray, reco_energy: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """The cut value of each event's reco-energy bin (NaN outside the bins)."""
    index = np.digitize(reco_energy, ENERGY_BINS_TEV) - 1
    valid = (index >= 0) & (index < cuts.size)
    out = np.full(values.shape, np.nan)
    out[valid] = cuts[index[valid]]
    return out


@dataclass
class IrfSet:
    """The tables of one IRF file."""

    zenith_deg: float
    azimuth_deg: float
    effective_area_m2: np.ndarray  # (n_energy,)
    energy_dispersion: np.ndarray  # (n_energy, n_migra)
    gh_cuts: np.ndarray | None  # per reco-energy bin, or None for a global cut
    gh_cut_events: np.ndarray | None
    rad_max_deg: np.ndarray | None  # per reco-energy bin, or None for a global cut
    global_gh_cut: float | None = None
    global_theta_cut_deg: float | None = None
    gh_efficiency: float | None = None
    theta_containment: float | None = None


def make_irf(
    sample: GammaSample,
    zenith_deg: float,
    azimuth_deg: float = DEFAULT_AZIMUTH_DEG,
    *,
    gh_efficiency: float | None = None,
    theta_containment: float | None = None,
    gh_cut: float | None = None,
    theta_cut_deg: float | None = None,
) -> IrfSet:
    """Derive the IRF of one pointing node from a gamma sample, for one choice of cuts."""
    if gh_efficiency is not None and theta_containment is not None:
        gh_cuts, n_events = percentile_cuts(
            sample.gammaness, sample.reco_energy, 1.0 - gh_efficiency,
            MIN_GH_CUT, MAX_GH_CUT, fill=float(sample.gammaness.max()),
        )
        pass_gh = sample.gammaness >= binned_cut(sample.gammaness, sample.reco_energy, gh_cuts)
        rad_max, _ = percentile_cuts(
            sample.theta_deg[pass_gh], sample.reco_energy[pass_gh], theta_containment,
            MIN_THETA_CUT_DEG, MAX_THETA_CUT_DEG, fill=MAX_THETA_CUT_DEG,
        )
        pass_theta = sample.theta_deg < binned_cut(sample.theta_deg, sample.reco_energy, rad_max)
    elif gh_cut is not None and theta_cut_deg is not None:
        gh_cuts = n_events = rad_max = None
        pass_gh = sample.gammaness > gh_cut
        pass_theta = sample.theta_deg < theta_cut_deg
    else:
        raise ValueError("Give gh_efficiency and theta_containment, or gh_cut and theta_cut_deg.")
    selected = pass_gh & pass_theta
    n_sel = np.histogram(sample.energy[selected], ENERGY_BINS_TEV)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        aeff = np.nan_to_num(sample.simulated_area_m2 * n_sel / sample.n_simulated_per_bin)
    migra = sample.reco_energy[selected] / sample.energy[selected]
    hist = np.histogram2d(sample.energy[selected], migra, bins=[ENERGY_BINS_TEV, MIGRATION_BINS])[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        edisp = np.nan_to_num(hist / hist.sum(axis=1, keepdims=True) / np.diff(MIGRATION_BINS)[None, :])
    return IrfSet(
        zenith_deg=zenith_deg, azimuth_deg=azimuth_deg, effective_area_m2=aeff,
        energy_dispersion=edisp, gh_cuts=gh_cuts, gh_cut_events=n_events, rad_max_deg=rad_max,
        global_gh_cut=gh_cut, global_theta_cut_deg=theta_cut_deg,
        gh_efficiency=gh_efficiency, theta_containment=theta_containment,
    )


def _header_cards(irf: IrfSet, time: Time) -> list[tuple[str, object, str]]:
    b_total, b_dec, b_inc = geomagnetic_field(time)
    cards = [
        ("TELESCOP", "CTA-N", ""),
        ("INSTRUME", "LST-1", ""),
        ("FOVALIGN", "RADEC", ""),
        ("ZEN_PNT", float(irf.zenith_deg), "deg"),
        ("AZ_PNT", float(irf.azimuth_deg), "deg"),
        ("B_TOTAL", b_total, "uT"),
        ("B_INC", b_inc, "rad"),
        ("B_DEC", b_dec, "rad"),
        ("B_DELTA", geomagnetic_delta_deg(irf.zenith_deg, irf.azimuth_deg, time), "deg"),
        ("G_OFFSET", MC_OFFSET_DEG, "deg"),
    ]
    if irf.gh_cuts is not None:
        cards.append(("GH_EFF", float(irf.gh_efficiency), "gamma/hadron efficiency"))
        cards.append(("TH_CONT", float(irf.theta_containment), "Theta containment region in percentage"))
    else:
        cards.append(("GH_CUT", float(irf.global_gh_cut), ""))
        cards.append(("RAD_MAX", float(irf.global_theta_cut_deg), "deg"))
    return cards


def _gadf_header(hduclas2: str, hduclas4: str, cref: tuple[int, str], cards, date: str) -> fits.Header:
    header = fits.Header()
    header["CREATOR"] = f"lappana v{__version__}"
    header["HDUDOC"] = "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"
    header["HDUVERS"] = "0.2"
    header["HDUCLASS"] = "GADF"
    header["HDUCLAS1"] = "RESPONSE"
    header["HDUCLAS2"] = hduclas2
    header["HDUCLAS3"] = "POINT-LIKE"
    header["HDUCLAS4"] = hduclas4
    header["DATE"] = date
    header[f"CREF{cref[0]}"] = cref[1]
    for key, value, comment in cards:
        header[key] = (value, comment)
    return header


def _lo_hi(edges: np.ndarray, unit) -> tuple[u.Quantity, u.Quantity]:
    return u.Quantity(edges[None, :-1], unit), u.Quantity(edges[None, 1:], unit)


def irf_hdus(irf: IrfSet, time: Time) -> fits.HDUList:
    """Build the HDUs of an IRF file (primary, EFFECTIVE AREA, ENERGY DISPERSION, cuts)."""
    cards = _header_cards(irf, time)
    date = time.utc.iso
    hdus = [fits.PrimaryHDU()]

    aeff = QTable()
    aeff["ENERG_LO"], aeff["ENERG_HI"] = _lo_hi(ENERGY_BINS_TEV, u.TeV)
    aeff["THETA_LO"], aeff["THETA_HI"] = _lo_hi(FOV_OFFSET_BINS_DEG, u.deg)
    # (n_energy, n_offset) transposed into FITS order: TDIM (n_energy, n_offset).
    aeff["EFFAREA"] = u.Quantity(irf.effective_area_m2[:, None].T[None, ...], u.m**2)
    hdus.append(fits.BinTableHDU(aeff, header=_gadf_header(
        "EFF_AREA", "AEFF_2D", (5, "(ENERG_LO:ENERG_HI,THETA_LO:THETA_HI)"), cards, date),
        name="EFFECTIVE AREA"))

    edisp = QTable()
    edisp["ENERG_LO"], edisp["ENERG_HI"] = _lo_hi(ENERGY_BINS_TEV, u.TeV)
    edisp["MIGRA_LO"], edisp["MIGRA_HI"] = _lo_hi(MIGRATION_BINS, u.one)
    edisp["THETA_LO"], edisp["THETA_HI"] = _lo_hi(FOV_OFFSET_BINS_DEG, u.deg)
    matrix = irf.energy_dispersion[:, :, None]  # (n_energy, n_migra, n_offset)
    edisp["MATRIX"] = u.Quantity(matrix.T[None, ...], u.one)
    hdus.append(fits.BinTableHDU(edisp, header=_gadf_header(
        "EDISP", "EDISP_2D", (7, "(ENERG_LO:ENERG_HI,MIGRA_LO:MIGRA_HI,THETA_LO:THETA_HI)"), cards, date),
        name="ENERGY DISPERSION"))

    if irf.gh_cuts is not None:
        gh = QTable()
        gh["low"] = u.Quantity(ENERGY_BINS_TEV[:-1], u.TeV)
        gh["high"] = u.Quantity(ENERGY_BINS_TEV[1:], u.TeV)
        gh["center"] = u.Quantity(np.sqrt(ENERGY_BINS_TEV[:-1] * ENERGY_BINS_TEV[1:]), u.TeV)
        gh["n_events"] = irf.gh_cut_events
        gh["cut"] = irf.gh_cuts
        header = fits.Header()
        header["CREATOR"] = f"lappana v{__version__}"
        header["DATE"] = date
        for key, value, comment in cards:
            header[key] = (value, comment)
        hdus.append(fits.BinTableHDU(gh, header=header, name="GH_CUTS"))

        rad = QTable()
        rad["ENERG_LO"], rad["ENERG_HI"] = _lo_hi(ENERGY_BINS_TEV, u.TeV)
        rad["THETA_LO"], rad["THETA_HI"] = _lo_hi(FOV_OFFSET_BINS_DEG, u.deg)
        rad["RAD_MAX"] = u.Quantity(irf.rad_max_deg[:, None].T[None, ...], u.deg)
        hdus.append(fits.BinTableHDU(rad, header=_gadf_header(
            "RAD_MAX", "RAD_MAX_2D", (5, "(ENERG_LO:ENERG_HI,THETA_LO:THETA_HI)"), cards, date),
            name="RAD_MAX"))
    return fits.HDUList(hdus)


def irf_file_name(irf: IrfSet) -> str:
    """File name of an IRF node, e.g. ``irf_RF_simulated_eff_gh0.70_th0.70_zen10.0_az180.0.fits.gz``."""
    if irf.gh_cuts is not None:
        cuts = f"eff_gh{irf.gh_efficiency:.2f}_th{irf.theta_containment:.2f}"
    else:
        cuts = f"global_gh{irf.global_gh_cut:.2f}_theta{irf.global_theta_cut_deg:.2f}"
    return f"irf_RFsim_{cuts}_zen{irf.zenith_deg:04.1f}_az{irf.azimuth_deg:05.1f}.fits.gz"


def write_irf(path: str | Path, irf: IrfSet, time: Time) -> Path:
    """Write one IRF node to ``path`` (gzip when the name ends in .gz)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    irf_hdus(irf, time).writeto(path, overwrite=True)
    return path


def expected_rate_after_cuts_hz(
    sample: GammaSample, irf: IrfSet, *, source_flux: float = 1.0, reco_energy_min_tev: float = 0.2
) -> float:
    """Expected rate (Hz, per live second) of source gammas passing the cuts of ``irf``.

    The model's expectation, not a count: the Crab spectrum × ``source_flux`` folded
    with the collection area and the probability, estimated on ``sample`` (drawn
    log-uniform in energy), that a gamma passes lstchain's event selection, the
    gammaness cut and θ < RAD_MAX with ``reco_energy`` above ``reco_energy_min_tev``.
    """
    if irf.gh_cuts is not None:
        gh_ok = sample.gammaness >= binned_cut(sample.gammaness, sample.reco_energy, irf.gh_cuts)
        th_ok = sample.theta_deg < binned_cut(sample.theta_deg, sample.reco_energy, irf.rad_max_deg)
    else:
        gh_ok = sample.gammaness > irf.global_gh_cut
        th_ok = sample.theta_deg < irf.global_theta_cut_deg
    passed = gh_ok & th_ok & (sample.reco_energy > reco_energy_min_tev)
    e = sample.energy[passed]
    log_span = np.log(ENERGY_BINS_TEV[-1] / ENERGY_BINS_TEV[0])
    n_total = int(sample.n_simulated_per_bin.sum())
    weights = model.crab_flux(e) * 1e4 * sample.simulated_area_m2 * e * log_span
    return float(source_flux * weights.sum() / n_total)
