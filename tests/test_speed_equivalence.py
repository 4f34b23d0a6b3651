"""The fast paths give exactly what the library routines they replace give."""

import cv2
import numpy as np
import pytest
from skan import Skeleton
from skan.csr import skeleton_to_csgraph
from skimage.morphology import skeletonize

from densitometry import segment
from densitometry import skeleton as fast
from densitometry.hairs import group_medians
from densitometry.measure import _resample
from densitometry.preprocess import Polarity, _contrasts, relative_contrast
from densitometry.segment import _BAR_RESPONSE, _line_response, fill_pinholes, hysteresis
from densitometry.skeleton import pixel_graph, skeleton_branches


def _masks():
    rng = np.random.default_rng(0)
    for _ in range(40):
        height, width = rng.integers(3, 80, 2)
        mask = rng.random((height, width)) < rng.uniform(0.2, 0.9)
        yield cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ring = np.zeros((30, 30), bool)
    cv2.circle(ring.view(np.uint8), (15, 15), 9, 1, 2)
    yield ring  # a closed loop: no end points, no junctions
    blob = np.zeros((30, 40), bool)
    blob[5:25, 5:35] = True
    blob[14:16, :] = True  # touches the border
    yield blob


def _thick_masks():
    """Thick lines and blobs, as in dense hair: many thinning passes, touching junctions."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = np.zeros(rng.integers(40, 200, 2), np.uint8)
        for _ in range(rng.integers(1, 12)):
            start, end = rng.integers(-20, 220, (2, 2))
            cv2.line(mask, tuple(map(int, start)), tuple(map(int, end)), 1, int(rng.integers(1, 25)))
        for _ in range(rng.integers(0, 3)):
            cv2.circle(mask, tuple(map(int, rng.integers(0, 200, 2))), int(rng.integers(5, 60)), 1, -1)
        yield mask.astype(bool)


def _random_masks(count):
    rng = np.random.default_rng(2)
    for index in range(count):
        mask = rng.random(rng.integers(1, 60, 2)) < rng.uniform(0.1, 0.95)
        if index % 2:
            mask = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        yield mask


def test_skeletonize_matches_skimage():
    for mask in [*_masks(), *_thick_masks(), *_random_masks(3000)]:
        np.testing.assert_array_equal(fast.skeletonize(mask), skeletonize(mask))


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int32, np.float64])
def test_skeletonize_dtypes_and_input_untouched(dtype):
    mask = next(_thick_masks()).astype(dtype) * 7
    copy = mask.copy()
    result = fast.skeletonize(mask)
    assert result.dtype == bool
    np.testing.assert_array_equal(result, skeletonize(mask))
    np.testing.assert_array_equal(mask, copy)


def test_skeletonize_edge_cases():
    for mask in (
        np.zeros((0, 5), bool),
        np.zeros((4, 4), bool),
        np.ones((1, 1), bool),
        np.ones((30, 30), bool),
    ):
        np.testing.assert_array_equal(fast.skeletonize(mask), skeletonize(mask))


@pytest.mark.parametrize("mask", list(_masks()))
def test_pixel_graph_matches_skan(mask):
    skeleton = skeletonize(mask)
    expected, coords = skeleton_to_csgraph(skeleton)
    graph, ours = pixel_graph(skeleton)
    np.testing.assert_array_equal(graph.indptr, expected.indptr)
    np.testing.assert_array_equal(graph.indices, expected.indices)
    np.testing.assert_array_equal(graph.data, expected.data)
    np.testing.assert_array_equal(ours, np.transpose(coords))


@pytest.mark.parametrize("mask", list(_masks()))
def test_branches_match_skan(mask):
    _assert_branches_match_skan(mask)


def test_branches_match_skan_on_many_masks():
    for mask in [*_thick_masks(), *_random_masks(1000)]:
        _assert_branches_match_skan(mask)


def _assert_branches_match_skan(mask):
    skeleton = skeletonize(mask)
    branches = skeleton_branches(mask)
    if skeleton.sum() < 2:
        assert branches == []
        return
    reference = Skeleton(skeleton)
    lengths = reference.path_lengths()
    assert len(branches) == reference.n_paths
    for index, (branch, nodes) in enumerate(zip(branches, reference.paths_list(), strict=True)):
        np.testing.assert_array_equal(branch.coords_px, reference.coordinates[nodes])
        assert (branch.start_node, branch.end_node) == (nodes[0], nodes[-1])
        assert branch.start_degree == reference.degrees[nodes[0]]
        assert branch.end_degree == reference.degrees[nodes[-1]]
        assert branch.length_px == lengths[index]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_medians_match_numpy(dtype):
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 30, 400)
    values = rng.normal(size=400).astype(dtype)
    values[groups == 3] = values[5]  # ties
    values[np.flatnonzero(groups == 7)[:1]] = np.nan
    medians = group_medians(values, groups, 32)
    for group in range(32):
        mine = values[groups == group]
        if mine.size == 0:
            assert np.isnan(medians[group])
            continue
        np.testing.assert_array_equal(medians[group], np.median(mine))


def _reference_resample(coords, step_px):
    """The per-hair resampling `measure._resample` replaced (np.convolve, np.interp per coordinate)."""
    if len(coords) < 2:
        return coords[:0], coords[:0]
    kernel = min(7, len(coords) if len(coords) % 2 else len(coords) - 1)
    smooth = coords
    if kernel >= 3:
        pad = kernel // 2
        padded = np.concatenate([coords[:1].repeat(pad, axis=0), coords, coords[-1:].repeat(pad, axis=0)])
        smooth = np.stack([np.convolve(padded[:, k], np.ones(kernel) / kernel, "valid") for k in (0, 1)], 1)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(smooth, axis=0), axis=1))])
    if arc[-1] < step_px:
        return coords[:0], coords[:0]
    positions = np.arange(step_px / 2, arc[-1], step_px)
    points = np.stack([np.interp(positions, arc, smooth[:, k]) for k in (0, 1)], 1)
    ahead = np.stack([np.interp(np.minimum(positions + 2.0, arc[-1]), arc, smooth[:, k]) for k in (0, 1)], 1)
    behind = np.stack([np.interp(np.maximum(positions - 2.0, 0.0), arc, smooth[:, k]) for k in (0, 1)], 1)
    tangent = ahead - behind
    norm = np.linalg.norm(tangent, axis=1, keepdims=True)
    valid = norm[:, 0] > 0
    return points[valid], tangent[valid] / norm[valid]


def test_resample_matches_per_hair_reference():
    rng = np.random.default_rng(4)
    paths = [
        np.cumsum(rng.integers(-1, 2, (size, 2)), axis=0).astype(float) + rng.integers(0, 500, 2)
        for size in [*rng.integers(1, 12, 40), *rng.integers(12, 400, 40)]
    ]
    steps_px = rng.uniform(1.5, 6.0, len(paths))
    sizes = np.array([len(path) for path in paths])
    points, tangents, owner = _resample(np.concatenate(paths), sizes, steps_px)
    for index, path in enumerate(paths):
        expected_points, expected_tangents = _reference_resample(path, steps_px[index])
        np.testing.assert_array_equal(points[owner == index], expected_points)
        np.testing.assert_array_equal(tangents[owner == index], expected_tangents)


def test_line_response_pair_matches_the_negated_image():
    """Both signs from one set of derivatives: bit for bit what two separate filterings give."""
    rng = np.random.default_rng(5)
    image = cv2.GaussianBlur(rng.standard_normal((90, 120)).astype(np.float32), (0, 0), 2.0)
    for sigma in (0.8, 2.0, 4.5):
        bright, dark = _line_response(image, sigma, both_signs=True)
        assert np.array_equal(bright, _line_response(image, sigma))
        assert np.array_equal(dark, _line_response(-image, sigma))
        assert dark.max() > 0.0 and bright.max() > 0.0


def _reference_line_response(image, sigma):
    """The bright-ridge strength as whole-image OpenCV derivatives and numpy arithmetic."""
    smooth = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    dxx, dyy, dxy = (
        cv2.Sobel(smooth, cv2.CV_32F, dx, dy, ksize=3, scale=0.25, borderType=cv2.BORDER_REFLECT)
        for dx, dy in ((2, 0), (0, 2), (1, 1))
    )
    half_trace = 0.5 * (dxx + dyy)
    radius = np.sqrt(0.25 * (dxx - dyy) ** 2 + dxy**2)
    strength = np.maximum(radius - half_trace + 0.5 * np.minimum(half_trace + radius, 0.0), 0.0)
    return strength * sigma**2 / _BAR_RESPONSE


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1), (2, 3), (90, 120)])
def test_line_response_matches_opencv_derivatives(shape):
    """The one-pass Hessian kernel gives what OpenCV's Sobel derivatives give, edges included."""
    rng = np.random.default_rng(6)
    image = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), 1.5)
    for sigma in (0.8, 2.0, 4.5):
        expected = _reference_line_response(image, sigma)
        # float32 rounding of the image's values, scaled by the filter's weight
        rounding = 1e-5 * sigma**2 / _BAR_RESPONSE * np.abs(image).max()
        np.testing.assert_allclose(_line_response(image, sigma), expected, rtol=1e-4, atol=rounding)


