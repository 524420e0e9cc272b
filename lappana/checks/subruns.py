"""Are a run's subrun DL2 files all there? :func:`missing_subruns`.

Where the site keeps per-subrun DL1 (``dl1_LST-1.Run15864.0000.h5`` ...), a run's DL2 comes in as many
subrun files as its DL1 (the run catalogue's ``n_subruns``), and its DL3 is made from all of them read in
order as one run: a run is complete only when every subrun's DL2 is there. Without the count, the numbers
given must run from 0 without a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from lappana.paths import parse_run_id, parse_subrun

__all__ = ["missing_subruns"]


def missing_subruns(files: Iterable[str | Path], n_subruns: Mapping[int, int] | None = None) -> list[str]:
    """One sentence per run whose subrun files among ``files`` are not all there (empty: every run complete).

    Parameters
    ----------
    files : iterable of path
        DL2 files; those whose names carry no subrun number (runs' whole files, or no lstchain name at all)
        are not counted.
    n_subruns : mapping of int to int, optional
        Each run's number of subruns (the run catalogue's ``n_subruns``).
    """
    given: dict[int, set[int]] = {}
    for path in files:
        try:
            subrun = parse_subrun(path)
        except ValueError:  # not an lstchain run file name: the file's own check says so
            continue
        if subrun is not None:
            given.setdefault(parse_run_id(path), set()).add(subrun)
    sentences = []
    for run, have in sorted(given.items()):
        expected = (n_subruns or {}).get(run)
        wanted = set(range(expected if expected else max(have) + 1))
        missing = sorted(wanted - have)
        if missing:
            shown = ", ".join(f"{s:04d}" for s in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            of = f"{expected} (the run catalogue's n_subruns)" if expected else f"0 to {max(have):04d}"
            sentences.append(f"Run {run} is not complete: of its subruns {of}, the DL2 of {shown} "
                             f"{'is' if len(missing) == 1 else 'are'} missing.")
        elif expected and max(have) >= expected:
            sentences.append(f"Run {run} has DL2 of subrun {max(have):04d}, but the run catalogue gives it "
                             f"{expected} subruns (0000 to {expected - 1:04d}).")
    return sentences
