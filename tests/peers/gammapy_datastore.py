"""Open a folder of DL3 files and its index with gammapy, as an analyst would; print JSON.

Run with gammapy's own python: ``python gammapy_datastore.py DL3_DIR``. The last
line of stdout is a JSON object: per observation the livetime gammapy computes
(ΣGTI × DEADC), the LIVETIME keyword, the number of events and the IRFs loaded.
"""

import json
import sys

import numpy as np
from astropy.utils import iers

iers.conf.auto_download = False

from gammapy.data import DataStore  # noqa: E402


def main(dl3_dir: str) -> dict:
    store = DataStore.from_dir(dl3_dir)
    obs_ids = [int(i) for i in store.obs_table["OBS_ID"]]
    observations = store.get_observations(obs_ids, required_irf="point-like")
    result = {"obs_ids": obs_ids, "loaded": [], "observations": {}}
    for obs in observations:
        events = obs.events
        gti_sum = float(obs.gti.time_sum.to_value("s"))
        deadc = 1.0 - float(obs.observation_dead_time_fraction)
        result["loaded"].append(int(obs.obs_id))
        result["observations"][str(obs.obs_id)] = {
            "n_events": int(len(events.table)),
            "gti_sum_s": gti_sum,
            "deadc": deadc,
            "livetime_gammapy_s": float(obs.observation_live_time_duration.to_value("s")),
            "livetime_header_s": float(events.table.meta["LIVETIME"]),
            "aeff_max_m2": float(np.nanmax(obs.aeff.data)),
            "edisp_shape": list(obs.edisp.data.shape),
            "rad_max_deg": float(np.nanmax(obs.rad_max.quantity.to_value("deg"))) if obs.rad_max is not None else None,
            "pointing_radec": [float(obs.get_pointing_icrs(obs.tmid).ra.deg), float(obs.get_pointing_icrs(obs.tmid).dec.deg)],
            "first_time_mjd": float(events.time[0].mjd) if len(events.table) else None,
        }
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
