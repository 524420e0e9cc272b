"""lappana.simulate.realism_cuts: an IRF's 70 % cuts beside LST-1's tables, bin by bin."""

from __future__ import annotations

import numpy as np
from astropy.time import Time

from lappana.simulate.irf import ENERGY_BINS_TEV, make_irf, simulate_point_gammas, write_irf
from lappana.simulate.lst1_tables import read_lst1_performance
from lappana.simulate.realism_cuts import cut_ratios, format_rows


def test_cut_ratios_read_the_irf_and_the_nearest_table_bin(tmp_path, lstchain_env):
    data = next(lstchain_env.glob("lib/python3*/site-packages/lstchain/data"))
    sample = simulate_point_gammas(np.random.default_rng(4), 10.0, 60_000)
    irf = make_irf(sample, 10.0, gh_efficiency=0.7, theta_containment=0.7)
    path = write_irf(tmp_path / "irf.fits.gz", irf, Time("2023-12-07T23:00:00"))
    rows = cut_ratios(path, data, 10.0)
    table = read_lst1_performance(data, 10.0, 0.7, 0.7)
    assert np.allclose([r[0] for r in rows], ENERGY_BINS_TEV[:-1])
    assert np.allclose([r[2] for r in rows], irf.gh_cuts)
    assert np.allclose([r[4] for r in rows], irf.rad_max_deg)
    # the table's bin is the one whose centre is nearest in log E: the simulator's IRF bins
    # (0.01-100 TeV, 5 per decade) sit half a bin from lstchain's, so each row takes one of two
    table_centres = np.sqrt(table.energy_lo_tev * table.energy_hi_tev)
    for lo, hi, _, gh_table, _, theta_table in rows:
        distance = np.abs(np.log10(table_centres / np.sqrt(lo * hi)))
        assert gh_table == table.gh_cut[np.argmin(distance)]
        assert theta_table == table.theta_cut_deg[np.argmin(distance)]


def test_format_rows_marks_exactly_the_bins_beyond_the_bound():
    rows = [(0.05, 0.079, 0.20, 0.20, 0.30, 0.32), (0.079, 0.126, 0.41, 0.32, 0.26, 0.26),
            (0.126, 0.2, 0.44, 0.44, 0.10, 0.21), (6.0, 9.0, 0.1, 0.8, 0.2, 0.2)]
    lines = format_rows(10.0, rows).splitlines()[2:]
    assert len(lines) == 3  # the bin above 5 TeV is outside the acceptance range
    assert [line.endswith("outside") for line in lines] == [False, True, True]
    assert "outside" in format_rows(40.0, rows).splitlines()[4] and "outside" not in format_rows(40.0, rows).splitlines()[3]
