"""Helpers of the high-level tests: small simulated nights made into DL3 by lappana, the gammapy peer.

Nights are simulated at a reduced cosmic-ray rate (``shower_rate_hz``) to keep
each test to seconds, or at LST-1's rate in the band analysed (:func:`lst1_rates_above`);
the truth file records what was injected at those rates.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
from pathlib import Path

from lappana.dl3 import make_dl3
from lappana.index import make_index
from lappana.simulate import simulate_night

PEER_SCRIPT = Path(__file__).resolve().parents[1] / "peers" / "gammapy_highlevel.py"
CRAB = {"source_name": "Crab", "source_ra_deg": 83.633, "source_dec_deg": 22.014}


def make_night_dl3(out: Path, *, n_runs: int, run_minutes: float, seed: int, source_flux: float,
                   shower_rate_hz: float | None = 300.0, irf_set: str = "eff_gh0.70_th0.70") -> Path:
    """Simulate a night (DL2 + IRFs), make DL3 with lappana and index it; return the DL3 folder.

    ``shower_rate_hz=None`` simulates LST-1's full cosmic-ray rate. The DL2 files (kept in
    ``out/DL2``, some tests read them) are written uncompressed: the same rows, and so the same
    DL3, in a quarter of the CPU that lstchain's blosc:zstd takes (:func:`make_flux_nights`).
    """
    rate = {} if shower_rate_hz is None else {"shower_rate_hz": shower_rate_hz}
    night = simulate_night(out, night=dt.date(2023, 12, 7), n_runs=n_runs, run_minutes=run_minutes, seed=seed,
                           levels=("dl2",), mc=False, irfs=True, source_flux=source_flux, progress=False,
                           dl2_compressed=False, **rate)
    dl3 = out / "DL3"
    for dl2 in night.dl2_files.values():
        make_dl3(dl2, night.irf_dirs[irf_set], dl3, **CRAB)
    make_index(dl3)
    return dl3


def run_gammapy(gammapy_python: Path, request: dict, tmp_path: Path) -> dict:
    """Run tests/peers/gammapy_highlevel.py with gammapy's python and return its JSON."""
    path = tmp_path / f"gammapy-{request['mode']}.json"
    path.write_text(json.dumps(request))
    done = subprocess.run([str(gammapy_python), str(PEER_SCRIPT), str(path)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


#: The band of the flux tests' spectra and light curves (TeV): the acceptance's "above 0.2 TeV".
FLUX_BAND_TEV = (0.2, 100.0)


def lst1_rates_above(band_min_tev: float) -> dict:
    """LST-1's full cosmic-ray rate for an analysis above ``band_min_tev``, leaving out the showers that cannot reach it.

    A cosmic ray's reconstructed energy is its gamma-equivalent energy within the
    simulator's intensity spread (``INTENSITY_LN_SPREAD`` in ln E, see
    ``lappana.simulate.showers.draw_reco_energy``): those more than six spreads below
    ``band_min_tev`` are not simulated (``hadron_min_energy_tev``); the rest come at LST-1's
    rate, so the background in the band, and every count there, is that of a real night.
    For bands above ~0.4 TeV the showers left fall below ~600 Hz, where lstchain's effective time (it
    drops gaps of 10 ms or more between showers as DAQ stops) comes out short: 30 % at 1 TeV
    (225 Hz). Keep more showers there (``tests/spoold/standing/test_live_night.py``'s ``RATES``).
    """
    from lappana.simulate.model import INTENSITY_LN_SPREAD

    return {"shower_rate_hz": None, "hadron_min_energy_tev": band_min_tev * math.exp(-6 * INTENSITY_LN_SPREAD)}


def make_flux_nights(out: Path, nights: list[dict], *, seed: int, rates: dict | None = None) -> tuple[Path, list[dict]]:
    """Simulate several nights (DL2 + IRFs) into one indexed DL3 folder; return it and the truth files.

    Each entry of ``nights`` has ``night`` (datetime.date), ``n_runs``, ``run_minutes``,
    ``source_flux`` and optionally ``flare`` (lappana.simulate.variability.Flare). ``rates``
    are the simulator's ``shower_rate_hz`` (None: LST-1's) and ``hadron_min_energy_tev``;
    default LST-1's rate in :data:`FLUX_BAND_TEV` (:func:`lst1_rates_above`).

    The DL2 files are written uncompressed (``dl2_compressed=False``: the same rows, and
    so the same DL3, in a quarter of the CPU that lstchain's blosc:zstd takes) and deleted
    once their DL3 is made: the flux tests read only the DL3.
    """
    rates = dict(rates or lst1_rates_above(FLUX_BAND_TEV[0]))
    if rates.get("shower_rate_hz", 0) is None:
        rates.pop("shower_rate_hz")
    dl3 = out / "DL3"
    truths = []
    first_run = 15864
    for i, spec in enumerate(nights):
        night = simulate_night(out / f"night{i}", night=spec["night"], n_runs=spec["n_runs"],
                               run_minutes=spec["run_minutes"], first_run=first_run, seed=seed + i,
                               levels=("dl2",), mc=False, irfs=True, source_flux=spec["source_flux"],
                               flare=spec.get("flare"), progress=False, dl2_compressed=False, **rates)
        for dl2 in night.dl2_files.values():
            make_dl3(dl2, night.irf_dirs["eff_gh0.70_th0.70"], dl3, **CRAB)
            dl2.unlink()
        truths.append(json.loads(night.truth_file.read_text()))
        first_run += spec["n_runs"] + 10
    make_index(dl3)
    return dl3, truths
