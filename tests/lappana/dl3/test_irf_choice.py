"""Which IRF nodes a run takes and how they are combined (lappana.dl3.irf_choice, irf_interp), without peers.

The weights are checked against scipy's ``griddata`` (linear), which pyirf's
interpolators call; the lstchain comparison itself is test_irf_interpolation_peers.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time
from scipy.interpolate import griddata

from lappana.commands import dl3 as dl3_command
from lappana.dl3.irf import IrfNode, read_node
from lappana.dl3.irf_choice import choose_irf
from lappana.dl3.irf_interp import interpolate_effective_area, irf_hdus, quantile_interpolate
from lappana.errors import LappanaError
from lappana.simulate.irf import irf_file_name, write_irf
from lappana.simulate.night import make_irfs

WHEN = Time("2023-12-08T04:10:00")


def _node(zenith, azimuth, b_delta):
    """A node with a file name only: choose_irf reads no file."""
    return IrfNode(Path("/nowhere") / f"n_{zenith}_{azimuth}_{b_delta}", zenith, azimuth, b_delta)


def _plane(zenith, b_delta):
    return np.array([np.cos(np.radians(zenith)), np.sin(np.radians(b_delta))])


def test_weights_are_scipys_linear_griddata_inside_a_triangle():
    nodes = [_node(z, 180.0, b) for z, b in [(10, 40), (30, 38), (20, 60), (45, 55), (5, 70)]]
    points = np.array([_plane(n.zenith_deg, n.b_delta_deg) for n in nodes])
    for zen, bd in [(18.0, 47.0), (31.0, 50.0), (12.0, 55.0)]:
        choice = choose_irf(nodes, zen, 180.0, bd)
        assert choice.interpolated and len(choice.nodes) == 3
        assert sum(choice.weights) == pytest.approx(1.0)
        target = _plane(round(zen, 5), round(bd, 5))[None, :]
        for node, weight in zip(choice.nodes, choice.weights):
            basis = np.array([1.0 if n is node else 0.0 for n in nodes])
            assert weight == pytest.approx(float(griddata(points, basis, target)[0]), abs=1e-12)
        assert "inside the triangle" in choice.reason


def test_outside_the_grid_the_nearest_node_unchanged_and_said_so():
    nodes = [_node(z, 180.0, b) for z, b in [(10, 40), (30, 38), (20, 60)]]
    choice = choose_irf(nodes, 5.0, 180.0, 45.0)
    assert not choice.interpolated and choice.weights == (1.0,)
    assert choice.nodes[0].zenith_deg == 10
    assert "outside the IRF grid" in choice.reason and "does not extrapolate" in choice.reason


def test_nodes_on_a_line_or_two_nodes_cannot_be_interpolated():
    line = [_node(z, 180.0, 40.0) for z in (10, 20, 30)]
    choice = choose_irf(line, 18.0, 180.0, 40.0)
    assert choice.nodes[0].zenith_deg == 20 and "span no triangle" in choice.reason
    assert choose_irf(line[:2], 18.0, 180.0, 40.0).nodes[0].zenith_deg == 20
    one = choose_irf(line[:1], 40.0, 0.0, 10.0)
    assert one.nodes == (line[0],) and "one node" in one.reason


def test_nearest_on_request_and_coinciding_nodes_told_apart_by_azimuth():
    nodes = [_node(10, 90, 40), _node(10, 270, 40), _node(30, 90, 38), _node(30, 270, 38), _node(20, 180, 60)]
    choice = choose_irf(nodes, 12.0, 250.0, 41.0, "nearest")
    assert (choice.nodes[0].zenith_deg, choice.nodes[0].azimuth_deg) == (10, 270)
    assert "as asked" in choice.reason
    inside = choose_irf(nodes, 18.0, 100.0, 45.0)
    assert inside.interpolated and all(n.azimuth_deg in (90, 180) for n in inside.nodes)
    with pytest.raises(ValueError):
        choose_irf(nodes, 18.0, 100.0, 45.0, "cubic")


def test_without_b_delta_the_nearest_in_cos_zenith():
    nodes = [_node(10, 180, None), _node(30, 180, None), _node(20, 0, None)]
    choice = choose_irf(nodes, 22.0, 180.0, 50.0)
    assert choice.nodes[0].zenith_deg == 20 and "B_DELTA" in choice.reason


def test_quantile_interpolation_of_one_pdf_keeps_its_shape():
    edges = np.linspace(0.2, 5.0, 31)
    pdf = np.exp(-0.5 * ((0.5 * (edges[1:] + edges[:-1]) - 1.0) / 0.2) ** 2)
    pdf /= np.sum(pdf * np.diff(edges))
    out = quantile_interpolate(np.stack([pdf, pdf]), edges, np.array([0.3, 0.7]))
    assert np.sum(out * np.diff(edges)) == pytest.approx(1.0)
    mids = 0.5 * (edges[1:] + edges[:-1])
    assert np.sum(out * mids * np.diff(edges)) == pytest.approx(np.sum(pdf * mids * np.diff(edges)), rel=0.02)
    assert np.all(quantile_interpolate(np.zeros((2, 30)), edges, np.array([0.5, 0.5])) == 0)


def test_effective_area_log_linear_with_pyirfs_1_m2_floor():
    areas = np.array([[0.0, 0.0, 0.5, 100.0], [0.0, 4.0, 0.5, 10_000.0]])
    out = interpolate_effective_area(areas, np.array([0.5, 0.5]))
    # empty at both nodes -> exp(0) = 1 m² (pyirf's floor, kept by lstchain); 0 and 4 -> 2; 100 and 1e4 -> 1000
    assert out.tolist() == pytest.approx([1.0, 2.0, 1.0, 1000.0])
    assert interpolate_effective_area(np.array([[0.0], [0.0]]), np.array([0.9, 0.1]))[0] == 1.0


@pytest.fixture(scope="module")
def irf_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("irf-nodes")
    files = {}
    for azimuth in (250.0, 290.0):
        for set_name, nodes in make_irfs(seed=1, time=WHEN, zeniths_deg=[25.0, 40.0], azimuth_deg=azimuth).items():
            for node in nodes:
                files[set_name, node.zenith_deg, azimuth] = write_irf(root / irf_file_name(node), node, WHEN)
    return files


def test_interpolated_hdus_between_two_zeniths(irf_files):
    eff = [read_node(irf_files["eff_gh0.70_th0.70", z, a]) for z, a in [(25.0, 250.0), (25.0, 290.0), (40.0, 290.0)]]
    choice = choose_irf(eff, 30.0, 275.0, 0.5 * (eff[0].b_delta_deg + eff[2].b_delta_deg))
    if not choice.interpolated:
        pytest.fail(choice.reason)
    hdus = irf_hdus(choice)
    names = [h.name for h in hdus]
    assert names == ["EFFECTIVE AREA", "ENERGY DISPERSION", "GH_CUTS", "RAD_MAX"]
    with fits.open(eff[0].path) as low, fits.open(eff[2].path) as high:
        w_high = sum(w for n, w in zip(choice.nodes, choice.weights) if n.zenith_deg == 40.0)
        a, b = (np.asarray(x["EFFECTIVE AREA"].data["EFFAREA"][0]) for x in (low, high))
        expected = np.exp((1 - w_high) * np.log(np.maximum(a, 1)) + w_high * np.log(np.maximum(b, 1)))
        expected[expected < 1] = 0
        assert np.allclose(hdus[0].data["EFFAREA"][0], expected, rtol=1e-12)
        cuts = (1 - w_high) * low["GH_CUTS"].data["cut"] + w_high * high["GH_CUTS"].data["cut"]
        assert np.allclose(hdus[2].data["cut"], cuts, rtol=1e-12)
    matrix = np.asarray(hdus[1].data["MATRIX"][0])  # (offset, migra, energy)
    widths = np.diff(np.append(hdus[1].data["MIGRA_LO"][0], hdus[1].data["MIGRA_HI"][0][-1]))
    sums = np.einsum("omE,m->oE", matrix, widths)
    assert np.all((np.abs(sums - 1) < 1e-9) | (sums == 0))
    assert hdus[0].header["ZEN_PNT"] == 30.0 and hdus[0].header["AZ_PNT"] == 275.0


def test_nodes_made_with_other_cuts_are_refused(irf_files):
    keys = [("eff_gh0.70_th0.70", 25.0, 250.0), ("eff_gh0.70_th0.70", 25.0, 290.0), ("global_gh0.70_theta0.20", 40.0, 290.0)]
    mixed = [read_node(irf_files[key]) for key in keys]
    choice = choose_irf(mixed, 30.0, 275.0, 0.5 * (mixed[0].b_delta_deg + mixed[2].b_delta_deg))
    assert choice.interpolated
    with pytest.raises(LappanaError, match="cannot be interpolated"):
        irf_hdus(choice)


def test_flag_and_lstchains_alias():
    parser = argparse.ArgumentParser()
    dl3_command.add_arguments(parser)
    base = ["x.h5", "-o", "out", "--irf", "irf", "--source-name", "Crab", "--source-ra", "1", "--source-dec", "2"]
    assert parser.parse_args(base).irf_method == "interpolate"
    assert parser.parse_args(base + ["--irf-nearest"]).irf_method == "nearest"
    assert parser.parse_args(base + ["--use-nearest-irf-node"]).irf_method == "nearest"
