"""The spool-mail command: sentences and exit codes for settings that cannot work."""

from __future__ import annotations

import subprocess

from tests.helpers.mail import BIN

from spoold.spool import Spool


def _run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "spool-mail"), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_site_without_mail_section_is_refused_with_a_sentence(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(f"spool: {tmp_path / 'spool'}\n")
    proc = _run("--config", str(site), "--once", cwd=tmp_path)
    assert proc.returncode == 2
    assert "has no mail: section" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_server_with_once_is_exit_1_with_the_reason(tmp_path):
    Spool(tmp_path / "spool").init()
    site = tmp_path / "site.yaml"
    site.write_text(
        f"spool: {tmp_path / 'spool'}\nmail:\n  imap_host: 127.0.0.1\n  imap_port: 9\n"
        "  imap_user: astran@example.test\n  smtp_host: 127.0.0.1\n  from_address: astran@example.test\n"
        "  allow: ['@example.test']\n")
    proc = _run("--config", str(site), "--once", cwd=tmp_path)
    assert proc.returncode == 1 and "IMAP 127.0.0.1:9 failed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_password_file_is_a_sentence_not_a_traceback(tmp_path, mail_servers):
    Spool(tmp_path / "spool").init()
    site = mail_servers.site_file(tmp_path, tmp_path / "spool", imap_password_file=str(tmp_path / "nope"))
    proc = _run("--config", str(site), "--once", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"The IMAP password file {tmp_path / 'nope'} cannot be read" in proc.stderr


def test_missing_spool_is_a_sentence(tmp_path, mail_servers):
    site = mail_servers.site_file(tmp_path, tmp_path / "no-spool")
    proc = _run("--config", str(site), "--once", cwd=tmp_path)
    assert proc.returncode == 2 and "spool init" in proc.stderr and "Traceback" not in proc.stderr


def test_idle_period_must_stay_under_29_minutes(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(f"spool: {tmp_path / 'spool'}\nmail:\n  imap_host: h\n  imap_user: u\n  smtp_host: h\n"
                    "  from_address: a@example.test\n")
    proc = _run("--config", str(site), "--idle-seconds", "1800", cwd=tmp_path)
    assert proc.returncode == 2 and "1740" in proc.stderr
