"""Nothing writes outside its place (issue 11, cases 7 and 8).

The real daemon (cheap shell steps, as its own process) writes a request's
products inside the request's folder and moves them to ``output`` (or the site's
``output_root``) at the end through folders opened without following links; the
submitter comes from what a drop cannot forge (the file's owner, or the mail
bridge's own folder in ``mailin/``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers.spool import drop, request_yaml, state_of
from tests.helpers.waiting import wait_for
from tests.helpers.poison import Spool


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- case 7 ---------------------------------------------------------------------------------------------
def test_an_output_swapped_for_a_link_while_pending_is_refused_and_nothing_is_written_outside(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "crab").mkdir(parents=True)
    outside.mkdir()
    spool = Spool(tmp_path, seconds=1.0, tasks=1, requests=1, extra_site=f"write_roots: [{allowed}]\n")
    spool.start()
    try:
        blocker = spool.submit(request_yaml().decode(), "blocker.yaml")
        spool.wait_state(blocker, "running")
        victim = spool.submit(request_yaml(runs=(15864,)).decode() + f"output: {allowed / 'crab'}\n", "victim.yaml")
        wait_for(lambda: state_of(spool.root, victim).get("accepted") and spool.where(victim) == ["pending"],
                 what="the victim to be accepted and pending")
        (allowed / "crab").rmdir()
        (allowed / "crab").symlink_to(outside)
        assert spool.wait_state(victim, ("done", "failed")) == "failed"
        assert spool.wait_state(blocker, ("done", "failed")) == "done"
        error = (spool.root / "failed" / victim / "error.txt").read_text()
        assert "symbolic link" in error and str(allowed / "crab") in error
        assert _tree(outside) == []
    finally:
        spool.stop()


def test_an_output_swapped_for_a_link_while_running_is_refused_and_the_products_are_kept(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "crab").mkdir(parents=True)
    outside.mkdir()
    spool = Spool(tmp_path, seconds=1.5, extra_site=f"write_roots: [{allowed}]\n")
    spool.start()
    try:
        victim = spool.submit(request_yaml().decode() + f"output: {allowed / 'crab'}\n", "victim.yaml")
        wait_for(lambda: (spool.root / "running" / victim / "journal.txt").is_file(), what="the victim's tasks")
        (allowed / "crab").rmdir()
        (allowed / "crab").symlink_to(outside)
        assert spool.wait_state(victim, ("done", "failed")) == "failed"
        assert "symbolic link" in (spool.root / "failed" / victim / "error.txt").read_text()
        assert _tree(outside) == []
        kept = spool.root / "failed" / victim / "products" / "out"
        assert sorted(p.name for p in kept.iterdir()) == ["dl3.run15864", "dl3.run15865", "dl3.run15866", "index.index",
                                                          "report.report"]
    finally:
        spool.stop()


def test_an_output_is_filled_only_at_the_end_and_nothing_there_is_replaced(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    spool = Spool(tmp_path, extra_site=f"write_roots: [{allowed}]\n")
    spool.start()
    try:
        first = spool.submit(request_yaml(runs=(15864,)).decode() + f"output: {allowed / 'crab'}\n", "a.yaml")
        assert spool.wait_state(first, ("done", "failed")) == "done"
        assert (allowed / "crab" / "out" / "dl3.run15864").is_file()
        summary = json.loads((spool.root / "done" / first / "summary.json").read_text())
        assert summary["products_dir"] == str(allowed / "crab")
        again = spool.submit(request_yaml(runs=(15864,)).decode() + f"output: {allowed / 'crab'}\n", "b.yaml")
        assert spool.wait_state(again, ("done", "failed")) == "failed"
        assert "nothing there is replaced" in (spool.root / "failed" / again / "error.txt").read_text()
        assert (spool.root / "failed" / again / "products" / "out" / "dl3.run15864").is_file()
    finally:
        spool.stop()


# -- case 8 ---------------------------------------------------------------------------------------------
SHARED = "output_root: {root}\nshared_account: {{enabled: true, products_per_user: true}}\n"


def test_a_sidecar_dropped_beside_a_request_names_nobody(tmp_path: Path) -> None:
    products = tmp_path / "products"
    spool = Spool(tmp_path, extra_site=SHARED.format(root=products))
    spool.start()
    try:
        drop(spool.root, "forged.origin.json", json.dumps({"via": "email", "from": ".."}).encode())
        drop(spool.root, "forged.yaml", request_yaml(runs=(15864,)))
        wait_for(lambda: len(list((spool.root / "done").iterdir())) == 1
                 and len(list((spool.root / "rejected").iterdir())) == 1, what="one done, one rejected")
        done = next((spool.root / "done").iterdir())
        state = json.loads((done / "state.json").read_text())
        import pwd

        owner = pwd.getpwuid(os.getuid()).pw_name
        assert state["submitter"] == owner and state["origin"] == "file"
        assert (products / owner / done.name / "out" / "dl3.run15864").is_file()
        rejected = next((spool.root / "rejected").iterdir())
        assert "origin file" in (rejected / "errors.txt").read_text()
        assert not (tmp_path / done.name).exists()  # where {"from": ".."} would have put them
        assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.log", "data", "products", "site.yaml", "spool"]
    finally:
        spool.stop()


def _mail_folder(spool: Spool, rid: str, sender: str) -> None:
    """A request folder as the mail bridge writes it into mailin (written aside, renamed whole)."""
    part = spool.root / "mailin" / f".{rid}.part"
    part.mkdir()
    (part / "request.yaml").write_bytes(request_yaml(runs=(15864,)))
    (part / "origin.json").write_text(json.dumps({"via": "email", "from": sender, "message_id": f"<{rid}@x>"}))
    part.rename(spool.root / "mailin" / rid)


def test_the_mail_bridges_sender_is_trusted_and_checked_before_it_becomes_a_folder(tmp_path: Path) -> None:
    products = tmp_path / "products"
    spool = Spool(tmp_path, extra_site=SHARED.format(root=products))
    spool.start()
    try:
        good, bad = "20231208-101500-mail-good-0001", "20231208-101500-mail-bad-0002"
        _mail_folder(spool, good, "analyst@example.org")
        _mail_folder(spool, bad, "..")
        assert spool.wait_state(good, ("done", "failed")) == "done"
        assert spool.wait_state(bad, ("done", "failed")) == "failed"
        state = state_of(spool.root, good)
        assert state["submitter"] == "analyst@example.org" and state["origin"] == "email"
        assert (products / "analyst@example.org" / good / "out" / "dl3.run15864").is_file()
        assert "cannot be used as a folder name" in (spool.root / "failed" / bad / "error.txt").read_text()
        assert sorted(p.name for p in products.iterdir()) == ["analyst@example.org"]
        assert not (tmp_path / bad).exists()
    finally:
        spool.stop()


def test_products_cross_to_another_filesystem_by_copy_without_following_links(tmp_path: Path) -> None:
    from tests.helpers.poison import small_disk

    from spoold.publish import PublishError, publish

    staging = tmp_path / "staging"
    (staging / "dl3").mkdir(parents=True)
    (staging / "dl3" / "dl3_LST-1.Run15864.fits.gz").write_bytes(b"x" * 300_000)
    (staging / "summary.json").write_text("{}")
    with small_disk(tmp_path / "other", size="4m") as other:
        (other / "evil").symlink_to(tmp_path / "outside")
        try:
            publish(staging, other / "evil" / "crab", [other])
        except PublishError as error:
            assert "symbolic link" in str(error)
        else:
            raise AssertionError("a link on the way must be refused")
        assert (staging / "summary.json").is_file()  # nothing moved
        publish(staging, other / "alice" / "crab", [other])
        assert (other / "alice" / "crab" / "dl3" / "dl3_LST-1.Run15864.fits.gz").read_bytes() == b"x" * 300_000
        assert (other / "alice" / "crab" / "summary.json").read_text() == "{}"
        assert list(staging.iterdir()) == []
    assert not (tmp_path / "outside").exists()
