"""Read a folder of GADF DL3 files: index, events, GTI, RAD_MAX, pointing, livetime.

The folder is what ``lappana dl3`` + ``lappana index`` (or lstchain's
``lstchain_create_dl3_file`` + ``lstchain_create_dl3_index_files``) write: one
``dl3_LST-1.RunNNNNN.fits[.gz]`` per run and ``hdu-index.fits.gz`` /
``obs-index.fits.gz``. The runs are found through ``hdu-index`` as gammapy's
``DataStore`` finds them, so what lappana analyses is what gammapy would.
"""

from __future__ import annotations

import io
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from astropy.io import fits
from astropy.table import Table

from lappana.errors import LappanaError
from lappana.highlevel.threshold import EffectiveArea, read_effective_area

HDU_INDEX_NAMES = ("hdu-index.fits.gz", "hdu-index.fits")
#: Runs read at the same time.
READ_THREADS = 4


@dataclass
class RadMax:
    """The ON-region radius of a run: global or binned in reconstructed energy.

    Attributes
    ----------
    energy_lo, energy_hi : numpy.ndarray or None
        Bin edges in TeV of an energy-dependent ``RAD_MAX_2D``; None for a global cut.
    values_deg : numpy.ndarray
        The radius per energy bin (degrees), or one value for a global cut.
    """

    values_deg: np.ndarray
    energy_lo: np.ndarray | None = None
    energy_hi: np.ndarray | None = None

    @property
    def is_global(self) -> bool:
        """True when one radius applies to every energy."""
        return self.energy_lo is None

    def evaluate(self, energy_tev: np.ndarray) -> np.ndarray:
        """Return the radius (deg) at each energy as gammapy does (nearest node in log energy).

        Parameters
        ----------
        energy_tev : numpy.ndarray
            Reconstructed energies in TeV.
        """
        energy_tev = np.asarray(energy_tev, dtype=float)
        if self.is_global:
            return np.full(energy_tev.shape, float(self.values_deg[0]))
        log_centres = 0.5 * (np.log(self.energy_lo) + np.log(self.energy_hi))
        log_e = np.log(np.clip(energy_tev, 1e-300, None))
        # nearest node: boundaries half-way between the log centres
        bounds = 0.5 * (log_centres[1:] + log_centres[:-1])
        index = np.searchsorted(bounds, log_e, side="left")
        return self.values_deg[index]

    def describe(self) -> str:
        """Say the cut in words."""
        if self.is_global:
            return f"θ < {float(self.values_deg[0]):.3f}° (global RAD_MAX)"
        return (f"θ < RAD_MAX(E) from {self.values_deg.min():.3f}° to {self.values_deg.max():.3f}° "
                f"(energy-dependent RAD_MAX_2D)")

    def to_dict(self) -> dict:
        """A JSON-able description."""
        if self.is_global:
            return {"type": "global", "rad_max_deg": float(self.values_deg[0])}
        return {"type": "energy_dependent", "energy_lo_tev": self.energy_lo.tolist(),
                "energy_hi_tev": self.energy_hi.tolist(), "rad_max_deg": self.values_deg.tolist()}


