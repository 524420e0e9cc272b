"""The analysis steps after ``resolve``: dl2, dl3, index, report (lappana commands).

Each step runs ``python -m lappana ...`` with the daemon's own interpreter (the
project's venv, which has lappana), one task per run for dl2 and dl3 — for dl2, one
per subrun of a run the site keeps in subrun DL1 files (``data.dl1_subrun_pattern``;
its dl3 task then reads the run's subrun DL2 files in order, as one run).
Products go under :attr:`Context.products`::

    dl2/dl2_LST-1.Run15864.h5     (start_from: dl1, products: [dl2]: links to the DL2 cache's entries)
    dl3/dl3_LST-1.Run15864.fits.gz, dl3/hdu-index.fits.gz, dl3/obs-index.fits.gz
    summary.json, report.html, *.png  (the report step)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lappana.errors import LappanaError
from lappana.irf_method import IRF_NEAREST
from lappana.paths import run_file_name
from spoold.pipeline import claims, dl2_cache
from spoold.pipeline.base import Context, Step, TaskPlan
from spoold.pipeline.dl3_reuse import link_live_dl3, live_at_work

#: products that need DL3 files
NEEDS_DL3 = frozenset({"dl3", "theta2", "skymap", "diagnostics", "spectrum", "lightcurve", "report"})
#: products that the report step makes
NEEDS_REPORT = frozenset({"theta2", "skymap", "diagnostics", "spectrum", "lightcurve", "report"})


def lappana(*args: str | Path) -> tuple[str, ...]:
    """Return the argv of a lappana command run with the daemon's interpreter."""
    return (sys.executable, "-m", "lappana", *(str(a) for a in args))


def _nonempty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _missing_sentence(step: str, paths: list[Path]) -> str | None:
    missing = [p for p in paths if not _nonempty(p)]
    if not missing:
        return None
    names = ", ".join(p.name for p in missing[:5])
    return f"The {step} step ended without writing {names}; see its task logs."


class Dl2Step(Step):
    """DL1 → DL2 with the site's lstchain, made once into the site's DL2 cache: one task per run to make.

    Runs whose DL2 the cache holds are not made again; runs another request is
    making are waited for (:mod:`spoold.pipeline.dl2_cache`). The DL2 files are
    linked into ``<products>/dl2/`` only when ``dl2`` is asked for.
    """

    name = "dl2"

    def wanted(self, ctx: Context) -> bool:
        return ctx.request.start_from == "dl1"

    def done_already(self, ctx: Context) -> str | None:
        found = dl2_cache.entries(ctx)
        if found and all(entry.made for entry in found):
            dl2_cache.link_wanted(ctx, found)
            return f"the DL2 of the {len(found)} run(s) is in the DL2 cache {dl2_cache.cache_root(ctx)} already"
        return None

    def waits_on(self, ctx: Context) -> str | None:
        others = dl2_cache.made_elsewhere(ctx, dl2_cache.entries(ctx))
        return dl2_cache.waiting_sentence(others) if others else None

    def resources(self, ctx: Context):
        """The request's resources; where the runs are taken in subruns, the memory of one subrun's task is the
        site's ``slurm.subrun_mem`` (when set) unless the request asks for its own."""
        own = ctx.request.slurm
        mem = getattr(getattr(ctx.site, "slurm", None), "subrun_mem", None)
        if mem and not own.mem and any(ctx.subruns_of(run) for run in ctx.runs):
            return own.overridden({"mem": mem})
        return own

    def tasks(self, ctx: Context) -> list[TaskPlan]:
        lst = ctx.site.lstchain
        out = ctx.products / "dl2"
        linked = "dl2" in ctx.request.products
        plans = []
        for entry in dl2_cache.claim_own(ctx, dl2_cache.entries(ctx)):
            dl1 = ctx.dl1_files(entry.run)[entry.subrun or 0]
            argv = ["dl2", dl1, "--cache", dl2_cache.cache_root(ctx),
                    "--lstchain-env", lst.env, "--models", lst.models]
            if linked:
                argv += ["-o", out]
            if lst.config:
                argv += ["--config", lst.config]
            outputs = (out / run_file_name("dl2", entry.run, entry.subrun),) if linked else ()
            plans.append(TaskPlan(entry.label, lappana(*argv), outputs))
        return plans

    def verify(self, ctx: Context) -> str | None:
        found = dl2_cache.entries(ctx)
        missing = [entry.path for entry in found if not entry.made]
        if missing:
            return _missing_sentence(self.name, missing)
        links = dl2_cache.link_wanted(ctx, found)  # those this request did not make itself, too
        return _missing_sentence(self.name, [p for p in links if p.suffix == ".h5"])


