"""Throughput of the CNN refiner in photos per second on one torch device (a GPU where there is one).

Renders ``--photos`` synthetic photos in memory, then times, each after two warm-up photos:

- ``network``: the network stage alone (features, resampling to model scale, inference, resize back:
  `densitometry.refiner.probability_map`), the part a GPU takes over;
- ``analyze``: the whole ``analyze(refine=True)``, one photo after another in one process; the classic
  stages (illumination, ridge filter, tracing, measuring) stay on the CPU.

    python benchmarks/refiner_throughput.py --device cuda --photos 30
    python benchmarks/refiner_throughput.py --device cpu --threads 1 --photos 10   # one CPU core
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20, help="timed photos (after 2 warm-up photos)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=960)
    parser.add_argument("--scenario", default="clinical")
    parser.add_argument("--um-per-px", type=float, default=5.0)
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))
    parser.add_argument("--backend", default="torch", choices=("auto", "torch", "onnx"))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.photos < 1:
        parser.error("--photos must be at least 1")

    import cv2
    import torch

    import densitometry
    from densitometry import synthetic
    from densitometry.preprocess import preprocess
    from densitometry.refiner import infer, load_refiner, probability_map
    from densitometry.refiner.features import luma_contrast
    from densitometry.segment import ridge_filter

    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    refiner = load_refiner(device=args.device, backend=args.backend, num_threads=args.threads)
    infer._default_refiner = lambda: refiner  # analyze(refine=True) takes the module's default refiner
    name = torch.cuda.get_device_name(0) if refiner.device.startswith("cuda") else refiner.device
    print(
        f"refiner {refiner.config.version}, backend {refiner.backend} on {name}, "
        f"{torch.get_num_threads()} CPU thread(s); {args.photos} photos {args.width}x{args.height} "
        f"'{args.scenario}' at {args.um_per_px:g} µm/px",
        flush=True,
    )
    calibration = densitometry.Calibration(args.um_per_px)
    images, inputs = [], []
    for seed in range(args.photos + 2):
        image = synthetic.generate(
            args.scenario, seed=seed, width_px=args.width, height_px=args.height, um_per_px=args.um_per_px
        ).image
        rgb = image.astype(np.float32) / 255
        contrast = luma_contrast(preprocess(rgb, calibration))
        images.append(image)
        inputs.append((rgb, contrast, ridge_filter(contrast, calibration).strength))

    def rate(label, work):
        for k in range(2):
            work(k)
        start = time.perf_counter()
        for k in range(2, args.photos + 2):
            work(k)
        seconds = (time.perf_counter() - start) / args.photos
        print(f"{label:<8} {1 / seconds:7.2f} photos/s  {1000 * seconds:8.1f} ms/photo", flush=True)

    rate("network", lambda k: probability_map(*inputs[k], calibration, refiner=refiner))
    rate("analyze", lambda k: densitometry.analyze(images[k], um_per_px=args.um_per_px, refine=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
