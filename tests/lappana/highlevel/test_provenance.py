"""lstchain's version from the DL2 it wrote and from its environment; each run's night, UTC times and IRF node."""

from __future__ import annotations

import datetime as dt

from lappana.highlevel.dl3files import read_dl3_folder
from lappana.highlevel.provenance import lstchain_version, night_of_unix, run_record
from lappana.lstchain_env import installed_lstchain_version

LSTCHAIN = "0.12.3"  # the peer's version (scripts/setup-lstchain)


def test_the_version_lstchain_wrote_into_its_dl2_and_its_environment(lstchain_dl2_run):
    assert lstchain_version([lstchain_dl2_run.dl2_path]) == (LSTCHAIN, "the DL2 files (LSTCHAIN_VERSION)")
    assert installed_lstchain_version(lstchain_dl2_run.lstchain_env) == LSTCHAIN
    assert installed_lstchain_version(lstchain_dl2_run.lstchain_env / "bin") == LSTCHAIN


def test_dl2_without_the_attribute_falls_back_to_what_is_given(tmp_path):
    from lappana.simulate.night import simulate_night

    night = simulate_night(tmp_path, night=dt.date(2023, 12, 7), n_runs=1, run_minutes=0.1,
                           levels=("dl2",), mc=False, irfs=False, progress=False, seed=2)
    dl2 = list(night.dl2_files.values())
    assert lstchain_version(dl2, None) == (None, "not known: no DL2 file given records it")
    assert lstchain_version(dl2, "0.10.18")[0] == "0.10.18"


def test_a_run_says_its_night_times_and_irf_node(crab_dl3):
    runs = read_dl3_folder(crab_dl3)
    record = run_record(runs[0])
    assert record["night"] == "2023-12-07"  # the simulated night (runs around the Crab's culmination)
    assert record["tstart_utc"].startswith("2023-12-0") and record["tstart_utc"].endswith("Z")
    assert record["irf_file"].startswith("irf_")
    assert abs(record["irf_node"]["zenith_deg"] - runs[0].mean_zenith_deg) < 10  # the nearest of the nodes
    assert night_of_unix(1701990000.0) == "2023-12-07"  # 2023-12-07 23:00 UTC
