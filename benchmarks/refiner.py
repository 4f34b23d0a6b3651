"""Benchmark the CNN refiner against the classic pipeline on synthetic photos with exact truth.

Per scenario: median |count error| % (against ``photo.truth()["hair_count"]``) and mean |diameter error|
µm (mean measured diameter against the truth mean diameter), classic (refine=False) vs refined
(refine=True), the share of the grey/white hairs found by each (salt-and-pepper hair: the classic reading
takes one polarity per photo; `densitometry.validation.hair_recall`), plus the time per photo on the given
number of CPU threads.

    python benchmarks/refiner.py --photos 10 --width 1280 --height 960 --threads 1

Photos are rendered once into ``--cache`` (PNG + truth JSON) and reused. Where the unlabelled real
example photos are found (``--real``, default ``../shared/data/scalp-microscope-ccby``), refined and classic
counts on them are compared too: a model that finds far more hairs than classic there is tracing skin.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HARD = ("grey_hair", "low_contrast", "blur_noise", "artefacts", "dense_crossings")
#: Benchmark seeds start here (the training stream draws its seeds at random from 0..2**31).
SEED_BASE = 5_000_000
#: Unlabelled real photos next to a checkout (absent in a user's clone: the check is then skipped).
REAL_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "scalp-microscope-ccby"


def photos(scenario, count, width, height, cache: Path):
    """Yield (image uint8, truth dict) for ``count`` seeded photos of a scenario, rendering on a miss."""
    import cv2

    from densitometry import synthetic

    for k in range(count):
        stem = f"{scenario}_{width}x{height}_{SEED_BASE + k}"
        image_path, truth_path = cache / f"{stem}.png", cache / f"{stem}.json"
        if not (image_path.is_file() and truth_path.is_file()):
            photo = synthetic.generate(scenario, seed=SEED_BASE + k, width_px=width, height_px=height)
            photo.save(cache, stem, format="png")
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)[..., ::-1].copy()
        yield stem, image, json.loads(truth_path.read_text())


def evaluate(image, truth, *, refiner):
    """Classic and refined results of one photo, with timings."""
    import densitometry
    from densitometry.calibration import Calibration
    from densitometry.preprocess import preprocess
    from densitometry.refiner import probability_map
    from densitometry.refiner.features import luma_contrast
    from densitometry.segment import ridge_filter
    from densitometry.validation import hair_recall

    um_per_px = truth["um_per_px"]
    row = {"truth_count": truth["hair_count"], "truth_diameter_um": truth["mean_diameter_um"]}
    for mode in ("classic", "refined"):
        start = time.perf_counter()
        result = densitometry.analyze(image, um_per_px=um_per_px, refine=mode == "refined")
        row[f"{mode}_s"] = time.perf_counter() - start
        row[f"{mode}_count"] = result.hair_count
        row[f"{mode}_diameter_um"] = (
            float(result.hairs["diameter_um"].mean()) if result.hair_count else np.nan
        )
        recall = hair_recall(result.centerlines_px, truth)
        row["true_grey_white"] = recall["true_grey_white_count"]
        row[f"{mode}_grey_white_found"] = recall["grey_white_found"]
    # The network alone (features, resampling, inference, resize back), on the same refiner.
    calibration = Calibration(um_per_px)
    rgb = image.astype(np.float32) / 255
    contrast = luma_contrast(preprocess(rgb, calibration))
    ridge = ridge_filter(contrast, calibration)
    start = time.perf_counter()
    probability_map(rgb, contrast, ridge.strength, calibration, refiner=refiner)
    row["network_s"] = time.perf_counter() - start
    return row


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per-scenario scores (and an 'all' row)."""
    table = table.copy()
    for mode in ("classic", "refined"):
        table[f"{mode}_count_err_pct"] = (
            100 * (table[f"{mode}_count"] - table.truth_count).abs() / table.truth_count
        )
        table[f"{mode}_diam_err_um"] = (table[f"{mode}_diameter_um"] - table.truth_diameter_um).abs()

    def scores(group):
        return pd.Series(
            {
                "photos": len(group),
                "truth_count": group.truth_count.mean(),
                "classic_count_err_pct": group.classic_count_err_pct.median(),
                "refined_count_err_pct": group.refined_count_err_pct.median(),
                "classic_diam_err_um": group.classic_diam_err_um.mean(),
                "refined_diam_err_um": group.refined_diam_err_um.mean(),
                "classic_s": group.classic_s.median(),
                "refined_s": group.refined_s.median(),
                "network_s": group.network_s.median(),
                # Grey/white hairs among the counted ones, and the share of them found (pooled).
                "grey_white_hairs": group.true_grey_white.sum(),
                "classic_grey_white_recall": _pooled(group.classic_grey_white_found, group.true_grey_white),
                "refined_grey_white_recall": _pooled(group.refined_grey_white_found, group.true_grey_white),
            }
        )

    rows = {name: scores(group) for name, group in table.groupby("scenario", sort=False)}
    rows["all"] = scores(table)
    return pd.DataFrame(rows).T


