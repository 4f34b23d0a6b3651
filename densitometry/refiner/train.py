"""Train the refiner on the synthetic generator: ``densitometry train-refiner --out models/ --minutes 25``.

A background process renders synthetic photos (all scenarios, extra domain randomisation of pixel size,
tone, noise and JPEG), computes the same features as inference (`features.feature_channels` on the
classic contrast and ridge maps), resamples them to the model's pixel size and queues them. The trainer
keeps a pool of recent samples and draws random crops with flips and 90-degree rotations from it, so it
never waits for the renderer. Loss: BCE + Dice on the hair mask, plus BCE on a centreline auxiliary
target. Writes weights, config (with thresholds fitted on held-out synthetic photos) and an ONNX export.

The stream of photos is fixed by ``--seed``; how many of them the trainer sees before each step depends on
the machine's speed, so two runs agree statistically, not bit for bit.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import platform
import queue
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from .device import DEVICE_CHOICES

#: Scenarios and their sampling weights (the hard ones twice as often).
TRAIN_SCENARIOS = {
    "clean": 1.0,
    "clinical": 2.0,
    "grey_hair": 2.0,
    "low_contrast": 2.0,
    "dense_crossings": 2.0,
    "follicular_units": 1.0,
    "miniaturised": 1.0,
    "artefacts": 2.0,
    "blur_noise": 2.0,
    "clipped": 1.0,
    "low_res": 1.0,
    "high_res": 1.0,
}
#: Side (model px) of the rendered samples and of the training crops.
SAMPLE_PX, CROP_PX = 192, 128
#: Seeds of the held-out photos used to fit the thresholds (far from the training stream).
VALIDATION_SEED = 10_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``densitometry train-refiner``."""
    parser.add_argument("--out", type=Path, default=Path("models"), help="folder for refiner.pt/.json/.onnx")
    parser.add_argument("--minutes", type=float, default=25.0, help="training time budget (wall clock)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic stream and the init")
    parser.add_argument("--batch", type=int, default=12, help="crops per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW, cosine decay)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the trainer")
    parser.add_argument("--workers", type=int, default=1, help="background rendering processes")
    parser.add_argument(
        "--device",
        default="auto",
        choices=DEVICE_CHOICES,
        help="torch device of the trainer (auto: CUDA, then Apple MPS, then the CPU); "
        "thresholds are fitted and the model exported on the CPU",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        type=_scenario_weight,
        metavar="NAME[=WEIGHT]",
        help="synthetic scenarios to train on and their sampling weights (default: TRAIN_SCENARIOS)",
    )
    parser.add_argument("--version", default="1.0.0", help="version written into the config")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    parser.add_argument(
        "--seams",
        action="store_true",
        help="train the hair mask with a gap where two nearly parallel hairs touch (see _touching_seams)",
    )
    parser.add_argument(
        "--hairless-share",
        type=float,
        default=0.0,
        metavar="P",
        help="share of the training photos rendered with no hair (the scenario's skin and artefacts only)",
    )
    parser.add_argument(
        "--colour-detail-um",
        type=float,
        default=0.0,
        metavar="UM",
        help="colour finer than this reaches the network scaled by the photo's blue weight, in training "
        "and in use (features.colour_detail); 0 (default): full colour",
    )


def run(args) -> int:
    """Train and write the model files; returns 0 on success."""
    from ..errors import DensitometryError

    try:
        train(
            args.out,
            minutes=args.minutes,
            seed=args.seed,
            batch=args.batch,
            lr=args.lr,
            threads=args.threads,
            workers=args.workers,
            device=args.device,
            scenarios=dict(args.scenarios) if args.scenarios else None,
            version=args.version,
            onnx=not args.no_onnx,
            seams=args.seams,
            colour_detail_um=args.colour_detail_um,
            hairless_share=args.hairless_share,
            command=_command(args),
        )
    except DensitometryError as error:
        print(f"densitometry train-refiner: {error}", file=sys.stderr)
        return 2
    return 0


