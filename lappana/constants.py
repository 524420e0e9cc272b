"""Fixed facts about LST-1 and its data formats, in one place.

Everything a site can change (data roots, eras, environments) lives in the
site configuration of spoold, never here.
"""

import astropy.units as u
from astropy.coordinates import EarthLocation
from astropy.time import Time

#: LST-1 on La Palma, as lstchain places it (lstchain.reco.utils.location).
LST1_LOCATION = EarthLocation.from_geodetic(
    lon=-17.89149701 * u.deg, lat=28.76152611 * u.deg, height=2199.89 * u.m
)
LST1_LON_DEG = -17.89149701
LST1_LAT_DEG = 28.76152611
LST1_HEIGHT_M = 2199.89

#: Reference time of lstchain's DL3 TIME column: 2018-10-01 00:00 UTC.
MJDREFI = 58392
#: Unix time of MJDREF (2018-10-01 00:00 UTC): DL3 TIME + this = unix seconds.
MJDREF_UNIX = (MJDREFI - 40587) * 86400.0
MJDREFF = 0.0
TIME_REFERENCE = Time(MJDREFI + MJDREFF, format="mjd", scale="utc")

#: HDF5 table keys used by lstchain.
DL1_PARAMS_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
DL2_PARAMS_KEY = "/dl2/event/telescope/parameters/LST_LSTCam"

#: Event types in lstchain's ``event_type`` column.
EVENT_TYPE_SHOWER = 32
EVENT_TYPE_FLATFIELD = 0
EVENT_TYPE_PEDESTAL = 2

#: The Crab Nebula, lappana's default source.
CRAB_NAME = "Crab"
CRAB_RA_DEG = 83.633
CRAB_DEC_DEG = 22.014

#: Wobble offset of LST-1 observations.
WOBBLE_OFFSET_DEG = 0.4

TELESCOPE = "LST-1"
