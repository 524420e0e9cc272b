"""What one pass over a run's DL2 found: rows, selected events, effective time, pointing.

:mod:`lappana.dl3.make` fills a :class:`RunSummary` chunk by chunk (and merges the
summaries of parallel workers); :mod:`lappana.dl3.headers` reads it for the DL3
headers, the GTI and the pointing. It lives here so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lappana.dl3.astrometry import mean_pointing_radec
from lappana.dl3.efftime import EffectiveTime

__all__ = ["RunSummary", "POINTING_EXCLUDE_FRACTION"]

#: Fraction of the run's first selected events left out of the mean pointing (lstchain's).
POINTING_EXCLUDE_FRACTION = 0.2
#: Pointing samples transformed for the mean ICRS pointing at most (evenly spread; the pointing moves
#: smoothly, so more change the mean by < 1e-6 deg and cost ~4 µs each in one process at the end).
MAX_POINTING_SAMPLES = 5000


@dataclass
class RunSummary:
    """What one pass over a run's DL2 found."""

    n_rows: int = 0
    n_selected: int = 0
    efftime: EffectiveTime = field(default_factory=EffectiveTime)
    tel_ids: set[int] = field(default_factory=set)
    sum_alt_rad: float = 0.0
    sum_az_rad: float = 0.0
    pointing_samples: list[np.ndarray] = field(default_factory=list)  # rows: ordinal, time, alt, az

    def merge(self, later: "RunSummary") -> None:
        """Add the summary of the rows that follow this one's."""
        for samples in later.pointing_samples:
            shifted = samples.copy()
            shifted[:, 0] += self.n_selected
            self.pointing_samples.append(shifted)
        self.n_rows += later.n_rows
        self.n_selected += later.n_selected
        self.efftime.merge(later.efftime)
        self.tel_ids |= later.tel_ids
        self.sum_alt_rad += later.sum_alt_rad
        self.sum_az_rad += later.sum_az_rad

    def mean_altaz_deg(self) -> tuple[float, float]:
        """Mean telescope alt and az (deg) over the selected events (lstchain's ALT_PNT/AZ_PNT)."""
        return (float(np.degrees(self.sum_alt_rad / self.n_selected)),
                float(np.degrees(self.sum_az_rad / self.n_selected)))

    def mean_radec_deg(self) -> tuple[float, float]:
        """Mean ICRS pointing of the selected events, the first 20 % left out."""
        samples = np.concatenate(self.pointing_samples, axis=0)
        first = int(POINTING_EXCLUDE_FRACTION * self.n_selected)
        kept = samples[samples[:, 0] >= first]
        if kept.size == 0:
            kept = samples
        kept = kept[np.unique(np.linspace(0, len(kept) - 1, min(len(kept), MAX_POINTING_SAMPLES)).astype(np.int64))]
        return mean_pointing_radec(kept[:, 2], kept[:, 3], kept[:, 1])
