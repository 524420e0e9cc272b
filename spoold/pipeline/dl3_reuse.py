"""The DL3 a live standing order already made, for its night's request to stack instead of making again.

A live order (docs/standing.md) takes each run through DL2 and DL3 in a request of its own while the night
goes on (``<night>-000000-<order>-run<run>-<hash>``, :func:`spoold.standing.ledger.request_id_for`). When the
night is complete the order makes the night's request as for any order; its dl3 step links each run's DL3
from that run's request when the run's request is done and was asked with the same DL3 inputs (source and
position, ``start_from``, cuts, IRF method and lstchain), and makes only the others; while one of those run's requests is still at work (incoming to running, or held)
the night's dl3 step waits for it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from lappana.paths import run_file_name
from spoold import state as st
from spoold.pipeline.base import Context
from spoold.spool import Spool
from spoold.states import Folder
from spoold.standing import ledger

__all__ = ["DL3_INPUTS", "link_live_dl3", "live_at_work", "live_dl3"]

#: the state folders of a live request that may still make its DL3
AT_WORK = ("incoming", Folder.INTAKE, Folder.PENDING, Folder.RUNNING, Folder.HOLD)

#: what a request's DL3 depends on, as ``state.json`` shows the request (besides its runs)
DL3_INPUTS = ("source", "ra_deg", "dec_deg", "start_from", "cuts", "irf_set", "irf", "lstchain")


def _live_request(ctx: Context, run: int) -> tuple[str, Path] | None:
    """(state folder, path) of ``run``'s live request of the same order, or None (also for a request that is
    not a night's request of a standing order)."""
    request = ctx.request
    night = ctx.night_of_run(run)
    if not request.standing_order or request.live or not night:
        return None
    day = _dt.date(int(night[:4]), int(night[4:6]), int(night[6:]))
    rid = ledger.request_id_for(request.standing_order, day, request.source_name, run)
    spool = Spool(ctx.site.spool_root)
    if (spool.dir("incoming") / f"{rid}.yaml").exists():
        return "incoming", spool.dir("incoming") / f"{rid}.yaml"
    return spool.find(rid)


def live_at_work(ctx: Context) -> dict[str, list[int]]:
    """The live requests of this night's runs that may still make their DL3: {id: [run]}."""
    found = {}
    for run in ctx.runs:
        where = _live_request(ctx, run)
        if where is not None and where[0] in AT_WORK:
            found[where[1].name.removesuffix(".yaml")] = [run]
    return found


def live_dl3(ctx: Context, run: int) -> Path | None:
    """The DL3 file of ``run`` made by the live request of the same order, or None.

    None unless the request is a night's request of a standing order, the run's live request is in
    ``done/`` and its DL3 inputs are the same as this request's.
    """
    found = _live_request(ctx, run)
    if found is None or found[0] != Folder.DONE:
        return None
    state = st.load(found[1]) or {}
    theirs, ours = state.get("request") or {}, ctx.state.get("request") or {}
    if any(theirs.get(key) != ours.get(key) for key in DL3_INPUTS):
        return None
    path = Path(state.get("products") or found[1]) / "dl3" / run_file_name("dl3", run)
    return path if path.is_file() and path.stat().st_size > 0 else None


def link_live_dl3(ctx: Context, run: int) -> bool:
    """Link ``run``'s DL3 from its live request into ``<products>/dl3/`` (replacing what is there); True when
    there is one to link (then the dl3 step plans no task for the run)."""
    from lappana.dl2_cache import link_into

    made = live_dl3(ctx, run)
    if made is None:
        return False
    link_into(made, ctx.products / "dl3")
    return True
