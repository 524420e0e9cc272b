"""IRFs for any cuts (issue 15, point 4), as the irf step plans them: a request from DL1 whose cuts name a set
the models' IRF folder lacks gets it made, one task per pointing node, the way that folder's sets were made;
a second request with the same cuts waits for the maker, then uses the set.

Here on placeholder files (what the step decides); the real lstchain making a set through the daemon is
``tests/spoold/daemon/test_irfs_on_request.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from tests.helpers.spool import make_tree
from spoold.pipeline.base import Context
from spoold.pipeline.claims import CLAIM
from spoold.pipeline.irf_step import INCOMPLETE, IrfStep
from spoold.pipeline.runner import Runner
from spoold.pipeline.steps import NEEDS_DL3, default_steps
from spoold.request import parse_request
from spoold.site import load_site
from spoold.states import StepStatus

RUNS = (15864, 15865)
NEW_CUTS = "{gh_efficiency: 0.8, theta_containment: 0.7}"
REQUEST = ("source: Crab Nebula\nnight: 2023-12-07\nstart_from: dl1\ncuts: {cuts}\nproducts: [dl3]\n")
RECIPE = {"zenith": [10.0, 20.0], "azimuth": 180.0, "seed": 7, "thrown": 40000}


def _site(tmp_path: Path):
    if not (tmp_path / "site.yaml").is_file():
        make_tree(tmp_path / "data", runs=RUNS, dl1=True, dl2=False)
        models = tmp_path / "models"
        (models / "IRF" / "eff_gh0.70_th0.70").mkdir(parents=True)
        (models / "cls_gh.sav").write_bytes(b"a model")
        (models / "IRF" / "irf-recipe.json").write_text(json.dumps(RECIPE))
        (tmp_path / "site.yaml").write_text(f"data: {{root: {tmp_path / 'data'}}}\nlstchain: {{models: {models}}}\n")
    return load_site(tmp_path / "site.yaml", spool_root=tmp_path / "spool")


def _request(tmp_path: Path, rid: str, cuts: str = NEW_CUTS, attempt: int = 1) -> Context:
    site = _site(tmp_path)
    request = parse_request(REQUEST.format(cuts=cuts).encode(), site=site,  # accepted: the step makes the set
                            now=dt.datetime(2023, 12, 8, 10, tzinfo=dt.timezone.utc))
    folder = tmp_path / "spool" / "running" / rid
    folder.mkdir(parents=True, exist_ok=True)
    state = {"id": rid, "attempt": attempt, "runs": list(RUNS), "night": "20231207",
             "steps": {"irf": {"status": StepStatus.SUBMITTED, "attempt": attempt}}}
    (folder / "state.json").write_text(json.dumps(state))
    return Context(site, request, folder, state, folder)


def _set(tmp_path: Path) -> Path:
    return tmp_path / "models" / "IRF" / "eff_gh0.80_th0.70"


def _write_nodes(folder: Path) -> None:
    for zenith in RECIPE["zenith"]:
        (folder / f"irf_lstchain_{folder.name}_zen{zenith:04.1f}_az180.0.fits.gz").write_bytes(b"an IRF")


def test_cuts_nobody_made_get_one_task_per_node_made_as_the_folder_s_sets_were(tmp_path: Path) -> None:
    ctx = _request(tmp_path, "a")
    step = IrfStep(NEEDS_DL3)
    assert step.wanted(ctx) and step.done_already(ctx) is None and step.waits_on(ctx) is None
    plans = step.tasks(ctx)
    assert [p.label for p in plans] == ["zen10.0", "zen20.0"]
    for plan, zenith in zip(plans, ("10", "20")):
        argv = list(plan.argv)
        assert argv[argv.index("irfs"):argv.index("--lstchain-env")] == [
            "irfs", "-o", str(tmp_path / "models" / "IRF"), "--set", "eff_gh0.80_th0.70", "--zenith", zenith,
            "--azimuth", "180", "--seed", "7", "--thrown", "40000", "--add"]
        assert argv[argv.index("--models") + 1] == str(tmp_path / "models")
    folder = _set(tmp_path)
    assert (folder / INCOMPLETE).is_file()
    assert json.loads((folder / CLAIM).read_text())["request"] == "a"
    assert step.verify(ctx).startswith("The irf step ended without writing irf_lstchain_eff_gh0.80_th0.70_zen10.0")
    _write_nodes(folder)
    assert step.verify(ctx) is None and not (folder / INCOMPLETE).exists()
    assert "is there already" in step.done_already(_request(tmp_path, "c"))


def test_a_second_request_with_the_same_cuts_waits_for_the_maker_and_takes_over_when_it_fails(tmp_path: Path) -> None:
    first, second = _request(tmp_path, "a"), _request(tmp_path, "b")
    step = IrfStep(NEEDS_DL3)
    step.tasks(first)
    assert step.done_already(second) is None  # half made: not usable
    assert step.waits_on(second) == "waiting for request a, which is making the IRF set eff_gh0.80_th0.70"
    failed = tmp_path / "spool" / "failed" / "a"
    failed.parent.mkdir(parents=True)
    shutil.move(first.folder, failed)
    assert step.waits_on(second) is None
    assert len(step.tasks(second)) == 2
    assert json.loads((_set(tmp_path) / CLAIM).read_text())["request"] == "b"


def test_existing_sets_and_the_site_s_own_irfs_are_never_made(tmp_path: Path) -> None:
    ctx = _request(tmp_path, "a", cuts="{gh_efficiency: 0.7, theta_containment: 0.7}")
    step = IrfStep(NEEDS_DL3)
    assert "is there already" in step.done_already(ctx)
    assert step.tasks(ctx) == [] and not (tmp_path / "models" / "IRF" / "eff_gh0.70_th0.70" / INCOMPLETE).exists()
    dl2 = Context(ctx.site, parse_request(REQUEST.replace("start_from: dl1", "start_from: dl2").format(
        cuts="{gh_efficiency: 0.7, theta_containment: 0.7}").encode(), site=ctx.site,
        now=dt.datetime(2023, 12, 8, 10, tzinfo=dt.timezone.utc)), ctx.folder, ctx.state, ctx.folder)
    assert not step.wanted(dl2)  # the site's DL2 takes the site's IRF sets, made elsewhere


def test_on_slurm_an_irf_set_that_is_there_is_skipped_and_dl3_chains_after_dl2(tmp_path: Path) -> None:
    ctx = _request(tmp_path, "a", cuts="{gh_efficiency: 0.7, theta_containment: 0.7}")
    ctx.state["steps"] = {"resolve": {"status": StepStatus.DONE, "attempt": 1}}
    submitted = []

    def submit(job):
        submitted.append((job.step, [h["name"] for h in job.after]))
        return {"name": job.step, "job_id": str(len(submitted))}

    executor = SimpleNamespace(supports_dependencies=True, submit=submit, find=lambda job: None)
    services = SimpleNamespace(site=ctx.site, executor=executor, emit=lambda *a, **k: None,
                               transition=lambda folder, state, to, *lines, **kw: folder)
    Runner(services, default_steps()).advance(ctx, {})
    assert submitted == [("dl2", []), ("dl3", ["dl2"]), ("index", ["dl3"])]
    assert ctx.state["steps"]["irf"]["status"] == StepStatus.SKIPPED
