"""Read untrusted YAML into plain Python values, remembering the line of every field.

What a person or a mail bridge drops into the spool is untrusted. Before any
YAML is parsed the size is capped and the bytes must be UTF-8 text (a UTF-8
byte-order mark is allowed). The YAML itself may not use anchors, aliases
(alias bombs) or tags (custom constructors), may not repeat a key, and may not
nest deeper than a small limit. Every problem becomes a sentence, with the line
(and column) where YAML knows it.

Scalars are read as YAML 1.1 does (PyYAML's safe resolver) except that dates
and ``1:00:00``-like sexagesimal numbers are kept as the text written, so the
schema sees ``night: 2023-12-07`` and ``time: 1:00:00`` as strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

__all__ = ["YamlProblem", "LoadedYaml", "decode_text", "load_yaml_mapping", "field_name", "printable"]

#: Deepest nesting of mappings and lists accepted (a request needs 3).
MAX_DEPTH = 12
#: At most this many sentences about anchors, aliases and tags are given.
_MAX_REPORTED = 10

_TAG = "tag:yaml.org,2002:"
#: libyaml when PyYAML has it (about 10 times faster); errors are re-read with the pure-Python
#: parser, whose messages name the problem better.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KEEP_AS_TEXT = {_TAG + "timestamp"}


class YamlProblem(Exception):
    """The text cannot be read as YAML; ``errors`` holds one sentence per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class LoadedYaml:
    """A YAML mapping read into Python values, with the line of each field.

    Attributes
    ----------
    data : dict
        The values: dict, list, str, int, float, bool and None only.
    lines : dict
        Maps a field path (a tuple of keys and list indices) to its 1-based line.
    """

    data: dict[str, Any]
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, path: Sequence) -> int | None:
        """Return the line of ``path`` or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def printable(text: object, limit: int = 60) -> str:
    """Return ``text`` shortened to ``limit`` characters, control characters escaped.

    Sentences quote what a user wrote; this keeps a hostile key from adding
    lines to ``errors.txt`` or to a reply.
    """
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def field_name(path: Sequence) -> str:
    """Name a field for a person: ``cuts.gh_efficiency``, ``runs item 2``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f" item {part + 1}"
        else:
            text += ("." if text else "") + printable(part)
    return text or "the request"


