"""spoold: the astran service.

Requests dropped into ``spool/incoming`` are validated, queued and run step by
step (DL1 to DL2 as job arrays, DL3, index, high-level products, report) until
they end in ``done``, ``failed``, ``rejected`` or ``cancelled``. See
``docs/spoold.md`` and ``spool --help``.
"""

from lappana import __version__

__all__ = ["__version__"]
