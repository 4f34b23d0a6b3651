"""Before/after accuracy on synthetic pairs with exact truth.

    python benchmarks/compare.py --seeds 3 --width 800 --height 600
    python benchmarks/compare.py --seeds 3 --seed-offset 3   # other pairs, to check a gain holds

For each scenario, change and seed a pair is rendered (`densitometry.synthetic_pairs.make_pair`) with a
random view change (shift, rotation up to 20 degrees, scale +-5 %, other exposure and white balance) and
compared. Reported per pair: registration error (largest corner error, px), delta density (percent) and
delta mean diameter (µm) measured vs true (in the common field), the independent counts of both photos
(ind b/a), the joint counts of hairs present at each visit (b/a) against the truth, and matched / new /
lost hairs and the hairs one analysis missed but the other photo shows (miss b/a). Targets:
registration < 2 px, delta density within 2 percentage points, delta diameter within 2 µm, and
|delta density| <= 1 % when nothing changed.

Each photo is given its true pixel size (the after photo's differs by the view's scale); with
``--one-calibration`` both are given the before photo's, as a clinic with one device would, and the
after photo's magnification is the alignment's to find (`densitometry.compare`'s
``scale_from_alignment``).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from densitometry.compare import compare
from densitometry.synthetic_pairs import CHANGES, make_pair


def corner_error_px(found, true, width, height):
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]], float)
    return float(np.abs(corners @ np.asarray(found).T - corners @ np.asarray(true).T)[:, :2].max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", nargs="+", default=["clinical", "clean"])
    parser.add_argument("--changes", nargs="+", default=list(CHANGES), choices=CHANGES)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--seed-offset", type=int, default=0, help="first seed (check other pairs than the usual ones)"
    )
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=600)
    parser.add_argument("--refine", action="store_true", help="analyse with the CNN refiner (refine=True)")
    parser.add_argument(
        "--one-calibration",
        action="store_true",
        help="give both photos the before photo's pixel size (the alignment finds the after's)",
    )
    args = parser.parse_args(argv)
    header = (
        f"{'scenario':<10} {'change':<10} {'seed':>4} {'reg':>3} {'err_px':>6} {'dD%':>6} {'true':>6} "
        f"{'miss_pp':>7} {'dDiam':>6} {'true':>6} {'miss_um':>7} {'ind b/a':>7} {'b/a':>7} {'true':>7} "
        f"{'m/n/l':>9} {'miss b/a':>8} {'s':>5}"
    )
    print(header)
    summary = {}
    for scenario in args.scenarios:
        for change in args.changes:
            for seed in range(args.seed_offset, args.seed_offset + args.seeds):
                rng = np.random.default_rng([seed, 4242])
                view = {
                    "rotation_deg": float(rng.uniform(-20, 20)),
                    "shift_px": (
                        float(rng.uniform(-0.15, 0.15) * args.height),
                        float(rng.uniform(-0.15, 0.15) * args.width),
                    ),
                    "scale": float(rng.uniform(0.95, 1.05)),
                    "exposure": float(rng.uniform(0.8, 1.15)),
                    "white_balance": tuple(float(v) for v in rng.uniform(0.9, 1.1, 3)),
                }
                start = time.perf_counter()
                before, after, truth = make_pair(
                    scenario, seed=seed, width_px=args.width, height_px=args.height, change=change, **view
                )
                cmp = compare(
                    before.image,
                    after,
                    before_um_per_px=truth["before_um_per_px"],
                    after_um_per_px=truth["before_um_per_px" if args.one_calibration else "after_um_per_px"],
                    refine=args.refine,
                )
                seconds = time.perf_counter() - start
                err = corner_error_px(cmp.transform, truth["transform"], args.width, args.height)
                miss_pp = cmp.delta_density_percent - truth["delta_density_percent"]
                miss_um = cmp.delta_mean_diameter_um - truth["delta_mean_diameter_um"]
                summary.setdefault((scenario, change), []).append(
                    (err, miss_pp, miss_um, cmp.delta_density_percent)
                )
                print(
                    f"{scenario:<10} {change:<10} {seed:>4} {int(cmp.registered):>3} {err:>6.2f} "
                    f"{cmp.delta_density_percent:>6.1f} {truth['delta_density_percent']:>6.1f} {miss_pp:>7.1f} "
                    f"{cmp.delta_mean_diameter_um:>6.1f} {truth['delta_mean_diameter_um']:>6.1f} {miss_um:>7.1f} "
                    f"{cmp.before.hair_count:>3}/{cmp.after.hair_count:<3} "
                    f"{cmp.hairs_present_before:>3}/{cmp.hairs_present_after:<3} "
                    f"{truth['before']['hair_count']:>3}/{truth['after']['hair_count']:<3} "
                    f"{cmp.matched_hairs:>3}/{cmp.new_hairs}/{cmp.lost_hairs:<3} "
                    f"{cmp.missed_in_before:>4}/{cmp.missed_in_after:<3} {seconds:>5.1f}"
                )
    print("\nper scenario and change: median |err| px, median |miss| pp, median |miss| µm, pass rates")
    for (scenario, change), rows in summary.items():
        err, pp, um, dd = (np.abs(np.array(col, dtype=float)) for col in zip(*rows, strict=True))
        ok_pp = np.mean(pp <= 2.0) if change != "none" else np.mean(dd <= 1.0)
        print(
            f"{scenario:<10} {change:<10} reg {np.median(err):5.2f} px (<2: {np.mean(err < 2):.0%})  "
            f"density miss {np.nanmedian(pp):5.1f} pp (ok {ok_pp:.0%})  "
            f"diameter miss {np.nanmedian(um):5.1f} µm (<=2: {np.mean(um <= 2):.0%})"
        )
    rows = [(change, r) for (_, change), group in summary.items() for r in group]
    density_ok = sum(abs(r[1]) <= 2.0 for _, r in rows)
    none_ok = sum(abs(r[3]) <= 1.0 for change, r in rows if change == "none")
    diameter_ok = sum(abs(r[2]) <= 2.0 for _, r in rows)
    print(
        f"\npasses: registration < 2 px {sum(r[0] < 2 for _, r in rows)}/{len(rows)}; delta density within "
        f"2 pp {density_ok}/{len(rows)}; no change |delta density| <= 1 % "
        f"{none_ok}/{sum(change == 'none' for change, _ in rows)}; delta diameter within 2 µm "
        f"{diameter_ok}/{len(rows)}"
    )
    return 0 if all(math.isfinite(r[0]) for rows in summary.values() for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
