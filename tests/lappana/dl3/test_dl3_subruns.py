"""A run's subrun DL2 files make the DL3 file of the merged run (issue 17 point 3).

A DL2 run is cut into subrun files as ``lstchain_dl1_to_dl2`` writes them per subrun (rows
split, every other node kept, the first row's ``delta_t`` set to 0); the reference is the run
file that :func:`lappana.dl2_subruns._append_dl2` merges back from them. The DL3 of the subrun
files must equal that of the merged file: every EVENTS column, GTI, POINTING, the IRF HDUs and
every header keyword but CREATED.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tables
from astropy.io import fits

from lappana.cli import main
from lappana.constants import DL2_PARAMS_KEY
from lappana.dl2_subruns import _append_dl2
from lappana.dl3 import group_runs, make_dl3
from lappana.errors import LappanaError
from lappana.io.dl2 import DL2_REQUIRED_COLUMNS
from lappana.paths import parse_run_id, run_file_name
from lappana.simulate.run import simulate_run_dl2

CRAB = dict(source_name="Crab", source_ra_deg=83.633, source_dec_deg=22.014)
RUN = 16000


@pytest.fixture(scope="module")
def run_dl2(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / run_file_name("dl2", RUN)
    simulate_run_dl2(path, n_events=120_000, run_id=RUN, seed=5)
    return path


def cut_into_subruns(dl2: Path, folder: Path, edges: list[int]) -> list[Path]:
    """Subrun DL2 files of rows [edges[i], edges[i+1]) of ``dl2``, as lstchain writes one per subrun."""
    folder.mkdir(parents=True, exist_ok=True)
    with tables.open_file(str(dl2)) as h5:
        table = h5.get_node(DL2_PARAMS_KEY)
        rows, filters, description = table.read(), table.filters, table.description
    where, name = DL2_PARAMS_KEY.rsplit("/", 1)
    paths = []
    for subrun, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        path = folder / run_file_name("dl2", parse_run_id(dl2), subrun)
        shutil.copyfile(dl2, path)
        piece = rows[a:b].copy()
        if len(piece):
            piece["delta_t"][0] = 0.0  # lstchain_dl1_to_dl2: 0 for the first event of its input
        with tables.open_file(str(path), "a") as h5:
            h5.remove_node(DL2_PARAMS_KEY)
            h5.create_table(where, name, description=description, filters=filters, expectedrows=max(b - a, 1))
            h5.get_node(DL2_PARAMS_KEY).append(piece)
        paths.append(path)
    return paths


def merge_subruns(subruns: list[Path], merged: Path) -> Path:
    """The run file that lappana.dl2_subruns merges from subrun DL2 files."""
    merged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(subruns[0], merged)
    for piece in subruns[1:]:
        _append_dl2(merged, piece)
    return merged


def assert_same_dl3(ours: Path, merged: Path) -> None:
    with fits.open(ours) as a, fits.open(merged) as b:
        assert [h.name for h in a] == [h.name for h in b]
        for ha, hb in zip(a, b):
            keys = [k for k in ha.header if k != "CREATED"]
            assert keys == [k for k in hb.header if k != "CREATED"], ha.name
            for key in keys:
                assert ha.header[key] == hb.header[key], (ha.name, key)
            if ha.data is not None:
                assert np.array_equal(np.asarray(ha.data), np.asarray(hb.data)), ha.name
        assert len(a["EVENTS"].data) > 1000


@pytest.mark.timeout(300)
@pytest.mark.parametrize("workers", [1, 2])
def test_subruns_make_the_merged_runs_dl3(run_dl2, irf_dir, tmp_path, workers):
    with tables.open_file(str(run_dl2)) as h5:
        n = h5.get_node(DL2_PARAMS_KEY).nrows
    # cuts inside chunks (7,000 rows) and inside the workers' halves; subrun 0002 is empty
    subruns = cut_into_subruns(run_dl2, tmp_path / "subruns", [0, 41_234, 77_777, 77_777, n])
    merged = merge_subruns(subruns, tmp_path / "merged" / run_file_name("dl2", RUN))
    with tables.open_file(str(merged)) as h5:
        times = h5.get_node(DL2_PARAMS_KEY).read(41_233, 41_235)
    assert times["delta_t"][1] == times["dragon_time"][1] - times["dragon_time"][0] > 0
    reference = make_dl3(merged, irf_dir, tmp_path / "from-merged", chunk_rows=7_000, workers=workers, **CRAB)
    ours = make_dl3(subruns[::-1], irf_dir, tmp_path / "from-subruns", chunk_rows=7_000, workers=workers, **CRAB)
    assert ours.name == reference.name == "dl3_LST-1.Run16000.fits.gz"
    assert_same_dl3(ours, reference)


def test_the_command_makes_one_file_per_run(run_dl2, irf_dir, tmp_path, capsys):
    subruns = cut_into_subruns(run_dl2, tmp_path / "subruns", [0, 50_000, 100_000, 10**9])
    other = tmp_path / "other" / run_file_name("dl2", 16001)
    other.parent.mkdir()
    simulate_run_dl2(other, n_events=20_000, run_id=16001, seed=6)
    code = main(["dl3", str(subruns[2]), str(other), str(subruns[0]), str(subruns[1]), "-o", str(tmp_path / "out"),
                 "--irf", str(irf_dir), "--source-name", "Crab", "--source-ra", "83.633", "--source-dec", "22.014"])
    assert code == 0, capsys.readouterr().err
    made = capsys.readouterr().out.split()
    assert [Path(p).name for p in made] == ["dl3_LST-1.Run16000.fits.gz", "dl3_LST-1.Run16001.fits.gz"]
    reference = make_dl3(merge_subruns(subruns, tmp_path / "merged" / run_file_name("dl2", RUN)), irf_dir,
                         tmp_path / "ref", **CRAB)
    assert_same_dl3(Path(made[0]), reference)


def test_real_lstchain_dl2_in_subruns(lstchain_dl2_run, tmp_path):
    run = lstchain_dl2_run
    irf_dir = run.night.output / "IRF" / "eff_gh0.70_th0.70"
    with tables.open_file(str(run.dl2_path)) as h5:
        n = h5.get_node(DL2_PARAMS_KEY).nrows
    subruns = cut_into_subruns(run.dl2_path, tmp_path / "subruns", [0, n // 3, 2 * n // 3 + 17, n])
    merged = merge_subruns(subruns, tmp_path / "merged" / run_file_name("dl2", run.run_id))
    reference = make_dl3(merged, irf_dir, tmp_path / "from-merged", chunk_rows=4_000, **CRAB)
    ours = make_dl3(subruns, irf_dir, tmp_path / "from-subruns", chunk_rows=4_000, **CRAB)
    assert_same_dl3(ours, reference)


def _names(*subruns: int, run: int = RUN) -> list[Path]:
    return [Path("/data") / run_file_name("dl2", run, s) for s in subruns]


def test_grouping():
    run_file = Path("/data") / run_file_name("dl2", 16001)
    assert group_runs([*_names(2, 0, 1), run_file]) == [_names(0, 1, 2), [run_file]]
    with pytest.raises(LappanaError, match=r"Subrun 0001 of run 16000 is missing: .* subruns 0000, 0002"):
        group_runs(_names(0, 2))
    with pytest.raises(LappanaError, match=r"Subruns 0000, 0001 of run 16000 are missing"):
        group_runs(_names(2))
    with pytest.raises(LappanaError, match=r"Run 16000 was given both as its run file dl2_LST-1.Run16000.h5 and as "
                                           r"2 subrun file\(s\)"):
        group_runs([*_names(0, 1), Path("/data") / run_file_name("dl2", RUN)])
    with pytest.raises(LappanaError, match=r"Subrun 0001 of run 16000 was given twice"):
        group_runs([*_names(0, 1), Path("/elsewhere") / run_file_name("dl2", RUN, 1)])


def test_make_dl3_refuses_files_of_two_runs(run_dl2, irf_dir, tmp_path):
    subruns = cut_into_subruns(run_dl2, tmp_path / "a", [0, 60_000, 10**9])
    other = tmp_path / "b" / run_file_name("dl2", 16001)
    other.parent.mkdir()
    shutil.copyfile(run_dl2, other)
    with pytest.raises(LappanaError, match=r"these DL2 files are of 2 runs \(16000, 16001\)"):
        make_dl3([*subruns, other], irf_dir, tmp_path / "out", **CRAB)


def test_subruns_of_other_columns_or_obs_id(run_dl2, irf_dir, tmp_path):
    subruns = cut_into_subruns(run_dl2, tmp_path / "subruns", [0, 60_000, 10**9])
    with tables.open_file(str(subruns[1]), "a") as h5:
        rows = h5.get_node(DL2_PARAMS_KEY).read()
        h5.remove_node(DL2_PARAMS_KEY)
        dropped = next(n for n in rows.dtype.names if n not in DL2_REQUIRED_COLUMNS)
        kept = np.empty(len(rows), dtype=[(n, rows.dtype[n]) for n in rows.dtype.names if n != dropped])
        for n in kept.dtype.names:
            kept[n] = rows[n]
        where, name = DL2_PARAMS_KEY.rsplit("/", 1)
        h5.create_table(where, name, obj=kept)
    with pytest.raises(LappanaError, match=rf"The DL2 tables of dl2_LST-1.Run16000.0000.h5 and "
                                           rf"dl2_LST-1.Run16000.0001.h5 differ \(columns {dropped} in one and not "
                                           rf"the other\)"):
        make_dl3(subruns, irf_dir, tmp_path / "out", **CRAB)
    subruns = cut_into_subruns(run_dl2, tmp_path / "obs", [0, 60_000, 10**9])
    with tables.open_file(str(subruns[1]), "a") as h5:
        table = h5.get_node(DL2_PARAMS_KEY)
        table.modify_column(0, 1, column=[RUN + 1], colname="obs_id")
    with pytest.raises(LappanaError, match=r"dl2_LST-1.Run16000.0000.h5 holds obs_id 16000 and "
                                           r"dl2_LST-1.Run16000.0001.h5 obs_id 16001"):
        make_dl3(subruns, irf_dir, tmp_path / "out", **CRAB)


def test_the_command_says_which_subrun_is_missing(run_dl2, irf_dir, tmp_path, capsys):
    subruns = cut_into_subruns(run_dl2, tmp_path / "subruns", [0, 40_000, 80_000, 10**9])
    code = main(["dl3", str(subruns[0]), str(subruns[2]), "-o", str(tmp_path / "out"), "--irf", str(irf_dir),
                 "--source-name", "Crab", "--source-ra", "83.633", "--source-dec", "22.014"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("lappana dl3: Subrun 0001 of run 16000 is missing"), err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
