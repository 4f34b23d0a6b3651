"""Optional CNN refiner: a compact U-Net predicts a hair probability map that the classic skeleton and
diameter code then measures, so refined and classic results stay comparable.

torch is imported lazily: importing this package works without it, and `refiner_available` says why the
refiner cannot run (with the install command ``pip install 'densitometry[refiner]'``).

>>> from densitometry.refiner import refiner_available
>>> ok, reason = refiner_available()  # doctest: +SKIP
"""

from ._torch import INSTALL_HINT, RefinerUnavailableError
from .config import RefinerConfig
from .device import select_device
from .infer import (
    Refiner,
    default_model_dir,
    hair_probability,
    load_refiner,
    probability_map,
    refined_ridge_map,
    refiner_available,
)

__all__ = [
    "INSTALL_HINT",
    "Refiner",
    "RefinerConfig",
    "RefinerUnavailableError",
    "default_model_dir",
    "hair_probability",
    "load_refiner",
    "probability_map",
    "refined_ridge_map",
    "refiner_available",
    "select_device",
]
