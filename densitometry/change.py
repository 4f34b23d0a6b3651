"""Hairs that appear or disappear in the difference of two aligned photos of one scalp site.

Counting change hair to hair (`densitometry.compare`) finds only the hairs one analysis traced as hairs
of their own. A hair lying along a neighbour (two hairs of a follicular unit, touching for a stretch), or
one the tracing followed into another at a crossing, has no trace of its own: when it is added or
removed between the visits, no traced hair is new or lost, and the change reads short (synthetic pairs
of `benchmarks/compare.py` at 800x600: growth and loss read 7-8 percentage points short on average).

The aligned photos show such a hair directly. Where the after photo's hair contrast stands above the
highest contrast the before photo shows within the registration's tolerance around the same scalp
position, something appeared there; the skin's texture, follicular openings and every hair present at
both visits cancel. The regions that stand out (hysteresis between the analysis's ``low_contrast`` and
``high_contrast``, at least a thin hair wide) are traced with the analysis's own skeleton tracing, pieces
of one hair cut by hairs lying over them are joined along their line, and what is at least
``min_length_um`` long counts as a hair, except where it is no new hair:

- it continues a hair of the other photo beyond that hair's end (the hair grew, or broke off);
- it runs along both sides of a hair of the other photo (the hair thickened, or thinned);
- the other photo shows a shaft along it after all, fainter (a faint vellus hair that darkened and
  thickened, a shaft defocused in one photo): at least `SHOWN_SHARE` of its contrast;
- a hair of the other polarity lies over it in the other photo (a grey or white hair over a dark one),
  hiding it there.

Removed hairs are found the same way with the photos' roles swapped. What lies along, or on the line
of, a hair the hair-to-hair count already takes for new (lost) is that hair and is not reported again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from .calibration import Calibration
from .hairs import TracedHair, join_collinear, trace_hairs, values_at
from .skeleton import skeleton_branches

#: Beyond the registration residual, a shaft present at both visits may stand this many pixels apart in
#: the two photos (interpolation of the warped photo, a shaft edge rounded to other pixels).
TOLERANCE_PX = 2.0
#: A region is a hair that the other photo does not show unless the other photo's contrast along it
#: reaches this share of its own (a shaft shown fainter: defocus, a vellus hair that darkened).
SHOWN_SHARE = 0.1
#: Pieces shorter than this are dropped before joining (specks left by the contrast thresholds).
_MIN_PIECE_UM = 60.0
#: Pieces of one hair cut by hairs of the other photo lying over it are joined across gaps up to this
#: long, where they point at each other within `_JOIN_TURN_DEG` and the gap lies on the other photo's
#: hair along `_JOIN_COVERED_SHARE` of it (a hair lying along others for a stretch).
_JOIN_GAP_UM = 1000.0
_JOIN_TURN_DEG = 20.0
_JOIN_COVERED_SHARE = 0.8
#: An end's direction is taken over this stretch of its piece, beyond the first `_END_TRIM_UM`.
_END_STRETCH_UM = 80.0
_END_TRIM_UM = 20.0
#: A piece continues another photo's hair when its end lies within two of that hair's widths (plus
#: this) of the hair's end and the two point at each other within `_CONTINUES_TURN_DEG`.
_CONTINUES_SLACK_UM = 30.0
_CONTINUES_TURN_DEG = 35.0
#: A piece runs along a counted hair where it lies this close to its centreline (the two centrelines of
#: one shaft, one traced in a photo, one in the difference); never closer than `_COUNTED_NEAR_PX`.
_COUNTED_NEAR_UM = 30.0
_COUNTED_NEAR_PX = 3.0
#: A shaft that thickened (or thinned) to at most 90 µm changes within this distance of its centreline.
_WIDTH_CHANGE_REACH_UM = 45.0


@dataclass(frozen=True)
class ChangedHairs:
    """Hairs appearing (``new_px``) and disappearing (``lost_px``) between two aligned photos.

    Attributes
    ----------
    new_px, lost_px : tuple of ndarray, shape (N, 2)
        One centreline per hair as (row, col) points in the before photo's frame (a hair joined across
        gaps: its pieces' points, one piece after the other).
    """

    new_px: tuple
    lost_px: tuple


def changed_hairs(
    before_contrast,
    after_contrast,
    common,
    calibration: Calibration,
    *,
    before_lines_px,
    after_lines_px,
    before_widths_px,
    after_widths_px,
    low_contrast: float,
    high_contrast: float,
    min_diameter_um: float,
    min_length_um: float,
    residual_px: float = 0.0,
    counted_new_px=(),
    counted_lost_px=(),
    before_opposite=None,
    after_opposite=None,
) -> ChangedHairs:
    """Hairs one aligned photo shows and the other does not (see the module notes).

    Parameters
    ----------
    before_contrast : ndarray of float, shape (H, W)
        The before photo's relative hair contrast (hair positive).
    after_contrast : ndarray of float, shape (H, W)
        The after photo's, warped into the before photo's frame (NaN where it has no pixel).
    common : ndarray of bool, shape (H, W)
        Where both photos are compared.
    calibration : Calibration
        Of the before photo.
    before_lines_px, after_lines_px : sequence of ndarray, shape (N, 2)
        The hairs each analysis traced, (row, col) in the before frame.
    before_widths_px, after_widths_px : sequence of float
        Their shaft widths in pixels.
    low_contrast, high_contrast : float
        Hysteresis thresholds on the contrast difference (the analysis's own).
    min_diameter_um, min_length_um : float
        The thinnest shaft and the shortest hair counted.
    residual_px : float
        The registration's residual: shafts may stand this much further apart.
    counted_new_px, counted_lost_px : sequence of ndarray, shape (N, 2)
        Hairs already counted new (lost), hair to hair (`densitometry.compare`), in the before frame:
        what the difference shows of them, along them or beyond a hair lying over them, is not
        reported again.
    before_opposite, after_opposite : ndarray of float, shape (H, W), optional
        Each photo's contrast of the other polarity (bright hair in a reading of dark hair), the
        after's warped like ``after_contrast``: a hair of the other colour lying over a shaft in one
        photo hides it there, which is no change.

    Returns
    -------
    ChangedHairs
        The hairs beyond those counted.
    """
    before = np.asarray(before_contrast, dtype=np.float32)
    after = np.asarray(after_contrast, dtype=np.float32)
    valid = np.asarray(common, dtype=bool) & np.isfinite(after)
    after = np.where(np.isfinite(after), after, 0.0).astype(np.float32)
    radius = _radius_px(residual_px)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    settings = dict(
        calibration=calibration,
        radius_px=radius,
        disc=disc,
        valid=valid,
        low_contrast=low_contrast,
        high_contrast=high_contrast,
        min_diameter_um=min_diameter_um,
        min_length_um=min_length_um,
    )
    new = _appeared(
        after, before, before_opposite, before_lines_px, before_widths_px, counted_new_px, **settings
    )
    lost = _appeared(
        before, after, after_opposite, after_lines_px, after_widths_px, counted_lost_px, **settings
    )
    return ChangedHairs(new_px=tuple(new), lost_px=tuple(lost))


def _radius_px(residual_px) -> int:
    """How far (whole pixels) a shaft present at both visits may stand apart in the aligned photos."""
    return int(math.ceil(TOLERANCE_PX + max(float(residual_px), 0.0)))


def _appeared(
    shown,
    other,
    other_opposite,
    other_lines_px,
    other_widths_px,
    counted_px,
    *,
    calibration,
    radius_px,
    disc,
    valid,
    low_contrast,
    high_contrast,
    min_diameter_um,
    min_length_um,
):
    """Hairs ``shown`` shows and ``other`` does not, each as its pieces' centreline points."""
    excess = shown - cv2.dilate(other, disc)
    mask = _regions(excess, valid, low_contrast, high_contrast, calibration.px(min_diameter_um))
    if not mask.any():
        return []
    width_map = (2.0 * cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)).astype(np.float32)
    pieces = trace_hairs(skeleton_branches(mask), width_map)
    other_hair = cv2.dilate((other > low_contrast).astype(np.uint8), disc).astype(bool)
    # Gaps where a hair of the other photo lies over the shaft count as mask when joining.
    gap_map = np.where(other_hair & ~mask, np.float32(1.0), width_map)
    pieces = join_collinear(pieces, gap_map, askew_cuts=True)
    min_piece_px = calibration.px(_MIN_PIECE_UM)
    pieces = [piece for piece in pieces if piece.length_px >= min_piece_px]
    traced = _Traced.of(other_lines_px, other_widths_px)
    wide = cv2.dilate(mask.astype(np.uint8), disc).astype(bool)
    covering = None
    if other_opposite is not None:
        opposite = np.where(np.isfinite(other_opposite), other_opposite, 0.0).astype(np.float32)
        covering = cv2.dilate(opposite, disc)
    kept = [
        piece
        for piece in pieces
        if not _continues(piece.coords_px, traced, radius_px, calibration)
        and not _along_both_sides(piece, traced, wide, radius_px, calibration)
        and not _shown_fainter(piece, shown, other)
        and not (covering is not None and _covered(piece, covering, low_contrast))
    ]
    return _joined(kept, counted_px, other_hair, calibration, min_length_um)


