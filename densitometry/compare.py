"""Before / after: align two photos of one scalp site and compare them in their common field.

Both photos are analysed with the same parameters (`densitometry.analyze`), the after photo is registered
onto the before photo (`densitometry.registration`), and every number is computed on the common field
only: a hair counts there when at least ``min_length_um`` of its shaft lies inside the common field (the
same rule `analyze` applies at the photo border, so a hair cut by the edge of one photo is treated alike in
both). Hairs are then matched one to one by centreline proximity (Hungarian assignment), giving matched,
new and lost hairs, and, with ``interval_days``, growth per hair as in a phototrichogram.

References
----------
R. Hoffmann, "TrichoScan: a novel tool for the analysis of hair growth in vivo",
J. Investig. Dermatol. Symp. Proc. 8 (2003) 109-115.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from .analyze import analyze
from .calibration import Calibration, as_calibration, check_positive_finite
from .errors import CalibrationError, ParameterError
from .io import load_image
from .registration import Registration, common_field, map_points, register
from .results import AnalysisResult, ThicknessClass

#: Default margin (µm) between the common field where hairs are counted and the photos' edges.
FIELD_MARGIN_UM = 100.0
#: Matched hairs' centrelines may lie this many shaft widths apart (mean distance).
MATCH_SHAFT_WIDTHS = 1.5
#: ... but never closer than this many pixels is required (thin vellus hairs, registration error).
_MIN_MATCH_DISTANCE_PX = 4.0
#: Points each centreline is resampled to for matching.
_RESAMPLE_POINTS = 16
#: Exposure / white-balance gains beyond this factor get a warning.
_GAIN_WARN = 1.5


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

    Attributes
    ----------
    before, after : FieldResult
        Each photo's numbers in the common field (the whole field when not registered).
    before_result, after_result : AnalysisResult
        The full analyses of both photos.
    registration : Registration
    overlap_area_cm2 : float
        Area of the common field where hairs are counted, i.e. the overlap of the photos less a
        ``field_margin_um`` rim (the before photo's whole field when not registered).
    matched_hairs, new_hairs, lost_hairs : int
        Hair-to-hair matching in the common field (0 when not registered).
    vellus_to_terminal : int
        Matched hairs that were vellus before and terminal after.
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
    def delta_density_per_cm2(self) -> float:
        return self.after.density_per_cm2 - self.before.density_per_cm2

    @property
    def delta_density_percent(self) -> float:
        base = self.before.density_per_cm2
        return 100.0 * self.delta_density_per_cm2 / base if base > 0 else math.nan

    @property
    def delta_mean_diameter_um(self) -> float:
        return self.after.mean_diameter_um - self.before.mean_diameter_um

    @property
    def delta_terminal_fraction(self) -> float:
        return self.after.terminal_fraction - self.before.terminal_fraction

    @property
    def delta_vellus_fraction(self) -> float:
        return self.after.vellus_fraction - self.before.vellus_fraction

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
            "matched_hairs": int(self.matched_hairs),
            "new_hairs": int(self.new_hairs),
            "lost_hairs": int(self.lost_hairs),
            "vellus_to_terminal": int(self.vellus_to_terminal),
            "interval_days": self.interval_days,
            "anagen_min_growth_um": self.anagen_min_growth_um,
            "growth_um_per_day_median": self.growth_um_per_day_median,
            "anagen_fraction": self.anagen_fraction,
        }
        values["after_gain"] = [float(g) for g in self.after_gain]
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

    def side_by_side(self, *, gap_px: int = 8) -> np.ndarray:
        """RGB uint8: the before overlay next to the aligned after overlay (common-field hairs only)."""
        left = self.before.overlay()
        height, width = left.shape[:2]
        right = self.after.overlay()
        if self.registered:
            right = cv2.warpPerspective(right, self.transform, (width, height), flags=cv2.INTER_LINEAR)
        elif right.shape[:2] != (height, width):
            right = cv2.resize(right, (width, height), interpolation=cv2.INTER_AREA)
        gap = np.full((height, int(gap_px), 3), 255, dtype=np.uint8)
        return np.hstack([left, gap, right])


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
    parameters=None,
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
    parameters : AnalysisParameters, optional
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
    before_img = load_image(before, name=None if isinstance(before, (str, os.PathLike)) else "before")
    after_img = load_image(after, name=None if isinstance(after, (str, os.PathLike)) else "after")
    registration = register(
        before_img.rgb,
        after_img.rgb,
        scale=after_cal.um_per_px / before_cal.um_per_px,
        min_inliers=min_inliers,
    )
    common = None
    if registration.registered:
        common = common_field(
            registration.transform,
            before_img.rgb.shape,
            after_img.rgb.shape,
            margin_px=before_cal.px(field_margin_um),
        )
        if not common.any():
            registration = dataclasses.replace(
                registration,
                registered=False,
                transform=np.eye(3),
                reason=f"no common field left inside a {field_margin_um:g} µm margin",
            )
    after_rgb, gain = after_img.rgb, np.ones(3)
    if registration.registered:
        after_rgb, gain = _match_exposure(before_img.rgb, after_img.rgb, registration.transform)
    before_res = analyze(
        before_img.rgb, calibration=before_cal, parameters=parameters, name=before_img.name, **options
    )
    after_res = analyze(
        after_rgb, calibration=after_cal, parameters=before_res.parameters, name=after_img.name
    )
    warnings = []
    if not registration.registered:
        warnings.append(f"could not align the photos ({registration.reason}); whole-field numbers shown")
        return Comparison(
            before=_restricted(before_res, None, before_res.field_area_cm2),
            after=_restricted(after_res, None, after_res.field_area_cm2),
            before_result=before_res,
            after_result=after_res,
            registration=registration,
            overlap_area_cm2=before_res.field_area_cm2,
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
    pairs = _match(before_res, after_res, after_lines, before_in, after_in, ratio)
    if registration.overlap_fraction < 0.5:
        warnings.append(f"the photos share only {registration.overlap_fraction:.0%} of the before field")
    before_class = before_res.hairs["thickness_class"].to_numpy()
    after_class = after_res.hairs["thickness_class"].to_numpy()
    v2t = sum(
        1
        for b, a in pairs
        if before_class[b] == ThicknessClass.VELLUS.value and after_class[a] == ThicknessClass.TERMINAL.value
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
        new_hairs=len(after_in) - len(pairs),
        lost_hairs=len(before_in) - len(pairs),
        vellus_to_terminal=v2t,
        interval_days=math.nan if interval_days is None else interval_days,
        anagen_min_growth_um=anagen_min_growth_um,
        growth_um_per_day_median=growth_median,
        anagen_fraction=anagen,
        hair_pairs=tuple((int(b), int(a)) for b, a in pairs),
        after_gain=tuple(float(g) for g in gain),
        warnings=tuple(warnings),
    )


def _match_exposure(before_rgb, after_rgb, transform):
    """Scale the after photo's RGB channels so its common field matches the before photo's medians."""
    height, width = before_rgb.shape[:2]
    aligned = cv2.warpPerspective(after_rgb, transform, (width, height), flags=cv2.INTER_LINEAR)
    common = common_field(transform, before_rgb.shape, after_rgb.shape)
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


def _match(before_res, after_res, after_lines, before_in, after_in, um_ratio) -> list[tuple[int, int]]:
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
