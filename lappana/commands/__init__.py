"""One module per ``lappana`` subcommand: ``add_arguments``, ``run`` (their help is in :mod:`lappana.cli`)."""
