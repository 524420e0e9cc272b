"""The pieces of lappana.dl3 on small hand-made inputs: effective time, GTI, cuts, IRF nodes, writer."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from lappana.dl3.efftime import EffectiveTime
from lappana.dl3.irf import IrfNode
from lappana.dl3.irf_choice import nearest_node
from lappana.dl3.selection import GammanessCut, gammaness_cut_from_irf
from lappana.dl3.writer import EventSpool, write_dl3
from lappana.errors import LappanaError


def _lstchain_effective_time(event_type, dragon_time, delta_t):
    """lstchain.reco.utils.get_effective_time, transcribed (numpy only)."""
    mask = event_type == 32
    t, dt = dragon_time[mask], delta_t[mask]
    diff = np.diff(t)
    elapsed = np.sum(diff[diff < 0.01])
    dt = dt[(dt > 0) & (dt < 0.01)]
    dead = np.amin(dt)
    rate = 1 / (np.mean(dt) - dead)
    return elapsed / (1 + rate * dead), elapsed


def _run(seed=1, n=20000, rate=1500.0, dead=7.6e-6, pause_at=None):
    rng = np.random.default_rng(seed)
    gaps = dead + rng.exponential(1 / rate, n)
    if pause_at is not None:
        gaps[pause_at] += 2.5  # the DAQ stopped for 2.5 s
    times = 1.7e9 + np.cumsum(gaps)
    types = np.where(rng.random(n) < 0.1, 2, 32)
    return types, times, gaps


@pytest.mark.parametrize("chunk", [1, 777, 20000])
@pytest.mark.parametrize("pause_at", [None, 5000])
def test_effective_time_matches_lstchain_in_any_chunking(chunk, pause_at):
    types, times, gaps = _run(pause_at=pause_at)
    acc = EffectiveTime()
    for start in range(0, len(times), chunk):
        acc.add(types[start:start + chunk], times[start:start + chunk], gaps[start:start + chunk])
    t_eff, elapsed = _lstchain_effective_time(types, times, gaps)
    assert acc.elapsed_s == pytest.approx(elapsed, rel=1e-12)
    assert acc.effective_s() == pytest.approx(t_eff, rel=1e-12)
    gti = acc.gti()
    assert len(gti) == (1 if pause_at is None else 2)
    assert sum(b - a for a, b in gti) == pytest.approx(elapsed, rel=1e-12)  # ΣGTI = ONTIME
    assert acc.first_time() == times[types == 32][0] and acc.last_time() == times[types == 32][-1]


def test_effective_time_without_showers_is_a_sentence():
    acc = EffectiveTime()
    acc.add(np.array([2, 0]), np.array([1.0, 2.0]), np.array([0.001, 0.001]))
    with pytest.raises(LappanaError, match="no shower events"):
        acc.effective_s()


def test_global_cut_is_strict_and_binned_cut_inclusive():
    gh = np.array([0.7, 0.70001, 0.5, 0.5, 0.9])
    energy = np.array([0.1, 0.1, 0.05, 5.0, 100.0])
    assert GammanessCut(global_cut=0.7).mask(gh, energy).tolist() == [False, True, False, False, True]
    binned = GammanessCut(energy_low_tev=np.array([0.01, 0.1, 1.0]), energy_high_tev=np.array([0.1, 1.0, 10.0]),
                          cuts=np.array([0.5, 0.7, 0.6]))
    # 0.1 TeV falls in the second bin (>= 0.7); 0.05 TeV passes 0.5 inclusively; 100 TeV is outside: dropped
    assert binned.mask(gh, energy).tolist() == [True, True, True, False, False]


def _irf_hdus(**aeff_keys) -> fits.HDUList:
    aeff = fits.BinTableHDU.from_columns([fits.Column("EFFAREA", "D", array=[1.0])], name="EFFECTIVE AREA")
    aeff.header.update(aeff_keys)
    return fits.HDUList([fits.PrimaryHDU(), aeff])


def test_gammaness_cut_from_irf():
    assert gammaness_cut_from_irf(_irf_hdus(GH_CUT=0.6)).global_cut == 0.6
    hdus = _irf_hdus(GH_EFF=0.7)
    hdus.append(fits.BinTableHDU.from_columns([
        fits.Column("low", "D", unit="TeV", array=[0.01, 0.1]), fits.Column("high", "D", unit="TeV", array=[0.1, 1]),
        fits.Column("cut", "D", array=[0.4, 0.8])], name="GH_CUTS"))
    cut = gammaness_cut_from_irf(hdus)
    assert cut.energy_dependent and cut.cuts.tolist() == [0.4, 0.8] and cut.efficiency == 0.7
    with pytest.raises(LappanaError, match="neither a GH_CUT keyword nor a GH_CUTS table"):
        gammaness_cut_from_irf(_irf_hdus())


def test_nearest_node_by_zenith_then_azimuth(tmp_path):
    nodes = [IrfNode(tmp_path / f"{z}_{a}", z, a, 40.0 + z) for z in (10.0, 20.0, 30.0) for a in (90.0, 270.0)]
    chosen = nearest_node(nodes, 22.0, 250.0, 62.0)
    assert (chosen.zenith_deg, chosen.azimuth_deg) == (20.0, 270.0)
    assert nearest_node(nodes, 6.0, 80.0, 46.0).zenith_deg == 10.0


def test_writer_round_trip(tmp_path):
    n = 1234
    rng = np.random.default_rng(0)
    columns = {name: rng.random(n) for name in ("TIME", "RA", "DEC", "ENERGY", "GAMMANESS", "GLON", "GLAT", "ALT", "AZ")}
    columns["EVENT_ID"] = np.arange(n, dtype=np.int64) * 3
    columns["MULTIP"] = np.ones(n, dtype=np.int64)
    gti = fits.BinTableHDU.from_columns([fits.Column("START", "D", array=[0.0]), fits.Column("STOP", "D", array=[1.0])],
                                        name="GTI")
    with EventSpool(tmp_path) as spool:
        spool.append({k: v[:1000] for k, v in columns.items()})
        spool.append({k: v[1000:] for k, v in columns.items()})
        path = write_dl3(tmp_path / "dl3_LST-1.Run00001.fits.gz", spool, [("OBS_ID", 1, "run")], [gti])
    assert not list(tmp_path.glob(".*")), "scratch files left behind"
    with fits.open(path, checksum=False) as hdus:
        hdus.verify("exception")
        data = hdus["EVENTS"].data
        assert hdus["EVENTS"].header["OBS_ID"] == 1 and hdus["EVENTS"].columns["RA"].unit == "deg"
        for name, values in columns.items():
            assert np.array_equal(data[name], values), name
        assert hdus["GTI"].data["STOP"][0] == 1.0


@pytest.mark.parametrize("pause_at", [None, 5000, 9999, 10000])
@pytest.mark.parametrize("parts", [2, 3])
def test_effective_time_of_parts_merges_to_the_whole(pause_at, parts):
    types, times, gaps = _run(pause_at=pause_at)
    whole = EffectiveTime()
    whole.add(types, times, gaps)
    bounds = np.linspace(0, len(times), parts + 1).astype(int)
    merged = EffectiveTime()
    for a, b in zip(bounds[:-1], bounds[1:]):
        part = EffectiveTime()
        for start in range(a, b, 3000):
            stop = min(start + 3000, b)
            part.add(types[start:stop], times[start:stop], gaps[start:stop])
        merged.merge(part)
    assert merged.elapsed_s == pytest.approx(whole.elapsed_s, rel=1e-12)
    assert merged.effective_s() == pytest.approx(whole.effective_s(), rel=1e-12)
    assert np.allclose(merged.gti(), whole.gti(), rtol=0, atol=1e-9)
    assert merged.n_showers == whole.n_showers
