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

The same good-continuation idea is used to untangle crossing fibres and neurites in other tracing
tools; this implementation is our own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .skeleton import JUNCTION_DEGREE, Branch

#: Longest shared segment of a shallow crossing, in shaft widths.
_SHARED_MAX_WIDTHS = 8.0
#: Two traced pieces facing each other across a gap are one shaft if they turn less than this ...
_JOIN_TURN_DEG = 20.0
#: ... and the gap is at most this many shaft widths (+ 6 px): a crossing of several hairs.
_JOIN_GAP_WIDTHS = 4.0


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


def _width_at(width_px_map, point):
    row = min(max(int(round(point[0])), 0), width_px_map.shape[0] - 1)
    col = min(max(int(round(point[1])), 0), width_px_map.shape[1] - 1)
    return max(2.0, float(width_px_map[row, col]))


def _outgoing_direction(coords, width_px):
    """Unit direction of a branch leaving a junction at ``coords[0]``."""
    near = 0.75 * width_px
    far = near + max(3.0 * width_px, 8.0)
    # Pixel steps are at least 1 px long, so the stretch up to ``far`` lies within these points.
    coords = coords[: int(far) + 2]
    steps = np.hypot(*np.diff(coords, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] < near + 2.0:
        vector = coords[-1] - coords[0]
    else:
        start = np.searchsorted(arc, near, side="right") - 1
        stop = min(len(arc) - 1, np.searchsorted(arc, min(far, arc[-1]), side="left"))
        vector = coords[stop] - coords[start]
    norm = np.hypot(vector[0], vector[1])
    return vector / norm if norm > 0 else np.zeros(2)


def _end_coords(branch: Branch, end: int):
    """Branch coordinates ordered from ``end`` (0: start, 1: end) outwards."""
    return branch.coords_px if end == 0 else branch.coords_px[::-1]


def trace_hairs(branches, width_px_map, *, max_turn_deg=35.0) -> list[TracedHair]:
    """Resolve junctions and return one centreline per hair.

    Parameters
    ----------
    branches : list of Branch
        From `densitometry.skeleton.skeleton_branches`.
    width_px_map : ndarray of float, shape (H, W)
        Local shaft width in pixels (e.g. twice the mask's distance transform).
    max_turn_deg : float
        Largest change of direction accepted when a hair is continued across a junction.

    Returns
    -------
    list of TracedHair
    """
    if not branches:
        return []
    cos_limit = np.cos(np.deg2rad(max_turn_deg))
    cos_fold = np.cos(np.deg2rad(min(90.0, 2.0 * max_turn_deg)))
    direction = _end_directions(branches, width_px_map)

    # 1. Group junction nodes that lie within about a shaft width of each other (closest pairs first,
    #    and never into a group wider than a crossing of the thickest shafts involved, so dense hair
    #    does not chain many crossings into one).
    junction_nodes = {}
    for branch in branches:
        for node, degree, point in (
            (branch.start_node, branch.start_degree, branch.coords_px[0]),
            (branch.end_node, branch.end_degree, branch.coords_px[-1]),
        ):
            if degree >= JUNCTION_DEGREE:
                junction_nodes[node] = point
    nodes = list(junction_nodes)
    node_index = {node: i for i, node in enumerate(nodes)}
    clusters = _UnionFind(len(nodes))
    shared_segments = set()
    if nodes:
        points = np.array([junction_nodes[n] for n in nodes])
        widths = np.array([_width_at(width_px_map, p) for p in points])
        members = {i: [i] for i in range(len(nodes))}
        links = [
            (float(np.linalg.norm(points[i] - points[j])), i, j)
            for i, j in cKDTree(points).query_pairs(float(max(3.0, widths.max())))
            if np.linalg.norm(points[i] - points[j]) <= max(3.0, 0.6 * (widths[i] + widths[j]))
        ]
        for branch in branches:
            if branch.start_degree >= JUNCTION_DEGREE and branch.end_degree >= JUNCTION_DEGREE:
                middle = branch.coords_px[len(branch.coords_px) // 2]
                if branch.length_px <= max(3.0, 1.2 * _width_at(width_px_map, middle)):
                    i, j = node_index[branch.start_node], node_index[branch.end_node]
                    links.append((branch.length_px, i, j))
        for _, i, j in sorted(links):
            root_i, root_j = clusters.find(i), clusters.find(j)
            if root_i == root_j:
                continue
            merged = members[root_i] + members[root_j]
            extent = np.ptp(points[merged], axis=0).max()
            if extent <= 1.5 * widths[merged].max() + 2.0:
                clusters.union(root_i, root_j)
                members[clusters.find(root_i)] = merged
        # A shallow crossing: two hairs run together along a shared segment that forks at both ends.
        # Its two forks are one junction, so the hairs are paired across the whole shared stretch
        # (pairing at each fork alone sends each hair on along either prong of the far fork).
        for index in _shared_segments(branches, width_px_map, cos_limit, direction):
            branch = branches[index]
            root_i = clusters.find(node_index[branch.start_node])
            root_j = clusters.find(node_index[branch.end_node])
            if root_i != root_j:
                clusters.union(root_i, root_j)
                members[clusters.find(root_i)] = members[root_i] + members[root_j]
                shared_segments.add(index)

    def cluster_of(node, degree):
        return clusters.find(node_index[node]) if degree >= JUNCTION_DEGREE else None

    # 2. Drop branches inside a junction and short spurs (skeleton artefacts of thick shafts).
    kept = []
    for index, branch in enumerate(branches):
        start = cluster_of(branch.start_node, branch.start_degree)
        end = cluster_of(branch.end_node, branch.end_degree)
        width = _width_at(width_px_map, branch.coords_px[len(branch.coords_px) // 2])
        if (
            start is not None
            and start == end
            and (branch.length_px <= 3.0 * width or index in shared_segments)
        ):
            continue
        if (start is None) != (end is None):
            # A spur: skeletonisation noise on the side of a shaft, shorter than the shaft is wide.
            base = branch.coords_px[0] if start is not None else branch.coords_px[-1]
            if branch.length_px < max(3.0, 1.5 * _width_at(width_px_map, base)):
                continue
        kept.append(index)

    # 3. Branch ends meeting at each junction cluster, with their outgoing directions.
    cluster_ends: dict[int, list] = {}
    end_cluster = {}
    for index in kept:
        branch = branches[index]
        for end, node, degree in (
            (0, branch.start_node, branch.start_degree),
            (1, branch.end_node, branch.end_degree),
        ):
            cluster = cluster_of(node, degree)
            if cluster is None:
                continue
            cluster_ends.setdefault(cluster, []).append((index, end))
            end_cluster[(index, end)] = cluster

    # 4. Pair ends straight through each junction; link leftovers that continue into a taken branch.
    partner = {}
    shared_link = {}
    cluster_centre = {}
    for cluster, ends in cluster_ends.items():
        cluster_centre[cluster] = np.mean([_end_coords(branches[i], e)[0] for i, e in ends], axis=0)
        if len(ends) == 2:
            # Two ends left (the rest were spurs): one shaft bent at a skeleton artefact, unless they
            # fold back like the two hairs of a follicular unit leaving one opening in a V.
            if -float(direction(ends[0]) @ direction(ends[1])) >= cos_fold and ends[0][0] != ends[1][0]:
                partner[ends[0]], partner[ends[1]] = ends[1], ends[0]
            continue
        candidates = []
        for a in range(len(ends)):
            for b in range(a + 1, len(ends)):
                straightness = -float(direction(ends[a]) @ direction(ends[b]))
                if straightness >= cos_limit and ends[a][0] != ends[b][0]:
                    candidates.append((straightness, ends[a], ends[b]))
        for _, end_a, end_b in sorted(candidates, key=lambda c: -c[0]):
            if end_a not in partner and end_b not in partner:
                partner[end_a], partner[end_b] = end_b, end_a
        for end in ends:
            if end in partner:
                continue
            options = [
                (-float(direction(end) @ direction(other)), other)
                for other in ends
                if other in partner and other[0] != end[0]
            ]
            if options:
                straightness, other = max(options, key=lambda o: o[0])
                if straightness >= cos_limit:
                    shared_link[end] = other

    # 5. Walk hairs from every terminal end.
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
                waiting = [e for e, target in shared_link.items() if target == exit_end and e not in seen]
                follower, via_shared = (waiting[0] if waiting else None), False
            elif exit_end in shared_link:
                follower, via_shared = shared_link[exit_end], True
            else:
                follower = partner.get(exit_end)
            if follower is None:
                break
            branch, end = follower
        return order, entries, junctions

    hairs, done = [], set()
    visited_branches = set()

    def add_hair(order, entries, junctions, terminals):
        key = frozenset(terminals)
        if key in done:
            return
        done.add(key)
        visited_branches.update(order)
        pieces = [_end_coords(branches[b], entry) for b, entry in zip(order, entries, strict=True)]
        coords = np.concatenate(pieces)
        length = float(np.linalg.norm(np.diff(coords, axis=0), axis=1).sum())
        junction_array = np.array(junctions, dtype=float).reshape(-1, 2)
        hairs.append(TracedHair(coords, length, tuple(order), junction_array))

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
    return join_collinear(hairs, width_px_map)


def _end_directions(branches, width_px_map):
    """``direction((index, end))``: `_outgoing_direction` of a branch end, each computed once."""
    cache = {}

    def direction(branch_end):
        if branch_end not in cache:
            index, end = branch_end
            coords = _end_coords(branches[index], end)
            cache[branch_end] = _outgoing_direction(coords, _width_at(width_px_map, coords[0]))
        return cache[branch_end]

    return direction


def _shared_segments(branches, width_px_map, cos_limit, direction):
    """Branches between two forks whose prongs both continue straight into it (shallow crossings).

    At most ``_SHARED_MAX_WIDTHS`` shaft widths long: two hairs crossing at 10 degrees share about six
    widths of mask.
    """
    at_node: dict[int, list] = {}
    for index, branch in enumerate(branches):
        at_node.setdefault(branch.start_node, []).append((index, 0))
        at_node.setdefault(branch.end_node, []).append((index, 1))
    # Each prong leaves the shared segment at about half the crossing angle.
    cos_prong = np.cos(1.5 * np.arccos(np.clip(cos_limit, -1.0, 1.0)))
    found = []
    for index, branch in enumerate(branches):
        if branch.start_degree < JUNCTION_DEGREE or branch.end_degree < JUNCTION_DEGREE:
            continue
        if branch.start_node == branch.end_node:
            continue
        width = _width_at(width_px_map, branch.coords_px[len(branch.coords_px) // 2])
        if branch.length_px > _SHARED_MAX_WIDTHS * width:
            continue
        forks = True
        for end, node in ((0, branch.start_node), (1, branch.end_node)):
            along = direction((index, end))
            prongs = [(i, e) for i, e in at_node[node] if i != index]
            straight = sum(-float(direction(prong) @ along) >= cos_prong for prong in prongs)
            if straight != 2:
                forks = False
                break
        if forks:
            found.append(index)
    return found


def join_collinear(hairs, width_px_map, *, max_turn_deg=_JOIN_TURN_DEG, max_gap_widths=_JOIN_GAP_WIDTHS):
    """Join pieces of one shaft that the junction pairing left apart.

    Where several hairs cross in a small area, or the mask of a faint shaft breaks, one hair can leave
    the tracing as two pieces that stop facing each other. Two piece ends are joined when both point
    along the line between them (within ``max_turn_deg``), they face each other within the same angle,
    the gap is at most ``max_gap_widths`` shaft widths (+ 6 px) and, when it is longer than half a
    width, runs mostly (70 %) over the hair mask. Closest, straightest pairs are joined first and each
    end at most once.

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
    points, directions, widths = [], [], []
    for hair in hairs:
        coords = hair.coords_px
        shaft = max(2.0, float(np.median(values_at(width_px_map, coords))))
        reach = int(max(4.0, 2.0 * shaft))
        for ordered in (coords, coords[::-1]):
            vector = ordered[0] - ordered[min(reach, len(ordered) - 1)]  # outward at this end
            norm = np.hypot(vector[0], vector[1])
            points.append(ordered[0])
            directions.append(vector / norm if norm > 0 else np.zeros(2))
            widths.append(shaft)
    points, directions, widths = np.array(points), np.array(directions), np.array(widths)
    candidates = []
    for a, b in cKDTree(points).query_pairs(max_gap_widths * widths.max() + 6.0):
        if a // 2 == b // 2:
            continue
        shaft = max(widths[a], widths[b])
        gap = points[b] - points[a]
        length = float(np.hypot(gap[0], gap[1]))
        facing = -float(directions[a] @ directions[b])
        if length > max_gap_widths * shaft + 6.0 or facing < cos_limit:
            continue
        if length > 0.5 * shaft + 2.0:
            unit = gap / length
            if directions[a] @ unit < cos_limit or -(directions[b] @ unit) < cos_limit:
                continue
            samples = points[a] + np.linspace(0.0, 1.0, max(3, int(length)))[:, None] * gap
            if np.mean(values_at(width_px_map, samples) > 0) < 0.7:
                continue
        candidates.append((length / shaft + 3.0 * (1.0 - facing), a, b))
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