def test_relative_contrast_matches_numpy_formulas():
    """The compiled pass for two float32 arrays of one shape: bit for bit numpy's float32 formulas,
    backgrounds under the floor, strided views and colour stacks included; other inputs take numpy."""
    rng = np.random.default_rng(3)
    grey = rng.uniform(0.0, 1.0, (60, 70, 3)).astype(np.float32)
    background = rng.uniform(0.0, 0.2, (60, 70, 3)).astype(np.float32)  # a third under the 0.04 floor
    for image, skin in [(grey, background), (grey[::2, 1::3, 0], background[::2, 1::3, 0])]:
        denominator = np.maximum(skin, np.float32(0.04))
        for polarity, difference in [(Polarity.DARK, skin - image), (Polarity.BRIGHT, image - skin)]:
            found = relative_contrast(image, skin, polarity)
            assert found.dtype == np.float32 and found.shape == image.shape
            np.testing.assert_array_equal(found, np.divide(difference, denominator, dtype=np.float32))
    # A float64 photo and a single skin value (numpy's path) read the same contrast.
    np.testing.assert_allclose(
        relative_contrast(grey[..., 0].astype(np.float64), 0.5, Polarity.DARK),
        relative_contrast(grey[..., 0], np.full(grey.shape[:2], 0.5, np.float32), Polarity.DARK),
        rtol=1e-6,
    )


