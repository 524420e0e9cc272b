"""Checks of DL2 and DL3 files, with a report a person reads and an exit code a script uses."""

from lappana.checks.dl2 import check_dl2
from lappana.checks.dl3 import check_dl3
from lappana.checks.report import CheckReport

__all__ = ["CheckReport", "check_dl2", "check_dl3"]
