"""Follicular units: where each hair leaves the skin, hairs grouped by opening, and pattern-loss indicators.

Hairs leave the scalp in groups of 1-4 from one follicular opening (a follicular unit, FU). Clinical
trichoscopy reports FU counts, hairs per FU and the share of single-hair units, and the trichoscopic
criteria for androgenetic alopecia are stated in them. This module works on a finished
`AnalysisResult` and never modifies it:

1. `follicular_units` decides, for every counted hair, which end of its centreline is the root (the
   emergence point) and groups hairs whose roots lie close together into units.
2. `pattern_indicators` turns the hair diameters and the unit sizes into the indicators used by the
   trichoscopy criteria, as measurements with flags. They are **not a diagnosis**.

Root end of a hair
------------------
Each end of a centreline is scored with three cues, strongest first:

* **Field border**: an end that lies on the border of the photo is where the shaft leaves the field,
  never a root seen in it. A hair cut by the border at both ends is taken to emerge outside the field
  and belongs to no unit (``hair_unit_ids == -1``), as in the clinical convention of counting only
  openings inside the field. A hair cut at one end with no companion at the other could emerge on
  either side; the hair stream decides (below), and where it cannot the hair is counted as rooted
  outside and reported in ``root_ambiguous``.
* **Hidden ends**: where the hair mask runs straight on past an end (one to two shaft widths on), the
  tracing stopped under a crossing hair, and where hair covers most of the skin beyond an end, it
  stopped in a tangle; such an end is treated like a border end, unless other hairs leave it side by
  side (the hairs of a unit and their opening cover each other's roots).
* **Companions**: hairs of one unit leave the same opening side by side and nearly parallel, then fan
  out, so a root end meets the end of another hair (within ``companion_radius_um``) that runs off in
  about the same direction and moves away from it going in; the free tip of a hair lies alone, next to
  unrelated ends pointing anywhere, or (hairs of one unit clipped to one length) next to the tip of a
  hair that converges with it towards their shared opening.
* **Hair stream**: hairs grow in streams whose direction turns over millimetres (partings, whorls),
  so a hair without companions takes the root end from which its shaft leaves along the mean
  direction of the companion-oriented hairs around it (Gaussian weight, 1 mm); a border-cut hair
  whose inner end leaves against the stream ends there and is rooted outside.
* **Opening** (tie-breaker only): the follicular opening is a dark (brown/pink) round spot around the
  root; the skin (hair pixels excluded) in a disc of ``opening_radius_um`` around each end is compared
  with the skin in a ring around it. On the synthetic photos this cue separates roots from tips barely
  better than chance (the opening is mostly covered by the shafts), so it only orients hairs that have
  no other cue.

Hairs whose roots lie within ``max_unit_spacing_um`` are joined by single linkage; a cluster of more
than ``max_hairs_per_unit`` hairs is split by complete linkage into the fewest groups that respect the
cap (two neighbouring units very close together).

Empty follicular openings (round dark or yellow dots on the skin that no counted hair leaves) are
found by `densitometry.openings.find_empty_openings` and reported with the units.

References
----------
Headington J.T. (1984), "Transverse microscopic anatomy of the human scalp", Arch Dermatol 120:449-456
(follicular units of 1-4 terminal hairs sharing one infundibulum).
Rakowska A., Slowinska M., Kowalska-Oledzka E., Olszewska M., Rudnicka L. (2009), "Dermoscopy in
female androgenic alopecia: method standardization and diagnostic criteria", Int J Trichology 1(2):123-130.
Rudnicka L., Olszewska M., Rakowska A. (eds.), "Atlas of Trichoscopy: Dermoscopy in Hair and Scalp
Disease", Springer 2012.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .errors import ParameterError
from .hairs import values_at
from .openings import find_empty_openings
from .results import hair_ends_px

#: Columns of `FollicularUnits.table`, in order.
UNIT_COLUMNS = ("unit_id", "row_px", "col_px", "hair_ids", "size")

#: Keys of `FollicularUnits.size_distribution`.
SIZE_KEYS = (1, 2, 3, "4+")

#: Healthy scalp has fewer single-hair units than this share, per region (Rakowska et al. 2009; Rudnicka
#: et al., Atlas of Trichoscopy). A larger share is flagged.
SINGLE_HAIR_UNIT_NORMS = {"frontal": 0.35, "occipital": 0.30, "temporal": 0.40}

DISCLAIMER = (
    "These are image measurements with reference thresholds from the trichoscopy literature, not a "
    "diagnosis. A flag means a value is beyond a published threshold on this photo; the diagnosis of "
    "pattern hair loss needs a clinician and several sites of the scalp."
)

#: An end within this many pixels (plus half a shaft) of the image edge lies on the field border.
_BORDER_MARGIN_PX = 2.0
#: Hairs of one unit leave their opening within this angle of each other.
_COMPANION_MAX_ANGLE_DEG = 40.0
#: Arc length (µm) over which the direction of a hair leaving its end is measured.
_DIRECTION_REACH_UM = 150.0
#: Darkness (fraction darker than the surrounding skin) that counts as a follicular opening.
_OPENING_DARKNESS = 0.04
#: `_crowded`: an end is in a tangle where hair covers this share of a disc this many shaft widths in
#: radius beyond it (sampled on two rings of this many points and the centre), judged where at least
#: this many of the samples lie inside the photo.
_CROWDED_SHARE = 0.7
_CROWDED_RADIUS_WIDTHS = 1.5
_CROWDED_RAYS = 16
_CROWDED_MIN_SAMPLES = 5
#: Distance (µm) over which the direction of the hair stream is averaged: hair streams turn over
#: millimetres (whorls, partings), far more slowly than the directions of single hairs scatter.
_FLOW_SCALE_UM = 1000.0
#: The hair stream orients a hair only where the shaft leaves within ~60 degrees of it (cos 60 = 0.5)
#: and the oriented hairs nearby agree with each other (their mean direction is at least this long).
_FLOW_MIN_AGREEMENT = 0.5


def _positive(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}")
    return number


def _fraction_threshold(value, name):
    number = _positive(value, name)
    if number > 1:
        raise ParameterError(f"{name} is a share and must be in (0, 1], got {value!r}")
    return number


@dataclass(frozen=True)
class FollicularUnits:
    """Follicular units of one photo.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per unit with its root inside the field, columns `UNIT_COLUMNS`: ``unit_id``,
        ``row_px``/``col_px`` (mean root point of its hairs), ``hair_ids`` (tuple of ``hair_id``),
        ``size`` (number of hairs).
    hair_unit_ids : ndarray of int, shape (n_hairs,)
        Unit of each hair, in the order of ``result.hairs``; -1 for a hair that emerges outside the field.
    root_px : ndarray of float, shape (n_hairs, 2)
        (row, col) of the end taken as the root of each hair (for -1 hairs: the end inside the field).
    root_at_start : ndarray of bool, shape (n_hairs,)
        True where the root is the first point of the hair's centreline (``start_*_px``).
    root_ambiguous : ndarray of bool, shape (n_hairs,)
        Hairs cut by the border at one end with no root cue (companions or hair stream) at the other:
        they may emerge inside the field (and leave it) or outside (and end inside); they are counted
        as rooted outside.
    empty_openings : pandas.DataFrame
        Empty follicular openings found on the skin between the hairs
        (`densitometry.openings.find_empty_openings`): one row per dot, ``kind`` "dark" or "yellow".
        A lower bound: openings under hairs or as pale as the skin are not seen.
    field_area_cm2 : float
        Area of the photo, for the density.
    parameters : dict
        The settings used.
    """

    table: pd.DataFrame
    hair_unit_ids: np.ndarray = field(repr=False)
    root_px: np.ndarray = field(repr=False)
    root_at_start: np.ndarray = field(repr=False)
    root_ambiguous: np.ndarray = field(repr=False)
    empty_openings: pd.DataFrame = field(repr=False)
    field_area_cm2: float
    parameters: dict

    @property
    def unit_count(self) -> int:
        """Units with their opening inside the field (each with at least one counted hair)."""
        return int(len(self.table))

    @property
    def density_per_cm2(self) -> float:
        """Follicular units per cm² of field."""
        return self.unit_count / self.field_area_cm2

    @property
    def hairs_per_unit_mean(self) -> float:
        """Mean hairs per unit (NaN without units)."""
        return float(self.table["size"].mean()) if self.unit_count else math.nan

    @property
    def empty_opening_count(self) -> int:
        """Empty follicular openings found (dark and yellow dots without a hair; a lower bound)."""
        return int(len(self.empty_openings))

    @property
    def yellow_dot_count(self) -> int:
        """Empty openings that are yellow dots (filled with sebum and keratin)."""
        return int(np.sum(self.empty_openings["kind"] == "yellow"))

    @property
    def size_distribution(self) -> dict:
        """Number of units with 1, 2, 3 and 4 or more hairs: ``{1: n1, 2: n2, 3: n3, '4+': n4}``."""
        sizes = self.table["size"].to_numpy(dtype=int)
        return {
            1: int(np.sum(sizes == 1)),
            2: int(np.sum(sizes == 2)),
            3: int(np.sum(sizes == 3)),
            "4+": int(np.sum(sizes >= 4)),
        }

    @property
    def single_hair_unit_fraction(self) -> float:
        """Share of units with exactly one hair (NaN without units)."""
        return float(np.mean(self.table["size"] == 1)) if self.unit_count else math.nan

    @property
    def outside_hair_count(self) -> int:
        """Counted hairs whose root lies outside the field (they belong to no unit here)."""
        return int(np.sum(self.hair_unit_ids < 0))

    @property
    def ambiguous_root_hair_count(self) -> int:
        """Border-cut hairs whose root could be on either side of the border (see ``root_ambiguous``)."""
        return int(np.sum(self.root_ambiguous))

    def summary(self) -> dict:
        """JSON-safe per-photo numbers (NaN becomes None)."""
        sizes = self.size_distribution
        values = {
            "follicular_unit_count": self.unit_count,
            "follicular_unit_density_per_cm2": self.density_per_cm2,
            "hairs_per_unit_mean": self.hairs_per_unit_mean,
            "single_hair_unit_fraction": self.single_hair_unit_fraction,
            "units_1_hair": sizes[1],
            "units_2_hairs": sizes[2],
            "units_3_hairs": sizes[3],
            "units_4plus_hairs": sizes["4+"],
            "hairs_rooted_outside_field": self.outside_hair_count,
            "hairs_root_ambiguous": self.ambiguous_root_hair_count,
            "empty_opening_count": self.empty_opening_count,
            "empty_opening_density_per_cm2": self.empty_opening_count / self.field_area_cm2,
            "yellow_dot_count": self.yellow_dot_count,
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}


def follicular_units(
    result,
    *,
    max_unit_spacing_um: float = 150.0,
    max_hairs_per_unit: int = 4,
    companion_radius_um: float | None = None,
    opening_radius_um: float = 60.0,
    empty_opening_min_contrast: float = 0.15,
) -> FollicularUnits:
    """Find the root of every hair and group hairs into follicular units.

    Parameters
    ----------
    result : AnalysisResult
        A finished analysis (``hairs``, ``centerlines_px``, ``calibration``, ``image_shape_px``; ``image``
        and ``hair_mask`` for the opening cue). Not modified.
    max_unit_spacing_um : float
        Roots closer than this belong to one unit (single linkage). The default, 150 µm, is about the
        diameter of one follicular opening (50-150 µm) and twice the spread of the hairs of a 4-hair unit
        side by side (each ~60-90 µm wide), while neighbouring units lie 0.5-1.5 mm apart at 50-200
        FU/cm² (Headington 1984).
    max_hairs_per_unit : int
        Larger clusters are split (two units that happen to lie close together). Default 4.
    companion_radius_um : float, optional
        Ends of other hairs within this distance of an end make it a likely root. Default: the same as
        ``max_unit_spacing_um``.
    opening_radius_um : float
        Radius of the disc around an end searched for the dark follicular opening (default 60 µm).
    empty_opening_min_contrast : float
        Least contrast of an empty opening against the skin around it (``min_contrast`` of
        `densitometry.openings.find_empty_openings`; default 0.15).

    Returns
    -------
    FollicularUnits

    Raises
    ------
    ParameterError
        A distance is not finite and > 0, ``max_hairs_per_unit`` is not an integer >= 1, or the empty
        opening contrast is not in (0, 1).
    """
    spacing_um = _positive(max_unit_spacing_um, "max_unit_spacing_um")
    companion_um = _positive(
        spacing_um if companion_radius_um is None else companion_radius_um, "companion_radius_um"
    )
    opening_um = _positive(opening_radius_um, "opening_radius_um")
    if isinstance(max_hairs_per_unit, bool) or not isinstance(max_hairs_per_unit, (int, np.integer)):
        raise ParameterError(f"max_hairs_per_unit must be an integer >= 1, got {max_hairs_per_unit!r}")
    if max_hairs_per_unit < 1:
        raise ParameterError(f"max_hairs_per_unit must be an integer >= 1, got {max_hairs_per_unit!r}")
    # Validates its own contrast setting; run after the cheap checks above.
    empty_openings = find_empty_openings(result, min_contrast=empty_opening_min_contrast)
    parameters = {
        "max_unit_spacing_um": spacing_um,
        "max_hairs_per_unit": int(max_hairs_per_unit),
        "companion_radius_um": companion_um,
        "opening_radius_um": opening_um,
        "empty_opening_min_contrast": float(empty_opening_min_contrast),
    }
    calibration = result.calibration
    hairs = result.hairs
    n = len(hairs)
    ends = hair_ends_px(hairs)  # hair, end (0 start, 1 end), (row, col)
    diameters_px = np.array([calibration.px(d) for d in hairs["diameter_um"]], dtype=float).reshape(n)

    inward_px = _points_inward(result.centerlines_px, n, calibration.px(_DIRECTION_REACH_UM))
    offsets = inward_px - ends
    lengths = np.linalg.norm(offsets, axis=-1, keepdims=True)
    directions = np.divide(offsets, lengths, out=np.zeros_like(offsets), where=lengths > 0)
    companions = _companions(ends, directions, inward_px, calibration.px(companion_um))
    # Hidden ends (under a crossing hair, or in a tangle) are treated as border ends, unless other
    # hairs leave there side by side: the hairs of a unit cover each other's roots.
    mask = result.hair_mask
    hidden = (
        _runs_on(mask, ends, directions, diameters_px) | _crowded(mask, ends, directions, diameters_px)
    ) & (companions == 0)
    on_border = _on_border(ends, diameters_px, result.image_shape_px, result.field_mask)
    on_border |= hidden
    darkness = _opening_darkness(result, ends, calibration.px(opening_um))
    has_opening = darkness >= _OPENING_DARKNESS

    # Score each end: a border end can never be a root; then companions, then the opening.
    score = np.where(on_border, -1e6, 0.0) + 2.0 * np.minimum(companions, 3) + 1.0 * has_opening + darkness
    root_end = np.argmax(score, axis=1) if n else np.zeros(0, dtype=int)
    rows_n = np.arange(n)
    root_cue = companions[rows_n, root_end] > 0
    # Hairs oriented by their companions show the local hair stream; a hair without companions takes
    # the root end whose shaft leaves along that stream (flow cue, stronger than the opening).
    oriented = root_cue & (companions[rows_n, 1 - root_end] == 0) & ~on_border[rows_n, root_end]
    flow = _local_flow(ends, directions, root_end, oriented, calibration.px(_FLOW_SCALE_UM))
    along = np.einsum("nek,nk->ne", directions, flow)
    follows = np.where(on_border, -np.inf, along)
    by_flow = ~root_cue & (np.abs(along).max(axis=1) >= _FLOW_MIN_AGREEMENT) if n else root_cue
    flow_end = np.argmax(follows, axis=1) if n else root_end
    root_end = np.where(by_flow, flow_end, root_end)
    # A hair cut by the border whose inner end leaves against the stream is rooted outside.
    flow_outside = by_flow & (follows[rows_n, root_end] <= 0)
    root_at_start = root_end == 0
    root_px = ends[rows_n, root_end] if n else np.zeros((0, 2))
    root_border = on_border[rows_n, root_end] if n else np.zeros(0, dtype=bool)
    other_border = on_border[rows_n, 1 - root_end] if n else np.zeros(0, dtype=bool)
    # Rooted outside: cut by the border at both ends, at one end with the inner end leaving against the
    # hair stream, or at one end with no cue at all at the other (ambiguous).
    ambiguous = ~root_border & other_border & ~root_cue & ~by_flow
    outside = root_border | ambiguous | flow_outside

    inside = np.flatnonzero(~outside)
    labels = _group(root_px[inside], calibration.px(spacing_um), int(max_hairs_per_unit))
    hair_unit_ids = np.full(n, -1, dtype=int)
    rows = []
    hair_ids = hairs["hair_id"].to_numpy() if n else np.zeros(0, dtype=int)
    # Units numbered in reading order of their root point (stable across runs).
    order = []
    for label in np.unique(labels):
        members = inside[labels == label]
        centre = root_px[members].mean(axis=0)
        order.append((round(float(centre[0]), 6), round(float(centre[1]), 6), members))
    for unit_id, (row, col, members) in enumerate(sorted(order, key=lambda o: (o[0], o[1]))):
        hair_unit_ids[members] = unit_id
        rows.append(
            {
                "unit_id": unit_id,
                "row_px": row,
                "col_px": col,
                "hair_ids": tuple(int(hair_ids[m]) for m in members),
                "size": int(len(members)),
            }
        )
    table = pd.DataFrame(rows, columns=list(UNIT_COLUMNS)).astype({"unit_id": int, "size": int})
    for array in (hair_unit_ids, root_px, root_at_start, ambiguous):
        array.setflags(write=False)
    return FollicularUnits(
        table=table,
        hair_unit_ids=hair_unit_ids,
        root_px=root_px,
        root_at_start=root_at_start,
        root_ambiguous=ambiguous,
        empty_openings=empty_openings,
        field_area_cm2=float(result.field_area_cm2),
        parameters=parameters,
    )


def _local_flow(ends, directions, root_end, oriented, scale_px):
    """Mean leaving direction of the oriented hairs around each hair, shape (n, 2).

    Each oriented hair contributes the unit vector along which it leaves its root, weighted by a
    Gaussian of its root's distance (``scale_px``) to the mid-point of the hair's ends. The result is
    the weighted mean vector: its length is 1 where the oriented hairs nearby all point the same way
    and near 0 where they disagree or are absent.
    """
    n = len(ends)
    flow = np.zeros((n, 2))
    if not n or not oriented.any():
        return flow
    index = np.flatnonzero(oriented)
    roots = ends[index, root_end[index]]
    vectors = directions[index, root_end[index]]
    centres = ends.mean(axis=1)
    weights = np.exp(-0.5 * (np.linalg.norm(centres[:, None] - roots[None], axis=-1) / scale_px) ** 2)
    weights[index, np.arange(len(index))] = 0.0  # a hair does not orient itself
    total = weights.sum(axis=1)
    return np.divide(weights @ vectors, total[:, None], out=flow, where=total[:, None] > 1e-6)


def _on_border(ends, diameters_px, shape_px, field_mask=None):
    """Ends on the photo's border, or on the edge of its field of view (where there is one), (n, 2)."""
    height, width = shape_px
    margin = _BORDER_MARGIN_PX + 0.5 * diameters_px[:, None]
    rows, cols = ends[..., 0], ends[..., 1]
    border = (
        (rows <= margin) | (cols <= margin) | (rows >= height - 1 - margin) | (cols >= width - 1 - margin)
    )
    if field_mask is not None and ends.size:
        inside = np.asarray(field_mask, dtype=np.uint8)
        distance = cv2.distanceTransform(inside, cv2.DIST_L2, 3)  # to the nearest pixel outside
        border |= values_at(distance, ends) <= margin
    return border


