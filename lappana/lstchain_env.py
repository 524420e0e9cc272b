"""What an lstchain environment holds, read from its folder without running it.

An lstchain environment is a venv or conda folder (or its ``bin/``); a command prefix such as
``conda run -n lst`` has no folder to read, and gives None here.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

__all__ = ["installed_lstchain_version"]


def installed_lstchain_version(env: str | os.PathLike, *, minor: bool = False) -> str | None:
    """The version of the ``lstchain`` distribution installed in an environment, or None when not found.

    Parameters
    ----------
    env : str or path-like
        A venv or conda folder, or its ``bin/`` folder.
    minor : bool
        Give only the major.minor version (``0.12``), as a request names it.
    """
    root = Path(env)
    if not root.is_dir():
        return None
    root = root.parent if root.name == "bin" else root
    for pattern in ("lib/python*/site-packages/lstchain-*.dist-info", "lib/python*/site-packages/lstchain-*.egg-info"):
        for match in sorted(glob.glob(os.path.join(glob.escape(str(root)), pattern))):
            version = Path(match).name[len("lstchain-"):].rsplit(".", 1)[0]
            return ".".join(version.split(".")[:2]) if minor else version
    return None
