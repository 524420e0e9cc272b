"""IRFs for a set of lstchain random forests, made by the real lstchain from simulated MC.

The gammaness cut, θ cut and effective area of an IRF hold only for DL2 made by
the models the IRF was made with: a random forest's gammaness is distributed
its own way, so the cut that keeps 70 % of the gammas of one set of models keeps
another fraction with other models. LST-1's IRFs are therefore made from MC
gammas that went through the same models. :func:`make_model_irfs` does that for
a models folder:

1. for each pointing node (zenith 10°, 20°, 30°, 40° at azimuth 180° by default),
   :func:`lappana.simulate.mc.write_irf_mc_file` throws point-like gammas 0.4°
   off-axis and writes the detected ones as MC DL1 with ``/simulation/run_config``;
2. the real ``lstchain_dl1_to_dl2`` applies the models (:func:`lappana.dl2.run_dl1_to_dl2`);
3. the real ``lstchain_create_irf_files --point-like`` makes the IRF of each cut set
   from that MC DL2: ``eff_gh0.70_th0.70`` (energy-dependent cuts keeping 70 % of
   the gammas in each reconstructed-energy bin, then 70 % θ containment) and
   ``global_gh0.70_theta0.20`` (gammaness > 0.7, θ < 0.2°).

The sets are written as ``<output>/<set>/irf_lstchain_<set>_zenZZ.Z_azAAA.A.fits.gz``,
the layout ``lappana dl3 --irf`` and ``lstchain_create_dl3_file`` read, with
lstchain's provenance of each node in ``<output>/<set>/provenance/``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lappana.dl2 import lstchain_prefix, run_dl1_to_dl2, run_logged
from lappana.errors import LappanaError
from lappana.paths import irf_set_name
from lappana.simulate.irf import DEFAULT_AZIMUTH_DEG, DEFAULT_ZENITH_NODES_DEG  # the simulator's own nodes
from lappana.simulate.mc import IRF_THROWN, write_irf_mc_file
from lappana.simulate.night import EFFICIENCY_CUTS, GLOBAL_CUTS

__all__ = ["CUT_SETS", "LSTCHAIN_CREATE_IRF_FILES", "DEFAULT_AZIMUTH_DEG", "DEFAULT_THROWN",
           "DEFAULT_ZENITH_NODES_DEG", "RECIPE", "cut_set_options", "irf_recipe", "make_model_irfs",
           "irf_node_name"]

LSTCHAIN_CREATE_IRF_FILES = "lstchain_create_irf_files"


#: Gammas thrown per pointing node by default.
DEFAULT_THROWN = IRF_THROWN

#: what a set's name says of its cuts: ``eff_gh0.70_th0.70`` or ``global_gh0.70_theta0.20``
_SET_NAME = re.compile(r"^(?:eff_gh(?P<eff>\d+\.\d\d)_th(?P<cont>\d+\.\d\d)"
                       r"|global_gh(?P<gh>\d+\.\d\d)_theta(?P<theta>\d+\.\d\d))$")

#: the file name of one node of a set (:func:`irf_node_name`)
_NODE_FILE = re.compile(r"^irf_lstchain_.+_zen(?P<zen>\d+\.\d)_az(?P<az>\d+\.\d)\.fits\.gz$")

#: how an IRF folder's sets were made (:func:`make_model_irfs` writes it; :func:`irf_recipe` reads it)
RECIPE = "irf-recipe.json"


def cut_set_options(set_name: str) -> tuple[str, ...]:
    """The ``lstchain_create_irf_files`` options of the cuts an IRF set's name says.

    Raises
    ------
    LappanaError
        When the name is not one :func:`lappana.paths.irf_set_name` gives.
    """
    match = _SET_NAME.match(set_name)
    if match is None:
        raise LappanaError(f"{set_name!r} names no cuts: an IRF set is eff_ghG_thT (efficiency cuts, "
                           "e.g. eff_gh0.70_th0.70) or global_ghG_thetaT (a global cut, e.g. global_gh0.70_theta0.20).")
    if match["eff"] is not None:
        return ("--energy-dependent-gh", "--energy-dependent-theta", f"--gh-efficiency={float(match['eff'])}",
                f"--theta-containment={float(match['cont'])}")
    return (f"--global-gh-cut={float(match['gh'])}", f"--global-theta-cut={float(match['theta'])}")


#: IRF set name -> lstchain_create_irf_files options of its cuts (the simulator's two sets).
CUT_SETS: dict[str, tuple[str, ...]] = {
    name: cut_set_options(name) for name in (irf_set_name(**EFFICIENCY_CUTS), irf_set_name(**GLOBAL_CUTS))
}


def irf_recipe(irf_root: str | Path) -> dict:
    """How the IRF sets of ``irf_root`` were made, to make another set alike: ``zenith`` (list), ``azimuth``,
    ``seed`` and ``thrown``.

    From its :data:`RECIPE` file; without one, the nodes of its sets' file names with
    :data:`DEFAULT_THROWN` gammas and seed 0 (without sets either, the default nodes).
    """
    root = Path(irf_root)
    try:
        recipe = json.loads((root / RECIPE).read_text())
        return {"zenith": [float(z) for z in recipe["zenith"]], "azimuth": float(recipe["azimuth"]),
                "seed": int(recipe["seed"]), "thrown": int(recipe["thrown"])}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    nodes = sorted({(float(m["zen"]), float(m["az"])) for f in root.glob("*/irf_lstchain_*.fits.gz")
                    if (m := _NODE_FILE.match(f.name))})
    zenith = sorted({z for z, _ in nodes}) or [float(z) for z in DEFAULT_ZENITH_NODES_DEG]
    azimuth = nodes[0][1] if nodes else float(DEFAULT_AZIMUTH_DEG)
    return {"zenith": zenith, "azimuth": azimuth, "seed": 0, "thrown": DEFAULT_THROWN}


def _node(zenith_deg: float, azimuth_deg: float) -> str:
    """A pointing node as the file names say it, e.g. ``zen20.0_az180.0``."""
    return f"zen{float(zenith_deg):04.1f}_az{float(azimuth_deg):05.1f}"


def irf_node_name(set_name: str, zenith_deg: float, azimuth_deg: float) -> str:
    """File name of one node of an IRF set, e.g. ``irf_lstchain_eff_gh0.70_th0.70_zen20.0_az180.0.fits.gz``."""
    return f"irf_lstchain_{set_name}_{_node(zenith_deg, azimuth_deg)}.fits.gz"


def _keep_provenance(written: Path, target: Path, node: str) -> None:
    """Move the provenance log lstchain_create_irf_files leaves beside its output (it names it itself) into the
    set's ``provenance/``, one per node."""
    if written.is_file():
        (target.parent / "provenance").mkdir(exist_ok=True)
        written.replace(target.parent / "provenance" / f"{node}.log")


