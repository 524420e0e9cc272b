"""summary.json and report.html: schema, products, real headless Chromium, and bad input."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from astropy.io import fits

from lappana.highlevel.analysis import PARTS, make_highlevel
from lappana.highlevel.summary import load_schema, validate_summary
from lappana.index import make_index

from tests.helpers.browser import console_lines, run_chromium
from tests.helpers.highlevel import CRAB

# Added to a copy of the page only: records, per image, whether it decoded and how many colours it has.
PROBE = """<script>window.addEventListener("load", () => {
  const out = [];
  for (const img of document.images) {
    let distinct = 0;
    if (img.naturalWidth > 0) {
      const c = document.createElement("canvas"); c.width = img.naturalWidth; c.height = img.naturalHeight;
      const x = c.getContext("2d"); x.drawImage(img, 0, 0);
      const d = x.getImageData(0, 0, c.width, c.height).data; const seen = new Set();
      for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      distinct = seen.size;
    }
    out.push([img.complete, img.naturalWidth, img.naturalHeight, distinct].join(","));
  }
  const p = document.createElement("pre"); p.id = "probe"; p.textContent = out.join(";");
  document.body.appendChild(p); console.error("probe-control");
});</script>"""


@pytest.fixture(scope="module")
def crab_report(crab_dl3, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    dl2 = sorted((crab_dl3.parent / "DL2").rglob("dl2_*.h5"))
    outcome = make_highlevel(crab_dl3, out, energy_range=(0.2, 100.0), dl2_files=dl2, lstchain_version="0.12.3",
                             parts=PARTS, lightcurve_bin="run", provenance=PROVENANCE, **CRAB)
    return outcome


PROVENANCE = {"request_id": "r-test-1", "nights": ["2023-12-07"], "irf_set": "eff_gh0.70_th0.70"}


def test_summary_validates_and_names_every_product(crab_report):
    doc = json.loads(crab_report.summary.read_text())
    validate_summary(doc)
    assert doc["status"] in ("ok", "incomplete")
    assert set(doc["tools"]) >= {"lappana", "numpy", "astropy", "lstchain"} and doc["tools"]["lstchain"] == "0.12.3"
    assert doc["significance"] > 5 and doc["n_on"] > 0 and doc["alpha"] == pytest.approx(1 / 3)
    for role, rel in doc["products"].items():
        assert (crab_report.summary.parent / rel).is_file(), role
    assert {"theta2_png", "skymap_fits", "skymap_png", "cosmic_rate_png", "report"} <= set(doc["products"])
    assert doc["skymap"]["significance_at_source"] > 5
    assert len(doc["runs"]) == 2 and all(r["cosmic_ratio"] is not None for r in doc["runs"])


def test_summary_and_report_carry_the_flux_its_band_and_the_provenance(crab_report):
    doc = json.loads(crab_report.summary.read_text())
    sp, lc = doc["spectrum"], doc["lightcurve"]
    assert doc["tools"]["gammapy"].startswith("2.")
    assert sp["detected"] and sp["energy_band_tev"][0] == pytest.approx(0.2) and sp["integral_above_tev"] == sp["energy_band_tev"][0]
    assert sp["best"] == "log_parabola" and sp["crab_units"] > 0 and sp["flux_points"]
    assert lc["bin"] == "run" and len(lc["crab_units"]) == 2 and lc["energy_band_tev"] == sp["energy_band_tev"]
    assert {"sed_png", "lightcurve_png"} <= set(doc["products"])
    assert doc["provenance"] == PROVENANCE
    page = crab_report.report.read_text()
    for words in ('id="spectrum"', 'id="lightcurve"', 'id="provenance"', "Crab above 0.2 TeV", "r-test-1"):
        assert words in page, words


def test_summary_and_report_say_what_they_are(crab_report, crab_dl3):
    """Night, UTC times and IRF node of each run, lstchain's version and where it was found, the band of each number."""
    truth = json.loads((crab_dl3.parent / "simulation.json").read_text())
    doc = json.loads(crab_report.summary.read_text())
    assert doc["nights"] == [truth["night"]]
    for run, injected in zip(doc["runs"], truth["runs"]):
        assert run["night"] == truth["night"] and run["irf_file"].startswith("irf_")
        start = dt.datetime.fromisoformat(run["tstart_utc"].replace("Z", "+00:00")).timestamp()
        assert abs(start - injected["tstart_unix"]) < 60  # the first shower of the simulated run, in UTC
        assert abs(run["irf_node"]["zenith_deg"] - injected["mean_zenith_deg"]) < 10
    assert doc["tools"]["lstchain"] == "0.12.3"  # simulated DL2 records none: the version given is used
    assert doc["lstchain_version_from"] == "the lstchain environment that made the DL2"
    assert doc["energy_range_tev"] == [0.2, 100.0] and doc["spectrum"]["energy_band_tev"][0] == pytest.approx(0.2)
    background = doc["skymap"]["background_significance"]
    assert background["n_pixels"] > 1000 and abs(background["mean"]) < 0.5 and 0.6 < background["std"] < 1.4
    assert "significance_histogram_png" in doc["products"]
    page = crab_report.report.read_text()
    for words in ('<h2 id="runs">', "start [UTC]", "How these results were made", "IRF files used",
                  "lstchain</th><td class=\"l\">0.12.3 (from the lstchain environment", "0.2–100 TeV (reconstructed)",
                  "Sky map σ away from the source", truth["night"], "r-test-1"):
        assert words in page, words


