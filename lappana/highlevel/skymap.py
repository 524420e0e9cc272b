"""Sky maps around the source: counts, background, excess and Li & Ma significance.

Background model: the reflected-wobble acceptance model. For every run with n
OFF regions, an event at position e is also an OFF event for the sky positions
that e reaches when rotated about the run's pointing by −k·360°/(n+1), k = 1..n:
each pixel gets as OFF counts the events seen at its n wobble-reflected
positions, exactly as the ON region gets its reflected OFF regions in
:mod:`lappana.highlevel.theta2`. The camera acceptance is assumed radially
symmetric about the pointing (the same assumption as reflected regions). Events
within ``exclusion_radius_deg`` of the source are never used as OFF events, and
the pixel's OFF acceptance counts only the rotations that land outside that
circle, so the source does not dig a hole in the background.

The maps then follow gammapy's ``ExcessMapEstimator`` (``correlate_off=True``) on a
``MapDatasetOnOff`` with these counts: ON and OFF counts are summed within the
correlation radius (astropy's ``Tophat2DKernel``), α = Σ(acceptance/acceptance_off·OFF)
/ ΣOFF in the disk, and the significance is the signed Li & Ma σ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from astropy.convolution import Tophat2DKernel
from astropy.io import fits
from astropy.wcs import WCS

from lappana.errors import LappanaError
from lappana.highlevel.dl3files import Dl3Run, read_dl3_folder
from lappana.highlevel.lima import li_ma_significance
from lappana.highlevel.regions import angular_separation, rotate_about, wobble_off_positions
from lappana.highlevel.theta2 import FOV_RADIUS_DEG
from lappana.units import angle_deg, energy_range_tev, sky_position


@dataclass
class SkyMaps:
    """The maps (2-D arrays, [y, x]) on one TAN geometry centred on the source."""

    wcs: WCS
    counts: np.ndarray
    counts_off: np.ndarray
    acceptance: np.ndarray
    acceptance_off: np.ndarray
    n_on_correlated: np.ndarray
    n_off_correlated: np.ndarray
    background_correlated: np.ndarray
    excess_correlated: np.ndarray
    significance: np.ndarray
    correlation_radius_deg: float
    exclusion_radius_deg: float
    energy_range_tev: tuple[float, float] | None
    source_name: str
    source_ra_deg: float
    source_dec_deg: float
    pointings_deg: list[list[float]] = field(default_factory=list)
    off_positions_deg: list[list[float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def background(self) -> np.ndarray:
        """Uncorrelated background per pixel, α·OFF (0 where no OFF acceptance)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            bkg = self.acceptance / self.acceptance_off * self.counts_off
        return np.where(self.acceptance_off > 0, bkg, 0.0)

    def value_at(self, name: str, ra_deg: float, dec_deg: float) -> float:
        """Return the value of map ``name`` in the pixel holding (ra, dec)."""
        x, y = self.wcs.world_to_pixel_values(ra_deg, dec_deg)
        return float(getattr(self, name)[int(np.round(y)), int(np.round(x))])

    def background_significances(self) -> np.ndarray:
        """Significances of the pixels away from the source (beyond the exclusion radius) that have background.

        Without another source there, they follow the standard normal law (neighbouring
        pixels share events within the correlation radius, so they are not independent).
        """
        nx, ny = self.wcs.pixel_shape
        yy, xx = np.mgrid[0:ny, 0:nx]
        ra, dec = self.wcs.pixel_to_world_values(xx, yy)
        away = angular_separation(self.source_ra_deg, self.source_dec_deg, ra, dec) > self.exclusion_radius_deg
        keep = away & (self.n_off_correlated > 0) & np.isfinite(self.significance)
        return self.significance[keep]

    def summary(self) -> dict:
        """Key numbers for summary.json."""
        sig = self.significance
        finite = np.isfinite(sig)
        away = self.background_significances()
        return {
            "background_significance": {
                "n_pixels": int(away.size), "mean": float(away.mean()) if away.size else None,
                "std": float(away.std()) if away.size else None,
                "excluded_within_deg": self.exclusion_radius_deg},
            "significance_at_source": self.value_at("significance", self.source_ra_deg, self.source_dec_deg),
            "max_significance": float(np.nanmax(sig)) if finite.any() else None,
            "correlation_radius_deg": self.correlation_radius_deg,
            "exclusion_radius_deg": self.exclusion_radius_deg,
            "background_model": "reflected wobble acceptance (OFF = events at the pixel's wobble reflections)",
            "shape": list(self.counts.shape),
            "pixel_size_deg": float(abs(self.wcs.wcs.cdelt[0])),
        }


def make_geometry(ra_deg: float, dec_deg: float, width_deg: float = 2.0, binsz_deg: float = 0.02) -> WCS:
    """Return a TAN WCS centred on (ra, dec) with square pixels of ``binsz_deg``, odd width in pixels."""
    npix = int(np.ceil(width_deg / binsz_deg))
    npix += 1 - npix % 2
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra_deg, dec_deg]
    wcs.wcs.cdelt = [-binsz_deg, binsz_deg]
    wcs.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    wcs.wcs.radesys = "ICRS"
    wcs.pixel_shape = (npix, npix)
    return wcs


