"""Process-wide settings for astropy offline, made by the entry points, not by imports.

LST-1's cluster nodes have no internet: astropy must not try to download the IERS-A
table when a coordinate transformation or a time needs Earth orientation. That is a
setting of the whole process, so importing lappana does not make it (a library that
changes its host's astropy configuration on import surprises the host); the entry
points call :func:`offline_astropy` before they work: the ``lappana`` command and the
``*_LP`` names (:mod:`lappana.cli`), ``python -m lappana.simulate.realism``, the
simulator's worker processes (:mod:`lappana.simulate.parallel`) and the test suite.
A program using lappana as a library calls it too when it runs where there is no
network. The DL3 transformations themselves use astropy's bundled IERS-B table
(:mod:`lappana.dl3.iers_cache`) and never need a download.
"""

from astropy.utils import iers

__all__ = ["offline_astropy"]


def offline_astropy() -> None:
    """Keep astropy from trying to download IERS-A tables (no network here or on nodes)."""
    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