@dataclass
class Dl3Run:
    """One run of a DL3 folder, with its events in memory (DL3 event lists are small).

    Attributes
    ----------
    obs_id : int
    path : Path
    ra_deg, dec_deg, energy_tev, time_s, gammaness : numpy.ndarray
        Event columns (TIME in seconds since MJDREF).
    alt_deg : numpy.ndarray or None
        Event altitude, when the file has it.
    pointing_ra_deg, pointing_dec_deg : float
        ``RA_PNT``/``DEC_PNT``, the fixed pointing gammapy uses.
    livetime_s : float
        gammapy's livetime: ΣGTI × DEADC.
    tstart_s, tstop_s : float
    gti : numpy.ndarray
        (n, 2) START/STOP in seconds since MJDREF.
    rad_max : RadMax or None
    header : astropy.io.fits.Header
        The EVENTS header.
    aeff : lappana.highlevel.threshold.EffectiveArea or None
        The ``EFFECTIVE AREA`` HDU (the safe energy threshold comes from it).
    """

    obs_id: int
    path: Path
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    energy_tev: np.ndarray
    time_s: np.ndarray
    gammaness: np.ndarray | None
    alt_deg: np.ndarray | None
    pointing_ra_deg: float
    pointing_dec_deg: float
    livetime_s: float
    tstart_s: float
    tstop_s: float
    gti: np.ndarray
    rad_max: RadMax | None
    header: fits.Header = field(repr=False)
    aeff: EffectiveArea | None = field(default=None, repr=False)

    @property
    def n_events(self) -> int:
        """Number of events in the file."""
        return int(self.ra_deg.size)

    @property
    def object_name(self) -> str:
        """The target in the header (``OBJECT``)."""
        return str(self.header.get("OBJECT", ""))

    @property
    def mean_zenith_deg(self) -> float | None:
        """Mean zenith from ``ALT_PNT``, when present."""
        alt = self.header.get("ALT_PNT")
        return None if alt is None else 90.0 - float(alt)


def find_hdu_index(dl3_dir: str | Path) -> Path:
    """Return the ``hdu-index`` file of a DL3 folder.

    Raises
    ------
    LappanaError
        When the folder or its index is missing.
    """
    dl3_dir = Path(dl3_dir)
    if not dl3_dir.is_dir():
        raise LappanaError(f"The DL3 folder {dl3_dir} does not exist.")
    for name in HDU_INDEX_NAMES:
        if (dl3_dir / name).is_file():
            return dl3_dir / name
    raise LappanaError(
        f"{dl3_dir} has no hdu-index.fits.gz: run `lappana index {dl3_dir}` to index its DL3 files first."
    )


def _run_files(dl3_dir: Path) -> dict[int, Path]:
    index_path = find_hdu_index(dl3_dir)
    try:
        index = Table.read(index_path, hdu=1)
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for a broken file
        raise LappanaError(f"{index_path} cannot be read ({exc}); write it again with `lappana index`.") from None
    for column in ("OBS_ID", "HDU_TYPE", "FILE_DIR", "FILE_NAME"):
        if column not in index.colnames:
            raise LappanaError(f"{index_path} has no {column} column; write it again with `lappana index`.")
    files: dict[int, Path] = {}
    for row in index:
        if str(row["HDU_TYPE"]).strip() == "events":
            files[int(row["OBS_ID"])] = (index_path.parent / str(row["FILE_DIR"]).strip()
                                         / str(row["FILE_NAME"]).strip())
    if not files:
        raise LappanaError(f"{index_path} lists no event list; the folder holds no DL3 run to analyse.")
    return dict(sorted(files.items()))


def read_rad_max(hdus: fits.HDUList, events_header: fits.Header) -> RadMax | None:
    """Return the ON radius of a DL3 file: the RAD_MAX HDU, else the ``RAD_MAX`` keyword."""
    if "RAD_MAX" in hdus:
        data = hdus["RAD_MAX"].data
        lo = np.ravel(data["ENERG_LO"][0]).astype(float)
        hi = np.ravel(data["ENERG_HI"][0]).astype(float)
        values = np.asarray(data["RAD_MAX"][0], dtype=float)
        # stored (n_theta, n_energy); take the first (usually only) offset bin, as gammapy's nearest offset
        values = values.reshape(-1, lo.size)[0]
        return RadMax(values_deg=values, energy_lo=lo, energy_hi=hi)
    for header in (events_header, *(h.header for h in hdus[1:])):
        if "RAD_MAX" in header:
            return RadMax(values_deg=np.array([float(header["RAD_MAX"])]))
    return None


