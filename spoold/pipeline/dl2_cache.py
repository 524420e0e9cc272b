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

A claim (:mod:`spoold.pipeline.claims`) is ``made-by.json`` in the entry's folder,
written before the task is submitted and kept afterwards (it says which request
made the entry).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spoold.pipeline import claims
from spoold.pipeline.base import Context


@dataclass(frozen=True)
class Entry:
    """The DL2 of one run, or of one subrun of a run taken in subruns, in the cache: its key and the DL2 file
    (there or not)."""

    run: int
    key: str
    path: Path
    subrun: int | None = None

    @property
    def label(self) -> str:
        """What its task is called: ``run15864``, or ``run15864.0003`` for a subrun."""
        return f"run{self.run:05d}" + ("" if self.subrun is None else f".{self.subrun:04d}")

    @property
    def made(self) -> bool:
        """True when the entry's DL2 file is there (entries are renamed in whole)."""
        return self.path.is_file()

    @property
    def claim_file(self) -> Path:
        """The entry's claim (``made-by.json``)."""
        return self.path.parent / claims.CLAIM


def cache_root(ctx: Context) -> Path:
    """The site's DL2 cache (``lstchain.dl2_cache``; default ``<spool>/cache/dl2``)."""
    lst = ctx.site.lstchain
    return Path(lst.dl2_cache) if lst.dl2_cache is not None else Path(ctx.site.spool_root) / "cache" / "dl2"


def entries(ctx: Context) -> list[Entry]:
    """The cache entries of the request's runs, in run order (a run taken in subruns: one per subrun, in order)."""
    from lappana.dl2_cache import dl2_cache_entry, dl2_cache_key

    lst, root = ctx.site.lstchain, cache_root(ctx)
    found = []
    for run in ctx.runs:
        in_subruns = ctx.subruns_of(run) is not None
        for index, dl1 in enumerate(ctx.dl1_files(run)):
            key = dl2_cache_key(dl1, lstchain_env=lst.env, models_dir=lst.models, config=lst.config)
            found.append(Entry(run, key, dl2_cache_entry(root, key, dl1), index if in_subruns else None))
    return found


def by_run(found: list[Entry]) -> dict[int, list[Entry]]:
    """The entries of each run, in order: {run: [entry, ...]}."""
    runs: dict[int, list[Entry]] = {}
    for entry in found:
        runs.setdefault(entry.run, []).append(entry)
    return runs


def made_elsewhere(ctx: Context, found: list[Entry]) -> dict[str, list[int]]:
    """The missing entries another request is making now: {its id: [runs]}."""
    others: dict[str, list[int]] = {}
    for entry in found:
        maker = None if entry.made else claims.held_by_another(ctx, entry.path.parent)
        if maker:
            others.setdefault(maker, []).append(entry.run)
    return others


def claim_own(ctx: Context, found: list[Entry]) -> list[Entry]:
    """The entries this attempt makes: those it claimed before, and the missing ones nobody at work claims
    (claimed now). The same answer every time it is asked within one attempt, so a step re-attached after a
    crash plans the tasks it submitted."""
    own = []
    for entry in found:
        claim = claims.read_claim(entry.path.parent)
        if claims.mine(ctx, claim, this_attempt=True):
            own.append(entry)
        elif not entry.made and not claims.at_work(claim):
            claims.claim(ctx, entry.path.parent, "dl2", run=entry.run)
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
    return claims.waiting_sentence(
        {rid: [f"run{'s' if len(runs) > 1 else ''} {', '.join(str(r) for r in runs)}"] for rid, runs in others.items()},
        "the same DL2 files")
