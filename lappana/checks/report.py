"""The outcome of checking one file: :class:`CheckReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CheckReport", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_UNUSABLE"]

#: Exit codes of ``lappana check-dl2`` / ``check-dl3``.
EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2


@dataclass
class CheckReport:
    """What a check found in one file.

    Attributes
    ----------
    path : Path
        The file checked.
    kind : str
        ``"DL2"`` or ``"DL3"``.
    problems : list of str
        Sentences, one per problem; empty when the file is fine.
    facts : dict
        What was measured (event counts, times, fractions, ...), JSON-friendly.
    usable : bool
        False when the file could not be read at all.
    """

    path: Path
    kind: str
    problems: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    usable: bool = True

    @property
    def ok(self) -> bool:
        """True when the file is readable and no problem was found."""
        return self.usable and not self.problems

    @property
    def exit_code(self) -> int:
        """0 when ok, 1 when problems were found, 2 when the file is unusable."""
        if not self.usable:
            return EXIT_UNUSABLE
        return EXIT_PROBLEMS if self.problems else EXIT_OK

    def problem(self, sentence: str) -> None:
        """Record a problem (a sentence)."""
        self.problems.append(sentence)

    def unusable(self, sentence: str) -> "CheckReport":
        """Record that the file cannot be read, and return the report."""
        self.usable = False
        self.problems.append(sentence)
        return self

    def text(self) -> str:
        """A report a person reads: verdict, facts, problems."""
        verdict = "OK" if self.ok else ("UNUSABLE" if not self.usable else f"{len(self.problems)} problem(s)")
        lines = [f"{self.kind} {self.path}: {verdict}"]
        width = max((len(k) for k in self.facts), default=0)
        for key, value in self.facts.items():
            lines.append(f"  {key:<{width}}  {_format(value)}")
        for sentence in self.problems:
            lines.append(f"  PROBLEM: {sentence}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The report as a JSON-friendly dict."""
        return {"path": str(self.path), "kind": self.kind, "ok": self.ok, "usable": self.usable,
                "problems": list(self.problems), "facts": dict(self.facts)}


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format(v)}" for k, v in value.items())
    return str(value)
