"""Standing orders (issue 16, point 1): the order file and its sentences, when a night is complete, the
ledger that makes each request once (also across a crash between the request and its record), and
``spool standing add|list|show|remove``.

The maker is driven here with a given ``now`` (ahead of the files, which were written now: their ctime
cannot be set back) on placeholder files of the night before yesterday; the real daemon through a
simulated week is ``test_standing_week.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.helpers.spool import make_tree, spool_cmd
from spoold.site import load_site
from spoold.spool import Spool
from spoold.standing import ledger
from spoold.standing.maker import StandingOrders
from spoold.standing.nights import night_end
from spoold.standing.order import OrderRejected, parse_order

NIGHT = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=2)  # over since yesterday's dawn, < 72 h ago
RUNS = (15864, 15865, 15866)
ADDED = dt.date(2023, 12, 1)
CRAB = f"source: Crab Nebula\nsince: {NIGHT - dt.timedelta(days=1)}\nstart_from: dl2\nproducts: [dl3]\n".encode()


def _site(tmp_path: Path, extra: str = ""):
    if not (tmp_path / "data").is_dir():
        make_tree(tmp_path / "data", night=f"{NIGHT:%Y%m%d}", runs=RUNS, dl2=True)
        (tmp_path / "site.yaml").write_text(f"data: {{root: {tmp_path / 'data'}{extra}}}\n"
                                            "limits: {night_quiet_minutes: 30, data_wait_hours: 72}\n")
        spool_cmd("init", str(tmp_path / "spool"), "--config", str(tmp_path / "site.yaml"), cwd=tmp_path)
    return load_site(tmp_path / "site.yaml", spool_root=tmp_path / "spool")


def _now() -> dt.datetime:
    """Now, after the test's files were written (the maker's ``now`` is given ahead of it)."""
    return dt.datetime.now(dt.timezone.utc)


def _order(tmp_path: Path, name: str = "crab", text: bytes = CRAB) -> Path:
    path = tmp_path / "spool" / "standing" / f"{name}.yaml"
    path.write_bytes(text)
    return path


def _errors(text: bytes, site) -> list[str]:
    with pytest.raises(OrderRejected) as caught:
        parse_order(text, name="x", site=site, added=ADDED)
    print(caught.value.errors)
    return caught.value.errors


def test_an_order_is_read_with_a_requests_sentences(tmp_path):
    site = _site(tmp_path)
    order = parse_order(CRAB, name="crab", site=site, added=ADDED)
    assert [s.name for s in order.sources] == ["Crab Nebula"] and order.since == NIGHT - dt.timedelta(days=1)
    assert order.request_values == {"start_from": "dl2", "products": ["dl3"]}
    many = parse_order(b"every: source\nallow: [Mrk 421, mrk501]\n", name="blazars", site=site, added=ADDED)
    assert [s.name for s in many.sources] == ["Mrk 421", "Mrk 501"] and many.since == ADDED
    assert _errors(b"sorce: Crab\n", site) == ["line 1: 'sorce' is not a known key — did you mean 'source'?"]
    both = _errors(b"source: Crab\nevery: source\nallow: [Mrk 421]\n", site)
    assert both == ["It must name either 'source' (with 'ra' and 'dec' for a source the catalogue does not know) or "
                    "'every: source' with 'allow', the list of sources; it gives source, every, allow."]
    unknown = _errors(b"every: source\nallow:\n  - Mrk 421\n  - Mrk 999\n", site)
    assert len(unknown) == 1 and unknown[0].startswith("line 4: the source 'Mrk 999' of 'allow' is not in the site's")
    assert _errors(b"source: Crab\nsince: 2017-01-01\n", site) == [
        "line 2: 'since' is 2017-01-01, before LST-1's first night (2018-10-01)."]
    flux = _errors(b"source: Crab\nlightcurve: {bin: night}\nproducts: [dl3]\n", site)
    assert len(flux) == 1 and "'lightcurve' sets the bins of a light curve" in flux[0]  # the request's own check
    with pytest.raises(OrderRejected, match="cannot name a standing order"):
        parse_order(CRAB, name="Crab Health", site=site, added=ADDED)


def test_a_night_is_made_once_when_its_files_are_there_and_quiet(tmp_path):
    site, now = _site(tmp_path), _now()
    _order(tmp_path)
    maker = StandingOrders(site, Spool(site.spool_root))
    assert maker.loop(night_end(NIGHT) - dt.timedelta(hours=1), force=True) == []  # the night is not over
    assert maker.loop(now + dt.timedelta(minutes=10), force=True) == []  # not quiet for 30 min
    (made,) = maker.loop(now + dt.timedelta(minutes=31), force=True)
    assert made == ledger.request_id_for("crab", NIGHT, "Crab Nebula") and made.startswith(f"{NIGHT:%Y%m%d}-000000-crab-")
    text = (tmp_path / "spool" / "incoming" / f"{made}.yaml").read_text()
    assert f"night: '{NIGHT}'" in text and "runs: [15864, 15865, 15866]" in text and "standing_order: crab" in text
    assert maker.loop(now + dt.timedelta(hours=5), force=True) == []  # once
    record = ledger.made(tmp_path / "spool" / "standing", "crab", NIGHT, "Crab Nebula")
    assert record["request_id"] == made and record["runs"] == list(RUNS)


def test_a_missing_file_holds_the_night_until_the_wait_is_over(tmp_path):
    site = _site(tmp_path)
    _order(tmp_path)
    (tmp_path / "data" / "DL2" / f"{NIGHT:%Y%m%d}" / "v0.10" / "tailcut84" / "dl2_LST-1.Run15866.h5").unlink()
    maker = StandingOrders(site, Spool(site.spool_root))
    end = night_end(NIGHT)
    assert maker.loop(end + dt.timedelta(hours=71), force=True) == []
    (made,) = maker.loop(end + dt.timedelta(hours=73), force=True)
    text = (tmp_path / "spool" / "incoming" / f"{made}.yaml").read_text()
    assert "runs: [15864, 15865]" in text and "run 15866 did not come in the 72 h after the night" in text


def test_the_end_of_night_marker_decides_when_the_site_names_one(tmp_path):
    site, now = _site(tmp_path, extra=", night_finished_pattern: '{data_root}/DL1/{night}/NightFinished.txt'"), _now()
    _order(tmp_path)
    maker = StandingOrders(site, Spool(site.spool_root))
    assert maker.loop(now + dt.timedelta(days=2), force=True) == []  # quiet for days: still no marker
    marker = tmp_path / "data" / "DL1" / f"{NIGHT:%Y%m%d}" / "NightFinished.txt"
    marker.parent.mkdir(parents=True)
    marker.write_text("")
    assert len(maker.loop(now, force=True)) == 1  # the marker says so at once


def test_a_request_made_before_a_crash_is_found_by_its_id_and_not_made_again(tmp_path):
    site, now = _site(tmp_path), _now()
    _order(tmp_path)
    spool = Spool(site.spool_root)
    rid = ledger.request_id_for("crab", NIGHT, "Crab Nebula")
    spool.drop(f"source: Crab Nebula\nnight: {NIGHT}\n".encode(), rid)  # a crash after the drop, before the record
    assert StandingOrders(site, spool).loop(now + dt.timedelta(hours=2), force=True) == []
    assert ledger.made(tmp_path / "spool" / "standing", "crab", NIGHT, "Crab Nebula")["request_id"] == rid
    assert os.listdir(tmp_path / "spool" / "incoming") == [f"{rid}.yaml"]


def test_a_bad_order_is_said_once_and_the_others_go_on(tmp_path, caplog):
    site, now = _site(tmp_path), _now()
    _order(tmp_path, "broken", b"source: Crab\nsince: yesterday\n")
    _order(tmp_path)
    maker = StandingOrders(site, Spool(site.spool_root))
    with caplog.at_level("ERROR", logger="spoold.standing"):
        assert len(maker.loop(now + dt.timedelta(hours=2), force=True)) == 1
        maker.loop(now + dt.timedelta(hours=3), force=True)
    said = [r.getMessage() for r in caplog.records if "broken.yaml" in r.getMessage()]
    assert len(said) == 1 and "'since' is \"yesterday\"" in said[0]


def test_spool_standing_add_list_show_remove(tmp_path):
    site = _site(tmp_path)
    config = ("--config", str(tmp_path / "site.yaml"))
    good = tmp_path / "crab-health.yaml"
    good.write_bytes(CRAB)
    added = spool_cmd("standing", "add", str(good), *config, cwd=tmp_path)
    assert f"standing order crab-health added: Crab Nebula, every night from {NIGHT - dt.timedelta(days=1)}" in added.stdout
    assert (tmp_path / "spool" / "standing" / "crab-health.yaml").read_bytes() == CRAB
    again = spool_cmd("standing", "add", str(good), *config, cwd=tmp_path, check=False)
    assert again.returncode == 2 and "--replace" in again.stderr
    bad = tmp_path / "typo.yaml"
    bad.write_text("source: Crab\nproducts: [dl3, thetta2]\n")
    refused = spool_cmd("standing", "add", str(bad), *config, cwd=tmp_path, check=False)
    assert refused.returncode == 1 and "is not a valid standing order" in refused.stdout
    assert "line 2: 'products item 2'" in refused.stdout and not (tmp_path / "spool" / "standing" / "typo.yaml").exists()
    (tmp_path / "spool" / "standing" / "by-hand.yaml").write_text("every: source\n")  # copied in, not checked
    listing = spool_cmd("standing", "list", *config, cwd=tmp_path).stdout
    assert "by-hand  NOT VALID, makes no requests" in listing
    assert f"crab-health  Crab Nebula  since {NIGHT - dt.timedelta(days=1)}  0 requests made" in listing
    shown = spool_cmd("standing", "show", "crab-health", *config, cwd=tmp_path).stdout
    assert "requests made: none yet" in shown
    assert f"{NIGHT}  Crab Nebula  runs 15864, 15865, 15866: its files changed" in shown  # just written: not quiet
    StandingOrders(site, Spool(site.spool_root)).loop(_now() + dt.timedelta(hours=2), force=True)
    shown = spool_cmd("standing", "show", "crab-health", *config, cwd=tmp_path).stdout
    assert "requests made (1):" in shown and f"{NIGHT}  Crab Nebula  {NIGHT:%Y%m%d}-000000-crab-health-" in shown
    listing = spool_cmd("standing", "list", *config, cwd=tmp_path).stdout
    assert f"1 request made, last for the night {NIGHT}" in listing
    removed = spool_cmd("standing", "remove", "crab-health", *config, cwd=tmp_path).stdout
    assert "standing order crab-health removed" in removed
    assert not (tmp_path / "spool" / "standing" / "crab-health.yaml").exists()
    assert len(list((tmp_path / "spool" / "standing" / ".removed").glob("crab-health.*.yaml"))) == 1
    missing = spool_cmd("standing", "show", "crab-health", *config, cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "There is no standing order crab-health" in missing.stderr
