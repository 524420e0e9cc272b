"""The ``spoold`` command: serve a spool in the foreground (for systemd or cron).

    spoold --spool DIR [--config SITE] [--once] [--poll] [-v]

``--once`` drains: it runs until every request is terminal, held or waiting for
its data, then exits 0 (the cron mode, under flock). Exit codes: 0 done,
2 a problem with the site file or the spool, 3 another daemon serves the spool.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from spoold import __version__


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    parser = argparse.ArgumentParser(
        prog="spoold",
        description="Serve an astran spool: validate requests dropped into incoming and run them to done.",
    )
    parser.add_argument("--spool", type=Path, help="the spool root (default: the site file's, else ./spool)")
    parser.add_argument("--config", type=Path, help="the site file (YAML); default: the embedded defaults")
    parser.add_argument("--once", action="store_true",
                        help="drain and exit: stop when every request is done, failed, held or waiting for data")
    parser.add_argument("--poll", action="store_true",
                        help="watch incoming by polling instead of inotify (automatic on network filesystems)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")
    parser.add_argument("--version", action="version", version=f"spoold {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``spoold``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s spoold[%(process)d] %(levelname)s %(message)s",
    )
    from spoold.daemon import Daemon
    from spoold.lock import SpoolLocked
    from spoold.site import SiteError, load_site

    try:
        site = load_site(args.config, spool_root=args.spool)
    except SiteError as error:
        for sentence in error.errors:
            print(f"spoold: {sentence}", file=sys.stderr)
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
