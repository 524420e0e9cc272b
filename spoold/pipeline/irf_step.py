"""The irf step: the IRF set a request's cuts choose, made on request when nobody made it yet.

A request from DL1 has its DL2 made by the site's models, so its IRFs must be made
for those models (``lstchain.irf_root``). When the set its cuts name is not there,
this step makes it the way the folder's other sets were made (its
``irf-recipe.json``, else the nodes of their file names: :func:`lappana.model_irfs.irf_recipe`):
one task per pointing node, each ``lappana irfs --set NAME --zenith Z --add``
(MC gammas through the real ``lstchain_dl1_to_dl2`` with the models, then the real
``lstchain_create_irf_files`` with those cuts), writing its node's file into the set's
folder. The set is cached there for every later request.

While it is being made the set's folder holds ``.incomplete`` (and the claim,
``made-by.json``, :mod:`spoold.pipeline.claims`): another request with the same cuts
waits for the maker instead of making it again, and takes over if the maker gave
up. The daemon removes ``.incomplete`` once every node's file is there. On Slurm the
dl3 step starts after this step's tasks succeeded (``afterok``), when every node is
written.
"""

from __future__ import annotations

from pathlib import Path

from spoold.pipeline import claims
from spoold.pipeline.base import Context, Step, TaskPlan

#: in the folder of a set being made, until each node's file is there
INCOMPLETE = ".incomplete"


def set_folder(ctx: Context) -> Path:
    """The folder of the IRF set the request's cuts choose, among the models' IRFs."""
    return ctx.site.irf_root_for(ctx.request.start_from) / ctx.request.irf_set_name


def usable(folder: Path) -> bool:
    """True when an IRF set's folder is there and complete."""
    return folder.is_dir() and not (folder / INCOMPLETE).exists()


class IrfStep(Step):
    """Make the IRF set of the request's cuts for the site's models, one task per pointing node."""

    name = "irf"
    reads_upstream = False  # the MC and the models, not the request's DL2

    def __init__(self, needs_dl3: frozenset[str]) -> None:
        self.needs_dl3 = needs_dl3

    def wanted(self, ctx: Context) -> bool:
        """A request from DL1 that needs DL3, at a site whose models have an IRF folder of their own."""
        return (ctx.request.start_from == "dl1" and bool(self.needs_dl3 & set(ctx.request.products))
                and ctx.site.models_irf_root() is not None)

    def done_already(self, ctx: Context) -> str | None:
        folder = set_folder(ctx)
        return f"the IRF set {folder.name} is there already ({folder.parent})" if usable(folder) else None

    def waits_on(self, ctx: Context) -> str | None:
        folder = set_folder(ctx)
        maker = None if usable(folder) else claims.held_by_another(ctx, folder)
        return claims.waiting_sentence({maker: []}, f"the IRF set {folder.name}") if maker else None

    def _nodes(self, ctx: Context) -> tuple[dict, list[tuple[str, float]]]:
        from lappana.model_irfs import irf_node_name, irf_recipe

        recipe = irf_recipe(set_folder(ctx).parent)
        name = ctx.request.irf_set_name
        return recipe, [(irf_node_name(name, zenith, recipe["azimuth"]), zenith) for zenith in recipe["zenith"]]

    def tasks(self, ctx: Context) -> list[TaskPlan]:
        from spoold.pipeline.steps import lappana

        folder, lst = set_folder(ctx), ctx.site.lstchain
        ours = claims.mine(ctx, claims.read_claim(folder), this_attempt=True)
        if usable(folder) and not ours:
            return []  # made (by another, or before): nothing to make
        if not ours:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / INCOMPLETE).touch()
            claims.claim(ctx, folder, self.name, irf_set=folder.name)
        recipe, nodes = self._nodes(ctx)
        plans = []
        for file_name, zenith in nodes:
            argv = ["irfs", "-o", folder.parent, "--set", folder.name, "--zenith", f"{zenith:g}",
                    "--azimuth", f"{recipe['azimuth']:g}", "--seed", str(recipe["seed"]),
                    "--thrown", str(recipe["thrown"]), "--add", "--lstchain-env", lst.env, "--models", lst.models]
            if lst.config:
                argv += ["--config", lst.config]
            plans.append(TaskPlan(f"zen{zenith:04.1f}", lappana(*argv)))  # a node's file is made again in place
        return plans

    def outputs(self, ctx: Context) -> list[Path]:
        """None of the request's own (a node's file is made again in place, ``--overwrite``)."""
        return []

    def verify(self, ctx: Context) -> str | None:
        folder = set_folder(ctx)
        missing = [name for name, _ in self._nodes(ctx)[1] if not (folder / name).is_file()]
        if missing:
            return f"The irf step ended without writing {', '.join(missing[:5])} in {folder}; see its task logs."
        (folder / INCOMPLETE).unlink(missing_ok=True)
        return None