def test_contrasts_match_relative_contrast():
    """`preprocess`'s one-pass contrasts: bit for bit the whole-image formulas."""
    rng = np.random.default_rng(7)
    grey, blue = (rng.uniform(0.0, 1.0, (40, 50)).astype(np.float32) for _ in range(2))
    background, blue_background = (rng.uniform(0.0, 1.0, (40, 50)).astype(np.float32) for _ in range(2))
    for polarity in (Polarity.DARK, Polarity.BRIGHT):
        luma_signed = relative_contrast(grey, background, polarity)
        blue_signed = relative_contrast(blue, blue_background, polarity)
        luma = np.maximum(luma_signed, 0.0)
        opposite_luma = np.maximum(-luma_signed, 0.0)
        expected = (
            luma,
            np.maximum(blue_signed - luma, 0.0),
            opposite_luma,
            np.maximum(-blue_signed - opposite_luma, 0.0),
        )
        for found, wanted in zip(
            _contrasts(grey, background, blue, blue_background, polarity), expected, strict=True
        ):
            np.testing.assert_array_equal(found, wanted)


def test_mask_labelling_matches_numpy_indexing():
    """Hysteresis and pinhole filling, whose label look-ups are numba loops, against numpy indexing."""
    for mask in [*_masks(), *_thick_masks()]:
        seed = np.zeros(mask.shape, bool)
        seed[::7, ::5] = True
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        seeded = np.zeros(count, bool)
        seeded[labels[mask & seed]] = True
        seeded[0] = False
        np.testing.assert_array_equal(hysteresis(mask, seed), seeded[labels])

        background = (~mask).astype(np.uint8)
        count, holes = cv2.connectedComponents(background, connectivity=4)
        distance = cv2.distanceTransform(background, cv2.DIST_L2, 3)
        kept = np.zeros(count, bool)
        kept[holes[distance >= 0.5 * 6.0]] = True
        kept[holes[[0, -1], :]] = True
        kept[holes[:, [0, -1]]] = True
        np.testing.assert_array_equal(fill_pinholes(mask, 6.0), mask | ~kept[holes])


