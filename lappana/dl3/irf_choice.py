"""Which IRF nodes a run's DL3 takes, and with which weights: lstchain 0.12.3's rule.

``lstchain_create_dl3_file`` (``lstchain.high_level.interpolate.check_in_delaunay_triangle``)
places every IRF node and the run in the plane (cos ZEN_PNT, sin B_DELTA) and builds
the Delaunay triangulation of the nodes (scipy):

- the run inside a triangle: the three nodes of that triangle are interpolated, with
  weights the run's barycentric coordinates in it (scipy's ``griddata`` linear, which
  pyirf uses, is exactly that weighted sum);
- the run outside every triangle, or nodes that span no triangle (fewer than 3, or on
  a line), or ``--use-nearest-irf-node``: the nearest node (Euclidean distance in that
  plane), used unchanged. lstchain does not extrapolate (pyirf would refuse), and
  neither does lappana: outside the grid the nearest node is the IRF least far from
  the run, and the choice says so in a sentence;
- nodes that coincide in the plane (to 3 decimals) are told apart by the nearest
  azimuth ``AZ_PNT``, compared in radians without wrapping, as lstchain does.

The run's point is its mean zenith, azimuth and geomagnetic angle rounded to 5
decimals of a degree, as lstchain rounds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lappana.irf_method import IRF_INTERPOLATE as INTERPOLATE, IRF_METHODS, IRF_NEAREST as NEAREST
from lappana.dl3.irf import IrfNode

__all__ = ["IrfChoice", "INTERPOLATE", "NEAREST", "IRF_METHODS", "choose_irf", "nearest_node"]


@dataclass(frozen=True)
class IrfChoice:
    """The IRF nodes a run takes and how they are combined.

    Attributes
    ----------
    nodes : tuple of IrfNode
        One node (used unchanged) or the three nodes of the triangle holding the run.
    weights : tuple of float
        Each node's weight (barycentric coordinates; ``(1.0,)`` for one node).
    zenith_deg, azimuth_deg, b_delta_deg : float
        The run's point, rounded as lstchain rounds it.
    reason : str
        One sentence saying why these nodes, for the log and the summary.
    """

    nodes: tuple[IrfNode, ...]
    weights: tuple[float, ...]
    zenith_deg: float
    azimuth_deg: float
    b_delta_deg: float
    reason: str

    @property
    def interpolated(self) -> bool:
        """True when several nodes are combined."""
        return len(self.nodes) > 1

    def describe(self) -> str:
        """The nodes and weights in one line."""
        return ", ".join(f"{n.path.name} ({w:.4f})" for n, w in zip(self.nodes, self.weights))


def _plane(zenith_deg, b_delta_deg) -> np.ndarray:
    return np.column_stack([np.cos(np.radians(zenith_deg)), np.sin(np.radians(b_delta_deg))])


def _nearest_azimuth(points: np.ndarray, index: int, azimuths_deg: np.ndarray, azimuth_deg: float) -> int:
    """Among nodes at the same point as ``index`` (3 decimals), the one nearest in azimuth (lstchain's)."""
    short = np.around(points, 3)
    same = np.flatnonzero((short == short[index]).all(axis=1))
    if same.size == 1:
        return index
    gap = np.abs(np.radians(azimuths_deg[same]) - np.radians(azimuth_deg))
    return int(same[np.flatnonzero(gap == gap.min())[0]])


def _nearest(points: np.ndarray, target: np.ndarray, azimuths_deg: np.ndarray, azimuth_deg: float) -> int:
    index = int(np.argmin(np.hypot.reduce(points - target, axis=1) if points.shape[1] > 1
                          else np.abs(points[:, 0] - target[0])))
    return _nearest_azimuth(points, index, azimuths_deg, azimuth_deg)


def choose_irf(nodes: list[IrfNode], zenith_deg: float, azimuth_deg: float, b_delta_deg: float,
               method: str = INTERPOLATE) -> IrfChoice:
    """Choose the IRF nodes of a run and their weights, as ``lstchain_create_dl3_file``.

    Parameters
    ----------
    nodes : list of IrfNode
        The IRF files of the set.
    zenith_deg, azimuth_deg, b_delta_deg : float
        The run's mean zenith, azimuth (0–360) and geomagnetic angle.
    method : {"interpolate", "nearest"}
        Interpolate inside the grid (lstchain's default) or take the nearest node
        (``--use-nearest-irf-node``).
    """
    if method not in IRF_METHODS:
        raise ValueError(f"method must be one of {', '.join(IRF_METHODS)}, not {method!r}")
    zen, az, bd = (round(float(x), 5) for x in (zenith_deg, azimuth_deg, b_delta_deg))

    def one(node: IrfNode, reason: str) -> IrfChoice:
        return IrfChoice((node,), (1.0,), zen, az, bd, reason)

    if len(nodes) == 1:
        return one(nodes[0], f"The IRF set has one node, {nodes[0].path.name}, used unchanged.")
    azimuths = np.array([n.azimuth_deg for n in nodes])
    if any(n.b_delta_deg is None for n in nodes):
        points = np.cos(np.radians([[n.zenith_deg] for n in nodes]))
        target = np.cos(np.radians([zen]))
        node = nodes[_nearest(points, target, azimuths, az)]
        return one(node, f"The IRF files do not all say their B_DELTA, so they cannot be interpolated; the node "
                         f"nearest in cos(zenith), {node.path.name}, is used unchanged.")
    points = _plane([n.zenith_deg for n in nodes], [n.b_delta_deg for n in nodes])
    target = _plane(zen, bd)[0]
    nearest = nodes[_nearest(points, target, azimuths, az)]
    where = f"zenith {zen:.2f} deg, B_DELTA {bd:.2f} deg"
    if method == NEAREST:
        return one(nearest, f"The nearest IRF node to the run ({where}), {nearest.path.name}, is used unchanged, "
                            "as asked (no interpolation).")
    from scipy.spatial import Delaunay, QhullError  # only to interpolate: a nearest-node run never loads scipy

    try:
        triangulation = Delaunay(points)
    except QhullError:
        return one(nearest, f"The {len(nodes)} IRF nodes span no triangle in (cos zenith, sin B_DELTA), so they "
                            f"cannot be interpolated; the nearest node, {nearest.path.name}, is used unchanged.")
    simplex = int(triangulation.find_simplex(target))
    if simplex < 0:
        return one(nearest, f"The run ({where}) lies outside the IRF grid, where lstchain does not extrapolate "
                            f"and neither does lappana: the nearest node, {nearest.path.name}, is used unchanged.")
    transform = triangulation.transform[simplex]
    b = transform[:2] @ (target - transform[2])
    weights = (float(b[0]), float(b[1]), float(1.0 - b[0] - b[1]))
    chosen = tuple(nodes[_nearest_azimuth(points, int(i), azimuths, az)] for i in triangulation.simplices[simplex])
    return IrfChoice(chosen, weights, zen, az, bd,
                     f"The run ({where}) lies inside the triangle of IRF nodes "
                     f"{', '.join(n.path.name for n in chosen)}; their IRFs are interpolated with weights "
                     f"{', '.join(f'{w:.4f}' for w in weights)}.")


def nearest_node(nodes: list[IrfNode], zenith_deg: float, azimuth_deg: float, b_delta_deg: float) -> IrfNode:
    """Return the node nearest to a run's mean pointing (lstchain's ``--use-nearest-irf-node``)."""
    return choose_irf(nodes, zenith_deg, azimuth_deg, b_delta_deg, NEAREST).nodes[0]
