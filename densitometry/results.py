"""Results: the typed outcome of an analysis, its per-hair table and a JSON-safe summary."""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .calibration import Calibration, check_positive_finite
from .errors import ParameterError
from .preprocess import MAX_COLOUR_GAIN, Polarity


class ThicknessClass(str, enum.Enum):
    """Shaft thickness class (see `AnalysisParameters` for the thresholds)."""

    VELLUS = "vellus"
    INTERMEDIATE = "intermediate"
    TERMINAL = "terminal"


#: Columns of `AnalysisResult.hairs`, in order.
HAIR_COLUMNS = (
    "hair_id",
    "diameter_um",
    "length_um",
    "thickness_class",
    "contrast",
    "start_row_px",
    "start_col_px",
    "end_row_px",
    "end_col_px",
    "touches_border",
    "junction_count",
    "diameter_sample_count",
    "bundle_size",
    "grey_white",
)


def hair_ends_px(hairs) -> np.ndarray:
    """(row, col) of both ends of every hair in an `AnalysisResult.hairs` table, shape (n, 2, 2):
    [hair, end (0: start, 1: end), (row, col)], in the photo's pixels."""
    columns = ["start_row_px", "start_col_px", "end_row_px", "end_col_px"]
    return hairs[columns].to_numpy(dtype=float).reshape(-1, 2, 2)


#: The colour channels' weights, decided per photo unless set (`AnalysisParameters`, `AnalysisResult`).
CHANNEL_WEIGHTS = ("blue_weight", "red_weight", "green_weight")

#: Values of `AnalysisParameters.field_of_view`.
FIELDS_OF_VIEW = ("auto", "whole")


