"""DL1 → DL2 for one run: the real ``lstchain_dl1_to_dl2`` in the site's lstchain environment.

lappana does not re-implement lstchain's random forests. It builds the
command, runs it with its output in a log file, checks that the DL2 file was
written and holds the DL2 table with the reconstructed columns, and turns
every way this can fail into a sentence: a missing DL1 file or column, a
missing models folder or model file, an lstchain environment that is not
there, lstchain's exit code with the end of its log.

The lstchain environment is either

- a folder: a venv (``.../lstchain-0.12.3``) or its ``bin/`` folder, holding
  ``lstchain_dl1_to_dl2``; or
- a command prefix, split like a shell would: ``conda run -n lst-0.12.3``,
  ``micromamba run -n lst``, ``apptainer exec lstchain.sif``.

The configuration: the one given, else ``lstchain_config.json`` in the models
folder (``scripts/setup-lstchain`` puts the configuration the models were
trained with there, so that training and application agree), else lstchain's
standard configuration.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tables

from lappana.constants import DL1_PARAMS_KEY, DL2_PARAMS_KEY
from lappana.dl2_subruns import MAX_EVENTS_PER_SUBRUN, count_dl1_events, run_in_subruns
from lappana.dl2_config import (DEFAULT_MODELS_NAME, default_config_path, dl1_columns_needed,
                                 model_files, read_config, resolve_config)
from lappana.errors import LappanaError
from lappana.io.hdf5 import get_table, open_table_file, require_columns

__all__ = [
    "DEFAULT_MODELS_NAME",
    "DL2_RECO_COLUMNS",
    "LSTCHAIN_DL1_TO_DL2",
    "DL2Result",
    "build_dl2_command",
    "default_config_path",
    "dl1_columns_needed",
    "dl2_output_path",
    "lstchain_prefix",
    "model_files",
    "resolve_config",
    "run_dl1_to_dl2",
    "run_logged",
]

LSTCHAIN_DL1_TO_DL2 = "lstchain_dl1_to_dl2"

#: Columns lstchain_dl1_to_dl2 adds, which lappana checks in the DL2 it wrote.
DL2_RECO_COLUMNS = ("reco_energy", "log_reco_energy", "gammaness", "reco_alt", "reco_az", "reco_src_x", "reco_src_y")

@dataclass(frozen=True)
class DL2Result:
    """What :func:`run_dl1_to_dl2` made.

    Attributes
    ----------
    dl2_path : Path
        The DL2 file lstchain wrote.
    log_path : Path
        lstchain's output (stdout and stderr).
    n_events : int
        Rows of the DL2 table.
    command : list of str
        The command that ran.
    seconds : float
        How long lstchain ran.
    """

    dl2_path: Path
    log_path: Path
    n_events: int
    command: list[str]
    seconds: float


def lstchain_prefix(lstchain_env: str | Path, tool: str = LSTCHAIN_DL1_TO_DL2) -> list[str]:
    """Return the command that runs an lstchain tool in an lstchain environment.

    Parameters
    ----------
    lstchain_env : str or Path
        A venv folder, its ``bin/`` folder, or a command prefix such as
        ``conda run -n lst-0.12.3``.
    tool : str
        The tool, ``lstchain_dl1_to_dl2`` by default.

    Returns
    -------
    list of str
        The command, ending with ``tool`` (or its full path).

    Raises
    ------
    LappanaError
        When a folder is given that does not exist or holds no lstchain.
    """
    text = str(lstchain_env).strip()
    if not text:
        raise LappanaError("The lstchain environment is empty: give a venv folder or a command prefix.")
    as_path = Path(text).expanduser()
    # An existing folder is a folder even with spaces in its name; otherwise a word with a
    # space, or without a "/", is a command prefix.
    looks_like_path = (
        isinstance(lstchain_env, Path)
        or as_path.is_dir()
        or (not any(c.isspace() for c in text) and os.sep in text)
    )
    if not looks_like_path:
        return [*shlex.split(text), tool]
    if not as_path.is_dir():
        raise LappanaError(
            f"The lstchain environment {as_path} does not exist: give a venv folder, its bin/ "
            "folder, or a command prefix such as 'conda run -n lst-0.12.3'."
        )
    for candidate in (as_path / tool, as_path / "bin" / tool):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate.resolve())]
    raise LappanaError(
        f"{as_path} holds no {tool} (looked in it and in its bin/): "
        "is lstchain installed there?"
    )


def dl2_output_path(dl1_path: str | Path, output_dir: str | Path) -> Path:
    """Return where lstchain_dl1_to_dl2 writes the DL2 of a DL1 file.

    lstchain replaces the first ``dl1`` in the file name by ``dl2``.
    """
    return Path(output_dir) / Path(dl1_path).name.replace("dl1", "dl2", 1)


def build_dl2_command(
    dl1_path: str | Path,
    output_dir: str | Path,
    *,
    lstchain_env: str | Path,
    models_dir: str | Path,
    config: str | Path | None = None,
    overwrite: bool = False,
) -> list[str]:
    """Return the ``lstchain_dl1_to_dl2`` command for one DL1 file.

    Parameters
    ----------
    dl1_path : str or Path
        The DL1 file, named like ``dl1_LST-1.Run15864.h5``.
    output_dir : str or Path
        Folder for the DL2 file.
    lstchain_env : str or Path
        The lstchain environment: a venv (or its ``bin/``) or a command prefix.
    models_dir : str or Path
        Folder with the trained models (``reg_energy.sav``, ``cls_gh.sav``, ...).
    config : str or Path, optional
        lstchain configuration (JSON); see :func:`resolve_config` for the default.
    overwrite : bool
        Replace an existing DL2 file.

    Returns
    -------
    list of str
        The command, with absolute paths, ready for :func:`subprocess.run` or a batch script.
    """
    command = [
        *lstchain_prefix(lstchain_env),
        "--input-files", str(Path(dl1_path).resolve()),
        "--path-models", str(Path(models_dir).resolve()),
        "--output-dir", str(Path(output_dir).resolve()),
        # ctapipe's tools write their provenance into the working folder unless told
        "--provenance-log", str(dl2_output_path(dl1_path, output_dir).resolve().with_suffix(".provenance.log")),
    ]
    chosen = resolve_config(config, models_dir)
    if chosen is not None:
        command += ["--config", str(chosen)]
    if overwrite:
        command.append("--overwrite")
    return command


def _check_inputs(dl1_path: Path, models_dir: Path, config_path: Path | None) -> None:
    config = read_config(config_path)
    if not models_dir.is_dir():
        raise LappanaError(
            f"The models folder {models_dir} does not exist: give the folder with lstchain's "
            "trained models (scripts/setup-lstchain makes small ones)."
        )
    missing = [name for name in model_files(config) if not (models_dir / name).is_file()]
    if missing:
        raise LappanaError(
            f"The models folder {models_dir} lacks {', '.join(missing)}: train the models with "
            "lstchain_mc_trainpipe into it, or give another folder."
        )
    if not dl1_path.exists():
        raise LappanaError(f"The DL1 file {dl1_path} does not exist.")
    with open_table_file(dl1_path) as h5:
        table = get_table(h5, DL1_PARAMS_KEY)
        require_columns(table, dl1_columns_needed(config), "lstchain_dl1_to_dl2")
        if table.nrows == 0:
            raise LappanaError(f"The DL1 file {dl1_path} has no events.")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) if text else "(empty log)"


def _lstchain_env_vars() -> dict[str, str]:
    """The environment for lstchain: ours without what would mix in lappana's python."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        env.pop(name, None)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _check_output(staged: Path, final: Path, log_path: Path) -> int:
    """Check the DL2 file lstchain wrote (at ``staged``); name it by its ``final`` path."""
    try:
        with open_table_file(staged) as h5:
            try:
                table = h5.get_node(DL2_PARAMS_KEY)
            except tables.NoSuchNodeError:
                raise LappanaError(
                    f"lstchain_dl1_to_dl2 wrote {final.name} without the DL2 table {DL2_PARAMS_KEY}; "
                    f"see {log_path}."
                ) from None
            missing = [c for c in DL2_RECO_COLUMNS if c not in getattr(table, "colnames", ())]
            if missing:
                raise LappanaError(
                    f"lstchain_dl1_to_dl2 wrote {final.name} without the columns {', '.join(missing)}; "
                    f"see {log_path}."
                )
            return int(table.nrows)
    except LappanaError as exc:
        raise LappanaError(str(exc).replace(str(staged), str(final))) from None


