"""A simulated night through the real daemon on the real Slurm, run-wise and subrun-wise (scripts/bench-night).

The night (N runs at LST-1's cosmic-ray rate, each run's DL1 also in subrun files) is simulated once
into ``DIR/data``. For each way, a fresh spool ``DIR/<way>/spool`` with its own DL2 cache and a site file
that says ``executor: slurm`` (and, subrun-wise, ``data.dl1_subrun_pattern``) gets one request from DL1
to DL3 of the night, and ``spoold --once`` runs it. What is printed comes from the request's own files:
each task's seconds and peak memory (its result file, written by ``spoold.taskrun``), the wall time
from the submission to done, and the DL3 files of both ways compared. The critical paths on larger
clusters are computed from the measured task times, not measured.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
NIGHT = "2023-12-07"
PATTERN = "{data_root}/DL1/{night}/v0.10/tailcut84/dl1_LST-1.Run{run:05d}.{subrun:04d}.h5"
REQUEST = f"""source: Crab Nebula
night: {NIGHT}
start_from: dl1
cuts: {{gh_efficiency: 0.7, theta_containment: 0.7}}
products: [dl3]
"""
STEPS = ("dl2", "irf", "dl3", "index")
CLUSTERS = (10, 100, 1000)


def simulate(data: Path, runs: int, minutes: float, subrun_events: int) -> dict:
    """The night's simulation.json, simulating it first when ``data`` does not hold this night."""
    truth = data / "simulation.json"
    if truth.is_file():
        doc = json.loads(truth.read_text())
        made = doc["parameters"]
        if (made["n_runs"], made["run_minutes"], made.get("subrun_events")) == (runs, minutes, subrun_events):
            return doc
    print(f"simulating {runs} runs of {minutes:g} min at LST-1's rate, subruns of {subrun_events} events, "
          f"into {data} (once) ...", flush=True)
    subprocess.run([VENV_BIN / "lappana", "simulate", data, "--night", NIGHT, "--runs", str(runs),
                    "--minutes", f"{minutes:g}", "--seed", "3", "--levels", "dl1", "--no-mc", "--no-irf",
                    "--subrun-events", str(subrun_events), "--quiet"], check=True)
    return json.loads(truth.read_text())


def site_file(folder: Path, data: Path, subruns: bool) -> Path:
    """The site file of one way: its own spool (and DL2 cache), the night's data, Slurm.

    The single-node Slurm here offers more CPUs than the machine has (scripts/lib/slurm.conf.in): the
    arrays are throttled to the machine's cores, so that each task's time is that of a task on a core.
    """
    folder.mkdir(parents=True, exist_ok=True)
    peers = Path(os.environ.get("ASTRAN_PEERS") or Path.home() / ".cache/astran/peers")
    env = os.environ.get("ASTRAN_LSTCHAIN_ENV") or str(peers / "lstchain-0.12.3")
    models = os.environ.get("ASTRAN_LSTCHAIN_MODELS") or str(peers / "models" / "default")
    pattern = f", dl1_subrun_pattern: '{PATTERN}'" if subruns else ""
    site = folder / "site.yaml"
    site.write_text(f"""# written by scripts/bench-night
spool: {folder / 'spool'}
data: {{root: {data}{pattern}}}
executor: slurm
lstchain: {{env: {env}, models: {models}}}
limits: {{data_settle_seconds: 1}}
slurm: {{time: "01:00:00", mem: 4G, subrun_mem: 2G, poll_seconds: 1, poll_max_seconds: 5,
        array_throttle: {os.cpu_count()}}}
""")
    return site


def run_request(folder: Path, site: Path) -> tuple[Path, float]:
    """Submit the request into a fresh spool and run ``spoold --once``: (the request's folder, seconds)."""
    subprocess.run(["rm", "-rf", str(folder / "spool")], check=True)
    subprocess.run([VENV_BIN / "spool", "init", folder / "spool"], check=True, stdout=subprocess.DEVNULL)
    request = folder / "night.yaml"
    request.write_text(REQUEST)
    t0 = time.monotonic()
    rid = subprocess.run([VENV_BIN / "spool", "--config", site, "submit", request], check=True,
                         capture_output=True, text=True).stdout.strip()
    log = folder / "spoold.log"
    with open(log, "w") as out:
        code = subprocess.run([VENV_BIN / "spoold", "--config", site, "--once", "-v"], stderr=out).returncode
    seconds = time.monotonic() - t0
    done = folder / "spool" / "done" / rid
    if code != 0 or not done.is_dir():
        sys.exit(f"the request {rid} did not end in done (spoold exit {code}); see {log} and spool/*/{rid}")
    return done, seconds


def task_results(request: Path) -> dict[str, list[dict]]:
    """Each step's task results (``logs/<step>/.results/*.json``): label, seconds, max_rss_mb."""
    found = {}
    for step in STEPS:
        folder = request / "logs" / step / ".results"
        rows = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = json.loads(path.read_text())
            rows.append({"label": path.name.split(".attempt")[0], "seconds": float(data["seconds"]),
                         "max_rss_mb": data.get("max_rss_mb")})
        if rows:
            found[step] = rows
    return found


