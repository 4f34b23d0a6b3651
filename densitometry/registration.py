"""Registration: align an after photo onto a before photo of the same scalp site.

Features (SIFT) are found on contrast-normalised grey images (CLAHE), so a change of exposure or white
balance between visits does not matter; a similarity transform (rotation, uniform scale, shift) is fitted
with RANSAC. Photos with different pixel sizes are first brought to the before photo's µm per pixel, so
the fitted scale of a good pair is close to 1 and a far-off scale flags a wrong match.

References
----------
D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV 60 (2004) 91-110.
M. A. Fischler and R. C. Bolles, "Random sample consensus", Comm. ACM 24 (1981) 381-395.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from .calibration import check_positive_finite
from .errors import ParameterError

#: RANSAC inlier distance, in pixels of the before photo.
_RANSAC_THRESHOLD_PX = 3.0
#: Lowe's ratio test.
_RATIO = 0.75
#: Scale (after rescaling to a common pixel size) outside this range means a wrong match.
_SCALE_RANGE = (0.8, 1.25)


@dataclass(frozen=True)
class Registration:
    """How the after photo maps onto the before photo.

    Attributes
    ----------
    registered : bool
        True when a plausible transform was found.
    transform : ndarray, shape (3, 3)
        Maps after pixel coordinates (x = column, y = row, homogeneous) to before pixel coordinates
        (the convention of ``cv2.warpPerspective``); identity when not registered.
    inliers : int
        Feature matches consistent with the transform.
    matches : int
        Feature matches that passed the ratio test.
    overlap_fraction : float
        Fraction of the before photo that the after photo also covers (0 when not registered).
    scale : float
        Relative scale of the fitted transform after the pixel sizes were equalised (1 = same).
    rotation_deg : float
        Rotation of the fitted transform, counter-clockwise in image coordinates.
    residual_px : float
        Root-mean-square distance (before pixels) between the inlier features of the before photo and
        their matches mapped through the transform; NaN when no transform was fitted. Feature
        localisation noise dominates it, so it bounds the alignment error from above.
    reason : str
        Why registration failed; empty when it succeeded.
    """

    registered: bool
    transform: np.ndarray = field(repr=False)
    inliers: int = 0
    matches: int = 0
    overlap_fraction: float = 0.0
    scale: float = math.nan
    rotation_deg: float = math.nan
    residual_px: float = math.nan
    reason: str = ""


def normalised_grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 grey image with local contrast equalised (CLAHE), for feature detection.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3) or (H, W)
        uint8 or float in [0, 1].
    """
    image = np.asarray(rgb)
    if image.dtype != np.uint8:
        image = np.clip(np.asarray(image, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(grey)


def register(
    before_rgb: np.ndarray,
    after_rgb: np.ndarray,
    *,
    scale: float = 1.0,
    min_inliers: int = 20,
    min_overlap_fraction: float = 0.1,
    before_field=None,
    after_field=None,
) -> Registration:
    """Find the similarity transform mapping the after photo onto the before photo.

    Parameters
    ----------
    before_rgb, after_rgb : ndarray, shape (H, W, 3)
        The two photos (uint8, or float in [0, 1]); never modified.
    scale : float, optional
        ``after_um_per_px / before_um_per_px``: the after photo is resampled by this factor before
        matching, and the returned transform includes it.
    min_inliers : int, optional
        Fewer RANSAC inliers than this means the photos could not be aligned.
    min_overlap_fraction : float, optional
        A transform leaving less common field than this fraction of the before photo is rejected.
    before_field, after_field : ndarray of bool, shape (H, W), optional
        Each photo's field of view (`densitometry.preprocess.field_of_view`): features are taken
        inside it only (the rim of a dermatoscope's round field stays put in the frame while the scalp
        moves), and the common field lies inside both.

    Returns
    -------
    Registration
    """
    scale = check_positive_finite(scale, "scale")
    if int(min_inliers) < 4:
        raise ParameterError(f"min_inliers must be >= 4, got {min_inliers!r}")
    before_grey = normalised_grey(before_rgb)
    after_grey = normalised_grey(after_rgb)
    prescale = np.diag([scale, scale, 1.0])
    after_mask = None if after_field is None else np.asarray(after_field, dtype=np.uint8)
    if not math.isclose(scale, 1.0, rel_tol=1e-6):
        height, width = after_grey.shape
        size = (max(16, round(width * scale)), max(16, round(height * scale)))
        after_grey = cv2.resize(after_grey, size, interpolation=cv2.INTER_AREA)
        if after_mask is not None:
            after_mask = cv2.resize(after_mask, size, interpolation=cv2.INTER_NEAREST)
        # cv2.resize maps pixel centres x' = (x + 0.5) * s - 0.5 with the factor of the whole pixels it
        # was given per axis (761 / 800, not 0.952: 0.4 px at the far edge).
        factors = np.array(size, dtype=float) / (width, height)
        prescale = np.diag([*factors, 1.0])
        prescale[:2, 2] = 0.5 * factors - 0.5

    sift = cv2.SIFT_create(nfeatures=4000)
    before_mask = None if before_field is None else np.asarray(before_field, dtype=np.uint8)
    kp_b, des_b = sift.detectAndCompute(before_grey, before_mask)
    kp_a, des_a = sift.detectAndCompute(after_grey, after_mask)
    failed = Registration(registered=False, transform=np.eye(3))
    if des_b is None or des_a is None or len(kp_b) < 4 or len(kp_a) < 4:
        return _replace(failed, reason="too few features in one of the photos")
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des_a, des_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < max(4, int(min_inliers)):
        return _replace(failed, matches=len(good), reason=f"only {len(good)} feature matches")
    src = np.float32([kp_a[m.queryIdx].pt for m in good])
    dst = np.float32([kp_b[m.trainIdx].pt for m in good])
    model, mask = cv2.estimateAffinePartial2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=_RANSAC_THRESHOLD_PX,
        maxIters=5000,
        confidence=0.999,
        refineIters=20,
    )
    if model is None:
        return _replace(failed, matches=len(good), reason="no consistent transform")
    inlier = mask.ravel().astype(bool)
    n_inliers = int(inlier.sum())
    # Least-squares refit on the inliers only (RANSAC's model comes from a minimal sample).
    if n_inliers >= 4:
        refit, _ = cv2.estimateAffinePartial2D(src[inlier], dst[inlier], method=cv2.LMEDS)
        if refit is not None:
            model = refit
    mapped = src[inlier] @ model[:, :2].T + model[:, 2]
    residual = float(np.sqrt(np.mean(np.sum((mapped - dst[inlier]) ** 2, axis=1)))) if n_inliers else math.nan
    fitted_scale = float(math.hypot(model[0, 0], model[1, 0]))
    rotation = float(math.degrees(math.atan2(model[1, 0], model[0, 0])))
    matrix = np.vstack([model, [0.0, 0.0, 1.0]]) @ prescale
    found = Registration(
        registered=False,
        transform=np.eye(3),
        inliers=n_inliers,
        matches=len(good),
        scale=fitted_scale,
        rotation_deg=rotation,
        residual_px=residual,
    )
    if n_inliers < int(min_inliers):
        return _replace(found, reason=f"only {n_inliers} consistent feature matches (need {min_inliers})")
    if not _SCALE_RANGE[0] <= fitted_scale <= _SCALE_RANGE[1]:
        return _replace(found, reason=f"implausible scale change {fitted_scale:.2f}")
    common = common_field(
        matrix,
        before_grey.shape,
        np.asarray(after_rgb).shape[:2],
        before_field=before_field,
        after_field=after_field,
    )
    overlap = float(common.mean())
    if overlap < min_overlap_fraction:
        return _replace(
            found, overlap_fraction=overlap, reason=f"common field only {overlap:.0%} of the photo"
        )
    return _replace(found, registered=True, transform=matrix, overlap_fraction=overlap)


def common_field(
    transform: np.ndarray,
    before_shape_px,
    after_shape_px,
    *,
    margin_px: float = 0.0,
    before_field=None,
    after_field=None,
) -> np.ndarray:
    """Boolean mask, in the before photo's frame, of the pixels that the after photo also covers.

    Parameters
    ----------
    transform : ndarray, shape (3, 3)
        After -> before pixel coordinates (x, y).
    before_shape_px, after_shape_px : tuple of int
        (height, width) of each photo.
    margin_px : float, optional
        Keep only pixels at least this far inside the edge of the common field.
    before_field, after_field : ndarray of bool, optional
        Each photo's field of view where it is not the whole photo: the common field lies inside both.
    """
    height, width = before_shape_px[:2]
    after_h, after_w = after_shape_px[:2]
    if after_field is None:
        covered = np.full((after_h, after_w), 255, dtype=np.uint8)
    else:
        covered = np.asarray(after_field, dtype=np.uint8) * np.uint8(255)
    warped = cv2.warpPerspective(
        covered, np.asarray(transform, dtype=float), (width, height), flags=cv2.INTER_NEAREST
    )
    common = warped > 0
    if before_field is not None:
        common &= np.asarray(before_field, dtype=bool)
    if margin_px <= 0:
        return common
    # Pad with zeros so the photo's own edge counts as an edge of the field.
    padded = np.pad(common.astype(np.uint8), 1)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    return distance > margin_px


def map_points(transform: np.ndarray, points_rc: np.ndarray) -> np.ndarray:
    """Map (N, 2) (row, col) points through a 3x3 (x, y) transform; returns (N, 2) (row, col)."""
    points_rc = np.asarray(points_rc, dtype=float).reshape(-1, 2)
    xy1 = np.column_stack([points_rc[:, 1], points_rc[:, 0], np.ones(len(points_rc))])
    mapped = xy1 @ np.asarray(transform, dtype=float).T
    mapped = mapped[:, :2] / mapped[:, 2:3]
    return mapped[:, ::-1].copy()


def _replace(registration: Registration, **changes) -> Registration:
    from dataclasses import replace

    return replace(registration, **changes)