def run_dl1_to_dl2(
    dl1_path: str | Path,
    output_dir: str | Path,
    *,
    lstchain_env: str | Path,
    models_dir: str | Path,
    config: str | Path | None = None,
    overwrite: bool = False,
    log_path: str | Path | None = None,
    timeout: float | None = None,
    max_events_per_subrun: int = MAX_EVENTS_PER_SUBRUN,
) -> DL2Result:
    """Run the real ``lstchain_dl1_to_dl2`` on one DL1 file and check what it wrote.

    Parameters
    ----------
    dl1_path, output_dir, lstchain_env, models_dir, config, overwrite
        As for :func:`build_dl2_command`.
    log_path : str or Path, optional
        Where lstchain's output goes; ``<output_dir>/<dl2 name>.log`` by default.
    timeout : float, optional
        Seconds after which lstchain is stopped (per subrun).
    max_events_per_subrun : int
        A DL1 file of more events is given to lstchain in subruns of at most this many
        and their DL2 merged (:mod:`lappana.dl2_subruns`), so that lstchain's memory
        stays bounded however long the run.

    Returns
    -------
    DL2Result
        The DL2 file, the log, the number of DL2 events, the command and its duration.

    Raises
    ------
    LappanaError
        A sentence for each way it can fail: missing DL1, table or column;
        missing models folder or file; an lstchain environment that is not
        there; a DL2 file that exists (without ``overwrite``); lstchain's
        non-zero exit code or a DL2 file it did not write, with the end of its log.
    """
    dl1_path = Path(dl1_path)
    models_dir = Path(models_dir)
    output_dir = Path(output_dir)
    config_path = resolve_config(config, models_dir)
    _check_inputs(dl1_path, models_dir, config_path)
    dl2_path = dl2_output_path(dl1_path, output_dir)
    if dl2_path.exists() and not overwrite:
        raise LappanaError(f"{dl2_path} exists already: pass overwrite (--overwrite) to replace it.")
    output_dir.mkdir(parents=True, exist_ok=True)
    log_path = Path(log_path) if log_path is not None else dl2_path.with_suffix(".log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # lstchain writes into a hidden staging folder; the DL2 file appears in output_dir by
    # rename only once it is complete and checked, so a half-written file is never mistaken
    # for a result (a killed job, a full disk).
    staging = output_dir / f".{dl2_path.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    command = build_dl2_command(
        dl1_path, staging, lstchain_env=lstchain_env, models_dir=models_dir, config=config,
    )
    staged = dl2_output_path(dl1_path, staging)
    n_dl1 = count_dl1_events(dl1_path)
    try:
        if n_dl1 <= max_events_per_subrun:
            seconds = run_logged(command, log_path, cwd=staging, timeout=timeout, what=dl1_path.name,
                                 lstchain_env=lstchain_env)
        else:
            def run_one(piece: Path, folder: Path) -> float:
                return run_logged(
                    build_dl2_command(piece, folder, lstchain_env=lstchain_env, models_dir=models_dir, config=config),
                    log_path, cwd=folder, timeout=timeout, what=piece.name, lstchain_env=lstchain_env, append=True)

            log_path.write_text(f"{dl1_path.name}: {n_dl1} events, lstchain_dl1_to_dl2 on subruns of at most "
                                f"{max_events_per_subrun} (lappana.dl2_subruns)\n")
            seconds = run_in_subruns(dl1_path, staging, staged, run_one, n_events=n_dl1,
                                     max_events=max_events_per_subrun,
                                     dl2_name=lambda piece: dl2_output_path(piece, ".").name)
        if not staged.is_file():
            log_text = _tail(log_path, 40)
            if "No dl2 output file written" in log_text or "No events in dl2" in log_text:
                raise LappanaError(
                    f"No event of {dl1_path.name} passed lstchain's event filters, so lstchain wrote "
                    f"no DL2 file; see {log_path}."
                )
            raise LappanaError(
                f"lstchain_dl1_to_dl2 exited without writing {dl2_path.name}; the end of its log "
                f"{log_path}:\n{_tail(log_path)}"
            )
        n_events = _check_output(staged, dl2_path, log_path)
        for produced in staging.iterdir():
            os.replace(produced, output_dir / produced.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DL2Result(dl2_path=dl2_path, log_path=log_path, n_events=n_events, command=command, seconds=seconds)


def run_logged(
    command: list[str], log_path: Path, *, cwd: Path, timeout: float | None, what: str,
    lstchain_env: str | Path, tool: str = LSTCHAIN_DL1_TO_DL2, append: bool = False,
) -> float:
    """Run an lstchain tool with its output in ``log_path`` (added to it with ``append``);
    return the seconds it took, or raise a sentence."""
    start = time.monotonic()
    try:
        with open(log_path, "a" if append else "w", encoding="utf-8") as log:
            log.write("$ " + shlex.join(command) + "\n")
            log.flush()
            done = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_lstchain_env_vars(), cwd=cwd, timeout=timeout, check=False,
            )
    except FileNotFoundError:
        raise LappanaError(
            f"Cannot run {command[0]!r}: it is not installed or not on PATH; check the lstchain "
            f"environment {str(lstchain_env)!r}."
        ) from None
    except subprocess.TimeoutExpired:
        raise LappanaError(
            f"{tool} did not finish on {what} within {timeout:g} s; see {log_path}."
        ) from None
    if done.returncode != 0:
        raise LappanaError(
            f"{tool} failed on {what} with exit code {done.returncode}; "
            f"the end of its log {log_path}:\n{_tail(log_path)}"
        )
    return time.monotonic() - start


def run_many(
    dl1_paths: Sequence[str | Path],
    output_dir: str | Path,
    **kwargs,
) -> list[DL2Result]:
    """Run :func:`run_dl1_to_dl2` on several DL1 files, one after the other."""
    return [run_dl1_to_dl2(path, output_dir, **kwargs) for path in dl1_paths]
