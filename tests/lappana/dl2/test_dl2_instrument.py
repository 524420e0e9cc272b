"""The instrument nodes and DL1 files lappana writes, read back by ctapipe and lstchain."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tables

from lappana.constants import DL1_PARAMS_KEY
from lappana.errors import LappanaError
from lappana.io.dl1 import check_dl1_file, write_dl1_file
from lappana.io.hdf5 import read_table
from lappana.io.instrument import INSTRUMENT_NODES, LSTCAM_N_PIXELS, lstcam_pixel_positions, write_instrument

from tests.helpers.chain import make_dl1_events


def _peer_python(lstchain_env: Path, code: str) -> dict:
    """Run ``code`` with the lstchain venv's python; it prints one JSON line last."""
    done = subprocess.run(
        [str(lstchain_env / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_lstcam_geometry_has_1855_distinct_hexagonal_pixels():
    x, y = lstcam_pixel_positions()
    assert len(x) == LSTCAM_N_PIXELS
    xy = np.column_stack([x.value, y.value])
    distances = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(distances, np.inf)
    nearest = distances.min(axis=1)
    # every pixel touches at least one neighbour at the 50 mm pitch, none overlap
    np.testing.assert_allclose(nearest, 0.05, atol=1e-6)
    assert np.abs(xy).max() < 1.2


def test_ctapipe_reads_the_instrument_as_lst1(lstchain_env, tmp_path):
    path = tmp_path / "instrument.h5"
    write_instrument(path)
    code = f"""
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from ctapipe.instrument import SubarrayDescription
from ctapipe_io_lst import load_camera_geometry
s = SubarrayDescription.from_hdf({str(path)!r})
tel = s.tel[1]
geom = tel.camera.geometry
real = load_camera_geometry()
d = np.hypot(geom.pix_x.to_value("m")[:, None] - real.pix_x.to_value("m")[None],
             geom.pix_y.to_value("m")[:, None] - real.pix_y.to_value("m")[None]).min(axis=1)
print(json.dumps(dict(
    name=s.name, tel_ids=[int(t) for t in s.tel_ids],
    f_eff=tel.optics.effective_focal_length.to_value("m"),
    f_eq=tel.optics.equivalent_focal_length.to_value("m"),
    camera=tel.camera.name, n_pixels=int(geom.n_pixels), pix_type=str(geom.pix_type.value),
    max_offset_to_real_pixel=float(d.max()),
    pix_area_ratio=float(np.median(geom.pix_area / real.pix_area)),
    n_samples=int(tel.camera.readout.n_samples),
    sampling_ghz=float(tel.camera.readout.sampling_rate.to_value("GHz")),
    ref_lat=float(s.reference_location.lat.deg),
)))
"""
    got = _peer_python(lstchain_env, code)
    print("ctapipe read back:", got)
    assert got["name"] == "LST-1 subarray"
    assert got["tel_ids"] == [1]
    assert got["f_eff"] == pytest.approx(29.30565)
    assert got["f_eq"] == pytest.approx(28.0)
    assert got["camera"] == "LSTCam"
    assert got["n_pixels"] == 1855
    assert got["pix_type"] == "hexagon"
    # the generated geometry is the real LSTCam's to better than a micrometre
    assert got["max_offset_to_real_pixel"] < 1e-5
    assert got["pix_area_ratio"] == pytest.approx(1.0, rel=1e-4)
    assert got["n_samples"] == 40
    assert got["sampling_ghz"] == pytest.approx(1.024)
    assert got["ref_lat"] == pytest.approx(28.761579, abs=1e-6)


def test_write_instrument_keeps_other_nodes_and_replaces_its_own(tmp_path):
    path = tmp_path / "f.h5"
    with tables.open_file(str(path), "w") as h5:
        h5.create_array("/", "keep", np.arange(3))
    write_instrument(path)
    write_instrument(path)
    with tables.open_file(str(path)) as h5:
        assert "/keep" in h5
        for node in INSTRUMENT_NODES:
            assert node in h5
        assert h5.get_node(INSTRUMENT_NODES[2]).nrows == 1855


def test_dl1_file_columns_dtypes_and_append(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "dl1_LST-1.Run01234.h5"
    events = make_dl1_events(rng, 500, "data", obs_id=1234)
    write_dl1_file(path, events, run_id=1234, is_simulation=False)
    assert check_dl1_file(path) == 500
    write_dl1_file(path, make_dl1_events(rng, 100, "data", obs_id=1234), run_id=1234, is_simulation=False, append=True)
    table = read_table(path, DL1_PARAMS_KEY)
    assert len(table["event_id"]) == 600
    assert table["obs_id"].dtype == np.int64
    np.testing.assert_allclose(table["wl"][:500], events["width"] / events["length"])
    np.testing.assert_allclose(table["sin_az_tel"][:500], np.sin(events["az_tel"]))


def test_dl1_writer_names_missing_columns(tmp_path):
    events = make_dl1_events(np.random.default_rng(2), 10, "gamma")
    del events["mc_type"], events["psi"]
    with pytest.raises(LappanaError, match=r"lack the columns psi, mc_type"):
        write_dl1_file(tmp_path / "g.h5", events, run_id=1, is_simulation=True)


def test_dl1_writer_refuses_obs_id_other_than_the_run(tmp_path):
    events = make_dl1_events(np.random.default_rng(3), 10, "data", obs_id=7)
    with pytest.raises(LappanaError, match="obs_id must equal the run number 8"):
        write_dl1_file(tmp_path / "dl1_LST-1.Run00008.h5", events, run_id=8, is_simulation=False)


def test_lstchain_reads_the_dl1_table_and_subarray(lstchain_env, tmp_path):
    path = tmp_path / "gamma.h5"
    write_dl1_file(path, make_dl1_events(np.random.default_rng(4), 300, "gamma"), run_id=0, is_simulation=True)
    code = f"""
import json, warnings
warnings.simplefilter("ignore")
import pandas as pd
from ctapipe.instrument import SubarrayDescription
from lstchain.io.io import dl1_params_lstcam_key
df = pd.read_hdf({str(path)!r}, key=dl1_params_lstcam_key)
s = SubarrayDescription.from_hdf({str(path)!r})
print(json.dumps(dict(n=len(df), cols=list(df.columns), f=s.tel[1].optics.effective_focal_length.value)))
"""
    got = _peer_python(lstchain_env, code)
    assert got["n"] == 300
    for column in ("log_intensity", "wl", "sin_az_tel", "log_mc_energy", "mc_type", "alt_tel"):
        assert column in got["cols"]
    assert got["f"] == pytest.approx(29.30565)
