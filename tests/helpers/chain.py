"""The DL1 → real lstchain → DL2 chain that the lappana tests build on.

``lstchain_models`` gives a folder of random forests trained by the real
``lstchain_mc_trainpipe``: the models ``scripts/setup-lstchain`` made when they are
there, else tiny ones trained once per test session. ``lstchain_dl2_run`` gives
one simulated DL1 run taken to DL2 by the real ``lstchain_dl1_to_dl2`` through
``lappana dl2``. The fixtures are in ``tests/lappana/conftest.py``; this module holds
what they and the tests build with.

Both use lappana's simulator (``lappana.simulate``): its MC files for training and
one short simulated run (15 s, ~25k events, with IRFs) for DL1.
``make_dl1_events`` makes small hand-made DL1 event tables for unit tests of the
DL1 writer and the DL2 task, independent of the simulator.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.helpers.require import missing

PEERS = Path(os.environ.get("ASTRAN_PEERS", Path.home() / ".cache" / "astran" / "peers"))

#: LST-1's effective focal length (m): camera metres per radian near the axis.
_FOCAL_M = 29.30565
_MODEL_FILES = ("reg_energy.sav", "cls_gh.sav", "reg_disp_norm.sav", "cls_disp_sign.sav")


def make_dl1_events(
    rng: np.random.Generator,
    n: int,
    kind: str,
    *,
    obs_id: int = 0,
    alt_tel_deg: float = 70.0,
    az_tel_deg: float = 180.0,
    start_unix: float = 1_700_000_000.0,
    rate_hz: float = 1500.0,
) -> dict[str, np.ndarray]:
    """Return ``n`` plausible DL1 events of one ``kind``: ``gamma``, ``proton`` or ``data``.

    Gammas come from a point 0.4° off the pointing with elongated images
    pointing at it and intensity growing with energy; protons are wider, spread
    over the camera and not pointing anywhere. ``data`` mixes both (1:20) with
    10 % interleaved pedestal events (``event_type`` 2, image parameters NaN) and
    kHz-rate Poisson ``dragon_time``. Not physics: enough for the forests to
    learn something and for lstchain's tools to run.
    """
    if kind == "data":
        is_gamma = rng.random(n) < 0.05
    elif kind in ("gamma", "proton"):
        is_gamma = np.full(n, kind == "gamma")
    else:
        raise ValueError(f"kind must be gamma, proton or data, not {kind!r}")

    alt_tel = np.full(n, np.deg2rad(alt_tel_deg))
    az_tel = np.full(n, np.deg2rad(az_tel_deg))
    energy = 0.02 * (1.0 - rng.random(n)) ** (-1.0 / 1.6)  # TeV, power law index 2.6
    energy = np.minimum(energy, 100.0)
    # the source: 0.4 deg above the pointing, at camera x = -f tan(0.4 deg)
    src_x = np.where(is_gamma, -_FOCAL_M * np.tan(np.deg2rad(0.4)), rng.uniform(-0.8, 0.8, n))
    src_y = np.where(is_gamma, 0.0, rng.uniform(-0.8, 0.8, n))
    psi = rng.uniform(-np.pi / 2, np.pi / 2, n)
    disp = np.where(is_gamma, 0.05 + 0.12 * np.log10(1 + 20 * energy), rng.uniform(0.0, 0.6, n))
    sign = rng.choice([-1.0, 1.0], n)
    x = src_x + sign * disp * np.cos(psi)
    y = src_y + sign * disp * np.sin(psi)
    intensity = 10 ** (np.log10(energy) + 3.4 + rng.normal(0, 0.15, n)) * np.where(is_gamma, 1.0, 0.4)
    intensity = np.maximum(intensity, 30.0)
    length = (0.04 + 0.03 * np.log10(intensity)) * rng.lognormal(0, 0.15, n)
    width = np.where(is_gamma, 0.35, 0.6) * length * rng.lognormal(0, 0.2, n)
    events: dict[str, np.ndarray] = {
        "obs_id": np.full(n, obs_id, dtype=np.int64),
        "event_id": np.arange(1, n + 1, dtype=np.int64),
        "tel_id": np.ones(n, dtype=np.int64),
        "event_type": np.full(n, 32, dtype=np.int64),
        "alt_tel": alt_tel,
        "az_tel": az_tel,
        "intensity": intensity,
        "x": x,
        "y": y,
        "r": np.hypot(x, y),
        "phi": np.arctan2(y, x),
        "psi": psi,
        "length": length,
        "width": width,
        "skewness": -sign * np.where(is_gamma, 0.4, 0.0) + rng.normal(0, 0.3, n),
        "kurtosis": rng.normal(3.0, 0.5, n),
        "time_gradient": -sign * np.where(is_gamma, 8.0, 0.0) * disp + rng.normal(0, 2.0, n),
        "leakage_intensity_width_1": rng.uniform(0, 0.05, n),
        "leakage_intensity_width_2": rng.uniform(0, 0.1, n),
        "n_pixels": np.maximum(5, (intensity / 15).astype(np.int64)),
        "n_islands": np.ones(n, dtype=np.int64),
    }
    if kind == "data":
        times = start_unix + np.cumsum(rng.exponential(1.0 / rate_hz, n))
        events["dragon_time"] = times
        events["trigger_time"] = times
        events["delta_t"] = np.diff(times, prepend=times[0] - 1.0 / rate_hz)
        pedestal = rng.random(n) < 0.1
        events["event_type"][pedestal] = 2
        for name in ("intensity", "x", "y", "r", "phi", "psi", "length", "width", "skewness", "kurtosis", "time_gradient"):
            events[name][pedestal] = np.nan
    else:
        # lstchain's sky_to_camera puts a source above the pointing at negative x
        events["mc_energy"] = energy
        events["mc_alt"] = alt_tel + np.where(is_gamma, np.deg2rad(0.4), rng.uniform(-0.03, 0.03, n))
        events["mc_az"] = az_tel.copy()
        events["mc_alt_tel"] = alt_tel.copy()
        events["mc_az_tel"] = az_tel.copy()
        events["mc_type"] = np.where(is_gamma, 0, 101).astype(np.int64)
        events["mc_core_x"] = rng.uniform(-300, 300, n)
        events["mc_core_y"] = rng.uniform(-300, 300, n)
    return events


@dataclass(frozen=True)
class DL2Run:
    """One simulated run taken from DL1 to DL2 by the real lstchain.

    ``night`` is the :class:`lappana.simulate.night.SimulatedNight` the DL1 came
    from (one run, with its IRF sets in ``night.irf_dirs``, run catalogue and
    truth); the DL2 file sits in the night's tree, ``<root>/DL2/YYYYMMDD/v0.10/tailcut84/``.
    """

    run_id: int
    dl1_path: Path
    dl2_path: Path
    models_dir: Path
    lstchain_env: Path
    night: object


#: The lstchain versions scripts/setup-lstchain installs: the venv (and the variable naming another) and the
#: models trained with that version (their IRF sets are in the models' IRF/ folder).
LSTCHAIN_PEERS = {
    "0.12.3": ("ASTRAN_LSTCHAIN_ENV", "lstchain-0.12.3", "ASTRAN_LSTCHAIN_MODELS", "default"),
    "0.10.18": ("ASTRAN_LSTCHAIN_010_ENV", "lstchain-0.10.18", "ASTRAN_LSTCHAIN_010_MODELS", "lstchain-0.10.18"),
}


def lstchain_peer(version: str) -> tuple[Path, Path]:
    """The venv and the models (with their IRF/ folder) of one lstchain version that scripts/setup-lstchain made."""
    env_var, env_name, models_var, models_name = LSTCHAIN_PEERS[version]
    env = Path(os.environ.get(env_var, PEERS / env_name))
    models = Path(os.environ.get(models_var, PEERS / "models" / models_name))
    if not (env / "bin" / "lstchain_create_dl3_file").exists():
        missing(f"lstchain {version} is not available in {env}: run scripts/setup-lstchain (scripts/test does it).")
    if not (models / "IRF" / ".astran-made").is_file():
        missing(f"the models of lstchain {version} and their IRFs are not available in {models}: run "
                "scripts/setup-lstchain (scripts/test does it).")
    return env, models


def models_ready(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _MODEL_FILES)


def train_models(lstchain_env: Path, workdir: Path, *, seed: int = 7, n_events: int = 4000) -> Path:
    """Train models with the real lstchain_mc_trainpipe on the simulator's MC; return their folder."""
    from lappana.dl2 import default_config_path
    from lappana.simulate.mc import write_mc_files

    mc = write_mc_files(workdir / "MC", seed=seed, n_events=n_events)
    models = workdir / "models"
    done = subprocess.run(
        [
            str(lstchain_env / "bin" / "lstchain_mc_trainpipe"),
            "--fg", str(mc["gamma_diffuse"]), "--fp", str(mc["proton"]),
            "-o", str(models), "-c", str(default_config_path()),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"lstchain_mc_trainpipe failed:\n{done.stderr[-4000:]}"
    assert models_ready(models), sorted(p.name for p in models.iterdir())
    shutil.copy(default_config_path(), models / "lstchain_config.json")
    return models
