"""The request as the daemon uses it: frozen dataclasses built from validated values."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lappana.paths import irf_set_name
from spoold.executors.resources import Resources

__all__ = ["Cuts", "SlurmOverrides", "Request", "RequestRejected", "DEFAULT_PRODUCTS", "PRODUCTS"]

#: Every product a request may ask for, in pipeline order.
PRODUCTS = ("dl2", "dl3", "theta2", "skymap", "diagnostics", "spectrum", "lightcurve", "report")
#: Products made when a request does not say.
DEFAULT_PRODUCTS = ("dl3", "theta2", "skymap", "diagnostics", "report")


class RequestRejected(Exception):
    """A request that cannot be run; ``errors`` holds one sentence per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class Cuts:
    """The event selection: efficiency cuts or a global cut (one pair is set)."""

    gh_efficiency: float | None = None
    theta_containment: float | None = None
    gh_cut: float | None = None
    theta_cut_deg: float | None = None

    @property
    def kind(self) -> Literal["efficiency", "global"]:
        """``"efficiency"`` (energy-dependent cuts from the IRF) or ``"global"``."""
        return "global" if self.gh_cut is not None else "efficiency"

    @property
    def irf_set_name(self) -> str:
        """The folder name of the IRF set these cuts choose (under ``site.irf_root``)."""
        return irf_set_name(
            gh_cut=self.gh_cut,
            theta_cut_deg=self.theta_cut_deg,
            gh_efficiency=self.gh_efficiency,
            theta_containment=self.theta_containment,
        )

    def as_dict(self) -> dict[str, float]:
        """The pair that is set, as in the request."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ResolvedSource:
    """The source of a request with its coordinates and every name it goes by."""

    name: str
    ra_deg: float
    dec_deg: float
    names: tuple[str, ...]


#: A request's own Slurm resources (None, or empty, means the site's value): the executors' one copy.
SlurmOverrides = Resources


@dataclass(frozen=True)
class Request:
    """A valid request.

    Attributes
    ----------
    source_name : str
        The catalogue's name of the source when it knows it, else the name given.
    ra_deg, dec_deg : float
        ICRS coordinates of the source in degrees (given, or from the catalogue).
    night : datetime.date or None
        The night (its evening's date) of a one-night request (``night:``); None with ``nights:``.
    nights : tuple of datetime.date
        Every night the request covers, in order: ``(night,)``, the ``nights`` listed, or every
        night of a ``nights: {from, to}`` range; empty when only ``runs`` are given.
    nights_range : bool
        True when the nights are a ``{from, to}`` range: a past night of the range without runs
        of the source is skipped (a listed night must have some).
    runs : tuple of int or None
        The runs asked for; None means every run of the source that night.
    start_from : {"dl1", "dl2"}
    cuts : Cuts
    products : tuple of str
        A subset of :data:`PRODUCTS`, in pipeline order.
    notify : tuple of str
        Email addresses.
    slurm : SlurmOverrides
    output : Path or None
        Where the products go, inside one of the site's write roots; None: the request folder.
    energy_range : (float or None, float or None)
        Reconstructed energy band in TeV (``min``, ``max``); None: from the safe threshold up.
    irf : {"interpolate", "nearest"}
        How each run's IRF is made from the IRF set's nodes: interpolated (lstchain's
        default) or the nearest node (``--irf-nearest``).
    lightcurve_bin : str
        Bins of the light curve: ``run``, ``night`` or a livetime like ``20 min``.
    standing_order : str or None
        The standing order that made the request (``spool/standing/<name>.yaml``), or None.
    live : bool
        True for the one-run request of a live standing order (docs/standing.md).
    lstchain : str or None
        The site's lstchain version that makes the DL2 from DL1 (``"0.10"``); None: the site's default
        (:meth:`spoold.site.Site.for_lstchain`).
    raw : dict
        The values as written (after YAML reading).
    """

    source_name: str
    ra_deg: float
    dec_deg: float
    night: _dt.date | None
    runs: tuple[int, ...] | None
    start_from: Literal["dl1", "dl2"]
    cuts: Cuts
    products: tuple[str, ...]
    notify: tuple[str, ...]
    slurm: SlurmOverrides
    output: Path | None = None
    energy_range: tuple[float | None, float | None] | None = None
    irf: Literal["interpolate", "nearest"] = "interpolate"
    lightcurve_bin: str = "20 min"
    lstchain: str | None = None
    standing_order: str | None = None
    live: bool = False
    nights: tuple[_dt.date, ...] = ()
    nights_range: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def irf_set_name(self) -> str:
        """The IRF set folder name chosen by the cuts."""
        return self.cuts.irf_set_name
