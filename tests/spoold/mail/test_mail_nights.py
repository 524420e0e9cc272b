"""A reply about a request over several nights names them (state.json's resolved nights)."""

from __future__ import annotations

from pathlib import Path

from spoold.mail.bodies import _request_lines
from spoold.mail.folder import Folder


def test_the_request_lines_name_every_night_resolved():
    state = {"request": {"source": "Crab Nebula", "night": None, "runs": None},
             "nights": ["20261121", "20261122", "20261123"]}
    lines = _request_lines(Folder(Path("/spool/done/r-1"), "r-1", state, None))
    assert "  Nights:    2026-11-21, 2026-11-22, 2026-11-23" in lines
    assert "  Runs:      every run of the source those nights" in lines


def test_one_night_is_said_as_before():
    state = {"request": {"source": "Crab Nebula", "night": "2023-12-07", "runs": [15864]}, "nights": ["20231207"]}
    lines = _request_lines(Folder(Path("/spool/done/r-2"), "r-2", state, None))
    assert "  Night:     2023-12-07" in lines and "  Runs:      15864" in lines
