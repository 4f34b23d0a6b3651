"""Individual hairs: resolve skeleton junctions into separate shafts.

Two crossing hairs make an X in the skeleton, two hairs of one follicular unit that touch for a stretch
make a Y, and a shallow crossing makes two Y junctions joined by a shared segment. Counting connected
skeleton pieces counts those as one hair. Here every junction is resolved by direction continuity: the
branches meeting at a junction are paired so that each pair continues straight on (greedy, best pair
first, turning by less than ``max_turn_deg``); a branch left unpaired either ends there (a hair that
stops against another) or, when it continues straight into a branch already taken, shares that branch
with the other hair (touching hairs). The two forks at the ends of a shallow crossing's shared segment
are resolved as one junction, so each hair is continued by the prong on its own line. Finally, pieces
of one shaft that the pairing left facing each other across a crossing are joined (`join_collinear`).
Two hairs that touch and end at different points leave no junction at all, only a band whose width
steps from one hair to two (`touching_hairs`).

The same good-continuation idea is used to untangle crossing fibres and neurites in other tracing
tools; this implementation is our own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.spatial import cKDTree

from .compiled import jit
from .skeleton import JUNCTION_DEGREE

#: Longest shared segment of a shallow crossing, in shaft widths.
_SHARED_MAX_WIDTHS = 8.0
#: Two traced pieces facing each other across a gap are one shaft if they turn less than this ...
_JOIN_TURN_DEG = 20.0
#: ... and the gap is at most this many shaft widths (+ 6 px): a crossing of several hairs.
_JOIN_GAP_WIDTHS = 5.0
#: The stretch of a piece's end, in shaft widths from the end, whose direction is the end's.
_JOIN_DIRECTION_WIDTHS = (1.5, 4.0)
#: Where a piece's last width veers (a hair lying over it cut its mask askew), two pieces are one
#: shaft when their axes, taken at the start of that stretch, lie within this many shaft widths of
#: each other ...
_JOIN_AXIS_OFFSET_WIDTHS = 0.75
#: ... and a gap up to this many shaft widths (+ 2 px) may run off the mask: the other hair's width,
#: where it hides the shaft (a white hair lying over a dark one is neither bright nor dark there).
_JOIN_BARE_GAP_WIDTHS = 1.5
#: A traced band holds touching hairs where its width steps up along its length by at least this
#: factor (90th over 10th percentile of the width, smoothed over one width; `touching_hairs`) ...
_STEP_WIDTH_RATIO = 1.45
#: ... and its narrow stretch, at one end of the band, and its wide stretch are each at least this many
#: narrow widths long (a speck or a crossing changes the width over about one width).
_STEP_PLATEAU_WIDTHS = 3.0


@dataclass(frozen=True)
class TracedHair:
    """One hair as an ordered centreline.

    Attributes
    ----------
    coords_px : ndarray of float, shape (N, 2)
        (row, col) centreline points in order.
    length_px : float
        Arc length in pixels.
    branch_ids : tuple of int
        Skeleton branches the hair runs through, in order.
    junctions_px : ndarray of float, shape (K, 2)
        Centres of the junctions the hair passes or ends at (diameters are not measured there).
    """

    coords_px: np.ndarray
    length_px: float
    branch_ids: tuple
    junctions_px: np.ndarray


class _UnionFind:
    def __init__(self, size):
        self.parent = list(range(size))

    def find(self, item):
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def values_at(image, points_rc):
    """Values of ``image`` at the pixels nearest to (row, col) points (any leading shape), clipped to it."""
    points_rc = np.asarray(points_rc)
    rows = np.clip(np.rint(points_rc[..., 0]).astype(int), 0, image.shape[0] - 1)
    cols = np.clip(np.rint(points_rc[..., 1]).astype(int), 0, image.shape[1] - 1)
    return image[rows, cols]


def group_medians(values, groups, count):
    """Per-group medians, bit-identical to ``np.median`` of each group.

    Parameters
    ----------
    values : ndarray of float, shape (N,)
    groups : ndarray of int, shape (N,)
        Group of each value, in ``range(count)``.
    count : int

    Returns
    -------
    ndarray, shape (count,)
        NaN for empty groups, and for groups holding a NaN (as numpy's functions give).
    """
    sizes = np.bincount(groups, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if len(groups) and np.all(groups[1:] >= groups[:-1]):
        # Each group's values already lie together (samples taken hair after hair): the middle of each
        # is selected on its own, a fraction of the cost of sorting all of them by (group, value).
        result = np.full(count, np.nan, dtype=values.dtype)
        jit(_contiguous_medians)(np.ascontiguousarray(values), starts, sizes, values.dtype.type(2), result)
        return result
    order = np.lexsort((values, groups))  # by group, then by value (NaNs last)
    ordered = values[order]
    filled = sizes > 0
    result = np.full(count, np.nan, dtype=values.dtype)
    lower = ordered[starts[filled] + (sizes[filled] - 1) // 2]
    upper = ordered[starts[filled] + sizes[filled] // 2]
    middle = (lower + upper) / values.dtype.type(2)  # as np.median: the mean of the two middle values
    odd = sizes[filled] % 2 == 1
    middle[odd] = lower[odd]
    middle[np.isnan(ordered[starts[filled] + sizes[filled] - 1])] = np.nan
    result[filled] = middle
    return result


def _contiguous_medians(values, starts, sizes, two, out):
    """`group_medians` of groups that lie together in ``values`` (``starts``, ``sizes``), into ``out``
    (left as it is for empty groups and groups holding a NaN)."""
    for group in range(len(sizes)):
        size = sizes[group]
        if size == 0:
            continue
        members = values[starts[group] : starts[group] + size]
        if np.isnan(members).any():
            continue
        # Selection, not sorting: the middle value(s) alone, the same values at a third of the cost.
        middle = size // 2
        parted = np.partition(members, middle)
        upper = parted[middle]
        out[group] = upper if size % 2 == 1 else (parted[:middle].max() + upper) / two


def _widths_at(width_px_map, points_rc):
    """Shaft width (at least 2 px) at the pixels nearest to (row, col) points, as float64."""
    return np.maximum(values_at(width_px_map, points_rc).astype(float), 2.0)


class _Branches:
    """The branch list as arrays, indexed [branch] or [branch, end] (end 0: start, 1: end)."""

    def __init__(self, branches, width_px_map):
        self.sizes = np.array([len(branch.coords_px) for branch in branches])
        self.coords = np.concatenate([branch.coords_px for branch in branches])
        self.offsets = np.cumsum(self.sizes) - self.sizes
        self.nodes = np.array([(branch.start_node, branch.end_node) for branch in branches])
        self.degrees = np.array([(branch.start_degree, branch.end_degree) for branch in branches])
        self.lengths = np.array([branch.length_px for branch in branches])
        last = self.offsets + self.sizes - 1
        self.end_points = self.coords[np.stack([self.offsets, last], axis=1)]
        self.middle_widths = _widths_at(width_px_map, self.coords[self.offsets + self.sizes // 2])
        self.end_widths = _widths_at(width_px_map, self.end_points)
        self.directions = self._outgoing_directions()
        # A spur: a stub from a junction to a free end, shorter than the shaft is wide (skeletonisation
        # noise on the side of a shaft, or the fork a blunt shaft end leaves).
        junction_ends = self.degrees >= JUNCTION_DEGREE
        base_widths = np.where(junction_ends[:, 0], self.end_widths[:, 0], self.end_widths[:, 1])
        self.spurs = (junction_ends[:, 0] != junction_ends[:, 1]) & (
            self.lengths < np.maximum(3.0, 1.5 * base_widths)
        )

    def _outgoing_directions(self):
        """Unit direction of each branch leaving its node at each end, shape (B, 2, 2).

        Taken between about 0.75 and 3.75 shaft widths (at least 8 px) from the node, where the
        junction no longer bends the skeleton; a branch shorter than that uses its end-to-end chord.
        All ends at once: each end's first points, walking inwards, one after the other; their
        step lengths are summed in one zero-padded column per end, so every end's cumulative arc length
        is summed exactly as for that end alone.
        """
        near = (0.75 * self.end_widths).ravel()
        far = near + np.maximum(3.0 * self.end_widths.ravel(), 8.0)
        # Pixel steps are at least 1 px long, so the stretch up to ``far`` lies within these points.
        counts = np.minimum(np.repeat(self.sizes, 2), far.astype(int) + 2)
        end = np.repeat(np.arange(counts.size), counts)
        firsts = np.cumsum(counts) - counts  # of each end's points in ``points``
        steps = np.arange(len(end)) - firsts[end]
        outer = np.stack([self.offsets, self.offsets + self.sizes - 1], axis=1).ravel()
        points = self.coords[outer[end] + np.where(end % 2 == 0, steps, -steps)]
        gaps = np.diff(points, axis=0)
        lengths = np.zeros((counts.max(), counts.size))  # [step, end]: one column per end
        lengths[steps[1:], end[1:]] = np.hypot(gaps[:, 0], gaps[:, 1])
        lengths[0] = 0.0  # the first point of each end: no step (the gap from the previous end)
        arc = np.cumsum(lengths, axis=0)
        total = arc[-1]
        start = np.sum(arc <= near, axis=0) - 1
        stop = np.minimum(counts - 1, np.sum(arc < np.minimum(far, total), axis=0))
        chord = total < near + 2.0
        start[chord], stop[chord] = 0, counts[chord] - 1
        vectors = (points[firsts + stop] - points[firsts + start]).reshape(-1, 2, 2)
        norms = np.hypot(vectors[..., 0], vectors[..., 1])
        directions = np.zeros_like(vectors)
        moving = norms > 0
        directions[moving] = vectors[moving] / norms[moving][:, None]
        return directions


def trace_hairs(branches, width_px_map, *, max_turn_deg=35.0, askew_cuts=True) -> list[TracedHair]:
    """Resolve junctions and return one centreline per hair.

    Parameters
    ----------
    branches : list of Branch
        From `densitometry.skeleton.skeleton_branches`.
    width_px_map : ndarray of float, shape (H, W)
        Local shaft width in pixels (e.g. twice the mask's distance transform).
    max_turn_deg : float
        Largest change of direction accepted when a hair is continued across a junction.
    askew_cuts : bool
        Whether the mask is of one polarity, so that hairs of the other lying over a shaft cut it
        (`join_collinear`).

    Returns
    -------
    list of TracedHair
    """
    if not branches:
        return []
    cos_limit = np.cos(np.deg2rad(max_turn_deg))
    cos_fold = np.cos(np.deg2rad(min(90.0, 2.0 * max_turn_deg)))
    arrays = _Branches(branches, width_px_map)
    direction = arrays.directions

    # 1. Group junction nodes that lie within about a shaft width of each other.
    end_cluster_ids, shared_segments = _junction_clusters(arrays, cos_limit)

    # 2. Drop branches inside a junction and short spurs (skeleton artefacts of thick shafts).
    start, end = end_cluster_ids.T
    inside = (
        (start >= 0) & (start == end) & ((arrays.lengths <= 3.0 * arrays.middle_widths) | shared_segments)
    )
    kept = np.flatnonzero(~inside & ~arrays.spurs).tolist()

    # 3. Branch ends meeting at each junction cluster, with their outgoing directions.
    cluster_ends: dict[int, list] = {}
    end_cluster = {}
    for index in kept:
        for end, cluster in enumerate(end_cluster_ids[index].tolist()):
            if cluster >= 0:
                cluster_ends.setdefault(cluster, []).append((index, end))
                end_cluster[(index, end)] = cluster
    # Each cluster's centre: the mean of its ends (whole pixels, so the sums are exact, as np.mean's).
    kept_clusters = end_cluster_ids[kept]
    at_junction = kept_clusters >= 0
    end_points = arrays.end_points[kept][at_junction]
    counts = np.bincount(kept_clusters[at_junction], minlength=1)
    sums = [np.bincount(kept_clusters[at_junction], end_points[:, k], minlength=1) for k in (0, 1)]
    with np.errstate(invalid="ignore"):  # clusters without kept ends are never used
        cluster_centre = np.stack(sums, axis=1) / counts[:, None]

    # 4. Pair ends straight through each junction; link leftovers that continue into a taken branch.
    partner = {}
    shared_link = {}
    for ends in cluster_ends.values():
        if len(ends) == 2:
            # Two ends left (the rest were spurs): one shaft bent at a skeleton artefact, unless they
            # fold back like the two hairs of a follicular unit leaving one opening in a V.
            if -float(direction[ends[0]] @ direction[ends[1]]) >= cos_fold and ends[0][0] != ends[1][0]:
                partner[ends[0]], partner[ends[1]] = ends[1], ends[0]
            continue
        candidates = []
        for a in range(len(ends)):
            for b in range(a + 1, len(ends)):
                straightness = -float(direction[ends[a]] @ direction[ends[b]])
                if straightness >= cos_limit and ends[a][0] != ends[b][0]:
                    candidates.append((straightness, ends[a], ends[b]))
        for _, end_a, end_b in sorted(candidates, key=lambda c: -c[0]):
            if end_a not in partner and end_b not in partner:
                partner[end_a], partner[end_b] = end_b, end_a
        for end in ends:
            if end in partner:
                continue
            options = [
                (-float(direction[end] @ direction[other]), other)
                for other in ends
                if other in partner and other[0] != end[0]
            ]
            if options:
                straightness, other = max(options, key=lambda o: o[0])
                if straightness >= cos_limit:
                    shared_link[end] = other

    # 5. Walk hairs from every terminal end.
    shared_into: dict[tuple, list] = {}  # the leftover ends linked to each taken end, in link order
    for end, target in shared_link.items():
        shared_into.setdefault(target, []).append(end)

    def walk(first_branch, first_end):
        order, entries, junctions = [], [], []
        branch, end, via_shared = first_branch, first_end, False
        seen = set()
        while (branch, end) not in seen:
            seen.add((branch, end))
            order.append(branch)
            entries.append(end)
            exit_end = (branch, 1 - end)
            cluster = end_cluster.get(exit_end)
            if cluster is None:
                break
            junctions.append(cluster_centre[cluster])
            if via_shared:
                # Leaving a segment shared with another hair: continue into the leftover branch
                # that lines up with it, or stop where the shared stretch ends.
                waiting = [e for e in shared_into.get(exit_end, ()) if e not in seen]
                follower, via_shared = (waiting[0] if waiting else None), False
            elif exit_end in shared_link:
                follower, via_shared = shared_link[exit_end], True
            else:
                follower = partner.get(exit_end)
            if follower is None:
                break
            branch, end = follower
        return order, entries, junctions

    walks, done = [], set()
    visited_branches = set()

    def add_hair(order, entries, junctions, terminals):
        key = frozenset(terminals)
        if key not in done:
            done.add(key)
            visited_branches.update(order)
            walks.append((order, entries, junctions))

    terminals = []
    for index in kept:
        for end in (0, 1):
            if (index, end) not in partner:
                terminals.append((index, end))
    for index, end in terminals:
        if (index, end) in shared_link:
            continue  # a shared leftover is reached from its hair's other end
        order, entries, junctions = walk(index, end)
        # The far terminal of this walk: the exit end of the last branch.
        add_hair(order, entries, junctions, [(index, end), (order[-1], 1 - entries[-1])])
    for index in kept:  # closed loops of paired branches
        if index not in visited_branches:
            order, entries, junctions = walk(index, 0)
            add_hair(order, entries, junctions, [(index, 0), ("loop", min(order))])
    return join_collinear(_traced_hairs(arrays, walks), width_px_map, askew_cuts=askew_cuts)


def _traced_hairs(arrays, walks):
    """One `TracedHair` per walk (branch order, entry ends, junction centres), all coordinates at once."""
    if not walks:
        return []
    pieces = np.array(
        [(b, entry) for order, entries, _ in walks for b, entry in zip(order, entries, strict=True)]
    )
    branch, entry = pieces.T
    piece_sizes = arrays.sizes[branch]
    piece = np.repeat(np.arange(len(pieces)), piece_sizes)
    step = np.arange(len(piece)) - (np.cumsum(piece_sizes) - piece_sizes)[piece]
    # A branch entered at its end (1) is walked backwards.
    step = np.where(entry[piece] == 1, piece_sizes[piece] - 1 - step, step)
    coords = arrays.coords[arrays.offsets[branch][piece] + step]
    sizes = np.add.reduceat(piece_sizes, np.cumsum([0] + [len(order) for order, _, _ in walks[:-1]]))
    gaps = np.diff(coords, axis=0)
    steps = np.sqrt(gaps[:, 0] ** 2 + gaps[:, 1] ** 2)  # as np.linalg.norm(..., axis=1)
    stops = np.cumsum(sizes)
    return [
        TracedHair(
            hair_coords,
            float(steps[stop - size : stop - 1].sum()),
            tuple(order),
            np.array(junctions, dtype=float).reshape(-1, 2),
        )
        for hair_coords, size, stop, (order, _, junctions) in zip(
            np.split(coords, stops[:-1]), sizes.tolist(), stops.tolist(), walks, strict=True
        )
    ]


def _junction_clusters(arrays, cos_limit):
    """Group junction nodes that lie within about a shaft width of each other.

    Closest pairs first, and never into a group wider than a crossing of the thickest shafts involved,
    so dense hair does not chain many crossings into one. Junctions are numbered in order of first
    appearance along the branch list.

    Returns
    -------
    end_cluster_ids : ndarray of int, shape (B, 2)
        Cluster of each branch end (-1 where the end is not a junction).
    shared_segments : ndarray of bool, shape (B,)
        Shared segments of shallow crossings, whose two forks were made one cluster.
    """
    is_junction = arrays.degrees >= JUNCTION_DEGREE
    junction_ends = np.flatnonzero(is_junction)
    _, first, inverse = np.unique(arrays.nodes.ravel()[junction_ends], return_index=True, return_inverse=True)
    rank = np.empty(len(first), int)
    rank[np.argsort(first)] = np.arange(len(first))
    end_junction = np.full(arrays.nodes.size, -1)
    end_junction[junction_ends] = rank[inverse]
    end_junction = end_junction.reshape(arrays.nodes.shape)
    clusters = _UnionFind(len(first))
    shared_segments = np.zeros(len(arrays.lengths), bool)
    if len(first):
        first_ends = junction_ends[np.sort(first)]
        points = arrays.end_points.reshape(-1, 2)[first_ends]
        widths = arrays.end_widths.ravel()[first_ends]
        pairs = cKDTree(points).query_pairs(float(max(3.0, widths.max())), output_type="ndarray")
        # Junction points are whole pixels, so distances and extents are exact (as np.linalg.norm's).
        gaps = points[pairs[:, 0]] - points[pairs[:, 1]]
        distances = np.sqrt(gaps[:, 0] ** 2 + gaps[:, 1] ** 2)
        close = distances <= np.maximum(3.0, 0.6 * widths[pairs].sum(axis=1))
        links = [
            (distance, i, j)
            for distance, (i, j) in zip(distances[close].tolist(), pairs[close].tolist(), strict=True)
        ]
        short = is_junction.all(axis=1) & (arrays.lengths <= np.maximum(3.0, 1.2 * arrays.middle_widths))
        links += zip(arrays.lengths[short].tolist(), *end_junction[short].T.tolist(), strict=True)
        # Each cluster's bounding box and widest shaft: (row min, col min, row max, col max, width).
        boxes = [
            (row, col, row, col, width)
            for (row, col), width in zip(points.tolist(), widths.tolist(), strict=True)
        ]
        for _, i, j in sorted(links):
            root_i, root_j = clusters.find(i), clusters.find(j)
            if root_i == root_j:
                continue
            box_i, box_j = boxes[root_i], boxes[root_j]
            box = (*map(min, box_i[:2], box_j[:2]), *map(max, box_i[2:], box_j[2:]))
            if max(box[2] - box[0], box[3] - box[1]) <= 1.5 * box[4] + 2.0:
                clusters.union(root_i, root_j)
                boxes[clusters.find(root_i)] = box
        # A shallow crossing: two hairs run together along a shared segment that forks at both ends.
        # Its two forks are one junction, so the hairs are paired across the whole shared stretch
        # (pairing at each fork alone sends each hair on along either prong of the far fork).
        for index in _shared_segments(arrays, cos_limit):
            root_i, root_j = (clusters.find(i) for i in end_junction[index].tolist())
            if root_i != root_j:
                clusters.union(root_i, root_j)
                shared_segments[index] = True
    roots = np.array([clusters.find(i) for i in range(len(first))] + [-1])
    return roots[end_junction], shared_segments


def _shared_segments(arrays, cos_limit):
    """Branches between two forks whose prongs both continue straight into it (shallow crossings).

    At most ``_SHARED_MAX_WIDTHS`` shaft widths long: two hairs crossing at 10 degrees share about six
    widths of mask.
    """
    # Each prong leaves the shared segment at about half the crossing angle.
    cos_prong = np.cos(1.5 * np.arccos(np.clip(cos_limit, -1.0, 1.0)))
    candidates = np.flatnonzero(
        (arrays.degrees >= JUNCTION_DEGREE).all(axis=1)
        & (arrays.nodes[:, 0] != arrays.nodes[:, 1])
        & (arrays.lengths <= _SHARED_MAX_WIDTHS * arrays.middle_widths)
    )
    # Pair each candidate's ends (flat index 2 * branch + end) with every branch end at the same node.
    nodes = arrays.nodes.ravel()
    by_node = np.argsort(nodes, kind="stable")
    ends = np.stack([2 * candidates, 2 * candidates + 1], axis=1).ravel()
    low = np.searchsorted(nodes[by_node], nodes[ends], side="left")
    counts = np.searchsorted(nodes[by_node], nodes[ends], side="right") - low
    owner = np.repeat(np.arange(len(ends)), counts)
    others = by_node[low[owner] + np.arange(len(owner)) - (np.cumsum(counts) - counts)[owner]]
    directions = arrays.directions.reshape(-1, 2)
    # np.vecdot gives each pair exactly what ``u @ v`` gives it (the same dot kernel).
    # A spur is no prong: counting it would take a band whose blunt end forks for a crossing's shared
    # stretch, and drop it.
    straight = (
        (others // 2 != ends[owner] // 2)
        & ~arrays.spurs[others // 2]
        & (-np.vecdot(directions[others], directions[ends[owner]]) >= cos_prong)
    )
    prongs = np.bincount(owner, straight, minlength=len(ends)).reshape(-1, 2)
    return candidates[(prongs == 2).all(axis=1)].tolist()


def touching_hairs(hair: TracedHair, width_px_map) -> tuple[float, ...]:
    """How many hairs lie side by side in a traced band, from a step in its width along its length.

    Hairs of one follicular unit leave the opening together and touch for a stretch; where they end at
    different points (clipped or broken off), the mask is a band one hair wide where one runs on alone
    and two wide where both run, with no fork: its skeleton runs down the middle as one line, and the
    band is no wider than a single thick hair, so `densitometry.analyze` cannot tell it by its width
    alone. Its width profile along the centreline shows it: a narrow plateau at one end, and a wide one
    (about twice as wide for two hairs of one size).

    Parameters
    ----------
    hair : TracedHair
    width_px_map : ndarray of float, shape (H, W)
        Local width of the mask in pixels (twice its distance transform).

    Returns
    -------
    tuple of float
        One entry per hair in the band: its width as a share of the band's median width (the width a
        measurement along the band finds). ``(1.0,)`` where the width shows no step; else two hairs,
        the one running on alone with the narrow width and the other with the difference. (A step of
        three or more widths is a thin hair beside a thick one as often as three hairs: two.)

    Notes
    -----
    The widths are taken more than one median width from either end (the skeleton's ends lie inside
    the shaft) and smoothed by a running median one width long. The step needs the 90th/10th
    percentile ratio of the widths to reach `_STEP_WIDTH_RATIO`, and a stretch within 15 % of the
    narrow width that reaches an end of the band and a stretch within 13 % of the wide width, each at
    least `_STEP_PLATEAU_WIDTHS` narrow widths long. Junctions are not looked at: the caller rules out
    bands crossed by another hair.
    """
    widths = values_at(width_px_map, hair.coords_px).astype(float)
    typical = float(np.median(widths))
    end = int(np.ceil(typical))
    if typical <= 0 or len(widths) - 2 * end < 4 * typical:
        return (1.0,)
    window = max(3, int(typical) | 1)
    smooth = median_filter(widths, size=window, mode="nearest")[end : len(widths) - end]
    narrow, median, wide = np.percentile(smooth, (10.0, 50.0, 90.0))
    if narrow <= 0 or wide < _STEP_WIDTH_RATIO * narrow:
        return (1.0,)
    plateau = _STEP_PLATEAU_WIDTHS * narrow
    narrow_runs = _runs(smooth <= 1.15 * narrow)
    narrow_runs = narrow_runs[narrow_runs[:, 1] - narrow_runs[:, 0] >= plateau]
    wide_runs = _runs(smooth >= 0.87 * wide)
    at_an_end = (narrow_runs[:, 0] == 0) | (narrow_runs[:, 1] == len(smooth))
    if not at_an_end.any() or not np.any(wide_runs[:, 1] - wide_runs[:, 0] >= plateau):
        return (1.0,)
    return (float(narrow / median), float((wide - narrow) / median))


def may_be_touching(hairs, width_px_map) -> np.ndarray:
    """Whether each band's widths could show the step `touching_hairs` looks for (all bands at once).

    A band can only step if its widest point is at least `_STEP_WIDTH_RATIO` times, less 15 %, the
    mean width of its first or of its last quarter (where a step's narrow stretch would lie). Most
    bands fail this and need no closer look.

    Returns
    -------
    ndarray of bool, shape (len(hairs),)
    """
    if not hairs:
        return np.zeros(0, bool)
    sizes = np.array([len(hair.coords_px) for hair in hairs])
    widths = values_at(width_px_map, np.concatenate([hair.coords_px for hair in hairs])).astype(float)
    starts = np.cumsum(sizes) - sizes
    quarters = np.maximum(1, sizes // 4)
    sums = np.concatenate([[0.0], np.cumsum(widths)])
    first = (sums[starts + quarters] - sums[starts]) / quarters
    last = (sums[starts + sizes] - sums[starts + sizes - quarters]) / quarters
    widest = np.maximum.reduceat(widths, starts)
    return widest >= _STEP_WIDTH_RATIO / 1.15 * np.minimum(first, last)


def _in_line(directions_a, directions_b, gaps, cos_limit) -> np.ndarray:
    """Whether both ends of each pair point along the gap between them (from ``a`` to ``b``), within
    the angle of ``cos_limit``."""
    units = gaps / np.maximum(np.hypot(gaps[:, 0], gaps[:, 1]), 1e-9)[:, None]
    return (np.vecdot(directions_a, units) >= cos_limit) & (-np.vecdot(directions_b, units) >= cos_limit)


def _across(directions, vectors) -> np.ndarray:
    """How far each vector reaches across its unit direction (the 2-D cross product's size)."""
    return np.abs(directions[:, 0] * vectors[:, 1] - directions[:, 1] * vectors[:, 0])


def _runs(flags) -> np.ndarray:
    """(start, stop) of each run of True in a 1-D bool array, shape (R, 2)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return edges.reshape(-1, 2)


def join_collinear(
    hairs, width_px_map, *, max_turn_deg=_JOIN_TURN_DEG, max_gap_widths=_JOIN_GAP_WIDTHS, askew_cuts=True
):
    """Join pieces of one shaft that the junction pairing left apart.

    Where several hairs cross in a small area, or the mask of a faint shaft breaks, one hair can leave
    the tracing as two pieces that stop facing each other. Two piece ends are joined when both point
    along the line between them (within ``max_turn_deg``), they face each other within the same angle,
    the gap is at most ``max_gap_widths`` shaft widths (+ 6 px) and, when it is longer than half a
    width, runs mostly (70 %) over the hair mask. Closest, straightest pairs are joined first and each
    end at most once. An end points the way of its piece 1.5-4 shaft widths in (`_JOIN_DIRECTION_WIDTHS`),
    not of its last width, which bends where a crossing hair cut the mask askew.

    With ``askew_cuts`` (a mask of one polarity: hairs of the other, lying over a shaft, cut it), the
    end point itself may lie off the shaft's axis, to one side of it: two ends that do not line up are
    still joined where the points 1.5 widths in do, each within `_JOIN_AXIS_OFFSET_WIDTHS` of the
    other's axis, and a gap up to `_JOIN_BARE_GAP_WIDTHS` may run off the mask (a dark hair cut by
    the white hairs lying over it; phantoms, pooled |count error| mean 16.5 -> 15.1 %). The
    refiner's mask holds hairs of both polarities, and is not cut so.

    Parameters
    ----------
    hairs : list of TracedHair
    width_px_map : ndarray of float, shape (H, W)
        Local shaft width in pixels, zero off the hair mask.

    Returns
    -------
    list of TracedHair
    """
    if len(hairs) < 2:
        return hairs
    cos_limit = np.cos(np.deg2rad(max_turn_deg))
    sizes = np.array([len(hair.coords_px) for hair in hairs])
    coords = np.concatenate([hair.coords_px for hair in hairs])
    widths_px = values_at(width_px_map, coords)
    medians = group_medians(widths_px, np.repeat(np.arange(len(hairs)), sizes), len(hairs))
    shafts = np.maximum(medians.astype(float), 2.0)
    # Each hair's two ends (2 * hair: its start, 2 * hair + 1: its last point) and outward directions.
    firsts = np.cumsum(sizes) - sizes
    near, far = _JOIN_DIRECTION_WIDTHS  # the end's direction is that of this stretch (see above)
    reach = np.minimum(np.maximum(4.0, far * shafts).astype(int), sizes - 1)
    trim = np.minimum((near * shafts).astype(int), reach // 2)
    ends = np.stack([firsts, firsts + sizes - 1], axis=1).ravel()
    inwards = np.stack([firsts + reach, firsts + sizes - 1 - reach], axis=1).ravel()
    trimmed = np.stack([firsts + trim, firsts + sizes - 1 - trim], axis=1).ravel()
    points = coords[ends]
    vectors = coords[trimmed] - coords[inwards]
    norms = np.hypot(vectors[:, 0], vectors[:, 1])
    directions = np.zeros_like(vectors)
    directions[norms > 0] = vectors[norms > 0] / norms[norms > 0, None]
    widths = np.repeat(shafts, 2)
    pairs = cKDTree(points).query_pairs(max_gap_widths * widths.max() + 6.0, output_type="ndarray")
    a, b = pairs.T
    shaft = np.maximum(widths[a], widths[b])
    gaps = points[b] - points[a]
    lengths = np.hypot(gaps[:, 0], gaps[:, 1])
    # np.vecdot gives each pair exactly what ``u @ v`` gives it (the same dot kernel).
    facing = -np.vecdot(directions[a], directions[b])
    good = (a // 2 != b // 2) & (lengths <= max_gap_widths * shaft + 6.0) & (facing >= cos_limit)
    apart = good & (lengths > 0.5 * shaft + 2.0)
    direction_a, direction_b = directions[a[apart]], directions[b[apart]]
    in_line = _in_line(direction_a, direction_b, gaps[apart], cos_limit)
    off_mask = apart  # gaps that must run mostly over the mask
    if askew_cuts:
        # The same test between the points where each end's direction is taken, and their axes close.
        inner = coords[trimmed]
        spans = inner[b[apart]] - inner[a[apart]]
        offsets = np.maximum(_across(direction_a, spans), _across(direction_b, spans))
        in_line |= _in_line(direction_a, direction_b, spans, cos_limit) & (
            offsets <= _JOIN_AXIS_OFFSET_WIDTHS * shaft[apart]
        )
        off_mask = lengths > _JOIN_BARE_GAP_WIDTHS * shaft + 2.0
    good[apart] = in_line
    for k in np.flatnonzero(good & off_mask):
        samples = points[a[k]] + np.linspace(0.0, 1.0, max(3, int(lengths[k])))[:, None] * gaps[k]
        good[k] = np.mean(values_at(width_px_map, samples) > 0) >= 0.7
    scores = lengths[good] / shaft[good] + 3.0 * (1.0 - facing[good])
    candidates = zip(scores.tolist(), a[good].tolist(), b[good].tolist(), strict=True)
    link = {}
    for _, a, b in sorted(candidates):
        if a not in link and b not in link:
            link[a], link[b] = b, a
    if not link:
        return hairs

    joined, used = [], set()

    def chain(end):
        # ``end`` = 2 * hair + (0: its start, 1: its last point); walk the links from there.
        pieces = []
        while end // 2 not in used:
            used.add(end // 2)
            hair = hairs[end // 2]
            pieces.append((hair, hair.coords_px if end % 2 == 0 else hair.coords_px[::-1]))
            if end ^ 1 not in link:
                break
            end = link[end ^ 1]
        return pieces

    starts = [end for end in range(2 * len(hairs)) if end not in link]
    groups = [chain(end) for end in starts] + [chain(2 * i) for i in range(len(hairs)) if i not in used]
    for pieces in groups:
        if not pieces:
            continue
        if len(pieces) == 1:
            joined.append(pieces[0][0])
            continue
        coords = np.concatenate([ordered for _, ordered in pieces])
        gaps = np.array([ordered[0] for _, ordered in pieces[1:]])
        junctions = np.concatenate([hair.junctions_px for hair, _ in pieces] + [gaps])
        branch_ids = tuple(b for hair, _ in pieces for b in hair.branch_ids)
        length = float(np.linalg.norm(np.diff(coords, axis=0), axis=1).sum())
        joined.append(TracedHair(coords, length, branch_ids, junctions))
    return joined
