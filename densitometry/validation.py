"""Check analysis settings on synthetic photos with exact truth: ``densitometry validate``.

Before trusting a setting (a calibration, the thickness thresholds, a polarity, the refiner) on a study,
render phantoms that resemble the study's photos and see how far the analysis lands from their truth::

    densitometry validate --scenario clinical -n 10 --um-per-px 5 --terminal-min-um 40

Each photo is rendered by `densitometry.synthetic`, analysed with the given settings, and compared with
its truth counted the same way: the same shortest counted hair (``min_length_um``) and the same vellus /
terminal thresholds. Photo ``i`` uses seed ``seed + i``, so a run can be repeated exactly.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .analyze import analyze
from .errors import DensitometryError, ParameterError
from .results import AnalysisParameters, ThicknessClass

#: Columns of `ValidationReport.photos`, one row per phantom; ``true_*`` come from the synthetic truth.
PHOTO_COLUMNS = (
    "seed",
    "um_per_px",
    "field_area_cm2",
    "true_hair_count",
    "hair_count",
    "count_error_percent",
    "true_density_per_cm2",
    "density_per_cm2",
    "true_mean_diameter_um",
    "mean_diameter_um",
    "diameter_error_um",
    "true_vellus_fraction",
    "vellus_fraction",
    "true_terminal_fraction",
    "terminal_fraction",
    "terminal_error_pp",
    "shaft_diameter_error_um",
    "translucent_shaft_bias_percent",
    "opaque_shaft_bias_percent",
    "true_dark_count",
    "dark_recall",
    "true_grey_white_count",
    "grey_white_recall",
    "found_count",
    "missed_count",
    "merged_count",
    "extra_piece_count",
    "false_count",
    "seconds",
)

#: A true hair is found when a detected centreline runs within this distance of it (about a terminal
#: shaft's radius; never less than `_RECALL_MIN_PX`) along at least `_RECALL_MIN_SHARE` of its length.
RECALL_DISTANCE_UM = 60.0
_RECALL_MIN_PX = 3.0
_RECALL_MIN_SHARE = 0.5
#: Hair colours brighter than the skin (the others are darker than it: black, brown, blond, red).
GREY_WHITE_COLOURS = frozenset({"grey", "white"})
#: `check_photo` reports the diameter bias of translucent shafts (true ``centre_opacity`` below this:
#: blond, grey and white hair absorbs little, and its profile follows its chord, rounded across the
#: shaft) apart from that of opaque ones (``centre_opacity`` at least `OPAQUE_OPACITY`).
TRANSLUCENT_OPACITY = 0.7
OPAQUE_OPACITY = 0.95


def check_photo(photo, parameters: AnalysisParameters | None = None) -> dict:
    """Analyse one synthetic photo and compare the result with its truth.

    Parameters
    ----------
    photo : densitometry.synthetic.SyntheticPhoto
    parameters : AnalysisParameters, optional
        Analysis settings (defaults when None). The truth is counted with the same ``min_length_um``
        and classified with the same thresholds.

    Returns
    -------
    dict
        The `PHOTO_COLUMNS`. Errors are signed (measured minus true): ``count_error_percent`` relative to
        the true count (to 1 when there are no true hairs), ``diameter_error_um`` of the mean diameters
        (NaN when either side has no hairs), ``terminal_error_pp`` in percentage points.
        ``shaft_diameter_error_um`` is hair by hair: the median |measured - true diameter| of the detected
        shafts that run along one true hair (`shaft_diameter_errors`; NaN where none does);
        ``translucent_shaft_bias_percent`` and ``opaque_shaft_bias_percent`` the median signed error of
        those shafts in percent of the true diameter, over the true hairs of centre opacity below
        `TRANSLUCENT_OPACITY` and at least `OPAQUE_OPACITY` (`shaft_diameter_bias_percent`).
        ``found_count`` ... ``false_count`` say where the count error comes from (`count_breakdown`).
    """
    parameters = AnalysisParameters() if parameters is None else parameters
    truth = photo.truth(min_length_um=parameters.min_length_um)
    true_classes = [
        parameters.classify(hair.diameter_um) for hair in photo.counted_hairs(parameters.min_length_um)
    ]

    def true_fraction(klass):
        return float(np.mean([c is klass for c in true_classes])) if true_classes else 0.0

    start = time.perf_counter()
    result = analyze(photo.image, um_per_px=photo.um_per_px, parameters=parameters)
    seconds = time.perf_counter() - start
    true_count = truth["hair_count"]
    true_mean_um = math.nan if truth["mean_diameter_um"] is None else truth["mean_diameter_um"]
    true_terminal = true_fraction(ThicknessClass.TERMINAL)
    recall = hair_recall(result.centerlines_px, truth)
    breakdown = count_breakdown(result.centerlines_px, truth)
    matched = _matched_shafts(result.hairs, result.centerlines_px, truth)
    shaft_errors = _errors_um(matched)
    return {
        "seed": int(photo.seed),
        "um_per_px": float(photo.um_per_px),
        "field_area_cm2": float(truth["field_area_cm2"]),
        "true_hair_count": int(true_count),
        "hair_count": int(result.hair_count),
        "count_error_percent": 100.0 * (result.hair_count - true_count) / max(1, true_count),
        "true_density_per_cm2": float(truth["density_per_cm2"]),
        "density_per_cm2": float(result.density_per_cm2),
        "true_mean_diameter_um": float(true_mean_um),
        "mean_diameter_um": float(result.mean_diameter_um),
        "diameter_error_um": float(result.mean_diameter_um - true_mean_um),
        "true_vellus_fraction": true_fraction(ThicknessClass.VELLUS),
        "vellus_fraction": float(result.vellus_fraction),
        "true_terminal_fraction": true_terminal,
        "terminal_fraction": float(result.terminal_fraction),
        "terminal_error_pp": 100.0 * (result.terminal_fraction - true_terminal),
        "shaft_diameter_error_um": float(np.median(np.abs(shaft_errors))) if len(shaft_errors) else math.nan,
        "translucent_shaft_bias_percent": _bias_percent(matched, 0.0, TRANSLUCENT_OPACITY),
        "opaque_shaft_bias_percent": _bias_percent(matched, OPAQUE_OPACITY, math.inf),
        "true_dark_count": recall["true_dark_count"],
        "dark_recall": recall["dark_recall"],
        "true_grey_white_count": recall["true_grey_white_count"],
        "grey_white_recall": recall["grey_white_recall"],
        **breakdown,
        "seconds": seconds,
    }


def hair_recall(centerlines_px, truth: dict) -> dict:
    """Share of the counted true hairs that the detected centrelines find, dark and grey/white apart.

    Salt-and-pepper hair is where one-polarity detectors fail: the classic reading takes one polarity
    per photo (see `densitometry.preprocess.detect_polarity`), so the grey/white hairs among dark ones
    are mostly missed even when the count looks right (false pieces make up for them).

    Parameters
    ----------
    centerlines_px : sequence of ndarray, shape (N, 2)
        Detected centrelines, (row, col) in the photo's pixels (``AnalysisResult.centerlines_px``).
    truth : dict
        ``SyntheticPhoto.truth()`` (its ``hairs`` with ``counted``, ``colour``, ``centerline_px``;
        ``um_per_px``, ``width_px``, ``height_px``).

    Returns
    -------
    dict
        ``true_dark_count``, ``dark_found``, ``dark_recall``, and the same for ``grey_white``. A hair is
        found when at least half of its centreline inside the field lies within `RECALL_DISTANCE_UM` (at
        least 3 px) of a detected centreline. Recall is NaN where there is no true hair of that group.
        Hairs that run side by side closer than that (one follicular unit) cannot be told apart: one
        detected shaft finds both.
    """
    counted = [hair for hair in truth["hairs"] if hair["counted"]]
    covered, in_field = _covered(centerlines_px, counted, truth)
    found = {"dark": [], "grey_white": []}
    for hair, hit, seen in zip(counted, covered.tolist(), in_field.tolist(), strict=True):
        if seen:
            found["grey_white" if hair["colour"] in GREY_WHITE_COLOURS else "dark"].append(hit)
    out = {}
    for group, hits in found.items():
        out[f"true_{group}_count"] = len(hits)
        out[f"{group}_found"] = int(sum(hits))
        out[f"{group}_recall"] = float(np.mean(hits)) if hits else math.nan
    return out


def count_breakdown(centerlines_px, truth: dict) -> dict:
    """Where a count error comes from: true hairs found, missed or merged; detected hairs that are
    extra pieces of a found hair or no hair at all.

    Each traced centreline (the ``k`` hairs of a band split into touching hairs share one, see
    ``bundle_size``) that runs on hair, at least `_RECALL_MIN_SHARE` of it within `RECALL_DISTANCE_UM`
    (at least 3 px) of a true hair, is matched: each of those points votes for the nearest true hair,
    and the (up to ``k``) true hairs with the most votes take its rows (a trace that turns from one
    hair onto another at a crossing takes the one it follows longer). Then

    - ``found_count``: counted true hairs that took at least one detected hair;
    - ``extra_piece_count``: the detected hairs beyond the first that a true hair took (a hair broken
      into pieces, or traced twice);
    - ``merged_count``: counted true hairs that took none, yet lie along a detected centreline as
      `hair_recall` finds them (traced together with a neighbour, or inside another hair's trace);
    - ``missed_count``: counted true hairs that took none and lie along none;
    - ``false_count``: detected hairs that took no counted true hair (traces off hair: skin,
      artefacts; a true hair shorter than the counted length; a band split into more hairs than it
      runs along).

    So ``hair_count = found + extra pieces + false`` and ``true_hair_count = found + merged + missed``:
    the count error is (extra pieces + false) - (merged + missed), and a small error can hide large
    terms that cancel.

    Parameters
    ----------
    centerlines_px : sequence of ndarray, shape (N, 2)
        ``AnalysisResult.centerlines_px``, one per detected hair.
    truth : dict
        ``SyntheticPhoto.truth()``.

    Returns
    -------
    dict of int
        ``found_count``, ``missed_count``, ``merged_count``, ``extra_piece_count``, ``false_count``.
    """
    true_hairs = [hair for hair in truth["hairs"] if len(hair["centerline_px"])]
    counted = np.array([bool(hair["counted"]) for hair in true_hairs], bool)
    taken = np.zeros(len(true_hairs), int)
    false_count = 0
    tree, owner = _point_tree(true_hairs) if true_hairs else (None, None)
    near_px = _near_px(truth)
    # The rows of a band split into touching hairs share one centreline: match each band once.
    bands: dict[tuple, list] = {}
    for line in centerlines_px:
        line = np.asarray(line, float)
        key = (len(line), *np.round(line[[0, -1]], 3).ravel().tolist()) if len(line) else (id(line),)
        bands.setdefault(key, [line, 0])[1] += 1
    for line, rows in bands.values():
        matched = []
        if tree is not None and len(line):
            distance, nearest = tree.query(line)
            on_hair = distance <= near_px
            if np.mean(on_hair) >= _RECALL_MIN_SHARE:
                ids, votes = np.unique(owner[nearest[on_hair]], return_counts=True)
                matched = ids[np.argsort(-votes, kind="stable")][:rows].tolist()
        for index in matched:
            if counted[index]:
                taken[index] += 1
            else:
                false_count += 1
        false_count += rows - len(matched)
    lines = [line for line, _ in bands.values()]
    covered, _ = _covered(lines, [hair for hair, c in zip(true_hairs, counted, strict=True) if c], truth)
    unmatched = taken[counted] == 0
    return {
        "found_count": int(np.sum(~unmatched)),
        "missed_count": int(np.sum(unmatched & ~covered)),
        "merged_count": int(np.sum(unmatched & covered)),
        "extra_piece_count": int(np.sum(np.maximum(taken[counted] - 1, 0))),
        "false_count": int(false_count),
    }


def _covered(centerlines_px, hairs, truth) -> tuple[np.ndarray, np.ndarray]:
    """Whether at least `_RECALL_MIN_SHARE` of each true hair's centreline inside the field lies within
    `RECALL_DISTANCE_UM` of a detected centreline, and whether any of it lies in the field; two bool
    arrays of shape (len(hairs),)."""
    import cv2

    height, width = int(truth["height_px"]), int(truth["width_px"])
    drawn = np.zeros((height, width), np.uint8)
    lines = [np.round(np.asarray(c, float)[:, ::-1]).astype(np.int32) for c in centerlines_px if len(c)]
    if lines:
        cv2.polylines(drawn, lines, False, 1, 1)
    # The exact Euclidean distance (OpenCV's precise mask), as scipy's distance_transform_edt gives it.
    distance_px = (
        cv2.distanceTransform(1 - drawn, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        if lines
        else np.full((height, width), np.inf)
    )
    near_px = _near_px(truth)
    found, in_field = np.zeros(len(hairs), bool), np.zeros(len(hairs), bool)
    for k, hair in enumerate(hairs):
        points = np.round(np.asarray(hair["centerline_px"], float)).astype(int)
        inside = (points[:, 0] >= 0) & (points[:, 0] < height) & (points[:, 1] >= 0) & (points[:, 1] < width)
        if inside.any():
            rows, cols = points[inside].T
            in_field[k] = True
            found[k] = np.mean(distance_px[rows, cols] <= near_px) >= _RECALL_MIN_SHARE
    return found, in_field


def _point_tree(hairs):
    """A KD-tree of the true hairs' centrelines resampled every pixel, and each point's hair index."""
    from scipy.spatial import cKDTree

    from .compare import dense_polyline

    points = [dense_polyline(hair["centerline_px"], 1.0) for hair in hairs]
    owner = np.repeat(np.arange(len(hairs)), [len(p) for p in points])
    return cKDTree(np.concatenate(points)), owner


def _near_px(truth: dict) -> float:
    """`RECALL_DISTANCE_UM` in the photo's pixels, at least `_RECALL_MIN_PX`."""
    return max(_RECALL_MIN_PX, RECALL_DISTANCE_UM / float(truth["um_per_px"]))


def shaft_diameter_errors(hairs: pd.DataFrame, centerlines_px, truth: dict) -> np.ndarray:
    """Diameter errors hair by hair: measured - true diameter (µm) of each detected shaft that runs
    along one counted true hair.

    A detected shaft runs along the true hair that lies nearest to most of its centreline, when at
    least `_RECALL_MIN_SHARE` of its centreline lies within `RECALL_DISTANCE_UM` (at least 3 px) of
    that hair. Bands split into touching hairs (``bundle_size`` > 1) are left out: their diameters are
    shares of one measurement, not measurements of the hairs.

    Parameters
    ----------
    hairs : pandas.DataFrame
        ``AnalysisResult.hairs`` (``diameter_um``, ``bundle_size``).
    centerlines_px : sequence of ndarray, shape (N, 2)
        ``AnalysisResult.centerlines_px``, one per row of ``hairs``.
    truth : dict
        ``SyntheticPhoto.truth()``.

    Returns
    -------
    ndarray of float, one error per matched shaft
    """
    return _errors_um(_matched_shafts(hairs, centerlines_px, truth))


def shaft_diameter_bias_percent(
    hairs: pd.DataFrame, centerlines_px, truth: dict, *, min_opacity=0.0, max_opacity=math.inf
) -> float:
    """Median signed diameter error, in percent of the true diameter, of the detected shafts that run
    along one counted true hair (as `shaft_diameter_errors` matches them) whose ``centre_opacity`` is
    at least ``min_opacity`` and below ``max_opacity``; NaN where there is none."""
    return _bias_percent(_matched_shafts(hairs, centerlines_px, truth), min_opacity, max_opacity)


def _errors_um(matched) -> np.ndarray:
    """Measured - true diameter (µm) of each (measured diameter, true hair) pair."""
    return np.asarray([diameter_um - hair["diameter_um"] for diameter_um, hair in matched], float)


def _bias_percent(matched, min_opacity, max_opacity) -> float:
    """Median signed error in percent of the true diameter over the pairs whose true hair's centre
    opacity lies in [``min_opacity``, ``max_opacity``); NaN where none does."""
    errors = [
        100.0 * (diameter_um - hair["diameter_um"]) / hair["diameter_um"]
        for diameter_um, hair in matched
        if min_opacity <= hair["centre_opacity"] < max_opacity
    ]
    return float(np.median(errors)) if errors else math.nan


def _matched_shafts(hairs: pd.DataFrame, centerlines_px, truth: dict) -> list[tuple[float, dict]]:
    """(measured diameter µm, true hair) of each detected single shaft that runs along one counted true
    hair (see `shaft_diameter_errors`)."""
    counted = [hair for hair in truth["hairs"] if hair["counted"]]
    if not counted or not len(hairs):
        return []
    tree, owner = _point_tree(counted)
    near_px = _near_px(truth)
    matched = []
    rows = zip(hairs["diameter_um"], hairs["bundle_size"], centerlines_px, strict=True)
    for diameter_um, bundle_size, line in rows:
        if bundle_size != 1 or not len(line):
            continue
        distance, nearest = tree.query(np.asarray(line, float))
        ids, votes = np.unique(owner[nearest[distance <= near_px]], return_counts=True)
        if len(ids) and votes.max() >= _RECALL_MIN_SHARE * len(line):
            matched.append((float(diameter_um), counted[ids[np.argmax(votes)]]))
    return matched


def iter_checks(
    scenario: str = "clinical",
    n_photos: int = 10,
    *,
    seed: int = 0,
    width_px: int = 1280,
    height_px: int = 960,
    um_per_px: float | None = None,
    parameters: AnalysisParameters | None = None,
) -> Iterator[dict]:
    """Render, analyse and check ``n_photos`` phantoms one at a time (see `validate`)."""
    from .synthetic import generate

    if isinstance(n_photos, bool) or not isinstance(n_photos, (int, np.integer)) or n_photos < 1:
        raise ParameterError(f"n_photos must be a whole number >= 1, got {n_photos!r}")
    for i in range(int(n_photos)):
        photo = generate(scenario, seed=seed + i, width_px=width_px, height_px=height_px, um_per_px=um_per_px)
        yield check_photo(photo, parameters)


@dataclass(frozen=True)
class ValidationReport:
    """Analysis against synthetic truth on a series of phantoms.

    Attributes
    ----------
    scenario : str
    parameters : AnalysisParameters
    photos : pandas.DataFrame
        One row per phantom, columns `PHOTO_COLUMNS`.
    """

    scenario: str
    parameters: AnalysisParameters
    photos: pd.DataFrame

    @classmethod
    def from_checks(cls, scenario: str, parameters: AnalysisParameters, checks) -> ValidationReport:
        """A report from `check_photo` rows (any iterable of them)."""
        return cls(scenario, parameters, pd.DataFrame(list(checks), columns=list(PHOTO_COLUMNS)))

    def _pooled_recall(self, group: str) -> float:
        """Found / true hairs of a colour group over all photos (NaN without such hairs)."""
        totals = self.photos[f"true_{group}_count"].to_numpy(float)
        recalls = self.photos[f"{group}_recall"].to_numpy(float)
        has = totals > 0
        return float(np.sum(recalls[has] * totals[has]) / np.sum(totals[has])) if has.any() else math.nan

    def summary(self) -> dict:
        """Errors over the photos: medians for the count (robust to a photo with few hairs), means for
        the diameter and terminal share, each as absolute size and as signed bias, and the mean of the
        photos' hair-by-hair diameter errors (``shaft_diameter_error_um``), the medians of their diameter
        biases on translucent and opaque hairs (``median_translucent_shaft_bias_percent``,
        ``median_opaque_shaft_bias_percent``), and where the count errors
        come from (`count_breakdown`), pooled over the photos as percent of the true hairs
        (``found_percent``, ``missed_percent``, ``merged_percent``, ``extra_piece_percent``,
        ``false_percent``)."""
        photos = self.photos

        def stat(function, values):
            values = values[np.isfinite(values)]
            return float(function(values)) if len(values) else math.nan

        count = photos["count_error_percent"].to_numpy(float)
        diameter = photos["diameter_error_um"].to_numpy(float)
        terminal = photos["terminal_error_pp"].to_numpy(float)
        true_total = float(photos["true_hair_count"].sum())
        breakdown = {
            f"{kind}_percent": 100.0 * float(photos[f"{kind}_count"].sum()) / true_total
            if true_total
            else math.nan
            for kind in ("found", "missed", "merged", "extra_piece", "false")
        }
        return {
            "scenario": self.scenario,
            "photo_count": len(photos),
            "median_abs_count_error_percent": stat(np.median, np.abs(count)),
            "median_count_error_percent": stat(np.median, count),
            "mean_abs_diameter_error_um": stat(np.mean, np.abs(diameter)),
            "mean_diameter_error_um": stat(np.mean, diameter),
            "mean_abs_terminal_error_pp": stat(np.mean, np.abs(terminal)),
            "mean_shaft_diameter_error_um": stat(np.mean, photos["shaft_diameter_error_um"].to_numpy(float)),
            "median_translucent_shaft_bias_percent": stat(
                np.median, photos["translucent_shaft_bias_percent"].to_numpy(float)
            ),
            "median_opaque_shaft_bias_percent": stat(
                np.median, photos["opaque_shaft_bias_percent"].to_numpy(float)
            ),
            "dark_recall": self._pooled_recall("dark"),
            "grey_white_recall": self._pooled_recall("grey_white"),
            **breakdown,
            "mean_seconds_per_photo": stat(np.mean, photos["seconds"].to_numpy(float)),
        }


def validate(
    scenario: str = "clinical",
    n_photos: int = 10,
    *,
    seed: int = 0,
    width_px: int = 1280,
    height_px: int = 960,
    um_per_px: float | None = None,
    parameters: AnalysisParameters | None = None,
) -> ValidationReport:
    """Analyse seeded synthetic photos with the given settings and compare each with its truth.

    Parameters
    ----------
    scenario : str
        A key of `densitometry.synthetic.SCENARIOS`.
    n_photos : int
        Number of phantoms; photo ``i`` uses seed ``seed + i``.
    seed : int
    width_px, height_px : int
        Image size of the phantoms.
    um_per_px : float, optional
        Pixel size of the phantoms in µm; None draws it from the scenario (see `densitometry.synthetic`).
    parameters : AnalysisParameters, optional
        The analysis settings to check (defaults when None).

    Returns
    -------
    ValidationReport

    Raises
    ------
    ParameterError
        Unknown scenario, ``n_photos`` < 1, invalid size or seed.
    CalibrationError
        ``um_per_px`` not finite and > 0.

    Examples
    --------
    >>> from densitometry.validation import validate
    >>> report = validate("clean", 1, width_px=320, height_px=240)
    >>> report.summary()["photo_count"]
    1
    """
    parameters = AnalysisParameters() if parameters is None else parameters
    checks = iter_checks(
        scenario,
        n_photos,
        seed=seed,
        width_px=width_px,
        height_px=height_px,
        um_per_px=um_per_px,
        parameters=parameters,
    )
    return ValidationReport.from_checks(scenario, parameters, checks)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``validate`` options to an argparse (sub)parser."""
    from .batch import add_analysis_arguments
    from .synthetic import SCENARIOS

    phantoms = parser.add_argument_group("phantoms")
    phantoms.add_argument("--scenario", default="clinical", choices=sorted(SCENARIOS), help="what to render")
    phantoms.add_argument("-n", "--count", type=int, default=10, help="number of photos")
    phantoms.add_argument(
        "--seed", type=int, default=0, help="seed of the first photo; photo i uses seed + i"
    )
    phantoms.add_argument("--width", type=int, default=1280, help="image width in pixels")
    phantoms.add_argument("--height", type=int, default=960, help="image height in pixels")
    phantoms.add_argument(
        "--um-per-px",
        type=float,
        default=None,
        help="pixel size of your dermatoscope in µm; None draws it from the scenario",
    )
    add_analysis_arguments(parser)
    parser.add_argument("--csv", metavar="FILE", help="also write the per-photo table here")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or per-photo lines")


def run(args: argparse.Namespace) -> int:
    """Run the ``validate`` subcommand; returns the exit code (0 ok, 2 invalid options, 1 CSV not written)."""
    from tqdm import tqdm

    from .batch import analysis_parameters
    from .batch_journal import atomic_writer

    try:
        parameters = analysis_parameters(args)
        checks = iter_checks(
            args.scenario,
            args.count,
            seed=args.seed,
            width_px=args.width,
            height_px=args.height,
            um_per_px=args.um_per_px,
            parameters=parameters,
        )
        rows = []
        header = (
            f"{'seed':>6} {'um/px':>6} {'true':>6} {'found':>6} {'count %':>8} {'diam um':>8} {'err um':>7}"
        )
        if not args.quiet:
            tqdm.write(header, file=sys.stdout)
        with tqdm(
            total=args.count, unit="photo", file=sys.stderr, disable=args.quiet, dynamic_ncols=True
        ) as bar:
            for row in checks:
                rows.append(row)
                bar.update()
                if not args.quiet:
                    tqdm.write(
                        f"{row['seed']:>6} {row['um_per_px']:>6.2f} {row['true_hair_count']:>6} "
                        f"{row['hair_count']:>6} {row['count_error_percent']:>+8.1f} "
                        f"{row['mean_diameter_um']:>8.1f} {row['diameter_error_um']:>+7.1f}",
                        file=sys.stdout,
                    )
    except DensitometryError as error:
        print(f"densitometry validate: error: {error}", file=sys.stderr)
        return 2
    report = ValidationReport.from_checks(args.scenario, parameters, rows)
    summary = report.summary()
    print(
        f"{args.scenario}, {summary['photo_count']} photos: median |count error| "
        f"{summary['median_abs_count_error_percent']:.1f} % (median signed "
        f"{summary['median_count_error_percent']:+.1f} %), mean |diameter error| "
        f"{summary['mean_abs_diameter_error_um']:.1f} µm (mean signed {summary['mean_diameter_error_um']:+.1f} "
        f"µm), hair by hair {summary['mean_shaft_diameter_error_um']:.1f} µm (median |error| per photo), "
        f"mean |terminal-share error| {summary['mean_abs_terminal_error_pp']:.1f} points, "
        f"{summary['mean_seconds_per_photo']:.2f} s per photo"
    )
    found = [
        f"{name} {100 * summary[key]:.0f} %"
        for key, name in (("dark_recall", "dark"), ("grey_white_recall", "grey/white"))
        if math.isfinite(summary[key])
    ]
    print(f"true hairs found: {', '.join(found)}")
    biases = [
        f"{name} {summary[key]:+.0f} %"
        for key, name in (
            ("median_translucent_shaft_bias_percent", f"translucent (opacity < {TRANSLUCENT_OPACITY})"),
            ("median_opaque_shaft_bias_percent", f"opaque (opacity >= {OPAQUE_OPACITY})"),
        )
        if math.isfinite(summary[key])
    ]
    if biases:
        print(f"diameter bias hair by hair (median, % of the true diameter): {', '.join(biases)}")
    if math.isfinite(summary["found_percent"]):
        print(
            f"count error in parts (% of the true hairs): found once or more {summary['found_percent']:.0f}, "
            f"merged into other hairs' traces {summary['merged_percent']:.0f}, missed {summary['missed_percent']:.0f}; "
            f"extra pieces {summary['extra_piece_percent']:.0f}, false hairs {summary['false_percent']:.0f}"
        )
    if args.csv:
        try:
            with atomic_writer(args.csv, newline="") as handle:
                report.photos.to_csv(handle, index=False)
        except OSError as error:
            print(f"densitometry validate: error: could not write {args.csv}: {error}", file=sys.stderr)
            return 1
    return 0
