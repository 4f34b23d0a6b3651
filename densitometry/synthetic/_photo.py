"""Result types of the synthetic generator: truth per hair and unit, and the rendered photo."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..calibration import UM_PER_CM, UM_PER_MM
from ..errors import ParameterError
from ._scene import TERMINAL_MIN_UM, VELLUS_MAX_UM, SceneParameters

DEFAULT_MIN_LENGTH_UM = 150.0
"""A hair counts when at least this much of it is visible in the field (the analyzer's rule)."""


@dataclass(frozen=True, eq=False)
class TruthHair:
    """Exact truth of one rendered hair.

    Attributes
    ----------
    hair_id, unit_id : int
        Index of the hair in `SyntheticPhoto.hairs` and of its follicular unit in `SyntheticPhoto.units`.
    centerline_px : numpy.ndarray, shape (N, 2), float64, read-only
        The whole centreline as (row, col) pixel coordinates (pixel centres at integers), including the
        parts outside the field; the first point is the emergence point. The hair is rendered from
        exactly this polyline.
    diameter_um : float
        Shaft diameter (constant along the hair).
    length_um, visible_length_um : float
        Length of the whole centreline, and of the part inside the field
        (rows -0.5..H-0.5, cols -0.5..W-0.5, within `SyntheticPhoto.field_px` where it is set).
    colour : str
        A `HairColour` value.
    emergence_px : tuple of float
        (row, col) where the hair leaves the skin; may lie outside the field.
    crosses_border : bool
        True if the hair is cut by the field border (partly inside, partly outside).
    centre_opacity : float
        Opacity at the centre of the shaft, 0-1 (1 = opaque).
    defocused : bool
        True if the hair floats above the focal plane and is rendered blurred.
    """

    hair_id: int
    unit_id: int
    centerline_px: np.ndarray
    diameter_um: float
    length_um: float
    visible_length_um: float
    colour: str
    emergence_px: tuple[float, float]
    crosses_border: bool
    centre_opacity: float = 1.0
    defocused: bool = False

    def as_dict(self, *, decimals: int = 2) -> dict:
        """JSON-safe dict of the hair (centreline rounded to ``decimals`` pixels)."""
        return {
            "hair_id": int(self.hair_id),
            "unit_id": int(self.unit_id),
            "diameter_um": round(float(self.diameter_um), 4),
            "length_um": round(float(self.length_um), 3),
            "visible_length_um": round(float(self.visible_length_um), 3),
            "colour": str(self.colour),
            "emergence_px": [round(float(v), 3) for v in self.emergence_px],
            "crosses_border": bool(self.crosses_border),
            "centre_opacity": round(float(self.centre_opacity), 4),
            "defocused": bool(self.defocused),
            "centerline_px": np.round(self.centerline_px, decimals).tolist(),
        }


@dataclass(frozen=True)
class TruthUnit:
    """A follicular unit (an opening in the skin), with or without hairs.

    Attributes
    ----------
    unit_id : int
    position_px : tuple of float
        (row, col) of the opening; may lie outside the field.
    hair_ids : tuple of int
        Hairs leaving this opening; empty for an empty opening.
    inside_field : bool
        True if the opening lies inside the field.
    """

    unit_id: int
    position_px: tuple[float, float]
    hair_ids: tuple[int, ...]
    inside_field: bool


@dataclass(frozen=True, eq=False)
class SyntheticPhoto:
    """A rendered synthetic trichoscopy photo with its exact truth.

    Attributes
    ----------
    image : numpy.ndarray, shape (H, W, 3), uint8
        RGB photo (after blur, noise and JPEG compression when the scene asks for them).
    um_per_px : float
    hairs : tuple of TruthHair
        Every hair with a visible part in the field.
    units : tuple of TruthUnit
        Follicular units inside the field (incl. empty openings) and outside ones whose hairs reach it.
    hair_mask : numpy.ndarray, shape (H, W), bool
        Pixels at least half covered by a hair (geometric coverage, before blur).
    centerline_mask : numpy.ndarray, shape (H, W), bool
        1-pixel (8-connected) centrelines of the visible hairs.
    diameter_map_um : numpy.ndarray, shape (H, W), float32
        Diameter of the thickest hair covering the pixel (as in ``hair_mask``), 0 elsewhere.
    params : SceneParameters
    seed : int
    encoded_jpeg : bytes or None
        The JPEG stream ``image`` was decoded from, if the scene was JPEG-compressed.
    field_px : tuple of int or None
        (top, left, height, width) of the field where the photo has flat margins
        (``params.frame_margins_px``); None: the whole photo is the field.
    """

    image: np.ndarray
    um_per_px: float
    hairs: tuple[TruthHair, ...]
    units: tuple[TruthUnit, ...]
    hair_mask: np.ndarray
    centerline_mask: np.ndarray
    diameter_map_um: np.ndarray
    params: SceneParameters
    seed: int
    encoded_jpeg: bytes | None = field(default=None, repr=False)
    field_px: tuple[int, int, int, int] | None = None

    @property
    def field_area_cm2(self) -> float:
        """Area of the field of view in cm²."""
        height_px, width_px = self.image.shape[:2] if self.field_px is None else self.field_px[2:]
        return float(height_px * width_px * (self.um_per_px / UM_PER_CM) ** 2)

    def counted_hairs(self, min_length_um: float = DEFAULT_MIN_LENGTH_UM) -> tuple[TruthHair, ...]:
        """Hairs with at least ``min_length_um`` visible (a border-cut hair counts once)."""
        return tuple(h for h in self.hairs if h.visible_length_um >= min_length_um)

    def truth(self, min_length_um: float = DEFAULT_MIN_LENGTH_UM) -> dict:
        """Summary and per-hair truth as a JSON-safe dict.

        Parameters
        ----------
        min_length_um : float, optional
            A hair is counted when its visible length is at least this (default 150 µm).

        Returns
        -------
        dict
            ``um_per_px``, ``field_area_cm2``, ``field_px`` (see the attribute), ``hair_count``,
            ``density_per_cm2``,
            ``mean_diameter_um``, ``median_diameter_um`` (of counted hairs; None when there are none),
            ``vellus_fraction`` (< 30 µm), ``intermediate_fraction``, ``terminal_fraction`` (>= 60 µm),
            ``cumulative_thickness_mm_per_cm2``, ``follicular_unit_count`` (units inside the field with
            at least one counted hair), ``hairs_per_unit_mean`` (counted hairs of those units divided by
            their number), ``empty_opening_count``, ``min_length_um``, ``hairs`` (per-hair dicts with a
            ``counted`` flag), ``units``, ``scenario``, ``seed``, ``params``.
        """
        if min_length_um is None or not np.isfinite(min_length_um) or min_length_um < 0:
            raise ParameterError(f"min_length_um must be finite and >= 0, got {min_length_um!r}")
        counted = self.counted_hairs(min_length_um)
        counted_ids = {h.hair_id for h in counted}
        diameters = np.array([h.diameter_um for h in counted], dtype=float)
        area = self.field_area_cm2
        n = len(counted)

        def fraction(mask):
            return float(np.mean(mask)) if n else 0.0

        inside_units = [u for u in self.units if u.inside_field]
        fu_counts = [sum(i in counted_ids for i in u.hair_ids) for u in inside_units]
        fu_counts = [c for c in fu_counts if c > 0]
        hairs_out = []
        for h in self.hairs:
            row = h.as_dict()
            row["counted"] = h.hair_id in counted_ids
            hairs_out.append(row)
        return {
            "scenario": self.params.scenario,
            "seed": int(self.seed),
            "um_per_px": float(self.um_per_px),
            "width_px": int(self.image.shape[1]),
            "height_px": int(self.image.shape[0]),
            "field_area_cm2": area,
            "field_px": None if self.field_px is None else [int(v) for v in self.field_px],
            "min_length_um": float(min_length_um),
            "hair_count": n,
            "density_per_cm2": n / area,
            "mean_diameter_um": float(diameters.mean()) if n else None,
            "median_diameter_um": float(np.median(diameters)) if n else None,
            "vellus_fraction": fraction(diameters < VELLUS_MAX_UM),
            "intermediate_fraction": fraction((diameters >= VELLUS_MAX_UM) & (diameters < TERMINAL_MIN_UM)),
            "terminal_fraction": fraction(diameters >= TERMINAL_MIN_UM),
            "cumulative_thickness_mm_per_cm2": float(diameters.sum() / UM_PER_MM / area),
            "follicular_unit_count": len(fu_counts),
            "hairs_per_unit_mean": float(np.mean(fu_counts)) if fu_counts else None,
            "empty_opening_count": sum(1 for u in inside_units if not u.hair_ids),
            "hairs": hairs_out,
            "units": [
                {
                    "unit_id": int(u.unit_id),
                    "position_px": [round(float(v), 3) for v in u.position_px],
                    "hair_ids": [int(i) for i in u.hair_ids],
                    "inside_field": bool(u.inside_field),
                }
                for u in self.units
            ],
            "params": dataclasses.asdict(self.params),
        }

    def save(
        self, directory, stem: str, *, format: str = "jpg", min_length_um: float = DEFAULT_MIN_LENGTH_UM
    ):
        """Write the image and its truth JSON atomically (temporary file, then `os.replace`).

        Parameters
        ----------
        directory : str or path-like
            Created if missing.
        stem : str
            File name without extension.
        format : {"jpg", "png"}
            ``jpg`` writes the photo's own JPEG stream when it has one (so the file decodes to
            ``image``), else encodes at quality 95; ``png`` is lossless.
        min_length_um : float, optional
            Counting rule for the truth summary.

        Returns
        -------
        image_path, truth_path : pathlib.Path
        """
        if format not in ("jpg", "png"):
            raise ParameterError(f"format must be 'jpg' or 'png', got {format!r}")
        if not stem or os.sep in stem or (os.altsep and os.altsep in stem):
            raise ParameterError(f"stem must be a plain file name, got {stem!r}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        bgr = cv2.cvtColor(self.image, cv2.COLOR_RGB2BGR)
        if format == "jpg" and self.encoded_jpeg is not None:
            data = self.encoded_jpeg
        else:
            params = [cv2.IMWRITE_JPEG_QUALITY, 95] if format == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
            ok, buffer = cv2.imencode(f".{format}", bgr, params)
            if not ok:
                raise OSError(f"OpenCV could not encode the image as {format}")
            data = buffer.tobytes()
        image_path = directory / f"{stem}.{format}"
        truth_path = directory / f"{stem}.json"
        _write_atomic(image_path, data)
        text = json.dumps(self.truth(min_length_um), separators=(",", ":"), allow_nan=False)
        _write_atomic(truth_path, text.encode("utf-8"))
        return image_path, truth_path


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
