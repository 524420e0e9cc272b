"""A request's life: its states, its steps' statuses, the folder of each, and the one way to change state.

One copy of what ``state.json``'s ``state`` field, a step's ``status``, the
spool's state folders, the runner's outcomes and the ``spool`` command's actions
may say. The enums are ``str`` enums: a member equals its text
(``RequestState.DONE == "done"``), is written to JSON as that text and looks up
dictionaries keyed by it, so ``state.json`` files of every version read the same.

:data:`TRANSITIONS` says which states a request may go to from each folder, and
:func:`transition` is the one function that changes a request's state. It does
so in the order the crash-safety design requires (docs/spoold.md, "The order of
every transition"): the journal line(s), then ``state.json``, then the folder
move. A daemon killed between any two redoes the rest at start
(:func:`belongs_in` says which move is left) and the journal deduplicates.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple, Protocol


class Text(str, Enum):
    """An enum whose members print as their text (``f"{Folder.DONE}"`` is ``done``)."""

    def __str__(self) -> str:
        return self.value


class Folder(Text):
    """The spool's state folders, in the order a request moves through them."""

    INTAKE = "intake"
    PENDING = "pending"
    RUNNING = "running"
    HOLD = "hold"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CORRUPT = "corrupt"


class RequestState(Text):
    """What ``state.json``'s ``state`` says."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    HELD = "held"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class StepStatus(Text):
    """What a step's ``status`` in ``state.json`` says."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outcome(Text):
    """What advancing a running request by one turn came to (:meth:`spoold.pipeline.runner.Runner.advance`)."""

    RUNNING = "running"  # its tasks run (or are being submitted)
    WAITING = "waiting"  # its input data are not all there yet
    HOLD = "hold"  # a hold was asked for and its next step has not started: hold it now
    DONE = "done"
    FAILED = "failed"


class Action(Text):
    """What the ``spool`` command asks the daemon to do to a request (a file ``control/<id>.<action>``)."""

    CANCEL = "cancel"
    HOLD = "hold"
    RELEASE = "release"
    RETRY = "retry"


#: the folder a request in each state belongs in (waiting requests stay in running/)
FOLDER_OF: dict[RequestState, Folder] = {
    RequestState.PENDING: Folder.PENDING,
    RequestState.RUNNING: Folder.RUNNING,
    RequestState.WAITING: Folder.RUNNING,
    RequestState.HELD: Folder.HOLD,
    RequestState.DONE: Folder.DONE,
    RequestState.FAILED: Folder.FAILED,
    RequestState.REJECTED: Folder.REJECTED,
    RequestState.CANCELLED: Folder.CANCELLED,
}
#: folders whose requests need no more work
TERMINAL_FOLDERS: frozenset[Folder] = frozenset(
    {Folder.DONE, Folder.FAILED, Folder.REJECTED, Folder.CANCELLED, Folder.CORRUPT})
#: folders whose requests are being (or will be) worked on
ACTIVE_FOLDERS: frozenset[Folder] = frozenset({Folder.INTAKE, Folder.PENDING, Folder.RUNNING, Folder.HOLD})
#: step statuses that need no more work
STEP_FINISHED: tuple[StepStatus, ...] = (StepStatus.DONE, StepStatus.SKIPPED)



#: the states a request may be put in from each folder (a folder missing here, or a state missing
#: from its set, is an illegal transition); moving to the state's folder is part of the transition
TRANSITIONS: dict[Folder, frozenset[RequestState]] = {
    # accepted, rejected; failed when handling the claim failed (the guard)
    Folder.INTAKE: frozenset({RequestState.PENDING, RequestState.REJECTED, RequestState.FAILED}),
    # started; held, cancelled; failed by the guard
    Folder.PENDING: frozenset({RequestState.RUNNING, RequestState.HELD, RequestState.CANCELLED,
                               RequestState.FAILED}),
    # waiting for data and back; held between steps; finished; cancelled
    Folder.RUNNING: frozenset({RequestState.RUNNING, RequestState.WAITING, RequestState.HELD, RequestState.DONE,
                               RequestState.FAILED, RequestState.CANCELLED}),
    # released to where it was held from; cancelled; failed by the guard
    Folder.HOLD: frozenset({RequestState.PENDING, RequestState.RUNNING, RequestState.CANCELLED,
                            RequestState.FAILED}),
    # spool retry
    Folder.FAILED: frozenset({RequestState.PENDING}),
    Folder.CANCELLED: frozenset({RequestState.PENDING}),
}


