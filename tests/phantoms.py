"""Tiny exact phantoms for known-answer tests: straight shafts of known width on flat skin."""

from __future__ import annotations

import cv2
import numpy as np


def shaft_coverage(shape, start, end, width_px):
    """Anti-aliased coverage (0..1) of a straight shaft of ``width_px`` from ``start`` to ``end`` (row, col)."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    start, end = np.asarray(start, float), np.asarray(end, float)
    direction = end - start
    length = np.linalg.norm(direction)
    direction /= length
    rel_r, rel_c = rows - start[0], cols - start[1]
    along = rel_r * direction[0] + rel_c * direction[1]
    across = np.abs(-rel_r * direction[1] + rel_c * direction[0])
    inside = (along >= 0) & (along <= length)
    return np.clip(width_px / 2 - across + 0.5, 0, 1) * inside


def phantom(shafts, *, shape=(480, 640), skin=0.75, blur_px=1.0, noise=0.01, seed=0, bright=False):
    """Grey phantom with shafts given as (start, end, width_px, contrast); returns float32 (H, W) in [0, 1]."""
    image = np.full(shape, skin)
    for start, end, width_px, contrast in shafts:
        coverage = shaft_coverage(shape, start, end, width_px)
        image = image * (1 + contrast * coverage) if bright else image * (1 - contrast * coverage)
    if blur_px:
        image = cv2.GaussianBlur(image, (0, 0), blur_px)
    image = image + np.random.default_rng(seed).normal(0, noise, shape)
    return np.clip(image, 0, 1).astype(np.float32)


def clipped_shafts(seed, contrast_range, *, count=20):
    """``count`` clipped shafts 0.3-0.8 mm long (at 5 µm/px) lying in every direction apart on a 480x640
    photo, 60-90 µm wide: (start, end, width_px, contrast) for `phantom`."""
    rng = np.random.default_rng(seed)
    shafts = []
    for _ in range(count):
        centre = np.array([rng.uniform(40, 440), rng.uniform(40, 600)])
        angle, half_length = rng.uniform(0, np.pi), rng.uniform(30, 80)
        offset = half_length * np.array([np.sin(angle), np.cos(angle)])
        shafts.append(
            (
                tuple(centre - offset),
                tuple(centre + offset),
                rng.uniform(12, 18),
                rng.uniform(*contrast_range),
            )
        )
    return shafts


def mottled(image, *, amplitude=0.02, seed=0):
    """``image`` with smooth multiplicative skin texture of relative ``amplitude`` (standard deviation)."""
    texture = cv2.GaussianBlur(
        np.random.default_rng(seed).normal(0, 1, image.shape).astype(np.float32), (0, 0), 3
    )
    return np.clip(image * (1 + amplitude * texture / texture.std()), 0, 1).astype(np.float32)


def white_mesh(seed):
    """A dense mesh of 40 white shafts (60-90 µm at 5 µm/px) on mid-grey mottled skin, and how many of
    them show at least 150 µm inside the photo."""
    rng = np.random.default_rng(seed)
    mesh, visible = [], 0
    for _ in range(40):
        start = np.array([rng.uniform(-50, 530), rng.uniform(-50, 690)])
        angle = rng.uniform(0, np.pi)
        end = start + 700 * np.array([np.sin(angle), np.cos(angle)])
        mesh.append((tuple(start), tuple(end), float(rng.uniform(12, 18)), 0.5))
        points = start + np.linspace(0, 1, 701)[:, None] * (end - start)
        inside = (points >= 0).all(axis=1) & (points < (480, 640)).all(axis=1)
        visible += int(inside.sum() >= 30)
    return mottled(phantom(mesh, skin=0.5, seed=seed, bright=True), seed=seed), visible


def grid_colour_photo(hair_colours, seed, *, skin=(215, 195, 185), shape=(480, 640)):
    """Twelve shafts 0.5-0.7 mm long (at 5 µm/px), 50-80 µm wide, one in each cell of a 3 x 4 grid in
    any direction (none touch), coloured in turn by ``hair_colours`` (RGB, 0-255), on skin mottled by
    3 % and with noise of 10 grey levels that every channel shares and 1 of its own: the fine noise
    of a JPEG photo, whose colour is coarser than its brightness. uint8 RGB."""
    rng = np.random.default_rng(seed)
    image = np.empty((*shape, 3))
    image[:] = skin
    for index in range(12):
        centre = np.array([80 + 160 * (index // 4), 80 + 160 * (index % 4)])
        angle, half_length = rng.uniform(0, np.pi), rng.uniform(50, 70)
        offset = half_length * np.array([np.sin(angle), np.cos(angle)])
        coverage = shaft_coverage(shape, centre - offset, centre + offset, rng.uniform(10, 16))[..., None]
        image = image * (1 - coverage) + np.multiply(hair_colours[index % len(hair_colours)], coverage)
    texture = cv2.GaussianBlur(rng.normal(0, 1, shape), (0, 0), 3.0)
    image *= (1 + 0.03 * texture / texture.std())[..., None]
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    image += rng.normal(0, 10, shape)[..., None] + rng.normal(0, 1, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def speckled(image, *, share=0.25, level=1.0, radius_px=(1.5, 3.5), seed=0):
    """``image`` (float32 grey) with bright round specks (dandruff, scale, sebum glints) of the given
    radii at ``level`` covering about ``share`` of it."""
    rng = np.random.default_rng(seed)
    height, width = image.shape
    specks = np.zeros(image.shape, np.uint8)
    while specks.mean() < share:
        for _ in range(200):
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.circle(specks, centre, int(round(rng.uniform(*radius_px))), 1, -1)
    return np.where(specks > 0, np.float32(level), image).astype(np.float32)