def test_theta2_histogram_has_the_alpha_of_the_key_numbers_and_stops_before_off_regions_overlap(crab_dl3):
    from lappana.highlevel.theta2 import theta2

    result = theta2(crab_dl3, n_off=3, energy_range=(0.2, 100.0), **CRAB)
    assert result.theta2_alpha == pytest.approx(result.alpha) == pytest.approx(1 / 3)
    # three OFF regions at a 0.4° wobble are 2·0.4·sin 45° = 0.566° from the ON centre: circles up to 0.283°
    assert 0.05 <= result.theta2_edges_deg2[-1] <= 0.283**2
    assert sum(result.theta2_on) >= result.n_on  # the histogram spans the θ cut
    # all energies: RAD_MAX reaches beyond 0.283° at the lowest, so fewer OFF regions, for both alike
    wide = theta2(crab_dl3, n_off=3, **CRAB)
    assert wide.theta2_alpha == pytest.approx(wide.alpha) and wide.alpha > 1 / 3 and wide.notes


def test_schema_rejects_a_summary_without_significance(crab_report):
    import jsonschema

    doc = json.loads(crab_report.summary.read_text())
    del doc["significance"]
    with pytest.raises(jsonschema.ValidationError):
        validate_summary(doc)
    assert load_schema()["properties"]["schema_version"] == {"const": 1}


def test_report_is_self_contained_and_its_images_decode(crab_report):
    page = crab_report.report.read_text()
    assert not re.search(r'(src|href)="(?!data:)', page), "the page must not load anything"
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 6
    for data in images:
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert float(np.std(pixels[..., :3])) > 0.01, "blank image"


