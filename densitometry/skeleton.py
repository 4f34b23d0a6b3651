"""Skeleton: one-pixel centrelines of the hair mask and their branch graph (via skan)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from skimage.morphology import skeletonize

#: Lowest skeleton degree of a junction pixel.
JUNCTION_DEGREE = 3

#: The eight neighbours (row, col) in raster order, so each pixel's neighbour ids come out sorted.
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


@dataclass(frozen=True)
class Branch:
    """A skeleton path between two nodes (end points or junctions).

    Attributes
    ----------
    coords_px : ndarray of float, shape (N, 2)
        (row, col) of the path's pixels, from ``start`` to ``end``.
    start_node, end_node : int
        Node ids of the two ends (skan pixel ids).
    start_degree, end_degree : int
        Skeleton degree at each end (1: free end, >= 3: junction, 2: a closed loop).
    length_px : float
        Arc length in pixels.
    """

    coords_px: np.ndarray
    start_node: int
    end_node: int
    start_degree: int
    end_degree: int
    length_px: float


def pixel_graph(skeleton):
    """Neighbour graph of skeleton pixels, as `skan.csr.skeleton_to_csgraph` builds it.

    Pixels are numbered in raster order; an edge joins 8-neighbours and weighs their distance (1 or
    sqrt 2). Where junction pixels touch each other, only a minimum spanning tree of their edges is
    kept (skan's ``_mst_junctions``), so a thick junction does not make tiny loops. Built here with
    array operations: skan's version walks every pixel in Python and dominated the cost of a photo.

    Parameters
    ----------
    skeleton : ndarray of bool, shape (H, W)

    Returns
    -------
    graph : scipy.sparse.csr_matrix of float, shape (N, N)
    coords : ndarray of int, shape (N, 2)
        (row, col) of each pixel.
    """
    height, width = skeleton.shape
    stride = width + 2
    padded = np.zeros((height + 2, stride), bool)
    padded[1:-1, 1:-1] = skeleton
    pixels = np.flatnonzero(padded)
    count = pixels.size
    ids = np.full(padded.size, -1, np.int32)
    ids[pixels] = np.arange(count, dtype=np.int32)
    neighbours = np.empty((count, len(_NEIGHBOURS)), np.int32)
    for k, (row, col) in enumerate(_NEIGHBOURS):
        neighbours[:, k] = ids[pixels + (row * stride + col)]
    distances = np.array([np.sqrt(float(row * row + col * col)) for row, col in _NEIGHBOURS])
    present = neighbours >= 0
    degrees = present.sum(axis=1)
    indptr = np.zeros(count + 1, np.int32)
    np.cumsum(degrees, out=indptr[1:])
    indices = neighbours[present]
    data = np.broadcast_to(distances, neighbours.shape)[present]
    graph = sparse.csr_matrix((data, indices, indptr), shape=(count, count))
    junction = degrees >= JUNCTION_DEGREE
    rows = np.repeat(np.arange(count), degrees)
    between_junctions = junction[rows] & junction[indices]
    if between_junctions.any():
        junction_indptr = np.zeros(count + 1, np.int32)
        np.cumsum(np.bincount(rows[between_junctions], minlength=count), out=junction_indptr[1:])
        junction_graph = sparse.csr_matrix(
            (data[between_junctions], indices[between_junctions], junction_indptr), shape=(count, count)
        )
        tree = csgraph.minimum_spanning_tree(junction_graph)
        graph = graph - (junction_graph - (tree + tree.T))
    coords = np.stack(np.divmod(pixels, stride), axis=1) - 1
    return graph, coords


def skeleton_branches(mask) -> list[Branch]:
    """Skeletonise a hair mask and split the skeleton into branches.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)

    Returns
    -------
    list of Branch
    """
    skeleton = skeletonize(mask)
    if skeleton.sum() < 2:
        return []
    paths, coords, degrees, lengths = _paths(skeleton)
    coords = coords.astype(float)
    branches = []
    for index in range(len(paths.indptr) - 1):
        nodes = paths.indices[paths.indptr[index] : paths.indptr[index + 1]]
        start, end = int(nodes[0]), int(nodes[-1])
        branches.append(
            Branch(
                coords_px=coords[nodes],
                start_node=start,
                end_node=end,
                start_degree=int(degrees[start]),
                end_degree=int(degrees[end]),
                length_px=float(lengths[index]),
            )
        )
    return branches


def _paths(skeleton):
    """skan's paths (CSR: one row per path, its pixel ids in order), pixel coords, degrees and lengths."""
    try:
        from skan.csr import PathGraph  # imported here: numba compilation on first use
    except ImportError:  # skan < 0.13: let skan build the pixel graph itself (slower, same paths)
        from skan import Skeleton

        whole = Skeleton(skeleton)
        return whole.paths, whole.coordinates, whole.degrees, whole.path_lengths()
    graph, coords = pixel_graph(skeleton)
    path_graph = PathGraph.from_graph(adj=graph, node_coordinates=coords)
    return path_graph.paths, coords, path_graph.degrees, path_graph.distances