# --------------------------------------------------------------------------- data


def render_sample(
    rng: np.random.Generator,
    config,
    *,
    scenario=None,
    scenarios=None,
    size_px=SAMPLE_PX,
    seams=False,
    hairless_share=0.0,
):
    """One training sample at model scale: (features (C, S, S), hair (S, S), centreline (S, S)), float32.

    Without ``scenario`` one is drawn from ``scenarios`` (name -> sampling weight; default
    `TRAIN_SCENARIOS`). The photo's pixel size is the scenario's own half of the time and log-uniform
    in 2-10 µm/px otherwise; tone, noise and JPEG get an extra random perturbation before the features
    are computed. With ``seams`` the hair target leaves out the seams between touching parallel hairs
    (`_touching_seams`).
    A share ``hairless_share`` of the photos shows the scenario's skin, camera and artefacts with no hair
    (`benchmarks/hairless.py` measures what a reading takes for hair there).
    """
    from .. import synthetic
    from ..calibration import Calibration
    from ..preprocess import preprocess
    from ..segment import ridge_filter
    from .features import colour_detail, feature_channels, luma_contrast, resample

    scenarios = TRAIN_SCENARIOS if scenarios is None else scenarios
    names = list(scenarios)
    if scenario is None:
        weights = np.array([scenarios[n] for n in names], dtype=float)
        scenario = names[rng.choice(len(names), p=weights / weights.sum())]
    um_per_px = float(np.exp(rng.uniform(np.log(2.0), np.log(10.0)))) if rng.random() < 0.5 else None
    if um_per_px is None:
        probe = synthetic.scene_parameters(scenario, np.random.default_rng(int(rng.integers(2**31))))
        um_per_px = probe.um_per_px
    model_um = config.model_um_per_px(um_per_px)
    native_px = int(math.ceil(size_px * model_um / um_per_px)) + 2
    # A hairless photo shows the scenario's skin, camera and artefacts: every line the network draws is false.
    hairless = hairless_share > 0 and rng.random() < hairless_share
    photo = synthetic.generate(
        scenario,
        seed=int(rng.integers(2**31)),
        width_px=native_px,
        height_px=native_px,
        um_per_px=um_per_px,
        hair_density_per_cm2=0.0 if hairless else None,
    )
    image = _perturb(photo.image, rng)
    rgb = image.astype(np.float32) / 255.0
    calibration = Calibration(photo.um_per_px)
    prepared = preprocess(rgb, calibration)
    contrast = luma_contrast(prepared)
    ridge = ridge_filter(contrast, calibration)
    if config.colour_detail_um > 0:
        rgb = colour_detail(rgb, prepared.blue_weight, calibration.px(config.colour_detail_um))
    planes = feature_channels(rgb, contrast, ridge.strength, config)
    centreline = cv2.dilate(photo.centerline_mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(
        np.float32
    )
    hair_target = photo.hair_mask
    if seams:
        hair_target = hair_target & ~_touching_seams(photo, margin_px=max(1.0, model_um / um_per_px))
    stack = np.concatenate([planes, hair_target[None].astype(np.float32), centreline[None]])
    stack = resample(stack, (size_px, size_px))
    features, hair, centre = stack[:-2], stack[-2], (stack[-1] > 0.3).astype(np.float32)
    return features.astype(np.float32), hair.astype(np.float32), centre


def _touching_seams(photo, *, margin_px=1.0, max_angle_deg=30.0):
    """Pixels where two nearly parallel hairs meet side by side, shape (H, W) of bool.

    Hairs of a follicular unit, or crossing at a shallow angle, touch along a stretch; a mask that holds
    them as one band has a single skeleton, so the network is taught to leave a seam there. Each hair is
    drawn ``margin_px`` wider on each side; a pixel is a seam where two such drawings overlap, the two
    hairs run within ``max_angle_deg`` of each other there (not a crossing, which must stay whole), and
    the pixel lies outside the core (the hair ``margin_px`` narrower on each side) of both.
    """
    height, width = photo.hair_mask.shape
    first_angle = np.zeros((height, width), np.float32)  # direction + 1 of the first hair drawn (0: none)
    in_core = np.zeros((height, width), bool)
    seam = np.zeros((height, width), bool)
    angle = np.empty((height, width), np.float32)
    core = np.empty((height, width), np.uint8)
    for hair in photo.hairs:
        points = np.asarray(hair.centerline_px, dtype=float)
        if len(points) < 2:
            continue
        diameter_px = hair.diameter_um / photo.um_per_px
        steps = np.diff(points, axis=0)
        directions = np.degrees(np.arctan2(steps[:, 0], steps[:, 1])) % 180.0
        xy = np.round(points[:, ::-1] * 16).astype(np.int32)  # cv2 points (x, y), 4 fractional bits
        angle.fill(0.0)
        wide = max(1, int(round(diameter_px + 2 * margin_px)))
        for k, direction in enumerate(directions.tolist()):
            cv2.line(angle, tuple(xy[k]), tuple(xy[k + 1]), direction + 1.0, wide, cv2.LINE_8, 4)
        core.fill(0)
        narrow = int(round(diameter_px - 2 * margin_px))
        if narrow >= 1:
            cv2.polylines(core, [xy], False, 1, narrow, cv2.LINE_8, 4)
        drawn = angle > 0
        both = drawn & (first_angle > 0)
        turn = np.abs(first_angle - angle)
        turn = np.minimum(turn, 180.0 - turn)
        seam |= both & (turn <= max_angle_deg) & (core == 0) & ~in_core
        first_angle = np.where(drawn & (first_angle == 0), angle, first_angle)
        in_core |= core > 0
    return seam


def _perturb(image, rng):
    """Extra tone, noise and JPEG randomisation on a uint8 RGB photo (returns a new array)."""
    out = image.astype(np.float32)
    if rng.random() < 0.4:
        out = out * rng.uniform(0.8, 1.2, size=3) + rng.uniform(-15, 15)
        gamma = rng.uniform(0.8, 1.25)
        out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** gamma
    if rng.random() < 0.25:
        out = out + rng.normal(0.0, rng.uniform(1.0, 8.0), size=out.shape)
    if rng.random() < 0.5:
        out = out + _colour_blotches(out.shape, rng)
    if rng.random() < 0.15:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if rng.random() < 0.25:
        ok, data = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 92))])
        if ok:
            out = np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
    return out


