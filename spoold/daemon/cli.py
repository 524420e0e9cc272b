"""The ``spoold`` command: serve a spool in the foreground (for systemd or cron).

    spoold --spool DIR [--config SITE] [--once] [--poll] [-v]

``--once`` drains: it runs until every request is terminal, held or waiting for
its data (files changed just before it are given three ``data_settle_seconds`` to
settle), then exits 0 (the cron mode, under flock). Exit codes: 0 done,
2 a problem with the site file or the spool, 3 another daemon serves the spool.
"""

from __future__ import annotations

import argparse
import sys

from spoold.program import add_common_arguments, load_site_or_say, setup_logging


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    parser = argparse.ArgumentParser(
        prog="spoold",
        description="Serve an astran spool: validate requests dropped into incoming and run them to done.",
    )
    add_common_arguments(parser, config_help="the site file (YAML); default: the embedded defaults")
    parser.add_argument("--once", action="store_true",
                        help="drain and exit: stop when every request is done, failed, held or waiting for data "
                        "(DL1 files changed just before it are given three data_settle_seconds to settle)")
    parser.add_argument("--poll", action="store_true",
                        help="watch incoming by polling instead of inotify (automatic on network filesystems)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``spoold``."""
    args = build_parser().parse_args(argv)
    setup_logging("spoold", args.verbose)
    from spoold.daemon import Daemon
    from spoold.lock import SpoolLocked

    site = load_site_or_say("spoold", args)
    if site is None:
        return 2
    daemon = Daemon(site, once=args.once, poll=True if args.poll else None)
    daemon.install_signal_handlers()
    try:
        return daemon.run()
    except SpoolLocked as error:
        print(f"spoold: {error}", file=sys.stderr)
        return 3
    except PermissionError as error:
        print(f"spoold: cannot use the spool {site.spool_root}: {error.strerror} ({error.filename}).",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
