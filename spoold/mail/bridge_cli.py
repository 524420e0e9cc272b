"""The ``spool-mail`` command: the email bridge in the foreground.

    spool-mail --spool DIR [--config SITE] [--once] [--idle-seconds S] [--poll-seconds S] [--no-idle] [-v]

Exit codes: 0 stopped (or one pass done), 1 the IMAP server failed during
``--once``, 2 a problem with the site file or its mail settings.
"""

from __future__ import annotations

import argparse
import logging
import sys

from spoold.program import add_common_arguments, load_site_or_say, setup_logging


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    parser = argparse.ArgumentParser(
        prog="spool-mail",
        description="Turn request emails (subject keyword, allowed senders) into files in a spool's incoming.",
    )
    add_common_arguments(parser, config_help="the site file (YAML) with a mail: section")
    parser.add_argument("--once", action="store_true", help="handle what is in the mailbox now, then exit")
    parser.add_argument("--idle-seconds", type=float, default=60.0,
                        help="re-issue IDLE after this many seconds (default 60; must stay under 29 minutes)")
    parser.add_argument("--poll-seconds", type=float, default=15.0,
                        help="poll interval when the server has no IDLE (default 15)")
    parser.add_argument("--no-idle", action="store_true",
                        help="poll even when the server offers IDLE (for servers whose IDLE misbehaves)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``spool-mail``."""
    args = build_parser().parse_args(argv)
    setup_logging("spool-mail", args.verbose)
    from spoold.mail.bridge import Bridge

    site = load_site_or_say("spool-mail", args)
    if site is None:
        return 2
    if site.mail is None:
        print("spool-mail: the site file has no mail: section; add the IMAP and SMTP settings "
              "(see docs/mail.md) and give it with --config.", file=sys.stderr)
        return 2
    if not 0 < args.idle_seconds < 29 * 60:
        print("spool-mail: --idle-seconds must be between 0 and 1740 (servers end an IDLE after 30 minutes).",
              file=sys.stderr)
        return 2
    if not site.mail.allow:
        logging.getLogger("spoold.mail.bridge").warning(
            "the mail allow-list is empty: every message will be set aside; list addresses or @domains")
    from spoold.spool import Spool

    problems = Spool(site.spool_root).check_layout()
    if problems:
        for sentence in problems:
            print(f"spool-mail: {sentence}", file=sys.stderr)
        return 2
    if args.poll_seconds <= 0:
        print("spool-mail: --poll-seconds must be more than 0.", file=sys.stderr)
        return 2
    bridge = Bridge(site.mail, site.spool_root, idle_seconds=args.idle_seconds, poll_seconds=args.poll_seconds,
                    use_idle=not args.no_idle)
    bridge.install_signal_handlers()
    try:
        return bridge.run(once=args.once)
    except PermissionError as error:
        print(f"spool-mail: cannot write into the spool {site.spool_root}: {error.strerror} ({error.filename}).",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
