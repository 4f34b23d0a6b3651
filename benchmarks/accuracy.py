"""Accuracy on synthetic photos with exact truth, per scenario, against the naive pipeline.

    python benchmarks/accuracy.py                    # 8 photos per scenario, 1280x960
    python benchmarks/accuracy.py -n 3 --size 640 480 --scenario clean clinical --no-naive

Prints, per scenario: median |count error| %, the median signed count error (``signed%``: negative
where hairs are missed or merged, positive where false hairs or broken pieces are counted), median
density error /cm², mean |mean-diameter error| µm, the diameter error hair by hair (``shaft um``: each
photo's median |measured - true| over the detected shafts that run along one true hair,
`densitometry.validation.shaft_diameter_errors`, averaged over the photos), mean |terminal-share
error| and mean |vellus-share error| (percentage points),
the number of grey/white hairs and the share of them found (`densitometry.validation.hair_recall`),
for densitometry and (count, diameter) for the naive frangi + Otsu + skeleton-components pipeline
(`benchmarks/naive.py`). Photos are rendered by
`densitometry.synthetic` with seeds 1000 + i (``--first-seed``), which the training of the CNN refiner
never uses. A last line pools all photos: median and mean |count error| % and mean |mean-diameter
error| µm and hair-by-hair diameter error µm. A scenario's median over 8 photos moves by several points from one seed set to the next;
the pooled figures, over 14 x 8 photos, are the ones to compare two versions by.

A second table takes the count errors apart (`densitometry.validation.count_breakdown`), pooled per
scenario as percent of the true hairs: found (once or more), merged (only along traces that went to
other hairs), missed, and the extra pieces and false hairs counted on top; count error = extra + false
- merged - missed.

A third table gives the diameter bias hair by hair (median over the photos of each photo's median
signed error, % of the true diameter) apart for translucent hairs (true centre opacity below 0.7:
blond, grey, white, whose profile follows their chord) and opaque ones (0.95 and up),
`densitometry.validation.shaft_diameter_bias_percent`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from naive import naive_analyze  # noqa: E402

from densitometry import AnalysisParameters, synthetic  # noqa: E402
from densitometry.validation import ValidationReport, check_photo  # noqa: E402

SEED_OFFSET = 1000


def evaluate(scenario, n, size, *, naive, refine=False, first_seed=SEED_OFFSET):
    """Per-photo error rows, and the `ValidationReport` of the same checks (for the pooled recall)."""
    parameters = AnalysisParameters(refine=refine)
    rows, checks = [], []
    for i in range(n):
        photo = synthetic.generate(scenario, seed=first_seed + i, width_px=size[0], height_px=size[1])
        check = check_photo(photo, parameters)
        checks.append(check)
        row = {
            "count_truth": check["true_hair_count"],
            "count_err_pct": abs(check["count_error_percent"]),
            "count_err_signed_pct": check["count_error_percent"],
            "density_err": abs(check["density_per_cm2"] - check["true_density_per_cm2"]),
            "diam_err_um": abs(check["diameter_error_um"]),
            "terminal_err_pp": abs(check["terminal_error_pp"]),
            "vellus_err_pp": 100 * abs(check["vellus_fraction"] - check["true_vellus_fraction"]),
            "shaft_err_um": check["shaft_diameter_error_um"],
            "seconds": check["seconds"],
        }
        if naive:
            count, mean_um, _ = naive_analyze(photo.image, photo.um_per_px)
            true_count = check["true_hair_count"]
            row["naive_count_err_pct"] = 100 * abs(count - true_count) / max(1, true_count)
            row["naive_diam_err_um"] = abs(mean_um - check["true_mean_diameter_um"])
        rows.append(row)
    return rows, ValidationReport.from_checks(scenario, parameters, checks)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=8, help="photos per scenario")
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 960), metavar=("W", "H"))
    parser.add_argument("--scenario", nargs="*", default=list(synthetic.SCENARIOS))
    parser.add_argument("--no-naive", action="store_true", help="skip the (slow) naive pipeline")
    parser.add_argument("--refine", action="store_true", help="use the CNN refiner")
    parser.add_argument(
        "--first-seed", type=int, default=SEED_OFFSET, help="seed of each scenario's first photo"
    )
    args = parser.parse_args(argv)
    header = (
        f"{'scenario':<18}{'hairs':>6}{'count%':>8}{'signed%':>8}{'dens/cm2':>9}{'diam um':>8}{'shaft um':>9}{'term pp':>8}"
        f"{'vell pp':>8}{'s/photo':>8}"
        f"{'grey/white':>11}{'found %':>8}"
    )
    if not args.no_naive:
        header += f"{'naive count%':>13}{'naive diam um':>14}"
    print(header)
    pooled, reports = [], []
    for scenario in args.scenario:
        rows, report = evaluate(
            scenario,
            args.n,
            args.size,
            naive=not args.no_naive,
            refine=args.refine,
            first_seed=args.first_seed,
        )
        pooled += rows
        reports.append(report)
        col = {k: np.array([r[k] for r in rows], float) for k in rows[0]}
        line = (
            f"{scenario:<18}{np.median(col['count_truth']):>6.0f}{np.median(col['count_err_pct']):>8.1f}"
            f"{np.median(col['count_err_signed_pct']):>+8.1f}"
            f"{np.median(col['density_err']):>9.1f}{np.nanmean(col['diam_err_um']):>8.1f}"
            f"{np.nanmean(col['shaft_err_um']):>9.1f}"
            f"{np.nanmean(col['terminal_err_pp']):>8.1f}{np.nanmean(col['vellus_err_pp']):>8.1f}"
            f"{np.mean(col['seconds']):>8.2f}"
        )
        grey_white = report.photos["true_grey_white_count"].sum()
        found = f"{100 * report.summary()['grey_white_recall']:.0f}" if grey_white else "-"
        line += f"{grey_white:>11.0f}{found:>8}"
        if not args.no_naive:
            line += (
                f"{np.median(col['naive_count_err_pct']):>13.1f}{np.nanmean(col['naive_diam_err_um']):>14.1f}"
            )
        print(line, flush=True)
    count_errors = np.array([row["count_err_pct"] for row in pooled], float)
    diameter_errors = np.array([row["diam_err_um"] for row in pooled], float)
    shaft_errors = np.array([row["shaft_err_um"] for row in pooled], float)
    print(
        f"all {len(pooled)} photos: median |count error| {np.median(count_errors):.1f} %, mean "
        f"{np.mean(count_errors):.1f} %; mean |diameter error| {np.nanmean(diameter_errors):.1f} µm, "
        f"hair by hair {np.nanmean(shaft_errors):.1f} µm"
    )
    pooled = ValidationReport("all", reports[0].parameters, pd.concat([report.photos for report in reports]))
    summaries = [(report.scenario, report.summary()) for report in [*reports, pooled]]
    print_breakdown(summaries)
    print_biases(summaries)
    return 0


def print_breakdown(summaries):
    """Per scenario and pooled ((scenario, `ValidationReport.summary`) pairs): the parts of the count
    error, in percent of the true hairs."""
    kinds = ("found", "merged", "missed", "extra_piece", "false")
    print(f"\n{'% of true hairs':<18}" + "".join(f"{kind.replace('_piece', ''):>8}" for kind in kinds))
    for scenario, summary in summaries:
        print(f"{scenario:<18}" + "".join(f"{summary[f'{kind}_percent']:>8.1f}" for kind in kinds))


def print_biases(summaries):
    """Per scenario and pooled: the median diameter bias hair by hair of translucent and opaque hairs."""
    print(f"\n{'diameter bias %':<18}{'translucent':>12}{'opaque':>8}")
    for scenario, summary in summaries:
        print(
            f"{scenario:<18}{summary['median_translucent_shaft_bias_percent']:>+12.1f}"
            f"{summary['median_opaque_shaft_bias_percent']:>+8.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
