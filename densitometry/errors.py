"""Exception types raised at the public boundary of densitometry."""


class DensitometryError(Exception):
    """Base class of every error densitometry raises on purpose."""


class ImageLoadError(DensitometryError, ValueError):
    """An input could not be read as a usable scalp photo (names the file and the problem)."""


class CalibrationError(DensitometryError, ValueError):
    """A physical calibration is missing, non-finite or not positive."""


class ParameterError(DensitometryError, ValueError):
    """An analysis parameter is out of its valid range."""
