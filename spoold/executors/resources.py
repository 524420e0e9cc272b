"""What a task may ask of the batch system: the one copy of the Slurm resources.

The site's ``slurm:`` section (:class:`spoold.site.SlurmSettings` is a
:class:`Resources` with the executor's own settings added), a request's ``slurm:``
(:attr:`spoold.request.Request.slurm`), a step's :attr:`spoold.executors.base.StepJob.resources`
and the batch script (:class:`spoold.executors.slurm.sbatch.ArrayScript`) all hold this
class. ``None`` means "not said here". The merge is done once, by the Slurm executor,
with :func:`for_request`: the built-in defaults, then the site's values, then the
request's, the request's ``extra`` options after the site's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)B?$", re.IGNORECASE)
_UNITS_MB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024.0}


@dataclass(frozen=True)
class Resources:
    """What one task asks Slurm for; ``None`` (and an empty ``extra``) means "not said here".

    Attributes
    ----------
    partition, account, qos : str or None
        Passed as ``--partition``, ``--account``, ``--qos`` when set.
    time : str or None
        Wall-clock limit per task in Slurm's syntax (``"01:00:00"``, ``"30"`` minutes).
    mem : str or None
        Memory per task (``"4G"``, ``"500M"``).
    cpus_per_task : int or None
        ``--cpus-per-task``.
    extra : tuple of str
        Further sbatch options, each a whole option such as ``"--constraint=fat"``.

    The local executor ignores all of them.
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = None
    mem: str | None = None
    cpus_per_task: int | None = None
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A site or request file gives lists; a frozen dataclass must still hold a tuple.
        if not isinstance(self.extra, tuple):
            object.__setattr__(self, "extra", tuple(str(option) for option in self.extra or ()))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> "Resources":
        """The resources among ``values`` (a ``slurm:`` section, a handle's ``resources``); other keys are ignored."""
        values = values or {}
        cpus = values.get("cpus_per_task")
        return cls(partition=values.get("partition"), account=values.get("account"), qos=values.get("qos"),
                   time=values.get("time"), mem=values.get("mem"), cpus_per_task=None if cpus is None else int(cpus),
                   extra=tuple(str(v) for v in values.get("extra") or ()))

    def to_json(self) -> dict[str, Any]:
        """The resources as a JSON-serialisable dict (``extra`` as a list)."""
        return {**{name: getattr(self, name) for name in RESOURCE_FIELDS}, "extra": list(self.extra)}

    def overridden(self, overrides: Mapping[str, object] | object | None) -> "Resources":
        """These resources with the fields ``overrides`` sets replacing these.

        Parameters
        ----------
        overrides : mapping or object or None
            A mapping or an object with some of this class's field names; ``None``
            values (and ``None`` itself) change nothing. A non-empty ``extra`` replaces
            these options (:func:`for_request` puts the site's and the request's together).
        """
        if overrides is None:
            return self
        if not isinstance(overrides, Mapping):
            overrides = {name: getattr(overrides, name, None) for name in RESOURCE_FIELDS}
        changes: dict[str, object] = {}
        for name in RESOURCE_FIELDS:
            value = overrides.get(name)
            if value is None:
                continue
            if name == "extra":
                if value:
                    changes["extra"] = tuple(str(v) for v in value)  # type: ignore[union-attr]
            elif name == "cpus_per_task":
                changes[name] = int(value)  # type: ignore[arg-type]
            else:
                changes[name] = str(value)
        return replace(self, **changes)

    def with_memory_factor(self, factor: float) -> "Resources":
        """These resources with the memory multiplied by ``factor`` (for an out-of-memory retry)."""
        return replace(self, mem=f"{int(round(memory_mb(self.mem or DEFAULTS.mem or '0') * factor))}M")


#: the fields of :class:`Resources` (a subclass such as the site's settings adds its own after them)
RESOURCE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Resources))
#: what a task gets when neither the site nor the request says (docs/site.md)
DEFAULTS = Resources(time="01:00:00", mem="4G", cpus_per_task=1)


def for_request(site: Resources | None, request: Resources | None) -> Resources:
    """The resources of a request's tasks: the defaults, then the site's, then the request's.

    The one merge of site defaults and request overrides. The request's ``extra``
    options come after the site's (sbatch takes the last of a repeated option).
    """
    merged = DEFAULTS.overridden(site)
    if request is not None:
        merged = merged.overridden(request)
        extra = tuple(getattr(site, "extra", ()) or ()) + tuple(request.extra or ())
        merged = replace(merged, extra=extra)
    return merged


def memory_mb(mem: str) -> float:
    """Slurm's memory syntax (``"4G"``, ``"512M"``, ``"2048"``) in megabytes.

    Raises
    ------
    ValueError
        When ``mem`` is not a number with an optional K, M, G or T suffix.
    """
    match = _MEMORY.match(mem.strip())
    if not match:
        raise ValueError(f"memory {mem!r} is not a number with an optional K, M, G or T suffix")
    return float(match.group(1)) * _UNITS_MB[match.group(2).upper()]