def _runs_on(mask, ends, directions, diameters_px):
    """Ends where the shaft runs on under another hair, shape (n, 2).

    Beyond a root (or a free tip) lies skin. Where the hair mask continues straight past an end, from
    one to two shaft widths on (a traced centreline stops about half a width short of a real end), the
    tracing stopped where another hair crosses over this one: that end is hidden, like an end on the
    field border, and is never taken for a root.
    """
    if mask is None or not len(ends):
        return np.zeros(ends.shape[:2], dtype=bool)
    steps = np.linspace(1.0, 2.0, 5)
    reach = steps[None, None, :] * np.maximum(diameters_px, 2.0)[:, None, None] + 2.0
    covered, _ = _mask_at(mask, ends[..., None, :] - directions[..., None, :] * reach[..., None])
    moving = np.linalg.norm(directions, axis=-1) > 0
    return (covered.mean(axis=-1) >= 0.6) & moving


def _crowded(mask, ends, directions, diameters_px):
    """Ends lying in a tangle of other hairs, shape (n, 2).

    A root has skin around it, but for the other hairs of its unit (its companions). Where the tracing
    of a long hair stops inside a tangle, at a crossing whose other shafts it could not be paired with,
    hair covers most of the skin beyond the end: at least `_CROWDED_SHARE` of a disc
    `_CROWDED_RADIUS_WIDTHS` shaft widths in radius, centred one width beyond the end (of the part of
    the disc inside the photo, given `_CROWDED_MIN_SAMPLES` samples there). One unrelated hair
    crossing the disc through its middle covers about 40 % of it, two about 80 %. Such an end is no
    more a root than an end under a crossing hair (`_runs_on`). At half the disc, true roots in dense
    hair were lost too (grouping the true hairs of the phantoms got worse); at 70 % not.
    """
    if mask is None or not len(ends):
        return np.zeros(ends.shape[:2], dtype=bool)
    widths = np.maximum(diameters_px, 2.0)[:, None, None]
    centres = ends - directions * widths  # (n, 2, 2): one width beyond each end
    angles = np.linspace(0.0, 2.0 * np.pi, _CROWDED_RAYS, endpoint=False)
    unit = np.stack([np.sin(angles), np.cos(angles)], axis=1)  # (rays, 2)
    radii = np.concatenate([[0.0], np.full(len(angles), 0.5), np.full(len(angles), 1.0)])
    offsets = radii[:, None] * np.concatenate([[[0.0, 0.0]], unit, unit])  # (samples, 2)
    covered, inside = _mask_at(
        mask, centres[..., None, :] + _CROWDED_RADIUS_WIDTHS * widths[..., None] * offsets
    )
    share = covered.sum(axis=-1) / np.maximum(inside.sum(axis=-1), 1)
    return (share >= _CROWDED_SHARE) & (inside.sum(axis=-1) >= _CROWDED_MIN_SAMPLES)


