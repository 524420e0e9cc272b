"""The whole chain with the real lstchain: MC → lstchain_mc_trainpipe → DL1 run → lstchain_dl1_to_dl2
(through ``lappana dl2``) → DL2 that lappana reads.

Acceptance of issue 2: "lappana reads DL2 files that the real lstchain wrote".
"""

from __future__ import annotations

import numpy as np
import pytest

from lappana.constants import DL1_PARAMS_KEY, DL2_PARAMS_KEY, EVENT_TYPE_SHOWER
from lappana.dl2 import DL2_RECO_COLUMNS, run_dl1_to_dl2
from lappana.io.dl1 import DL1_FEATURE_COLUMNS, write_dl1_file
from lappana.io.hdf5 import iter_table_chunks, open_table_file, read_table, table_length
from lappana.io.instrument import INSTRUMENT_NODES
from lappana.simulate import model

pytestmark = pytest.mark.peers


def test_dl2_from_real_lstchain_has_the_table_and_reco_columns(lstchain_dl2_run):
    with open_table_file(lstchain_dl2_run.dl2_path) as h5:
        table = h5.get_node(DL2_PARAMS_KEY)
        for column in DL2_RECO_COLUMNS:
            assert column in table.colnames
        # lstchain copies the DL1 file's other nodes, so the instrument travels to DL2
        for node in INSTRUMENT_NODES:
            assert node in h5
        assert "LSTCHAIN_VERSION" in h5.root._v_attrs
        assert str(h5.root._v_attrs["LSTCHAIN_VERSION"]).startswith("0.12.3")


def test_lappana_reads_the_dl2_lstchain_wrote_in_chunks(lstchain_dl2_run):
    dl1 = read_table(lstchain_dl2_run.dl1_path, DL1_PARAMS_KEY)
    # lstchain keeps the events whose model features are finite (empty images are NaN)
    finite = np.ones(len(dl1["event_id"]), dtype=bool)
    for name in DL1_FEATURE_COLUMNS:
        finite &= np.isfinite(dl1[name])
    expected_ids = dl1["event_id"][finite]

    columns = ["event_id", "obs_id", "event_type", "dragon_time", "delta_t", "alt_tel", "az_tel",
               "gammaness", "reco_energy", "log_reco_energy", "reco_alt", "reco_az"]
    ids, n_chunks = [], 0
    for chunk in iter_table_chunks(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY, columns, chunk_rows=4000):
        n_chunks += 1
        ids.append(chunk["event_id"])
        assert np.all(chunk["obs_id"] == lstchain_dl2_run.run_id)
        assert np.all((chunk["gammaness"] >= 0) & (chunk["gammaness"] <= 1))
        assert np.all(chunk["reco_energy"] > 0)
        np.testing.assert_allclose(np.log10(chunk["reco_energy"]), chunk["log_reco_energy"], atol=1e-9)
        # reco_alt/az are radians near the pointing: where the cosmic rays arrive (a 2-D Gaussian
        # of HADRON_FIELD_SPREAD_DEG per axis: 99 % within 3.03 σ) plus the disp (≲ 1 deg)
        offset = np.degrees(np.hypot(chunk["reco_alt"] - chunk["alt_tel"],
                                     (chunk["reco_az"] - chunk["az_tel"]) * np.cos(chunk["alt_tel"])))
        assert np.median(offset) < 2.0
        assert np.percentile(offset, 99) < 3.03 * model.HADRON_FIELD_SPREAD_DEG + 1.0
    ids = np.concatenate(ids)
    print(f"DL1 {len(dl1['event_id'])} events -> DL2 {len(ids)} events in {n_chunks} chunks")
    assert n_chunks >= 2
    np.testing.assert_array_equal(ids, expected_ids)
    assert table_length(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY) == len(expected_ids)

    # event types and times come through untouched: the DL3 step selects showers and computes
    # TIME and the effective time from them
    dl2 = read_table(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY, ["event_id", "dragon_time", "event_type"])
    np.testing.assert_array_equal(dl2["dragon_time"], dl1["dragon_time"][finite])
    np.testing.assert_array_equal(dl2["event_type"], dl1["event_type"][finite])
    assert np.count_nonzero(dl2["event_type"] == EVENT_TYPE_SHOWER) > 0.8 * len(ids)