def dl2_inputs(ctx: Context) -> dict[int, list[Path]]:
    """The DL2 files the dl3 step reads, per run: the site's (start_from dl2), or the DL2 cache's entries (a run
    taken in subruns: its subrun DL2 files in order)."""
    if ctx.request.start_from == "dl2":
        return {run: [ctx.data_path("dl2", run)] for run in ctx.runs}
    return {run: [entry.path for entry in found] for run, found in dl2_cache.by_run(dl2_cache.entries(ctx)).items()}


class Dl3Step(Step):
    """DL2 → DL3 with the IRF set the cuts choose, made for the DL2's models: one task per run.

    A night's request of a live standing order links the DL3 its runs' own requests made
    (:mod:`spoold.pipeline.dl3_reuse`) and plans tasks only for the others.
    """

    name = "dl3"

    def wanted(self, ctx: Context) -> bool:
        return bool(NEEDS_DL3 & set(ctx.request.products))

    def done_already(self, ctx: Context) -> str | None:
        made = self.outputs(ctx)  # the runs whose DL3 a live request made are linked by now
        if ctx.runs and all(_nonempty(p) for p in made):
            live = len(ctx.runs) - len(made)
            return (f"the DL3 files of the {len(ctx.runs)} run(s) exist already in {ctx.products / 'dl3'}"
                    + (f" ({live} made by the live requests of the order)" if live else ""))
        return None

    def waits_on(self, ctx: Context) -> str | None:
        at_work = live_at_work(ctx)
        if not at_work:
            return None
        return claims.waiting_sentence({rid: [f"run {runs[0]}"] for rid, runs in at_work.items()},
                                       "that run's DL3 (a live standing order's request for one run)")

    def tasks(self, ctx: Context) -> list[TaskPlan]:
        request = ctx.request
        irf = ctx.site.irf_root_for(request.start_from) / request.irf_set_name
        plans = []
        inputs = dl2_inputs(ctx)
        for run in ctx.runs:
            if link_live_dl3(ctx, run):
                continue
            argv = lappana(
                "dl3", *inputs[run], "-o", ctx.products / "dl3", "--irf", irf,
                "--source-name", request.source_name,
                "--source-ra", f"{request.ra_deg:.6f}", "--source-dec", f"{request.dec_deg:.6f}",
                *(["--irf-nearest"] if request.irf == IRF_NEAREST else []),
            )
            plans.append(TaskPlan(f"run{run:05d}", argv, (ctx.products / "dl3" / run_file_name("dl3", run),)))
        return plans

    def verify(self, ctx: Context) -> str | None:
        return _missing_sentence(self.name, [ctx.products / "dl3" / run_file_name("dl3", run) for run in ctx.runs])


class IndexStep(Step):
    """The DL3 index files gammapy's DataStore reads."""

    name = "index"

    def wanted(self, ctx: Context) -> bool:
        return bool(NEEDS_DL3 & set(ctx.request.products))

    def outputs(self, ctx: Context) -> list[Path]:
        """The two index files."""
        return [ctx.products / "dl3" / "hdu-index.fits.gz", ctx.products / "dl3" / "obs-index.fits.gz"]

    def tasks(self, ctx: Context) -> list[TaskPlan]:
        return [TaskPlan("index", lappana("index", ctx.products / "dl3"), tuple(self.outputs(ctx)))]

    def verify(self, ctx: Context) -> str | None:
        return _missing_sentence(self.name, self.outputs(ctx))