def _mask_at(mask, points_rc):
    """Whether the hair mask covers each (row, col) point (any leading shape), and whether the point
    lies in the photo at all (one outside is not covered)."""
    height, width = mask.shape
    inside = (
        (points_rc[..., 0] >= 0)
        & (points_rc[..., 0] < height)
        & (points_rc[..., 1] >= 0)
        & (points_rc[..., 1] < width)
    )
    return values_at(np.asarray(mask, dtype=bool), points_rc) & inside, inside


def _points_inward(centerlines, n, reach_px):
    """Point of each hair ``reach_px`` of arc in from each of its ends (or its other end), shape (n, 2, 2)."""
    points = np.zeros((n, 2, 2))
    for i, coords in enumerate(centerlines):
        coords = np.asarray(coords, dtype=float)
        if not len(coords):
            continue
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(coords, axis=0), axis=1))])
        for e, (path, along) in enumerate(((coords, arc), (coords[::-1], arc[-1] - arc[::-1]))):
            k = min(int(np.searchsorted(along, min(reach_px, along[-1]))), len(path) - 1)
            points[i, e] = path[k]
    return points


def _companions(ends, directions, inward_px, radius_px):
    """Number of other hairs leaving each end's neighbourhood with it as from one opening, shape (n, 2).

    Hairs of one unit leave the opening side by side and nearly parallel, then fan out (they diverge
    by a few to ~20 degrees). Another hair's end is a companion if it lies within ``radius_px``, both
    hairs run away from their ends within `_COMPANION_MAX_ANGLE_DEG` of each other, and they do not
    draw together across their common direction going in (``inward_px``: a point of each hair a
    little way in from each end). The tips of one unit's hairs clipped to similar lengths also lie
    side by side, but going in from them the hairs converge towards their shared opening; the tips of
    unrelated hairs that happen to lie close point anywhere.
    """
    n = len(ends)
    counts = np.zeros((n, 2), dtype=int)
    if n < 2:
        return counts
    points = ends.reshape(-1, 2)
    inward = inward_px.reshape(-1, 2)
    vectors = directions.reshape(-1, 2)
    owner = np.repeat(np.arange(n), 2)
    cos_limit = math.cos(math.radians(_COMPANION_MAX_ANGLE_DEG))
    tree = cKDTree(points)
    for index, neighbours in enumerate(tree.query_ball_point(points, radius_px)):
        others = set()
        for j in neighbours:
            if owner[j] == owner[index] or float(vectors[index] @ vectors[j]) < cos_limit:
                continue
            mean = vectors[index] + vectors[j]
            across = np.array([-mean[1], mean[0]]) / max(float(np.linalg.norm(mean)), 1e-9)
            apart_at_ends = abs(float((points[index] - points[j]) @ across))
            apart_inward = abs(float((inward[index] - inward[j]) @ across))
            if apart_inward >= apart_at_ends:
                others.add(owner[j])
        counts[owner[index], index % 2] = len(others)
    return counts


