"""``lappana irfs``: IRFs for lstchain models, made by the real lstchain_dl1_to_dl2 and
lstchain_create_irf_files from simulated MC gammas, whose cuts hold for those models.

The check that matters: on an independent sample of MC gammas that went through the same
models, the IRF's energy-dependent gammaness cut keeps 70 % of the gammas and its RAD_MAX
contains 70 % of those that pass, as the IRF says (GH_EFF, TH_CONT). The simulator's own
IRFs are made for the simulator's gammaness, not for a random forest's; their cut is
printed beside for comparison. RAD_MAX is made, as lstchain makes it, from the gammas whose disp
sign the models got right (the MC carries the true ``disp_sign``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.helpers.chain import PEERS
from lappana.cli import main as lappana_main
from lappana.constants import DL2_PARAMS_KEY
from lappana.dl2 import run_dl1_to_dl2
from lappana.dl3.selection import gammaness_cut_from_irf, select_events
from lappana.io.hdf5 import read_table
from lappana.io.run_config import RUN_CONFIG_KEY
from lappana.model_irfs import CUT_SETS, irf_node_name
from lappana.simulate.mc import POINT_OFFSET_DEG, write_irf_mc_file

pytestmark = [pytest.mark.peers, pytest.mark.slow]

ZENITH = 20.0
EFF_SET, GLOBAL_SET = "eff_gh0.70_th0.70", "global_gh0.70_theta0.20"


@pytest.fixture(scope="module")
def model_irfs(lstchain_env, lstchain_models, tmp_path_factory) -> Path:
    """``lappana irfs`` run in-process for one node."""
    out = tmp_path_factory.mktemp("model-irfs")
    code = lappana_main(["irfs", "-o", str(out), "--lstchain-env", str(lstchain_env), "--models", str(lstchain_models),
                         "--zenith", str(ZENITH), "--thrown", "200000", "--seed", "5"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def fresh_gammas(lstchain_env, lstchain_models, tmp_path_factory) -> dict[str, np.ndarray]:
    """Other MC gammas (another seed) through the same models: their DL2 columns and θ (deg)."""
    folder = tmp_path_factory.mktemp("fresh-gammas")
    dl1 = write_irf_mc_file(folder / "dl1_gamma_fresh.h5", seed=77, zenith_deg=ZENITH, n_thrown=300_000)
    dl2 = run_dl1_to_dl2(dl1, folder, lstchain_env=lstchain_env, models_dir=lstchain_models)
    table = read_table(dl2.dl2_path, DL2_PARAMS_KEY)
    alt1, az1, alt2, az2 = table["reco_alt"], table["reco_az"], table["mc_alt"], table["mc_az"]
    cos = np.sin(alt1) * np.sin(alt2) + np.cos(alt1) * np.cos(alt2) * np.cos(az1 - az2)
    table["theta_deg"] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    keep = select_events(table)
    return {name: values[keep] for name, values in table.items()}


def _binned(values, low, high, energy):
    """The value of each event's energy bin (NaN outside the bins)."""
    index = np.searchsorted(high, energy, side="right")
    inside = (index < len(low)) & (energy >= low[np.minimum(index, len(low) - 1)])
    out = np.full(energy.shape, np.nan)
    out[inside] = values[index[inside]]
    return out


def test_both_cut_sets_are_written_with_their_node_and_cuts(model_irfs):
    assert sorted(p.name for p in model_irfs.iterdir() if p.is_dir()) == sorted(CUT_SETS)
    eff = fits.open(model_irfs / EFF_SET / irf_node_name(EFF_SET, ZENITH, 180.0))
    header = eff["EFFECTIVE AREA"].header
    assert (header["ZEN_PNT"], header["AZ_PNT"], header["GH_EFF"], header["TH_CONT"]) == (ZENITH, 180.0, 0.7, 0.7)
    assert header["HDUCLAS3"] == "POINT-LIKE"
    assert {"GH_CUTS", "RAD_MAX", "ENERGY DISPERSION"} <= {h.name for h in eff}
    glob = fits.open(model_irfs / GLOBAL_SET / irf_node_name(GLOBAL_SET, ZENITH, 180.0))
    assert (glob["EFFECTIVE AREA"].header["GH_CUT"], glob["EFFECTIVE AREA"].header["RAD_MAX"]) == (0.7, 0.2)
    # lstchain's provenance is kept aside, and the MC work folder is gone
    assert (model_irfs / EFF_SET / "provenance" / "zen20.0_az180.0.log").is_file()
    assert not (model_irfs / ".mc").exists()


