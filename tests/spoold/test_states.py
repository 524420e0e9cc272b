"""spoold/states.py: one vocabulary for the states, the step statuses and the folders; one way to change state."""

import ast
import json
from pathlib import Path

import pytest

from spoold import events, state as st
from spoold.events import Event
from spoold.spool import ACTIVE, STATE_DIRS, TERMINAL, Spool
from spoold.states import (ACTIVE_FOLDERS, ACTS_ON, FOLDER_OF, TERMINAL_FOLDERS, TRANSITIONS, Action, Folder,
                           IllegalTransition, Line, RequestState, StepStatus, belongs_in, transition)


def test_every_request_state_has_a_folder_and_the_spool_has_every_folder():
    assert set(FOLDER_OF) == set(RequestState)
    assert {folder.value for folder in FOLDER_OF.values()} <= set(STATE_DIRS)
    assert set(STATE_DIRS) == {folder.value for folder in Folder}
    assert TERMINAL | ACTIVE == set(STATE_DIRS) and not TERMINAL & ACTIVE
    assert set(st.STATES) == {state.value for state in RequestState}


def test_members_read_and_write_as_their_text():
    assert RequestState.DONE == "done" and f"{Folder.HOLD}" == "hold" and str(StepStatus.SKIPPED) == "skipped"
    assert json.loads(json.dumps({"state": RequestState.WAITING})) == {"state": "waiting"}
    assert FOLDER_OF["waiting"] is Folder.RUNNING  # state.json's text looks the table up


# -- the legal transitions and the order of their writes ------------------------------------------------

class _Recorder:
    """Records (spoold.states.Records) that do each write for real and note its order."""

    def __init__(self, spool_root: Path) -> None:
        self.root = spool_root
        self.order: list[str] = []

    def journal(self, folder: Path, state: dict, line: Line, *, durable: bool) -> None:
        self.order.append(f"journal {line.event}")
        events.append_once(folder, events.make(line.event, step=line.step, detail=line.detail,
                                               attempt=int(state.get("attempt", 1))), durable=durable)

    def save(self, folder: Path, state: dict, *, sync_dir: bool, durable: bool, in_place: bool) -> None:
        self.order.append(f"save {state['state']}")
        st.save(folder, state, sync_dir=sync_dir, durable=durable, in_place=in_place)

    def move(self, request_id: str, src: str, dst: str, *, durable: bool) -> Path:
        self.order.append(f"move {src}->{dst}")
        return Spool(self.root).move(request_id, src, dst, durable=durable)


def _request_in(tmp_path: Path, where: Folder, state: RequestState) -> tuple[_Recorder, Path, dict]:
    spool = Spool(tmp_path / "spool")
    spool.init()
    folder = spool.dir(where) / "20231208-101500-crab-4f2a"
    folder.mkdir()
    record = st.new_state(folder.name, state=state)
    st.save(folder, record)
    return _Recorder(spool.root), folder, record


def test_a_transition_journals_then_writes_state_json_then_moves_the_folder(tmp_path):
    records, folder, state = _request_in(tmp_path, Folder.RUNNING, RequestState.RUNNING)
    moved = transition(records, folder, state, RequestState.CANCELLED, Line(Event.CANCELLED, "dl2", "by hand"),
                       error=None)
    assert records.order == ["journal cancelled", "save cancelled", "move running->cancelled"]
    assert moved == records.root / "cancelled" / folder.name and moved.is_dir() and not folder.exists()
    assert st.load(moved)["state"] == "cancelled"
    assert [e["event"] for e in events.read(moved)] == ["cancelled"]


def test_a_change_of_state_within_a_folder_moves_nothing(tmp_path):
    records, folder, state = _request_in(tmp_path, Folder.RUNNING, RequestState.RUNNING)
    assert transition(records, folder, state, RequestState.WAITING) == folder
    assert records.order == ["save waiting"]