def _at(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def decode_text(raw: bytes, *, max_bytes: int, what: str = "request") -> str:
    """Check the size and the encoding of ``raw`` and return its text.

    Parameters
    ----------
    raw : bytes
        The file's bytes.
    max_bytes : int
        The largest size accepted.
    what : str
        What the file is, for the sentences (``"request"``, ``"site file"``).

    Raises
    ------
    YamlProblem
        When the file is too large, empty, binary, UTF-16/32 or not UTF-8.
    """
    if len(raw) > max_bytes:
        raise YamlProblem([
            f"The {what} is {len(raw):,} bytes, more than the limit of {max_bytes:,} bytes; "
            f"a {what} is a few lines of YAML, so check that this is the right file."
        ])
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):
            raise YamlProblem([
                f"The {what} is {name} text (it starts with a {name} byte-order mark); "
                "save it as UTF-8."
            ])
    zero = raw.find(b"\x00")
    if zero >= 0:
        raise YamlProblem([
            f"The {what} is a binary file, not YAML text (a zero byte at byte offset {zero}); "
            "write the request as UTF-8 text."
        ])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlProblem([
            f"The {what} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset "
            f"{exc.start} (line {line}) is not valid UTF-8; save the file as UTF-8."
        ]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        raise YamlProblem([
            f"The {what} is empty: write YAML keys and values such as 'source: Crab Nebula' "
            "(run 'spool template' for an annotated example)."
        ])
    return text


def _syntax_sentence(exc: yaml.YAMLError, what: str, text: str = "") -> str:
    """Turn a PyYAML error into a sentence with the line and column."""
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text.count("\n", 0, exc.position) + 1
        return (
            f"line {line}: the {what} contains the control character U+{code:04X}; remove it "
            "(only printable text is allowed)."
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = (getattr(exc, "problem", None) or str(exc)).strip()
    where = _at(mark) if mark is not None else "somewhere"
    if "'\\t'" in problem or "\\t" in problem:
        return (
            f"{where}: YAML does not allow a tab character here (tabs cannot indent YAML); "
            "use spaces."
        )
    hint = ""
    context_text = str(getattr(exc, "context", None) or "")
    if "quoted scalar" in context_text:
        hint = "a quote is opened and never closed"
    elif "flow sequence" in context_text or "flow mapping" in context_text:
        hint = "check the brackets: each '[' or '{' needs its ']' or '}', items separated by commas"
    elif "could not find expected ':'" in problem:
        hint = "a key needs ': ' after it"
    elif "cannot start any token" in problem:
        hint = "quote a value that starts with @, ` or %"
    elif "mapping values are not allowed" in problem:
        lines = text.splitlines()
        line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        if line[:1].isspace() and line.count(": ") + line.rstrip().endswith(":") <= 1:
            hint = "this line is indented more than it should be: keys of one mapping start in the same column"
        else:
            hint = "a second ':' on one line: put quotes around a value that contains ': '"
    elif "expected <block end>" in problem or "did not find expected key" in problem:
        hint = "check the indentation: keys of one mapping start in the same column"
    context = (getattr(exc, "context", None) or "").strip()
    if "single document" in problem + context:
        return f"{where}: the {what} holds more than one YAML document ('---'); keep one."
    context = f" {context}" if context else ""
    hint = f"; {hint}" if hint else ""
    return f"{where}: the YAML is not valid: {problem}{context}{hint}."


def _scan_events(text: str, what: str, max_depth: int, loader=_FAST_LOADER) -> None:
    """Reject anchors, aliases, tags and deep nesting before anything is built."""
    errors: list[str] = []
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                errors.append(
                    f"{_at(event.start_mark)}: YAML aliases ('*{event.anchor}') are not allowed "
                    "in a request; write the value out."
                )
            elif getattr(event, "anchor", None):
                errors.append(
                    f"{_at(event.start_mark)}: YAML anchors ('&{event.anchor}') are not allowed "
                    "in a request; write the value out."
                )
            if getattr(event, "tag", None) and not isinstance(event, yaml.DocumentStartEvent):
                tag = event.tag.replace(_TAG, "!!", 1) if event.tag.startswith(_TAG) else event.tag
                errors.append(
                    f"{_at(event.start_mark)}: YAML tags such as '{tag}' are not allowed "
                    "in a request; write plain values."
                )
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    raise YamlProblem([
                        f"{_at(event.start_mark)}: the {what} nests lists and mappings more than "
                        f"{max_depth} deep; a request needs at most 3 levels."
                    ])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if len(errors) >= _MAX_REPORTED:
                break
    except yaml.YAMLError as exc:
        if loader is not yaml.SafeLoader:
            return _scan_events(text, what, max_depth, yaml.SafeLoader)
        errors.append(_syntax_sentence(exc, what, text))
    if errors:
        raise YamlProblem(errors)


class _Builder:
    """Build plain values from a composed node tree, with lines and duplicate-key checks."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[tuple, int] = {}
        self.errors: list[str] = []

    def build(self, node, path: tuple) -> Any:
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            out = []
            for index, item in enumerate(node.value):
                self.lines[path + (index,)] = item.start_mark.line + 1
                out.append(self.build(item, path + (index,)))
            return out
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: tuple) -> dict:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                self.errors.append(
                    f"line {line}: a key of {field_name(path)} is a list or mapping; "
                    "keys must be plain names such as 'source'."
                )
                continue
            key = str(key_node.value)
            if key in first_line:
                self.errors.append(
                    f"line {line}: '{field_name(path + (key,))}' is given twice (first on line "
                    f"{first_line[key]}); keep only one."
                )
                continue
            first_line[key] = line
            self.lines[path + (key,)] = line
            out[key] = self.build(value_node, path + (key,))
        return out

    def _scalar(self, node: ScalarNode, path: tuple) -> Any:
        line = node.start_mark.line + 1
        if node.tag in _KEEP_AS_TEXT or (
            node.tag in (_TAG + "int", _TAG + "float") and ":" in node.value
        ):
            return node.value
        if node.tag == _TAG + "str" or node.tag not in {
            _TAG + t for t in ("int", "float", "bool", "null")
        }:
            return node.value
        try:
            value = self.loader.construct_object(node)
        except (ValueError, OverflowError):
            self.errors.append(
                f"line {line}: '{field_name(path)}' is a number too long to read; "
                "write a reasonable number."
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.errors.append(
                f"line {line}: '{field_name(path)}' is {node.value}, which is not a finite "
                "number; write an ordinary number."
            )
            return None
        return value


def load_yaml_mapping(
    raw: bytes, *, max_bytes: int, what: str = "request", max_depth: int = MAX_DEPTH
) -> LoadedYaml:
    """Read untrusted YAML bytes that must hold one mapping.

    Parameters
    ----------
    raw : bytes
        The file's bytes.
    max_bytes : int
        The size limit, checked before anything is parsed.
    what : str
        What the file is, for the sentences.
    max_depth : int
        Deepest nesting of lists and mappings accepted.

    Returns
    -------
    LoadedYaml
        The mapping and the line of every field.

    Raises
    ------
    YamlProblem
        With one sentence per problem found.
    """
    text = decode_text(raw, max_bytes=max_bytes, what=what)
    _scan_events(text, what, max_depth)
    node, loader = None, None
    for loader_class in dict.fromkeys((_FAST_LOADER, yaml.SafeLoader)):
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            break
        except yaml.YAMLError as exc:
            if loader_class is yaml.SafeLoader:
                raise YamlProblem([_syntax_sentence(exc, what, text)]) from None
        finally:
            loader.dispose()
    if node is None:
        raise YamlProblem([
            f"The {what} is empty: write YAML keys and values such as 'source: Crab Nebula' "
            "(run 'spool template' for an annotated example)."
        ])
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else f"the text {node.value[:40]!r}"
        raise YamlProblem([
            f"line {node.start_mark.line + 1}: the {what} must be a mapping of keys to values "
            f"(like 'source: Crab Nebula' on its own line), not {kind}."
        ])
    builder = _Builder(loader)
    data = builder.build(node, ())
    if builder.errors:
        raise YamlProblem(builder.errors)
    return LoadedYaml(data=data, lines=builder.lines)
