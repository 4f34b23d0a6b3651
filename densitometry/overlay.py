"""Overlays: the detected hairs drawn over the photo, coloured by thickness class."""

from __future__ import annotations

import cv2
import numpy as np

from .results import AnalysisResult, ThicknessClass

#: RGB colour per thickness class (colour-blind safe: Okabe-Ito orange / sky blue / bluish green).
CLASS_COLOURS_RGB = {
    ThicknessClass.VELLUS.value: (230, 159, 0),
    ThicknessClass.INTERMEDIATE.value: (86, 180, 233),
    ThicknessClass.TERMINAL.value: (0, 158, 115),
}

#: RGB colour of the ring around an empty follicular opening, per kind.
OPENING_COLOURS_RGB = {"dark": (204, 121, 167), "yellow": (240, 228, 66)}


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
        points = np.round(coords[:, ::-1] * 4).astype(np.int32).reshape(-1, 1, 2)
        colour = CLASS_COLOURS_RGB.get(hair_class, (255, 255, 255))
        cv2.polylines(canvas, [points], False, colour, stroke, cv2.LINE_AA, shift=2)
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


def _legend(canvas, result: AnalysisResult):
    height, width = canvas.shape[:2]
    scale = max(0.35, min(height, width) / 1200)
    thickness = max(1, round(scale * 2))
    params = result.parameters
    labels = [
        (f"vellus < {params.vellus_max_um:g} um", CLASS_COLOURS_RGB[ThicknessClass.VELLUS.value]),
        ("intermediate", CLASS_COLOURS_RGB[ThicknessClass.INTERMEDIATE.value]),
        (f"terminal >= {params.terminal_min_um:g} um", CLASS_COLOURS_RGB[ThicknessClass.TERMINAL.value]),
        ("o empty opening", OPENING_COLOURS_RGB["dark"]),
        ("o yellow dot", OPENING_COLOURS_RGB["yellow"]),
    ]
    title = (
        f"{result.hair_count} hairs, {result.density_per_cm2:.0f}/cm2, {result.follicular_unit_count} FU, "
        f"{result.empty_opening_count} empty"
    )
    line_height = int(28 * scale) + 4
    box_width = max(
        cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0]
        for text, _ in [(title, None), *labels]
    )
    cv2.rectangle(canvas, (4, 4), (16 + box_width, 8 + line_height * (len(labels) + 1)), (0, 0, 0), -1)
    y = 4 + line_height
    cv2.putText(
        canvas, title, (10, y - 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA
    )
    for text, colour in labels:
        y += line_height
        cv2.putText(
            canvas,
            text,
            (10, y - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            colour,
            thickness,
            cv2.LINE_AA,
        )