#: the folders each of the ``spool`` command's actions applies in (elsewhere it is refused with a sentence;
#: a hold of a running request whose step is handed out waits until that step ends)
ACTS_ON: dict[Action, frozenset[Folder]] = {
    Action.CANCEL: frozenset({Folder.PENDING, Folder.RUNNING, Folder.HOLD}),
    Action.HOLD: frozenset({Folder.PENDING, Folder.RUNNING}),
    Action.RELEASE: frozenset({Folder.HOLD}),
    Action.RETRY: frozenset({Folder.FAILED, Folder.CANCELLED}),
}


class IllegalTransition(ValueError):
    """A change of state that :data:`TRANSITIONS` does not allow; the message is a sentence."""


class Line(NamedTuple):
    """One journal line of a transition: the event, the step it is about and a detail."""

    event: str
    step: str | None = None
    detail: str = ""


class Records(Protocol):
    """What :func:`transition` writes through: the journal, ``state.json`` and the spool's folders."""

    def journal(self, folder: Path, state: dict, line: Line, *, durable: bool) -> None:
        """Append ``line`` to the request's journal (at most once per event, step and attempt)."""

    def save(self, folder: Path, state: dict, *, sync_dir: bool, durable: bool, in_place: bool) -> None:
        """Write ``state.json`` atomically."""

    def move(self, request_id: str, src: str, dst: str, *, durable: bool) -> Path:
        """Move the request's folder from state folder ``src`` to ``dst``; return its new path."""


def check(where: str, to: RequestState) -> None:
    """Raise :class:`IllegalTransition` unless a request in folder ``where`` may be put in state ``to``."""
    try:
        folder = Folder(where)
    except ValueError:
        raise IllegalTransition(f"A request in {where!r} is in no state folder, so it cannot be made {to}.") from None
    allowed = TRANSITIONS.get(folder, frozenset())
    if to not in allowed:
        if not allowed:
            raise IllegalTransition(f"A request in {folder}/ is finished: it cannot be made {to}.")
        raise IllegalTransition(f"A request in {folder}/ cannot be made {to}: it can only be made "
                                f"{' or '.join(sorted(allowed))}.")


def transition(records: Records, folder: Path, state: dict[str, Any], to: RequestState, *lines: Line,
               moves: list[tuple[str, Folder]] | None = None, durable: bool = True, sync_dir: bool = True,
               in_place: bool = False, **fields: Any) -> Path:
    """Put the request in ``folder`` in state ``to``: journal, then ``state.json``, then the folder move.

    Parameters
    ----------
    records : Records
        Where the journal, ``state.json`` and the folders are written.
    folder : Path
        The request's folder, in its state folder (``<spool>/<where>/<id>``).
    state : dict
        Its ``state.json``; ``state`` and ``fields`` are set in it before anything is written.
    to : RequestState
        The new state; the request moves to its folder (:data:`FOLDER_OF`).
    *lines : Line
        The journal lines of the change, written first, in order.
    moves : list, optional
        A batch's moves (group commit): the move is appended as ``(id, folder)`` for the
        caller to make once the batch is flushed, instead of made here.
    durable, sync_dir, in_place : bool
        How the journal and ``state.json`` are written (see :func:`spoold.state.save`).
    **fields
        Other fields of ``state.json`` set with the state.

    Returns
    -------
    Path
        Where the request's folder is afterwards.

    Raises
    ------
    IllegalTransition
        When :data:`TRANSITIONS` does not allow ``to`` from the folder it is in; nothing is written.
    """
    where = folder.parent.name
    check(where, to)
    state.update(fields)
    state["state"] = to
    for line in lines:
        records.journal(folder, state, line, durable=durable)
    records.save(folder, state, sync_dir=sync_dir, durable=durable, in_place=in_place)
    target = FOLDER_OF[to]
    if target == where:
        return folder
    if moves is not None:
        moves.append((folder.name, target))
        return folder.parent.parent / target / folder.name
    return records.move(folder.name, where, target, durable=durable)


def belongs_in(where: str, state: dict[str, Any]) -> Folder | None:
    """The folder a request in ``where`` still has to be moved to, or None when it is where it belongs.

    A transition cut short after its ``state.json`` was written left the folder
    behind. In ``intake`` only an accepted (pending) or rejected request is moved
    on; anything else there is validated again. A running request whose state
    says pending is left in running (it resolves its runs again).
    """
    target = FOLDER_OF.get(state.get("state", ""))
    if where == Folder.INTAKE:
        if (target == Folder.PENDING and state.get("accepted")) or target == Folder.REJECTED:
            return target
        return None
    if target is None or target == where or (where == Folder.RUNNING and state.get("state") == RequestState.PENDING):
        return None
    return target
