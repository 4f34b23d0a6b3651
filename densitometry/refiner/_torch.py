"""Lazy import of the optional torch dependency, with an install hint."""

from __future__ import annotations

import importlib

from ..errors import DensitometryError

INSTALL_HINT = "pip install 'densitometry[refiner]'"


class RefinerUnavailableError(DensitometryError, RuntimeError):
    """The CNN refiner cannot run (torch missing, or no usable weights); the message says how to fix it."""


def import_torch():
    """Return the torch module, or raise `RefinerUnavailableError` with the install command."""
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise RefinerUnavailableError(
            f"the CNN refiner needs PyTorch, which is not installed ({error}); install it with: "
            f"{INSTALL_HINT} (or analyse with refine=False)"
        ) from None