def test_models_trained_by_lstchain_separate_gammas_from_protons(lstchain_models, lstchain_env, tmp_path):
    """The forests lstchain_mc_trainpipe trained on lappana's MC learned energy and gamma/hadron separation.

    Tested on fresh MC from the simulator (another seed): point-like gammas 0.4° off-axis and protons.
    """
    from lappana.simulate.mc import write_mc_files

    mc = write_mc_files(tmp_path / "MC", seed=99, n_events=1500)
    gammas = read_table(mc["gamma_point"], DL1_PARAMS_KEY)
    protons = read_table(mc["proton"], DL1_PARAMS_KEY)
    test = {name: np.concatenate([gammas[name], protons[name]]) for name in gammas}
    test["event_id"] = np.arange(1, len(test["event_id"]) + 1)
    dl1 = tmp_path / "dl1_mc_test.h5"
    write_dl1_file(dl1, test, run_id=0, is_simulation=True)
    result = run_dl1_to_dl2(dl1, tmp_path / "out", lstchain_env=lstchain_env, models_dir=lstchain_models)
    dl2 = read_table(result.dl2_path, DL2_PARAMS_KEY,
                     ["mc_type", "gammaness", "mc_energy", "reco_energy", "reco_alt", "reco_az", "mc_alt", "mc_az"])
    is_g = dl2["mc_type"] == 0
    g, p = dl2["gammaness"][is_g], dl2["gammaness"][~is_g]
    # fraction of (gamma, proton) pairs ranked right: the area under the ROC curve
    auc = np.mean(g[:, None] > p[None, :]) + 0.5 * np.mean(g[:, None] == p[None, :])
    log_ratio = np.log10(dl2["reco_energy"][is_g] / dl2["mc_energy"][is_g])
    miss = np.degrees(np.hypot(dl2["reco_alt"] - dl2["mc_alt"],
                               (dl2["reco_az"] - dl2["mc_az"]) * np.cos(dl2["mc_alt"])))[is_g]
    print(f"lstchain on simulated MC: {result.n_events} events in {result.seconds:.1f} s, "
          f"ROC AUC {auc:.3f}, energy bias {np.median(log_ratio):+.3f} dex, "
          f"resolution {np.std(log_ratio):.3f} dex, 68 % angular containment {np.percentile(miss, 68):.3f} deg")
    assert result.n_events == 3000
    assert auc > 0.75
    assert abs(np.median(log_ratio)) < 0.15
    # the direction is reconstructed at the source, not at the image centroid (0.4 deg away on average)
    assert np.percentile(miss, 68) < 0.4


def test_a_command_prefix_runs_the_same_lstchain(lstchain_dl2_run, tmp_path):
    """An lstchain environment given as a command prefix (as ``conda run -n NAME`` would be) gives the same DL2."""
    prefix = f"/usr/bin/env PATH={lstchain_dl2_run.lstchain_env / 'bin'}:/usr/bin:/bin"
    result = run_dl1_to_dl2(
        lstchain_dl2_run.dl1_path, tmp_path / "out", lstchain_env=prefix, models_dir=lstchain_dl2_run.models_dir
    )
    assert result.command[:3] == ["/usr/bin/env", f"PATH={lstchain_dl2_run.lstchain_env / 'bin'}:/usr/bin:/bin",
                                  "lstchain_dl1_to_dl2"]
    columns = ["event_id", "gammaness", "reco_energy", "reco_alt", "reco_az"]
    ours = read_table(result.dl2_path, DL2_PARAMS_KEY, columns)
    reference = read_table(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY, columns)
    for name in columns:
        # same models and input: equal up to the summation order of the parallel forests
        np.testing.assert_allclose(ours[name], reference[name], rtol=1e-9, atol=1e-12)


def test_dl2_from_real_lstchain_has_every_column_the_dl3_step_reads(lstchain_dl2_run):
    """The simulator's DL2 and lstchain's DL2 offer the DL3 step the same columns and kinds of dtype."""
    from lappana.io.dl2 import DL2_REQUIRED_COLUMNS, iter_dl2_chunks

    n = 0
    for chunk in iter_dl2_chunks(lstchain_dl2_run.dl2_path, list(DL2_REQUIRED_COLUMNS), chunk_rows=10_000):
        for name, dtype in DL2_REQUIRED_COLUMNS.items():
            assert chunk[name].dtype.kind == dtype.kind, (name, chunk[name].dtype, dtype)
        n += len(chunk["event_id"])
    assert n == table_length(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY)
