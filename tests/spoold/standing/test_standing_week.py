"""A simulated week with two standing orders through the real daemon (issue 16, point 1).

Seven nights, the Crab observed on five of them and Mrk 421 on three; an order for the Crab and an
``every: source`` order for Mrk 421 and Mrk 501. Each night's data land in three steps (the run
catalogue, then every run's DL2 file but the last, then the last), and ``spoold --once`` runs after each
step and once more after the site's quiet time: a request is made exactly when a night is complete,
never while a file is missing or before its files were quiet for the site's quiet time, one per order, night and source; 8 in all, each
through to done/ with the order named in its state.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from astropy.table import Table, vstack
from tests.helpers.spool import daemon_command, spool_cmd, start_daemon, stop_daemon
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

#: The week: the nights before this one, so that they are over but their data may still come.
TODAY = dt.datetime.now(dt.timezone.utc).date()
NIGHTS = [TODAY - dt.timedelta(days=9 - k) for k in range(7)]
OBSERVED = {"Crab Nebula": (0, 1, 2, 4, 5), "Mrk 421": (1, 3, 5)}
COORDINATES = {"Crab Nebula": (83.633, 22.0145), "Mrk 421": (166.114, 38.209)}
QUIET_S = 3.0
ORDERS = {
    "crab": "source: Crab Nebula\nsince: {since}\nstart_from: dl2\nproducts: [dl3]\n",
    "blazars": "every: source\nallow: [Mrk 421, Mrk 501]\nsince: {since}\nstart_from: dl2\nproducts: [dl3]\n",
}


@pytest.fixture
def week(tmp_path) -> dict:
    return make_week(tmp_path, limits=f"night_quiet_minutes: {QUIET_S / 60}, data_settle_seconds: 0, "
                                      "data_wait_hours: 720")


def make_week(root: Path, *, limits: str) -> dict:
    """The week's files made in a staging folder, an empty data tree and a spool with the two orders."""
    from lappana.simulate.night import simulate_night

    staged: dict[int, list[tuple[Path, Path, str]]] = {}  # night index -> (staged file, where it lands, source)
    catalogs: dict[int, list[Table]] = {}
    run = 17000
    for source, nights in OBSERVED.items():
        ra, dec = COORDINATES[source]
        for k in nights:
            made = simulate_night(root / "staging" / f"{k}-{run}", night=NIGHTS[k], n_runs=2, first_run=run,
                                  run_minutes=0.1, levels=("dl2",), mc=False, irfs=run == 17000, progress=False,
                                  seed=run, shower_rate_hz=300.0, source_name=source, source_ra=ra, source_dec=dec)
            for path in made.dl2_files.values():
                staged.setdefault(k, []).append((path, root / "data" / path.relative_to(made.output), source))
            catalogs.setdefault(k, []).append(Table.read(made.run_catalog, format="ascii.ecsv"))
            if run == 17000:
                shutil.copytree(made.output / "IRF", root / "data" / "IRF")
            run += 10
    site = root / "site.yaml"
    site.write_text(f"spool: {root / 'spool'}\ndata: {{root: {root / 'data'}}}\n"
                    f"limits: {{{limits}}}\n")
    spool_cmd("init", str(root / "spool"), "--config", str(site), cwd=root)
    for name, text in ORDERS.items():
        order = root / f"{name}.yaml"
        order.write_text(text.format(since=NIGHTS[0].isoformat()))
        spool_cmd("standing", "add", str(order), "--config", str(site), cwd=root)
    return {"root": root, "site": site, "staged": staged, "catalogs": catalogs}


def _once(week: dict) -> None:
    ran = subprocess.run([sys.executable, "-m", "spoold.daemon.cli", "--config", str(week["site"]), "--once"],
                         cwd=week["root"], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]


def _requests(week: dict) -> dict[str, dict]:
    """Every request in the spool (any state) with its state.json."""
    spool = week["root"] / "spool"
    found = {}
    for state in ("incoming", "intake", "pending", "running", "done", "failed", "rejected", "cancelled"):
        for folder in sorted((spool / state).iterdir()):
            found[folder.name] = json.loads((folder / "state.json").read_text()) if folder.is_dir() else {}
    return found


def _catalog(week: dict, k: int) -> None:
    """Write night k's run catalogue where the site reads it."""
    from spoold.site import load_site

    catalog = load_site(week["site"]).data.run_catalog_path(NIGHTS[k])
    catalog.parent.mkdir(parents=True, exist_ok=True)
    vstack(week["catalogs"][k]).write(catalog.with_name("." + catalog.name), format="ascii.ecsv", overwrite=True)
    catalog.with_name("." + catalog.name).rename(catalog)


def _land(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, target.with_name("." + target.name))  # then renamed in, as a copy to /fefs would be
    target.with_name("." + target.name).rename(target)


def _check_made(week: dict, before: set, landed: dict[str, float], night: dt.date, missing: str | None = None) -> None:
    """Requests made since ``before``: none for ``missing``, the others after their files were quiet."""
    for rid, state in _requests(week).items():
        if rid in before:
            continue
        source = state["request"]["source"]
        assert source != missing, f"{rid}: a request for {source} on {night} while one of its files was missing"
        assert state["claimed_at"] >= landed[source] + QUIET_S - 0.05, f"{rid} made before its files were quiet"