def test_report_in_headless_chromium(crab_report, chromium, tmp_path):
    page = crab_report.report
    shot = tmp_path / "screenshot.png"
    done = run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    pixels = mpimg.imread(shot)
    assert float(np.std(pixels[..., :3])) > 0.01
    assert console_lines(done.stderr) == [], "the page logged to the console"

    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    done = run_chromium(chromium, tmp_path, "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="probe">([^<]*)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    images = [item.split(",") for item in found.group(1).split(";")]
    print(f"chromium: {len(images)} images decoded: " + "; ".join(f"{w}x{h} {n} colours" for _, w, h, n in images))
    assert len(images) == len(re.findall("<img ", page.read_text()))
    for complete, width, height, colours in images:
        assert complete == "true" and int(width) > 0 and int(height) > 0
        assert int(colours) > 5, "an image is blank"
    for section in ("spectrum", "lightcurve", "provenance", "runs"):
        assert re.search(f'<h2 id="{section}">[^<]+</h2>', done.stdout), section
    for caption in ("Sky-map significances away from the source", "θ² distribution", "+ source and its ON region"):
        assert re.search(f"<figcaption>[^<]*{re.escape(caption)}", done.stdout), caption
    assert re.search(r"<th>start \[UTC\]</th>", done.stdout) and "IRF files used" in done.stdout
    console = console_lines(done.stderr)
    assert len(console) == 1 and "probe-control" in console[0], console  # the capture works and nothing else logged


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lappana", *args], capture_output=True, text=True, timeout=300)


def _assert_report_says(out: Path, words: str) -> dict:
    doc = json.loads((out / "summary.json").read_text())
    validate_summary(doc)
    assert any(words in p for p in doc["problems"]), doc["problems"]
    page = (out / "report.html").read_text()
    assert words in page.replace("&#x27;", "'")
    return doc


def test_folder_without_index(crab_dl3, tmp_path):
    folder = tmp_path / "dl3"
    folder.mkdir()
    for path in crab_dl3.glob("dl3_*.fits.gz"):
        shutil.copy(path, folder)
    done = _cli("report", str(folder), "-o", str(tmp_path / "out"), "--source-name", "Crab", "--ra", "83.633",
                "--dec", "22.014")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "lappana index" in done.stderr
    doc = _assert_report_says(tmp_path / "out", "has no hdu-index.fits.gz")
    assert doc["status"] == "failed"


def test_energy_range_without_events(crab_dl3, tmp_path):
    done = _cli("report", str(crab_dl3), "-o", str(tmp_path / "out"), "--emin", "400", "--emax", "900",
                "--no-diagnostics")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    doc = _assert_report_says(tmp_path / "out", "no event after the cuts in 400.0–900.0 TeV")
    assert doc["n_on"] == 0 and doc["significance"] == 0.0


def test_source_outside_the_field_of_view(crab_dl3, tmp_path):
    done = _cli("report", str(crab_dl3), "-o", str(tmp_path / "out"), "--source-name", "Far", "--ra", "120",
                "--dec", "22")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    doc = _assert_report_says(tmp_path / "out", "outside the 2.0° field of view")
    assert doc["status"] == "failed"


def test_run_with_no_event_after_cuts(crab_dl3, tmp_path):
    folder = tmp_path / "dl3"
    folder.mkdir()
    runs = sorted(crab_dl3.glob("dl3_*.fits.gz"))
    shutil.copy(runs[0], folder)
    with fits.open(runs[1]) as hdus:
        hdus["EVENTS"].data = hdus["EVENTS"].data[:0]
        hdus.writeto(folder / runs[1].name)
    make_index(folder)
    done = _cli("report", str(folder), "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    doc = _assert_report_says(tmp_path / "out", "has no event after the cuts")
    assert doc["status"] == "incomplete"
    assert doc["n_on"] > 0
    assert any("no event after the cuts" in " ".join(r["flags"]) for r in doc["runs"])


def test_theta2_and_skymap_commands(crab_dl3, tmp_path):
    done = _cli("theta2", str(crab_dl3), "-o", str(tmp_path), "--emin", "0.2")
    assert done.returncode == 0, done.stderr
    assert "Crab, above 0.2 TeV: 2 run(s)" in done.stdout and "σ" in done.stdout and "as asked for" in done.stdout
    result = json.loads((tmp_path / "theta2.json").read_text())
    assert result["n_on"] > 0 and (tmp_path / "theta2.png").is_file()
    done = _cli("skymap", str(crab_dl3), "-o", str(tmp_path), "--emin", "0.2", "--width", "1.0")
    assert done.returncode == 0, done.stderr
    with fits.open(tmp_path / "skymap.fits") as hdus:
        assert hdus["SIGNIFICANCE"].data.shape == (51, 51)
    done = _cli("theta2", str(crab_dl3), "-o", str(tmp_path), "--emin", "5", "--emax", "1")
    assert done.returncode == 2 and "must be below --emax" in done.stderr and "Traceback" not in done.stderr
    # no --emin: from the IRFs' safe threshold, as the report counts
    from lappana.highlevel.dl3files import read_dl3_folder
    from lappana.highlevel.threshold import energy_band

    band = energy_band(read_dl3_folder(crab_dl3), CRAB["source_ra_deg"], CRAB["source_dec_deg"])
    done = _cli("theta2", str(crab_dl3), "-o", str(tmp_path / "default"))
    assert done.returncode == 0 and "the safe threshold of the IRFs" in done.stdout, done.stderr
    assert json.loads((tmp_path / "default" / "theta2.json").read_text())["energy_range_tev"] == list(band.range_tev)


def test_without_an_energy_range_every_number_counts_from_gammapys_safe_threshold_and_the_report_says_so(
        crab_dl3, tmp_path):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from lappana.highlevel.onoff1d import OnOffMaker, read_observations
    from lappana.highlevel.theta2 import theta2
    from lappana.highlevel.threshold import NO_MAX_TEV

    done = _cli("report", str(crab_dl3), "-o", str(tmp_path / "out"), "--no-diagnostics", "--no-skymap")
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    # gammapy's SafeMaskMaker (aeff-max 10 %) on the same runs: the band starts at the highest run's first safe bin
    datasets = OnOffMaker(SkyCoord(CRAB["source_ra_deg"], CRAB["source_dec_deg"], unit="deg")).run(
        read_observations(crab_dl3))
    first_safe = []
    for d in datasets:
        edges = d.counts.geom.axes["energy"].edges.to_value(u.TeV)
        first_safe.append(edges[np.flatnonzero(d.mask_safe.data.reshape(len(edges) - 1, -1).any(axis=1))[0]])
    assert doc["energy_range_tev"] == [pytest.approx(max(first_safe), rel=1e-9), NO_MAX_TEV]
    threshold = doc["energy_threshold"]
    assert threshold["from_threshold"] and threshold["aeff_percent"] == 10
    assert set(threshold["true_energy_tev"]) == {str(d.name) for d in datasets}
    assert all(e <= doc["energy_range_tev"][0] for e in threshold["true_energy_tev"].values())
    alone = theta2(crab_dl3, n_off=3, energy_range=tuple(doc["energy_range_tev"]), **CRAB)
    assert (doc["n_on"], doc["n_off"]) == (alone.n_on, alone.n_off)
    page = (tmp_path / "out" / "report.html").read_text()
    assert f"Significance (Li & Ma eq. 17), above {doc['energy_range_tev'][0]:.3g} TeV" in page
    assert "the safe threshold of the IRFs" in page
    # everything, when asked for
    done = _cli("report", str(crab_dl3), "-o", str(tmp_path / "all"), "--no-diagnostics", "--no-skymap", "--emin", "0")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "all" / "summary.json").read_text())["n_on"] > doc["n_on"]
