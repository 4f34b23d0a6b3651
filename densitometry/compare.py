"""Before / after: align two photos of one scalp site and compare them in their common field.

Both photos are analysed with the same parameters (`densitometry.analyze`), the after photo is registered
onto the before photo (`densitometry.registration`), and every number is computed on the common field
only: a hair counts there when at least ``min_length_um`` of its shaft lies inside the common field (the
same rule `analyze` applies at the photo border, so a hair cut by the edge of one photo is treated alike in
both). Hairs are then matched one to one by centreline proximity (Hungarian assignment) and, with
``interval_days``, growth per hair is measured as in a phototrichogram.

The change itself is counted jointly, hair to hair. Two independent analyses of the same unchanged site
differ by several per cent (viewpoint, exposure and compression move hairs across the detection
thresholds), which is as large as the changes to be measured. So a hair counted in one photo only is
looked at in the other photo, at the same scalp positions (its centreline mapped through the
registration): where both photos show the same thing along it (the same shaft, or no shaft at all) the
other analysis missed it and it is present at both visits; only where the photos differ is it new or
lost. A detection whose own photo shows no shaft under its centreline (a path traced along the skin
beside a shaft) is no hair and is left out. A hair added or removed beside a neighbour it was traced
with has no traced hair of its own to be new or lost: such hairs are found in the difference of the
aligned photos (`densitometry.change`) and counted too. Density change is then (new - lost) / common
field, and diameter change compares the same hairs.

References
----------
R. Hoffmann, "TrichoScan: a novel tool for the analysis of hair growth in vivo",
J. Investig. Dermatol. Symp. Proc. 8 (2003) 109-115.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from .analyze import analyze, field_within, region_mask, resolve_parameters
from .calibration import Calibration, as_calibration, check_positive_finite
from .change import changed_hairs, continuing
from .errors import CalibrationError, ParameterError
from .hairs import values_at
from .io import load_image
from .measure import profile_widths
from .preprocess import Polarity, colour_contrast, field_of_view, fill_outside, preprocess
from .registration import Registration, common_field, map_points, register
from .results import CHANNEL_WEIGHTS, AnalysisResult, ThicknessClass
from .segment import ridge_filter

#: Default margin (µm) between the common field where hairs are counted and the photos' edges.
FIELD_MARGIN_UM = 100.0
#: Matched hairs' centrelines may lie this many shaft widths apart (mean distance). In registered
#: photos one shaft's two centrelines lie within a fraction of its width (the registration residual;
#: half a width where one analysis traced a band of touching hairs down its middle), while the
#: centreline of the next hair lies at least one width away: within 1.5 widths, a hair gone at the
#: second visit could take the match of a neighbour traced in other pieces (delta density within 2
#: percentage points of the truth in 35 of 80 synthetic pairs of `benchmarks/compare.py`, 39 at 0.75).
MATCH_SHAFT_WIDTHS = 0.75
#: ... but never closer than this many pixels is required (thin vellus hairs, registration error).
_MIN_MATCH_DISTANCE_PX = 4.0
#: Points each centreline is resampled to for matching.
_RESAMPLE_POINTS = 16
#: Exposure / white-balance gains beyond this factor get a warning.
_GAIN_WARN = 1.5
#: A magnification the alignment measures beyond the given calibrations by more than this share gets a
#: warning (hand-held microscopes held at another distance; the alignment measures the scale to within
#: 0.1 % on the re-shot real photos of `benchmarks/compare_real.py`).
_SCALE_WARN = 0.02
#: A hair counted in one photo only is present in the other photo too (its analysis missed it) when
#: the two photos show the same thing (the same shaft at the same place, or no shaft) along at least
#: this share of its centreline. A removed hair leaves skin along all of it, bar where other hairs
#: cross; a missed one looks alike along most of it, but crossing hairs, defocus and the photo's edge
#: spoil some profiles: real hairs of re-shot unchanged sites were taken for lost at shares of
#: 0.43-0.48 (`benchmarks/compare.py --changes none`: 16 of 20 pairs within 1 % at 0.5, 20 at 0.4).
PRESENCE_MIN_SHARE = 0.4
#: A detection is on a shaft when its own photo shows a shaft under at least this share of its centreline.
ON_SHAFT_MIN_SHARE = 0.5
#: Samples along one profile across a mapped centreline (as in `densitometry.measure`).
_PROFILE_SAMPLES = 81
#: The same shaft's centre, seen in both photos, may differ by this much on top of the registration
#: residual: the rounding of centreline points to pixels.
_PRESENCE_ROUNDING_PX = 1.0


@dataclass(frozen=True)
class FieldResult(AnalysisResult):
    """An `AnalysisResult` restricted to the common field of a comparison.

    ``hairs`` and ``centerlines_px`` hold only the hairs counted in the common field (pixel coordinates
    stay those of the photo itself), and ``field_area_cm2`` is the area of the common field, so
    ``density_per_cm2``, the diameters and the thickness fractions all refer to the common field.
    """

    area_cm2: float = math.nan

    @property
    def field_area_cm2(self) -> float:
        return float(self.area_cm2)


@dataclass(frozen=True)
class Comparison:
    """A before / after comparison of one scalp site.

    Two kinds of numbers are kept apart. ``before`` and ``after`` are the two photos analysed
    independently (each restricted to the common field): what `densitometry.analyze` counts on each.
    The changes (``delta_*``, ``new_hairs``, ``lost_hairs``, ``before_density_per_cm2``, ...) come
    from the joint count: every hair counted in either photo is present at a visit when that photo's
    analysis counted it, or when it was counted in the other photo only and this photo shows the
    same thing along its mapped centreline (``missed_in_*``); detections whose own photo shows no
    shaft under them (``off_shaft_*``) are left out. Hairs that the aligned photos show appearing or
    disappearing where no counted hair accounts for them (``new_untraced``, ``lost_untraced``: traced
    together with a neighbour) are added to the visit that shows them; so ``delta_density_per_cm2``
    is ``(new_hairs - lost_hairs) / overlap_area_cm2``. When the photos are not registered there is no
    joint count: the changes are those of the independent whole-field analyses.

    Attributes
    ----------
    before, after : FieldResult
        Each photo's independent analysis in the common field (the whole field when not registered).
    before_result, after_result : AnalysisResult
        The full analyses of both photos (the after photo's at the pixel size the alignment measured,
        ``after_result.um_per_px``, unless ``scale_from_alignment=False``).
    registration : Registration
    overlap_area_cm2 : float
        Area of the common field where hairs are counted, i.e. the overlap of the photos less a
        ``field_margin_um`` rim (the before photo's whole field when not registered).
    matched_hairs : int
        Hairs counted in both photos and matched one to one, on a shaft in at least one of them (0
        when not registered).
    off_shaft_before, off_shaft_after : int
        Hairs counted by that photo's analysis whose centreline neither it (nor, when matched, the
        other photo) shows a shaft under: paths traced beside a shaft, left out of the joint count.
    missed_in_before, missed_in_after : int
        Hairs counted by the other photo's analysis only, whose shaft this photo shows at the mapped
        position (the analysis of this photo missed them): present at both visits.
    extended_before, extended_after : int
        Stretches counted as hairs in that photo only that continue a hair of the other photo beyond
        its end, pointing its way (`densitometry.change.continuing`): the hair broke off (before) or
        grew (after) between the visits; neither lost nor new, and left out of the joint count.
    new_hairs, lost_hairs : int
        Hairs counted in the after (before) photo only that the before (after) photo does not show,
        plus ``new_untraced`` (``lost_untraced``).
    new_untraced, lost_untraced : int
        Hairs the aligned photos show appearing (disappearing) that no hair counted by the after
        (before) photo's analysis accounts for: a hair traced together with a neighbour, or cut into
        short pieces where others cross it (`densitometry.change`; ``untraced_new_px`` and
        ``untraced_lost_px`` hold their centrelines in the before photo's frame).
    new_hair_ids, lost_hair_ids : tuple of int
        ``hair_id`` of the traced new hairs in ``after_result`` and of the traced lost hairs in
        ``before_result`` (the untraced ones have no id; see ``untraced_new_px``).
    missed_in_before_ids, missed_in_after_ids : tuple of int
        ``hair_id`` of the hairs counted ``missed_in_before`` (in ``after_result``) and
        ``missed_in_after`` (in ``before_result``): present at both visits.
    extended_after_ids, extended_before_ids : tuple of int
        ``hair_id`` of the stretches counted ``extended_after`` (in ``after_result``: grown) and
        ``extended_before`` (in ``before_result``: broken off).
    common_field_mask : ndarray of bool, shape (H, W)
        The common field where hairs are counted, in the before photo's frame (None when not
        registered).
    hairs_present_before, hairs_present_after : int
        Hairs present at each visit in the common field: the photo's own count less ``off_shaft_*``
        and ``extended_*``, plus ``missed_in_*`` and ``lost_untraced`` (``new_untraced``) (the
        independent counts when not registered).
    present_diameters_before_um, present_diameters_after_um : tuple of float
        Diameter of each present hair at that visit; a missed hair's diameter in the photo that
        missed it is its detected diameter plus the change of its profile width between the photos. A
        matched hair's two diameters are the mean of its two detected diameters less and plus half the
        change of its profile width, read at the same scalp positions in both photos (along each
        photo's centreline, averaged; each photo's own trace may cover another stretch of the shaft or
        split a band into another number of touching hairs).
    paired_diameter_change_um : float
        Mean diameter change (after - before) of the hairs present at both visits.
    vellus_to_terminal : int
        Hairs present at both visits that were vellus before and terminal after.
    interval_days : float
        Days between the photos (NaN when not given).
    growth_um_per_day_median : float
        Median length change per day of matched hairs not cut by a photo border (NaN without
        ``interval_days``).
    anagen_fraction : float
        Share of those hairs that grew more than ``anagen_min_growth_um`` (growing, anagen); the rest
        count as telogen.
    after_gain : tuple of float
        RGB gains applied to the after photo before its analysis so that its common field has the
        before photo's exposure and white balance (the analysis thresholds are absolute, habit 6).
    hair_pairs : tuple of (int, int)
        ``(before hair_id, after hair_id)`` of every matched hair.
    warnings : tuple of str
    """

    before: FieldResult
    after: FieldResult
    before_result: AnalysisResult = field(repr=False)
    after_result: AnalysisResult = field(repr=False)
    registration: Registration
    overlap_area_cm2: float
    matched_hairs: int = 0
    new_hairs: int = 0
    lost_hairs: int = 0
    new_untraced: int = 0
    lost_untraced: int = 0
    untraced_new_px: tuple = field(default=(), repr=False)
    untraced_lost_px: tuple = field(default=(), repr=False)
    new_hair_ids: tuple = field(default=(), repr=False)
    lost_hair_ids: tuple = field(default=(), repr=False)
    missed_in_before_ids: tuple = field(default=(), repr=False)
    missed_in_after_ids: tuple = field(default=(), repr=False)
    extended_after_ids: tuple = field(default=(), repr=False)
    extended_before_ids: tuple = field(default=(), repr=False)
    common_field_mask: np.ndarray | None = field(default=None, repr=False)
    off_shaft_before: int = 0
    off_shaft_after: int = 0
    hairs_present_before: int = 0
    hairs_present_after: int = 0
    present_diameters_before_um: tuple = field(default=(), repr=False)
    present_diameters_after_um: tuple = field(default=(), repr=False)
    paired_diameter_change_um: float = math.nan
    vellus_to_terminal: int = 0
    interval_days: float = math.nan
    anagen_min_growth_um: float = 100.0
    growth_um_per_day_median: float = math.nan
    anagen_fraction: float = math.nan
    hair_pairs: tuple = field(default=(), repr=False)
    after_gain: tuple = (1.0, 1.0, 1.0)
    warnings: tuple = ()

    @property
    def registered(self) -> bool:
        return bool(self.registration.registered)

    @property
    def missed_in_before(self) -> int:
        return len(self.missed_in_before_ids)

    @property
    def missed_in_after(self) -> int:
        return len(self.missed_in_after_ids)

    @property
    def extended_before(self) -> int:
        return len(self.extended_before_ids)

    @property
    def extended_after(self) -> int:
        return len(self.extended_after_ids)

    @property
    def transform(self) -> np.ndarray:
        """3x3 matrix mapping after pixel (x, y) to before pixel (x, y); identity when not registered."""
        return np.array(self.registration.transform, dtype=float)

    @property
    def inliers(self) -> int:
        return int(self.registration.inliers)

    @property
    def overlap_fraction(self) -> float:
        return float(self.registration.overlap_fraction)

    @property
    def before_density_per_cm2(self) -> float:
        """Hairs present at the before visit per cm² of the common field (see the class notes)."""
        if not self.registered:
            return self.before.density_per_cm2
        return self.hairs_present_before / self.overlap_area_cm2

    @property
    def after_density_per_cm2(self) -> float:
        """Hairs present at the after visit per cm² of the common field (see the class notes)."""
        if not self.registered:
            return self.after.density_per_cm2
        return self.hairs_present_after / self.overlap_area_cm2

    @property
    def delta_density_per_cm2(self) -> float:
        """``after_density_per_cm2 - before_density_per_cm2``; (new - lost) / area when registered."""
        return self.after_density_per_cm2 - self.before_density_per_cm2

    @property
    def delta_density_percent(self) -> float:
        base = self.before_density_per_cm2
        return 100.0 * self.delta_density_per_cm2 / base if base > 0 else math.nan

    @property
    def before_mean_diameter_um(self) -> float:
        """Mean diameter of the hairs present at the before visit."""
        return _mean(self._present_diameters("before"))

    @property
    def after_mean_diameter_um(self) -> float:
        """Mean diameter of the hairs present at the after visit."""
        return _mean(self._present_diameters("after"))

    @property
    def delta_mean_diameter_um(self) -> float:
        """Change of the mean diameter of the hairs present: after mean minus before mean.

        Both means run over the present sets, which share every hair present in both visits, so
        their difference is the mean paired change of those hairs (each measured in both photos)
        plus the effect of the new and lost hairs.
        """
        return self.after_mean_diameter_um - self.before_mean_diameter_um

    @property
    def delta_terminal_fraction(self) -> float:
        return self._fraction("after", ThicknessClass.TERMINAL) - self._fraction(
            "before", ThicknessClass.TERMINAL
        )

    @property
    def delta_vellus_fraction(self) -> float:
        return self._fraction("after", ThicknessClass.VELLUS) - self._fraction(
            "before", ThicknessClass.VELLUS
        )

    def _present_diameters(self, visit: str) -> np.ndarray:
        if not self.registered:
            values = getattr(self, visit).hairs["diameter_um"].to_numpy(dtype=float)
        else:
            values = np.asarray(getattr(self, f"present_diameters_{visit}_um"), dtype=float)
        return values[np.isfinite(values)]

    def _fraction(self, visit: str, thickness_class: ThicknessClass) -> float:
        values = self._present_diameters(visit)
        if len(values) == 0:
            return math.nan
        classify = self.before.parameters.classify
        return float(np.mean([classify(d) is thickness_class for d in values]))

    def to_dict(self) -> dict:
        """JSON-safe dict of the comparison (NaN becomes None)."""
        values = {
            "registered": self.registered,
            "transform": self.transform.tolist(),
            "inliers": self.inliers,
            "overlap_fraction": self.overlap_fraction,
            "overlap_area_cm2": self.overlap_area_cm2,
            "scale": self.registration.scale,
            "rotation_deg": self.registration.rotation_deg,
            "delta_density_per_cm2": self.delta_density_per_cm2,
            "delta_density_percent": self.delta_density_percent,
            "delta_mean_diameter_um": self.delta_mean_diameter_um,
            "delta_terminal_fraction": self.delta_terminal_fraction,
            "delta_vellus_fraction": self.delta_vellus_fraction,
            "before_density_per_cm2": self.before_density_per_cm2,
            "after_density_per_cm2": self.after_density_per_cm2,
            "before_mean_diameter_um": self.before_mean_diameter_um,
            "after_mean_diameter_um": self.after_mean_diameter_um,
            "paired_diameter_change_um": self.paired_diameter_change_um,
            "matched_hairs": int(self.matched_hairs),
            "new_hairs": int(self.new_hairs),
            "lost_hairs": int(self.lost_hairs),
            "new_untraced": int(self.new_untraced),
            "lost_untraced": int(self.lost_untraced),
            "missed_in_before": int(self.missed_in_before),
            "missed_in_after": int(self.missed_in_after),
            "off_shaft_before": int(self.off_shaft_before),
            "off_shaft_after": int(self.off_shaft_after),
            "extended_before": int(self.extended_before),
            "extended_after": int(self.extended_after),
            "hairs_present_before": int(self.hairs_present_before),
            "hairs_present_after": int(self.hairs_present_after),
            "vellus_to_terminal": int(self.vellus_to_terminal),
            "interval_days": self.interval_days,
            "anagen_min_growth_um": self.anagen_min_growth_um,
            "growth_um_per_day_median": self.growth_um_per_day_median,
            "anagen_fraction": self.anagen_fraction,
        }
        values["after_gain"] = [float(g) for g in self.after_gain]
        for name in (
            "new_hair_ids",
            "lost_hair_ids",
            "missed_in_before_ids",
            "missed_in_after_ids",
            "extended_after_ids",
            "extended_before_ids",
        ):
            values[name] = [int(i) for i in getattr(self, name)]
        values = {k: _json_number(v) for k, v in values.items()}
        values["before"] = self.before.summary()
        values["after"] = self.after.summary()
        values["warnings"] = list(self.warnings)
        values["parameters"] = self.before.parameters.to_dict()
        values["densitometry_version"] = self.before.version
        return values

    def aligned_after(self) -> np.ndarray:
        """The after photo warped into the before photo's frame (RGB uint8, before's shape)."""
        height, width = self.before.image.shape[:2]
        return cv2.warpPerspective(self.after.image, self.transform, (width, height), flags=cv2.INTER_LINEAR)

    def aligned_after_overlay(self) -> np.ndarray:
        """The after overlay (common-field hairs) in the before photo's frame: warped onto it when the
        photos are aligned, else resized to the before photo's size (RGB uint8)."""
        height, width = self.before.image.shape[:2]
        overlay = self.after.overlay()
        if self.registered:
            return cv2.warpPerspective(overlay, self.transform, (width, height), flags=cv2.INTER_LINEAR)
        if overlay.shape[:2] != (height, width):
            return cv2.resize(overlay, (width, height), interpolation=cv2.INTER_AREA)
        return overlay

    def side_by_side(self, *, gap_px: int = 8) -> np.ndarray:
        """RGB uint8: the before overlay next to the aligned after overlay (common-field hairs only)."""
        left, right = self.before.overlay(), self.aligned_after_overlay()
        height = left.shape[0]
        gap = np.full((height, int(gap_px), 3), 255, dtype=np.uint8)
        return np.hstack([left, gap, right])

    def change_map(self, *, line_width_px: int | None = None) -> np.ndarray:
        """RGB uint8 in the before photo's frame: the aligned after photo with the new hairs drawn
        solid, the lost ones dashed where they were, grown stretches and the hairs present at both
        visits (`densitometry.overlay.draw_change_map`)."""
        from .overlay import draw_change_map

        return draw_change_map(self, line_width_px=line_width_px)