def make_model_irfs(
    models_dir: str | Path,
    output_dir: str | Path,
    *,
    lstchain_env: str | Path,
    config: str | Path | None = None,
    zenith_nodes_deg: Sequence[float] = DEFAULT_ZENITH_NODES_DEG,
    azimuth_deg: float = DEFAULT_AZIMUTH_DEG,
    seed: int = 0,
    n_thrown: int = DEFAULT_THROWN,
    timeout: float | None = 1800.0,
    progress: Callable[[str], None] | None = None,
    cut_sets: Mapping[str, Sequence[str]] | None = None,
    write_recipe: bool = True,
) -> dict[str, list[Path]]:
    """Make the IRF sets of :data:`CUT_SETS` for the models in ``models_dir``.

    Parameters
    ----------
    models_dir : str or Path
        The trained random forests (and their ``lstchain_config.json``).
    output_dir : str or Path
        Where the IRF sets go, one subfolder each; made if missing.
    lstchain_env : str or Path
        The lstchain environment (a venv, its ``bin/``, or a command prefix).
    config : str or Path, optional
        lstchain's configuration for DL1→DL2 (default: the models' own).
    zenith_nodes_deg : sequence of float
        Zenith angles of the pointing nodes.
    azimuth_deg : float
        Azimuth of every node.
    seed : int
        Seed of the MC gammas.
    n_thrown : int
        Gammas thrown per node (≈17 % of them are detected at 10° zenith).
    timeout : float, optional
        Seconds after which one lstchain tool is stopped.
    progress : callable, optional
        Called with one line per finished piece of work.
    cut_sets : mapping of str to sequence of str, optional
        IRF set name → ``lstchain_create_irf_files`` options of its cuts (default
        :data:`CUT_SETS`).
    write_recipe : bool
        Write :data:`RECIPE` (the nodes, azimuth, seed and gammas thrown) into
        ``output_dir``; False when adding nodes or sets to a folder made before.

    Returns
    -------
    dict of str to list of Path
        The IRF files of each set, one per node.

    Raises
    ------
    LappanaError
        When lstchain's environment, the models or one of lstchain's tools fail, in a sentence.
    """
    output_dir = Path(output_dir)
    create_irf = lstchain_prefix(lstchain_env, LSTCHAIN_CREATE_IRF_FILES)
    say = progress or (lambda line: None)
    cut_sets = CUT_SETS if cut_sets is None else cut_sets
    made: dict[str, list[Path]] = {name: [] for name in cut_sets}
    for zenith in zenith_nodes_deg:
        node = _node(zenith, azimuth_deg)
        work = output_dir / ".mc" / node  # one per node: the nodes of one set can be made side by side
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        dl1 = write_irf_mc_file(work / f"dl1_gamma_point_{node}.h5", seed=seed, zenith_deg=float(zenith),
                                azimuth_deg=float(azimuth_deg), n_thrown=n_thrown)
        dl2 = run_dl1_to_dl2(dl1, work, lstchain_env=lstchain_env, models_dir=models_dir, config=config,
                             overwrite=True, timeout=timeout)
        say(f"{node}: {dl2.n_events} MC gammas through lstchain_dl1_to_dl2 in {dl2.seconds:.0f} s")
        for set_name, options in cut_sets.items():
            target = output_dir / set_name / irf_node_name(set_name, float(zenith), float(azimuth_deg))
            target.parent.mkdir(parents=True, exist_ok=True)
            log = work / f"{target.name}.log"
            # written in the node's own folder, then renamed in: nodes made side by side do not share
            # lstchain's provenance log, and a set's folder never holds half a file
            staged = (work / set_name / target.name).resolve()
            staged.parent.mkdir(exist_ok=True)
            command = [*create_irf, "--input-gamma-dl2", str(dl2.dl2_path.resolve()),
                       "--output-irf-file", str(staged), "--point-like", *options, "--overwrite"]
            seconds = run_logged(command, log, cwd=work, timeout=timeout, what=dl2.dl2_path.name,
                                 lstchain_env=lstchain_env, tool=LSTCHAIN_CREATE_IRF_FILES)
            if not staged.is_file():
                raise LappanaError(f"{LSTCHAIN_CREATE_IRF_FILES} exited without writing {staged}; see {log}.")
            _keep_provenance(staged.parent / "IRFFITSWriter.provenance.log", target, node)
            staged.replace(target)
            made[set_name].append(target)
            say(f"{node}: {set_name} by {LSTCHAIN_CREATE_IRF_FILES} in {seconds:.0f} s")
        shutil.rmtree(work)  # kept, with lstchain's logs, when something failed
    try:
        (output_dir / ".mc").rmdir()
    except OSError:
        pass  # another node's work, or a failed one's logs
    if write_recipe:
        (output_dir / RECIPE).write_text(json.dumps(
            {"zenith": [float(z) for z in zenith_nodes_deg], "azimuth": float(azimuth_deg), "seed": seed,
             "thrown": n_thrown}, indent=1) + "\n")
    return made
