"""A request folder as the replies read it: its state, origin, products and who is to be told."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ADDRESS_RE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Folder:
    """What a reply needs to know about a request folder."""

    path: Path
    request_id: str
    state: dict[str, Any]
    origin: dict[str, Any] | None

    @classmethod
    def read(cls, path: Path) -> Folder:
        """Read state.json and origin.json of a request folder (missing ones are empty)."""
        state, origin = read_json_or_none(Path(path) / "state.json"), read_json_or_none(Path(path) / "origin.json")
        return cls(Path(path), Path(path).name, state if isinstance(state, dict) else {},
                   origin if isinstance(origin, dict) else None)

    @property
    def request(self) -> dict[str, Any]:
        """The request's values as state.json shows them ({} before validation)."""
        return self.state.get("request") or {}

    @property
    def products(self) -> Path:
        """Where the request's products are."""
        summary = read_json_or_none(self.path / "summary.json")
        summary = summary if isinstance(summary, dict) else {}
        where = self.state.get("products") or summary.get("products_dir")
        return Path(where) if where else self.path


def read_json_or_none(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recipients(folder: Folder) -> list[str]:
    """The email's sender, then the request's notify list (each once, in order)."""
    found: list[str] = []
    if folder.origin and folder.origin.get("from"):
        found.append(str(folder.origin["from"]))
    notify = folder.request.get("notify")
    if notify is None and not folder.request:
        notify = _notify_from_yaml(folder.path / "request.yaml")
    for address in notify or []:
        found.append(str(address))
    seen: set[str] = set()
    result = []
    for address in found:
        key = address.strip().lower()
        if _ADDRESS_RE.match(address.strip()) and key not in seen:
            seen.add(key)
            result.append(address.strip())
    return result


def _notify_from_yaml(path: Path) -> list[str]:
    """The notify list of a request that did not validate, read leniently ([] when unreadable)."""
    try:
        import yaml

        data = yaml.safe_load(path.read_bytes()[:65536])
    except Exception:  # noqa: BLE001 - a rejected request may be anything
        return []
    notify = data.get("notify") if isinstance(data, dict) else None
    if isinstance(notify, str):
        notify = [notify]
    return [a for a in notify if isinstance(a, str)] if isinstance(notify, list) else []


def thread_root(folder: Folder, domain: str) -> str:
    """The Message-ID every reply of a request answers: the request email's, else a made-up one."""
    if folder.origin and folder.origin.get("message_id"):
        return str(folder.origin["message_id"])
    return f"<astran.{folder.request_id}@{domain}>"
