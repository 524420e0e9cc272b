"""No module of the project over 400 lines (issue 14): a module that grows past it holds two jobs."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT = 400


def test_no_module_over_400_lines():
    sizes = {path.relative_to(REPO): len(path.read_text().splitlines())
             for package in ("lappana", "spoold") for path in (REPO / package).rglob("*.py")}
    assert len(sizes) > 50  # the walk found the packages
    over = {str(path): n for path, n in sorted(sizes.items()) if n > LIMIT}
    assert not over, f"modules over {LIMIT} lines: {over}"
