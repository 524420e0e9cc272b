"""The DL2 cache as a request's dl2 step sees it: what is made, what another request is making, what is its own.

lappana makes each run's DL2 once into the site's cache (``lstchain.dl2_cache``,
:mod:`lappana.dl2_cache`, ``lappana dl2 --cache``), keyed by the DL1 file, the
models, lstchain and its configuration. Before a dl2 step hands anything to the
executor, this module sorts its runs' entries:

- **made**: the entry's DL2 file is there: the request reads it where it is
  (linked into ``<products>/dl2/`` only when ``dl2`` is asked for);
- **being made elsewhere**: missing, and claimed by another request whose dl2
  step is still at work: the step waits for it instead of submitting a second
  task for the same file;
- **its own**: missing and unclaimed (or claimed by a request that gave up): the
  step claims it and submits one task for it.

A claim is ``made-by.json`` in the entry's folder: the spool, the request and its
attempt. It is written before the task is submitted and kept afterwards (it says
which request made the entry). Whether its maker is still at work is read from
that request's own ``state.json`` (in ``running/``, same attempt, its dl2 step not
finished), so claims need no clean-up after a crash, a failure or a retry.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from spoold.files import write_atomic
from spoold.pipeline.base import Context
from spoold.states import StepStatus

#: the claim of an entry, in its folder
CLAIM = "made-by.json"

#: step statuses of a maker that no longer works on its claims
_GAVE_UP = frozenset({StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.DONE, StepStatus.SKIPPED})


@dataclass(frozen=True)
class Entry:
    """One run's DL2 in the cache: its key and the DL2 file (there or not)."""

    run: int
    key: str
    path: Path

    @property
    def made(self) -> bool:
        """True when the entry's DL2 file is there (entries are renamed in whole)."""
        return self.path.is_file()

    @property
    def claim_file(self) -> Path:
        """The entry's claim (``made-by.json``)."""
        return self.path.parent / CLAIM


def cache_root(ctx: Context) -> Path:
    """The site's DL2 cache (``lstchain.dl2_cache``; default ``<spool>/cache/dl2``)."""
    lst = ctx.site.lstchain
    return Path(lst.dl2_cache) if lst.dl2_cache is not None else Path(ctx.site.spool_root) / "cache" / "dl2"


def entries(ctx: Context) -> list[Entry]:
    """The cache entries of the request's runs, in run order."""
    from lappana.dl2_cache import dl2_cache_entry, dl2_cache_key

    lst, root = ctx.site.lstchain, cache_root(ctx)
    found = []
    for run in ctx.runs:
        dl1 = ctx.data_path("dl1", run)
        key = dl2_cache_key(dl1, lstchain_env=lst.env, models_dir=lst.models, config=lst.config)
        found.append(Entry(run, key, dl2_cache_entry(root, key, dl1)))
    return found


def _claim(entry: Entry) -> dict | None:
    try:
        claim = json.loads(entry.claim_file.read_text())
    except (OSError, ValueError):
        return None
    return claim if isinstance(claim, dict) else None


def _mine(ctx: Context, claim: dict | None) -> bool:
    return bool(claim) and claim.get("request") == ctx.state.get("id") and \
        claim.get("spool") == str(ctx.site.spool_root)


def _at_work(claim: dict | None) -> bool:
    """True when the request that wrote ``claim`` is still working on its dl2 step in that attempt."""
    if not claim or not claim.get("request") or not claim.get("spool"):
        return False
    try:
        state = json.loads((Path(claim["spool"]) / "running" / str(claim["request"]) / "state.json").read_text())
    except (OSError, ValueError):
        return False  # not running any more (done, failed, cancelled, gone)
    if int(state.get("attempt", 1)) != int(claim.get("attempt", 0)):
        return False
    return (state.get("steps") or {}).get("dl2", {}).get("status") not in _GAVE_UP


def made_elsewhere(ctx: Context, found: list[Entry]) -> dict[str, list[int]]:
    """The missing entries another request is making now: {its id: [runs]}."""
    others: dict[str, list[int]] = {}
    for entry in found:
        if entry.made:
            continue
        claim = _claim(entry)
        if not _mine(ctx, claim) and _at_work(claim):
            others.setdefault(str(claim["request"]), []).append(entry.run)
    return others


def claim_own(ctx: Context, found: list[Entry]) -> list[Entry]:
    """The entries this attempt makes: those it claimed before, and the missing ones nobody at work claims
    (claimed now). The same answer every time it is asked within one attempt, so a step re-attached after a
    crash plans the tasks it submitted."""
    attempt = int(ctx.state.get("attempt", 1))
    own = []
    for entry in found:
        claim = _claim(entry)
        if _mine(ctx, claim) and int(claim.get("attempt", 0)) == attempt:
            own.append(entry)
        elif not entry.made and not _at_work(claim):
            entry.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(entry.claim_file, json.dumps(
                {"spool": str(ctx.site.spool_root), "request": ctx.state.get("id"), "attempt": attempt,
                 "run": entry.run, "pid": os.getpid()}, indent=1) + "\n")
            own.append(entry)
    return own


def link_wanted(ctx: Context, found: list[Entry]) -> list[Path]:
    """Link the made entries into ``<products>/dl2/`` when the request asks for ``dl2``; return the links."""
    if "dl2" not in ctx.request.products:
        return []
    from lappana.dl2_cache import link_entry_into

    folder = ctx.products / "dl2"
    return [link for entry in found if entry.made for link in link_entry_into(entry.path, folder)]


def waiting_sentence(others: dict[str, list[int]]) -> str:
    """Say which requests the step waits for."""
    parts = [f"request {rid} (run{'s' if len(runs) > 1 else ''} {', '.join(str(r) for r in runs)})"
             for rid, runs in sorted(others.items())]
    return "waiting for " + "; ".join(parts) + ", which is making the same DL2 files"