def test_a_week_makes_one_request_per_order_night_and_source_once_the_night_is_complete(week):
    expected_total = 0
    for k, night in enumerate(NIGHTS):
        before = set(_requests(week))
        if k not in week["catalogs"]:
            _once(week)
            assert set(_requests(week)) == before, f"a request for {night}, which has no runs"
            continue
        _catalog(week, k)
        files = week["staged"][k]
        _once(week)
        assert set(_requests(week)) == before, f"a request for {night} before any of its files came"
        landed: dict[str, float] = {}  # each source's last file of the night so far
        for path, target, source in files[:-1]:
            _land(path, target)
            landed[source] = time.time()
        _once(week)
        waiting = files[-1][2]  # its last file is not there: no request for it; the others' only once quiet
        _check_made(week, before, landed, night, missing=waiting)
        _land(*files[-1][:2])
        landed[waiting] = time.time()
        _once(week)  # a request made now must wait for the quiet time (the daemon may take longer to start)
        _check_made(week, before, landed, night)
        time.sleep(max(0.0, max(landed.values()) + QUIET_S + 0.5 - time.time()))
        _once(week)
        new = {rid: s for rid, s in _requests(week).items() if rid not in before}
        sources = [source for source, nights in OBSERVED.items() if k in nights]
        assert len(new) == len(sources), (night, sorted(new))
        for rid, state in new.items():
            assert state["state"] == "done", (rid, state.get("error"))
            assert state["standing_order"] == ("crab" if state["request"]["source"] == "Crab Nebula" else "blazars")
            assert state["origin"] == "standing order"
            assert rid.startswith(f"{night:%Y%m%d}-000000-")
            assert state["request"]["source"] in sources
        expected_total += len(sources)
        _once(week)  # nothing more, however often the daemon looks
        assert len(_requests(week)) == expected_total
    assert expected_total == 8
    listing = spool_cmd("standing", "list", "--config", str(week["site"]), cwd=week["root"]).stdout
    assert "crab  Crab Nebula" in listing and "5 requests made" in listing
    assert "blazars  Mrk 421, Mrk 501" in listing and "3 requests made" in listing


def test_the_same_week_with_sigkills_at_random_moments_and_a_second_daemon(tmp_path):
    """The week lands night after night while the daemon (cheap steps) is SIGKILLed at random moments and
    restarted, and a second daemon is started on the same spool: still one request per order, night and
    source, none made before that source's files of the night were all there and quiet (a night's sources
    are complete each on its own)."""
    rng = random.Random(int(os.environ.get("ASTRAN_CRASH_SEED", "20261206")))
    week = make_week(tmp_path, limits=f"night_quiet_minutes: {QUIET_S / 60}, data_settle_seconds: 0, "
                                      "data_wait_hours: 720, reconcile_seconds: 0.2, settle_seconds: 0.05")
    spool, log = tmp_path / "spool", tmp_path / "daemon.log"
    proc = start_daemon(spool, log, seconds=0.1, config=week["site"])
    kills, second, complete_at = 0, None, {}
    next_kill = time.monotonic() + rng.uniform(0.2, 2.0)

    def pause(seconds: float) -> None:
        nonlocal proc, kills, next_kill
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if time.monotonic() >= next_kill:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = start_daemon(spool, log, seconds=0.1, config=week["site"])
                next_kill = time.monotonic() + rng.uniform(0.2, 2.0)
            time.sleep(0.02)

    for k, night in enumerate(NIGHTS):
        if k not in week["catalogs"]:
            continue
        _catalog(week, k)
        pause(rng.uniform(0.0, 1.5))
        for path, target, source in week["staged"][k]:
            _land(path, target)
            complete_at[f"{night:%Y%m%d}", source] = time.time()  # its last file so far
            pause(rng.uniform(0.0, 1.5))
        if k == 3:  # a second daemon on the same spool refuses while the first serves it
            second = subprocess.run(daemon_command(spool, seconds=0.1, config=week["site"]), cwd=tmp_path,
                                    capture_output=True, text=True, timeout=60)
    pause(QUIET_S + 4.0)
    wait_for(lambda: len([r for r, st in _requests(week).items() if st.get("state") == "done"]) >= 8,
             timeout=300, interval=0.3, what="the week's requests to be made and done")
    pause(1.0)
    stop_daemon(proc)
    print(f"\n{kills} SIGKILLs during the week")
    assert kills >= 10
    assert second is not None and second.returncode != 0 and "already served" in second.stdout + second.stderr
    requests = _requests(week)
    assert len(requests) == 8, sorted(requests)
    made = [(st["standing_order"], st["request"]["source"], rid[:8]) for rid, st in requests.items()]
    assert len(set(made)) == 8  # one per order, night and source
    assert sorted(made) == sorted(
        ("crab" if source == "Crab Nebula" else "blazars", source, f"{NIGHTS[k]:%Y%m%d}")
        for source, nights in OBSERVED.items() for k in nights)
    for rid, state in requests.items():
        assert state["state"] == "done", (rid, state.get("error"))
        last = complete_at[rid[:8], state["request"]["source"]]
        assert state["claimed_at"] >= last + QUIET_S - 0.05, f"{rid} made before its source's files were quiet"