def _opening_darkness(result, ends, radius_px):
    """How much darker than the skin around it the skin (not hair) near each end is, shape (n, 2).

    A fixed relative measure (1 - disc / ring on the green channel), so it is comparable across photos.
    """
    n = len(ends)
    darkness = np.zeros((n, 2))
    image = getattr(result, "image", None)
    if n == 0 or image is None:
        return darkness
    grey = np.asarray(image, dtype=float)
    if grey.ndim == 3:
        grey = grey[..., 1]  # the green channel shows both brown and pink (haemoglobin) openings
    mask = np.asarray(getattr(result, "hair_mask", np.zeros(grey.shape, bool)), dtype=bool)
    height, width = grey.shape
    radius = max(2.0, radius_px)
    outer = 2.5 * radius
    reach = int(math.ceil(outer))
    offsets = np.arange(-reach, reach + 1)
    dr, dc = np.meshgrid(offsets, offsets, indexing="ij")
    dist = np.hypot(dr, dc)
    disc, ring = dist <= radius, (dist > 1.5 * radius) & (dist <= outer)
    for i in range(n):
        for e in range(2):
            r0, c0 = (int(round(v)) for v in ends[i, e])
            rr, cc = r0 + dr, c0 + dc
            valid = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
            rr_v, cc_v = np.clip(rr, 0, height - 1), np.clip(cc, 0, width - 1)
            skin = valid & ~mask[rr_v, cc_v]
            inner, around = skin & disc, skin & ring
            if inner.sum() < 4 or around.sum() < 8:
                continue
            ring_level = float(np.median(grey[rr_v[around], cc_v[around]]))
            if ring_level <= 0:
                continue
            darkness[i, e] = 1.0 - float(np.mean(grey[rr_v[inner], cc_v[inner]])) / ring_level
    return darkness


