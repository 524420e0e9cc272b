"""The IRF HDUs of two DL3 files compared as issue 15 asks: 1e-4 relative, and the same cut keywords."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

#: The IRF HDUs of a point-like DL3 file and the column that holds each one's values.
IRF_HDUS = {"EFFECTIVE AREA": "EFFAREA", "ENERGY DISPERSION": "MATRIX", "RAD_MAX": "RAD_MAX", "GH_CUTS": "cut"}


def compare_irfs(ours: fits.HDUList, theirs: fits.HDUList, label: str) -> None:
    """Assert that every IRF HDU lstchain wrote is in ours with values within 1e-4 relative (values below
    1e-6 of the largest within 1e-4 of it), and that the cut keywords are the same; print the differences."""
    for extname, column in IRF_HDUS.items():
        if extname not in theirs:
            assert extname not in ours, f"{label}: lappana has {extname}, lstchain has not"
            continue
        a = np.asarray(ours[extname].data[column], dtype=float)
        b = np.asarray(theirs[extname].data[column], dtype=float)
        a, b = (x.reshape(-1) for x in (a, b))
        scale = np.max(np.abs(b))
        big = np.abs(b) > 1e-6 * scale
        rel = np.max(np.abs(a[big] - b[big]) / np.abs(b[big]))
        print(f"{label} {extname}: {a.size} values, max relative difference {rel:.2e}, "
              f"max |Δ| elsewhere {np.max(np.abs(a[~big] - b[~big]), initial=0.0):.2e} (of max {scale:.3g})")
        assert rel < 1e-4, f"{label} {extname}"
        assert np.all(np.abs(a[~big] - b[~big]) <= 1e-4 * scale), f"{label} {extname}"
    for key in ("GH_CUT", "RAD_MAX"):
        assert ours["EFFECTIVE AREA"].header.get(key) == theirs["EFFECTIVE AREA"].header.get(key), (label, key)
