"""One module per ``lappana`` subcommand: ``HELP``, ``add_arguments``, ``run``."""
