"""Flare alerts: a live standing order's runs checked against the site's per-source thresholds.

- :mod:`spoold.alerts.flare` — FACT's rule on the light curve's bins (which bin crosses, and when a
  flux that rises further is told again);
- :mod:`spoold.alerts.ledger` — the alerts sent, per night and source (``spool/alerts/``);
- :mod:`spoold.alerts.watch` — the daemon's part (:class:`~spoold.alerts.watch.FlareAlerts`): each live
  run's request, once done, checked once; an alert journalled on it, which the mail notifier sends.

See docs/standing.md.
"""
