"""A run given in subrun DL2 files is complete only when each of its subruns is there (issue 17, point 3)."""

from __future__ import annotations

from lappana.checks.subruns import missing_subruns


def _files(run: int, subruns) -> list[str]:
    return [f"/d/dl2_LST-1.Run{run:05d}.{s:04d}.h5" for s in subruns]


def test_every_subrun_there_is_complete_and_whole_run_files_and_other_names_are_not_counted() -> None:
    assert missing_subruns(_files(15864, range(3)) + ["/d/dl2_LST-1.Run15865.h5", "/d/other.h5"], {15864: 3}) == []


def test_the_catalogue_count_names_the_missing_last_subruns() -> None:
    assert missing_subruns(_files(15864, (0, 1)), {15864: 4}) == [
        "Run 15864 is not complete: of its subruns 4 (the run catalogue's n_subruns), the DL2 of 0002, 0003 "
        "are missing."]


def test_without_a_count_a_gap_is_missing_and_a_subrun_past_the_count_is_said() -> None:
    assert missing_subruns(_files(15864, (0, 2))) == [
        "Run 15864 is not complete: of its subruns 0 to 0002, the DL2 of 0001 is missing."]
    assert missing_subruns(_files(15864, range(4)), {15864: 3}) == [
        "Run 15864 has DL2 of subrun 0003, but the run catalogue gives it 3 subruns (0000 to 0002)."]
