"""``/simulation/run_config``: what an MC production threw, as ctapipe writes it.

``lstchain_create_irf_files`` needs to know how many showers were thrown, over
which energies, spectrum, area and directions, to turn the detected MC gammas of
a DL2 file into an effective area (pyirf's ``SimulatedEventsInfo``). lstchain
reads it with ctapipe's ``HDF5TableReader`` into a ``SimulationConfigContainer``
from the table ``/simulation/run_config``, which ``lstchain_dl1_to_dl2`` copies
from DL1 to DL2 as it is.

ctapipe maps a column to a container field through the table attributes
``CTAFIELD_<position>_NAME`` and reads ``CTAFIELD_<position>_UNIT`` as the
column's unit; columns without the attributes are skipped. lstchain sums
``n_showers`` over the rows and requires every other column to be the same in
all rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tables

from lappana.io.hdf5 import FILTERS

__all__ = ["RUN_CONFIG_KEY", "ThrownShowers", "write_run_config"]

#: Where ctapipe and lstchain keep the simulation configuration.
RUN_CONFIG_KEY = "/simulation/run_config"


@dataclass(frozen=True)
class ThrownShowers:
    """What an MC production threw: the part of ctapipe's ``SimulationConfigContainer`` pyirf uses.

    Parameters
    ----------
    n_showers : int
        Showers thrown (each used once).
    energy_min_tev, energy_max_tev : float
        Energy range of the thrown showers.
    spectral_index : float
        They were thrown as E^spectral_index (pyirf needs it ≠ -1).
    max_scatter_range_m : float
        Core positions uniform within this radius: the thrown area is π r².
    alt_rad, az_rad : float
        The telescope pointing (one node).
    viewcone_min_deg, viewcone_max_deg : float
        The angular distances of the showers' directions from the pointing. lstchain
        calls equal ones (0.4 and 0.4: a point source on a ring at the wobble offset)
        ``ring_wobble`` MC and makes point-like IRFs at that offset; (0, R) is diffuse.
    b_total_ut, b_declination_rad, b_inclination_rad : float
        The geomagnetic field of the production site.
    """

    n_showers: int
    energy_min_tev: float
    energy_max_tev: float
    spectral_index: float
    max_scatter_range_m: float
    alt_rad: float
    az_rad: float
    b_total_ut: float
    b_declination_rad: float
    b_inclination_rad: float
    viewcone_min_deg: float = 0.0
    viewcone_max_deg: float = 0.0
    site_altitude_m: float = 2200.0

    def columns(self) -> dict[str, tuple[np.ndarray, str | None]]:
        """The table's columns (one row) and their units, in ctapipe's field names."""
        row = {
            "n_showers": (np.int64(self.n_showers), None),
            "shower_reuse": (np.int64(1), None),
            "energy_range_min": (float(self.energy_min_tev), "TeV"),
            "energy_range_max": (float(self.energy_max_tev), "TeV"),
            "spectral_index": (float(self.spectral_index), None),
            "max_scatter_range": (float(self.max_scatter_range_m), "m"),
            "min_scatter_range": (0.0, "m"),
            "max_alt": (float(self.alt_rad), "rad"),
            "min_alt": (float(self.alt_rad), "rad"),
            "max_az": (float(self.az_rad), "rad"),
            "min_az": (float(self.az_rad), "rad"),
            "diffuse": (bool(self.viewcone_max_deg > self.viewcone_min_deg), None),
            "max_viewcone_radius": (float(self.viewcone_max_deg), "deg"),
            "min_viewcone_radius": (float(self.viewcone_min_deg), "deg"),
            "prod_site_B_total": (float(self.b_total_ut), "uT"),
            "prod_site_B_declination": (float(self.b_declination_rad), "rad"),
            "prod_site_B_inclination": (float(self.b_inclination_rad), "rad"),
            "prod_site_alt": (float(self.site_altitude_m), "m"),
        }
        return {name: (np.asarray([value]), unit) for name, (value, unit) in row.items()}


def write_run_config(path: str | Path, thrown: ThrownShowers) -> None:
    """Write (or replace) ``/simulation/run_config`` in an HDF5 file, as ctapipe would read it."""
    columns = thrown.columns()
    records = np.empty(1, dtype=[(name, values.dtype) for name, (values, _) in columns.items()])
    for name, (values, _) in columns.items():
        records[name] = values
    where, name = RUN_CONFIG_KEY.rsplit("/", 1)
    with tables.open_file(str(path), mode="a") as h5:
        if RUN_CONFIG_KEY in h5:
            h5.remove_node(RUN_CONFIG_KEY)
        table = h5.create_table(where, name, obj=records, createparents=True, filters=FILTERS)
        for position, (column, (_, unit)) in enumerate(columns.items()):
            table.attrs[f"CTAFIELD_{position}_NAME"] = column
            if unit is not None:
                table.attrs[f"CTAFIELD_{position}_UNIT"] = unit
