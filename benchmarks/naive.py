"""The naive scikit-image hair counter every benchmark compares against.

frangi ridge filter (normalised to the image maximum, as skimage does) + Otsu threshold + skeleton;
one hair per connected skeleton piece; diameter = mask area / skeleton length. This is what a
first attempt with off-the-shelf tools looks like, and it fails on crossings and touching hairs.
"""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2gray
from skimage.filters import frangi, threshold_otsu
from skimage.measure import label, regionprops
from skimage.morphology import skeletonize


def naive_analyze(rgb, um_per_px, *, min_length_um=150.0):
    """Return (hair_count, mean_diameter_um, diameters_um) from the naive pipeline."""
    grey = rgb2gray(rgb)
    sigmas = np.geomspace(max(1.0, 15 / um_per_px / 2), 150 / um_per_px / 2, 5)
    ridges = frangi(grey, sigmas=sigmas, black_ridges=True)
    mask = ridges > threshold_otsu(ridges)
    skeleton = skeletonize(mask)
    labels = label(skeleton, connectivity=2)
    mask_labels = label(mask, connectivity=2)
    diameters = []
    for region in regionprops(labels):
        length_px = region.area
        if length_px * um_per_px < min_length_um:
            continue
        rows, cols = region.coords[0]
        blob = mask_labels == mask_labels[rows, cols]
        diameters.append(blob.sum() / max(1, region.area) * um_per_px)
    diameters = np.array(diameters)
    return len(diameters), float(diameters.mean()) if len(diameters) else float("nan"), diameters