def _colour_blotches(shape, rng):
    """Smooth random colour variation with no brightness change, in grey levels, shape (H, W, 3).

    Real scalp photos from cheap microscopes carry blotchy chroma noise (sensor colour noise, chroma
    subsampling, denoising) a few pixels across, with 2-3 times the colour variation of our synthetic
    skin. A network trained without it learns that a faint colour streak is a blond hair and traces
    real skin; with it, colour alone is no evidence.
    """
    from ..synthetic._render import colour_blotches

    return colour_blotches(shape, rng, rng.uniform(1.5, 8.0), rng.uniform(1.0, 5.0))


def _producer(config_dict, seed, worker, samples, stop, seams=False, hairless_share=0.0, scenarios=None):
    """Background process: render samples forever into the queue (until ``stop`` is set)."""
    cv2.setNumThreads(1)
    from .config import RefinerConfig

    config = RefinerConfig.from_dict(config_dict)
    rng = np.random.default_rng(np.random.SeedSequence([seed, worker]))
    failures = 0
    while not stop.is_set():
        try:
            sample = render_sample(
                rng, config, scenarios=scenarios, seams=seams, hairless_share=hairless_share
            )
            failures = 0
        except Exception as error:  # noqa: BLE001 - one bad random scene must not stop training
            failures += 1
            print(f"train-refiner: skipped a sample ({type(error).__name__}: {error})", file=sys.stderr)
            if failures >= 20:
                raise RuntimeError("the synthetic renderer failed 20 times in a row") from error
            continue
        while not stop.is_set():
            try:
                samples.put(sample, timeout=0.5)
                break
            except queue.Full:
                continue


