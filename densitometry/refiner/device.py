"""The one place that picks the torch device of the refiner (CUDA, then Apple MPS, then CPU)."""

from __future__ import annotations

from ..errors import ParameterError

#: Accepted values of ``select_device(preference=...)``.
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def select_device(preference: str = "auto"):
    """The torch device the refiner runs on.

    Parameters
    ----------
    preference : {"auto", "cuda", "mps", "cpu"}
        ``"auto"`` takes CUDA if available, else Apple MPS, else the CPU. Naming a device that is not
        available raises instead of silently falling back.

    Returns
    -------
    torch.device

    Raises
    ------
    ParameterError
        Unknown preference, or the requested device is not available.
    RefinerUnavailableError
        torch is not installed.
    """
    from ._torch import import_torch

    torch = import_torch()
    if preference not in DEVICE_CHOICES:
        raise ParameterError(f"device must be one of {DEVICE_CHOICES}, got {preference!r}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if preference == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (preference == "cuda" and not cuda) or (preference == "mps" and not mps):
        raise ParameterError(f"device {preference!r} was requested but is not available on this machine")
    return torch.device(preference)