class ReportStep(Step):
    """High-level products: theta², sky map, diagnostics, spectrum, light curve, summary.json and report.html."""

    name = "report"

    def wanted(self, ctx: Context) -> bool:
        return bool(NEEDS_REPORT & set(ctx.request.products))

    def outputs(self, ctx: Context) -> list[Path]:
        """summary.json and report.html (the pictures are rewritten by every run)."""
        return [ctx.products / "summary.json", ctx.products / "report.html"]

    def tasks(self, ctx: Context) -> list[TaskPlan]:
        request = ctx.request
        products = set(request.products)
        argv: list[str | Path] = [
            "report", ctx.products / "dl3", "-o", ctx.products,
            "--source-name", request.source_name,
            "--source-ra", f"{request.ra_deg:.6f}", "--source-dec", f"{request.dec_deg:.6f}",
        ]
        if "skymap" not in products and "report" not in products:
            argv.append("--no-skymap")
        low, high = request.energy_range or (None, None)
        if low is not None:
            argv += ["--emin", f"{low:g}"]
        if high is not None:
            argv += ["--emax", f"{high:g}"]
        if "spectrum" in products:
            argv.append("--spectrum")
        if "lightcurve" in products:
            argv += ["--lightcurve", request.lightcurve_bin]
        argv += ["--provenance", json.dumps(provenance(ctx))]
        if request.start_from == "dl1":  # the DL2 comes from the site's lstchain: its version, if the DL2 lacks it
            from lappana.lstchain_env import installed_lstchain_version

            version = installed_lstchain_version(ctx.site.lstchain.env)
            if version:
                argv += ["--lstchain-version", version]
        if "diagnostics" not in products and "report" not in products:
            argv.append("--no-diagnostics")
        else:
            try:
                dl2 = [p for files in dl2_inputs(ctx).values() for p in files if _nonempty(p)]
            except LappanaError:  # a DL1 file gone since: its DL2 cannot be found, the diagnostics go without
                dl2 = []
            if dl2:
                argv += ["--dl2", *dl2]  # the diagnostics before cuts
        return [TaskPlan("report", lappana(*argv), tuple(self.outputs(ctx)))]

    def verify(self, ctx: Context) -> str | None:
        return _missing_sentence(self.name, self.outputs(ctx))


def provenance(ctx: Context) -> dict:
    """What spoold knows of where a request's DL3 comes from, for summary.json."""
    request = ctx.request
    irf = ctx.site.irf_root_for(request.start_from) / request.irf_set_name
    iso = [f"{n[:4]}-{n[4:6]}-{n[6:]}" for n in ctx.nights]
    made = {"request_id": ctx.folder.name, "nights": iso, "runs": ctx.runs,
            "run_nights": {str(r): ctx.night_of_run(r) for r in ctx.runs if ctx.night_of_run(r)},
            "start_from": request.start_from, "cuts": request.cuts.as_dict(), "irf_set": request.irf_set_name,
            "irf_dir": str(irf), "irf": request.irf, "models": None}
    if request.start_from == "dl1":  # the DL2 is the site's lstchain's: which, with which models, where it is
        from lappana.dl2_cache import models_digest

        lst = ctx.site.lstchain
        made.update(models=str(lst.models), lstchain_env=str(lst.env),
                    lstchain_config=str(lst.config) if lst.config else None)
        try:
            made["models_sha256"] = models_digest(lst.models)
            made["dl2_cache"] = {f"{e.run}" + ("" if e.subrun is None else f".{e.subrun:04d}"): str(e.path)
                                 for e in dl2_cache.entries(ctx)}
        except (LappanaError, OSError):
            pass  # the models or a DL1 file are gone since: the report says what it still knows
    return made


def default_steps() -> list[Step]:
    """The analysis steps in order (after ``resolve``)."""
    from spoold.pipeline.irf_step import IrfStep

    return [Dl2Step(), IrfStep(NEEDS_DL3), Dl3Step(), IndexStep(), ReportStep()]
