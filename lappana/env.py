"""Process-wide settings that must hold before astropy is used offline."""

from astropy.utils import iers


def offline_astropy() -> None:
    """Keep astropy from trying to download IERS-A tables (no network here or on nodes)."""
    iers.conf.auto_download = False
    iers.conf.auto_max_age = None


offline_astropy()
