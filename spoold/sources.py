"""The source catalogue: names (and aliases) of gamma-ray sources and their coordinates.

A request may name a source without coordinates when the site's catalogue knows
it. Names are compared without regard to case, spaces and underscores, so
``crab nebula``, ``CrabNebula`` and ``Crab_Nebula`` are the same source. The
embedded catalogue (``spoold/data/sources.yaml``) is extended or overridden by
the ``sources:`` section of a site file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources

import yaml

from lappana.sky import angular_separation_deg, normalize_source_name

__all__ = [
    "Source",
    "SourceCatalog",
    "embedded_catalog",
]


@dataclass(frozen=True)
class Source:
    """One source of the catalogue.

    Attributes
    ----------
    name : str
        The canonical name, e.g. ``"Crab Nebula"``.
    ra_deg, dec_deg : float
        ICRS right ascension and declination in degrees.
    aliases : tuple of str
        Other names of the same source, e.g. ``("Crab", "M1")``.
    """

    name: str
    ra_deg: float
    dec_deg: float
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name followed by the aliases."""
        return (self.name, *self.aliases)


class SourceCatalog(Mapping[str, tuple[float, float]]):
    """A read-only mapping from source names to ``(ra_deg, dec_deg)``.

    Lookups accept the canonical name or any alias in any case and spacing;
    iteration yields the canonical names.

    Parameters
    ----------
    sources : iterable of Source
        The sources; a later source with a name or alias already taken replaces
        the earlier owner of that name.
    """

    def __init__(self, sources: Iterable[Source] = ()) -> None:
        self._sources: dict[str, Source] = {}
        self._index: dict[str, str] = {}
        for source in sources:
            self._add(source)

    def _add(self, source: Source) -> None:
        for name in source.names:
            previous = self._index.get(normalize_source_name(name))
            if previous is not None and previous in self._sources:
                old = self._sources.pop(previous)
                for old_name in old.names:
                    self._index.pop(normalize_source_name(old_name), None)
        self._sources[source.name] = source
        for name in source.names:
            self._index[normalize_source_name(name)] = source.name

    def find(self, name: str) -> Source | None:
        """Return the source called ``name`` (or with that alias), or None."""
        canonical = self._index.get(normalize_source_name(name))
        return None if canonical is None else self._sources[canonical]

    def __getitem__(self, name: str) -> tuple[float, float]:
        source = self.find(name)
        if source is None:
            raise KeyError(name)
        return (source.ra_deg, source.dec_deg)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def sources(self) -> tuple[Source, ...]:
        """All sources, in catalogue order."""
        return tuple(self._sources.values())

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Return up to ``n`` catalogue names close to ``name``, best first.

        Each suggestion is the name (canonical or alias) as the catalogue spells it.
        """
        spelled = {}
        for source in self._sources.values():
            for alias in source.names:
                spelled.setdefault(normalize_source_name(alias), alias)
        keys = difflib.get_close_matches(normalize_source_name(name), list(spelled), n=n, cutoff=0.6)
        seen: list[str] = []
        for key in keys:
            if spelled[key] not in seen:
                seen.append(spelled[key])
        return seen

    def nearest(self, ra_deg: float, dec_deg: float, radius_deg: float = 0.5) -> Source | None:
        """Return the catalogue source closest to a position if within ``radius_deg``."""
        best: tuple[float, Source] | None = None
        for source in self._sources.values():
            sep = angular_separation_deg(ra_deg, dec_deg, source.ra_deg, source.dec_deg)
            if sep <= radius_deg and (best is None or sep < best[0]):
                best = (sep, source)
        return None if best is None else best[1]

    def merged(self, extra: Iterable[Source]) -> "SourceCatalog":
        """Return a new catalogue with ``extra`` added (replacing sources of the same names)."""
        return SourceCatalog([*self._sources.values(), *extra])

    def __repr__(self) -> str:
        return f"SourceCatalog({len(self)} sources)"


def sources_from_mapping(entries: Mapping[str, Mapping]) -> list[Source]:
    """Turn ``{name: {ra: .., dec: .., aliases: [..]}}`` into a list of :class:`Source`."""
    return [
        Source(
            name=str(name),
            ra_deg=float(entry["ra"]),
            dec_deg=float(entry["dec"]),
            aliases=tuple(str(a) for a in entry.get("aliases", ()) or ()),
        )
        for name, entry in entries.items()
    ]


def embedded_catalog() -> SourceCatalog:
    """Return the catalogue shipped with spoold (``spoold/data/sources.yaml``)."""
    text = resources.files("spoold").joinpath("data/sources.yaml").read_text(encoding="utf-8")
    return SourceCatalog(sources_from_mapping(yaml.safe_load(text)))
