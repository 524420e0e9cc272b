"""Claims on work that requests share: a DL2 cache entry, an IRF set made on request.

Before a step submits a task whose product other requests could want too, it writes
a claim (``made-by.json``) where that product will appear: the spool, the request,
its attempt and the step. A second request that finds the product missing and the
claim's maker still at work waits for it instead of submitting the same work again.

Whether a maker is at work is read from that request's own ``state.json`` (in the
claim's spool's ``running/``, same attempt, that step not finished), so claims need
no clean-up: the claim of a request that failed, was cancelled or left is taken over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from spoold.files import write_atomic
from spoold.pipeline.base import Context
from spoold.states import Folder, StepStatus

#: the name of a claim, in the folder of what it claims
CLAIM = "made-by.json"

#: step statuses of a maker that no longer works on its claims
_GAVE_UP = frozenset({StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.DONE, StepStatus.SKIPPED})


def read_claim(folder: Path) -> dict | None:
    """The claim in ``folder``, or None."""
    try:
        claim = json.loads((Path(folder) / CLAIM).read_text())
    except (OSError, ValueError):
        return None
    return claim if isinstance(claim, dict) else None


def mine(ctx: Context, claim: dict | None, *, this_attempt: bool = False) -> bool:
    """True when ``claim`` is this request's (of this attempt, with ``this_attempt``)."""
    if not claim or claim.get("request") != ctx.state.get("id") or claim.get("spool") != str(ctx.site.spool_root):
        return False
    return not this_attempt or int(claim.get("attempt", 0)) == int(ctx.state.get("attempt", 1))


def at_work(claim: dict | None) -> bool:
    """True when the request that wrote ``claim`` still works on that step in that attempt."""
    if not claim or not claim.get("request") or not claim.get("spool") or not claim.get("step"):
        return False
    try:
        state = json.loads((Path(claim["spool"]) / Folder.RUNNING / str(claim["request"]) / "state.json").read_text())
    except (OSError, ValueError):
        return False  # not running any more (done, failed, cancelled, gone)
    if int(state.get("attempt", 1)) != int(claim.get("attempt", 0)):
        return False
    return (state.get("steps") or {}).get(claim["step"], {}).get("status") not in _GAVE_UP


def held_by_another(ctx: Context, folder: Path) -> str | None:
    """The id of another request at work on what ``folder`` claims, else None."""
    claim = read_claim(folder)
    return str(claim["request"]) if not mine(ctx, claim) and at_work(claim) else None


def claim(ctx: Context, folder: Path, step: str, **about) -> None:
    """Write this request's claim (for ``step`` of its current attempt) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / CLAIM, json.dumps(
        {"spool": str(ctx.site.spool_root), "request": ctx.state.get("id"),
         "attempt": int(ctx.state.get("attempt", 1)), "step": step, **about, "pid": os.getpid()}, indent=1) + "\n")


def waiting_sentence(others: dict[str, list], what: str) -> str:
    """Say which requests a step waits for: {request id: [what of it]}."""
    parts = []
    for rid, items in sorted(others.items()):
        parts.append(f"request {rid} ({', '.join(str(i) for i in items)})" if items else f"request {rid}")
    return "waiting for " + "; ".join(parts) + f", which is making {what}"