def _crops(pool, rng, batch, crop_px):
    """A batch of random crops with random flips and 90-degree rotations."""
    xs, hs, cs = [], [], []
    for _ in range(batch):
        features, hair, centre = pool[rng.integers(len(pool))]
        size = hair.shape[0]
        y, x = rng.integers(0, size - crop_px + 1, size=2)
        window = np.concatenate([features, hair[None], centre[None]])[:, y : y + crop_px, x : x + crop_px]
        window = np.rot90(window, k=int(rng.integers(4)), axes=(1, 2))
        if rng.random() < 0.5:
            window = window[:, :, ::-1]
        window = np.ascontiguousarray(window)
        xs.append(window[:-2])
        hs.append(window[-2])
        cs.append(window[-1])
    return np.stack(xs), np.stack(hs)[:, None], np.stack(cs)[:, None]


# --------------------------------------------------------------------------- training


def train(
    out,
    *,
    minutes=25.0,
    seed=0,
    batch=12,
    lr=3e-3,
    threads=1,
    workers=1,
    device="auto",
    scenarios=None,
    version="1.0.0",
    onnx=True,
    seams=False,
    colour_detail_um=0.0,
    hairless_share=0.0,
    command="",
    log=print,
):
    """Train a refiner for ``minutes`` of wall-clock time and write it to ``out``.

    ``device`` is the torch device of the training steps (see `densitometry.refiner.select_device`);
    ``scenarios`` maps scenario names to sampling weights (default `TRAIN_SCENARIOS`). The thresholds
    are fitted on held-out photos of `TRAIN_SCENARIOS` whatever the training mix, so that validation
    scores of different runs compare.

    Returns
    -------
    RefinerConfig
        The config written to ``out/refiner.json``.
    """
    from ..errors import ParameterError
    from ._torch import import_torch
    from .config import RefinerConfig
    from .device import select_device
    from .model import build_network, export_onnx, save_weights

    hairless_share = float(hairless_share)
    if not 0.0 <= hairless_share <= 1.0:
        raise ParameterError(f"hairless_share must be between 0 and 1, got {hairless_share!r}")
    scenarios = dict(TRAIN_SCENARIOS if scenarios is None else scenarios)
    _check_scenarios(scenarios)
    torch = import_torch()
    torch_device = select_device(device)
    torch.set_num_threads(max(1, int(threads)))
    torch.manual_seed(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = RefinerConfig(version=version, colour_detail_um=float(colour_detail_um))
    network = build_network(config).to(torch_device).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 999]))

    context = multiprocessing.get_context("spawn")
    samples, stop = context.Queue(maxsize=64), context.Event()
    producers = [
        context.Process(
            target=_producer,
            args=(config.to_dict(), seed, k, samples, stop, seams, hairless_share, scenarios),
            daemon=True,
        )
        for k in range(max(1, int(workers)))
    ]
    for process in producers:
        process.start()
    pool, pool_size, received = [], 400, 0
    budget_s = 60.0 * float(minutes)
    start = time.monotonic()
    step, running = 0, None
    try:
        while True:
            try:
                # Take what the renderers have made without waiting; once the pool is full, at most two
                # new samples per step, so the (blocked) renderers leave the CPU to the trainer.
                for _ in range(pool_size if len(pool) < pool_size else 2):
                    sample = samples.get(timeout=30.0) if not pool else samples.get_nowait()
                    received += 1
                    if len(pool) < pool_size:
                        pool.append(sample)
                    else:
                        pool[rng.integers(pool_size)] = sample
            except queue.Empty:
                pass
            if not pool:
                if not any(process.is_alive() for process in producers):
                    from ._torch import RefinerUnavailableError

                    raise RefinerUnavailableError("every renderer process stopped; see the messages above")
                continue
            elapsed = time.monotonic() - start
            if elapsed >= budget_s:
                break
            fraction = elapsed / budget_s
            warm = min(1.0, step / 200.0)
            for group in optimizer.param_groups:
                group["lr"] = lr * warm * 0.5 * (1.0 + math.cos(math.pi * fraction))
            x, hair, centre = (
                torch.from_numpy(a).to(torch_device) for a in _crops(pool, rng, batch, CROP_PX)
            )
            logits = network(x)
            loss = _loss(torch, logits, hair, centre)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            step += 1
            if step % 100 == 0:
                log(
                    f"step {step:6d}  {elapsed / 60:5.1f} min  loss {running:.4f}  photos {received}  pool {len(pool)}"
                )
    finally:
        stop.set()
        for process in producers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    network = network.cpu().eval()
    log(f"trained {step} steps on {received} rendered photos in {(time.monotonic() - start) / 60:.1f} min")

    weights_path = out / config.weights_file
    weights_sha = save_weights(network, weights_path)
    low, high, scores = fit_thresholds(network, config, seams=seams, log=log)
    training = {
        "command": command or f"densitometry train-refiner --out {out} --minutes {minutes:g} --seed {seed}",
        "seed": seed,
        "minutes": minutes,
        "seams": seams,
        "steps": step,
        "batch": batch,
        "crop_px": CROP_PX,
        "rendered_photos": received,
        "final_loss": running,
        "scenarios": scenarios,
        "hardware": f"{platform.machine()} {platform.processor() or ''} {multiprocessing.cpu_count()} cores, "
        f"{threads} torch thread(s), {workers} renderer process(es), {_device_name(torch, torch_device)}".replace(
            "  ", " "
        ),
        "torch": torch.__version__,
        "package_version": _package_version(),
        "validation": scores,
    }
    config = RefinerConfig.from_dict(
        {
            **config.to_dict(),
            "weights_sha256": weights_sha,
            "low_threshold": low,
            "high_threshold": high,
            "training": training,
        }
    )
    if onnx:
        try:
            onnx_path = out / "refiner.onnx"
            config = RefinerConfig.from_dict({**config.to_dict(), "onnx_file": onnx_path.name})
            onnx_sha = export_onnx(network, config, onnx_path)
            config = RefinerConfig.from_dict({**config.to_dict(), "onnx_sha256": onnx_sha})
        except Exception as error:  # noqa: BLE001 - the trained weights must be written whatever the exporter does
            config = RefinerConfig.from_dict({**config.to_dict(), "onnx_file": ""})
            (out / "refiner.onnx").unlink(missing_ok=True)
            log(f"no ONNX export ({type(error).__name__}: {error})")
    config.save(out / "refiner.json")
    log(f"wrote {weights_path} and {out / 'refiner.json'} (thresholds {low:.2f}/{high:.2f})")
    return config