def _pooled(found, total):
    return found.sum() / total.sum() if total.sum() else np.nan


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10, help="photos per scenario")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=960)
    parser.add_argument("--scenarios", nargs="*", default=None, help="default: all")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch, onnxruntime, OpenCV)")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument("--model-dir", type=Path, default=None, help="default: the shipped model")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "densitometry-refiner-bench"
    )
    parser.add_argument("--out", type=Path, default=None, help="CSV of per-photo rows")
    parser.add_argument("--render-only", action="store_true", help="only render the photos into the cache")
    parser.add_argument(
        "--real",
        type=Path,
        default=REAL_PHOTOS if REAL_PHOTOS.is_dir() else None,
        help="folder of unlabelled real photos: refined vs classic counts (a check for hallucinations)",
    )
    parser.add_argument("--real-um-per-px", type=float, default=7.0, help="assumed scale of the real photos")
    args = parser.parse_args(argv)
    if args.real is not None and not args.real.is_dir():
        parser.error(f"--real {args.real}: not a folder")

    import cv2
    import torch

    from densitometry import synthetic
    from densitometry.refiner import infer, load_refiner

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    (args.cache / ".gitignore").write_text("*\n")  # never commit rendered photos
    scenarios = args.scenarios or list(synthetic.SCENARIOS)
    if args.render_only:
        for scenario in scenarios:
            for _ in photos(scenario, args.photos, args.width, args.height, args.cache):
                pass
        return 0
    refiner = load_refiner(args.model_dir, backend=args.backend, num_threads=args.threads)
    # analyze(refine=True) takes the module's cached default refiner: point it at this one.
    infer._default_refiner = lambda: refiner
    print(
        f"refiner {refiner.config.version} backend={refiner.backend} threads={args.threads}", file=sys.stderr
    )
    rows = []
    for scenario in scenarios:
        for stem, image, truth in photos(scenario, args.photos, args.width, args.height, args.cache):
            if not truth["hair_count"]:
                continue
            row = {"scenario": scenario, "photo": stem, **evaluate(image, truth, refiner=refiner)}
            rows.append(row)
            print(
                f"{stem}: truth {row['truth_count']} classic {row['classic_count']} refined {row['refined_count']}"
                f"  network {row['network_s']:.2f}s",
                file=sys.stderr,
            )
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    if _has_tabulate():
        print(summarise(table).to_markdown(floatfmt=".2f"))
    else:
        with pd.option_context("display.width", None, "display.max_columns", None):
            print(summarise(table).round(2))
    if args.real:
        real_photo_check(args.real, args.real_um_per_px)
    return 0


def real_photo_check(folder: Path, um_per_px: float) -> None:
    """Refined against classic hair counts on unlabelled real photos.

    There is no truth, but a refiner that finds far more hairs than the classic pipeline on most real
    photos is tracing skin texture (a model trained on phantoms can score well there and still do this).
    The ratio is taken as (refined + 5) / (classic + 5) so that nearly empty photos do not dominate.
    """
    import densitometry

    ratios = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        classic = densitometry.analyze(path, um_per_px=um_per_px).hair_count
        refined = densitometry.analyze(path, um_per_px=um_per_px, refine=True).hair_count
        ratios.append((refined + 5) / (classic + 5))
        print(f"{path.name}: classic {classic} refined {refined}", file=sys.stderr)
    if ratios:
        ratios = np.array(ratios)
        print(
            f"real photos ({len(ratios)}, {folder}, assumed {um_per_px:g} µm/px): refined / classic count "
            f"median {np.median(ratios):.2f}, > 2x on {int(np.sum(ratios > 2))}, < 0.5x on {int(np.sum(ratios < 0.5))}"
        )


def _has_tabulate():
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
