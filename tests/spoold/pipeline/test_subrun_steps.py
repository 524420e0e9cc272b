"""A night's DL2 subrun by subrun (issue 17, point 3), as the steps plan it.

On a simulated night whose DL1 is also written in subrun files (as LST-1's onsite pipeline keeps them) and
whose run catalogue gives ``n_subruns``: with ``data.dl1_subrun_pattern`` in the site file, ``resolve`` waits
for every subrun file, the dl2 step plans one task per subrun (with ``slurm.subrun_mem``), the run is complete
only when every subrun's DL2 is, and the dl3 step gives the run's subrun DL2 files in order to one task.
Without the pattern the same night is taken run by run, as before. The real lstchain and the DL3 of such a
night are ``tests/spoold/daemon/test_subrun_night.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from lappana.simulate.night import simulate_night
from spoold.pipeline.base import Context
from spoold.pipeline.dl2_cache import entries
from spoold.pipeline.resolve import resolve
from spoold.pipeline.steps import Dl2Step, Dl3Step
from spoold.request import parse_request
from spoold.request.model import ResolvedSource
from spoold.site import SiteError, load_site
from spoold.standing.nights import night_data, runs_ready

NIGHT = dt.date(2023, 12, 7)
RUNS = (15864, 15865)
SUBRUN_EVENTS = 8_000
PATTERN = "{data_root}/DL1/{night}/v0.10/tailcut84/dl1_LST-1.Run{run:05d}.{subrun:04d}.h5"
REQUEST = (b"source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\n"
           b"cuts: {gh_efficiency: 0.7, theta_containment: 0.7}\nproducts: [dl3]\n")
NOW = dt.datetime(2023, 12, 9, 10, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("subrun-night")
    return simulate_night(root / "data", night=NIGHT, n_runs=len(RUNS), run_minutes=0.4, first_run=RUNS[0],
                          levels=("dl1",), mc=False, progress=False, workers=1, shower_rate_hz=750.0,
                          subrun_events=SUBRUN_EVENTS)


def _site(tmp_path: Path, night, *, pattern: str | None = PATTERN):
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    (models / "cls_gh.sav").write_bytes(b"a model")
    data = f"{{root: {night.output}" + (f", dl1_subrun_pattern: '{pattern}'" if pattern else "") + "}"
    (tmp_path / "site.yaml").write_text(f"data: {data}\nlstchain: {{models: {models}}}\n"
                                        "limits: {data_settle_seconds: 0, live_quiet_seconds: 0}\n"
                                        "slurm: {mem: 60G, subrun_mem: 3G}\n")
    return load_site(tmp_path / "site.yaml", spool_root=tmp_path / "spool")


def _context(tmp_path: Path, site) -> Context:
    request = parse_request(REQUEST, site=site, now=NOW)
    folder = tmp_path / "spool" / "running" / "a"
    folder.mkdir(parents=True, exist_ok=True)
    ctx = Context(site, request, folder, {"id": "a", "attempt": 1}, folder, now=NOW)
    found = resolve(ctx)
    assert not found.missing and not found.error
    ctx.state.update(runs=list(found.runs), night=found.night, run_nights=found.run_nights,
                     run_subruns={str(k): v for k, v in found.run_subruns.items()})
    return ctx


def test_the_simulator_writes_subrun_files_and_their_number_in_the_catalogue(night) -> None:
    import tables

    from lappana.io.runcatalog import read_run_catalog

    catalogue = {e.run_id: e.n_subruns for e in read_run_catalog(night.run_catalog)}
    for run in RUNS:
        with tables.open_file(str(night.dl1_files[run])) as h5:
            whole = h5.root.dl1.event.telescope.parameters.LST_LSTCam.read()
        parts = []
        for path in night.dl1_subrun_files[run]:
            with tables.open_file(str(path)) as h5:
                parts.append(h5.root.dl1.event.telescope.parameters.LST_LSTCam.read())
        assert catalogue[run] == len(parts) == -(-len(whole) // SUBRUN_EVENTS) >= 2
        assert all(len(p) == SUBRUN_EVENTS for p in parts[:-1])
        assert (parts[0].dtype == whole.dtype) and (sum(map(len, parts)) == len(whole))
        assert np.array_equal(np.concatenate(parts), whole)  # the run's events, in order, cut into subruns


def test_each_subrun_is_one_dl2_task_and_the_dl3_task_reads_them_in_order(tmp_path: Path, night) -> None:
    site = _site(tmp_path, night)
    ctx = _context(tmp_path, site)
    n = {run: len(night.dl1_subrun_files[run]) for run in RUNS}
    assert ctx.state["run_subruns"] == {str(run): n[run] for run in RUNS}
    plans = Dl2Step().tasks(ctx)
    assert [p.label for p in plans] == [f"run{run}.{s:04d}" for run in RUNS for s in range(n[run])]
    assert [Path(p.argv[p.argv.index("dl2") + 1]) for p in plans] == [
        path for run in RUNS for path in night.dl1_subrun_files[run]]
    assert Dl2Step().resources(ctx).mem == "3G"  # a subrun's memory, not the site's 60G of a whole run
    found = entries(ctx)
    assert [e.path.name for e in found] == [f"dl2_LST-1.Run{run}.{s:04d}.h5" for run in RUNS for s in range(n[run])]
    for entry in found[:-1]:  # every subrun's DL2 but the last run's last one
        entry.path.write_bytes(b"dl2")
    assert Dl2Step().done_already(ctx) is None
    assert "dl2_LST-1.Run15865" in Dl2Step().verify(ctx)
    found[-1].path.write_bytes(b"dl2")
    assert Dl2Step().done_already(ctx) is not None
    for plan, run in zip(Dl3Step().tasks(ctx), RUNS):
        argv = list(plan.argv)
        given = argv[argv.index("dl3") + 1:argv.index("-o")]
        assert given == [str(e.path) for e in found if e.run == run]  # one task per run, its subruns in order
        assert plan.outputs[0].name == f"dl3_LST-1.Run{run}.fits.gz"


def test_a_missing_subrun_file_is_waited_for(tmp_path: Path, night) -> None:
    site = _site(tmp_path, night)
    moved = night.dl1_subrun_files[RUNS[1]][1]
    aside = tmp_path / moved.name
    moved.rename(aside)
    try:
        request = parse_request(REQUEST, site=site, now=NOW)
        ctx = Context(site, request, tmp_path, {"id": "a"}, tmp_path, now=NOW)
        assert resolve(ctx).missing == (str(moved),)
        source = ResolvedSource(request.source_name, request.ra_deg, request.dec_deg, ("Crab",))
        data = night_data(site, NIGHT, source, level="dl1", now=NOW)
        assert not data.complete and f"run {RUNS[1]}" in data.why
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)  # the files' times are today's
        assert runs_ready(site, NIGHT, RUNS, level="dl1", now=later) == [RUNS[0]]  # a live order takes run 1 only
    finally:
        aside.rename(moved)
    assert runs_ready(site, NIGHT, RUNS, level="dl1", now=later) == list(RUNS)


def test_without_the_subrun_pattern_the_runs_are_taken_whole(tmp_path: Path, night) -> None:
    ctx = _context(tmp_path, _site(tmp_path, night, pattern=None))
    assert ctx.state["run_subruns"] == {}
    assert [p.label for p in Dl2Step().tasks(ctx)] == [f"run{run}" for run in RUNS]
    assert Dl2Step().resources(ctx).mem is None  # the site's own 60G, merged by the executor


def test_a_subrun_pattern_must_name_the_subrun(tmp_path: Path, night) -> None:
    with pytest.raises(SiteError, match=r"does not name the subrun: put \{subrun:04d\} in it"):
        _site(tmp_path, night, pattern="{data_root}/DL1/{night}/dl1_LST-1.Run{run:05d}.h5")
