"""DL1 files that are still arriving: written slowly by another process, truncated, or complete.

:func:`write_dl1` writes a real DL1 file (lappana's writer, hand-made events);
:func:`start_slow_writer` starts this module as a script that writes one in
pieces, as LSTOSA's writer or a copy over the network would::

    python tests/helpers/arriving.py copy SRC DST --pieces N --pause S --done MARKER
    python tests/helpers/arriving.py append DST --run R --pieces N --pause S --done MARKER

``copy`` copies ``SRC`` to ``DST`` a piece at a time; ``append`` writes the DL1
table with lappana's writer, one block of events at a time. Both write the time
they finished into ``MARKER`` (seconds since the epoch) once the file is complete.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from tests.helpers.chain import make_dl1_events  # noqa: E402

#: events per block of the slow writer (and of :func:`write_dl1`)
BLOCK_EVENTS = 4000


def _events(run: int, block: int) -> dict[str, np.ndarray]:
    events = make_dl1_events(np.random.default_rng(run * 100 + block), BLOCK_EVENTS, "data", obs_id=run,
                             start_unix=1_701_990_000.0 + 10 * block)
    events["event_id"] = events["event_id"] + block * BLOCK_EVENTS
    return events


def write_dl1(path: Path, run: int, *, blocks: int = 3, pause: float = 0.0) -> Path:
    """Write a real DL1 file of ``blocks`` blocks of events, pausing ``pause`` s after each but the last."""
    from lappana.io.dl1 import write_dl1_file

    for block in range(blocks):
        write_dl1_file(path, _events(run, block), run_id=run, is_simulation=False, append=block > 0)
        if block < blocks - 1:
            time.sleep(pause)
    return path


def copy_in_pieces(source: Path, target: Path, *, pieces: int, pause: float) -> None:
    """Copy ``source`` to ``target`` in ``pieces`` writes, ``pause`` s apart, flushed each time."""
    data = source.read_bytes()
    size = -(-len(data) // pieces)
    with open(target, "wb") as out:
        for first in range(0, len(data), size):
            out.write(data[first:first + size])
            out.flush()
            os.fsync(out.fileno())
            if first + size < len(data):
                time.sleep(pause)


def start_slow_writer(mode: str, target: Path, *, done: Path, pieces: int, pause: float,
                      source: Path | None = None, run: int = 0) -> subprocess.Popen:
    """Start this module as a background process writing ``target`` slowly (see the module's docstring)."""
    argv = [sys.executable, str(Path(__file__).resolve()), mode]
    argv += [str(source), str(target)] if mode == "copy" else [str(target), "--run", str(run)]
    argv += ["--pieces", str(pieces), "--pause", str(pause), "--done", str(done)]
    return subprocess.Popen(argv, cwd=REPO, start_new_session=True)


def _main() -> int:
    parser = argparse.ArgumentParser(description="write a DL1 file slowly")
    parser.add_argument("mode", choices=("copy", "append"))
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--run", type=int, default=0)
    parser.add_argument("--pieces", type=int, default=8)
    parser.add_argument("--pause", type=float, default=0.5)
    parser.add_argument("--done", type=Path, required=True)
    args = parser.parse_args()
    if args.mode == "copy":
        copy_in_pieces(args.paths[0], args.paths[1], pieces=args.pieces, pause=args.pause)
    else:
        write_dl1(args.paths[0], args.run, blocks=args.pieces, pause=args.pause)
    args.done.write_text(f"{time.time():.6f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