@dataclass(frozen=True)
class AnalysisParameters:
    """Settings of one analysis; stored with every result so any number can be reproduced.

    Parameters
    ----------
    min_length_um : float
        A hair counts when at least this much of its shaft is visible (default 150 µm).
    vellus_max_um : float
        Shafts thinner than this are vellus (default 30 µm).
    terminal_min_um : float
        Shafts at least this thick are terminal (default 60 µm); in between: intermediate.
        TrichoScan-style two-class reports use ``vellus_max_um = terminal_min_um = 40``.
    polarity : Polarity or str
        ``"auto"``, ``"dark"`` (dark hair on lighter skin) or ``"bright"`` (grey/white hair).
    min_diameter_um, max_diameter_um : float
        Range of shaft widths the ridge filter looks for.
    low_contrast, high_contrast : float
        Hysteresis thresholds in relative contrast (fraction darker/brighter than the skin).
    max_turn_deg : float
        Largest bend accepted when a hair is followed across a junction.
    max_single_diameter_um : float
        A traced shaft wider than this with sharp edges is taken as touching hairs, as many (up to 4)
        as the photo's typical shafts it is wide (default 130 µm, above the thickest terminal scalp
        hairs of about 110-120 µm); a photo whose median shaft is wider gets a calibration warning.
    refine : bool
        Use the CNN refiner's hair probability map instead of the ridge threshold.
    blue_weight : float, optional
        How much the blue channel adds to the brightness contrast, 0 (nothing) to 1 (blond and red hair
        stand out in blue); default None: decided per photo
        (`densitometry.preprocess.blue_channel_weight`), and shared by the two photos of a comparison.
    red_weight, green_weight : float, optional
        The same for the red and the green channel in a reading of dark hair (hair whose colour differs
        from the skin's mostly in red or green, such as ash-blond hair on pink skin); default None:
        decided per photo (`densitometry.preprocess._red_green_weight`), and shared by the two photos of
        a comparison.
    colour_gain : float, optional
        How much the colour contrast of blond and red hair (blue minus red) is raised for a second
        reading that adds the hairs only colour shows, 0 (no colour reading) to 6; default None:
        decided per photo (`densitometry.preprocess.colour_contrast`), and shared by the two photos of
        a comparison.
    field_of_view : str
        ``"auto"`` (default): where a dark surround frames the scalp (the round field of a contact
        dermatoscope, dark corners), hairs are counted, and the density taken, inside the field only
        (`densitometry.preprocess.field_of_view`); ``"whole"``: the whole photo is the field.
    grey_white : bool, optional
        In a photo read as dark hair, also count the grey and white shafts among it
        (`densitometry.grey_white`): None (default) with ``polarity="auto"``, where bright shafts show
        that read as hair (`densitometry.analyze._with_grey_white`); True in every photo read as dark
        (classic reading); False never.
        Shared by the two photos of a comparison (the baseline's choice).
    """

    min_length_um: float = 150.0
    vellus_max_um: float = 30.0
    terminal_min_um: float = 60.0
    polarity: Polarity = Polarity.AUTO
    min_diameter_um: float = 15.0
    max_diameter_um: float = 150.0
    low_contrast: float = 0.05
    high_contrast: float = 0.12
    max_turn_deg: float = 35.0
    max_single_diameter_um: float = 130.0
    refine: bool = False
    blue_weight: float | None = None
    red_weight: float | None = None
    green_weight: float | None = None
    colour_gain: float | None = None
    field_of_view: str = "auto"
    grey_white: bool | None = None

    def __post_init__(self):
        for name in (
            "min_length_um",
            "vellus_max_um",
            "terminal_min_um",
            "min_diameter_um",
            "max_diameter_um",
            "low_contrast",
            "high_contrast",
            "max_turn_deg",
            "max_single_diameter_um",
        ):
            try:
                value = check_positive_finite(getattr(self, name), name)
            except ValueError as error:
                raise ParameterError(str(error)) from None
            object.__setattr__(self, name, value)
        try:
            object.__setattr__(self, "polarity", Polarity(self.polarity))
        except ValueError:
            raise ParameterError(
                f"polarity must be one of {[p.value for p in Polarity]}, got {self.polarity!r}"
            ) from None
        if self.terminal_min_um < self.vellus_max_um:
            raise ParameterError(
                f"terminal_min_um ({self.terminal_min_um}) must be >= vellus_max_um ({self.vellus_max_um})"
            )
        if self.max_diameter_um <= self.min_diameter_um:
            raise ParameterError("max_diameter_um must be larger than min_diameter_um")
        if self.high_contrast < self.low_contrast:
            raise ParameterError("high_contrast must be >= low_contrast")
        object.__setattr__(self, "refine", bool(self.refine))
        for name in CHANNEL_WEIGHTS:
            if getattr(self, name) is not None:
                try:
                    weight = float(getattr(self, name))
                except (TypeError, ValueError):
                    weight = math.nan
                if not 0.0 <= weight <= 1.0:  # also rejects NaN
                    raise ParameterError(f"{name} must be None or 0-1, got {getattr(self, name)!r}")
                object.__setattr__(self, name, weight)
        if self.colour_gain is not None:
            try:
                gain = float(self.colour_gain)
            except (TypeError, ValueError):
                gain = math.nan
            if not 0.0 <= gain <= MAX_COLOUR_GAIN:  # also rejects NaN
                raise ParameterError(
                    f"colour_gain must be None or 0-{MAX_COLOUR_GAIN:g}, got {self.colour_gain!r}"
                )
            object.__setattr__(self, "colour_gain", gain)
        if self.grey_white is not None:
            if not isinstance(self.grey_white, (bool, np.bool_)):
                raise ParameterError(f"grey_white must be None, True or False, got {self.grey_white!r}")
            object.__setattr__(self, "grey_white", bool(self.grey_white))
        if self.field_of_view not in FIELDS_OF_VIEW:
            raise ParameterError(f"field_of_view must be one of {FIELDS_OF_VIEW}, got {self.field_of_view!r}")

    def classify(self, diameter_um) -> ThicknessClass:
        """Thickness class of one diameter."""
        if diameter_um < self.vellus_max_um:
            return ThicknessClass.VELLUS
        if diameter_um >= self.terminal_min_um:
            return ThicknessClass.TERMINAL
        return ThicknessClass.INTERMEDIATE

    def to_dict(self) -> dict:
        """JSON-safe dict of the parameters."""
        values = asdict(self)
        values["polarity"] = Polarity(self.polarity).value
        return values


