"""The site file's smaller sections as typed settings: limits, shared account, Slurm, mail, flare alerts.

:mod:`spoold.site` reads the site file and builds these; ``docs/site.md`` documents every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spoold.executors.resources import Resources

__all__ = ["AlertSettings", "FlareThreshold", "Limits", "MailSettings", "SharedAccount", "SlurmSettings",
           "alert_settings"]


@dataclass(frozen=True)
class Limits:
    """Limits of the daemon (sizes in bytes, times in hours or seconds)."""

    max_request_bytes: int = 64 * 1024
    max_requests_in_flight: int = 4
    max_tasks_in_flight: int = 2
    data_wait_hours: float = 36.0
    settle_seconds: float = 0.5
    data_settle_seconds: float = 10.0
    reconcile_seconds: float = 5.0
    night_quiet_minutes: float = 30.0
    live_quiet_seconds: float = 120.0


@dataclass(frozen=True)
class SharedAccount:
    """Shared-account mode: a group-writable incoming, submitter from the file's owner."""

    enabled: bool = False
    group: str | None = None
    products_per_user: bool = True


@dataclass(frozen=True)
class SlurmSettings(Resources):
    """The site's Slurm resources (the fields of :class:`~spoold.executors.resources.Resources`,
    which a request may override) and the executor's behaviour (the fields below)."""

    array_throttle: int = 10
    subrun_mem: str | None = None
    max_jobs_in_flight: int = 200
    poll_seconds: float = 5.0
    poll_max_seconds: float = 60.0
    retry_states: list[str] = field(default_factory=lambda: ["NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY"])
    max_retries: int = 2
    mem_factor_on_oom: float = 2.0


@dataclass(frozen=True)
class MailSettings:
    """IMAP (requests by email) and SMTP (replies) settings."""

    imap_host: str
    imap_user: str
    smtp_host: str
    from_address: str
    imap_port: int = 993
    imap_tls: Literal["ssl", "starttls"] = "ssl"
    imap_password_file: Path | None = None
    imap_folder: str = "INBOX"
    processed_folder: str = "processed"
    keyword: str = "ASTRAN-LAUNCH"
    allow: list[str] = field(default_factory=list)
    token: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password_file: Path | None = None
    smtp_starttls: bool = True
    ca_file: Path | None = None




@dataclass(frozen=True)
class FlareThreshold:
    """When a source is flaring: a 20-minute bin (:attr:`AlertSettings.bin_minutes`) of its light curve above
    ``above_tev`` with a flux of at least ``flux_crab`` Crab units, detected at ``sigma`` or more."""

    flux_crab: float
    above_tev: float = 1.0
    sigma: float = 3.0


@dataclass(frozen=True)
class AlertSettings:
    """Flare alerts (``alerts:`` in the site file; docs/standing.md): who is told besides a live order's
    ``notify`` list, the light curve's bin, and each source's threshold (by the catalogue's name)."""

    to: tuple[str, ...] = ()
    bin_minutes: float = 20.0
    sources: dict[str, FlareThreshold] = field(default_factory=dict)

    def threshold_for(self, source: str) -> FlareThreshold | None:
        """The threshold of a source (its catalogue name, as a request names it), or None."""
        return self.sources.get(source)


def alert_settings(raw: dict[str, Any], catalog: Any) -> AlertSettings:
    """The ``alerts`` section; a source the catalogue knows is keyed by the catalogue's name."""
    sources = {}
    for name, given in (raw.get("sources") or {}).items():
        known = catalog.find(str(name))
        sources[known.name if known is not None else str(name)] = FlareThreshold(**given)
    return AlertSettings(to=tuple(raw.get("to") or ()), bin_minutes=float(raw.get("bin_minutes", 20.0)),
                         sources=sources)