def test_the_gammaness_cut_keeps_70_percent_of_the_models_gammas(model_irfs, fresh_gammas, tmp_path):
    irf = fits.open(model_irfs / EFF_SET / irf_node_name(EFF_SET, ZENITH, 180.0))
    cut = gammaness_cut_from_irf(irf)
    energy, gammaness = fresh_gammas["reco_energy"], fresh_gammas["gammaness"]
    per_event = _binned(cut.cuts, cut.energy_low_tev, cut.energy_high_tev, energy)
    free = np.isfinite(per_event) & (per_event > 0.1) & (per_event < 0.95)  # bins not clipped by lstchain's limits
    passed = cut.mask(gammaness, energy)
    overall = passed[free].mean()
    print(f"model IRF: {overall:.3f} of {free.sum()} fresh gammas in unclipped bins pass its gammaness cut")
    assert free.sum() > 5000
    assert abs(overall - 0.70) < 0.03
    for low, high in zip(cut.energy_low_tev, cut.energy_high_tev):
        in_bin = free & (energy >= low) & (energy < high)
        if in_bin.sum() >= 300:
            share = passed[in_bin].mean()
            assert abs(share - 0.70) < 4 * np.sqrt(0.21 / in_bin.sum()) + 0.02, (low, high, share, in_bin.sum())
    # the simulator's IRF of the same cuts, made for its own gammaness model, for comparison
    from astropy.time import Time

    from lappana.simulate.irf import write_irf
    from lappana.simulate.night import make_irfs

    node = make_irfs(seed=3, time=Time("2023-12-07"), zeniths_deg=(ZENITH,))[EFF_SET][0]
    other = gammaness_cut_from_irf(fits.open(write_irf(tmp_path / "irf_simulator.fits.gz", node, Time("2023-12-07"))))
    print(f"simulator's IRF: {other.mask(gammaness, energy)[free].mean():.3f} of the same gammas pass its cut")


def test_rad_max_contains_70_percent_of_the_gammas_that_pass(model_irfs, fresh_gammas):
    irf = fits.open(model_irfs / EFF_SET / irf_node_name(EFF_SET, ZENITH, 180.0))
    cut = gammaness_cut_from_irf(irf)
    rad = irf["RAD_MAX"].data
    low, high = rad["ENERG_LO"].ravel(), rad["ENERG_HI"].ravel()
    values = rad["RAD_MAX"][0].reshape(-1, len(low))[0] if rad["RAD_MAX"].ndim > 2 else rad["RAD_MAX"].ravel()
    energy = fresh_gammas["reco_energy"]
    passed = cut.mask(fresh_gammas["gammaness"], energy)
    rad_max = _binned(values, low, high, energy)
    free = passed & np.isfinite(rad_max) & (rad_max > 0.1) & (rad_max < 0.32)
    # lstchain computes the θ cut on the gammas whose disp sign was reconstructed right (the MC carries the
    # true disp_sign, as LST-1's does: lstchain's use_same_disp_sign); the others mostly lie far outside
    right = fresh_gammas["reco_disp_sign"] == fresh_gammas["disp_sign"]
    inside = fresh_gammas["theta_deg"] < rad_max
    contained = inside[free & right].mean()
    print(f"model IRF: RAD_MAX contains {contained:.3f} of {(free & right).sum()} fresh gammas that pass the cut "
          f"with their disp sign right; of all {free.sum()} that pass, {inside[free].mean():.3f} "
          f"({(~right)[free].mean():.3f} have the wrong sign)")
    assert (free & right).sum() > 3000
    assert abs(contained - 0.70) < 0.03
    assert inside[free].mean() < contained  # the wrong-sign gammas are not what the cut was made for


def test_the_mc_says_what_was_thrown(tmp_path):
    """The run configuration lstchain_create_irf_files reads: ring-wobble MC at 0.4°, the thrown count."""
    import tables

    path = write_irf_mc_file(tmp_path / "dl1_gamma.h5", seed=1, zenith_deg=30.0, n_thrown=20_000)
    with tables.open_file(str(path)) as h5:
        table = h5.get_node(RUN_CONFIG_KEY)
        row = table.read()[0]
        names = {table.attrs[f"CTAFIELD_{i}_NAME"]: i for i in range(len(table.colnames))}
        assert table.attrs[f"CTAFIELD_{names['max_scatter_range']}_UNIT"] == "m"
    assert row["n_showers"] == 20_000 and row["spectral_index"] == -1.5
    assert row["min_viewcone_radius"] == row["max_viewcone_radius"] == POINT_OFFSET_DEG
    assert np.isclose(row["min_alt"], np.radians(60.0))
    events = read_table(path, "/dl1/event/telescope/parameters/LST_LSTCam", ["mc_energy", "alt_tel"])
    assert 0 < len(events["mc_energy"]) < 20_000
    assert np.allclose(events["alt_tel"], np.radians(60.0))


def test_setup_lstchain_made_irfs_for_its_models():
    """scripts/setup-lstchain leaves both sets, four nodes each, beside its models (CI runs it)."""
    models = Path(os.environ.get("ASTRAN_LSTCHAIN_MODELS", PEERS / "models" / "default"))
    if not (models / ".astran-trained").is_file():
        if os.environ.get("ASTRAN_REQUIRE_PEERS") == "1":
            pytest.fail(f"no models of scripts/setup-lstchain in {models}", pytrace=False)
        pytest.skip("scripts/setup-lstchain has not run")
    assert (models / "IRF" / ".astran-made").is_file()
    for name in CUT_SETS:
        nodes = sorted(p.name for p in (models / "IRF" / name).glob("irf_*.fits.gz"))
        assert nodes == [irf_node_name(name, z, 180.0) for z in (10.0, 20.0, 30.0, 40.0)]