def _cells(count):
    """Hair crossing in a mesh, as in dense hair: skin cells of many sizes enclosed between lines, some
    against the image border, and pinholes (glints) inside the lines."""
    rng = np.random.default_rng(5)
    for _ in range(count):
        mask = np.zeros(rng.integers(60, 240, 2), np.uint8)
        for _ in range(rng.integers(2, 14)):
            start, end = rng.integers(-20, 260, (2, 2))
            cv2.line(mask, tuple(map(int, start)), tuple(map(int, end)), 1, int(rng.integers(2, 16)))
        mask = mask.astype(bool)
        mask[rng.random(mask.shape) < 0.02] = False
        yield mask


@pytest.mark.parametrize("windowed", [True, False])
def test_pinholes_measured_in_windows_match_the_whole_image(monkeypatch, windowed):
    """Each hole measured in a window around it (sparse hair) is kept or filled exactly as its
    distances over the whole image decide, for thin and wide holes, next to the border or not."""
    monkeypatch.setattr(segment, "_WINDOWED_MAX_COMPONENTS", 10**9 if windowed else 0)
    monkeypatch.setattr(segment, "_WINDOWED_HOLES_AREA", np.inf)
    for mask in [*_masks(), *_thick_masks(), *_cells(40)]:
        background = (~mask).astype(np.uint8)
        count, holes = cv2.connectedComponents(background, connectivity=4)
        distance = cv2.distanceTransform(background, cv2.DIST_L2, 3)
        for max_width_px in (1.5, 4.0, 9.0, 20.0):
            kept = np.zeros(count, bool)
            kept[holes[distance >= 0.5 * max_width_px]] = True
            kept[holes[[0, -1], :]] = True
            kept[holes[:, [0, -1]]] = True
            np.testing.assert_array_equal(fill_pinholes(mask, max_width_px), mask | ~kept[holes])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_medians_of_contiguous_groups_match_numpy(dtype):
    rng = np.random.default_rng(7)
    sizes = rng.integers(0, 9, 300)  # empty groups, odd and even sizes
    groups = np.repeat(np.arange(len(sizes)), sizes)
    values = rng.normal(size=len(groups)).astype(dtype)
    values[rng.random(len(values)) < 0.2] = 0.5  # ties
    values[rng.integers(0, len(values), 5)] = np.nan
    expected = np.array(
        [np.median(values[groups == g]) if size else np.nan for g, size in enumerate(sizes)], dtype=dtype
    )
    contiguous = group_medians(values, groups, len(sizes))
    shuffled = rng.permutation(len(values))  # the same groups, not lying together
    scattered = group_medians(values[shuffled], groups[shuffled], len(sizes))
    for found in (contiguous, scattered):
        assert found.dtype == dtype
        np.testing.assert_array_equal(found, expected)  # bit for bit, NaN where numpy gives NaN


def test_keep_stronger_matches_opencv_steps():
    """The one-pass merge of two scales gives what OpenCV's compare, maximum and masked copy give,
    ties (kept, not taken) included."""
    rng = np.random.default_rng(8)
    for shape in ((1, 1), (3, 5), (120, 90)):
        strength = rng.random(shape, dtype=np.float32)
        candidate = np.where(rng.random(shape) < 0.3, strength, rng.random(shape, dtype=np.float32))
        labels = rng.integers(0, 5, shape, dtype=np.uint8)
        candidate_labels = rng.integers(5, 9, shape, dtype=np.uint8)
        expected_strength, expected_labels = strength.copy(), labels.copy()
        better = cv2.compare(candidate, expected_strength, cv2.CMP_GT)
        cv2.max(expected_strength, candidate, dst=expected_strength)
        cv2.copyTo(candidate_labels, better, expected_labels)
        segment._keep_stronger(strength, labels, candidate, candidate_labels)
        assert np.array_equal(strength, expected_strength)
        assert np.array_equal(labels, expected_labels)
    assert (labels >= 5).any() and (labels < 5).any()  # the large case takes some and keeps some