def _group(points, spacing_px, cap):
    """Single-linkage labels of ``points`` (m, 2), clusters above ``cap`` split by complete linkage."""
    m = len(points)
    if m == 0:
        return np.zeros(0, dtype=int)
    pairs = cKDTree(points).query_pairs(spacing_px, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(int)
    next_label = labels.max() + 1
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) <= cap:
            continue
        tree = linkage(points[members], method="complete")
        for groups in range(math.ceil(len(members) / cap), len(members) + 1):
            split = fcluster(tree, groups, criterion="maxclust")
            if np.bincount(split).max() <= cap:
                break
        for sub in np.unique(split)[1:]:
            labels[members[split == sub]] = next_label
            next_label += 1
    return labels


@dataclass(frozen=True)
class Indicators:
    """Trichoscopic indicators of pattern hair loss measured on one photo, with flags. Not a diagnosis.

    Attributes
    ----------
    region : str or None
        Scalp region the photo was taken from (``"frontal"``, ``"occipital"``, ``"temporal"``) or None.
    hair_count : int
    thin_hair_fraction : float
        Share of counted hairs thinner than ``thin_max_um``.
    thin_hair_flag : bool
        ``thin_hair_fraction > thin_fraction_limit``.
    heterogeneity_fraction : float
        Share of counted hairs thinner than ``heterogeneity_below_um`` (not terminal).
    heterogeneity_flag : bool
        ``heterogeneity_fraction > heterogeneity_limit``.
    diameter_cv : float
        Coefficient of variation of the shaft diameters (standard deviation / mean), for reference.
    single_hair_unit_fraction : float
        Share of follicular units with one hair.
    single_hair_unit_norm : float or None
        Upper share in healthy scalp for ``region``; None without a region.
    single_hair_unit_flag : bool or None
        ``single_hair_unit_fraction > single_hair_unit_norm``; None without a region.
    thresholds : dict
        The thresholds used.
    disclaimer : str
    """

    region: str | None
    hair_count: int
    thin_hair_fraction: float
    thin_hair_flag: bool
    heterogeneity_fraction: float
    heterogeneity_flag: bool
    diameter_cv: float
    single_hair_unit_fraction: float
    single_hair_unit_norm: float | None
    single_hair_unit_flag: bool | None
    thresholds: dict
    disclaimer: str = DISCLAIMER

    @property
    def flags(self) -> tuple:
        """Names of the indicators that are flagged."""
        names = ("thin_hair_flag", "heterogeneity_flag", "single_hair_unit_flag")
        return tuple(name for name in names if getattr(self, name))

    def to_dict(self) -> dict:
        """JSON-safe dict (NaN becomes None), including the thresholds and the disclaimer."""
        values = {
            "region": self.region,
            "hair_count": self.hair_count,
            "thin_hair_fraction": self.thin_hair_fraction,
            "thin_hair_flag": self.thin_hair_flag,
            "heterogeneity_fraction": self.heterogeneity_fraction,
            "heterogeneity_flag": self.heterogeneity_flag,
            "diameter_cv": self.diameter_cv,
            "single_hair_unit_fraction": self.single_hair_unit_fraction,
            "single_hair_unit_norm": self.single_hair_unit_norm,
            "single_hair_unit_flag": self.single_hair_unit_flag,
            "flags": list(self.flags),
            "thresholds": dict(self.thresholds),
            "disclaimer": self.disclaimer,
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}


