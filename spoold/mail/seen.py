"""The bridge's memory of Message-IDs: one message never makes two requests.

One small JSON file per Message-ID under ``<spool>/mail/seen/`` (named by a hash
of the id), created with O_EXCL before the request is written and completed
after. A record that says ``writing`` means the bridge stopped in between: the
bridge writes the same request again under the same request id.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spoold.files import write_json


class SeenStore:
    """Message-IDs the bridge has turned into requests (or set aside).

    Parameters
    ----------
    folder : Path
        Where the records live (created if missing).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, message_id: str) -> Path:
        digest = hashlib.sha256(message_id.strip().encode("utf-8", "surrogateescape")).hexdigest()[:40]
        return self.folder / f"{digest}.json"

    def get(self, message_id: str) -> dict[str, Any] | None:
        """Return the record of a Message-ID, or None when it was never seen."""
        try:
            return json.loads(self._path(message_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"message_id": message_id, "status": "writing", "request_id": None}

    def begin(self, message_id: str, request_id: str | None, status: str = "writing") -> bool:
        """Record a Message-ID as being handled; False when it was recorded already."""
        record = {
            "message_id": message_id,
            "request_id": request_id,
            "status": status,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        path = self._path(message_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def finish(self, message_id: str, status: str = "written") -> None:
        """Mark a Message-ID's request as safely written."""
        record = self.get(message_id) or {"message_id": message_id, "request_id": None}
        record["status"] = status
        record["time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json(self._path(message_id), record)

    def __len__(self) -> int:
        return sum(1 for p in self.folder.glob("*.json"))
