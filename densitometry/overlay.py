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


def draw_overlay(result: AnalysisResult, *, line_width_px: int | None = None) -> np.ndarray:
    """Draw each counted hair's centreline in its class colour, with a legend.

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
    for unit in result.follicular_units.table.itertuples():
        centre = (int(round(unit.col_px)), int(round(unit.row_px)))
        cv2.circle(canvas, centre, (3 + unit.size) * stroke, (255, 255, 255), stroke, cv2.LINE_AA)
    _legend(canvas, result)
    return canvas


def _legend(canvas, result: AnalysisResult):
    height, width = canvas.shape[:2]
    scale = max(0.35, min(height, width) / 1200)
    thickness = max(1, round(scale * 2))
    params = result.parameters
    labels = [
        (f"vellus < {params.vellus_max_um:g} um", ThicknessClass.VELLUS.value),
        ("intermediate", ThicknessClass.INTERMEDIATE.value),
        (f"terminal >= {params.terminal_min_um:g} um", ThicknessClass.TERMINAL.value),
    ]
    line_height = int(28 * scale) + 4
    box_width = int(420 * scale)
    cv2.rectangle(canvas, (4, 4), (8 + box_width, 8 + line_height * (len(labels) + 1)), (0, 0, 0), -1)
    y = 4 + line_height
    cv2.putText(
        canvas,
        f"{result.hair_count} hairs, {result.density_per_cm2:.0f}/cm2, {result.follicular_unit_count} FU",
        (10, y - 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    for text, key in labels:
        y += line_height
        cv2.putText(
            canvas,
            text,
            (10, y - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            CLASS_COLOURS_RGB[key],
            thickness,
            cv2.LINE_AA,
        )
