"""Retries that can be retried (issue 11, case 5): no step meets its own earlier attempt's partial outputs.

Before a step is handed to the executor afresh, the runner removes what an
earlier attempt of it left in the request's own folder (``Step.outputs``), and
only there. Shown for each real step on its own, and end to end with the real
``lappana dl3`` (which refuses to overwrite a DL3 file) through the real daemon.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.spool import spool_cmd
from spoold.pipeline.base import Context
from spoold.pipeline.runner import Runner
from spoold.pipeline.steps import default_steps
from spoold.request import parse_request
from spoold.site import load_site

RUNS = (15864, 15865)
REQUEST = ("source: Crab Nebula\nnight: 2023-12-07\nstart_from: {start}\n"
           "cuts: {{gh_efficiency: 0.7, theta_containment: 0.7}}\nproducts: [dl3, theta2, skymap, diagnostics]\n")


def _context(tmp_path: Path, start: str) -> Context:
    from tests.helpers.spool import make_tree

    make_tree(tmp_path / "data", runs=RUNS, dl1=True, dl2=True)
    site_file = tmp_path / "site.yaml"
    models = tmp_path / "models"  # what a DL2 cache key hashes: a models folder, not the models themselves
    models.mkdir()
    (models / "cls_gh.sav").write_bytes(b"a model")
    site_file.write_text(f"data: {{root: {tmp_path / 'data'}}}\nlstchain: {{models: {models}}}\n")
    site = load_site(site_file, spool_root=tmp_path / "spool")
    now = dt.datetime(2023, 12, 8, 10, tzinfo=dt.timezone.utc)
    text = REQUEST.format(start=start)
    if start == "dl1":  # the DL2 is the request's own only when asked for (else it stays in the DL2 cache)
        text = text.replace("products: [", "products: [dl2, ")
    request = parse_request(text.encode(), site=site, now=now)
    folder = tmp_path / "spool" / "running" / "20231208-101500-crab-3f9a"
    folder.mkdir(parents=True)
    state = {"id": folder.name, "attempt": 2, "runs": list(RUNS), "night": "20231207", "steps": {}}
    return Context(site, request, folder, state, folder)


@pytest.mark.parametrize("name,start", [("dl2", "dl1"), ("dl3", "dl1"), ("dl3", "dl2"), ("index", "dl2"),
                                        ("report", "dl1"), ("report", "dl2")])
def test_each_step_removes_what_an_earlier_attempt_left_and_nothing_else(tmp_path: Path, name: str,
                                                                         start: str) -> None:
    ctx = _context(tmp_path, start)
    step = next(s for s in default_steps() if s.name == name)
    assert step.wanted(ctx)
    outputs = step.outputs(ctx)
    assert outputs, f"step {name} names no outputs"
    for path in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half-written by attempt 1")
    inputs = [ctx.data_path("dl2", run) for run in RUNS] + [ctx.data_path("dl1", run) for run in RUNS]
    Runner._clean(ctx, step)
    assert [p for p in outputs if p.exists()] == []
    assert all(p.is_file() for p in inputs)  # the site's data are never touched
    assert "output(s) an earlier attempt left" in (ctx.folder / "log").read_text()


@pytest.mark.parametrize("start", ["dl1", "dl2"])
def test_each_task_carries_its_own_outputs_to_the_executor(tmp_path: Path, start: str) -> None:
    """What a Slurm retry of one task removes: the files that task writes, and only those."""
    from types import SimpleNamespace

    ctx = _context(tmp_path, start)
    runner = Runner(SimpleNamespace(site=ctx.site), default_steps())
    for step in runner.wanted(ctx):
        tasks = runner._job(ctx, step).tasks
        assert [o for t in tasks for o in t.outputs] == step.outputs(ctx)
        if step.name in ("dl2", "dl3"):
            assert [t.outputs[0].name for t in tasks] == [f"{step.name}_LST-1.Run{r:05d}.{'h5' if step.name == 'dl2' else 'fits.gz'}"
                                                          for r in RUNS]


def _once(spool: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--spool", str(spool), "--once"], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_retry_after_a_partial_dl3_step_makes_every_run_again(tmp_path: Path) -> None:
    from lappana.simulate.night import simulate_night

    night = simulate_night(tmp_path / "data", night=dt.date(2023, 12, 7), n_runs=len(RUNS), first_run=RUNS[0],
                           run_minutes=0.2, levels=("dl2",), mc=False, irfs=True, progress=False, seed=3)
    spool = tmp_path / "spool"
    spool_cmd("init", str(spool), cwd=tmp_path)
    request = tmp_path / "crab.yaml"
    request.write_text(REQUEST.format(start="dl2").replace("products: [dl3, theta2, skymap, diagnostics]",
                                                           "products: [dl3]"))
    rid = spool_cmd("submit", str(request), "--spool", str(spool), cwd=tmp_path).stdout.strip()
    second = night.dl2_files[RUNS[1]]
    good = second.read_bytes()
    second.write_bytes(good[: len(good) // 3])  # a damaged DL2 file: its dl3 task fails
    first = _once(spool, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    failed = spool / "failed" / rid
    assert failed.is_dir(), spool_cmd("status", rid, "--spool", str(spool), cwd=tmp_path).stdout
    assert (failed / "dl3" / f"dl3_LST-1.Run{RUNS[0]:05d}.fits.gz").is_file()  # attempt 1 wrote one of the two
    second.write_bytes(good)  # repaired
    spool_cmd("retry", rid, "--spool", str(spool), cwd=tmp_path, check=False)
    again = _once(spool, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    done = spool / "done" / rid
    assert done.is_dir(), (spool / "failed" / rid / "error.txt").read_text() if (spool / "failed" / rid).is_dir() else ""
    state = json.loads((done / "state.json").read_text())
    assert state["attempt"] == 2 and state["steps"]["dl3"]["status"] == "done"
    for run in RUNS:
        assert (done / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").stat().st_size > 0


def test_cancel_after_the_first_dl3_then_retry_finishes(tmp_path: Path) -> None:
    """The issue's second case: spool cancel of a request whose first DL3 was written, then spool retry."""
    import time

    from lappana.simulate.night import simulate_night

    from tests.helpers.waiting import wait_for

    simulate_night(tmp_path / "data", night=dt.date(2023, 12, 7), n_runs=len(RUNS), first_run=RUNS[0],
                   run_minutes=0.5, levels=("dl2",), mc=False, irfs=True, progress=False, seed=4)
    spool = tmp_path / "spool"
    site = tmp_path / "site.yaml"
    site.write_text("limits: {reconcile_seconds: 0.3, settle_seconds: 0.1, max_tasks_in_flight: 1}\n")
    spool_cmd("init", str(spool), "--config", str(site), cwd=tmp_path)
    request = tmp_path / "crab.yaml"
    request.write_text(REQUEST.format(start="dl2").replace("products: [dl3, theta2, skymap, diagnostics]",
                                                           "products: [dl3]"))
    rid = spool_cmd("submit", str(request), "--spool", str(spool), "--config", str(site), cwd=tmp_path).stdout.strip()
    daemon = subprocess.Popen([sys.executable, "-m", "spoold.daemon.cli", "--spool", str(spool), "--config", str(site)],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "daemon.log", "wb"))
    try:
        first = spool / "running" / rid / "dl3" / f"dl3_LST-1.Run{RUNS[0]:05d}.fits.gz"
        wait_for(lambda: first.is_file(), timeout=300, what="the first DL3 file")
        cancel = spool_cmd("cancel", rid, "--spool", str(spool), "--config", str(site), cwd=tmp_path, check=False)
        if cancel.returncode != 0:
            pytest.skip(f"the request finished before it could be cancelled: {cancel.stderr}")
        assert (spool / "cancelled" / rid / "dl3" / first.name).is_file()  # attempt 1 left it
        spool_cmd("retry", rid, "--spool", str(spool), "--config", str(site), cwd=tmp_path)
        wait_for(lambda: (spool / "done" / rid).is_dir() or (spool / "failed" / rid).is_dir(), timeout=300,
                 what="the retried request to finish")
        time.sleep(0.2)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    assert (spool / "done" / rid).is_dir(), (spool / "failed" / rid / "error.txt").read_text()
    for run in RUNS:
        assert (spool / "done" / rid / "dl3" / f"dl3_LST-1.Run{run:05d}.fits.gz").stat().st_size > 0
