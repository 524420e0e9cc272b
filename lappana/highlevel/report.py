"""``report.html``: one self-contained page (PNG figures inlined as base64, no script, no network)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from lappana.highlevel.threshold import NO_MAX_TEV

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
    band = energy_band(s["energy_range_tev"])
    rows = [
        ("Status", f'<span class="{"ok" if s["status"] == "ok" else "bad"}">{_e(s["status"])}</span>'),
        ("Source", f'{_e(s["source"]["name"])} (RA {s["source"]["ra_deg"]:.4f}°, Dec {s["source"]["dec_deg"]:.4f}°)'),
        ("Night" + ("s" if len(s.get("nights") or []) > 1 else ""), _e(", ".join(s.get("nights") or []) or "–")),
        ("Runs used", f'{sum(r["used"] for r in s["runs"])} of {len(s["runs"])}'),
        ("Livetime", f'{s["livetime_s"] / 3600:.3f} h'),
        ("Energy band of θ², the sky map and the numbers below", f"{band} (reconstructed)"),
        ("θ cut", _e(s["cuts"]["theta"])),
        ("N_on / N_off / α", f'{s["n_on"]} / {s["n_off"]} / {s["alpha"]:.4f}'),
        ("Excess", f'{s["excess"]:.1f} ± {s["excess_error"]:.1f}'),
        (f"Significance (Li & Ma eq. 17), {band}", f'<b>{s["significance"]:.2f} σ</b>'),
        ("γ rate", f'{rates["gamma_per_min"]:.3f} ± {rates["gamma_error_per_min"]:.3f} /min'),
        ("Background rate in ON", f'{rates["background_per_min"]:.3f} ± {rates["background_error_per_min"]:.3f} /min'),
    ]
    if s.get("skymap"):
        rows.append(("Sky map σ at the source", _fmt(s["skymap"].get("significance_at_source"))))
        bg = s["skymap"].get("background_significance") or {}
        if bg.get("n_pixels"):
            rows.append(("Sky map σ away from the source", f'mean {bg["mean"]:.2f}, rms {bg["std"]:.2f} over '
                                                           f'{bg["n_pixels"]} pixels (empty sky: 0 and 1)'))
    if s.get("spectrum"):
        rows.append(("Flux", flux_sentence(s["spectrum"])))
    body = "".join(f'<tr><th class="l">{k}</th><td class="l">{v}</td></tr>' for k, v in rows)
    return f'<table class="key">{body}</table>'


def energy_band(energy: list[float] | None) -> str:
    """"above 0.2 TeV", "0.1–1 TeV" or "all energies" (reconstructed; three significant figures)."""
    if not energy or (energy[0] <= 0 and energy[1] >= NO_MAX_TEV):
        return "all energies"
    if energy[1] >= NO_MAX_TEV:
        return f"above {energy[0]:.3g} TeV"
    return f"{energy[0]:.3g}–{energy[1]:.3g} TeV"


def flux_sentence(sp: dict) -> str:
    """"0.98 ± 0.03 Crab above 0.2 TeV (2.0e-10 cm⁻² s⁻¹)" or "not detected: < 0.05 Crab above ..."."""
    above = f'above {sp["integral_above_tev"]:.2g} TeV'
    if sp["detected"]:
        return (f'{sp["crab_units"]:.3g} ± {sp["crab_units_error"]:.2g} Crab {above} '
                f'({sp["integral_flux_cm2_s"]:.3g} ± {sp["integral_flux_error_cm2_s"]:.2g} cm⁻² s⁻¹)')
    return (f'not detected ({sp["significance"]:.1f} σ): < {sp["crab_units_ul"]:.3g} Crab {above} '
            f'(< {sp["integral_flux_ul_cm2_s"]:.3g} cm⁻² s⁻¹, 95 %)')


def _spectrum_section(sp: dict | None) -> str:
    if not sp:
        return ""
    band = sp["energy_band_tev"]
    rows = [("Energy band", f"{band[0]:.3g}–{band[1]:.3g} TeV (reconstructed; safe threshold and energy range)"),
            ("Flux", _e(flux_sentence(sp))),
            ("N_on / N_off / α / σ", f'{_fmt(sp["n_on"], 0)} / {_fmt(sp["n_off"], 0)} / {_fmt(sp["alpha"], 3)} / '
                                     f'{_fmt(sp["significance"])} σ')]
    for name, fit in sp["fits"].items():
        pars = ", ".join(f'{k} = {v:.4g}' + (f' ± {fit["errors"][k]:.2g}' if k in fit["errors"] else "")
                         + (f' {fit["units"][k]}' if fit["units"].get(k) else "") for k, v in fit["parameters"].items())
        best = " (best)" if name == sp["best"] else ""
        rows.append((f'{name.replace("_", "-")}{best}', _e(f'{pars}; WStat {fit["wstat"]:.1f}')))
    body = "".join(f'<tr><th class="l">{k}</th><td class="l">{v}</td></tr>' for k, v in rows)
    return f'<h2 id="spectrum">Spectrum</h2><table class="key">{body}</table>'


def _lightcurve_section(lc: dict | None) -> str:
    if not lc:
        return ""
    c = lc["constancy"]
    p = "–" if c["p_value"] is None else f'{c["p_value"]:.3g}'
    chi2 = "–" if c["chi2"] is None else f'{c["chi2"]:.1f}'
    head = ("<tr><th>start [UTC]</th><th>stop [UTC]</th><th>livetime [min]</th><th>flux [Crab]</th>"
            "<th>95 % UL [Crab]</th><th>flux [cm⁻² s⁻¹]</th></tr>")
    rows = []
    for i in range(len(lc["time_start_utc"])):
        ul = lc["is_ul"][i]
        flux = f'{_fmt(lc["crab_units"][i], 3)} ± {_fmt(lc["crab_units_error"][i], 3)}'
        rows.append(f'<tr><td>{_e(lc["time_start_utc"][i][:19])}</td><td>{_e(lc["time_stop_utc"][i][:19])}</td>'
                    f'<td>{_fmt((lc["livetime_s"][i] or 0) / 60, 1)}</td><td>{"–" if ul else flux}</td>'
                    f'<td>{_fmt(lc["crab_units_ul"][i], 3) if ul else "–"}</td>'
                    f'<td>{"–" if ul or lc["flux_cm2_s"][i] is None else format(lc["flux_cm2_s"][i], ".3g")}</td></tr>')
    return (f'<h2 id="lightcurve">Light curve</h2><p>Bins: {_e(lc["bin"])}; flux above '
            f'{lc["integral_above_tev"]:.2g} TeV; constant flux: χ² = {chi2} for {c["dof"]} degrees of '
            f'freedom, p = {p}.</p><table>{head}{"".join(rows)}</table>')


#: How the caller's provenance keys are shown, in this order (other keys follow as they are).
_PROVENANCE_LABELS = {"request_id": "Request", "nights": "Nights", "runs": "Runs", "start_from": "Started from",
                      "cuts": "Cuts asked for", "irf_set": "IRF set", "irf_dir": "IRF folder", "models": "Models",
                      "models_sha256": "Models' content hash", "lstchain_env": "lstchain environment",
                      "lstchain_config": "lstchain configuration", "dl2_cache": "DL2 files (the DL2 cache)"}


def _provenance_section(s: dict) -> str:
    """Where the results come from: the caller's provenance, the cuts applied, the IRF node of each run, the tools."""
    pv = dict(s.get("provenance") or {})
    rows = [(label, pv.pop(key)) for key, label in _PROVENANCE_LABELS.items() if key in pv]
    rows += [(key, value) for key, value in pv.items() if key != "run_nights"]
    rows.append(("θ cut applied", s["cuts"]["theta"]))
    threshold = s.get("energy_threshold")
    rows.append(("Energy band", f'{energy_band(s["energy_range_tev"])} (reconstructed)'
                 + (f'. {threshold["description"]}' if threshold else "")))
    files = sorted({n["file"] for r in s["runs"] for n in (r.get("irf") or {}).get("nodes", [])}
                   | {r["irf_file"] for r in s["runs"] if r.get("irf_file") and not r.get("irf")})
    rows.append(("IRF files used", ", ".join(files) if files else "not recorded in the DL3 files"))
    tools = s["tools"]
    found = s.get("lstchain_version_from", "–")
    rows.append(("lstchain", f'{tools["lstchain"]} (from {found})' if tools.get("lstchain") else found))
    rows += [(name, tools[name]) for name in ("gammapy", "lappana") if name in tools]
    body = "".join(f'<tr><th class="l">{_e(k)}</th><td class="l">{_e(_plain(v))}</td></tr>' for k, v in rows)
    return f'<h2 id="provenance">How these results were made</h2><table>{body}</table>'


