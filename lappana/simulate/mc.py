"""Monte Carlo DL1 files of gammas and protons, for lstchain_mc_trainpipe.

Three files, each a DL1 table with lstchain's ``mc_*`` columns, written with
:func:`lappana.io.dl1.write_dl1_file`:

- ``gamma_diffuse.h5``: gammas from directions spread over the camera (within 2.5°
  of the pointing), E⁻² from 10 GeV to 100 TeV, for training the energy and disp
  regressors and the classifier;
- ``gamma_point.h5``: gammas from a point 0.4° off-axis (the wobble offset), for
  testing and IRFs;
- ``proton.h5``: protons from directions spread over the camera (``mc_type`` 101), with
  gamma-equivalent energies from the same E⁻² spectrum as the gammas.

The diffuse gammas and the protons are shared equally among pointings at 10°–50° zenith
(:data:`TRAINING_ZENITHS_DEG`), the point-like gammas are at 20°; the azimuth is 180°
(``alt_tel`` = ``mc_alt_tel``).
Only showers that trigger and survive cleaning are written, each with the image
parameters of :mod:`lappana.simulate.showers`.

:func:`write_irf_mc_file` writes the MC of one IRF pointing node for
``lstchain_create_irf_files``: point-like gammas 0.4° off-axis, thrown from a
power law over a known area, with ``/simulation/run_config`` saying what was
thrown (:mod:`lappana.io.run_config`), so that the IRFs of a set of random
forests are made from what those forests make of the gammas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lappana.constants import EVENT_TYPE_SHOWER
from lappana.simulate import model
from lappana.simulate.camera import camera_to_altaz
from lappana.simulate.events import DL1_COLUMNS
from lappana.simulate.separation import gamma_score
from lappana.simulate.showers import draw_reco_energy, image_parameters

MC_ZENITH_DEG = 20.0
#: Zenith angles (deg) of the training MC, in equal shares, so that the random forests learn
#: how showers change with the pointing (``alt_tel`` is one of their features), as LST-1's
#: training on a line of pointing nodes does.
TRAINING_ZENITHS_DEG = (10.0, 20.0, 30.0, 40.0, 50.0)
MC_AZIMUTH_DEG = 180.0
#: Ratio between a proton's energy and the energy of a gamma giving the same image.
PROTON_ENERGY_RATIO = 3.0
_DEG_TO_M = np.radians(1.0) * model.EFFECTIVE_FOCAL_LENGTH_M
_E_MIN, _E_MAX = 0.01, 100.0
#: Offset of the point-like MC gammas from the pointing (deg): LST-1's wobble offset.
POINT_OFFSET_DEG = 0.4
#: Spectral index of the thrown IRF gammas (pyirf cannot take -1; harder than lstchain's -2
#: so that the TeV bins have enough gammas at a small sample).
IRF_SPECTRAL_INDEX = -1.5
#: IRF gammas thrown per pointing node by default (≈17 % are detected at 10° zenith).
IRF_THROWN = 400_000


def _detected_gamma_energies(rng: np.random.Generator, n: int, zenith_deg: float = MC_ZENITH_DEG) -> np.ndarray:
    """n detected gammas from an E⁻² spectrum (detection ∝ collection area at ``zenith_deg``)."""
    out: list[np.ndarray] = []
    have = 0
    grid = np.logspace(np.log10(_E_MIN), np.log10(_E_MAX), 401)
    a_max = float(model.collection_area(grid, zenith_deg).max()) * 1.05
    while have < n:
        batch = 4 * (n - have) + 1000
        u = rng.uniform(size=batch)
        energy = 1.0 / (1.0 / _E_MIN - u * (1.0 / _E_MIN - 1.0 / _E_MAX))  # E^-2
        keep = rng.uniform(size=batch) < model.collection_area(energy, zenith_deg) / a_max
        out.append(energy[keep])
        have += int(keep.sum())
    return np.concatenate(out)[:n]


def mc_events(rng: np.random.Generator, particle: str, n: int, *, offset_deg: float | None,
              zenith_deg: float = MC_ZENITH_DEG, azimuth_deg: float = MC_AZIMUTH_DEG,
              gamma_energies: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """DL1 columns (with ``mc_*``) of ``n`` detected MC showers.

    Parameters
    ----------
    particle : {"gamma", "proton"}
    n : int
    offset_deg : float or None
        Point-like source at this offset from the pointing, or None for diffuse
        directions (uniform within 2.5°).
    zenith_deg, azimuth_deg : float
        The telescope pointing.
    gamma_energies : numpy.ndarray, optional
        The true energies (TeV) of ``n`` detected gammas; by default drawn from E⁻².
    """
    is_gamma = np.full(n, particle == "gamma")
    if gamma_energies is not None:
        equivalent = np.asarray(gamma_energies, dtype=float)
    else:
        # Protons as lstchain's MC throws them, harder than the cosmic rays: their
        # gamma-equivalent energies follow the detected gammas' E⁻² spectrum, so that the
        # classifier sees TeV protons and the ratio of protons to gammas in its training set
        # is the same at every energy (lappana.simulate.separation).
        equivalent = _detected_gamma_energies(rng, n, float(zenith_deg))
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.full(n, offset_deg) if offset_deg is not None else 2.5 * np.sqrt(rng.uniform(size=n))
    src_x = radius * _DEG_TO_M * np.cos(angle)
    src_y = radius * _DEG_TO_M * np.sin(angle)
    zen = np.full(n, float(zenith_deg))
    reco_energy = draw_reco_energy(rng, equivalent, is_gamma)
    score = gamma_score(rng, equivalent, is_gamma, float(zenith_deg))
    image = image_parameters(rng, energy=equivalent, reco_energy=reco_energy, score=score,
                             is_gamma=is_gamma, src_x=src_x, src_y=src_y, zenith_deg=zen)
    alt_tel = np.full(n, np.radians(90.0 - float(zenith_deg)))
    az_tel = np.full(n, np.radians(float(azimuth_deg)))
    mc_alt, mc_az = camera_to_altaz(src_x, src_y, alt_tel, az_tel)
    cols: dict[str, np.ndarray] = {}
    for name, dtype in DL1_COLUMNS.items():
        if name in image:
            cols[name] = image[name].astype(dtype)
        elif name not in ("dragon_time", "ucts_time", "tib_time", "trigger_time", "ucts_jump", "calibration_id"):
            cols[name] = np.zeros(n, dtype=dtype)
    cols["obs_id"][:] = 1 if particle == "gamma" else 2
    cols["event_id"][:] = np.arange(1, n + 1)
    cols["tel_id"][:] = 1
    cols["event_type"][:] = EVENT_TYPE_SHOWER
    cols["trigger_type"][:] = 1
    cols["alt_tel"][:] = alt_tel
    cols["az_tel"][:] = az_tel
    cols["sin_az_tel"][:] = np.sin(az_tel)
    energy = equivalent if particle == "gamma" else PROTON_ENERGY_RATIO * equivalent
    cols["mc_energy"] = energy
    cols["log_mc_energy"] = np.log10(energy)
    cols["mc_alt"] = mc_alt
    cols["mc_az"] = mc_az
    cols["mc_alt_tel"] = alt_tel
    cols["mc_az_tel"] = az_tel
    cols["mc_type"] = np.full(n, 0 if particle == "gamma" else 101, dtype=np.int64)
    core_r = 250.0 * np.sqrt(rng.uniform(size=n))
    core_phi = rng.uniform(0, 2 * np.pi, n)
    cols["mc_core_x"] = core_r * np.cos(core_phi)
    cols["mc_core_y"] = core_r * np.sin(core_phi)
    cols["mc_core_distance"] = core_r
    cols["mc_h_first_int"] = rng.uniform(15e3, 35e3, n)
    cols["mc_x_max"] = 300.0 + 60.0 * np.log10(energy / 0.1) + 40.0 * rng.standard_normal(n)
    cols.update(true_disp_columns(cols["x"], cols["y"], src_x, src_y, cols["psi"]))
    return cols


def true_disp_columns(x: np.ndarray, y: np.ndarray, src_x: np.ndarray, src_y: np.ndarray,
                      psi: np.ndarray) -> dict[str, np.ndarray]:
    """The true source position in the camera and the true disp, as lstchain's MC DL1 carries them.

    ``src_x``, ``src_y`` (m), ``disp_dx``, ``disp_dy``, ``disp_norm`` (m), ``disp_angle`` (rad)
    and ``disp_sign``, computed as ``lstchain.reco.disp.disp`` does from the image centroid
    (``x``, ``y``) and axis (``psi``). lstchain_dl1_to_dl2 recomputes them for MC (it takes
    a file with ``disp_norm`` for MC) and lstchain_create_irf_files reads ``disp_sign``: 0.10
    requires it, 0.12 uses it, when present, to compute the energy-dependent θ cuts on the
    gammas whose disp sign was reconstructed right, as on LST-1's MC.
    """
    dx, dy = src_x - x, src_y - y
    along = dx * np.cos(psi) + dy * np.sin(psi)
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.where(dx == 0, np.pi / 2.0 * np.sign(dy), np.arctan(dy / dx))
    return {"src_x": src_x.astype("f8"), "src_y": src_y.astype("f8"), "disp_dx": dx, "disp_dy": dy,
            "disp_norm": np.abs(along), "disp_angle": angle, "disp_sign": np.sign(along)}


def write_mc_files(folder: str | Path, *, seed: int, n_events: int = 20_000) -> dict[str, Path]:
    """Write ``gamma_diffuse.h5``, ``gamma_point.h5`` and ``proton.h5`` into ``folder``.

    Returns
    -------
    dict of str to Path
        Keys ``gamma_diffuse``, ``gamma_point``, ``proton``.
    """
    from lappana.io.dl1 import write_dl1_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specs = {
        "gamma_diffuse": ("gamma", None, 1),
        "gamma_point": ("gamma", POINT_OFFSET_DEG, 2),
        "proton": ("proton", None, 3),
    }
    out: dict[str, Path] = {}
    for name, (particle, offset, stream) in specs.items():
        rng = np.random.default_rng([int(seed), 800_000 + stream])
        zeniths = TRAINING_ZENITHS_DEG if offset is None else (MC_ZENITH_DEG,)
        shares = np.diff(np.linspace(0, int(n_events), len(zeniths) + 1).round().astype(int))
        parts = [mc_events(rng, particle, int(k), offset_deg=offset, zenith_deg=z) for z, k in zip(zeniths, shares)]
        events = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        events["event_id"] = np.arange(1, events["event_id"].size + 1)
        path = folder / f"{name}.h5"
        write_dl1_file(path, events, run_id=int(events["obs_id"][0]), is_simulation=True)
        out[name] = path
    return out


def write_irf_mc_file(path: str | Path, *, seed: int, zenith_deg: float, azimuth_deg: float = MC_AZIMUTH_DEG,
                      n_thrown: int = IRF_THROWN) -> Path:
    """Write the point-like MC gammas of one IRF pointing node, with what was thrown.

    ``n_thrown`` gammas are thrown as E^:data:`IRF_SPECTRAL_INDEX` from 10 GeV to
    100 TeV, 0.4° off-axis, with cores spread over the area A of a circle a little
    larger than the telescope's largest collection area; a gamma of energy E is
    detected with probability collection_area(E, zenith) / A, as in
    :func:`lappana.simulate.irf.simulate_point_gammas`. The detected ones are
    written as MC DL1 (``obs_id`` 1), and ``/simulation/run_config`` records
    ``n_thrown``, the spectrum, A (as ``max_scatter_range``), the pointing, the
    offset (as a viewcone of 0.4° to 0.4°, which lstchain reads as a ring at the
    wobble offset) and the geomagnetic field: what pyirf needs for the effective
    area.

    Returns
    -------
    Path
        The file written.
    """
    from lappana.io.dl1 import write_dl1_file
    from lappana.io.run_config import ThrownShowers, write_run_config
    from lappana.dl3.irf import geomagnetic_field

    rng = np.random.default_rng([int(seed), 900_000, int(round(zenith_deg * 10)), int(round(azimuth_deg * 10))])
    g = IRF_SPECTRAL_INDEX + 1.0
    u = rng.uniform(size=int(n_thrown))
    energy = (_E_MIN**g + u * (_E_MAX**g - _E_MIN**g)) ** (1.0 / g)
    grid = np.logspace(np.log10(_E_MIN), np.log10(_E_MAX), 401)
    area_m2 = float(model.collection_area(grid, zenith_deg).max()) * 1.05
    detected = energy[rng.uniform(size=energy.size) < model.collection_area(energy, zenith_deg) / area_m2]
    events = mc_events(rng, "gamma", detected.size, offset_deg=POINT_OFFSET_DEG, zenith_deg=zenith_deg,
                       azimuth_deg=azimuth_deg, gamma_energies=detected)
    path = Path(path)
    write_dl1_file(path, events, run_id=1, is_simulation=True)
    b_total, b_dec, b_inc = geomagnetic_field()
    write_run_config(path, ThrownShowers(
        n_showers=int(n_thrown), energy_min_tev=_E_MIN, energy_max_tev=_E_MAX,
        spectral_index=IRF_SPECTRAL_INDEX, max_scatter_range_m=float(np.sqrt(area_m2 / np.pi)),
        alt_rad=float(np.radians(90.0 - zenith_deg)), az_rad=float(np.radians(azimuth_deg)),
        b_total_ut=b_total, b_declination_rad=b_dec, b_inclination_rad=b_inc,
        viewcone_min_deg=POINT_OFFSET_DEG, viewcone_max_deg=POINT_OFFSET_DEG,
    ))
    return path
