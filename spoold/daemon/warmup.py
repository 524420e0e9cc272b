"""Imports made in a thread at the daemon's start, so that the first request does not wait for them."""


def import_run_catalog_reader() -> None:
    """Import what reading a run catalogue needs (imports are thread-safe)."""
    try:
        import astropy.table  # noqa: F401
    except Exception:  # noqa: BLE001 - the first request imports it again and says what is wrong
        pass