@dataclass(frozen=True)
class AnalysisResult:
    """Everything measured on one photo.

    Attributes
    ----------
    image_name : str
    calibration : Calibration
    image_shape_px : tuple of int
        (height, width).
    parameters : AnalysisParameters
    polarity : Polarity
        The polarity used (decided automatically unless forced).
    hairs : pandas.DataFrame
        One row per counted hair, columns `HAIR_COLUMNS` (pixels in ``*_px``, physical sizes in µm).
    centerlines_px : tuple of ndarray
        (N, 2) (row, col) centreline of each counted hair, in the order of ``hairs``.
    hair_mask : ndarray of bool, shape (H, W)
        The segmented hair pixels.
    image : ndarray of uint8, shape (H, W, 3)
        The photo, for overlays.
    quality_warnings : tuple of str
        Problems with the photo that may make the numbers less reliable.
    version : str
        Package version that produced the result.
    blue_weight, red_weight, green_weight : float
        Share of each colour channel's extra contrast used (decided per photo unless set; red and green
        0 in a reading of grey or white hair).
    colour_gain : float
        Gain of the colour reading that added the hairs only colour shows (0: none was made).
    field_mask : ndarray of bool, shape (H, W), optional
        The field of view when a dark surround frames the scalp (see
        `AnalysisParameters.field_of_view`); None when the field is the whole photo.
    """

    image_name: str
    calibration: Calibration
    image_shape_px: tuple
    parameters: AnalysisParameters
    polarity: Polarity
    hairs: pd.DataFrame
    centerlines_px: tuple
    hair_mask: np.ndarray = field(repr=False)
    image: np.ndarray = field(repr=False)
    quality_warnings: tuple = ()
    version: str = ""
    blue_weight: float = math.nan
    red_weight: float = math.nan
    green_weight: float = math.nan
    colour_gain: float = 0.0
    field_mask: np.ndarray | None = field(default=None, repr=False)

    @property
    def um_per_px(self) -> float:
        return self.calibration.um_per_px

    @property
    def field_area_cm2(self) -> float:
        """Area of the field of view in cm²: the whole photo, or the field inside a dark surround."""
        height, width = self.image_shape_px
        pixels = height * width if self.field_mask is None else int(np.count_nonzero(self.field_mask))
        return self.calibration.area_cm2(pixels)

    @property
    def field_fraction(self) -> float:
        """Share of the photo that is field of view (1 without a dark surround)."""
        if self.field_mask is None:
            return 1.0
        return float(np.count_nonzero(self.field_mask)) / self.field_mask.size

    @property
    def hair_count(self) -> int:
        return int(len(self.hairs))

    @property
    def grey_white_count(self) -> int:
        """Counted hairs brighter than the skin (grey or white; all hairs of a photo read as bright)."""
        return int(self.hairs["grey_white"].sum()) if len(self.hairs) else 0

    @property
    def density_per_cm2(self) -> float:
        """Counted hairs per cm² of the field of view."""
        return self.hair_count / self.field_area_cm2

    def _diameters_um(self):
        values = self.hairs["diameter_um"].to_numpy(dtype=float)
        return values[np.isfinite(values)]

    @property
    def mean_diameter_um(self) -> float:
        values = self._diameters_um()
        return float(values.mean()) if len(values) else math.nan

    @property
    def median_diameter_um(self) -> float:
        values = self._diameters_um()
        return float(np.median(values)) if len(values) else math.nan

    def _fraction(self, thickness_class: ThicknessClass) -> float:
        if self.hair_count == 0:
            return math.nan
        return float((self.hairs["thickness_class"] == thickness_class.value).mean())

    @property
    def vellus_fraction(self) -> float:
        return self._fraction(ThicknessClass.VELLUS)

    @property
    def intermediate_fraction(self) -> float:
        return self._fraction(ThicknessClass.INTERMEDIATE)

    @property
    def terminal_fraction(self) -> float:
        return self._fraction(ThicknessClass.TERMINAL)

    @property
    def cumulative_thickness_mm_per_cm2(self) -> float:
        """Sum of shaft diameters (mm) per cm² of field, as TrichoScan reports it."""
        return float(self._diameters_um().sum() / 1000.0 / self.field_area_cm2)

    @functools.cached_property
    def follicular_units(self):
        """Follicular units with the default settings (`densitometry.follicular.follicular_units`).

        For other settings call ``densitometry.follicular.follicular_units(result, ...)``.
        """
        from .follicular import follicular_units

        return follicular_units(self)

    @property
    def follicular_unit_count(self) -> int:
        """Follicular units with their opening inside the field."""
        return self.follicular_units.unit_count

    @property
    def follicular_unit_density_per_cm2(self) -> float:
        return self.follicular_units.density_per_cm2

    @property
    def hairs_per_unit_mean(self) -> float:
        return self.follicular_units.hairs_per_unit_mean

    @property
    def single_hair_unit_fraction(self) -> float:
        return self.follicular_units.single_hair_unit_fraction

    @property
    def empty_opening_count(self) -> int:
        """Empty follicular openings found on the skin between the hairs (a lower bound)."""
        return self.follicular_units.empty_opening_count

    @property
    def yellow_dot_count(self) -> int:
        """Empty follicular openings that are yellow dots."""
        return self.follicular_units.yellow_dot_count

    def pattern_indicators(self, *, region=None, **thresholds):
        """Indicators of pattern hair loss with flags (measurements, not a diagnosis).

        See `densitometry.follicular.pattern_indicators` for ``region`` and the thresholds.
        """
        from .follicular import pattern_indicators

        return pattern_indicators(self, self.follicular_units, region=region, **thresholds)

    def summary(self) -> dict:
        """The per-photo numbers (JSON-safe; NaN becomes None)."""
        values = {
            "image": self.image_name,
            "hair_count": self.hair_count,
            "grey_white_count": self.grey_white_count,
            "density_per_cm2": self.density_per_cm2,
            "field_area_cm2": self.field_area_cm2,
            "field_fraction": self.field_fraction,
            "mean_diameter_um": self.mean_diameter_um,
            "median_diameter_um": self.median_diameter_um,
            "vellus_fraction": self.vellus_fraction,
            "intermediate_fraction": self.intermediate_fraction,
            "terminal_fraction": self.terminal_fraction,
            "cumulative_thickness_mm_per_cm2": self.cumulative_thickness_mm_per_cm2,
            "follicular_unit_count": self.follicular_unit_count,
            "follicular_unit_density_per_cm2": self.follicular_unit_density_per_cm2,
            "hairs_per_unit_mean": self.hairs_per_unit_mean,
            "single_hair_unit_fraction": self.single_hair_unit_fraction,
            "empty_opening_count": self.empty_opening_count,
            "yellow_dot_count": self.yellow_dot_count,
            "um_per_px": self.um_per_px,
            "polarity": Polarity(self.polarity).value,
            "blue_weight": self.blue_weight,
            "red_weight": self.red_weight,
            "green_weight": self.green_weight,
            "colour_gain": self.colour_gain,
            "image_height_px": int(self.image_shape_px[0]),
            "image_width_px": int(self.image_shape_px[1]),
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}

    def to_dict(self, *, include_hairs: bool = True) -> dict:
        """JSON-safe dict: summary, quality warnings, parameters, version and (optionally) the hairs."""
        values = {
            "summary": self.summary(),
            "quality_warnings": list(self.quality_warnings),
            "parameters": self.parameters.to_dict(),
            "densitometry_version": self.version,
        }
        if include_hairs:
            hairs = self.hairs.astype(object).where(self.hairs.notna(), None)
            values["hairs"] = hairs.to_dict(orient="records")
        return values

    def overlay(self, *, line_width_px: int | None = None) -> np.ndarray:
        """RGB uint8 image with every counted hair drawn, coloured by thickness class."""
        from .overlay import draw_overlay

        return draw_overlay(self, line_width_px=line_width_px)

    def diameter_histogram(self, *, bin_width_um: float = 10.0):
        """Counts of hairs per diameter bin: ``(counts, edges_um)``."""
        bin_width_um = check_positive_finite(bin_width_um, "bin_width_um")
        values = self._diameters_um()
        top = max(float(values.max()) if len(values) else 0.0, self.parameters.terminal_min_um) + bin_width_um
        edges = np.arange(0.0, top + bin_width_um, bin_width_um)
        counts, edges = np.histogram(values, bins=edges)
        return counts, edges
