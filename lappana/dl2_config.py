"""Which lstchain configuration and model files a DL1 → DL2 run uses, and the DL1 columns it reads.

:mod:`lappana.dl2` runs ``lstchain_dl1_to_dl2``; this module knows lstchain's
configuration: lappana's own for simulated data, the one that travels with a models
folder, the model files a ``disp_method`` needs, and the columns the features and
event filters of a configuration read (lstchain 0.12.3's standard lists when it sets
none).
"""

from __future__ import annotations

import json
from pathlib import Path

from lappana.errors import LappanaError

__all__ = ["DEFAULT_MODELS_NAME", "MODELS_CONFIG_NAME", "default_config_path", "dl1_columns_needed",
           "model_files", "read_config", "resolve_config"]

#: Folder name, under ``$ASTRAN_PEERS/models/``, of the small models scripts/setup-lstchain trains
#: (spoold's default site looks there).
DEFAULT_MODELS_NAME = "default"

#: Name of the configuration file that travels with a models folder.
MODELS_CONFIG_NAME = "lstchain_config.json"

#: lstchain 0.12.3's standard feature lists (used when a configuration does not set them).
_STANDARD_FEATURES = {
    "energy_regression_features": [
        "log_intensity", "width", "length", "x", "y", "wl", "skewness", "kurtosis",
        "time_gradient", "leakage_intensity_width_2", "sin_az_tel", "alt_tel",
    ],
    "disp_regression_features": [
        "log_intensity", "width", "length", "wl", "skewness", "kurtosis", "time_gradient",
        "leakage_intensity_width_2", "sin_az_tel", "alt_tel",
    ],
    "disp_classification_features": [
        "log_intensity", "width", "length", "wl", "skewness", "kurtosis", "time_gradient",
        "leakage_intensity_width_2", "sin_az_tel", "alt_tel",
    ],
    "particle_classification_features": [
        "log_intensity", "width", "length", "x", "y", "wl", "signed_skewness", "kurtosis",
        "signed_time_gradient", "leakage_intensity_width_2", "log_reco_energy", "reco_disp_norm",
        "reco_disp_sign", "sin_az_tel", "alt_tel",
    ],
}
#: Features lstchain computes itself while applying the models.
_COMPUTED_BY_LSTCHAIN = {
    "sin_az_tel", "signed_skewness", "signed_time_gradient", "log_reco_energy",
    "reco_disp_norm", "reco_disp_sign",
}
#: Columns lstchain always reads: pointing, image direction, and the standard event filters.
_ALWAYS_NEEDED = [
    "obs_id", "event_id", "alt_tel", "az_tel", "x", "y", "psi", "skewness", "time_gradient",
    "intensity", "width", "length", "wl", "r", "leakage_intensity_width_2",
]


def default_config_path() -> Path:
    """Return lappana's lstchain configuration: small forests for simulated data."""
    return Path(__file__).resolve().parent / "data" / MODELS_CONFIG_NAME


def read_config(config: str | Path | None) -> dict:
    """Return an lstchain configuration file's settings (``{}`` for None: lstchain's standard ones)."""
    if config is None:
        return {}
    path = Path(config)
    if not path.is_file():
        raise LappanaError(f"The lstchain configuration {path} does not exist.")
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError) as exc:
        raise LappanaError(f"The lstchain configuration {path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise LappanaError(f"The lstchain configuration {path} must be a JSON object.")
    return data


def resolve_config(config: str | Path | None, models_dir: str | Path) -> Path | None:
    """Return the configuration to pass to lstchain, or None for lstchain's standard one.

    The given one when set, else ``lstchain_config.json`` in ``models_dir`` when
    it is there (the configuration the models were trained with).
    """
    if config is not None:
        return Path(config).resolve()
    beside_models = Path(models_dir) / MODELS_CONFIG_NAME
    return beside_models.resolve() if beside_models.is_file() else None


def model_files(config: dict | None = None) -> list[str]:
    """Return the model files lstchain_dl1_to_dl2 loads for a configuration.

    ``reg_energy.sav`` and ``cls_gh.sav``, plus ``reg_disp_norm.sav`` and
    ``cls_disp_sign.sav`` (``disp_method`` ``disp_norm_sign``, the default) or
    ``reg_disp_vector.sav`` (``disp_vector``).
    """
    method = (config or {}).get("disp_method", "disp_norm_sign")
    names = ["reg_energy.sav", "cls_gh.sav"]
    if method == "disp_vector":
        names.append("reg_disp_vector.sav")
    elif method == "disp_norm_sign":
        names += ["reg_disp_norm.sav", "cls_disp_sign.sav"]
    else:
        raise LappanaError(
            f"The lstchain configuration sets disp_method to {method!r}: "
            "use 'disp_norm_sign' or 'disp_vector'."
        )
    return names


def dl1_columns_needed(config: dict | None = None) -> list[str]:
    """Return the DL1 columns lstchain_dl1_to_dl2 reads with a configuration."""
    config = config or {}
    needed = list(_ALWAYS_NEEDED)
    for key, standard in _STANDARD_FEATURES.items():
        for name in config.get(key, standard):
            if name not in needed and name not in _COMPUTED_BY_LSTCHAIN:
                needed.append(name)
    for name in config.get("events_filters", {}):
        if name not in needed:
            needed.append(name)
    return needed
