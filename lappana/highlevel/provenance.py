"""What the products are made of: lstchain's version, each run's night, times in UTC, IRF file and pointing node.

lstchain writes its version into every DL2 file it makes (the root attribute
``LSTCHAIN_VERSION``, its ``write_metadata``); an lstchain environment says its
version in its installed package metadata. ``lappana dl3`` writes into each DL3
file which IRF files its IRF comes from and how (``IRF_METH``, ``IRF_NNOD``,
``IRF_FILn``/``IRF_ZENn``/``IRF_AZn``/``IRF_WGTn``, ``IRF_WHY``; older files only
``IRF_FILE``, ``IRF_ZEN``, ``IRF_AZ``); DL3 made by lstchain names none.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from typing import TYPE_CHECKING

from lappana.constants import MJDREF_UNIX

if TYPE_CHECKING:
    from lappana.highlevel.dl3files import Dl3Run

#: The attribute of a DL2 file's root node that holds the lstchain version that made it.
LSTCHAIN_VERSION_ATTR = "LSTCHAIN_VERSION"


def dl2_lstchain_versions(dl2_files: list[str | Path]) -> list[str]:
    """The lstchain versions the DL2 files record (each once, in order; [] when none does)."""
    import tables

    found: list[str] = []
    for path in dl2_files:
        try:
            with tables.open_file(str(path), mode="r") as h5:
                attrs = h5.root._v_attrs
                value = attrs[LSTCHAIN_VERSION_ATTR] if LSTCHAIN_VERSION_ATTR in attrs._v_attrnames else None
        except (OSError, tables.HDF5ExtError, KeyError):
            continue
        if value is not None:
            text = value.decode() if isinstance(value, bytes) else str(value)
            if text not in found:
                found.append(text)
    return found


def lstchain_version(dl2_files: list[str | Path] | None, given: str | None = None) -> tuple[str | None, str]:
    """lstchain's version and where it comes from: the DL2 files, else ``given`` (the site's environment)."""
    versions = dl2_lstchain_versions(dl2_files or [])
    if versions:
        return ", ".join(versions), "the DL2 files (LSTCHAIN_VERSION)"
    if given:
        return str(given), "the lstchain environment that made the DL2"
    return None, "not known: no DL2 file given records it"


def utc(seconds_since_mjdref: float) -> str:
    """ISO 8601 UTC time of a DL3 time (seconds since MJDREF)."""
    when = _dt.datetime.fromtimestamp(MJDREF_UNIX + float(seconds_since_mjdref), _dt.timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def night_of_unix(unix_s: float) -> str:
    """The night (its evening's date, ISO) of a time at La Palma: the UTC date 12 h earlier."""
    return (_dt.datetime.fromtimestamp(unix_s, _dt.timezone.utc) - _dt.timedelta(hours=12)).date().isoformat()


def irf_record(header) -> dict | None:
    """How a DL3 file's IRF was made: ``method``, each node's file, pointing and weight, and why (or None)."""
    if "IRF_FILE" not in header:
        return None
    if "IRF_NNOD" not in header:  # a file of lappana before interpolation: one node, unchanged
        nodes = [{"file": str(header["IRF_FILE"]), "zenith_deg": float(header.get("IRF_ZEN", float("nan"))),
                  "azimuth_deg": float(header.get("IRF_AZ", float("nan"))), "weight": 1.0}]
        return {"method": "nearest", "nodes": nodes, "reason": None}
    nodes = [{"file": str(header[f"IRF_FIL{i}"]), "zenith_deg": float(header[f"IRF_ZEN{i}"]),
              "azimuth_deg": float(header[f"IRF_AZ{i}"]), "weight": float(header[f"IRF_WGT{i}"])}
             for i in range(1, int(header["IRF_NNOD"]) + 1)]
    return {"method": str(header["IRF_METH"]), "nodes": nodes, "reason": str(header.get("IRF_WHY", "")) or None}


def run_record(run: "Dl3Run") -> dict:
    """A run's night, start and stop in UTC, and the IRF files and nodes it used and how."""
    header = run.header
    node = None
    if "IRF_ZEN" in header and "IRF_AZ" in header:
        node = {"zenith_deg": float(header["IRF_ZEN"]), "azimuth_deg": float(header["IRF_AZ"])}
    return {"night": night_of_unix(MJDREF_UNIX + run.tstart_s), "tstart_utc": utc(run.tstart_s),
            "tstop_utc": utc(run.tstop_s), "irf_file": str(header["IRF_FILE"]) if "IRF_FILE" in header else None,
            "irf_node": node, "irf": irf_record(header)}
