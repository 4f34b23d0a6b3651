"""Speed: milliseconds per 1280x960 photo on one CPU core, with the naive pipeline timed in the same run.

    taskset -c 0 python benchmarks/speed.py            # 10 clinical phantoms, best of 3 each
    taskset -c 0 python benchmarks/speed.py --stages   # also the median cost of each pipeline stage

Threads are limited to one (OpenCV, BLAS) so the figure is per core. The first call (loading the
numba kernels of `densitometry.skeleton`, or compiling them once after an install or edit) is timed
apart as warm-up. ``--keep-freed-memory`` measures with the allocator setting the CLI, batch workers
and web UI use (`densitometry.allocator.keep_freed_memory`).
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


#: Stages of `densitometry.analyze`, by the names its module calls them.
STAGES = (
    "load_image",
    "preprocess",
    "ridge_filter",
    "segment",
    "skeleton_branches",
    "trace_hairs",
    "measure_hairs",
)


def stage_costs(photos, repeats):
    """Median over photos of the best-of-``repeats`` seconds of each stage, timed inside `analyze` itself.

    The stage functions are wrapped with timers where the pipeline module looks them up, so the
    figures are those of exactly what `analyze` runs (working resolution included).
    """
    module = sys.modules["densitometry.analyze"]
    originals = {name: getattr(module, name) for name in STAGES}
    seconds: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    costs: dict[str, list] = {name: [] for name in STAGES}
    try:
        for name, function in originals.items():
            setattr(module, name, timed(name, function))
        for photo in photos:
            best = dict.fromkeys(STAGES, np.inf)
            for _ in range(repeats):
                seconds.clear()
                densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
                for name in STAGES:
                    best[name] = min(best[name], seconds.get(name, 0.0))
            for name in STAGES:
                costs[name].append(best[name])
    finally:
        for name, function in originals.items():
            setattr(module, name, function)
    return {name: float(np.median(values)) for name, values in costs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=10, help="photos")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-photos", type=int, default=2, help="photos for the (slow) naive pipeline")
    parser.add_argument("--refine", action="store_true")
    parser.add_argument("--stages", action="store_true", help="also print the median cost of each stage")
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="keep freed image buffers for reuse, as the CLI, batch workers and web UI do",
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    if args.keep_freed_memory:
        from densitometry.allocator import keep_freed_memory

        keep_freed_memory()
    photos = [
        synthetic.generate("clinical", seed=1000 + i, width_px=1280, height_px=960) for i in range(args.n)
    ]
    warm_up = best_of(
        lambda: densitometry.analyze(photos[0].image, um_per_px=photos[0].um_per_px, refine=args.refine), 1
    )
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
    print(f"{'first call (warm-up)':<22} {1000 * warm_up:14.0f} ms")
    if naive:
        print(f"{'naive skimage':<22} median {1000 * np.median(naive):7.0f} ms/photo  ({len(naive)} photos)")
    if args.stages:
        for name, seconds in stage_costs(photos, args.repeats).items():
            print(f"  {name:<20} median {1000 * seconds:7.1f} ms/photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