def pattern_indicators(
    result,
    units: FollicularUnits,
    *,
    region: str | None = None,
    thin_max_um: float = 30.0,
    thin_fraction_limit: float = 0.10,
    heterogeneity_below_um: float = 60.0,
    heterogeneity_limit: float = 0.20,
    single_hair_unit_norms: dict | None = None,
) -> Indicators:
    """Indicators of androgenetic alopecia from the shaft diameters and follicular units of one photo.

    These are measurements compared with published reference thresholds, **not a diagnosis**: the
    trichoscopic criteria compare several scalp regions (frontal against occipital) and include signs
    (yellow dots, perifollicular discolouration) that are not measured here.

    Parameters
    ----------
    result : AnalysisResult
        Not modified.
    units : FollicularUnits
        From `follicular_units` on the same result.
    region : {"frontal", "occipital", "temporal"} or None
        Where the photo was taken; selects the single-hair-unit norm. None: no single-unit flag.
    thin_max_um : float
        Hairs thinner than this are thin (default 30 µm = 0.03 mm, Rakowska et al. 2009).
    thin_fraction_limit : float
        Flag when more than this share of hairs is thin (default 0.10: "more than 10% of thin hairs"
        is a major criterion of Rakowska et al. 2009).
    heterogeneity_below_um : float
        Hairs thinner than this are not terminal (default 60 µm, the terminal threshold of
        `AnalysisParameters`); their share measures hair shaft thickness heterogeneity.
    heterogeneity_limit : float
        Flag when more than this share of hairs is not terminal (default 0.20: hair diameter diversity
        above 20%, Rudnicka et al., Atlas of Trichoscopy).
    single_hair_unit_norms : dict, optional
        Upper share of single-hair units in healthy scalp per region (default `SINGLE_HAIR_UNIT_NORMS`:
        frontal 0.35, occipital 0.30, temporal 0.40).

    Returns
    -------
    Indicators

    Raises
    ------
    ParameterError
        A threshold out of range, or an unknown region.

    References
    ----------
    Rakowska A. et al. (2009), "Dermoscopy in female androgenic alopecia: method standardization and
    diagnostic criteria", Int J Trichology 1(2):123-130.
    Rudnicka L., Olszewska M., Rakowska A. (eds.), "Atlas of Trichoscopy", Springer 2012.
    """
    thin_um = _positive(thin_max_um, "thin_max_um")
    thin_limit = _fraction_threshold(thin_fraction_limit, "thin_fraction_limit")
    hetero_um = _positive(heterogeneity_below_um, "heterogeneity_below_um")
    hetero_limit = _fraction_threshold(heterogeneity_limit, "heterogeneity_limit")
    norms = dict(SINGLE_HAIR_UNIT_NORMS if single_hair_unit_norms is None else single_hair_unit_norms)
    for name, value in norms.items():
        norms[name] = _fraction_threshold(value, f"single_hair_unit_norms[{name!r}]")
    if region is not None and region not in norms:
        raise ParameterError(f"region must be one of {sorted(norms)} or None, got {region!r}")
    if not isinstance(units, FollicularUnits):
        raise ParameterError(f"units must be a FollicularUnits, got {type(units).__name__}")

    diameters = result.hairs["diameter_um"].to_numpy(dtype=float)
    diameters = diameters[np.isfinite(diameters)]
    count = int(len(diameters))
    thin = float(np.mean(diameters < thin_um)) if count else math.nan
    hetero = float(np.mean(diameters < hetero_um)) if count else math.nan
    cv = float(diameters.std() / diameters.mean()) if count and diameters.mean() > 0 else math.nan
    single = units.single_hair_unit_fraction
    norm = norms[region] if region is not None else None
    single_flag = None if norm is None or not math.isfinite(single) else bool(single > norm)
    return Indicators(
        region=region,
        hair_count=count,
        thin_hair_fraction=thin,
        thin_hair_flag=bool(count and thin > thin_limit),
        heterogeneity_fraction=hetero,
        heterogeneity_flag=bool(count and hetero > hetero_limit),
        diameter_cv=cv,
        single_hair_unit_fraction=single,
        single_hair_unit_norm=norm,
        single_hair_unit_flag=single_flag,
        thresholds={
            "thin_max_um": thin_um,
            "thin_fraction_limit": thin_limit,
            "heterogeneity_below_um": hetero_um,
            "heterogeneity_limit": hetero_limit,
            "single_hair_unit_norms": norms,
        },
    )
