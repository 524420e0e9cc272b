"""Debian's headless Chromium run on a page: a screenshot, or the DOM after the page's scripts ran."""

from __future__ import annotations

import subprocess
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def run_chromium(chromium: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run Chromium once with its own profile under ``tmp_path`` (console messages go to stderr)."""
    profile = tmp_path / f"chrome-profile-{len(list(tmp_path.glob('chrome-profile-*')))}"
    return subprocess.run([str(chromium), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
                           "--v=0", "--virtual-time-budget=5000", *args], capture_output=True, text=True, timeout=120)


def console_lines(stderr: str) -> list[str]:
    """The page's console messages in Chromium's log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]
