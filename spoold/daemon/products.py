"""Where a request's products go, and their move there when it is done.

:class:`Products` is one of the daemon's parts; what it needs from the others is
:class:`Failing` (the runner) and :class:`~spoold.daemon.journal.Changes`. Tasks
write inside the request's folder; with ``output`` or the site's ``output_root``
into ``<folder>/products``, which the daemon moves to the
destination at the end through :mod:`spoold.publish` (no link followed, nothing
replaced). The destination is checked once before any work, too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

from spoold import state as st
from spoold.daemon.journal import Changes
from spoold.events import Event
from spoold.files import write_atomic, write_json
from spoold.pipeline.base import Context
from spoold.publish import PublishError, open_folder, publish, read_published
from spoold.spool import Spool
from spoold.states import Folder, Line, Outcome, RequestState


class Failing(Protocol):
    """What the products need from the runner (:class:`spoold.pipeline.runner.Runner`)."""

    def fail(self, ctx: Context, step: str, sentence: str) -> Outcome:
        """Fail the request at ``step`` with a sentence (it moves to failed/)."""


class Products:
    """The products' destination and publication.

    Parameters
    ----------
    site : Site
    spool : Spool
    changes : Changes
        Journals and changes the requests' states.
    runner : Failing
        Fails a request whose products cannot go where they should.
    """

    def __init__(self, site: Any, spool: Spool, changes: Changes, runner: Failing) -> None:
        self.site = site
        self.spool = spool
        self.changes = changes
        self.runner = runner

    def destination(self, folder: Path, state: dict, request: Any) -> tuple[Path, tuple[Path, ...]] | None:
        """Where a request's products go when it is done, and the roots that path must stay in.

        None when they stay in the request's folder. While the request runs its
        tasks write into ``<folder>/products`` (inside the spool); the daemon
        moves them to the destination at the end (:mod:`spoold.publish`).
        """
        if getattr(request, "output", None):
            return Path(request.output), tuple(self.site.write_roots)
        root = getattr(self.site, "output_root", None)
        if root is None:
            return None
        shared = getattr(self.site, "shared_account", None)
        if shared is not None and getattr(shared, "products_per_user", False) and state.get("submitter"):
            return Path(root) / user_folder(str(state["submitter"])) / folder.name, (Path(root),)
        return Path(root) / folder.name, (Path(root),)

    def destination_problem(self, path: Path, roots: tuple[Path, ...]) -> str | None:
        """A sentence when the products could not be put at ``path`` (checked before any work)."""
        output_root = getattr(self.site, "output_root", None)
        try:
            if output_root is not None and roots == (Path(output_root),):
                Path(output_root).mkdir(parents=True, exist_ok=True)  # the site's own folder
            with open_folder(path, roots):
                return None
        except PublishError as error:
            return str(error)
        except OSError as error:
            return f"{error.filename or path} cannot be created ({error.strerror})."

    def done(self, ctx: Context) -> Outcome:
        """Publish the products (when they go elsewhere) and make the request done (failed if they cannot go)."""
        state = ctx.state
        summary = ctx.folder / "summary.json"
        final = self.spool.dir(Folder.DONE) / ctx.folder.name
        target = self.destination(ctx.folder, state, ctx.request)
        if target is not None:
            problem = self._publish(ctx, target, summary)
            if problem:
                return self.runner.fail(ctx, "publish", problem)
        elif summary.is_file():
            # the report wrote paths inside running/<id>/: say where they will be
            text = summary.read_text(encoding="utf-8")
            if str(ctx.folder) in text:
                write_atomic(summary, text.replace(str(ctx.folder), str(final)))
        else:
            write_json(summary, self._bare_summary(state))
        results = final if target is None else target[0]
        self.changes.transition(ctx.folder, state, RequestState.DONE,
                                Line(Event.DONE, state.get("step"), f"results in {results}"),
                                finished=st.now_iso())
        return Outcome.DONE

    def _publish(self, ctx: Context, target: tuple[Path, tuple[Path, ...]], summary: Path) -> str | None:
        """Move the products to ``target`` and keep their summary.json (saying where) in the request's folder."""
        staged = ctx.products / "summary.json"
        # from the products, or from where a daemon killed during the move already put them
        raw = staged.read_bytes() if staged.is_file() else read_published(*target, "summary.json")
        try:
            data = json.loads((raw or b"").decode("utf-8").replace(str(ctx.products), str(target[0])))
        except ValueError:
            data = self._bare_summary(ctx.state)
        data["products_dir"] = str(target[0])
        if staged.is_file():
            write_json(staged, data)
        try:
            publish(ctx.products, *target)
        except PublishError as error:
            return str(error)
        write_json(summary, data)
        return None

    @staticmethod
    def _bare_summary(state: dict) -> dict[str, Any]:
        """The summary of a request whose steps wrote none."""
        return {"request": state.get("id"), "source": state.get("request", {}).get("source"), "runs": state.get("runs")}


#: submitters that can be a folder name as they are: login names and mail addresses
USER_FOLDER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@+-]{0,127}$")


def user_folder(name: str) -> str:
    """The folder name of a submitter under the site's output root; ValueError when it cannot be one.

    Login names and mail addresses pass as they are; anything that could step out
    of the output root (``..``, a slash, control characters) is refused.
    """
    if USER_FOLDER_RE.match(name) and ".." not in name:
        return name
    raise ValueError(f"the submitter {name!r} cannot be used as a folder name under the site's output_root")


