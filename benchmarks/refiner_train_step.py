"""Where a training step of the refiner spends its time: the crops cut on the CPU against the step itself.

Renders a pool of training samples (`densitometry.refiner.train.render_sample`) in parallel, then runs
training steps of the shipped architecture on one torch device from that pool, timing separately the
crops (`train._crops`: random windows, rotations, flips, on the CPU) and the transfer plus forward,
backward and optimiser step (synchronised on a GPU). Prints ms per step and crops per second for each
batch size.

    python benchmarks/refiner_train_step.py --device cuda --batch 32 128
    python benchmarks/refiner_train_step.py --device cpu --samples 40 --steps 20 --batch 8
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

import numpy as np

COLOUR_DETAIL_UM = 150.0  # as the shipped config


def _render(seed):
    import cv2

    from densitometry.refiner.config import RefinerConfig
    from densitometry.refiner.train import render_sample

    cv2.setNumThreads(1)
    config = RefinerConfig(version="benchmark", colour_detail_um=COLOUR_DETAIL_UM)
    return render_sample(np.random.default_rng(seed), config)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 128], help="crops per step")
    parser.add_argument("--samples", type=int, default=400, help="rendered samples in the pool")
    parser.add_argument("--steps", type=int, default=130, help="timed steps (after 20 warm-up steps)")
    parser.add_argument("--workers", type=int, default=max(1, multiprocessing.cpu_count() - 1))
    args = parser.parse_args(argv)
    if min(args.batch) < 1 or args.samples < 1 or args.steps < 1 or args.workers < 1:
        parser.error("--batch, --samples, --steps and --workers must be at least 1")

    import torch

    from densitometry.refiner import select_device
    from densitometry.refiner.config import RefinerConfig
    from densitometry.refiner.model import build_network
    from densitometry.refiner.train import CROP_PX, _crops, _loss

    device = select_device(args.device)
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        samples = pool.map(_render, range(args.samples))
    print(
        f"rendered {args.samples} samples in {time.perf_counter() - start:.1f} s "
        f"with {args.workers} processes; device {device}",
        flush=True,
    )
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rng = np.random.default_rng(0)
    for batch in args.batch:
        network = build_network(RefinerConfig(version="benchmark")).to(device).train()
        optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
        crop_s = step_s = 0.0
        for step in range(20 + args.steps):
            t0 = time.perf_counter()
            arrays = _crops(samples, rng, batch, CROP_PX)
            t1 = time.perf_counter()
            x, hair, centre = (torch.from_numpy(a).to(device) for a in arrays)
            loss = _loss(torch, network(x), hair, centre)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()
            sync()
            if step >= 20:
                crop_s += t1 - t0
                step_s += time.perf_counter() - t1
        total = crop_s + step_s
        print(
            f"batch {batch}: crops {1000 * crop_s / args.steps:.1f} ms, transfer + forward + backward + step "
            f"{1000 * step_s / args.steps:.1f} ms per step -> {args.steps / total:.0f} steps/s, "
            f"{batch * args.steps / total:.0f} crops/s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
