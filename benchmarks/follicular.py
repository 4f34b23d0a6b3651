"""Follicular-unit benchmark: FU count and mean hairs per FU against the synthetic truth.

For each scenario, a few seeded synthetic photos are analysed and `follicular_units` is compared with
``photo.truth()`` (units inside the field with at least one counted hair). Targets: FU count within 5 %,
mean hairs per FU within 0.1.

Each scenario's summary also gives the share of the units found whose root point lies within 150 µm
of a true unit's opening (where the units are, not only how many).

Empty follicular openings (`densitometry.openings`): per scenario, the dots found, the share of them
within 80 µm of a follicular opening of the truth (any), the share within 80 µm of an opening inside the
field that no counted hair leaves (truly empty as seen), and the share of those empty openings found.

Usage::

    python benchmarks/follicular.py [--photos 5] [--first-seed 0] [--width 960 --height 720] [--cache DIR]
        [--true-hairs | --refine]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

SCENARIOS = ("follicular_units", "clinical", "miniaturised", "clipped", "artefacts", "low_contrast")


def _analysed(scenario, seed, width, height, cache, refine=False):
    import densitometry
    from densitometry import synthetic

    suffix = "_refined" if refine else ""
    path = cache / f"{scenario}_{seed}_{width}x{height}{suffix}.pkl" if cache else None
    if path is not None and path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    photo = synthetic.generate(scenario, seed=seed, width_px=width, height_px=height)
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px, refine=refine)
    item = (photo.truth(), photo.params.length_mode, result)
    if path is not None:
        cache.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(item, handle)
    return item


def _truth_result(truth, result, seed):
    """The analysis result with its hairs replaced by the true visible hairs (ends in random order).

    Isolates the root choice and the grouping from the hair detector's misses and false hairs.
    """
    import dataclasses

    import pandas as pd

    from densitometry.results import HAIR_COLUMNS

    rng = np.random.default_rng(seed)
    height, width = result.image_shape_px
    rows, centerlines = [], []
    for hair in truth["hairs"]:
        if not hair["counted"]:
            continue
        coords = np.asarray(hair["centerline_px"], float)
        inside = (
            (coords[:, 0] >= 0)
            & (coords[:, 0] <= height - 1)
            & (coords[:, 1] >= 0)
            & (coords[:, 1] <= width - 1)
        )
        # Longest run of points inside the field.
        best, start = (0, 0), None
        for i, flag in enumerate(np.append(inside, False)):
            if flag and start is None:
                start = i
            elif not flag and start is not None:
                best = max(best, (i - start, start), key=lambda b: b[0])
                start = None
        if best[0] < 2:
            continue
        coords = coords[best[1] : best[1] + best[0]]
        if rng.random() < 0.5:
            coords = coords[::-1]
        rows.append(
            {
                "hair_id": len(rows),
                "diameter_um": hair["diameter_um"],
                "length_um": hair["visible_length_um"],
                "thickness_class": result.parameters.classify(hair["diameter_um"]).value,
                "contrast": 1.0,
                "start_row_px": coords[0, 0],
                "start_col_px": coords[0, 1],
                "end_row_px": coords[-1, 0],
                "end_col_px": coords[-1, 1],
                "touches_border": bool(best[0] < len(inside)),
                "junction_count": 0,
                "diameter_sample_count": 1,
            }
        )
        centerlines.append(coords)
    hairs = pd.DataFrame(rows, columns=list(HAIR_COLUMNS))
    return dataclasses.replace(result, hairs=hairs, centerlines_px=tuple(centerlines))


def _positions(units) -> np.ndarray:
    return np.array([unit["position_px"] for unit in units], float).reshape(-1, 2)


def _inside_units(truth, *, with_hair):
    """The true units inside the field that a counted hair leaves (or, ``with_hair=False``, none does)."""
    counted = {hair["hair_id"] for hair in truth["hairs"] if hair["counted"]}
    return [
        unit
        for unit in truth["units"]
        if unit["inside_field"] and bool(counted.intersection(unit["hair_ids"])) == with_hair
    ]


def _near(points, targets, reach_px) -> np.ndarray:
    """Whether each of ``points`` (n, 2) lies within ``reach_px`` of one of ``targets`` (m, 2)."""
    if not len(points) or not len(targets):
        return np.zeros(len(points), bool)
    return np.hypot(*(points[:, None, :] - targets[None, :, :]).transpose(2, 0, 1)).min(axis=1) <= reach_px


def _opening_scores(truth, table, tolerance_um=80.0):
    """(found, on an opening, on an empty opening, empty openings in the field, of them found)."""
    every = _positions(truth["units"])
    empty = _positions(_inside_units(truth, with_hair=False))
    found = table[["row_px", "col_px"]].to_numpy(float).reshape(-1, 2)
    reach_px = tolerance_um / truth["um_per_px"]
    return (
        len(found),
        int(_near(found, every, reach_px).sum()),
        int(_near(found, empty, reach_px).sum()),
        len(empty),
        int(_near(empty, found, reach_px).sum()),
    )


def _placed_units(truth, table, tolerance_um=150.0):
    """(units found, of them within ``tolerance_um`` of a true unit inside the field with a counted hair)."""
    found = table[["row_px", "col_px"]].to_numpy(float).reshape(-1, 2)
    true_units = _positions(_inside_units(truth, with_hair=True))
    return (len(found), int(_near(found, true_units, tolerance_um / truth["um_per_px"]).sum()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=5, help="photos per scenario")
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first photo of each scenario")
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--spacing-um", type=float, default=150.0, help="max_unit_spacing_um")
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep analyses between runs")
    parser.add_argument(
        "--true-hairs",
        action="store_true",
        help="group the true visible hairs instead of the detected ones (tests roots and grouping alone)",
    )
    parser.add_argument(
        "--refine",
        action="store_true",
        help="analyse with the CNN refiner (refine=True; needs the refiner extra)",
    )
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    args = parser.parse_args(argv)

    from densitometry.follicular import follicular_units

    print(
        f"{'scenario':18s} {'seed':>4s} {'mode':>7s} {'FU':>4s} {'FUtrue':>6s} {'err%':>6s} "
        f"{'h/FU':>5s} {'true':>5s} {'diff':>6s} {'s':>5s}"
    )
    all_met = True
    opening_rows = []
    for scenario in args.scenarios:
        count_errors, mean_errors = [], []
        placed = [0, 0]  # units found, of them within 150 µm of a true unit
        dots = [0, 0, 0, 0, 0]  # found, on an opening, on an empty opening, empty openings, of them found
        for seed in range(args.first_seed, args.first_seed + args.photos):
            start = time.perf_counter()
            truth, mode, result = _analysed(
                scenario, seed, args.width, args.height, args.cache, refine=args.refine
            )
            if args.true_hairs:
                result = _truth_result(truth, result, seed)
            units = follicular_units(result, max_unit_spacing_um=args.spacing_um)
            elapsed = time.perf_counter() - start
            true_count = truth["follicular_unit_count"]
            true_mean = truth["hairs_per_unit_mean"] or float("nan")
            count_error = 100.0 * (units.unit_count - true_count) / max(true_count, 1)
            mean_error = units.hairs_per_unit_mean - true_mean
            count_errors.append(count_error)
            mean_errors.append(mean_error)
            dots = np.add(dots, _opening_scores(truth, units.empty_openings))
            placed = np.add(placed, _placed_units(truth, units.table))
            print(
                f"{scenario:18s} {seed:4d} {mode:>7s} {units.unit_count:4d} {true_count:6d} {count_error:6.1f} "
                f"{units.hairs_per_unit_mean:5.2f} {true_mean:5.2f} {mean_error:+6.2f} {elapsed:5.1f}"
            )
        count_mae = float(np.nanmean(np.abs(count_errors)))
        mean_mae = float(np.nanmean(np.abs(mean_errors)))
        met = count_mae <= 5.0 and mean_mae <= 0.1
        all_met &= met
        print(
            f"{scenario:18s} mean |FU count error| {count_mae:.1f} % (bias {np.nanmean(count_errors):+.1f} %), "
            f"mean |hairs/FU error| {mean_mae:.2f} (bias {np.nanmean(mean_errors):+.2f}); "
            f"targets 5 % / 0.1: {'met' if met else 'NOT met'}; units found at a true opening "
            f"{100 * placed[1] / max(placed[0], 1):.0f} % of {placed[0]}"
        )
        opening_rows.append((scenario, dots))
    print("all targets met" if all_met else "targets NOT met")
    print("\nempty follicular openings (dots found; share on an opening / on an empty one; empty ones found)")
    for scenario, (found, on_opening, on_empty, empty, empty_found) in [
        *opening_rows,
        ("all", np.sum([d for _, d in opening_rows], axis=0)),
    ]:
        print(
            f"{scenario:18s} found {found:4d}  on an opening {100 * on_opening / max(found, 1):3.0f} %  "
            f"on an empty opening {100 * on_empty / max(found, 1):3.0f} %  "
            f"empty openings {empty:4d}, found {100 * empty_found / max(empty, 1):3.0f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
