"""Skeleton: one-pixel centrelines of the hair mask and their branch graph (via skan)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.morphology import skeletonize

#: Lowest skeleton degree of a junction pixel.
JUNCTION_DEGREE = 3


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
    from skan import Skeleton  # imported here: numba compilation on first use

    graph = Skeleton(skeleton)
    lengths = graph.path_lengths()
    branches = []
    for index, nodes in enumerate(graph.paths_list()):
        nodes = np.asarray(nodes)
        branches.append(
            Branch(
                coords_px=graph.coordinates[nodes].astype(float),
                start_node=int(nodes[0]),
                end_node=int(nodes[-1]),
                start_degree=int(graph.degrees[nodes[0]]),
                end_degree=int(graph.degrees[nodes[-1]]),
                length_px=float(lengths[index]),
            )
        )
    return branches