def _scenario_weight(text: str) -> tuple[str, float]:
    """``NAME`` or ``NAME=WEIGHT`` from the command line, as (name, weight)."""
    name, _, weight = text.partition("=")
    try:
        return name, float(weight) if weight else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight after '=' must be a number") from None


def _check_scenarios(scenarios: dict) -> None:
    """Known scenario names with finite, non-negative weights, not all zero."""
    from .. import synthetic
    from ..errors import ParameterError

    unknown = sorted(set(scenarios) - set(synthetic.SCENARIOS))
    if unknown:
        raise ParameterError(
            f"unknown training scenario(s) {unknown}; choose from {list(synthetic.SCENARIOS)}"
        )
    weights = np.array(list(scenarios.values()), dtype=float)
    if not weights.size or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ParameterError(f"training scenario weights must be finite, >= 0 and not all 0, got {scenarios}")


def _device_name(torch, device) -> str:
    """The trainer's device in words, for the training record."""
    if device.type == "cuda":
        return f"trained on {torch.cuda.get_device_name(device)}"
    return f"trained on {device.type}"


def _loss(torch, logits, hair, centre):
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    probability = torch.sigmoid(logits[:, :1])
    intersection = (probability * hair).sum(dim=(1, 2, 3))
    dice = 1.0 - (2.0 * intersection + 1.0) / (probability.sum(dim=(1, 2, 3)) + hair.sum(dim=(1, 2, 3)) + 1.0)
    return bce(logits[:, :1], hair) + dice.mean() + 0.5 * bce(logits[:, 1:], centre)


