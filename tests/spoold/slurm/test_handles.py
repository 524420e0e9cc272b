"""The typed Slurm handle reads the handles written before it was typed (state.json of requests
that were running then), and the resources are merged once: defaults, site, request.

``golden/old_handles.json`` holds the two handles the untyped executor returned for a dl2 step
whose second task ran out of memory once and was resubmitted with twice the memory, and the
dl3 step that Slurm cancelled meanwhile and the executor resubmitted (recorded on the real
cluster of scripts/slurm-up). None of these tests needs a running Slurm."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from spoold.executors.base import TaskState
from spoold.executors.resources import DEFAULTS, Resources, for_request
from spoold.executors.slurm.commands import SACCT_FIELDS, SlurmCommands
from spoold.executors.slurm.handles import SlurmHandle, TryRecord
from spoold.request.model import SlurmOverrides
from spoold.site import SlurmSettings

from tests.helpers.slurm import make_executor

OLD = json.loads((Path(__file__).resolve().parent / "golden" / "old_handles.json").read_text())


def test_old_handles_read_as_typed_and_write_back_unchanged():
    dl2, dl3 = (SlurmHandle.from_json(h) for h in OLD)
    assert [SlurmHandle.from_json(h).to_json() for h in OLD] == OLD
    retried = dl2.tasks[1]
    assert (retried.retries, retried.mem, retried.history) == (1, "200M", [TryRecord("3_1", "OUT_OF_MEMORY")])
    assert retried.outputs == ["/tmp/slurm-tests/golden-old-handle/dl2/b.h5"] and dl2.retried
    assert dl3.after == [dl2.name] and dl3.after_jobs == ["3"] and dl3.tasks[0].history[0].state == "CANCELLED"
    assert dl3.resources == Resources(time="00:05:00", mem="100M", cpus_per_task=1)


def test_a_handle_from_before_outputs_refusals_and_uncertain_sbatch_reads_with_defaults():
    older = copy.deepcopy(OLD[0])
    for key in ("after_results", "refused", "uncertain"):
        del older[key]
    for task in older["tasks"].values():
        del task["outputs"]
    handle = SlurmHandle.from_json(older)
    assert handle.refused == "" and handle.uncertain is False and handle.after_results == []
    assert all(t.outputs == [] for t in handle.tasks.values()) and handle.tasks[1].retries == 1


def test_the_executor_polls_old_handles_and_hands_them_back_as_they_were(tmp_path):
    # A "Slurm" whose sacct knows the arrays of the golden handles, all completed.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    rows = "\n".join(f"{job}|{job.split('_')[0]}|astran|{state}|0:0||vm"
                     for job, state in (("3_0", "COMPLETED"), ("3_1", "OUT_OF_MEMORY"), ("4_0", "CANCELLED"),
                                        ("6_0", "COMPLETED"), ("7_0", "COMPLETED")))
    assert len(rows.splitlines()[0].split("|")) == len(SACCT_FIELDS)
    (fake_bin / "sacct").write_text(f"#!/bin/sh\ncat <<'EOF'\n{rows}\nEOF\n")
    (fake_bin / "sacct").chmod(0o755)
    executor = make_executor(commands=SlurmCommands(prefix=("env", f"PATH={fake_bin}:/usr/bin:/bin"), attempts=1),
                             max_array_size=1001)
    polls = executor.poll(copy.deepcopy(OLD))
    assert [p.handle for p in polls] == OLD
    assert {(p.handle["step"], i): (s.state, s.job_id) for p in polls for i, s in p.tasks.items()} == {
        ("dl2", 0): (TaskState.SUCCEEDED, "3_0"), ("dl2", 1): (TaskState.SUCCEEDED, "6_0"),
        ("dl3", 0): (TaskState.SUCCEEDED, "7_0")}


def test_resources_merge_once_defaults_then_site_then_request():
    site = SlurmSettings(account="aswg", mem="4G", extra=["--exclusive"], array_throttle=5)
    request = SlurmOverrides(mem="8G", partition="short", extra=("--constraint=ssd",))
    assert isinstance(site, Resources) and SlurmOverrides is Resources and site.extra == ("--exclusive",)
    merged = for_request(site, request)
    assert merged == Resources(partition="short", account="aswg", time=DEFAULTS.time, mem="8G",
                               cpus_per_task=DEFAULTS.cpus_per_task, extra=("--exclusive", "--constraint=ssd"))
    assert for_request(SlurmSettings(), Resources()) == DEFAULTS
    assert Resources.from_mapping(merged.to_json()) == merged
