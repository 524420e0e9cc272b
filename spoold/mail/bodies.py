"""The replies' words: subject, body and attachments of the reply to each event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spoold.events import Event
from spoold.mail.folder import Folder, read_json_or_none

#: at most this many PNGs are attached to a done reply, each at most MAX_PNG_BYTES
MAX_PNGS = 6
MAX_PNG_BYTES = 5 * 1024 * 1024
#: lines of a task log attached to a failed reply
LOG_TAIL_LINES = 80

Attachment = tuple[str, bytes, str, str]


def _request_lines(folder: Folder) -> list[str]:
    req = folder.request
    runs = req.get("runs")
    cuts = req.get("cuts") or {}
    lines = [f"  Request:   {folder.request_id}"]
    if req.get("source"):
        where = ""
        if req.get("ra_deg") is not None and req.get("dec_deg") is not None:
            where = f" (RA {float(req['ra_deg']):.3f} deg, Dec {float(req['dec_deg']):.3f} deg)"
        lines.append(f"  Source:    {req['source']}{where}")
    nights = folder.state.get("nights") or []  # resolved night by night (a request with 'nights')
    if len(nights) > 1:
        lines.append(f"  Nights:    {', '.join(f'{n[:4]}-{n[4:6]}-{n[6:]}' for n in nights)}")
    elif req.get("night"):
        lines.append(f"  Night:     {req['night']}")
    every = "every run of the source those nights" if len(nights) > 1 else "every run of the source that night"
    lines.append(f"  Runs:      {', '.join(str(r) for r in runs) if runs else every}")
    if req.get("start_from"):
        lines.append(f"  Start:     {str(req['start_from']).upper()}")
    if cuts:
        lines.append(f"  Cuts:      {', '.join(f'{k} {v}' for k, v in cuts.items())}"
                     + (f" (IRF set {req['irf_set']})" if req.get("irf_set") else ""))
    if req.get("products"):
        lines.append(f"  Products:  {', '.join(req['products'])}")
    return lines


def _steps(folder: Folder) -> list[str]:
    """The steps that will run, as the pipeline chooses them (spoold.pipeline.steps)."""
    req = folder.request
    from spoold.pipeline.steps import NEEDS_DL3 as needs_dl3, NEEDS_REPORT as needs_report

    products = set(req.get("products") or [])
    steps = ["resolve (find the runs and wait for their data)"]
    if req.get("start_from") == "dl1":
        steps.append("dl2 (lstchain DL1 to DL2, one task per run whose DL2 is not made already)")
        if products & needs_dl3:
            steps.append("irf (the IRF set of the cuts for the models, made when nobody made it yet)")
    if products & needs_dl3:
        steps += ["dl3 (DL2 to DL3 with the IRF set, one task per run)", "index (the DL3 index files)"]
    if products & needs_report:
        flux = " spectrum, light curve," if products & {"spectrum", "lightcurve"} else ""
        steps.append(f"report (theta2, sky map, diagnostics,{flux} summary and report.html)")
    return steps


def _accepted(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    body = ["Your analysis request was accepted.", "", *_request_lines(folder), "", "What will run, in order:"]
    body += [f"  {n}. {s}" for n, s in enumerate(_steps(folder), 1)]
    body += ["", "Follow it on the analysis machine with:", f"    spool status {folder.request_id}", "",
             "You will get another email when it is done, fails or is cancelled."]
    return f"accepted: {folder.request_id}", "\n".join(body) + "\n", []


def _rejected(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    errors = []
    try:
        errors = [line for line in (folder.path / "errors.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError:
        pass
    if not errors and event.get("detail"):
        errors = [s.strip() for s in str(event["detail"]).split("; ") if s.strip()]
    body = ["Your analysis request was not accepted, so nothing will run. What to change:", ""]
    body += [f"  {n}. {e}" for n, e in enumerate(errors or ["(the daemon gave no reason)"], 1)]
    body += ["", f"Correct the request and send it again as a NEW message with {keyword} in the subject",
             "(replies are not read as requests). Below is an annotated request that is valid;",
             "it is also attached as request-template.yaml.", ""]
    attachments: list[Attachment] = []
    template = _template()
    if template:
        body += ["-" * 72, template.rstrip("\n"), "-" * 72]
        attachments.append(("request-template.yaml", template.encode("utf-8"), "text", "plain"))
    return f"rejected: {folder.request_id}", "\n".join(body) + "\n", attachments


def _template() -> str:
    try:
        from spoold.commands.template import template_text

        return template_text()
    except Exception:  # noqa: BLE001 - the reply goes out without the template
        return ""


def _waiting(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    body = [f"Your request {folder.request_id} is waiting for its data:", "",
            f"  {event.get('detail') or 'the data are not there yet'}", "",
            "It starts by itself when they arrive; you will not get this message again.",
            f"Follow it with: spool status {folder.request_id}"]
    return f"waiting for data: {folder.request_id}", "\n".join(body) + "\n", []


def _done(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    products = folder.products
    summary = read_json_or_none(products / "summary.json") or read_json_or_none(folder.path / "summary.json")
    summary = summary if isinstance(summary, dict) else {}
    body = [f"Your request {folder.request_id} is done.", "", *_request_lines(folder), ""]
    numbers = key_numbers(summary)
    if numbers:
        body += ["Key numbers:", *[f"  {k}: {v}" for k, v in numbers], ""]
    body.append("Where the results are:")
    report = products / "report.html"
    if report.is_file():
        body.append(f"  report:    {report}")
    if (products / "dl3").is_dir():
        body.append(f"  DL3 files: {products / 'dl3'}")
    if (products / "dl2").is_dir():
        body.append(f"  DL2 files: {products / 'dl2'}")
    body.append(f"  all:       {products}")
    attachments = [(p.name, p.read_bytes(), "image", "png") for p in pictures(products)]
    if attachments:
        body += ["", f"Attached: {', '.join(a[0] for a in attachments)}."]
    return f"done: {folder.request_id}", "\n".join(body) + "\n", attachments


#: summary keys shown first in the done reply (substrings, in this order)
FIRST_KEYS = ("signif", "excess", "n_on", "n_off", "alpha", "livetime", "rate", "flux", "energy")
#: summary entries left out of the done reply (tool versions, file paths: see summary.json);
#: the spectrum and the light curve are said in sentences first (:func:`flux_lines`)
SKIPPED_KEYS = ("request", "products_dir", "products", "paths", "versions", "version", "tools", "files",
                "spectrum", "lightcurve", "provenance")


def key_numbers(summary: dict[str, Any], limit: int = 20) -> list[tuple[str, str]]:
    """The summary's scalar values to show, most telling first, at most ``limit``.

    One level of nesting is flattened as ``a.b``; tool versions and file paths are left
    out; significance, excess, ON/OFF counts, alpha, livetime, rates, flux and energy
    come first, the rest keep their order.
    """
    items: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, float):
            items.append((key, f"{value:.4g}"))
        elif isinstance(value, int) or (isinstance(value, str) and len(value) <= 120 and not value.startswith("/")):
            items.append((key, str(value)))

    for key, value in summary.items():
        if str(key).lower() in SKIPPED_KEYS:
            continue
        if isinstance(value, dict):
            for sub, inner in value.items():
                add(f"{key}.{sub}", inner)
        else:
            add(str(key), value)

    def rank(item: tuple[str, str]) -> int:
        name = item[0].lower()
        return next((n for n, word in enumerate(FIRST_KEYS) if word in name), len(FIRST_KEYS))

    return (flux_lines(summary) + sorted(items, key=rank))[:limit]


def flux_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The flux in Crab units with its energy band, and the light curve's constancy, when the summary has them."""
    out = []
    spectrum, lightcurve = summary.get("spectrum"), summary.get("lightcurve")
    if isinstance(spectrum, dict):
        from lappana.highlevel.report import flux_sentence

        try:
            out.append(("flux", flux_sentence(spectrum)))
        except (KeyError, TypeError, ValueError):
            pass
    if isinstance(lightcurve, dict) and isinstance(lightcurve.get("constancy"), dict):
        c = lightcurve["constancy"]
        p = c.get("p_value")
        out.append(("light curve", f'{len(lightcurve.get("crab_units") or [])} bins ({lightcurve.get("bin")}), '
                                   f'constant flux p = {p:.3g}' if isinstance(p, float) else
                    f'{len(lightcurve.get("crab_units") or [])} bins ({lightcurve.get("bin")})'))
    return out


