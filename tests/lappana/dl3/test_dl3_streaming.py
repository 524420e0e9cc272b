"""lappana dl3 reads DL2 in chunks: the result does not depend on the chunk size, and peak
memory does not grow with the run (4× the events, same peak RSS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lappana.dl3 import make_dl3
from lappana.simulate.run import simulate_run_dl2


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    paths = {}
    for n, run_id in ((160_000, 15001), (640_000, 15002)):
        path = root / f"dl2_LST-1.Run{run_id:05d}.h5"
        simulate_run_dl2(path, n_events=n, run_id=run_id, seed=run_id)
        paths[n] = path
    return paths


def test_chunk_size_does_not_change_the_result(runs, irf_dir, tmp_path):
    dl2 = runs[160_000]
    small = make_dl3(dl2, irf_dir, tmp_path / "a", source_name="Crab", source_ra_deg=83.633, source_dec_deg=22.014,
                     chunk_rows=4_999)
    large = make_dl3(dl2, irf_dir, tmp_path / "b", source_name="Crab", source_ra_deg=83.633, source_dec_deg=22.014)
    with fits.open(small) as a, fits.open(large) as b:
        assert len(a["EVENTS"].data) > 1000
        for name in ("EVENT_ID", "TIME", "ENERGY", "GAMMANESS"):
            assert np.array_equal(a["EVENTS"].data[name], b["EVENTS"].data[name]), name
        assert np.allclose(a["EVENTS"].data["RA"], b["EVENTS"].data["RA"], rtol=0, atol=1e-9)
        for key in ("LIVETIME", "ONTIME", "DEADC", "TSTART", "TSTOP"):
            assert a["EVENTS"].header[key] == pytest.approx(b["EVENTS"].header[key], rel=1e-12), key
        assert np.allclose(a["GTI"].data["START"], b["GTI"].data["START"])
        assert a["EVENTS"].header["RA_PNT"] == pytest.approx(b["EVENTS"].header["RA_PNT"], abs=1e-4)


def _peak_rss_mb(dl2: Path, irf: Path, out: Path) -> float:
    cmd = [str(Path(sys.executable).parent / "lappana"), "dl3", str(dl2), "-o", str(out), "--irf", str(irf),
           "--source-name", "Crab", "--source-ra", "83.633", "--source-dec", "22.014", "--chunk-rows", "20000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read().decode()
    return usage.ru_maxrss / 1024.0


@pytest.mark.timeout(300)
def test_peak_memory_is_flat_in_the_number_of_events(runs, irf_dir, tmp_path):
    small = _peak_rss_mb(runs[160_000], irf_dir, tmp_path / "small")
    large = _peak_rss_mb(runs[640_000], irf_dir, tmp_path / "large")
    print(f"peak RSS: 60 k events {small:.0f} MB, 240 k events {large:.0f} MB")
    assert large < small * 1.10 + 5


def test_parallel_parts_give_the_serial_result(runs, irf_dir, tmp_path):
    dl2 = runs[160_000]
    paths = [make_dl3(dl2, irf_dir, tmp_path / str(w), source_name="Crab", source_ra_deg=83.633,
                      source_dec_deg=22.014, chunk_rows=6_000, workers=w) for w in (1, 3)]
    with fits.open(paths[0]) as a, fits.open(paths[1]) as b:
        assert np.array_equal(a["EVENTS"].data, b["EVENTS"].data)
        assert np.array_equal(a["GTI"].data, b["GTI"].data)
        for key in ("LIVETIME", "ONTIME", "DEADC", "TSTART", "TSTOP", "RA_PNT", "DEC_PNT", "ALT_PNT", "AZ_PNT"):
            assert a["EVENTS"].header[key] == pytest.approx(b["EVENTS"].header[key], rel=1e-12), key
    assert not list(tmp_path.glob("*/.*")), "scratch files left behind"


def test_parallel_parts_from_a_threaded_caller(runs, irf_dir, tmp_path):
    """A daemon calls make_dl3 with other threads running: workers are spawned, not forked."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        path = make_dl3(runs[160_000], irf_dir, tmp_path, source_name="Crab", source_ra_deg=83.633,
                        source_dec_deg=22.014, chunk_rows=6_000, workers=2)
    finally:
        stop.set()
    with fits.open(path) as hdus:
        assert len(hdus["EVENTS"].data) > 1000
