"""A DL3 file's IRF provenance: the EVENTS keywords lappana dl3 writes, read back for summary.json and the report."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from astropy.io import fits

from lappana.dl3.irf import IrfNode
from lappana.dl3.irf_choice import choose_irf
from lappana.dl3.make import irf_cards
from lappana.highlevel.provenance import irf_record
from lappana.highlevel.report import _irf_cell

SCHEMA = Path(__file__).parents[3] / "lappana" / "schemas" / "summary.schema.json"
NODES = [IrfNode(Path(f"/irf/irf_zen{z}_az{a}.fits.gz"), z, a, b)
         for z, a, b in [(10, 180, 40), (30, 180, 38), (20, 180, 60), (45, 180, 55)]]


def _run_schema() -> dict:
    return json.loads(SCHEMA.read_text())["properties"]["runs"]["items"]["properties"]["irf"]


def _header(choice) -> fits.Header:
    header = fits.Header()
    for key, value, comment in irf_cards(choice):
        header[key] = (value, comment)
    return header


def test_an_interpolated_irf_names_its_nodes_and_weights():
    choice = choose_irf(NODES, 18.0, 180.0, 47.0)
    assert choice.interpolated
    record = irf_record(_header(choice))
    jsonschema.validate(record, _run_schema())
    assert record["method"] == "interpolated" and len(record["nodes"]) == 3
    assert [n["file"] for n in record["nodes"]] == [n.path.name for n in choice.nodes]
    assert [n["weight"] for n in record["nodes"]] == [round(w, 10) for w in choice.weights]
    assert record["reason"] == choice.reason
    cell = _irf_cell({"irf": record, "irf_file": record["nodes"][0]["file"]})
    assert cell.startswith("interpolated: ") and all(n.path.name in cell for n in choice.nodes)


def test_a_nearest_node_and_an_older_file():
    choice = choose_irf(NODES, 5.0, 180.0, 45.0)
    header = _header(choice)
    record = irf_record(header)
    jsonschema.validate(record, _run_schema())
    assert record == {"method": "nearest", "reason": choice.reason,
                      "nodes": [{"file": "irf_zen10_az180.fits.gz", "zenith_deg": 10.0, "azimuth_deg": 180.0,
                                 "weight": 1.0}]}
    older = fits.Header([("IRF_FILE", "irf_zen10_az180.fits.gz"), ("IRF_ZEN", 10.0), ("IRF_AZ", 180.0)])
    assert irf_record(older)["nodes"] == record["nodes"] and irf_record(older)["reason"] is None
    assert irf_record(fits.Header()) is None
    assert "(10.0°, 180.0°)" in _irf_cell({"irf": record, "irf_file": "irf_zen10_az180.fits.gz",
                                          "irf_node": {"zenith_deg": 10.0, "azimuth_deg": 180.0}})
