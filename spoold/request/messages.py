"""Say jsonschema's errors as sentences a person understands.

Each sentence names the field (``cuts.gh_efficiency``, ``runs item 2``) and,
where the YAML gave one, its line: ``line 1: 'sorce' is not a known key — did
you mean 'source'?``. The noun phrase of each field ("a list of run numbers")
is the ``title`` of its schema, so the schema and the messages cannot drift.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from spoold.request.yamlsafe import LoadedYaml, field_name, printable

_LINE = re.compile(r"line (\d+)")

__all__ = ["load_schema", "schema_sentences", "schema_report", "sort_sentences", "describe_value"]


#: A property that is exactly ``{"$ref": "request.schema.json#/properties/KEY"}`` is the request's own KEY.
_REQUEST_REF = "request.schema.json#/properties/"


@cache
def load_schema(name: str) -> dict:
    """Return a schema shipped with spoold, e.g. ``load_schema("request")``.

    A field defined as ``{"$ref": "request.schema.json#/properties/KEY"}`` (the standing order's keys that
    a request has too) is replaced by the request schema's definition of KEY, so that both are validated,
    and their problems said, the same way from one definition.
    """
    text = resources.files("spoold").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
    schema = json.loads(text)
    return _inline_request_refs(schema) if name != "request" else schema


def _inline_request_refs(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if len(node) == 1 and isinstance(ref, str) and ref.startswith(_REQUEST_REF):
            return load_schema("request")["properties"][ref[len(_REQUEST_REF):]]
        return {key: _inline_request_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_request_refs(item) for item in node]
    return node


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def describe_value(value: Any) -> str:
    """Describe a YAML value in a few words: ``the text "abc"``, ``the number 5``."""
    if isinstance(value, bool):
        return f"the value {str(value).lower()}"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, (int, float)):
        text = repr(value)
        return f"the number {text if len(text) <= 24 else text[:20] + '...'}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return "the text " + json.dumps(shown, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _quoted(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...", ensure_ascii=False)
    return describe_value(value)


def _subschema(root: Mapping, path: Iterable) -> Mapping:
    """Return the schema of the field at ``path`` (properties and items only)."""
    schema = root
    for part in path:
        if isinstance(part, int):
            schema = schema.get("items", {})
        elif part in schema.get("properties", {}):
            schema = schema["properties"][part]
        elif isinstance(schema.get("additionalProperties"), Mapping):
            schema = schema["additionalProperties"]
        else:
            return {}
    return schema


def _title(root: Mapping, path: Iterable) -> str:
    return _subschema(root, path).get("title", "a valid value")


def _prefix(loaded: LoadedYaml | None, path: tuple) -> str:
    line = loaded.line_of(path) if loaded is not None else None
    return f"line {line}: " if line is not None else ""


def _suggestions(error: ValidationError) -> dict[str, str | None]:
    """For an additionalProperties error: each unknown key and the known key it resembles."""
    allowed = list(error.schema.get("properties", {}))
    return {
        str(key): next(iter(difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)), None)
        for key in error.instance
        if key not in allowed
    }


def _unknown_keys(error: ValidationError, root: Mapping, loaded, path: tuple) -> list[str]:
    allowed = list(error.schema.get("properties", {}))
    where = "" if not path else f" in '{field_name(path)}'"
    out = []
    for key, close in _suggestions(error).items():
        prefix = _prefix(loaded, path + (key,))
        key = printable(key)
        if close:
            out.append(f"{prefix}'{key}' is not a known key{where} — did you mean '{close}'?")
        else:
            out.append(
                f"{prefix}'{key}' is not a known key{where}; the keys are "
                f"{', '.join(allowed)}."
            )
    return out


def _enum(error: ValidationError, root: Mapping, loaded, path: tuple) -> str:
    allowed = [str(v) for v in error.validator_value]
    sentence = (
        f"{_prefix(loaded, path)}'{field_name(path)}' is {_quoted(error.instance)}, which is not "
        f"allowed; choose one of {', '.join(allowed)}"
    )
    if isinstance(error.instance, str):
        close = difflib.get_close_matches(error.instance.lower(), allowed, n=1, cutoff=0.5)
        if close:
            return sentence + f" — did you mean '{close[0]}'?"
    return sentence + "."


def _bound(error: ValidationError, root: Mapping, loaded, path: tuple) -> str:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
    }[error.validator]
    return (
        f"{_prefix(loaded, path)}'{field_name(path)}' must be {words} {error.validator_value}, "
        f"not {error.instance}; it must be {_title(root, path)}."
    )


def _items_count(error: ValidationError, root: Mapping, loaded, path: tuple) -> str:
    name = field_name(path)
    if error.validator == "minItems":
        return f"{_prefix(loaded, path)}'{name}' is an empty list; list at least one or leave '{name}' out."
    return (
        f"{_prefix(loaded, path)}'{name}' lists {len(error.instance)} items; "
        f"at most {error.validator_value} are allowed."
    )


def _unique(error: ValidationError, root: Mapping, loaded, path: tuple) -> str:
    seen, twice = [], []
    for item in error.instance:
        if item in seen and item not in twice:
            twice.append(item)
        seen.append(item)
    shown = ", ".join(json.dumps(v) if isinstance(v, str) else str(v) for v in twice)
    return f"{_prefix(loaded, path)}'{field_name(path)}' lists {shown} more than once; list each once."


def _required(error: ValidationError, root: Mapping, loaded, path: tuple) -> list[str]:
    missing = [k for k in error.validator_value if k not in error.instance]
    where = "" if not path else f" in '{field_name(path)}'"
    out = []
    for key in missing:
        schema = _subschema(root, path + (key,))
        if "x-example" in schema:
            how = f"add a line like '{schema['x-example']}'"
        else:
            how = f"it must be {schema.get('title', 'given')}"
        out.append(f"{_prefix(loaded, path)}'{key}' is missing{where}: {how}.")
    return out


def _dependent(error: ValidationError, root: Mapping, loaded, path: tuple) -> str:
    given = next(k for k, needs in error.validator_value.items() if k in error.instance
                 and any(n not in error.instance for n in needs))
    needs = [n for n in error.validator_value[given] if n not in error.instance]
    return (
        f"{_prefix(loaded, path + (given,))}'{given}' is given without "
        f"'{', '.join(needs)}'; give both (in degrees) or neither."
    )


def _one_of(error: ValidationError, root: Mapping, loaded, path: tuple) -> str:
    schema = _subschema(root, path)
    message = schema.get("x-message") or f"be {schema.get('title', 'valid')}"
    given = ", ".join(error.instance) if isinstance(error.instance, dict) else ""
    given = f"; it gives {given}" if given else ""
    if not path:  # the whole document: a choice between its keys
        return f"It must {message}{given}."
    return f"{_prefix(loaded, path)}'{field_name(path)}': {message}{given}."


def _one(error: ValidationError, root: Mapping, loaded: LoadedYaml | None) -> list[str]:
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties":
        return _unknown_keys(error, root, loaded, path)
    if kind == "required":
        return _required(error, root, loaded, path)
    if kind == "enum":
        return [_enum(error, root, loaded, path)]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [_bound(error, root, loaded, path)]
    if kind in ("minItems", "maxItems"):
        return [_items_count(error, root, loaded, path)]
    if kind == "uniqueItems":
        return [_unique(error, root, loaded, path)]
    if kind == "dependentRequired":
        return [_dependent(error, root, loaded, path)]
    if kind in ("oneOf", "anyOf"):
        return [_one_of(error, root, loaded, path)]
    if kind == "format":
        return [
            f"{_prefix(loaded, path)}'{field_name(path)}' is {_quoted(error.instance)}, which is "
            f"not {_title(root, path)}."
        ]
    if kind in ("type", "pattern", "minLength", "maxLength", "const"):
        return [
            f"{_prefix(loaded, path)}'{field_name(path)}' must be {_title(root, path)}, "
            f"not {describe_value(error.instance)}."
        ]
    return [f"{_prefix(loaded, path)}'{field_name(path)}' is not valid: {error.message}."]


def _top_keys(error: ValidationError) -> set[str]:
    """The top-level keys an error is about (for a root-level error: the keys it names)."""
    path = tuple(error.absolute_path)
    if path:
        return {str(path[0])}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        return {str(k) for k in error.instance if k not in allowed}
    if error.validator == "required":
        return {str(k) for k in error.validator_value}
    if error.validator == "dependentRequired":
        return {str(k) for k in error.validator_value}
    return {"*"}


def sort_sentences(sentences: Iterable[str]) -> list[str]:
    """Order sentences by their line (sentences without a line first), dropping repeats."""
    def line(sentence: str) -> int:
        match = _LINE.match(sentence)
        return int(match.group(1)) if match else 0

    return sorted(dict.fromkeys(sentences), key=line)


def schema_report(name: str, data: Any, loaded: LoadedYaml | None = None) -> tuple[list[str], set[str]]:
    """Validate ``data`` against a shipped schema.

    Returns
    -------
    sentences : list of str
        One per problem, sorted by line; empty when ``data`` is valid.
    bad_keys : set of str
        The top-level keys with a problem (``"*"`` when the whole document is wrong).
    """
    root = load_schema(name)
    errors = list(_validator(name).iter_errors(data))
    # A oneOf failure next to a more precise error about the same field is noise.
    precise = {tuple(e.absolute_path) for e in errors if e.validator not in ("oneOf", "anyOf")}
    # A key reported missing while a misspelling of it is there: the misspelling says it all.
    suggested: set[tuple] = set()
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            for close in _suggestions(error).values():
                if close:
                    suggested.add(tuple(error.absolute_path) + (close,))
    sentences: list[str] = []
    bad: set[str] = {str(p[0]) for p in suggested}
    said: set[tuple] = set()
    for error in errors:
        path = tuple(error.absolute_path)
        bad |= _top_keys(error)
        if error.validator in ("oneOf", "anyOf") and (
            path in precise or any(p[: len(path)] == path and p != path for p in precise)
        ):
            continue
        if error.validator in ("format", "pattern", "minLength", "maxLength"):
            if path in said:
                continue  # one sentence about a string is enough
            said.add(path)
        if error.validator == "required":
            missing = [k for k in error.validator_value
                       if k not in error.instance and path + (k,) not in suggested]
            if not missing:
                continue
            error.validator_value = missing
        sentences.extend(_one(error, root, loaded))
    return sort_sentences(sentences), bad


def schema_sentences(name: str, data: Any, loaded: LoadedYaml | None = None) -> list[str]:
    """Validate ``data`` against a shipped schema; return one sentence per problem.

    Parameters
    ----------
    name : str
        ``"request"`` or ``"site"``.
    data : object
        The values read from YAML.
    loaded : LoadedYaml, optional
        Where the values came from, for line numbers.

    Returns
    -------
    list of str
        Sorted by line; empty when ``data`` is valid.
    """
    return schema_report(name, data, loaded)[0]
