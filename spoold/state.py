"""``state.json``: the whole truth about one request.

Written only by the daemon (and by the ``spool`` command while it holds the
daemon's lock), always atomically. Shape::

    {
      "id": "20231208-101500-crab-4f2a",
      "state": "running",            # pending|running|waiting|held|done|failed|rejected|cancelled
      "step": "dl2",                 # the step being worked on (or the last one)
      "attempt": 1,                  # +1 per spool retry
      "submitter": "alice", "origin": "file" | "email",
      "claimed_at": 1701.., "accepted": "...", "updated": "...",
      "request": {"source": ..., "night": ..., "runs": [...], "start_from": ..., "products": [...]},
      "runs": [15864, ...],          # resolved by the resolve step
      "waiting": {"missing": [...], "reasons": {path: why}, "until": "...", "since": "..."} | null,
      "steps": {
        "dl2": {"status": "pending|submitted|done|skipped|failed|cancelled",
                "attempt": 1, "note": "...", "started": "...", "finished": "...",
                "handle": {...executor handle...},
                "tasks": {"0": {"label": "run 15864", "state": "running",
                                "job_id": "123_0", "exit_code": null, "detail": "",
                                "log": "logs/dl2/run15864.log",
                                "started": "...", "finished": "..."}}}   # when the daemon first saw it so
      },
      "history": [{"attempt": 1, "state": "failed", "step": "dl2", "error": "...", "time": "..."}],
      "error": null | "sentence",
      "held_from": null | "pending" | "running"
    }
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from spoold import states
from spoold.executors.base import TaskState
from spoold.files import read_json, write_json
from spoold.spool import now_utc
from spoold.states import Line, RequestState, StepStatus

STATE_FILE = "state.json"

#: what the ``state`` field may say (see spoold.states)
STATES: tuple[str, ...] = tuple(state.value for state in RequestState)
#: step statuses that need no more work
STEP_FINISHED: tuple[str, ...] = tuple(status.value for status in states.STEP_FINISHED)


now_iso = now_utc


def new_state(request_id: str, **fields: Any) -> dict[str, Any]:
    """Return the state of a request that was just claimed."""
    state: dict[str, Any] = {
        "id": request_id,
        "state": RequestState.PENDING.value,
        "step": None,
        "attempt": 1,
        "submitter": None,
        "origin": "file",
        "claimed_at": None,
        "accepted": None,
        "updated": now_iso(),
        "request": {},
        "runs": [],
        "waiting": None,
        "steps": {},
        "history": [],
        "error": None,
        "held_from": None,
    }
    state.update(fields)
    return state


def load(folder: Path) -> dict[str, Any] | None:
    """Return a request's state, or None when it has none or it is unreadable."""
    try:
        data = read_json(Path(folder) / STATE_FILE)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_checked(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Return (state, None), or (None, a sentence) when a request folder's state cannot be trusted.

    For folders in pending/, running/ and hold/, which always have a complete
    ``state.json`` (it is written atomically before a folder gets there): one
    that is missing, unreadable, not JSON or not this request's means the folder
    was damaged from outside.
    """
    path = Path(folder) / STATE_FILE
    try:
        data = read_json(path)
    except FileNotFoundError:
        return None, (f"{STATE_FILE} is missing (the folder was removed or changed by hand while the daemon "
                      "worked on it), so what was done for this request is not known.")
    except PermissionError:
        return None, f"{STATE_FILE} cannot be read (permission denied)."
    except OSError as error:
        return None, f"{STATE_FILE} cannot be read ({error.strerror})."
    except ValueError as error:
        return None, f"{STATE_FILE} is not valid JSON ({error}); it was truncated or overwritten."
    if not isinstance(data, dict) or not isinstance(data.get("steps", {}), dict):
        return None, f"{STATE_FILE} does not hold a request's state."
    if data.get("id") not in (None, Path(folder).name):
        return None, f"{STATE_FILE} belongs to another request ({data.get('id')!r})."
    return data, None


def save(folder: Path, state: dict[str, Any], *, sync_dir: bool = True, durable: bool = True,
         in_place: bool = False) -> None:
    """Write a request's state atomically (stamping ``updated``).

    ``sync_dir=False`` when the folder is moved (and the move synced) right after;
    ``in_place=True`` only while the folder is in intake (see :func:`spoold.files.write_in_place`).
    """
    state["updated"] = now_iso()
    write_json(Path(folder) / STATE_FILE, state, sync_dir=sync_dir, durable=durable, in_place=in_place)


def step(state: dict[str, Any], name: str) -> dict[str, Any]:
    """Return (creating) the record of one step for the current attempt."""
    steps = state.setdefault("steps", {})
    record = steps.get(name)
    if record is None or record.get("attempt") != state.get("attempt", 1):
        record = {
            "status": StepStatus.PENDING.value,
            "attempt": state.get("attempt", 1),
            "note": "",
            "started": None,
            "finished": None,
            "handle": None,
            "tasks": {},
        }
        steps[name] = record
    return record


def progress(state: dict[str, Any]) -> str:
    """Return a short progress figure of the current step: ``"2/3 runs"``, ``"waiting"``."""
    if state.get("state") == RequestState.WAITING:
        missing = (state.get("waiting") or {}).get("missing") or []
        return f"waiting for {len(missing)} file(s)"
    name = state.get("step")
    record = (state.get("steps") or {}).get(name or "")
    if not record or not record.get("tasks"):
        return ""
    tasks = record["tasks"].values()
    finished = sum(1 for t in tasks if t.get("state") == TaskState.SUCCEEDED)
    running = sum(1 for t in tasks if t.get("state") == TaskState.RUNNING)
    failed = sum(1 for t in tasks if t.get("state") in (TaskState.FAILED, TaskState.LOST, TaskState.CANCELLED))
    text = f"{finished}/{len(record['tasks'])} done"
    if running:
        text += f", {running} running"
    if failed:
        text += f", {failed} failed"
    return text


class Records:
    """The writes of a transition (:class:`spoold.states.Records`): the journal, ``state.json``, the move.

    Parameters
    ----------
    spool : Spool
        Whose folders the request moves between.
    emit : callable
        ``emit(folder, state, event, step=, detail=, durable=)``: journals an event
        (at most once per event, step and attempt) and tells whoever listens (the daemon's).
    """

    def __init__(self, spool: Any, emit: Callable[..., None]) -> None:
        self.spool = spool
        self.emit = emit

    def journal(self, folder: Path, state: dict, line: Line, *, durable: bool) -> None:
        """Journal one line of a transition."""
        self.emit(folder, state, line.event, step=line.step, detail=line.detail, durable=durable)

    def save(self, folder: Path, state: dict, *, sync_dir: bool, durable: bool, in_place: bool) -> None:
        """Write ``state.json`` (see :func:`save`)."""
        save(folder, state, sync_dir=sync_dir, durable=durable, in_place=in_place)

    def move(self, request_id: str, src: str, dst: str, *, durable: bool) -> Path:
        """Move the request's folder (see :meth:`spoold.spool.Spool.move`)."""
        return self.spool.move(request_id, src, dst, durable=durable)
