"""simulate_run_dl2 streams: peak memory does not grow with the number of events."""

from __future__ import annotations

import subprocess
import sys

from lappana.constants import DL2_PARAMS_KEY
from lappana.io.hdf5 import table_length

_SCRIPT = """
import resource, sys
from lappana.simulate.run import simulate_run_dl2
truth = simulate_run_dl2(sys.argv[1], n_events=int(sys.argv[2]), seed=2, shower_rate_hz=3000.0)
print(truth.n_events, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

def _run(path, n_events):
    out = subprocess.run([sys.executable, "-c", _SCRIPT, str(path), str(n_events)],
                         capture_output=True, text=True, check=True)
    n, rss_kb = out.stdout.split()
    return int(n), int(rss_kb) / 1024.0

def test_peak_memory_is_flat_in_the_number_of_events(tmp_path):
    small, rss_small = _run(tmp_path / "dl2_LST-1.Run15864.h5", 100_000)
    large, rss_large = _run(tmp_path / "dl2_LST-1.Run15865.h5", 500_000)
    print(f"\n{small} events: peak RSS {rss_small:.0f} MB; {large} events: peak RSS {rss_large:.0f} MB")
    assert abs(small / 100_000 - 1) < 0.02 and abs(large / 500_000 - 1) < 0.02
    assert table_length(tmp_path / "dl2_LST-1.Run15865.h5", DL2_PARAMS_KEY) == large
    # five times the events, at most 15 % more memory (the chunk is the same size)
    assert rss_large < 1.15 * rss_small