def _plain(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "–" if value is None else str(value)


def _irf_cell(r: dict) -> str:
    """The IRF of a run: its node (zenith, azimuth), or the interpolated nodes with their weights."""
    made = r.get("irf")
    if made and made["method"] == "interpolated":
        return "interpolated: " + ", ".join(f'{_e(n["file"])} ({n["zenith_deg"]:.1f}°, {n["azimuth_deg"]:.1f}°; '
                                            f'weight {n["weight"]:.3f})' for n in made["nodes"])
    node = r.get("irf_node")
    return _e(r.get("irf_file") or "not recorded") + (
        f' ({node["zenith_deg"]:.1f}°, {node["azimuth_deg"]:.1f}°)' if node else "")


def _runs_table(s: dict) -> str:
    if not s["runs"]:
        return "<p>No run.</p>"
    head = ("<tr><th>run</th><th>night</th><th>start [UTC]</th><th>stop [UTC]</th><th>used</th><th>quality</th>"
            "<th>livetime [min]</th><th>zenith [°]</th>"
            "<th>N_on</th><th>N_off</th><th>α</th><th>excess</th><th>σ</th><th>CR rate / LST-1</th>"
            '<th class="l">IRF file (node zenith, azimuth)</th><th class="l">flags</th></tr>')
    rows = []
    for r in s["runs"]:
        good = r.get("good")
        quality = "–" if good is None else ('<span class="ok">good</span>' if good else '<span class="bad">flagged</span>')
        irf = _irf_cell(r)
        rows.append(
            f'<tr><td>{r["obs_id"]}</td><td>{_e(r.get("night", "–"))}</td>'
            f'<td>{_e((r.get("tstart_utc") or "–")[11:19])}</td><td>{_e((r.get("tstop_utc") or "–")[11:19])}</td>'
            f'<td>{"yes" if r["used"] else "no"}</td><td>{quality}</td>'
            f'<td>{r["livetime_s"] / 60:.2f}</td><td>{_fmt(r.get("mean_zenith_deg"), 1)}</td>'
            f'<td>{r["n_on"]}</td><td>{r["n_off"]}</td><td>{r["alpha"]:.3f}</td><td>{r["excess"]:.1f}</td>'
            f'<td>{r["significance"]:.2f}</td><td>{_fmt(r.get("cosmic_ratio"))}</td><td class="l">{irf}</td>'
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
        f"{problems}<h2>Key numbers</h2>{_key_numbers(s)}{_spectrum_section(s.get('spectrum'))}"
        f"{_lightcurve_section(s.get('lightcurve'))}<h2 id=\"runs\">Runs</h2>{_runs_table(s)}"
        f"<h2>Figures</h2>{images or '<p>No figure could be made.</p>'}"
        f"{_provenance_section(s)}<h2>Products</h2><ul>{products}</ul><p>Tools: {tools}</p>"
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
