"""densitometry: scalp trichoscopy analysis (hair count, density in hairs/cm², shaft diameter in µm).

>>> import densitometry
>>> result = densitometry.analyze("scalp.jpg", um_per_px=5.0)  # doctest: +SKIP
>>> result.hair_count, result.density_per_cm2, result.mean_diameter_um  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .analyze import analyze  # noqa: E402
from .calibration import Calibration  # noqa: E402
from .compare import Comparison, compare  # noqa: E402
from .errors import CalibrationError, DensitometryError, ImageLoadError, ParameterError  # noqa: E402
from .io import load_image  # noqa: E402
from .preprocess import Polarity  # noqa: E402
from .results import AnalysisParameters, AnalysisResult, ThicknessClass  # noqa: E402

__all__ = [
    "AnalysisParameters",
    "AnalysisResult",
    "Calibration",
    "CalibrationError",
    "Comparison",
    "DensitometryError",
    "ImageLoadError",
    "ParameterError",
    "Polarity",
    "ThicknessClass",
    "__version__",
    "analyze",
    "compare",
    "load_image",
]
