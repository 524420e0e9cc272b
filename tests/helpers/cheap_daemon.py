"""spoold's real daemon with cheap shell steps instead of the analysis, for the daemon's own tests.

The cheap steps (dl3, index, report) append one line per task to the request's
``journal.txt`` (a task that ran twice shows up there), sleep, and touch their output.
Run as a script (``tests.helpers.spool.daemon_command`` builds the command line)::

    python tests/helpers/cheap_daemon.py --spool DIR [--config SITE] [--seconds S] [--once] [--poll] [--fail-step STEP]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


# -- cheap steps for the daemon's own tests --------------------------------------------------------
def cheap_steps(seconds: float = 0.2, fail_step: str | None = None):
    """Steps dl3/index/report that append to journal.txt and sleep; ``fail_step`` exits 3."""
    from spoold.pipeline.base import Context, Step, TaskPlan

    class Cheap(Step):
        def __init__(self, name: str, per_run: bool) -> None:
            self.name, self.per_run = name, per_run

        def _out(self, ctx: Context, label: str) -> Path:
            return ctx.products / "out" / f"{self.name}.{label}"

        def labels(self, ctx: Context) -> list[str]:
            return [f"run{r:05d}" for r in ctx.runs] if self.per_run else [self.name]

        def done_already(self, ctx: Context) -> str | None:
            if all(self._out(ctx, label).exists() for label in self.labels(ctx)):
                return "outputs exist"
            return None

        def tasks(self, ctx: Context) -> list[TaskPlan]:
            plans = []
            for label in self.labels(ctx):
                out = self._out(ctx, label)
                line = f"{self.name} {label} $$"
                code = 3 if fail_step == self.name else 0
                script = (
                    f"mkdir -p {shlex.quote(str(out.parent))}; echo {shlex.quote(line)} >> "
                    f"{shlex.quote(str(ctx.folder / 'journal.txt'))}; echo working on {label}; "
                    f"sleep {seconds}; [ {code} = 0 ] || exit {code}; touch {shlex.quote(str(out))}"
                )
                plans.append(TaskPlan(label, ("sh", "-c", script)))
            return plans

        def verify(self, ctx: Context) -> str | None:
            missing = [label for label in self.labels(ctx) if not self._out(ctx, label).exists()]
            return f"missing outputs {missing}" if missing else None

    return [Cheap("dl3", True), Cheap("index", False), Cheap("report", False)]



def _main() -> int:
    parser = argparse.ArgumentParser(description="spoold with cheap steps, for the tests")
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--poll", action="store_true")
    parser.add_argument("--fail-step")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s spoold[%(process)d] %(levelname)s %(message)s")
    from spoold.daemon import Daemon
    from spoold.lock import SpoolLocked
    from spoold.site import load_site

    site = load_site(args.config, spool_root=args.spool)
    daemon = Daemon(site, steps=cheap_steps(args.seconds, args.fail_step), once=args.once,
                    poll=True if args.poll else None)
    daemon.install_signal_handlers()
    try:
        return daemon.run()
    except SpoolLocked as error:
        print(f"spoold: {error}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(_main())
