"""lappana: LST-1 runs from DL1 to DL3 and the high-level results of one source.

lappana is the analysis half of astran. It reads and writes lstchain's file
formats, runs the real ``lstchain_dl1_to_dl2`` for DL1 to DL2, makes GADF DL3
natively with numpy and astropy, indexes DL3 folders for gammapy, checks files,
computes theta², Li & Ma significance, sky maps and run diagnostics, and
simulates LST-1-like nights for demos and tests.

lappana never imports spoold: an analyst can use it alone, from Python or from
its commands (``lappana --help``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("astran")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