def _file_bytes(path: Path) -> io.BytesIO:
    """The file's bytes, gunzipped in one pass.

    astropy seeks back and forth in a gzip stream, which decompresses parts of it
    several times; decompressing once is ~4x faster for a DL3 file.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = zlib.decompress(raw, wbits=31)
    return io.BytesIO(raw)


def read_run(path: str | Path, obs_id: int | None = None) -> Dl3Run:
    """Read one DL3 file.

    Raises
    ------
    LappanaError
        When the file is missing, unreadable or lacks what an analysis needs.
    """
    path = Path(path)
    if not path.is_file():
        raise LappanaError(f"The DL3 file {path} listed in the index does not exist; index the folder again.")
    try:
        with fits.open(_file_bytes(path), memmap=False) as hdus:
            if "EVENTS" not in hdus:
                raise LappanaError(f"{path.name} has no EVENTS extension; it is not a DL3 event list.")
            events = hdus["EVENTS"]
            header = events.header.copy()
            data = events.data
            cols = {name.upper() for name in data.columns.names}
            missing = [c for c in ("RA", "DEC", "ENERGY", "TIME") if c not in cols]
            if missing:
                raise LappanaError(f"{path.name} lacks the EVENTS column(s) {', '.join(missing)}; make it again.")
            for key in ("RA_PNT", "DEC_PNT"):
                if key not in header:
                    raise LappanaError(f"{path.name} has no {key} keyword, so its wobble geometry is unknown.")
            gti = (np.column_stack([hdus["GTI"].data["START"], hdus["GTI"].data["STOP"]]).astype(float)
                   if "GTI" in hdus else np.array([[header.get("TSTART", 0.0), header.get("TSTOP", 0.0)]]))
            deadc = float(header.get("DEADC", 1.0))
            run = Dl3Run(
                obs_id=int(obs_id if obs_id is not None else header.get("OBS_ID", 0)),
                path=path,
                ra_deg=np.asarray(data["RA"], dtype=float),
                dec_deg=np.asarray(data["DEC"], dtype=float),
                energy_tev=np.asarray(data["ENERGY"], dtype=float),
                time_s=np.asarray(data["TIME"], dtype=float),
                gammaness=np.asarray(data["GAMMANESS"], dtype=float) if "GAMMANESS" in cols else None,
                alt_deg=np.asarray(data["ALT"], dtype=float) if "ALT" in cols else None,
                pointing_ra_deg=float(header["RA_PNT"]),
                pointing_dec_deg=float(header["DEC_PNT"]),
                livetime_s=float(np.sum(gti[:, 1] - gti[:, 0]) * deadc),
                tstart_s=float(header.get("TSTART", gti[0, 0])),
                tstop_s=float(header.get("TSTOP", gti[-1, 1])),
                gti=gti,
                rad_max=read_rad_max(hdus, header),
                header=header,
                aeff=read_effective_area(hdus),
            )
    except LappanaError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zlib.error) as exc:
        raise LappanaError(f"{path.name} cannot be read ({exc}); it may be truncated: make it again.") from None
    return run


def read_dl3_folder(dl3_dir: str | Path, obs_ids: list[int] | None = None) -> list[Dl3Run]:
    """Read every run of an indexed DL3 folder (or the runs ``obs_ids``).

    Parameters
    ----------
    dl3_dir : str or Path
        Folder with ``hdu-index.fits.gz`` and the DL3 files.
    obs_ids : list of int, optional
        Only these runs.

    Returns
    -------
    list of Dl3Run
        Sorted by run number.
    """
    files = _run_files(Path(dl3_dir))
    if obs_ids is not None:
        unknown = sorted(set(obs_ids) - set(files))
        if unknown:
            raise LappanaError(f"Run(s) {', '.join(map(str, unknown))} are not in the index of {dl3_dir}.")
        files = {k: v for k, v in files.items() if k in set(obs_ids)}
    # zlib and numpy release the GIL: decompressing runs side by side uses the node's cores
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(files))) as pool:
        return list(pool.map(lambda item: read_run(item[1], item[0]), files.items()))
