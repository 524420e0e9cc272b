"""DL2 made once (issue 15, point 6), as the dl2 step plans it: the site's DL2 cache is read before anything
is submitted; runs another request is making are waited for; a request's folder holds DL2 only when it asks
for ``dl2``, as links to the cache's files.

The step's decisions are checked here on placeholder DL1 files and DL2 entries (what the cache key hashes is
the DL1 file's identity and the models folder, not their contents); the real lstchain making them once on
the real Slurm is ``tests/spoold/slurm/test_dl2_once_slurm.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

from tests.helpers.spool import make_tree
from spoold.pipeline.base import Context
from spoold.pipeline.claims import CLAIM
from spoold.pipeline.dl2_cache import entries
from spoold.pipeline.runner import Runner
from spoold.pipeline.steps import Dl2Step, dl2_inputs
from spoold.request import parse_request
from spoold.site import load_site
from spoold.states import Outcome, StepStatus

RUNS = (15864, 15865, 15866)
REQUEST = ("source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\n"
           "cuts: {{gh_efficiency: 0.7, theta_containment: 0.7}}\nproducts: [{products}]\n")


def _site(tmp_path: Path):
    if not (tmp_path / "data").is_dir():
        make_tree(tmp_path / "data", runs=RUNS, dl1=True, dl2=False)
        models = tmp_path / "models"
        models.mkdir()
        (models / "cls_gh.sav").write_bytes(b"a model")
        (tmp_path / "site.yaml").write_text(f"data: {{root: {tmp_path / 'data'}}}\nlstchain: {{models: {models}}}\n")
    return load_site(tmp_path / "site.yaml", spool_root=tmp_path / "spool")


def _request(tmp_path: Path, rid: str, products: str = "dl3", attempt: int = 1) -> Context:
    """A running request for RUNS, its state.json on disk (what other requests read of it)."""
    site = _site(tmp_path)
    request = parse_request(REQUEST.format(products=products).encode(), site=site,
                            now=dt.datetime(2023, 12, 8, 10, tzinfo=dt.timezone.utc))
    folder = tmp_path / "spool" / "running" / rid
    folder.mkdir(parents=True, exist_ok=True)
    state = {"id": rid, "attempt": attempt, "runs": list(RUNS), "night": "20231207",
             "steps": {"dl2": {"status": StepStatus.PENDING, "attempt": attempt}}}
    ctx = Context(site, request, folder, state, folder)
    _save(ctx)
    return ctx


def _save(ctx: Context, status: str | None = None) -> None:
    if status:
        ctx.state["steps"]["dl2"]["status"] = status
    (ctx.folder / "state.json").write_text(json.dumps(ctx.state))


def _make(ctx: Context, runs=RUNS) -> None:
    """What the tasks' ``lappana dl2 --cache`` leaves: the entry's DL2 file, renamed in whole."""
    for entry in entries(ctx):
        if entry.run in runs:
            entry.path.parent.mkdir(parents=True, exist_ok=True)
            entry.path.write_bytes(b"DL2 of run %d" % entry.run)


def test_the_first_request_makes_every_run_into_the_cache_and_claims_them(tmp_path: Path) -> None:
    first = _request(tmp_path, "a")
    step = Dl2Step()
    assert step.done_already(first) is None and step.waits_on(first) is None
    plans = step.tasks(first)
    assert [p.label for p in plans] == [f"run{r:05d}" for r in RUNS]
    cache = tmp_path / "spool" / "cache" / "dl2"
    for plan, entry in zip(plans, entries(first)):
        argv = list(plan.argv)
        assert argv[argv.index("--cache") + 1] == str(cache) and "-o" not in argv  # dl2 not asked: no links
        assert plan.outputs == ()
        claim = json.loads((entry.path.parent / CLAIM).read_text())
        assert (claim["request"], claim["attempt"], claim["run"]) == ("a", 1, entry.run)
    assert dl2_inputs(first) == {e.run: [e.path] for e in entries(first)}  # the dl3 step reads the cache's files
    assert [p.label for p in step.tasks(first)] == [p.label for p in plans]  # asked again: the same plan


def test_a_second_request_waits_for_the_one_making_its_runs_then_reuses_them(tmp_path: Path) -> None:
    first, second = _request(tmp_path, "a"), _request(tmp_path, "b", products="dl2, dl3")
    step = Dl2Step()
    step.tasks(first)
    _save(first, StepStatus.SUBMITTED)
    assert step.waits_on(second) == "waiting for request a (runs 15864, 15865, 15866), which is making the same DL2 files"
    _make(first, RUNS[:2])
    assert step.waits_on(second) == "waiting for request a (run 15866), which is making the same DL2 files"
    _make(first)
    assert step.waits_on(second) is None
    assert "is in the DL2 cache" in step.done_already(second)
    for entry in entries(second):  # asked for dl2: hard links to the cache's files, not copies
        link = second.folder / "dl2" / entry.path.name
        assert os.path.samefile(link, entry.path) and link.stat().st_nlink == 2
    assert not (first.folder / "dl2").exists()  # the first did not ask for dl2


def test_the_claims_of_a_request_that_failed_or_left_are_taken_over(tmp_path: Path) -> None:
    first, second = _request(tmp_path, "a"), _request(tmp_path, "b")
    step = Dl2Step()
    step.tasks(first)
    _save(first, StepStatus.SUBMITTED)
    _make(first, RUNS[:1])
    failed = tmp_path / "spool" / "failed" / "a"
    failed.parent.mkdir(parents=True)
    shutil.move(first.folder, failed)  # its tasks of runs 2 and 3 failed
    assert step.waits_on(second) is None
    assert [p.label for p in step.tasks(second)] == [f"run{r:05d}" for r in RUNS[1:]]  # run 1 is reused
    assert json.loads((entries(second)[1].path.parent / CLAIM).read_text())["request"] == "b"


def test_a_retry_of_the_same_request_makes_again_only_what_is_missing(tmp_path: Path) -> None:
    first = _request(tmp_path, "a")
    step = Dl2Step()
    step.tasks(first)
    _make(first, RUNS[:2])
    retried = _request(tmp_path, "a", attempt=2)
    assert step.waits_on(retried) is None  # its own attempt 1 is not someone to wait for
    assert [p.label for p in step.tasks(retried)] == [f"run{RUNS[2]:05d}"]


def test_a_dl1_file_replaced_by_a_reprocessing_is_a_new_entry(tmp_path: Path) -> None:
    ctx = _request(tmp_path, "a")
    before = entries(ctx)[0]
    dl1 = ctx.data_path("dl1", RUNS[0])
    dl1.write_bytes(b"reprocessed DL1\n")
    os.utime(dl1, ns=(dl1.stat().st_atime_ns, dl1.stat().st_mtime_ns + 10**9))
    after = entries(ctx)[0]
    assert after.key != before.key and after.path != before.path


def test_the_runner_waits_without_submitting_and_says_for_whom(tmp_path: Path) -> None:
    first, second = _request(tmp_path, "a"), _request(tmp_path, "b")
    Dl2Step().tasks(first)
    _save(first, StepStatus.SUBMITTED)
    second.state["steps"]["resolve"] = {"status": StepStatus.DONE, "attempt": 1}

    def submit(job):
        raise AssertionError(f"{job.step} was submitted while another request makes its DL2")

    executor = SimpleNamespace(supports_dependencies=True, submit=submit, find=lambda job: None)
    runner = Runner(SimpleNamespace(site=second.site, executor=executor), [Dl2Step()])
    assert runner.advance(second, {}) == Outcome.RUNNING
    saved = json.loads((second.folder / "state.json").read_text())
    assert saved["steps"]["dl2"]["status"] == StepStatus.PENDING
    assert saved["steps"]["dl2"]["note"].startswith("waiting for request a")
    assert "step dl2: waiting for request a" in (second.folder / "log").read_text()