def makespan(seconds: list[float], cores: int) -> float:
    """The time ``cores`` cores take for independent tasks of these durations, longest first (LPT)."""
    free = [0.0] * min(cores, len(seconds))
    heapq.heapify(free)
    for length in sorted(seconds, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + length)
    return max(free) if free else 0.0


def critical_path(results: dict[str, list[dict]], cores: int) -> float:
    """Computed: the steps one after the other, each step's tasks scheduled on ``cores`` cores."""
    return sum(makespan([r["seconds"] for r in rows], cores) for rows in results.values())


def same_dl3(first: Path, second: Path) -> list[str]:
    """What differs between two DL3 folders' files of the same runs (EVENT_IDs, LIVETIME, GTI): empty when equal."""
    import numpy as np
    from astropy.io import fits

    problems = []
    for path in sorted(first.glob("dl3_*.fits.gz")):
        with fits.open(path) as a, fits.open(second / path.name) as b:
            ea, eb = a["EVENTS"], b["EVENTS"]
            if not np.array_equal(ea.data["EVENT_ID"], eb.data["EVENT_ID"]):
                problems.append(f"{path.name}: EVENT_IDs differ ({len(ea.data)} against {len(eb.data)} events)")
            for key in ("LIVETIME", "ONTIME", "DEADC"):
                if ea.header[key] != eb.header[key]:
                    problems.append(f"{path.name}: {key} {ea.header[key]} against {eb.header[key]}")
            ga, gb = a["GTI"].data, b["GTI"].data
            if len(ga) != len(gb) or not (np.array_equal(ga["START"], gb["START"])
                                          and np.array_equal(ga["STOP"], gb["STOP"])):
                problems.append(f"{path.name}: GTI differ ({len(ga)} against {len(gb)} rows)")
    return problems


def describe(way: str, seconds: float, results: dict[str, list[dict]]) -> None:
    print(f"\n{way}: request to done {seconds:.1f} s (measured)")
    for step, rows in results.items():
        times = [r["seconds"] for r in rows]
        rss = [r["max_rss_mb"] for r in rows if r["max_rss_mb"] is not None]
        print(f"  {step:5s} {len(rows):4d} task(s): {statistics.median(times):7.1f} s median, "
              f"{max(times):7.1f} s longest, {sum(times):8.1f} s in all"
              + (f"; peak RSS {statistics.median(rss):6.0f} MB median, {max(rss):6.0f} MB largest" if rss else ""))


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench-night", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=2.0, help="length of each run (default: %(default)s)")
    parser.add_argument("--subrun-events", type=int, default=53_000,
                        help="events per subrun file (LST-1's: about 53000; default: %(default)s)")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("BENCH_DIR", "/tmp/night-bench")))
    args = parser.parse_args()
    doc = simulate(args.dir / "data", args.runs, args.minutes, args.subrun_events)
    events = sum(r["n_events"] for r in doc["runs"])
    subruns = sum(r.get("n_subruns") or 0 for r in doc["runs"])
    print(f"the night: {args.runs} runs of {args.minutes:g} min, {events:,} events, {subruns} subrun files; "
          f"this machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    measured = {}
    for way, in_subruns in (("run-wise", False), ("subrun-wise", True)):
        folder = args.dir / way
        request, seconds = run_request(folder, site_file(folder, args.dir / "data", in_subruns))
        results = task_results(request)
        describe(way, seconds, results)
        measured[way] = (request, results)
    differ = same_dl3(measured["run-wise"][0] / "dl3", measured["subrun-wise"][0] / "dl3")
    print("\nDL3 subrun-wise against run-wise: " + ("identical EVENT_IDs, LIVETIME, ONTIME, DEADC and GTI of "
                                                     f"{args.runs} runs" if not differ else "; ".join(differ)))
    print("\ncritical path from request to DL3, COMPUTED from the measured task times "
          "(each step's tasks longest first on the cores, the steps one after the other):")
    print("  cores " + "".join(f"{way:>14s}" for way in measured) + "         ratio   the dl2 step alone")
    for cores in CLUSTERS:
        paths = [critical_path(results, cores) for _, results in measured.values()]
        dl2 = [critical_path({"dl2": results["dl2"]}, cores) for _, results in measured.values()]
        print(f"  {cores:5d} " + "".join(f"{p:12.1f} s" for p in paths) + f"  {paths[0] / paths[1]:10.2f}x"
              + f"   {dl2[0]:.1f} s against {dl2[1]:.1f} s")
    longest = {way: max(r["seconds"] for r in results["dl2"]) for way, (_, results) in measured.items()}
    print(f"  the longest dl2 task: {longest['run-wise']:.1f} s (a run) against {longest['subrun-wise']:.1f} s "
          "(a subrun)")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
