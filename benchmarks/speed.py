"""Speed: milliseconds per 1280x960 photo on one CPU core, with the naive pipeline timed in the same run.

    taskset -c 0 python benchmarks/speed.py            # 10 clinical phantoms, best of 3 each
    taskset -c 0 python benchmarks/speed.py --stages   # also the median cost of each pipeline stage

Threads are limited to one (OpenCV, BLAS) so the figure is per core; the first call (numba compilation
inside skan) is excluded as warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from naive import naive_analyze  # noqa: E402

import densitometry  # noqa: E402
from densitometry import synthetic  # noqa: E402


def best_of(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _lap(best, name, since):
    """Record the seconds since ``since`` as the best for ``name``; return the time now."""
    now = time.perf_counter()
    best[name] = min(best.get(name, np.inf), now - since)
    return now


def stage_costs(photos, repeats):
    """Median over photos of the best-of-``repeats`` seconds of each stage, called as `analyze` calls it."""
    from densitometry.analyze import _PEAK_RADIUS_UM, _PINHOLE_WIDTH_UM
    from densitometry.calibration import as_calibration
    from densitometry.hairs import trace_hairs
    from densitometry.io import load_image
    from densitometry.measure import measure_hairs
    from densitometry.preprocess import preprocess
    from densitometry.results import AnalysisParameters
    from densitometry.segment import ridge_filter, segment
    from densitometry.skeleton import skeleton_branches

    parameters = AnalysisParameters()
    costs: dict[str, list] = {}
    for photo in photos:
        calibration = as_calibration(None, um_per_px=photo.um_per_px)
        best: dict[str, float] = {}
        for _ in range(repeats):
            clock = time.perf_counter()
            rgb = load_image(photo.image).rgb
            clock = _lap(best, "load", clock)
            prepared = preprocess(rgb, calibration, max_hair_diameter_um=parameters.max_diameter_um)
            clock = _lap(best, "preprocess", clock)
            ridge = ridge_filter(
                prepared.contrast,
                calibration,
                min_diameter_um=parameters.min_diameter_um,
                max_diameter_um=parameters.max_diameter_um,
            )
            clock = _lap(best, "ridge_filter", clock)
            mask = segment(
                ridge,
                prepared.contrast,
                low_contrast=parameters.low_contrast,
                high_contrast=parameters.high_contrast,
                hole_width_px=calibration.px(_PINHOLE_WIDTH_UM),
                peak_radius_px=calibration.px(_PEAK_RADIUS_UM),
                opposite=prepared.opposite_contrast,
            )
            clock = _lap(best, "segment", clock)
            width_px_map = np.minimum(
                2.0 * cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5),
                calibration.px(parameters.max_diameter_um),
            )
            branches = skeleton_branches(mask)
            clock = _lap(best, "skeleton_branches", clock)
            traced = trace_hairs(branches, width_px_map, max_turn_deg=parameters.max_turn_deg)
            clock = _lap(best, "trace_hairs", clock)
            measure_hairs(prepared.contrast, traced, ridge.sigma_px)
            _lap(best, "measure_hairs", clock)
        for name, seconds in best.items():
            costs.setdefault(name, []).append(seconds)
    return {name: float(np.median(seconds)) for name, seconds in costs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=10, help="photos")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-photos", type=int, default=2, help="photos for the (slow) naive pipeline")
    parser.add_argument("--refine", action="store_true")
    parser.add_argument("--stages", action="store_true", help="also print the median cost of each stage")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    photos = [
        synthetic.generate("clinical", seed=1000 + i, width_px=1280, height_px=960) for i in range(args.n)
    ]
    densitometry.analyze(photos[0].image, um_per_px=photos[0].um_per_px, refine=args.refine)  # warm-up
    ours = [
        best_of(
            lambda p=p: densitometry.analyze(p.image, um_per_px=p.um_per_px, refine=args.refine), args.repeats
        )
        for p in photos
    ]
    naive = [best_of(lambda p=p: naive_analyze(p.image, p.um_per_px), 1) for p in photos[: args.naive_photos]]
    label = "densitometry (refine)" if args.refine else "densitometry"
    print(
        f"{label:<22} median {1000 * np.median(ours):7.0f} ms/photo  (max {1000 * max(ours):.0f} ms, {len(ours)} photos)"
    )
    print(f"{'naive skimage':<22} median {1000 * np.median(naive):7.0f} ms/photo  ({len(naive)} photos)")
    if args.stages:
        for name, seconds in stage_costs(photos, args.repeats).items():
            print(f"  {name:<20} median {1000 * seconds:7.1f} ms/photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
