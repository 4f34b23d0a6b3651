"""Calibration: the one place where micrometres become pixels.

Every size parameter in densitometry is given in micrometres (µm) and converted to pixels here, so a
photo taken at another magnification is analysed with the same physical settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import CalibrationError

UM_PER_CM = 10_000.0
UM_PER_MM = 1_000.0


def check_positive_finite(value, name: str) -> float:
    """Return ``value`` as float, or raise `CalibrationError` if it is not a finite number > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise CalibrationError(f"{name} must be finite and > 0, got {value!r}")
    return number


@dataclass(frozen=True)
class Calibration:
    """Physical pixel size of a photo.

    Parameters
    ----------
    um_per_px : float
        Micrometres per pixel (square pixels). Dermatoscopes at 20-70x give roughly 2-10 µm/px.

    Raises
    ------
    CalibrationError
        If ``um_per_px`` is missing, non-finite, zero or negative.
    """

    um_per_px: float

    def __post_init__(self):
        object.__setattr__(self, "um_per_px", check_positive_finite(self.um_per_px, "um_per_px"))

    @classmethod
    def from_field_of_view(cls, width_mm, image_width_px, *, height_mm=None, image_height_px=None):
        """Calibration from the physical width of the field of view.

        Parameters
        ----------
        width_mm : float
            Width of the imaged field in millimetres.
        image_width_px : int
            Width of the image in pixels.
        height_mm, image_height_px : float, int, optional
            If both are given, the vertical pixel size must agree with the horizontal one within 2 %
            (square pixels); otherwise `CalibrationError` is raised.
        """
        width_mm = check_positive_finite(width_mm, "field of view width_mm")
        width_px = check_positive_finite(image_width_px, "image width in pixels")
        um_per_px = width_mm * UM_PER_MM / width_px
        if height_mm is not None and image_height_px is not None:
            height_mm = check_positive_finite(height_mm, "field of view height_mm")
            height_px = check_positive_finite(image_height_px, "image height in pixels")
            um_per_px_y = height_mm * UM_PER_MM / height_px
            if abs(um_per_px_y - um_per_px) > 0.02 * um_per_px:
                raise CalibrationError(
                    f"field of view {width_mm} x {height_mm} mm does not match the image aspect "
                    f"{int(width_px)} x {int(height_px)} px: {um_per_px:.3f} µm/px across but "
                    f"{um_per_px_y:.3f} µm/px down (pixels must be square)"
                )
        return cls(um_per_px)

    def px(self, length_um: float) -> float:
        """Length in pixels of ``length_um`` micrometres."""
        return float(length_um) / self.um_per_px

    def um(self, length_px: float) -> float:
        """Length in micrometres of ``length_px`` pixels."""
        return float(length_px) * self.um_per_px

    def area_cm2(self, n_pixels: float) -> float:
        """Area in cm² covered by ``n_pixels`` pixels."""
        return float(n_pixels) * (self.um_per_px / UM_PER_CM) ** 2


def as_calibration(calibration=None, *, um_per_px=None) -> Calibration:
    """Normalise the ways a caller can give a calibration into one `Calibration`."""
    if calibration is not None and um_per_px is not None:
        raise CalibrationError("give either a Calibration or um_per_px, not both")
    if isinstance(calibration, Calibration):
        return calibration
    value = calibration if calibration is not None else um_per_px
    if value is None:
        raise CalibrationError(
            "no calibration: pass um_per_px (micrometres per pixel, e.g. 5.0) or a Calibration "
            "(Calibration.from_field_of_view(width_mm, image_width_px))"
        )
    return Calibration(value)
