"""Standing orders: one ordinary request per night its source was observed, once the night's data are complete.

- :mod:`spoold.standing.order` reads and checks an order file (``spool/standing/<name>.yaml``);
- :mod:`spoold.standing.nights` says which runs of a source a night has and whether its data are complete;
- :mod:`spoold.standing.ledger` records, per order, night and source, the request made (exactly once);
- :mod:`spoold.standing.maker` is the daemon's part: :class:`StandingOrders` and its ``loop()``.

See ``docs/standing.md``.
"""
