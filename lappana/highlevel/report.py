"""``report.html``: one self-contained page (PNG figures inlined as base64, no script, no network)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

REPORT_NAME = "report.html"

_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
.bad { color: #b00; } .ok { color: #070; }
.problems { background: #fff4f4; border: 1px solid #e0b0b0; padding: 0.5em 1em; }
.notes { background: #f4f7fb; border: 1px solid #b8c8dc; padding: 0.5em 1em; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; border: 1px solid #ddd; }
.key { font-size: 1.1em; }
"""


def _e(value) -> str:
    return html.escape(str(value))


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _image(path: Path, title: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(title)}">'
            f"<figcaption>{_e(title)}</figcaption></figure>")


def _key_numbers(s: dict) -> str:
    rates = s["rates"]
    energy = s["energy_range_tev"]
    rows = [
        ("Status", f'<span class="{"ok" if s["status"] == "ok" else "bad"}">{_e(s["status"])}</span>'),
        ("Source", f'{_e(s["source"]["name"])} (RA {s["source"]["ra_deg"]:.4f}°, Dec {s["source"]["dec_deg"]:.4f}°)'),
        ("Runs used", f'{sum(r["used"] for r in s["runs"])} of {len(s["runs"])}'),
        ("Livetime", f'{s["livetime_s"] / 3600:.3f} h'),
        ("Energy range", f"{energy[0]:g}–{energy[1]:g} TeV" if energy else "all energies"),
        ("θ cut", _e(s["cuts"]["theta"])),
        ("N_on / N_off / α", f'{s["n_on"]} / {s["n_off"]} / {s["alpha"]:.4f}'),
        ("Excess", f'{s["excess"]:.1f} ± {s["excess_error"]:.1f}'),
        ("Significance (Li & Ma eq. 17)", f'<b>{s["significance"]:.2f} σ</b>'),
        ("γ rate", f'{rates["gamma_per_min"]:.3f} ± {rates["gamma_error_per_min"]:.3f} /min'),
        ("Background rate in ON", f'{rates["background_per_min"]:.3f} ± {rates["background_error_per_min"]:.3f} /min'),
    ]
    if s.get("skymap"):
        rows.append(("Sky map σ at the source", _fmt(s["skymap"].get("significance_at_source"))))
    body = "".join(f'<tr><th class="l">{k}</th><td class="l">{v}</td></tr>' for k, v in rows)
    return f'<table class="key">{body}</table>'


def _runs_table(s: dict) -> str:
    if not s["runs"]:
        return "<p>No run.</p>"
    head = ("<tr><th>run</th><th>used</th><th>quality</th><th>livetime [min]</th><th>zenith [°]</th>"
            "<th>N_on</th><th>N_off</th><th>α</th><th>excess</th><th>σ</th><th>CR rate / LST-1</th>"
            '<th class="l">flags</th></tr>')
    rows = []
    for r in s["runs"]:
        good = r.get("good")
        quality = "–" if good is None else ('<span class="ok">good</span>' if good else '<span class="bad">flagged</span>')
        rows.append(
            f'<tr><td>{r["obs_id"]}</td><td>{"yes" if r["used"] else "no"}</td><td>{quality}</td>'
            f'<td>{r["livetime_s"] / 60:.2f}</td><td>{_fmt(r.get("mean_zenith_deg"), 1)}</td>'
            f'<td>{r["n_on"]}</td><td>{r["n_off"]}</td><td>{r["alpha"]:.3f}</td><td>{r["excess"]:.1f}</td>'
            f'<td>{r["significance"]:.2f}</td><td>{_fmt(r.get("cosmic_ratio"))}</td>'
            f'<td class="l">{_e("; ".join(r.get("flags") or []))}</td></tr>')
    return f"<table>{head}{''.join(rows)}</table>"


def render_report(summary: dict, figures: list[tuple[str, Path]]) -> str:
    """Return the HTML page of a summary and its figures (title, PNG path)."""
    s = summary
    problems = ""
    if s["problems"]:
        items = "".join(f"<li>{_e(p)}</li>" for p in s["problems"])
        problems = f'<div class="problems"><h2>What is missing or could not be used</h2><ul>{items}</ul></div>'
    if s.get("notes"):
        items = "".join(f"<li>{_e(n)}</li>" for n in s["notes"])
        problems += f'<div class="notes"><h2>Notes on the analysis</h2><ul>{items}</ul></div>'
    images = "".join(_image(path, title) for title, path in figures if Path(path).is_file())
    tools = ", ".join(f"{_e(k)} {_e(v)}" for k, v in s["tools"].items())
    products = "".join(f'<li>{_e(k)}: <code>{_e(v)}</code></li>' for k, v in s["products"].items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<link rel="icon" href="data:,">'
        f'<title>{_e(s["source"]["name"])}: LST-1 high-level results</title><style>{_STYLE}</style></head><body>'
        f'<h1>{_e(s["source"]["name"])}: LST-1 high-level results</h1>'
        f'<p>DL3: <code>{_e(s["dl3_dir"])}</code> — written {_e(s["created"])}</p>'
        f"{problems}<h2>Key numbers</h2>{_key_numbers(s)}<h2>Runs</h2>{_runs_table(s)}"
        f"<h2>Figures</h2>{images or '<p>No figure could be made.</p>'}"
        f"<h2>Products</h2><ul>{products}</ul><p>Tools: {tools}</p>"
        "</body></html>\n"
    )


def write_report(out_dir: str | Path, *, summary: dict, figures: list[tuple[str, Path]]) -> Path:
    """Write ``OUT_DIR/report.html`` (atomically) and return its path.

    Parameters
    ----------
    out_dir : str or Path
        Folder of the products.
    summary : dict
        The summary document (see :mod:`lappana.highlevel.summary`).
    figures : list of (str, Path)
        Captions and PNG files, inlined in this order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_NAME
    tmp = path.with_name(f".{REPORT_NAME}.tmp")
    tmp.write_text(render_report(summary, figures), encoding="utf-8")
    os.replace(tmp, path)
    return path
