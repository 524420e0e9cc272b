"""spoold's daemon with quick stand-in analysis steps, for the mail round-trip tests.

The real :class:`spoold.daemon.Daemon` (intake, resolve on the simulated night,
events, the Notifier) runs with steps named like the real ones (dl2, dl3,
index, report) whose tasks are short shell scripts: dl2 checks that the run's
DL1 file exists, report writes summary.json and copies the PNGs given with
``--pictures``. A request whose YAML carries the comment line ``# fail: STEP``
fails in that step (the task prints an error and exits 3), so one daemon can
show a failure in every step; ``# sleep: S`` makes every task take S seconds.

    python tests/helpers/mail_daemon.py --config SITE --spool DIR --pictures DIR [--once]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path


def quick_steps(pictures: Path):
    """Steps dl2, dl3, index, report with quick shell tasks (see the module's description)."""
    from spoold.pipeline.base import Context, Step, TaskPlan

    summary = {"livetime_h": 0.0033, "n_on": 41, "n_off": 27, "alpha": 0.3333, "excess": 32.0,
               "significance_sigma": 6.12}

    class Quick(Step):
        def __init__(self, name: str, per_run: bool) -> None:
            self.name, self.per_run = name, per_run

        def marker(self, ctx: Context, label: str) -> Path:
            return ctx.products / self.name / f"{label}.done"

        def labels(self, ctx: Context) -> list[str]:
            return [f"run{r:05d}" for r in ctx.runs] if self.per_run else [self.name]

        def script(self, ctx: Context, label: str) -> str:
            q = shlex.quote
            out = self.marker(ctx, label)
            lines = [
                f"echo {q(f'{self.name} {label}: starting')}",
                f"if grep -qx {q('# fail: ' + self.name)} {q(str(ctx.folder / 'request.yaml'))}; then "
                f"echo {q(f'ERROR: injected failure in {self.name} for {label}')}; exit 3; fi",
            ]
            lines.append(f"sleep \"$(sed -n 's/^# sleep: *\\([0-9.]*\\)$/\\1/p' {q(str(ctx.folder / 'request.yaml'))}"
                         " | head -n1)\" 2>/dev/null || true")
            if self.name == "dl2":
                run = int(label[3:])
                lines.append(f"test -s {q(str(ctx.data_path('dl1', run)))} || {{ echo 'no DL1 file'; exit 4; }}")
            if self.name == "report":
                lines.append(f"cp {q(str(pictures))}/*.png {q(str(ctx.products))}/")
                lines.append(f"printf '%s' {q(json.dumps(summary))} > {q(str(ctx.products / 'summary.json'))}")
                lines.append(f"echo '<html>report</html>' > {q(str(ctx.products / 'report.html'))}")
            lines += [f"mkdir -p {q(str(out.parent))}", f"touch {q(str(out))}", "echo done"]
            return "\n".join(lines)

        def tasks(self, ctx: Context) -> list[TaskPlan]:
            return [TaskPlan(label, ("sh", "-c", self.script(ctx, label))) for label in self.labels(ctx)]

        def verify(self, ctx: Context) -> str | None:
            missing = [label for label in self.labels(ctx) if not self.marker(ctx, label).exists()]
            return f"missing outputs {missing}" if missing else None

    return [Quick("dl2", True), Quick("dl3", True), Quick("index", False), Quick("report", False)]


def main() -> int:
    parser = argparse.ArgumentParser(description="spoold with quick steps, for the mail tests")
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--pictures", type=Path, required=True)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s spoold[%(process)d] %(levelname)s %(name)s %(message)s")
    from spoold.daemon import Daemon
    from spoold.site import load_site

    site = load_site(args.config, spool_root=args.spool)
    daemon = Daemon(site, steps=quick_steps(args.pictures), once=args.once, poll=True)
    daemon.install_signal_handlers()
    return daemon.run()


if __name__ == "__main__":
    sys.exit(main())
