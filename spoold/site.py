"""The site: how spoold runs at one place, read from a YAML site file or defaults.

``load_site(None)`` gives the embedded case: the spool at ``./spool``, the local
executor, the data next to the spool in ``../data`` (where ``./scripts/demo``
simulates a night), lstchain and its models from ``$ASTRAN_LSTCHAIN_ENV`` and
``$ASTRAN_LSTCHAIN_MODELS`` (or the peer cache). A site file, validated by
``schemas/site.schema.json``, changes any of it; every key is documented in
``docs/site.md``. Relative paths in a site file are relative to its folder.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from lappana.lstchain_env import installed_lstchain_version
from spoold.request.messages import schema_sentences
from spoold.request.yamlsafe import YamlProblem, load_yaml_mapping
from spoold.site_settings import AlertSettings, Limits, MailSettings, SharedAccount, SlurmSettings, alert_settings
from spoold.sources import SourceCatalog, embedded_catalog, sources_from_mapping

__all__ = [
    "Site",
    "SiteError",
    "DataPatterns",
    "LstchainSettings",
    "Limits",
    "SharedAccount",
    "SlurmSettings",
    "MailSettings",
    "AlertSettings",
    "load_site",
    "default_site",
]

#: A site file larger than this is refused before it is parsed.
MAX_SITE_BYTES = 1024 * 1024

DEFAULT_DL1_PATTERN = "{data_root}/DL1/{night}/v0.10/tailcut84/dl1_LST-1.Run{run:05d}.h5"
DEFAULT_DL2_PATTERN = "{data_root}/DL2/{night}/v0.10/tailcut84/dl2_LST-1.Run{run:05d}.h5"
DEFAULT_RUN_CATALOG_PATTERN = "{data_root}/monitoring/RunCatalog/RunCatalog_{night}.ecsv"


class SiteError(Exception):
    """The site file cannot be used; ``errors`` holds one sentence per problem."""

    def __init__(self, errors: list[str], path: Path | None = None) -> None:
        self.errors = list(errors)
        self.path = path
        where = f"The site file {path}" if path else "The site configuration"
        super().__init__(f"{where} is not valid:\n" + "\n".join(f"  {e}" for e in self.errors))


def _night_text(night: _dt.date | str) -> str:
    if isinstance(night, _dt.date):
        return night.strftime("%Y%m%d")
    return str(night).replace("-", "")


@dataclass(frozen=True)
class DataPatterns:
    """Where a night's files are: format strings over {data_root}, {night}, {run}.

    ``{night}`` is the evening's date as YYYYMMDD and ``{run}`` the run number (int).
    ``dl1_subrun_pattern`` (with ``{subrun}`` too) names the onsite pipeline's per-subrun DL1
    files where the site keeps them: a run whose catalogue row gives ``n_subruns`` is then taken
    through DL2 subrun by subrun (:meth:`dl1_files`).
    """

    data_root: Path
    dl1_pattern: str = DEFAULT_DL1_PATTERN
    dl2_pattern: str = DEFAULT_DL2_PATTERN
    run_catalog_pattern: str = DEFAULT_RUN_CATALOG_PATTERN
    night_finished_pattern: str | None = None
    dl1_subrun_pattern: str | None = None

    def night_finished_path(self, night: _dt.date | str) -> Path | None:
        """Return the onsite pipeline's end-of-night marker of a night (LSTOSA's ``NightFinished.txt``), or None
        when the site names none (then a night is complete when its files have been quiet long enough)."""
        if self.night_finished_pattern is None:
            return None
        return Path(self.night_finished_pattern.format(data_root=self.data_root, night=_night_text(night)))

    def dl1_path(self, night: _dt.date | str, run: int) -> Path:
        """Return the DL1 file of a run of a night."""
        return Path(self.dl1_pattern.format(data_root=self.data_root, night=_night_text(night), run=int(run)))

    def dl1_files(self, night: _dt.date | str, run: int, n_subruns: int | None = None) -> list[Path]:
        """A run's DL1 as its DL2 is made from: its ``n_subruns`` subrun files in order where the site names
        ``dl1_subrun_pattern`` and the run catalogue gives ``n_subruns``, else its one run file."""
        if not self.dl1_subrun_pattern or not n_subruns:
            return [self.dl1_path(night, run)]
        return [Path(self.dl1_subrun_pattern.format(data_root=self.data_root, night=_night_text(night), run=int(run),
                                                    subrun=subrun)) for subrun in range(int(n_subruns))]

    def run_subruns(self, night: _dt.date | str) -> dict[int, int]:
        """{run: n_subruns} of the night's run catalogue, for :meth:`dl1_files`; empty where the site names no
        ``dl1_subrun_pattern`` or the night has no readable catalogue (its runs are then taken whole)."""
        if not self.dl1_subrun_pattern:
            return {}
        from lappana.io.runcatalog import RunCatalogError, read_run_catalog

        try:
            entries = read_run_catalog(self.run_catalog_path(night))
        except (FileNotFoundError, RunCatalogError):
            return {}
        return {entry.run_id: entry.n_subruns for entry in entries if entry.n_subruns}

    def dl2_path(self, night: _dt.date | str, run: int) -> Path:
        """Return the DL2 file of a run of a night (as the site's onsite pipeline writes it)."""
        return Path(self.dl2_pattern.format(data_root=self.data_root, night=_night_text(night), run=int(run)))

    def run_catalog_path(self, night: _dt.date | str) -> Path:
        """Return the run catalogue (``RunCatalog_YYYYMMDD.ecsv``) of a night."""
        return Path(self.run_catalog_pattern.format(data_root=self.data_root, night=_night_text(night)))


@dataclass(frozen=True)
class LstchainSettings:
    """One lstchain the site offers: its environment (a venv folder, its bin/, or a command prefix),
    models, config, the IRF sets made for the models (``irf_root``; None: see
    :meth:`Site.irf_root_for`), the cache its DL2 files are made into once (``dl2_cache``,
    :mod:`spoold.pipeline.dl2_cache`, shared by every version) and the version a request names
    it by (``version``, such as ``"0.12"``; None when the site file does not say and the
    environment is not a folder it can be read from)."""

    env: str
    models: Path
    config: Path | None = None
    irf_root: Path | None = None
    dl2_cache: Path | None = None
    version: str | None = None


@dataclass(frozen=True)
class Site:
    """Everything spoold needs to know about the place it runs. See ``docs/site.md``."""

    spool_root: Path
    executor: Literal["local", "slurm"]
    data: DataPatterns
    lstchain: LstchainSettings
    irf_root: Path
    output_root: Path | None
    read_roots: tuple[Path, ...]
    write_roots: tuple[Path, ...]
    limits: Limits
    sources: SourceCatalog
    shared_account: SharedAccount
    slurm: SlurmSettings
    mail: MailSettings | None
    site_file: Path | None = None
    lstchain_versions: dict[str, LstchainSettings] = field(default_factory=dict)
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def lstchain_offered(self) -> list[str]:
        """The lstchain versions a request may name (``lstchain_versions``): the default's first, then the others."""
        names = [self.lstchain.version] if self.lstchain.version else []
        return names + [name for name in self.lstchain_versions if name not in names]

    def for_lstchain(self, version: str | None) -> "Site":
        """This site as a request that names lstchain ``version`` sees it: ``lstchain`` is that version's.

        None, or the default's own version, gives this site unchanged.

        Raises KeyError when the site does not offer ``version`` (:meth:`lstchain_offered` lists what it offers).
        """
        if version is None or version == self.lstchain.version:
            return self
        return replace(self, lstchain=self.lstchain_versions[version])

    def irf_root_for(self, start_from: str) -> Path:
        """The folder of IRF sets for a request's DL2: made with the models its DL2 comes from.

        DL2 that this site makes from DL1 (``start_from: dl1``) comes from
        ``lstchain.models``: its IRFs are ``lstchain.irf_root``, else the ``IRF``
        folder beside the models when there is one (``scripts/setup-lstchain`` makes
        it with ``lappana irfs``), else ``irf_root``. The site's own DL2
        (``start_from: dl2``) takes ``irf_root``.
        """
        if start_from == "dl1":
            return self.models_irf_root() or self.irf_root
        return self.irf_root

    def models_irf_root(self) -> Path | None:
        """The IRF folder of ``lstchain.models`` themselves (``lstchain.irf_root``, else the ``IRF`` folder
        beside them), or None when they have none (then :meth:`irf_root_for` falls back to ``irf_root``)."""
        if self.lstchain.irf_root is not None:
            return self.lstchain.irf_root
        beside = Path(self.lstchain.models) / "IRF"
        return beside if beside.is_dir() else None


def _path(value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path)


def _check_patterns(data: DataPatterns) -> list[str]:
    errors = []
    for key in ("dl1_pattern", "dl2_pattern", "run_catalog_pattern", "night_finished_pattern", "dl1_subrun_pattern"):
        pattern = getattr(data, key)
        if pattern is None:
            continue
        subrun = key == "dl1_subrun_pattern"
        try:
            pattern.format(data_root=data.data_root, night="20231207", run=15864, **({"subrun": 3} if subrun else {}))
        except (KeyError, IndexError, ValueError) as exc:
            errors.append(
                f"'data.{key}' {pattern!r} is not a usable pattern ({exc!s}); use only "
                "{data_root}, {night} and {run} (for example {run:05d})"
                + (" and {subrun} (for example {subrun:04d})." if subrun else ".")
            )
            continue
        if subrun and pattern.format(data_root="", night="", run=0, subrun=1) == pattern.format(
                data_root="", night="", run=0, subrun=2):
            errors.append(f"'data.{key}' {pattern!r} does not name the subrun: put {{subrun:04d}} in it.")
    return errors


def _build(raw: dict[str, Any], base: Path, spool_root: Path | None, site_file: Path | None) -> Site:
    """Turn validated site values into a :class:`Site`, filling defaults."""
    spool = spool_root or _path(raw.get("spool"), base) or Path("spool")
    spool = Path(os.path.abspath(spool))
    data_raw = raw.get("data", {})
    data_root = _path(data_raw.get("root"), base) or spool.parent / "data"
    data = DataPatterns(
        data_root=data_root,
        dl1_pattern=data_raw.get("dl1_pattern", DEFAULT_DL1_PATTERN),
        dl2_pattern=data_raw.get("dl2_pattern", DEFAULT_DL2_PATTERN),
        run_catalog_pattern=data_raw.get("run_catalog_pattern", DEFAULT_RUN_CATALOG_PATTERN),
        night_finished_pattern=data_raw.get("night_finished_pattern"),
        dl1_subrun_pattern=data_raw.get("dl1_subrun_pattern"),
    )
    errors = _check_patterns(data)
    if errors:
        raise SiteError(errors, site_file)
    peers = Path(os.environ.get("ASTRAN_PEERS") or os.path.expanduser("~/.cache/astran/peers"))
    lst_raw = raw.get("lstchain", {})
    dl2_cache = _path(lst_raw.get("dl2_cache"), base) or spool / "cache" / "dl2"
    lstchain = _lstchain(lst_raw, base, dl2_cache,
                         env=os.environ.get("ASTRAN_LSTCHAIN_ENV") or str(peers / "lstchain-0.12.3"),
                         models=Path(os.environ.get("ASTRAN_LSTCHAIN_MODELS") or peers / "models" / "default"))
    if "versions" in lst_raw:
        versions = {str(name): _lstchain(given, base, dl2_cache) for name, given in lst_raw["versions"].items()}
    else:  # the embedded offer: what scripts/setup-lstchain installs beside the default
        versions = {"0.10": _lstchain({}, base, dl2_cache, version="0.10",
                                      env=os.environ.get("ASTRAN_LSTCHAIN_010_ENV") or str(peers / "lstchain-0.10.18"),
                                      models=Path(os.environ.get("ASTRAN_LSTCHAIN_010_MODELS")
                                                  or peers / "models" / "lstchain-0.10.18"))}
    versions = {name: replace(settings, version=name) for name, settings in versions.items()
                if name != lstchain.version}
    irf_root = _path(raw.get("irf_root"), base) or data_root / "IRF"
    read_roots = tuple(_path(p, base) for p in raw.get("read_roots", [])) or (data_root, irf_root)
    write_roots = tuple(_path(p, base) for p in raw.get("write_roots", []))
    catalog = embedded_catalog()
    if raw.get("sources"):
        catalog = catalog.merged(sources_from_mapping(raw["sources"]))
    mail = None
    if "mail" in raw:
        mail_raw = dict(raw["mail"])
        for key in ("imap_password_file", "smtp_password_file", "ca_file"):
            if key in mail_raw:
                mail_raw[key] = _path(mail_raw[key], base)
        mail = MailSettings(**mail_raw)
    return Site(
        spool_root=spool,
        executor=raw.get("executor", "local"),
        data=data,
        lstchain=lstchain,
        irf_root=irf_root,
        output_root=_path(raw.get("output_root"), base),
        read_roots=read_roots,
        write_roots=write_roots,
        limits=Limits(**raw.get("limits", {})),
        sources=catalog,
        shared_account=SharedAccount(**raw.get("shared_account", {})),
        slurm=SlurmSettings(**raw.get("slurm", {})),
        mail=mail,
        site_file=site_file,
        lstchain_versions=versions,
        alerts=alert_settings(raw.get("alerts", {}), catalog),
    )


def _lstchain(given: dict[str, Any], base: Path, dl2_cache: Path, *, env: str | None = None,
              models: Path | None = None, version: str | None = None) -> LstchainSettings:
    """One lstchain of the site from its site-file keys (``env`` and ``models`` default as given)."""
    env = given.get("env") or env
    models = _path(given.get("models"), base) or models
    return LstchainSettings(
        env=str(env), models=Path(models), config=_path(given.get("config"), base),
        irf_root=_path(given.get("irf_root"), base), dl2_cache=dl2_cache,
        version=given.get("version") or version or installed_lstchain_version(str(env), minor=True),
    )



def site_file_errors(raw_bytes: bytes) -> list[str]:
    """Return the sentences about a site file's content ([] when valid)."""
    try:
        loaded = load_yaml_mapping(raw_bytes, max_bytes=MAX_SITE_BYTES, what="site file")
    except YamlProblem as problem:
        return problem.errors
    return schema_sentences("site", loaded.data, loaded)


def load_site(path: Path | str | None, *, spool_root: Path | str | None = None) -> Site:
    """Read a site file, or make the default site.

    Parameters
    ----------
    path : Path or None
        The YAML site file; None for the defaults (the embedded case).
    spool_root : Path, optional
        The spool root; overrides the site file's ``spool`` (a command's ``--spool``).

    Returns
    -------
    Site

    Raises
    ------
    SiteError
        When the file cannot be read or is not valid; its ``errors`` are sentences.
    """
    root = Path(spool_root) if spool_root is not None else None
    if path is None:
        return _build({}, Path.cwd(), root, None)
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise SiteError([f"There is no site file {path}; check the path given with --config."], path) from None
    except IsADirectoryError:
        raise SiteError([f"{path} is a folder, not a site file; give the YAML file."], path) from None
    except OSError as exc:
        raise SiteError([f"The site file {path} cannot be read ({exc.strerror})."], path) from None
    try:
        loaded = load_yaml_mapping(raw_bytes, max_bytes=MAX_SITE_BYTES, what="site file")
    except YamlProblem as problem:
        raise SiteError(problem.errors, path) from None
    errors = schema_sentences("site", loaded.data, loaded)
    if errors:
        raise SiteError(errors, path)
    return _build(loaded.data, path.resolve().parent, root, path.resolve())


#: the environment variable that names the site file when no --config is given
SITE_ENV = "ASTRAN_SITE"
#: the site file of a machine-wide installation, read when neither --config nor $ASTRAN_SITE says
SYSTEM_SITE_FILE = Path("/etc/astran/site.yaml")


def find_site_file(given: Path | str | None) -> Path | None:
    """The site file a command uses: ``--config``, else ``$ASTRAN_SITE``, else /etc/astran/site.yaml if present.

    None means the embedded defaults (local executor, ``./spool``, ``./data``).
    """
    if given is not None:
        return Path(given)
    if os.environ.get(SITE_ENV):
        return Path(os.environ[SITE_ENV])
    return SYSTEM_SITE_FILE if SYSTEM_SITE_FILE.is_file() else None


def default_site(spool_root: Path | str | None = None) -> Site:
    """Return the embedded default site (``load_site(None, spool_root=...)``)."""
    return load_site(None, spool_root=spool_root)
