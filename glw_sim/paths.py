"""Where the shipped data lives. The core reads only paths it is given or these."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def calibration_dir() -> Path:
    """The ``calibration/`` folder of the repository (``GLW_SIM_CALIBRATION`` overrides)."""
    env = os.environ.get("GLW_SIM_CALIBRATION")
    return Path(env) if env else REPO_DIR / "calibration"


def targets_dir() -> Path:
    return calibration_dir() / "targets"


def fitted_dir() -> Path:
    return calibration_dir() / "fitted"


def boundaries_path() -> Path:
    """The simplified ONS boundaries of the 33 authorities (``calibration/boundaries/``; charts only). A
    calibration folder given by ``GLW_SIM_CALIBRATION`` without them uses the repository's."""
    rel = Path("boundaries") / "london_boroughs.geojson"
    path = calibration_dir() / rel
    return path if path.exists() else REPO_DIR / "calibration" / rel
