"""Importing lappana leaves astropy's settings alone; its entry points make them offline."""

from __future__ import annotations

import subprocess
import sys

# Every lappana module that works with times or coordinates, and so once set astropy offline on import.
MODULES = ["lappana.checks.dl3", "lappana.dl3.coords", "lappana.dl3.headers", "lappana.dl3.iers_cache",
           "lappana.dl3.irf", "lappana.dl3.make", "lappana.highlevel.dl3files", "lappana.highlevel.skymap",
           "lappana.index", "lappana.simulate.irf", "lappana.simulate.night", "lappana.simulate.observation",
           "lappana.simulate.parallel", "lappana.simulate.realism", "lappana.cli"]

SETTINGS = "from astropy.utils import iers; print(iers.conf.auto_download, iers.conf.auto_max_age)"


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_importing_lappana_does_not_change_astropy_settings():
    before = _python(SETTINGS)
    after = _python("".join(f"import {m}; " for m in MODULES) + SETTINGS)
    assert after == before == "True 30.0"


def test_the_lappana_command_makes_astropy_offline_before_it_works():
    code = ("import contextlib, io, lappana.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    lappana.cli.main(['check-dl2', '/nonexistent'])\n" + SETTINGS)
    assert _python(code) == "False None"

