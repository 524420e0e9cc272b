"""spoold/states.py: one vocabulary for the states, the step statuses and the folders."""

import json

from spoold import state as st
from spoold.spool import ACTIVE, STATE_DIRS, TERMINAL
from spoold.states import FOLDER_OF, Folder, RequestState, StepStatus


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
