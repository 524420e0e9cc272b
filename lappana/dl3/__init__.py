"""DL2 → DL3 natively: lstchain's selection, cuts and effective time; GADF files gammapy reads.

The entry point is :func:`lappana.dl3.make.make_dl3`; the pieces are
:mod:`~lappana.dl3.selection`, :mod:`~lappana.dl3.efftime`, :mod:`~lappana.dl3.coords`,
:mod:`~lappana.dl3.irf`, :mod:`~lappana.dl3.headers` and :mod:`~lappana.dl3.writer`.
"""

from lappana.dl3.make import make_dl3
from lappana.dl3.runfiles import group_runs

__all__ = ["make_dl3", "group_runs"]
