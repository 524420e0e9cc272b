"""The words of a flare alert: the crossing bin, the threshold, the night's light curve so far and its runs.

Made from the ``alert.json`` that :mod:`spoold.alerts.watch` writes into the live run's request folder.
"""

from __future__ import annotations

from typing import Any

from spoold.mail.folder import Folder, read_json_or_none

__all__ = ["alert_body"]


def _flux(entry: dict[str, Any]) -> str:
    flux, error = entry.get("flux_crab"), entry.get("error_crab")
    if flux is None:
        return "—"
    return f"{flux:.2f} ± {error:.2f}" if error is not None else f"{flux:.2f}"


def light_curve_lines(bins: list[dict[str, Any]]) -> list[str]:
    """The light curve as a table: one line per bin (UTC, run, flux in Crab units, √TS)."""
    lines = [f"  {'start (UTC)':<19}  {'stop':<8}  {'run':>6}  {'flux (Crab)':>13}  {'sigma':>5}"]
    for b in bins:
        lines.append(f"  {str(b.get('start'))[:19]:<19}  {str(b.get('stop'))[11:19]:<8}  {b.get('run') or '':>6}  "
                     f"{_flux(b):>13}  {b.get('sigma') or 0:5.1f}")
    return lines


def alert_body(folder: Folder, event: dict[str, Any]) -> tuple[str, str, list[tuple[str, bytes, str, str]]]:
    """Subject tail, body and attachments (the run's light-curve picture) of an alert."""
    alert = read_json_or_none(folder.path / "alert.json") or {}
    source, threshold = alert.get("source", "the source"), alert.get("threshold") or {}
    above = threshold.get("above_tev")
    subject = (f"FLARE ALERT: {source} at {_flux(alert)} Crab above {above:g} TeV on the night {alert.get('night')}"
               if above is not None else f"FLARE ALERT: {source}")
    body = [f"{source} crossed the site's flare threshold in the live analysis of the night {alert.get('night')}:",
            "", f"  {event.get('detail') or alert.get('detail') or ''}", "",
            f"Threshold: {threshold.get('flux_crab')} Crab above {above} TeV, detected at ≥ {threshold.get('sigma')} σ "
            "(FACT's rule on 20-minute bins; docs/standing.md).",
            f"Runs so far: {', '.join(str(r) for r in alert.get('runs') or [])}", "",
            "The night's light curve so far (flux above the threshold's energy, Crab units):",
            *light_curve_lines(alert.get("light_curve") or []), ""]
    if alert.get("earlier"):
        body += ["Told before this night:", *[f"  {a.get('time')}: {_flux(a)} Crab (run {a.get('run')})"
                                            for a in alert["earlier"]], ""]
    products = folder.products
    body += [f"This run's results: {products}", f"Request: {folder.request_id} (spool status {folder.request_id})"]
    picture = products / "lightcurve.png"
    attachments = [(picture.name, picture.read_bytes(), "image", "png")] if picture.is_file() else []
    return subject, "\n".join(body) + "\n", attachments