def _regions(excess, valid, low, high, min_width_px):
    """Where ``excess`` exceeds ``low`` in regions reaching ``high``, at least ``min_width_px`` wide."""
    weak = ((excess > low) & valid).astype(np.uint8)
    count, labels = cv2.connectedComponents(weak, connectivity=8)
    strong = np.zeros(count, dtype=bool)
    strong[np.unique(labels[(excess > high) & valid])] = True
    strong[0] = False
    mask = strong[labels].astype(np.uint8)
    size = max(1, int(round(min_width_px)))
    opening = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, opening).astype(bool)


def _end_directions(points, stretch_px, trim_px=0.0):
    """The two ends of a centreline and their outward unit directions, each that of the stretch of
    ``stretch_px`` points beyond the first ``trim_px`` (an end cut askew by a crossing hair bends)."""
    back = max(1, min(len(points) - 1, int(stretch_px + trim_px)))
    trim = min(int(trim_px), back // 2)
    result = []
    for end, outer, inner in (
        (points[0], points[trim], points[back]),
        (points[-1], points[-1 - trim], points[-1 - back]),
    ):
        vector = outer - inner
        norm = float(np.hypot(*vector))
        result.append((end, vector / norm if norm > 0 else vector))
    return result


@dataclass(frozen=True)
class _Traced:
    """The other photo's traced hairs: their ends (point, outward direction, width px) and a KD tree
    over all their points."""

    ends: list
    tree: cKDTree | None

    @classmethod
    def of(cls, lines_px, widths_px):
        ends, points = [], []
        for line, width in zip(lines_px, widths_px, strict=True):
            line = np.asarray(line, dtype=float)
            if len(line) < 3:
                continue
            width = float(width) if math.isfinite(width) else 2.0
            ends += [(end, direction, width) for end, direction in _end_directions(line, 7)]
            points.append(line)
        return cls(ends, cKDTree(np.vstack(points)) if points else None)


def continuing(lines_px, other_lines_px, other_widths_px, calibration: Calibration, *, residual_px=0.0):
    """Which of one photo's hairs continue a hair of the other photo beyond its end.

    A hair that grew between the visits (or broke off) shows, in the photo where it is longer, a stretch
    the other photo does not show, starting where the other photo's hair ends and pointing the same way.
    Traced as a hair of its own, that stretch is no new (lost) hair. It is recognised by the other
    photo's traced hair ending at one of its ends and pointing into it (where that hair's trace ran on
    into another hair at its tip, it is not).

    Parameters
    ----------
    lines_px, other_lines_px : sequence of ndarray, shape (N, 2)
        Centrelines (row, col) of both photos' hairs in one frame.
    other_widths_px : sequence of float
        Shaft widths of the other photo's hairs in pixels.
    calibration : Calibration
    residual_px : float
        The registration's residual.

    Returns
    -------
    list of bool
    """
    radius = _radius_px(residual_px)
    traced = _Traced.of(other_lines_px, other_widths_px)
    return [
        len(line) >= 3 and _continues(np.asarray(line, dtype=float), traced, radius, calibration)
        for line in lines_px
    ]


def _continues(coords_px, traced: _Traced, radius_px, calibration) -> bool:
    """Whether a centreline continues another photo's hair beyond its end (growth or breakage)."""
    cos_limit = math.cos(math.radians(_CONTINUES_TURN_DEG))
    slack_px = calibration.px(_CONTINUES_SLACK_UM)
    for end, direction in _end_directions(
        coords_px, calibration.px(_END_STRETCH_UM), calibration.px(_END_TRIM_UM)
    ):
        for other_end, other_direction, width in traced.ends:
            near = float(np.hypot(*(other_end - end))) <= max(2.0 * width, 3.0 * radius_px) + slack_px
            if near and float(direction @ other_direction) < -cos_limit:
                return True
    return False


def _along_both_sides(piece: TracedHair, traced: _Traced, wide, radius_px, calibration) -> bool:
    """Whether the piece runs beside another photo's hair with more change mirrored on its far side."""
    if traced.tree is None:
        return False
    coords = piece.coords_px
    distance, nearest = traced.tree.query(coords)
    mirror = np.rint(2.0 * traced.tree.data[nearest] - coords).astype(int)
    height, width = wide.shape
    inside = (mirror[:, 0] >= 0) & (mirror[:, 0] < height) & (mirror[:, 1] >= 0) & (mirror[:, 1] < width)
    mirrored = np.zeros(len(coords), dtype=bool)
    mirrored[inside] = wide[mirror[inside, 0], mirror[inside, 1]]
    beside = distance < calibration.px(_WIDTH_CHANGE_REACH_UM) + radius_px
    return float(np.mean(mirrored & beside)) >= 0.5


def _shown_fainter(piece: TracedHair, shown, other) -> bool:
    """Whether the other photo shows the shaft along the piece, fainter (see `SHOWN_SHARE`)."""
    own = float(np.median(values_at(shown, piece.coords_px)))
    there = float(np.median(values_at(other, piece.coords_px)))
    return there >= SHOWN_SHARE * own


def _covered(piece: TracedHair, covering, low_contrast) -> bool:
    """Whether a hair of the other polarity lies over the piece in the other photo (along half of it)."""
    return float(np.median(values_at(covering, piece.coords_px))) >= low_contrast


def _joined(pieces, counted_px, other_hair, calibration, min_length_um):
    """Pieces joined into hairs; the hairs of at least ``min_length_um`` that no counted hair is part of.

    A piece and a hair the hair-to-hair count already takes for new (lost), ``counted_px``, are one hair
    where the piece runs along it (within `_COUNTED_NEAR_UM`) for ``min_length_um`` or half the piece;
    pieces and counted hairs are joined end to end across gaps lying on the other photo's hair
    (``other_hair``; `_JOIN_GAP_UM`, `_JOIN_TURN_DEG`, `_JOIN_COVERED_SHARE`).
    """
    lines = [np.asarray(piece.coords_px, dtype=float) for piece in pieces]
    lines += [np.asarray(line, dtype=float) for line in counted_px if len(line) >= 2]
    counted = np.arange(len(lines)) >= len(pieces)
    lengths_px = [float(np.sum(np.hypot(*np.diff(line, axis=0).T))) for line in lines]
    parent = list(range(len(lines)))

    def root(index):
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    near_px = max(_COUNTED_NEAR_PX, calibration.px(_COUNTED_NEAR_UM))
    min_length_px = calibration.px(min_length_um)
    for index in np.flatnonzero(counted):
        tree = cKDTree(lines[index])
        for piece in range(len(pieces)):
            along_px = float(np.sum(tree.query(lines[piece])[0] <= near_px))  # points ~1 px apart
            if along_px >= min(min_length_px, 0.5 * lengths_px[piece]):
                parent[root(piece)] = root(index)
    ends = [
        (index, end, direction)
        for index, line in enumerate(lines)
        for end, direction in _end_directions(
            line, calibration.px(_END_STRETCH_UM), calibration.px(_END_TRIM_UM)
        )
    ]
    cos_limit = math.cos(math.radians(_JOIN_TURN_DEG))
    max_gap_px = calibration.px(_JOIN_GAP_UM)
    height, width = other_hair.shape
    candidates = []
    for a in range(len(ends)):
        for b in range(a + 1, len(ends)):
            (i, end_a, out_a), (j, end_b, out_b) = ends[a], ends[b]
            gap = end_b - end_a
            length = float(np.hypot(*gap))
            if i == j or not 1.0 <= length <= max_gap_px:
                continue
            along = gap / length
            if out_a @ along < cos_limit or out_b @ -along < cos_limit:
                continue
            steps = np.linspace(0.0, 1.0, max(2, int(length)))
            path = np.rint(end_a + steps[:, None] * gap).astype(int)
            if path.min() < 0 or (path[:, 0] >= height).any() or (path[:, 1] >= width).any():
                continue
            if other_hair[path[:, 0], path[:, 1]].mean() >= _JOIN_COVERED_SHARE:
                candidates.append((length, a, b, i, j))
    used = set()
    for _, a, b, i, j in sorted(candidates):
        if a in used or b in used or root(i) == root(j):
            continue
        used.update((a, b))
        parent[root(i)] = root(j)
    groups: dict[int, list] = {}
    for index in range(len(lines)):
        groups.setdefault(root(index), []).append(index)
    return [
        np.concatenate([lines[i] for i in members])
        for members in groups.values()
        if not counted[members].any() and sum(lengths_px[i] for i in members) >= min_length_px
    ]
