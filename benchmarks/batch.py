"""Throughput of ``densitometry analyze`` in photos per second: serial, local processes and Dask.

Renders a folder of synthetic phantom photos once (densitometry.synthetic; dark lines drawn with OpenCV
if it is not available), then runs the batch CLI on it from scratch in each configuration and prints a
Markdown table. Wall time includes starting worker processes and their first-photo warm-up (numba
compilation in skan), as a user sees it; ``analysis photos/s`` is the execution phase from run.json.

Usage::

    python benchmarks/batch.py [--photos 50] [--width-px 1280] [--height-px 960] [--workers 1 2]
                               [--dask-workers 2] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

UM_PER_PX = 5.0


def render_photos(folder: Path, *, count: int, width_px: int, height_px: int, scenario: str) -> str:
    """Write ``count`` phantom photos into ``folder``; returns how they were made."""
    try:
        from densitometry.synthetic import generate
    except ImportError:
        generate = None
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        if generate is not None:
            rgb = generate(
                scenario, seed=seed, width_px=width_px, height_px=height_px, um_per_px=UM_PER_PX
            ).image
        else:
            rgb = _drawn_phantom(seed, width_px=width_px, height_px=height_px)
        cv2.imwrite(str(folder / f"photo_{seed:03d}.jpg"), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return (
        f"densitometry.synthetic scenario {scenario!r}" if generate is not None else "lines drawn with OpenCV"
    )


def _drawn_phantom(seed: int, *, width_px: int, height_px: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((height_px, width_px, 3), (200, 170, 150), np.uint8)
    for _ in range(width_px * height_px // 8000):
        start = rng.integers(0, [width_px, height_px])
        angle, length = rng.uniform(0, np.pi), rng.uniform(60, 300)
        end = (int(start[0] + length * np.cos(angle)), int(start[1] + length * np.sin(angle)))
        cv2.line(
            image, (int(start[0]), int(start[1])), end, (60, 40, 30), int(rng.integers(3, 14)), cv2.LINE_AA
        )
    return image


def time_batch(photos: Path, out: Path, *extra: str) -> tuple[float, dict]:
    """Wall seconds of one from-scratch batch run, and its run.json."""
    from densitometry.cli import main

    argv = [
        "analyze",
        str(photos),
        "--um-per-px",
        str(UM_PER_PX),
        "--out",
        str(out),
        "--quiet",
        "--no-resume",
    ]
    started = time.perf_counter()
    code = main([*argv, *extra])
    wall_s = time.perf_counter() - started
    if code not in (0, 1):
        raise RuntimeError(f"densitometry analyze {' '.join(extra)} exited with {code}")
    return wall_s, json.loads((out / "run.json").read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=50, help="number of photos")
    parser.add_argument("--width-px", type=int, default=1280)
    parser.add_argument("--height-px", type=int, default=960)
    parser.add_argument("--scenario", default="clinical", help="synthetic scenario")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local worker counts to time")
    parser.add_argument("--dask-workers", type=int, default=2, help="processes of the Dask LocalCluster")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask run")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="densitometry-bench-") as scratch:
        photos = Path(scratch) / "photos"
        started = time.perf_counter()
        made_by = render_photos(
            photos,
            count=args.photos,
            width_px=args.width_px,
            height_px=args.height_px,
            scenario=args.scenario,
        )
        print(
            f"rendered {args.photos} photos {args.width_px}x{args.height_px} ({made_by}) in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        for workers in args.workers:
            out = Path(scratch) / f"out-workers-{workers}"
            wall_s, run = time_batch(photos, out, "--workers", str(workers))
            rows.append((f"--workers {workers}", wall_s, run, out))
        if not args.no_dask:
            from distributed import LocalCluster

            started = time.perf_counter()
            with LocalCluster(
                n_workers=args.dask_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                print(f"Dask LocalCluster started in {time.perf_counter() - started:.1f} s", file=sys.stderr)
                out = Path(scratch) / "out-dask"
                wall_s, run = time_batch(photos, out, "--scheduler", cluster.scheduler_address)
                rows.append((f"Dask LocalCluster ({args.dask_workers} workers x 1 thread)", wall_s, run, out))

        reference = (rows[0][3] / "summary.csv").read_bytes()
        identical = all((out / "summary.csv").read_bytes() == reference for *_, out in rows)
        base_rate = args.photos / rows[0][1]
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        print(
            f"\n{args.photos} photos {args.width_px}x{args.height_px} on {os.cpu_count()} CPUs (load average "
            f"{load}), summary.csv identical in all configurations: {identical}\n"
        )
        print("| configuration | wall s | photos/s | analysis photos/s | speed-up |")
        print("|---|---:|---:|---:|---:|")
        for name, wall_s, run, _ in rows:
            rate = args.photos / wall_s
            analysis_rate = run["timings"]["photos_per_s"]
            print(f"| {name} | {wall_s:.1f} | {rate:.2f} | {analysis_rate:.2f} | {rate / base_rate:.2f}x |")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