def _histogram(wcs: WCS, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    nx, ny = wcs.pixel_shape
    if ra.size == 0:
        return np.zeros((ny, nx))
    x, y = wcs.world_to_pixel_values(ra, dec)
    hist, _, _ = np.histogram2d(y, x, bins=[ny, nx], range=[[-0.5, ny - 0.5], [-0.5, nx - 0.5]])
    return hist


def tophat_kernel(radius_deg: float, binsz_deg: float) -> np.ndarray:
    """The binary top-hat kernel gammapy's ``ExcessMapEstimator`` uses (``Tophat2DKernel``, max 1)."""
    kernel = Tophat2DKernel(radius_deg / binsz_deg).array
    return kernel / kernel.max()


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve ``image`` with ``kernel`` ("same" size, zeros outside), as a sum of shifted images."""
    ky, kx = kernel.shape
    cy, cx = ky // 2, kx // 2
    padded = np.pad(image, ((cy, cy), (cx, cx)))
    out = np.zeros_like(image, dtype=float)
    ny, nx = image.shape
    for dy, dx in zip(*np.nonzero(kernel)):
        out += kernel[dy, dx] * padded[2 * cy - dy: 2 * cy - dy + ny, 2 * cx - dx: 2 * cx - dx + nx]
    return out


def correlated_significance(counts, counts_off, acceptance, acceptance_off, kernel) -> dict[str, np.ndarray]:
    """Correlated ON/OFF, background, excess and σ as gammapy's ``ExcessMapEstimator(correlate_off=True)``."""
    n_on = np.rint(correlate(counts, kernel))
    with np.errstate(divide="ignore", invalid="ignore"):
        background = np.where(acceptance_off > 0, acceptance / acceptance_off * counts_off, 0.0)
        n_off = correlate(counts_off, kernel)
        background_conv = correlate(background, kernel)
        alpha = background_conv / n_off
    sigma = li_ma_significance(n_on, n_off, alpha)
    return {"n_on": n_on, "n_off": n_off, "background": background_conv, "excess": n_on - background_conv,
            "significance": sigma}


def _run_maps(run: Dl3Run, wcs: WCS, source, n_off, exclusion, energy_range, centres):
    """Counts, OFF counts, acceptance and OFF acceptance of one run (livetime-weighted)."""
    mask = np.ones(run.n_events, dtype=bool)
    if energy_range is not None:
        mask = (run.energy_tev >= energy_range[0]) & (run.energy_tev < energy_range[1])
    ra, dec = run.ra_deg[mask], run.dec_deg[mask]
    counts = _histogram(wcs, ra, dec)
    usable = angular_separation(source[0], source[1], ra, dec) > exclusion
    shape = counts.shape
    counts_off = np.zeros(shape)
    n_valid = np.zeros(shape)
    pix_ra, pix_dec = centres
    for k in range(1, n_off + 1):
        angle = k * 360.0 / (n_off + 1)
        rra, rdec = rotate_about(ra[usable], dec[usable], run.pointing_ra_deg, run.pointing_dec_deg, -angle)
        counts_off += _histogram(wcs, rra, rdec)
        off_ra, off_dec = rotate_about(pix_ra, pix_dec, run.pointing_ra_deg, run.pointing_dec_deg, angle)
        valid = angular_separation(source[0], source[1], off_ra, off_dec) > exclusion
        valid &= angular_separation(run.pointing_ra_deg, run.pointing_dec_deg, pix_ra, pix_dec) < FOV_RADIUS_DEG
        n_valid += valid
    in_fov = angular_separation(run.pointing_ra_deg, run.pointing_dec_deg, pix_ra, pix_dec) < FOV_RADIUS_DEG
    return counts, counts_off, run.livetime_s * in_fov, run.livetime_s * n_valid


def make_skymap(
    dl3_dir: str | Path,
    *,
    source_name: str,
    source_ra_deg: float | None = None,
    source_dec_deg: float | None = None,
    source=None,
    n_off: int = 3,
    energy_range: tuple[float, float] | None = None,
    correlation_radius_deg: float = 0.1,
    exclusion_radius_deg: float = 0.3,
    width_deg: float = 2.0,
    binsz_deg: float = 0.02,
    runs: list[Dl3Run] | None = None,
) -> SkyMaps:
    """Make counts, background, excess and significance maps around the source.

    Parameters
    ----------
    dl3_dir : str or Path
        An indexed DL3 folder.
    source_name : str
    source_ra_deg, source_dec_deg : float, optional
        Map centre and excluded source (ICRS deg).
    source : astropy.coordinates.SkyCoord, optional
        The same position as a SkyCoord (any frame), instead of the two floats.
    n_off : int
        Wobble reflections per run used as background.
    energy_range : (float, float), optional
        Reconstructed energy range in TeV.
    correlation_radius_deg : float or Angle
        Radius of the top-hat the counts are summed in (θ cut-like, default 0.1°).
    exclusion_radius_deg : float or Angle
        Events within this radius of the source are not used as background.
    width_deg, binsz_deg : float or Angle
        Map size and pixel size.
    runs : list of Dl3Run, optional
        Runs already read.

    Returns
    -------
    SkyMaps
    """
    source_ra_deg, source_dec_deg = sky_position(source, source_ra_deg, source_dec_deg)
    energy_range = energy_range_tev(energy_range)
    correlation_radius_deg, exclusion_radius_deg, width_deg, binsz_deg = (
        angle_deg(a) for a in (correlation_radius_deg, exclusion_radius_deg, width_deg, binsz_deg))
    if correlation_radius_deg <= 0 or binsz_deg <= 0 or width_deg <= 0:
        raise LappanaError("The correlation radius, pixel size and map width must be positive (in degrees).")
    runs = read_dl3_folder(dl3_dir) if runs is None else runs
    wcs = make_geometry(source_ra_deg, source_dec_deg, width_deg, binsz_deg)
    nx, ny = wcs.pixel_shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    centres = wcs.pixel_to_world_values(xx, yy)
    source = (source_ra_deg, source_dec_deg)
    maps = [np.zeros((ny, nx)) for _ in range(4)]
    problems: list[str] = []
    pointings, offs = [], []
    for run in runs:
        offset = float(angular_separation(run.pointing_ra_deg, run.pointing_dec_deg, *source))
        if offset > FOV_RADIUS_DEG:
            problems.append(f"Run {run.obs_id}: the source is {offset:.2f}° from the pointing, outside the field of "
                            "view; the run is left out of the sky map.")
            continue
        for total, part in zip(maps, _run_maps(run, wcs, source, n_off, exclusion_radius_deg, energy_range, centres)):
            total += part
        pointings.append([run.pointing_ra_deg, run.pointing_dec_deg])
        offs += wobble_off_positions(*source, run.pointing_ra_deg, run.pointing_dec_deg, n_off).tolist()
    counts, counts_off, acceptance, acceptance_off = maps
    if not pointings:
        problems.append("No run has the source in its field of view, so the sky map is empty.")
    elif counts.sum() == 0:
        problems.append("No event falls in the sky map" + (f" in {energy_range[0]}–{energy_range[1]} TeV"
                                                            if energy_range else "") + ".")
    kernel = tophat_kernel(correlation_radius_deg, binsz_deg)
    corr = correlated_significance(counts, counts_off, acceptance, acceptance_off, kernel)
    return SkyMaps(
        wcs=wcs, counts=counts, counts_off=counts_off, acceptance=acceptance, acceptance_off=acceptance_off,
        n_on_correlated=corr["n_on"], n_off_correlated=corr["n_off"], background_correlated=corr["background"],
        excess_correlated=corr["excess"], significance=corr["significance"],
        correlation_radius_deg=correlation_radius_deg, exclusion_radius_deg=exclusion_radius_deg,
        energy_range_tev=energy_range, source_name=source_name, source_ra_deg=source_ra_deg,
        source_dec_deg=source_dec_deg, pointings_deg=pointings, off_positions_deg=offs, problems=problems,
    )


def write_skymap_fits(maps: SkyMaps, path: str | Path) -> Path:
    """Write the maps as one FITS file, an image HDU per map with the WCS.

    HDUs: COUNTS, BACKGROUND, COUNTS_OFF, ACCEPTANCE, ACCEPTANCE_OFF (per pixel) and
    N_ON_CORR, BACKGROUND_CORR, EXCESS, SIGNIFICANCE (within the correlation radius).
    """
    path = Path(path)
    header = maps.wcs.to_header()
    header["OBJECT"] = maps.source_name
    header["RA_OBJ"] = (maps.source_ra_deg, "[deg] source RA")
    header["DEC_OBJ"] = (maps.source_dec_deg, "[deg] source Dec")
    header["CORR_RAD"] = (maps.correlation_radius_deg, "[deg] correlation radius")
    header["EXCL_RAD"] = (maps.exclusion_radius_deg, "[deg] no OFF events within")
    header["BKGMODEL"] = "reflected wobble acceptance"
    if maps.energy_range_tev:
        header["E_MIN"] = (maps.energy_range_tev[0], "[TeV]")
        header["E_MAX"] = (maps.energy_range_tev[1], "[TeV]")
    hdus = [fits.PrimaryHDU()]
    for name, data in [("COUNTS", maps.counts), ("BACKGROUND", maps.background), ("COUNTS_OFF", maps.counts_off),
                       ("ACCEPTANCE", maps.acceptance), ("ACCEPTANCE_OFF", maps.acceptance_off),
                       ("N_ON_CORR", maps.n_on_correlated), ("BACKGROUND_CORR", maps.background_correlated),
                       ("EXCESS", maps.excess_correlated), ("SIGNIFICANCE", maps.significance)]:
        hdus.append(fits.ImageHDU(np.asarray(data, dtype=np.float32 if "ACCEPT" not in name else np.float64),
                                  header=header, name=name))
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path