def compare(
    before,
    after,
    um_per_px=None,
    *,
    before_um_per_px=None,
    after_um_per_px=None,
    interval_days=None,
    anagen_min_growth_um: float = 100.0,
    min_inliers: int = 20,
    field_margin_um: float = FIELD_MARGIN_UM,
    scale_from_alignment: bool = True,
    parameters=None,
    region=None,
    before_region=None,
    after_region=None,
    **options,
) -> Comparison:
    """Align an after photo onto a before photo of the same scalp site and compare them.

    Parameters
    ----------
    before, after : str, os.PathLike, ndarray or PIL.Image.Image
        The two photos (see `densitometry.io.load_image`); never modified.
    um_per_px : float or Calibration, optional
        Pixel size of both photos; or give ``before_um_per_px`` and ``after_um_per_px``.
    before_um_per_px, after_um_per_px : float or Calibration, optional
        Pixel size of each photo (the after photo is resampled to the before's for alignment).
    interval_days : float, optional
        Days between the photos; enables growth per hair (phototrichogram).
    anagen_min_growth_um : float, optional
        A matched hair that grew more than this over the interval counts as anagen (default 100 µm,
        about three days of anagen growth at ~0.35 mm/day, well above length-measurement noise).
    min_inliers : int, optional
        Feature matches needed to accept the alignment.
    field_margin_um : float, optional
        The common field is shrunk by this margin (default `FIELD_MARGIN_UM`) so that a hair cut by
        the edge of one photo is seen whole, up to the field's edge, in both photos.
    scale_from_alignment : bool, optional
        Take the after photo's pixel size from the alignment (default): the hairs of one site keep
        their size between visits, so a magnification the alignment measures beyond the given
        calibrations (a hand-held microscope held nearer or farther, another zoom step) is the
        camera's, and the after photo is analysed at its given pixel size times the fitted scale
        (``cmp.after_result.um_per_px``). Otherwise a 3 % magnification reads every shaft of the
        after photo 3 % wider, and every hair 3 % longer. False keeps the given after pixel size.
    parameters : AnalysisParameters, optional
    region : str, os.PathLike, ndarray or PIL.Image.Image, optional
        The part of both photos to analyse (``region`` of `densitometry.analyze`): one mask for a
        device's burned-in label or scale bar, which sits at the same place in every photo; or give
        ``before_region`` and ``after_region``, one for each photo. Features for the alignment are
        taken inside the regions too.
    **options
        Analysis options passed to `densitometry.analyze` (e.g. ``min_length_um=200``).

    Returns
    -------
    Comparison

    Raises
    ------
    CalibrationError
        Calibration missing, contradictory, non-finite or not positive.
    ImageLoadError, ParameterError
        As `densitometry.analyze`.
    """
    before_cal, after_cal = _calibrations(um_per_px, before_um_per_px, after_um_per_px)
    if interval_days is not None:
        try:
            interval_days = check_positive_finite(interval_days, "interval_days")
        except ValueError as error:
            raise ParameterError(str(error)) from None
    try:
        anagen_min_growth_um = check_positive_finite(anagen_min_growth_um, "anagen_min_growth_um")
        field_margin_um = float(field_margin_um)
        if not (math.isfinite(field_margin_um) and field_margin_um >= 0):
            raise ValueError(f"field_margin_um must be finite and >= 0, got {field_margin_um!r}")
    except (TypeError, ValueError) as error:
        raise ParameterError(str(error)) from None
    if region is not None and (before_region is not None or after_region is not None):
        raise ParameterError("give region (both photos) or before_region / after_region, not both")
    before_img = load_image(before, name=None if isinstance(before, (str, os.PathLike)) else "before")
    after_img = load_image(after, name=None if isinstance(after, (str, os.PathLike)) else "after")
    before_region = _region(before_img, region if before_region is None else before_region)
    after_region = _region(after_img, region if after_region is None else after_region)
    before_field, after_field = _fields_of_view(
        before_img.rgb, after_img.rgb, before_cal, after_cal, parameters, options
    )
    before_field = field_within(before_field, before_region)
    after_field = field_within(after_field, after_region)
    registration = register(
        before_img.rgb,
        after_img.rgb,
        scale=after_cal.um_per_px / before_cal.um_per_px,
        min_inliers=min_inliers,
        before_field=before_field,
        after_field=after_field,
    )
    common = None
    if registration.registered:
        common = common_field(
            registration.transform,
            before_img.rgb.shape,
            after_img.rgb.shape,
            margin_px=before_cal.px(field_margin_um),
            before_field=before_field,
            after_field=after_field,
        )
        if not common.any():
            registration = dataclasses.replace(
                registration,
                registered=False,
                transform=np.eye(3),
                reason=f"no common field left inside a {field_margin_um:g} µm margin",
            )
    warnings = []
    if registration.registered and scale_from_alignment:
        # The fitted scale maps after pixels (equalised to the before's pixel size) to before pixels:
        # 0.97 where the after photo is magnified 3 % more than the calibrations say.
        after_cal = as_calibration(um_per_px=after_cal.um_per_px * registration.scale)
        if abs(registration.scale - 1.0) > _SCALE_WARN:
            warnings.append(
                f"the after photo is magnified {1.0 / registration.scale - 1.0:+.1%} against its given "
                f"calibration; analysed at the pixel size the alignment measures, "
                f"{after_cal.um_per_px:.3g} µm (check the calibration; to keep the given one: "
                "scale_from_alignment=False, command line --keep-calibration)"
            )
    after_rgb, gain = after_img.rgb, np.ones(3)
    if registration.registered:
        after_rgb, gain = _match_exposure(
            before_img.rgb, after_img.rgb, registration.transform, before_field, after_field
        )
    analyze_before = functools.partial(
        analyze, before_img.rgb, calibration=before_cal, name=before_img.name, region=before_region
    )
    analyze_after = functools.partial(
        analyze, after_rgb, calibration=after_cal, name=after_img.name, region=after_region
    )
    before_res = analyze_before(parameters=parameters, **options)
    after_res = analyze_after(parameters=before_res.parameters)
    # One weight per colour channel and one colour gain for both photos, so that a visit with more
    # colour noise does not change what counts as a hair: the mean of the two photos' own. Where any
    # differ, every one decided per photo is fixed: one left to be decided again would be decided
    # against the other, now shared, settings, each photo on its own.
    decided = [
        name for name in (*CHANNEL_WEIGHTS, "colour_gain") if getattr(before_res.parameters, name) is None
    ]
    if any(getattr(before_res, name) != getattr(after_res, name) for name in decided):
        means = {name: 0.5 * (getattr(before_res, name) + getattr(after_res, name)) for name in decided}
        shared = dataclasses.replace(before_res.parameters, **means)
        before_res = analyze_before(parameters=shared)
        after_res = analyze_after(parameters=shared)
    if after_res.polarity is not before_res.polarity:
        # One reading for both photos, the baseline's: a visit read the other way round (its bright
        # lines taken for grey hair, or not) would count other things as hair.
        after_res = analyze_after(
            parameters=dataclasses.replace(after_res.parameters, polarity=before_res.polarity)
        )
    if (
        before_res.parameters.grey_white is None
        and not before_res.parameters.refine
        and before_res.polarity is Polarity.DARK
        and (after_res.grey_white_count > 0) != (before_res.grey_white_count > 0)
    ):
        # The baseline's choice for both photos: grey and white hairs counted at one visit only (its
        # dark hair sparse enough, or not) would change the count by themselves.
        after_res = analyze_after(
            parameters=dataclasses.replace(after_res.parameters, grey_white=before_res.grey_white_count > 0)
        )
    if not registration.registered:
        warnings.append(f"could not align the photos ({registration.reason}); whole-field numbers shown")
        return Comparison(
            before=_restricted(before_res, None, before_res.field_area_cm2),
            after=_restricted(after_res, None, after_res.field_area_cm2),
            before_result=before_res,
            after_result=after_res,
            registration=registration,
            overlap_area_cm2=before_res.field_area_cm2,
            hairs_present_before=before_res.hair_count,
            hairs_present_after=after_res.hair_count,
            interval_days=math.nan if interval_days is None else interval_days,
            anagen_min_growth_um=anagen_min_growth_um,
            warnings=tuple(warnings),
        )
    if np.any(gain > _GAIN_WARN) or np.any(gain < 1.0 / _GAIN_WARN):
        warnings.append(
            "exposure or white balance differ strongly between the photos (after photo corrected by "
            f"RGB gains {', '.join(f'{g:.2f}' for g in gain)}); use the same light settings"
        )

    transform = registration.transform
    area_cm2 = before_cal.area_cm2(int(common.sum()))
    after_lines = [map_points(transform, line) for line in after_res.centerlines_px]
    ratio = after_cal.um_per_px / before_cal.um_per_px
    before_in = _in_field(before_res, before_res.centerlines_px, common, 1.0)
    after_in = _in_field(after_res, after_lines, common, ratio)
    before_f = _restricted(before_res, before_in, area_cm2)
    after_f = _restricted(after_res, after_in, area_cm2)
    if registration.overlap_fraction < 0.5:
        warnings.append(f"the photos share only {registration.overlap_fraction:.0%} of the before field")
    joint = _joint_presence(
        before_img.rgb, after_rgb, before_res, after_res, registration, after_lines, before_in, after_in
    )
    untraced_new, untraced_lost = _untraced_changes(
        joint, before_res, after_res, registration, common, after_lines
    )
    pairs = joint.pairs
    classify = before_res.parameters.classify
    v2t = sum(
        1
        for d_before, d_after in joint.persisting_diameters_um
        if classify(d_before) is ThicknessClass.VELLUS and classify(d_after) is ThicknessClass.TERMINAL
    )
    growth_median, anagen = math.nan, math.nan
    if interval_days is not None:
        growth_median, anagen = _growth(before_res, after_res, pairs, interval_days, anagen_min_growth_um)
        if not math.isfinite(growth_median):
            warnings.append("no matched hair lies fully inside both photos: growth not measured")
    return Comparison(
        before=before_f,
        after=after_f,
        before_result=before_res,
        after_result=after_res,
        registration=registration,
        overlap_area_cm2=area_cm2,
        matched_hairs=len(pairs),
        new_hairs=len(joint.new) + len(untraced_new),
        lost_hairs=len(joint.lost) + len(untraced_lost),
        new_untraced=len(untraced_new),
        lost_untraced=len(untraced_lost),
        untraced_new_px=untraced_new,
        untraced_lost_px=untraced_lost,
        new_hair_ids=tuple(int(a) for a in joint.new),
        lost_hair_ids=tuple(int(b) for b in joint.lost),
        missed_in_before_ids=tuple(int(a) for a in joint.missed_in_before),
        missed_in_after_ids=tuple(int(b) for b in joint.missed_in_after),
        extended_after_ids=tuple(int(a) for a in joint.extended_after),
        extended_before_ids=tuple(int(b) for b in joint.extended_before),
        common_field_mask=common,
        off_shaft_before=len(joint.off_shaft_before),
        off_shaft_after=len(joint.off_shaft_after),
        hairs_present_before=len(before_in)
        - len(joint.off_shaft_before)
        - len(joint.extended_before)
        + len(joint.missed_in_before)
        + len(untraced_lost),
        hairs_present_after=len(after_in)
        - len(joint.off_shaft_after)
        - len(joint.extended_after)
        + len(joint.missed_in_after)
        + len(untraced_new),
        present_diameters_before_um=joint.before_diameters_um,
        present_diameters_after_um=joint.after_diameters_um,
        paired_diameter_change_um=joint.paired_change_um,
        vellus_to_terminal=v2t,
        interval_days=math.nan if interval_days is None else interval_days,
        anagen_min_growth_um=anagen_min_growth_um,
        growth_um_per_day_median=growth_median,
        anagen_fraction=anagen,
        hair_pairs=tuple((int(b), int(a)) for b, a in pairs),
        after_gain=tuple(float(g) for g in gain),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class _Joint:
    """Hair presence in both visits (hair ids of each photo's own analysis)."""

    pairs: list  # matched (before, after) hairs
    missed_in_before: list  # after hairs whose shaft the before photo shows (not counted there)
    missed_in_after: list  # before hairs whose shaft the after photo shows
    new: list  # after hairs the before photo does not show
    lost: list  # before hairs the after photo does not show
    off_shaft_before: list  # before hairs whose centreline the before photo shows no shaft under
    off_shaft_after: list  # after hairs whose centreline the after photo shows no shaft under
    extended_before: list  # before-only stretches continuing an after hair beyond its end (broke off)
    extended_after: list  # after-only stretches continuing a before hair beyond its end (grew)
    before_diameters_um: tuple
    after_diameters_um: tuple
    persisting_diameters_um: tuple  # (before, after) of every hair present in both visits
    paired_change_um: float
    before_seen: _ShaftEvidence  # what each photo shows
    after_seen: _ShaftEvidence


def _joint_presence(
    before_rgb, after_rgb, before_res, after_res, registration, after_lines_in_before, before_in, after_in
):
    """Match the counted hairs across the photos and decide, for those counted in one only, why.

    A detection whose own photo shows no shaft under its centreline (the analysis traced a path beside
    a shaft, e.g. along the skin next to a thick hair's end) is no hair: it is left out of the
    matching and of the joint count. The others are matched one to one (`_match`). A hair one
    analysis counts and the other does not, although the other photo shows its shaft at the mapped
    position, was missed there (viewpoint, exposure, compression, the field edge): it is present in
    both visits. Only hairs the other photo does not show are new or lost.
    """
    transform = np.asarray(registration.transform, dtype=float)
    inverse = np.linalg.inv(transform)
    residual_px = _residual_px(registration)
    tolerance_um = before_res.calibration.um(_PRESENCE_ROUNDING_PX + residual_px)
    before_seen = _ShaftEvidence.of(before_rgb, before_res, tolerance_um=tolerance_um)
    after_seen = _ShaftEvidence.of(after_rgb, after_res, tolerance_um=tolerance_um)
    before_lines, after_lines = before_res.centerlines_px, after_res.centerlines_px
    off_before = [b for b in before_in if _on_shaft_share(before_seen, before_lines[b]) < ON_SHAFT_MIN_SHARE]
    off_after = [a for a in after_in if _on_shaft_share(after_seen, after_lines[a]) < ON_SHAFT_MIN_SHARE]
    off_before_set, off_after_set = set(off_before), set(off_after)
    counted_before = [b for b in before_in if b not in off_before_set]
    counted_after = [a for a in after_in if a not in off_after_set]
    pairs = _match(before_res, after_res, after_lines_in_before, counted_before, counted_after)
    matched_before = {b for b, _ in pairs}
    matched_after = {a for _, a in pairs}
    before_diam = np.array(before_res.hairs["diameter_um"], dtype=float)  # copies: adjusted below
    after_diam = np.array(after_res.hairs["diameter_um"], dtype=float)
    missed_in_after, lost, remeasured_after = _shown_by_other(
        [b for b in counted_before if b not in matched_before],
        before_seen,
        before_lines,
        before_diam,
        after_seen,
        inverse,
        tolerance_um=tolerance_um,
    )
    missed_in_before, new, remeasured_before = _shown_by_other(
        [a for a in counted_after if a not in matched_after],
        after_seen,
        after_lines,
        after_diam,
        before_seen,
        transform,
        tolerance_um=tolerance_um,
    )
    # A stretch counted in one photo only that continues the other photo's hair beyond its end is that
    # hair grown (or broken off): neither new nor lost, and no hair of its own.
    calibration = before_res.calibration
    new, extended_after = _extensions(
        new, after_lines_in_before, before_lines, before_res, calibration, residual_px
    )
    lost, extended_before = _extensions(
        lost, before_lines, after_lines_in_before, after_res, calibration, residual_px
    )
    before_sizes = before_res.hairs["bundle_size"].to_numpy()
    after_sizes = after_res.hairs["bundle_size"].to_numpy()
    for b, a in pairs:
        # Its change as measured alike in both photos (see `Comparison.present_diameters_before_um`);
        # a band's width change is shared by the touching hairs it was split into.
        _, forward = _agreement(before_seen, before_lines[b], after_seen, inverse, tolerance_um=tolerance_um)
        _, backward = _agreement(
            after_seen, after_lines[a], before_seen, transform, tolerance_um=tolerance_um
        )
        changes = [c for c in (forward / before_sizes[b], -backward / after_sizes[a]) if math.isfinite(c)]
        if changes and math.isfinite(before_diam[b]) and math.isfinite(after_diam[a]):
            level, change = 0.5 * (before_diam[b] + after_diam[a]), float(np.mean(changes))
            before_diam[b], after_diam[a] = level - 0.5 * change, level + 0.5 * change
    persisting = [(before_diam[b], after_diam[a]) for b, a in pairs]
    persisting += list(zip(before_diam[missed_in_after], remeasured_after, strict=True))
    persisting += list(zip(remeasured_before, after_diam[missed_in_before], strict=True))
    persisting = [(float(b), float(a)) for b, a in persisting if math.isfinite(b) and math.isfinite(a)]
    extended_before_set, extended_after_set = set(extended_before), set(extended_after)
    present_before = [b for b in counted_before if b not in extended_before_set]
    present_after = [a for a in counted_after if a not in extended_after_set]
    before_all = np.concatenate([before_diam[present_before], remeasured_before])
    after_all = np.concatenate([after_diam[present_after], remeasured_after])
    return _Joint(
        pairs=pairs,
        missed_in_before=missed_in_before,
        missed_in_after=missed_in_after,
        new=new,
        lost=lost,
        off_shaft_before=off_before,
        off_shaft_after=off_after,
        extended_before=extended_before,
        extended_after=extended_after,
        before_diameters_um=tuple(float(d) for d in before_all),
        after_diameters_um=tuple(float(d) for d in after_all),
        persisting_diameters_um=tuple(persisting),
        paired_change_um=float(np.mean([a - b for b, a in persisting])) if persisting else math.nan,
        before_seen=before_seen,
        after_seen=after_seen,
    )


def _residual_px(registration: Registration) -> float:
    """The registration's residual in pixels (0 where it has none to give)."""
    return float(registration.residual_px) if math.isfinite(registration.residual_px) else 0.0


def _extensions(hairs, lines, other_lines, other_res, calibration, residual_px):
    """Split hairs counted in one photo only into those that are not and those that are extensions
    (`densitometry.change.continuing`) of a hair of the other photo (lines in one frame)."""
    flags = continuing(
        [lines[hair] for hair in hairs],
        other_lines,
        _widths_px(other_res, calibration),
        calibration,
        residual_px=residual_px,
    )
    return (
        [hair for hair, flag in zip(hairs, flags, strict=True) if not flag],
        [hair for hair, flag in zip(hairs, flags, strict=True) if flag],
    )


def _widths_px(result, calibration) -> np.ndarray:
    """Each hair's diameter in pixels of ``calibration``."""
    return result.hairs["diameter_um"].to_numpy(dtype=float) / calibration.um_per_px


def _untraced_changes(joint, before_res, after_res, registration, common, after_lines):
    """Hairs added or removed that no traced hair accounts for (`densitometry.change`).

    Returns the centrelines (before frame) of the hairs the aligned photos show appearing and
    disappearing, beyond those the joint count already takes for new or lost.
    """
    calibration = before_res.calibration
    parameters = before_res.parameters
    height, width = joint.before_seen.contrast.shape

    def aligned(after_image):
        return cv2.warpPerspective(
            after_image.astype(np.float32),
            np.asarray(registration.transform, dtype=float),
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=np.nan,
        )

    residual_px = _residual_px(registration)
    changed = changed_hairs(
        joint.before_seen.contrast,
        aligned(joint.after_seen.contrast),
        common,
        calibration,
        before_lines_px=before_res.centerlines_px,
        after_lines_px=after_lines,
        before_widths_px=_widths_px(before_res, calibration),
        after_widths_px=_widths_px(after_res, calibration),
        low_contrast=parameters.low_contrast,
        high_contrast=parameters.high_contrast,
        min_diameter_um=parameters.min_diameter_um,
        min_length_um=parameters.min_length_um,
        residual_px=residual_px,
        counted_new_px=[after_lines[a] for a in joint.new],
        counted_lost_px=[before_res.centerlines_px[b] for b in joint.lost],
        before_opposite=joint.before_seen.opposite,
        after_opposite=None if joint.after_seen.opposite is None else aligned(joint.after_seen.opposite),
    )
    return changed.new_px, changed.lost_px


def _shown_by_other(hairs, seen, lines, diameters_um, other_seen, to_other, *, tolerance_um):
    """Split one photo's unmatched hairs into those the other photo shows too and those it does not.

    Returns
    -------
    missed : list of int
        Hairs the other photo shows along their path (its analysis missed them): present at both visits.
    absent : list of int
        Hairs the other photo does not show (new or lost).
    remeasured_um : ndarray of float
        Each missed hair's diameter in the other photo: its detected diameter plus the change of its
        profile width between the photos (the same measurement at the same places in both).
    """
    missed, absent, remeasured_um = [], [], []
    for hair in hairs:
        share, change_um = _agreement(seen, lines[hair], other_seen, to_other, tolerance_um=tolerance_um)
        if share >= PRESENCE_MIN_SHARE:
            missed.append(hair)
            remeasured_um.append(diameters_um[hair] + (change_um if math.isfinite(change_um) else 0.0))
        else:
            absent.append(hair)
    return missed, absent, np.asarray(remeasured_um, dtype=float)


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _fields_of_view(before_rgb, after_rgb, before_cal, after_cal, parameters, options):
    """Each photo's field of view as the analysis will find it (None: the whole photo)."""
    settings = resolve_parameters(parameters, options)
    if settings.field_of_view != "auto":
        return None, None
    return tuple(
        field_of_view(rgb, cal, max_hair_diameter_um=settings.max_diameter_um)
        for rgb, cal in ((before_rgb, before_cal), (after_rgb, after_cal))
    )


def _region(image, region):
    """A photo's region to analyse (`densitometry.analyze.region_mask`), or None."""
    return None if region is None else region_mask(region, image.shape_px, image.name)


def _match_exposure(before_rgb, after_rgb, transform, before_field=None, after_field=None):
    """Scale the after photo's RGB channels so its common field matches the before photo's medians."""
    height, width = before_rgb.shape[:2]
    aligned = cv2.warpPerspective(after_rgb, transform, (width, height), flags=cv2.INTER_LINEAR)
    common = common_field(
        transform, before_rgb.shape, after_rgb.shape, before_field=before_field, after_field=after_field
    )
    common = cv2.erode(common.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if common.sum() < 100:
        return after_rgb, np.ones(3)
    before_median = np.median(before_rgb[common], axis=0)
    after_median = np.median(aligned[common], axis=0)
    gain = np.where(after_median > 1e-3, before_median / np.maximum(after_median, 1e-3), 1.0)
    corrected = np.clip(after_rgb * gain.astype(np.float32), 0.0, 1.0).astype(np.float32)
    return corrected, gain.astype(float)


def inside_length_px(points_rc: np.ndarray, mask: np.ndarray) -> float:
    """Length (pixels) of the polyline ``points_rc`` (N, 2) lying inside the boolean ``mask``.

    Each segment counts with the share of its sub-samples (every <= 0.5 px) that fall in the mask.
    """
    points = np.asarray(points_rc, dtype=float).reshape(-1, 2)
    if len(points) < 2:
        return 0.0
    height, width = mask.shape
    total = 0.0
    for a, b in zip(points[:-1], points[1:], strict=True):
        length = float(np.hypot(*(b - a)))
        if length == 0:
            continue
        n = max(1, int(math.ceil(length / 0.5)))
        t = (np.arange(n) + 0.5)[:, None] / n
        samples = np.rint(a + (b - a) * t).astype(int)
        ok = (samples[:, 0] >= 0) & (samples[:, 0] < height) & (samples[:, 1] >= 0) & (samples[:, 1] < width)
        inside = np.zeros(n, dtype=bool)
        inside[ok] = mask[samples[ok, 0], samples[ok, 1]]
        total += length * float(inside.mean())
    return total


@dataclass(frozen=True)
class _ShaftEvidence:
    """What one photo shows across a path: profiles read as the analysis reads a hair's own.

    Profiles are taken across the path in the photo's relative-contrast image and read as
    `densitometry.measure` reads a hair's profiles (`profile_widths`): a profile shows a shaft when it
    has two half-maximum edges around a peak in its central third that stands at least
    ``low_contrast`` (the contrast the analysis requires of every hair it counts) above the skin at
    its ends, and the path runs inside that shaft: its centre lies within half its width plus
    ``tolerance_um`` of the path. (A profile reaches 2.5 shaft widths to each side, so without the
    second condition a path along the skin beside a thick shaft would show that shaft.) To judge a
    hair's presence (``nearest``), a profile whose strongest peak is a neighbour's beside the path is
    read again for the shaft the path lies on (the peak reached by climbing from the centre), which
    may be the weaker of the two.
    """

    contrast: np.ndarray
    sigma_px: np.ndarray
    calibration: Calibration
    min_contrast: float
    tolerance_um: float
    opposite: np.ndarray | None = None  # contrast of the other polarity (`Preprocessed.opposite_contrast`)

    @classmethod
    def of(cls, rgb, result: AnalysisResult, *, tolerance_um: float) -> _ShaftEvidence:
        parameters = result.parameters
        if result.field_mask is not None:
            rgb = fill_outside(rgb, result.field_mask)  # as the analysis saw the photo
        prepared = preprocess(
            rgb,
            result.calibration,
            polarity=result.polarity,
            max_hair_diameter_um=parameters.max_diameter_um,
            blue_weight=result.blue_weight,
            red_weight=result.red_weight,
            green_weight=result.green_weight,
        )
        contrast = prepared.contrast
        colour = colour_contrast(
            rgb,
            prepared,
            result.calibration,
            gain=result.colour_gain,
            max_hair_diameter_um=parameters.max_diameter_um,
        )
        if colour is not None:  # hairs only colour shows were counted: look for them in colour too
            contrast = colour.contrast
        ridge = ridge_filter(
            contrast,
            result.calibration,
            min_diameter_um=parameters.min_diameter_um,
            max_diameter_um=parameters.max_diameter_um,
        )
        return cls(
            contrast,
            ridge.sigma_px,
            result.calibration,
            parameters.low_contrast,
            tolerance_um,
            prepared.opposite_contrast,
        )

    def profiles(self, points_rc, *, nearest=False):
        """Profiles across the path through ``points_rc`` (N, 2), one per point.

        The profile half-length is 2.5 shaft widths, the width read from the ridge scale along the
        path, as in `densitometry.measure.measure_hairs`.

        Returns
        -------
        strongest : tuple
            The profiles read for their strongest shaft, as the analysis reads them:

            shows : ndarray of bool, shape (N,)
                The profile shows a shaft under the path (False outside the photo).
            centre_um : ndarray, shape (N,)
                Signed offset of the shaft's centre from the path, along the path's left normal.
            width_um : ndarray, shape (N,)
                Edge-to-edge width (NaN without two edges).
            step_um : float
                Spacing of the profile samples.
        nearest : tuple or None
            With ``nearest``, the same profiles (sampled once) where those whose strongest shaft is
            not under the path are read again for the shaft the path lies on; else None.
        """
        points = np.asarray(points_rc, dtype=float).reshape(-1, 2)
        count = len(points)
        height, width = self.contrast.shape
        shows = np.zeros(count, dtype=bool)
        centre_um, width_um = np.full(count, np.nan), np.full(count, np.nan)
        tangent = np.gradient(points, axis=0) if count > 1 else np.zeros_like(points)
        norm = np.hypot(*tangent.T)
        inside = (
            (points[:, 0] >= 0)
            & (points[:, 0] <= height - 1)
            & (points[:, 1] >= 0)
            & (points[:, 1] <= width - 1)
            & (norm > 0)
        )
        if not inside.any():
            empty = (shows, centre_um, width_um, math.nan)
            return empty, (empty if nearest else None)
        rows = np.rint(points[inside, 0]).astype(int)
        cols = np.rint(points[inside, 1]).astype(int)
        width_px = max(2.0, 2.0 * float(np.median(self.sigma_px[rows, cols])))
        reach = max(5.0, 2.5 * width_px)
        step_px = 2.0 * reach / (_PROFILE_SAMPLES - 1)
        normals = np.column_stack([-tangent[inside, 1], tangent[inside, 0]]) / norm[inside, None]
        offsets = np.linspace(-reach, reach, _PROFILE_SAMPLES)[None, :]
        map_rows = (points[inside, 0:1] + offsets * normals[:, 0:1]).astype(np.float32)
        map_cols = (points[inside, 1:2] + offsets * normals[:, 1:2]).astype(np.float32)
        sampled = cv2.remap(
            self.contrast, map_cols, map_rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        sampled = sampled.astype(np.float64)
        um_per_px = self.calibration.um_per_px
        steps = np.full(len(sampled), step_px)
        widths, peaks, centres_px, _, _ = profile_widths(sampled, steps)
        shown = self._shown(widths, peaks, centres_px)

        def reading(shown, widths, centres_px):
            shows[inside], centre_um[inside], width_um[inside] = (
                shown,
                centres_px * um_per_px,
                widths * um_per_px,
            )
            return shows.copy(), centre_um.copy(), width_um.copy(), step_px * um_per_px

        strongest = reading(shown, widths, centres_px)
        if not nearest:
            return strongest, None
        # Where a stronger shaft beside the path took the peak, read again for the shaft under it.
        again = np.flatnonzero(~shown)
        if len(again):
            reread_widths, reread_peaks, reread_centres, _, _ = profile_widths(
                sampled[again], steps[again], peak="nearest"
            )
            found = self._shown(reread_widths, reread_peaks, reread_centres)
            shown[again[found]] = True
            widths[again[found]] = reread_widths[found]
            centres_px[again[found]] = reread_centres[found]
        return strongest, reading(shown, widths, centres_px)

    def _shown(self, widths_px, peaks, centres_px):
        """Profiles (read by `profile_widths`) that show a shaft under the path."""
        um_per_px = self.calibration.um_per_px
        with np.errstate(invalid="ignore"):  # NaN widths: no shaft
            under = np.abs(centres_px) * um_per_px <= 0.5 * widths_px * um_per_px + self.tolerance_um
        return np.isfinite(widths_px) & (peaks >= self.min_contrast) & under


def _on_shaft_share(seen, line_rc) -> float:
    """Share of the positions along a centreline (see `_agreement`) where its photo shows a shaft."""
    dense = dense_polyline(line_rc, 1.0)
    if len(dense) < 3:
        return 0.0
    shows = seen.profiles(dense)[0][0]
    inner = _inner(seen, dense)
    return float(shows[inner].mean()) if inner.any() else 0.0


def _inner(seen, dense_rc) -> np.ndarray:
    """Positions along a centreline sampled every pixel, less one shaft width (at most a quarter of
    the length) at each end, where the shaft tapers."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(dense_rc, axis=0).T))])
    trim_px = min(max(2.0, 2.0 * float(np.median(values_at(seen.sigma_px, dense_rc)))), 0.25 * arc[-1])
    return (arc >= trim_px) & (arc <= arc[-1] - trim_px)


def _agreement(own, own_line_rc, other, transform, *, tolerance_um) -> tuple[float, float]:
    """How alike two photos look along one hair's centreline, and how its width differs.

    ``own_line_rc`` is the centreline in the photo of ``own`` (the photo whose analysis counted the
    hair); ``transform`` maps that photo's (x, y) to the other's. Profiles are taken at the same scalp
    positions in both photos (one per pixel of length, leaving out the tapering ends, see `_inner`).
    They agree where neither shows a shaft under the centreline, or both show one and either their
    centres lie within ``tolerance_um`` (plus a profile sample) of each other or the own shaft lies
    within the other (a neighbour that thickened may now touch the shaft, and the two read as one
    wider shaft). A neighbour next to where a hair was lost covers only part of the lost shaft.

    Returns
    -------
    share : float
        Share of the positions inside the other photo where the profiles agree.
    change_um : float
        Median width change (other photo minus own) where both show the shaft with their centres
        together: the same shaft, measured alike; NaN where they never do.
    """
    dense = dense_polyline(own_line_rc, 1.0)
    if len(dense) < 3:
        return 0.0, math.nan
    mapped = map_points(transform, dense)
    inside = _inner(own, dense) & _covered(mapped, other.contrast.shape)
    if not inside.any():
        return 0.0, math.nan
    # Presence is read for the shaft each path lies on; the change as the analysis measures a hair,
    # for each profile's strongest shaft.
    own_strongest, own_nearest = own.profiles(dense, nearest=True)
    other_strongest, other_nearest = other.profiles(mapped, nearest=True)
    agree, _, _ = _alike(own_nearest, other_nearest, tolerance_um)
    _, same, change = _alike(own_strongest, other_strongest, tolerance_um)
    change = change[inside & same]
    change = change[np.isfinite(change)]
    return float(agree[inside].mean()), float(np.median(change)) if len(change) else math.nan


def _alike(own_profiles, other_profiles, tolerance_um):
    """Where two photos' profiles (`_ShaftEvidence.profiles`) at the same positions agree (see
    `_agreement`), where they show the same shaft, and its width change (other minus own)."""
    own_shows, own_centre, own_width, own_step = own_profiles
    other_shows, other_centre, other_width, other_step = other_profiles
    slack = tolerance_um + 0.5 * (own_step + other_step)
    offset = np.abs(own_centre - other_centre)
    same = own_shows & other_shows & (offset <= slack)
    within = own_shows & other_shows & (offset + 0.5 * own_width <= 0.5 * other_width + slack)
    return (~own_shows & ~other_shows) | same | within, same, other_width - own_width


def _covered(points_rc, shape) -> np.ndarray:
    points = np.asarray(points_rc, dtype=float)
    return (
        (points[:, 0] >= 0)
        & (points[:, 0] <= shape[0] - 1)
        & (points[:, 1] >= 0)
        & (points[:, 1] <= shape[1] - 1)
    )


def _arc_length(points_rc) -> float:
    points = np.asarray(points_rc, dtype=float).reshape(-1, 2)
    return float(np.hypot(*np.diff(points, axis=0).T).sum()) if len(points) > 1 else 0.0


def dense_polyline(points_rc, step_px) -> np.ndarray:
    """The polyline (N, 2) resampled every ``step_px`` or closer along its length (ends included)."""
    points = np.asarray(points_rc, dtype=float).reshape(-1, 2)
    length = _arc_length(points)
    if len(points) < 2 or length == 0:
        return points[:1].copy()
    return _resample(points, max(2, int(math.ceil(length / step_px)) + 1))


def _calibrations(um_per_px, before_um_per_px, after_um_per_px) -> tuple[Calibration, Calibration]:
    if um_per_px is not None and (before_um_per_px is not None or after_um_per_px is not None):
        raise CalibrationError(
            "give um_per_px for both photos, or before_um_per_px and after_um_per_px, not both"
        )
    if um_per_px is not None:
        calibration = _as_cal(um_per_px)
        return calibration, calibration
    if before_um_per_px is None or after_um_per_px is None:
        raise CalibrationError(
            "no calibration: pass um_per_px (micrometres per pixel of both photos, e.g. 5.0) or both "
            "before_um_per_px and after_um_per_px"
        )
    return _as_cal(before_um_per_px), _as_cal(after_um_per_px)


def _as_cal(value) -> Calibration:
    return value if isinstance(value, Calibration) else as_calibration(um_per_px=value)


def _in_field(result, lines_in_before, common, um_ratio) -> list[int]:
    """Ids of hairs with at least ``min_length_um`` of shaft in the common field.

    ``lines_in_before`` are the centrelines in the before frame; ``um_ratio`` converts their pixels to
    the photo's own pixels (lengths are measured in µm of the before frame).
    """
    before_um_per_px = result.calibration.um_per_px / um_ratio
    min_length_um = result.parameters.min_length_um
    keep = []
    for i, (line, diameter_um) in enumerate(
        zip(lines_in_before, result.hairs["diameter_um"].to_numpy(dtype=float), strict=True)
    ):
        points = np.asarray(line, dtype=float)
        skeleton_px = float(np.hypot(*np.diff(points, axis=0).T).sum()) if len(points) > 1 else 0.0
        inside_px = inside_length_px(points, common)
        # The skeleton stops half a shaft short of each end (as in `analyze`).
        share = (
            inside_px / skeleton_px if skeleton_px > 0 else float(common[_clip_rc(points[0], common.shape)])
        )
        inside_um = inside_px * before_um_per_px + share * diameter_um
        if inside_um >= min_length_um:
            keep.append(i)
    return keep


def _clip_rc(point, shape):
    row = int(np.clip(round(point[0]), 0, shape[0] - 1))
    col = int(np.clip(round(point[1]), 0, shape[1] - 1))
    return row, col


def _restricted(result: AnalysisResult, ids, area_cm2) -> FieldResult:
    if ids is None:
        ids = list(range(result.hair_count))
    hairs = result.hairs.iloc[list(ids)].reset_index(drop=True)
    lines = tuple(result.centerlines_px[i] for i in ids)
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    values.update(hairs=hairs, centerlines_px=lines, area_cm2=float(area_cm2))
    return FieldResult(**values)


def _resample(points, n=_RESAMPLE_POINTS) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points) == 1:
        return np.repeat(points, n, axis=0)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    if arc[-1] == 0:
        return np.repeat(points[:1], n, axis=0)
    t = np.linspace(0.0, arc[-1], n)
    return np.column_stack([np.interp(t, arc, points[:, 0]), np.interp(t, arc, points[:, 1])])


def _match(before_res, after_res, after_lines, before_in, after_in) -> list[tuple[int, int]]:
    """One-to-one hair matching by centreline distance (Hungarian assignment)."""
    if not before_in or not after_in:
        return []
    um_per_px = before_res.calibration.um_per_px
    b_lines = [_resample(before_res.centerlines_px[i]) for i in before_in]
    a_lines = [_resample(after_lines[i]) for i in after_in]
    b_dense = [_resample(before_res.centerlines_px[i], 64) for i in before_in]
    a_dense = [_resample(after_lines[i], 64) for i in after_in]
    b_diam = before_res.hairs["diameter_um"].to_numpy(dtype=float)[before_in] / um_per_px
    a_diam = after_res.hairs["diameter_um"].to_numpy(dtype=float)[after_in] / um_per_px
    b_mid = np.array([line.mean(axis=0) for line in b_lines])
    a_mid = np.array([line.mean(axis=0) for line in a_lines])
    b_reach = np.array([np.abs(line - m).max() for line, m in zip(b_lines, b_mid, strict=True)])
    a_reach = np.array([np.abs(line - m).max() for line, m in zip(a_lines, a_mid, strict=True)])
    big = 1e6
    cost = np.full((len(before_in), len(after_in)), big)
    for i in range(len(before_in)):
        near = np.abs(a_mid - b_mid[i]).max(axis=1) <= a_reach + b_reach[i] + 10
        for j in np.flatnonzero(near):
            limit = max(_MIN_MATCH_DISTANCE_PX, MATCH_SHAFT_WIDTHS * max(b_diam[i], a_diam[j]))
            # The shorter hair must lie along the longer one (a hair may grow or be cut by a border).
            d_ba = np.sqrt(((b_lines[i][:, None] - a_dense[j][None]) ** 2).sum(-1)).min(axis=1).mean()
            d_ab = np.sqrt(((a_lines[j][:, None] - b_dense[i][None]) ** 2).sum(-1)).min(axis=1).mean()
            distance = min(d_ba, d_ab)
            if distance <= limit:
                cost[i, j] = distance / limit
    rows, cols = linear_sum_assignment(cost)
    return [(before_in[r], after_in[c]) for r, c in zip(rows, cols, strict=True) if cost[r, c] < big]


def _growth(before_res, after_res, pairs, interval_days, anagen_min_growth_um):
    before_border = before_res.hairs["touches_border"].to_numpy(dtype=bool)
    after_border = after_res.hairs["touches_border"].to_numpy(dtype=bool)
    before_len = before_res.hairs["length_um"].to_numpy(dtype=float)
    after_len = after_res.hairs["length_um"].to_numpy(dtype=float)
    growth = np.array(
        [after_len[a] - before_len[b] for b, a in pairs if not (before_border[b] or after_border[a])],
        dtype=float,
    )
    if len(growth) == 0:
        return math.nan, math.nan
    return float(np.median(growth) / interval_days), float(np.mean(growth > anagen_min_growth_um))


def _json_number(value):
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    return value
