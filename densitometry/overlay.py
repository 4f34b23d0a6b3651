"""Overlays: the detected hairs drawn over the photo, coloured by thickness class."""

from __future__ import annotations

import cv2
import numpy as np

from .compare import dense_polyline
from .registration import map_points
from .results import AnalysisResult, ThicknessClass

#: RGB colour per thickness class (colour-blind safe: Okabe-Ito orange / sky blue / bluish green).
CLASS_COLOURS_RGB = {
    ThicknessClass.VELLUS.value: (230, 159, 0),
    ThicknessClass.INTERMEDIATE.value: (86, 180, 233),
    ThicknessClass.TERMINAL.value: (0, 158, 115),
}

#: RGB colour of the ring around an empty follicular opening, per kind.
OPENING_COLOURS_RGB = {"dark": (204, 121, 167), "yellow": (240, 228, 66)}

#: RGB colours of the change map (Okabe-Ito sky blue and vermillion: told apart with any colour vision).
CHANGE_COLOURS_RGB = {
    "new": (86, 180, 233),
    "lost": (213, 94, 0),
    "grown": (240, 228, 66),  # Okabe-Ito yellow: a hair's stretch that grew (solid) or broke off (dashed)
    "present": (235, 235, 235),
}


def draw_overlay(result: AnalysisResult, *, line_width_px: int | None = None) -> np.ndarray:
    """Draw each counted hair's centreline in its class colour, the follicular units and the empty
    openings, with a legend.

    Parameters
    ----------
    result : AnalysisResult
    line_width_px : int, optional
        Stroke width; by default it scales with the image size.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    canvas = result.image.copy()
    height, width = canvas.shape[:2]
    stroke = line_width_px or max(1, round(min(height, width) / 400))
    if result.field_mask is not None:
        # The field of view: hairs are counted, and the density taken, inside this line only.
        contours, _ = cv2.findContours(
            result.field_mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(canvas, contours, -1, (255, 255, 255), stroke, cv2.LINE_AA)
    for coords, hair_class in zip(result.centerlines_px, result.hairs["thickness_class"], strict=True):
        colour = CLASS_COLOURS_RGB.get(hair_class, (255, 255, 255))
        _polyline(canvas, coords, colour, stroke)
        start = tuple(int(v) for v in np.round(coords[0, ::-1]))
        cv2.circle(canvas, start, stroke + 1, colour, -1, cv2.LINE_AA)
    # Follicular units: a white ring around the roots of each unit, wider for more hairs.
    units = result.follicular_units
    for unit in units.table.itertuples():
        centre = (int(round(unit.col_px)), int(round(unit.row_px)))
        cv2.circle(canvas, centre, (3 + unit.size) * stroke, (255, 255, 255), stroke, cv2.LINE_AA)
    # Empty follicular openings: a ring (reddish purple; yellow for yellow dots).
    for opening in units.empty_openings.itertuples():
        centre = (int(round(opening.col_px)), int(round(opening.row_px)))
        radius = int(round(0.5 * result.calibration.px(opening.diameter_um))) + 2 * stroke
        colour = OPENING_COLOURS_RGB[opening.kind]
        cv2.circle(canvas, centre, radius, colour, stroke, cv2.LINE_AA)
    _legend(canvas, result)
    return canvas


def draw_change_map(comparison, *, line_width_px: int | None = None) -> np.ndarray:
    """Draw what changed between the visits on the after photo, aligned to the before photo.

    New hairs are drawn solid, lost hairs dashed where they were, a hair's stretch that grew solid in
    another colour (broken off: dashed), and the hairs present at both visits (matched, or counted by
    one analysis and shown by both photos) thin and pale; outside the common field, where nothing is
    compared, the photo is dimmed. When the photos could not be aligned, the before photo is returned
    with a note and no hair-by-hair change.

    Parameters
    ----------
    comparison : densitometry.compare.Comparison
    line_width_px : int, optional
        Stroke width; by default it scales with the image size.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        In the before photo's frame.
    """
    if not comparison.registered:
        canvas = comparison.before_result.image.copy()
        _text_box(canvas, [("photos not aligned: no hair-by-hair change", (255, 255, 255))])
        return canvas
    canvas = comparison.aligned_after()
    height, width = canvas.shape[:2]
    stroke = line_width_px or max(1, round(min(height, width) / 400))
    common = comparison.common_field_mask
    if common is not None:
        canvas[~common] = (canvas[~common] * 0.45).astype(np.uint8)
        contours, _ = cv2.findContours(common.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(canvas, contours, -1, (255, 255, 255), stroke, cv2.LINE_AA)
    before_lines = comparison.before_result.centerlines_px
    after_lines = comparison.after_result.centerlines_px
    transform = comparison.transform
    # Present at both visits: matched, or counted by one analysis only and shown by both photos.
    present = [before_lines[b] for b, _ in comparison.hair_pairs]
    present += [before_lines[b] for b in comparison.missed_in_after_ids]
    present += [map_points(transform, after_lines[a]) for a in comparison.missed_in_before_ids]
    for line in present:
        _polyline(canvas, line, CHANGE_COLOURS_RGB["present"], max(1, stroke - 1))
    lost = [before_lines[i] for i in comparison.lost_hair_ids] + list(comparison.untraced_lost_px)
    for line in lost:
        _dashed(canvas, line, CHANGE_COLOURS_RGB["lost"], stroke + 1, dash_px=6 * (stroke + 1))
    new = [map_points(transform, after_lines[i]) for i in comparison.new_hair_ids]
    for line in new + list(comparison.untraced_new_px):
        _polyline(canvas, line, CHANGE_COLOURS_RGB["new"], stroke + 1)
    for i in comparison.extended_after_ids:
        _polyline(canvas, map_points(transform, after_lines[i]), CHANGE_COLOURS_RGB["grown"], stroke + 1)
    for i in comparison.extended_before_ids:
        _dashed(canvas, before_lines[i], CHANGE_COLOURS_RGB["grown"], stroke + 1, dash_px=6 * (stroke + 1))
    delta = comparison.delta_density_per_cm2
    _text_box(
        canvas,
        [
            (
                f"{comparison.new_hairs} new, {comparison.lost_hairs} lost hairs: {delta:+.0f}/cm2",
                (255, 255, 255),
            ),
            ("new hair", CHANGE_COLOURS_RGB["new"]),
            ("- - lost hair (where it was)", CHANGE_COLOURS_RGB["lost"]),
            ("grown stretch (- - broken off)", CHANGE_COLOURS_RGB["grown"]),
            ("present at both visits", CHANGE_COLOURS_RGB["present"]),
        ],
        bottom=True,  # clear of the web UI's label in the top left corner
    )
    return canvas


def _polyline(canvas, points_rc, colour, stroke):
    points = np.round(np.asarray(points_rc)[:, ::-1] * 4).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [points], False, colour, stroke, cv2.LINE_AA, shift=2)


def _dashed(canvas, points_rc, colour, stroke, *, dash_px):
    """A polyline drawn in dashes of ``dash_px`` with gaps of the same length."""
    dense_rc = dense_polyline(points_rc, 0.5)
    if len(dense_rc) < 2:
        return
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(dense_rc, axis=0).T))])
    on = (along // dash_px) % 2 == 0
    # Runs of "on" samples, each drawn as one stroke.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= 2:
            _polyline(canvas, dense_rc[start:stop], colour, stroke)


def _text_box(canvas, lines, *, bottom: bool = False):
    """Lines of (text, RGB colour) on a black box in the top (or bottom) left corner."""
    height, width = canvas.shape[:2]
    scale = max(0.35, min(height, width) / 1200)
    thickness = max(1, round(scale * 2))
    line_height = int(28 * scale) + 4
    box_width = max(
        cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0] for text, _ in lines
    )
    box_height = 4 + line_height * len(lines)
    top = height - 4 - box_height if bottom else 4
    cv2.rectangle(canvas, (4, top), (16 + box_width, top + box_height), (0, 0, 0), -1)
    for index, (text, colour) in enumerate(lines):
        y = top + line_height * (index + 1)
        cv2.putText(
            canvas, text, (10, y - 6), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA
        )


def _legend(canvas, result: AnalysisResult):
    params = result.parameters
    title = (
        f"{result.hair_count} hairs, {result.density_per_cm2:.0f}/cm2, {result.follicular_unit_count} FU, "
        f"{result.empty_opening_count} empty"
    )
    _text_box(
        canvas,
        [
            (title, (255, 255, 255)),
            (f"vellus < {params.vellus_max_um:g} um", CLASS_COLOURS_RGB[ThicknessClass.VELLUS.value]),
            ("intermediate", CLASS_COLOURS_RGB[ThicknessClass.INTERMEDIATE.value]),
            (f"terminal >= {params.terminal_min_um:g} um", CLASS_COLOURS_RGB[ThicknessClass.TERMINAL.value]),
            ("o empty opening", OPENING_COLOURS_RGB["dark"]),
            ("o yellow dot", OPENING_COLOURS_RGB["yellow"]),
        ],
    )
