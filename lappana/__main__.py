"""``python -m lappana`` runs the ``lappana`` command."""

import sys

from lappana.cli import main

sys.exit(main())