def test_an_illegal_transition_is_refused_with_a_sentence_and_nothing_is_written(tmp_path):
    records, folder, state = _request_in(tmp_path, Folder.DONE, RequestState.DONE)
    with pytest.raises(IllegalTransition, match=r"^A request in done/ is finished: it cannot be made pending\.$"):
        transition(records, folder, state, RequestState.PENDING, Line(Event.RETRIED))
    records, folder, state = _request_in(tmp_path / "b", Folder.PENDING, RequestState.PENDING)
    with pytest.raises(IllegalTransition, match=r"^A request in pending/ cannot be made done: it can only be made "
                                                r"cancelled or failed or held or running\.$"):
        transition(records, folder, state, RequestState.DONE)
    assert records.order == [] and st.load(folder)["state"] == "pending" and folder.is_dir()


def test_every_transition_leads_to_a_state_folder_and_every_action_to_a_legal_transition():
    assert set(TRANSITIONS) == ACTIVE_FOLDERS | {Folder.FAILED, Folder.CANCELLED}
    assert all(TRANSITIONS.get(folder, frozenset()) == frozenset() for folder in TERMINAL_FOLDERS
               if folder not in (Folder.FAILED, Folder.CANCELLED))
    goes_to = {Action.CANCEL: RequestState.CANCELLED, Action.HOLD: RequestState.HELD,
               Action.RELEASE: RequestState.PENDING, Action.RETRY: RequestState.PENDING}
    for action, folders in ACTS_ON.items():
        for folder in folders:
            assert goes_to[action] in TRANSITIONS[folder], (action, folder)


def test_what_is_left_of_a_transition_cut_short_is_the_move():
    assert belongs_in(Folder.RUNNING, {"state": "done"}) is Folder.DONE
    assert belongs_in(Folder.HOLD, {"state": "pending"}) is Folder.PENDING
    assert belongs_in(Folder.RUNNING, {"state": "waiting"}) is None
    assert belongs_in(Folder.RUNNING, {"state": "pending"}) is None  # it resolves its runs again
    assert belongs_in(Folder.INTAKE, {"state": "pending", "accepted": "2023-12-08T10:15:00+00:00"}) is Folder.PENDING
    assert belongs_in(Folder.INTAKE, {"state": "pending", "accepted": None}) is None  # validated again
    assert belongs_in(Folder.INTAKE, {"state": "rejected"}) is Folder.REJECTED


# -- nothing else names a state by its string -----------------------------------------------------------

#: the words of the request states, step statuses and state folders
WORDS = frozenset(word.value for vocabulary in (RequestState, StepStatus, Folder) for word in vocabulary)
#: state.json fields that are spelled like one of the words (``state["waiting"]`` is the wait's record)
FIELDS = frozenset({"waiting"})
SPOOLD = Path(__file__).resolve().parents[2] / "spoold"


def _allowed(tree: ast.AST) -> set[int]:
    """ids of the string constants that are no state literal: docstrings, enum members, field names."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(node, (ast.Module, ast.ClassDef,
                                                                                   ast.FunctionDef,
                                                                                   ast.AsyncFunctionDef)):
            allowed.add(id(body[0].value))
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base).endswith(("Enum", "Text")) for base in node.bases):
            allowed |= {id(s.value) for s in node.body if isinstance(s, ast.Assign)}  # the members' own text
        keys: list[ast.AST] = []
        if isinstance(node, ast.Subscript):
            keys.append(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "setdefault", "pop") and node.args:
            keys.append(node.args[0])
        elif isinstance(node, ast.Dict):
            keys += [key for key in node.keys if key is not None]
        allowed |= {id(k) for k in keys if isinstance(k, ast.Constant) and k.value in FIELDS}
    return allowed


def test_no_module_but_spoold_states_names_a_state_by_its_string():
    found = []
    for path in sorted(SPOOLD.rglob("*.py")):
        if path == SPOOLD / "states.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = _allowed(tree)
        found += [f"{path.relative_to(SPOOLD.parent)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS
                  and id(node) not in allowed]
    assert not found, ("state, step-status or folder words spelled as strings (use spoold.states):\n"
                       + "\n".join(found))
