"""lappana's public functions take a SkyCoord and astropy quantities, and floats as before (issue 14)."""

from __future__ import annotations

import datetime as dt

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from lappana.dl3 import make_dl3
from lappana.highlevel.skymap import make_skymap
from lappana.highlevel.theta2 import theta2
from lappana.index import make_index
from lappana.simulate import simulate_night
from lappana.units import angle_deg, deg2, energy_range_tev, sky_position

CRAB = SkyCoord(83.633 * u.deg, 22.014 * u.deg, frame="icrs")


def test_a_position_from_a_skycoord_in_any_frame_or_from_degrees():
    assert sky_position(CRAB.galactic) == pytest.approx((83.633, 22.014), abs=1e-9)
    assert sky_position(None, 83.633, 22.014) == (83.633, 22.014)
    assert sky_position(None, 83.633 * u.deg, 22014 * u.mdeg) == pytest.approx((83.633, 22.014))


@pytest.mark.parametrize("args, words", [
    ((CRAB, 83.633, 22.014), "not both"),
    ((None, None, 22.014), "Say where the source is"),
    (((83.633, 22.014), None, None), "must be an astropy SkyCoord"),
])
def test_a_position_given_wrongly_is_a_sentence(args, words):
    with pytest.raises(TypeError, match=words):
        sky_position(*args)


def test_energies_and_angles_in_their_units():
    assert energy_range_tev([200, 10_000] * u.GeV) == pytest.approx((0.2, 10.0))
    assert energy_range_tev((0.2 * u.TeV, None)) == (pytest.approx(0.2), None)
    assert energy_range_tev((0.2, 10.0)) == (0.2, 10.0)
    assert energy_range_tev(None) is None
    assert deg2(0.04 * u.deg**2) == pytest.approx(0.04) and deg2(None) is None
    assert angle_deg(6 * u.arcmin) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="not convertible to TeV"):
        energy_range_tev([1, 2] * u.m)
    with pytest.raises(ValueError, match="two energies"):
        energy_range_tev([0.1, 1, 10] * u.TeV)


@pytest.fixture(scope="module")
def dl3(tmp_path_factory):
    out = tmp_path_factory.mktemp("units")
    night = simulate_night(out, night=dt.date(2023, 12, 7), n_runs=1, run_minutes=0.3, seed=9, levels=("dl2",),
                           mc=False, progress=False)
    dl2 = next(iter(night.dl2_files.values()))
    irf = night.irf_dirs["eff_gh0.70_th0.70"]
    floats = make_dl3(dl2, irf, out / "floats", source_name="Crab", source_ra_deg=83.633, source_dec_deg=22.014)
    coord = make_dl3(dl2, irf, out / "coord", source_name="Crab", source=CRAB.galactic)
    make_index(out / "floats")
    return floats, coord


def test_make_dl3_takes_a_skycoord(dl3):
    floats, coord = dl3
    with fits.open(floats) as a, fits.open(coord) as b:
        assert b["EVENTS"].header["RA_OBJ"] == pytest.approx(a["EVENTS"].header["RA_OBJ"], abs=1e-9)
        assert b["EVENTS"].header["DEC_OBJ"] == pytest.approx(a["EVENTS"].header["DEC_OBJ"], abs=1e-9)
        assert np.array_equal(a["EVENTS"].data["EVENT_ID"], b["EVENTS"].data["EVENT_ID"])


def test_theta2_and_skymap_take_a_skycoord_and_quantities_and_count_the_same(dl3):
    folder = dl3[0].parent
    plain = theta2(folder, source_name="Crab", source_ra_deg=83.633, source_dec_deg=22.014, energy_range=(0.2, 100.0),
                   theta2_cut=0.03)
    typed = theta2(folder, source_name="Crab", source=CRAB, energy_range=[200, 100_000] * u.GeV,
                   theta2_cut=0.03 * u.deg**2)
    assert (typed.n_on, typed.n_off, typed.alpha) == (plain.n_on, plain.n_off, plain.alpha)
    assert plain.n_on + plain.n_off > 0
    typed_maps = make_skymap(folder, source_name="Crab", source=CRAB, energy_range=[0.2, 100] * u.TeV,
                             width_deg=1 * u.deg, binsz_deg=3 * u.arcmin)
    plain_maps = make_skymap(folder, source_name="Crab", source_ra_deg=83.633, source_dec_deg=22.014,
                             energy_range=(0.2, 100.0), width_deg=1.0, binsz_deg=0.05)
    assert np.array_equal(typed_maps.counts, plain_maps.counts)


def test_simulate_night_takes_a_skycoord(tmp_path):
    from lappana.io.runcatalog import read_run_catalog

    mrk421 = SkyCoord(166.114 * u.deg, 38.209 * u.deg).galactic
    night = simulate_night(tmp_path, night=dt.date(2023, 12, 7), n_runs=1, run_minutes=0.1, seed=2, levels=("dl2",),
                           mc=False, irfs=False, progress=False, source_name="Mrk421", source=mrk421)
    (run,) = read_run_catalog(night.run_catalog)
    assert (run.source_ra, run.source_dec) == pytest.approx((166.114, 38.209), abs=1e-9)
