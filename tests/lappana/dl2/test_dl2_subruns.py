"""DL1 → DL2 in subruns (lappana.dl2_subruns): bounded memory, the same DL2 as in one go."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.helpers.chain import make_dl1_events
from lappana.constants import DL1_PARAMS_KEY, DL2_PARAMS_KEY
from lappana.dl2 import run_dl1_to_dl2
from lappana.dl2_subruns import count_dl1_events, subrun_dl1_name, write_subrun_dl1
from lappana.io.dl1 import write_dl1_file
from lappana.io.hdf5 import open_table_file, read_table


def _leaves(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_table_file(path) as h5:
            return {node._v_pathname for node in h5.walk_nodes("/", classname="Leaf")}


def test_a_subrun_file_has_every_node_and_its_rows(tmp_path):
    events = make_dl1_events(np.random.default_rng(3), 5000, "data", obs_id=15864)
    dl1 = tmp_path / "dl1_LST-1.Run15864.h5"
    write_dl1_file(dl1, events, run_id=15864, is_simulation=False)
    piece = tmp_path / subrun_dl1_name(dl1, 1)
    assert piece.name == "dl1_LST-1.Run15864.0001.h5"
    write_subrun_dl1(dl1, piece, 1200, 3700)
    assert _leaves(piece) == _leaves(dl1)
    assert count_dl1_events(piece) == 2500
    whole, part = read_table(dl1, DL1_PARAMS_KEY), read_table(piece, DL1_PARAMS_KEY)
    assert list(part) == list(whole)
    for name, column in part.items():
        np.testing.assert_array_equal(column, whole[name][1200:3700])


@pytest.mark.peers
def test_dl2_made_in_subruns_equals_dl2_made_in_one_go(lstchain_dl2_run, tmp_path):
    """The chain fixture's DL2 (one lstchain call) against four subruns of the same DL1."""
    n = count_dl1_events(lstchain_dl2_run.dl1_path)
    result = run_dl1_to_dl2(lstchain_dl2_run.dl1_path, tmp_path, lstchain_env=lstchain_dl2_run.lstchain_env,
                            models_dir=lstchain_dl2_run.models_dir, max_events_per_subrun=n // 4 + 1)
    assert result.dl2_path.name == lstchain_dl2_run.dl2_path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [result.dl2_path.name, result.log_path.name, result.dl2_path.with_suffix(".provenance.log").name])
    assert result.log_path.read_text().count("$ ") == 4  # four lstchain_dl1_to_dl2 calls
    assert _leaves(result.dl2_path) == _leaves(lstchain_dl2_run.dl2_path)
    one, split = read_table(lstchain_dl2_run.dl2_path, DL2_PARAMS_KEY), read_table(result.dl2_path, DL2_PARAMS_KEY)
    assert list(split) == list(one) and result.n_events == len(one["event_id"]) == n
    for name, column in one.items():
        if column.dtype.kind == "f":
            # the forests' sums run in another order over a smaller batch: equal to rounding
            np.testing.assert_allclose(split[name], column, rtol=1e-9, atol=1e-12, err_msg=name)
        else:
            np.testing.assert_array_equal(split[name], column, err_msg=name)
