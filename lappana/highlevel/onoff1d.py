"""Per-run 1D ON/OFF spectrum datasets of point-like DL3 runs, made as lstchain's post-DL3 recipe makes them.

gammapy's ``SpectrumDatasetMaker`` (point-like IRFs: the ON region is the source
position with each run's RAD_MAX, no containment correction),
``ReflectedRegionsBackgroundMaker(WobbleRegionsFinder)`` for the OFF and a
``SafeMaskMaker("aeff-max")``: a reconstructed-energy bin is kept where the
effective area is at least ``aeff_percent`` % of its maximum (the safe threshold)
and inside the requested energy range. One OFF region is the default, as in the
recipe: with three, the OFF regions overlap the ON where RAD_MAX is large (low
energies of RAD_MAX_2D files) and gammapy drops the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from lappana.errors import LappanaError
from lappana.highlevel.threshold import SAFE_AEFF_PERCENT

#: Reconstructed energy axis (TeV; the recipe starts at 0.05, lower here so that the safe mask,
#: not the axis, sets the threshold) and its bins per decade.
RECO_ENERGY_TEV = (0.02, 50.0)
RECO_PER_DECADE = 8
#: True energy axis (TeV) and bins per decade.
TRUE_ENERGY_TEV = (0.01, 100.0)
TRUE_PER_DECADE = 10


def read_observations(dl3_dir: str | Path, obs_ids: list[int] | None = None):
    """The point-like observations of an indexed DL3 folder (gammapy ``Observations``)."""
    from gammapy.data import DataStore

    dl3_dir = Path(dl3_dir)
    try:
        store = DataStore.from_dir(dl3_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise LappanaError(f"gammapy cannot open the DL3 index of {dl3_dir} ({exc}); run lappana index on it.") from exc
    ids = list(store.obs_table["OBS_ID"]) if obs_ids is None else list(obs_ids)
    try:
        return store.get_observations(ids, required_irf="point-like")
    except (OSError, ValueError, KeyError) as exc:
        raise LappanaError(f"The DL3 runs of {dl3_dir} are not point-like DL3 gammapy can read ({exc}).") from exc


def reco_energy_edges(energy_range: u.Quantity | None = None) -> u.Quantity:
    """Edges of the reconstructed-energy bins: 8 per decade, starting at the range's minimum when given."""
    lo, hi = RECO_ENERGY_TEV
    if energy_range is not None:
        lo, hi = u.Quantity(energy_range).to_value(u.TeV)
        lo, hi = max(lo, RECO_ENERGY_TEV[0]), min(hi, 100.0)
    n = max(1, int(np.ceil(np.log10(hi / lo) * RECO_PER_DECADE - 1e-6)))
    return np.geomspace(lo, hi, n + 1) * u.TeV


@dataclass
class OnOffMaker:
    """Make one ``SpectrumDatasetOnOff`` per observation.

    Parameters
    ----------
    target : astropy.coordinates.SkyCoord
        The source.
    n_off : int
        OFF regions per run (WobbleRegionsFinder).
    energy_range : astropy.units.Quantity, optional
        ``[min, max]`` reconstructed energy; default: from the safe threshold up to 50 TeV.
    aeff_percent : float
        Safe threshold, % of the maximal effective area.
    """

    target: SkyCoord
    n_off: int = 1
    energy_range: u.Quantity | None = None
    aeff_percent: float = SAFE_AEFF_PERCENT

    def __post_init__(self) -> None:
        if self.energy_range is not None:
            lo, hi = u.Quantity(self.energy_range).to_value(u.TeV)
            if not 0 <= lo < hi or hi <= RECO_ENERGY_TEV[0]:
                raise LappanaError(f"The energy range {lo:g}–{hi:g} TeV is empty: give min < max, with max above "
                                   f"{RECO_ENERGY_TEV[0]:g} TeV.")
        if int(self.n_off) < 1:
            raise LappanaError(f"A spectrum needs at least one OFF region per run, not {self.n_off}.")

    def run(self, observations):
        """Reduce ``observations`` (gammapy ``Observations``, or a DL3 folder) to gammapy ``Datasets``.

        Runs whose OFF regions cannot be placed are left out (gammapy masks them);
        every dataset is named after its observation (``obs_id``, or ``obs_id:k`` for
        the k-th time slice of a run).
        """
        from gammapy.datasets import Datasets, SpectrumDataset
        from gammapy.makers import (ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker,
                                    WobbleRegionsFinder)
        from gammapy.maps import MapAxis, RegionGeom
        from regions import PointSkyRegion

        if isinstance(observations, (str, Path)):
            observations = read_observations(observations)
        reco = MapAxis.from_energy_edges(reco_energy_edges(self.energy_range), name="energy")
        true = MapAxis.from_energy_bounds(*TRUE_ENERGY_TEV, nbin=TRUE_PER_DECADE, per_decade=True, unit="TeV",
                                          name="energy_true")
        geom = RegionGeom.create(region=PointSkyRegion(self.target), axes=[reco])
        empty = SpectrumDataset.create(geom=geom, energy_axis_true=true)
        maker = SpectrumDatasetMaker(containment_correction=False, selection=["counts", "exposure", "edisp"])
        bkg = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=int(self.n_off)))
        safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=self.aeff_percent)
        datasets = Datasets()
        seen: dict[int, int] = {}
        for obs in observations:
            k = seen.get(int(obs.obs_id), 0)
            seen[int(obs.obs_id)] = k + 1
            name = str(obs.obs_id) if k == 0 else f"{obs.obs_id}:{k}"
            dataset = bkg.run(maker.run(empty.copy(name=name), obs), obs)
            dataset = safe.run(dataset, obs)
            if dataset.counts_off is None or not dataset.mask_safe.data.any():
                continue
            datasets.append(dataset)
        if len(datasets) == 0:
            raise LappanaError("No run gives a usable ON/OFF spectrum (no OFF region could be placed, or no "
                               "energy bin passes the safe threshold and the energy range).")
        return datasets


def safe_band(datasets) -> u.Quantity:
    """``[min, max]`` reconstructed energy where at least one dataset is safe (bin edges)."""
    lo, hi = [], []
    for d in datasets:
        edges = d.counts.geom.axes["energy"].edges
        mask = d.mask_safe.data.reshape(len(edges) - 1, -1).any(axis=1)
        idx = np.flatnonzero(mask)
        lo.append(edges[idx[0]].to_value(u.TeV))
        hi.append(edges[idx[-1] + 1].to_value(u.TeV))
    return [min(lo), max(hi)] * u.TeV


def night_of(time: Time) -> str:
    """The night (its evening's date, ISO) of a time at La Palma: the UTC date 12 h earlier."""
    from lappana.highlevel.provenance import night_of_unix

    return night_of_unix(float(Time(time).unix))