def pictures(products: Path) -> list[Path]:
    """The PNGs of a request to attach: theta², sky map, SED and light curve first, then the others."""
    try:
        found = sorted(p for p in products.glob("*.png") if p.is_file() and p.stat().st_size <= MAX_PNG_BYTES)
    except OSError:
        return []

    def rank(path: Path) -> tuple[int, str]:
        name = path.name.lower()
        first = ("theta", "sky", "sed", "lightcurve")
        return (next((n for n, word in enumerate(first) if word in name), len(first)), name)

    return sorted(found, key=rank)[:MAX_PNGS]


def _failed(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    step = event.get("step") or folder.state.get("step") or "?"
    attempt = int(event.get("attempt") or 1)
    body = [f"Your request {folder.request_id} failed in step {step}:", "",
            f"  {event.get('detail') or folder.state.get('error') or 'no reason was recorded'}", ""]
    attachments: list[Attachment] = []
    for name in ("error.txt", f"error.attempt{attempt}.txt"):
        path = folder.path / name
        if path.is_file():
            attachments.append(("error.txt", path.read_bytes()[-200_000:], "text", "plain"))
            break
    log = latest_log(folder.path / "logs" / str(step))
    if log is not None:
        attachments.append((f"{step}-{log.name}-tail.txt", tail(log).encode("utf-8"), "text", "plain"))
    if attachments:
        body.append(f"The log tail is attached ({', '.join(a[0] for a in attachments)}).")
    body += [f"Everything about it is in {folder.path} on the analysis machine.",
             f"After fixing the cause, 'spool retry {folder.request_id}' runs it again from that step."]
    return f"failed in {step}: {folder.request_id}", "\n".join(body) + "\n", attachments


def latest_log(folder: Path) -> Path | None:
    """The most recently written task log under a step's log folder, or None."""
    try:
        logs = [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".log", ".txt", ".out", ".err", "")]
    except OSError:
        return None
    return max(logs, key=lambda p: p.stat().st_mtime, default=None)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a text file."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:]) + "\n"


def _cancelled(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    body = [f"Your request {folder.request_id} was cancelled ({event.get('detail') or 'no reason given'}).", "",
            "Nothing more will run for it. To run it after all: "
            f"spool retry {folder.request_id}"]
    return f"cancelled: {folder.request_id}", "\n".join(body) + "\n", []


def _retried(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    body = [f"Your request {folder.request_id} runs again ({event.get('detail') or 'retried'}).", "",
            f"Follow it with: spool status {folder.request_id}"]
    return f"retried: {folder.request_id}", "\n".join(body) + "\n", []


#: the body of the reply to each event that has one
def _alert(folder: Folder, event: dict, keyword: str) -> tuple[str, str, list[Attachment]]:
    from spoold.mail.alert_body import alert_body

    return alert_body(folder, event)


BODIES = {Event.ACCEPTED: _accepted, Event.REJECTED: _rejected, Event.WAITING: _waiting, Event.DONE: _done,
          Event.FAILED: _failed, Event.CANCELLED: _cancelled, Event.RETRIED: _retried, Event.ALERT: _alert}