def fit_thresholds(network, config, *, photos=36, seams=False, log=print):
    """Hysteresis thresholds maximising the pixel F1 of the hair mask on held-out synthetic photos.

    Returns (low, high, scores) where scores holds the F1 of the chosen pair and of the classic mask.
    """
    from skimage.filters import apply_hysteresis_threshold

    from ._torch import import_torch
    from .infer import Refiner, hair_probability

    torch = import_torch()

    def run(batch):
        with torch.inference_mode():
            return network(torch.from_numpy(batch)).numpy()

    refiner = Refiner(config, "torch", "cpu", run)
    names = list(TRAIN_SCENARIOS)
    rng = np.random.default_rng(VALIDATION_SEED)
    pairs = [(lo, hi) for hi in (0.5, 0.6, 0.7, 0.8) for lo in (0.2, 0.3, 0.4, 0.5) if lo <= hi]
    counts = np.zeros((len(pairs), 3))
    classic = np.zeros(3)
    for k in range(photos):
        features, hair, _ = render_sample(
            rng, config, scenario=names[k % len(names)], size_px=256, seams=seams
        )
        probability = hair_probability(refiner, features)[0]
        truth = hair > 0.5
        for i, (lo, hi) in enumerate(pairs):
            mask = apply_hysteresis_threshold(probability, lo, hi)
            counts[i] += [np.sum(mask & truth), np.sum(mask & ~truth), np.sum(~mask & truth)]
        strength = features[config.input_channels.index("ridge_strength")] * config.input_scales[1]
        mask = apply_hysteresis_threshold(strength, 0.05, 0.12)
        classic += [np.sum(mask & truth), np.sum(mask & ~truth), np.sum(~mask & truth)]
    f1 = 2 * counts[:, 0] / np.maximum(2 * counts[:, 0] + counts[:, 1] + counts[:, 2], 1)
    best = int(np.argmax(f1))
    classic_f1 = 2 * classic[0] / max(2 * classic[0] + classic[1] + classic[2], 1)
    log(f"validation pixel F1 {f1[best]:.3f} at {pairs[best]} (classic ridge mask {classic_f1:.3f})")
    scores = {
        "photos": photos,
        "pixel_f1": round(float(f1[best]), 4),
        "classic_pixel_f1": round(float(classic_f1), 4),
        "note": "hair-mask F1 at model scale on held-out synthetic photos (all scenarios, 256 px)",
    }
    return float(pairs[best][0]), float(pairs[best][1]), scores


def _command(args) -> str:
    """The train-refiner command line that reproduces ``args``."""
    parts = [
        "densitometry train-refiner",
        f"--out {args.out}",
        f"--minutes {args.minutes:g}",
        f"--seed {args.seed}",
    ]
    defaults = {"batch": 12, "lr": 3e-3, "threads": 1, "workers": 1, "device": "auto", "version": "1.0.0"}
    parts += [f"--{k} {getattr(args, k)}" for k, v in defaults.items() if getattr(args, k) != v]
    if args.scenarios:
        parts += ["--scenarios", *(f"{name}={weight:g}" for name, weight in args.scenarios)]
    parts += ["--no-onnx"] if args.no_onnx else []
    parts += ["--seams"] if args.seams else []
    parts += [f"--colour-detail-um {args.colour_detail_um:g}"] if args.colour_detail_um else []
    parts += [f"--hairless-share {args.hairless_share:g}"] if args.hairless_share else []
    return " ".join(parts)


def _package_version():
    from .. import __version__

    return __version__


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m densitometry.refiner.train``) until the CLI registers it."""
    parser = argparse.ArgumentParser(
        prog="densitometry train-refiner",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
