"""The vocabulary of a request's life: its states, its steps' statuses and the folder of each.

One copy of what ``state.json``'s ``state`` field, a step's ``status`` and the
spool's state folders may say. The enums are ``str`` enums: a member equals
its text (``RequestState.DONE == "done"``), is written to JSON as that text and
looks up dictionaries keyed by it, so ``state.json`` files of every version
read the same.
"""

from __future__ import annotations

from enum import Enum


class _Text(str, Enum):
    """An enum whose members print as their text (``f"{Folder.DONE}"`` is ``done``)."""

    def __str__(self) -> str:
        return self.value


class Folder(_Text):
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


class RequestState(_Text):
    """What ``state.json``'s ``state`` says."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    HELD = "held"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class StepStatus(_Text):
    """What a step's ``status`` in ``state.json`` says."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"



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
