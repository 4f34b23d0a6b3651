"""``densitometry compare``: before/after of two photos, or change over many visits from a table.

``densitometry compare BEFORE AFTER --um-per-px 5`` prints the comparison as JSON (``--change-map
PNG`` also draws the new, lost and grown hairs on the aligned after photo).
``densitometry compare --visits visits.csv --output DIR`` reads columns ``subject, site, visit, date,
image, um_per_px`` (image paths relative to the table), compares every visit with the subject's and
site's first visit (by date), and writes ``changes.csv`` (one row per subject, site and follow-up
visit), ``trend_<subject>.png`` (density and mean diameter over time per site) and
``change_<subject>_<site>_<visit>.png`` (the new and lost hairs of each aligned follow-up visit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Exit codes (as `densitometry.cli`).
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

VISIT_COLUMNS = ("subject", "site", "visit", "date", "image", "um_per_px")


def add_arguments(parser) -> None:
    """Add the ``compare`` options to an argparse (sub)parser."""
    parser.add_argument("before", nargs="?", help="before photo (with AFTER; or use --visits)")
    parser.add_argument("after", nargs="?", help="after photo of the same site")
    parser.add_argument("--um-per-px", type=float, help="micrometres per pixel of both photos")
    parser.add_argument(
        "--after-um-per-px", type=float, help="micrometres per pixel of the after photo, if different"
    )
    parser.add_argument(
        "--keep-calibration",
        action="store_true",
        help="analyse the after photo at its given pixel size even where the alignment measures another "
        "magnification (by default the after photo's pixel size is taken from the alignment)",
    )
    parser.add_argument("--interval-days", type=float, help="days between the photos (growth per hair)")
    parser.add_argument(
        "--change-map",
        type=Path,
        metavar="PNG",
        help="also write the change map: new hairs (solid), lost hairs (dashed) and grown stretches drawn "
        "on the aligned after photo",
    )
    parser.add_argument("--visits", type=Path, help=f"CSV table with columns {', '.join(VISIT_COLUMNS)}")
    parser.add_argument(
        "--region",
        metavar="MASK",
        help="mask image of the photos' size, white where to analyse, for every photo (leave out a "
        "device's burned-in text or scale bar, which sits at the same place in each frame)",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("densitometry_visits"), help="folder for --visits outputs"
    )


def run(args) -> int:
    """Run the ``compare`` subcommand; returns the exit code."""
    if args.visits is not None:
        if args.before or args.after:
            print("give either BEFORE AFTER or --visits, not both", file=sys.stderr)
            return EXIT_USAGE
        return _run_visits(
            args.visits,
            args.output,
            region=args.region,
            scale_from_alignment=not args.keep_calibration,
        )
    if not (args.before and args.after):
        print("give BEFORE and AFTER photos, or --visits TABLE", file=sys.stderr)
        return EXIT_USAGE
    from .compare import compare
    from .errors import DensitometryError

    calibration = (
        {"um_per_px": args.um_per_px}
        if args.after_um_per_px is None
        else {"before_um_per_px": args.um_per_px, "after_um_per_px": args.after_um_per_px}
    )
    try:
        comparison = compare(
            args.before,
            args.after,
            interval_days=args.interval_days,
            region=args.region,
            scale_from_alignment=not args.keep_calibration,
            **calibration,
        )
    except DensitometryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(comparison.to_dict(), indent=2))  # first: the numbers are kept whatever follows
    if args.change_map is not None:
        from .batch_journal import atomic_write_bytes
        from .io import encode_png

        try:
            atomic_write_bytes(args.change_map, encode_png(comparison.change_map()))
        except OSError as error:
            print(f"error: cannot write the change map {args.change_map}: {error}", file=sys.stderr)
            return EXIT_SOME_FAILED
    return EXIT_OK


def compare_visits(table, *, base_dir=None, region=None, change_map_dir=None, scale_from_alignment=True):
    """Compare each follow-up visit with the first visit of the same subject and site.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns `VISIT_COLUMNS`; ``date`` in ISO format, ``image`` absolute or relative to ``base_dir``.
    region : str, os.PathLike or ndarray, optional
        The part of every photo to analyse (``region`` of `densitometry.compare`); a photo of another
        size fails its row with the reason.
    change_map_dir : str or os.PathLike, optional
        Write each aligned follow-up visit's change map (`densitometry.compare.Comparison.change_map`)
        here as ``change_<subject>_<site>_<visit>.png`` (column ``change_map``), as it is computed.
    scale_from_alignment : bool, optional
        As `densitometry.compare.compare`: each visit's pixel size relative to the baseline's is taken
        from the alignment (column ``um_per_px_used``); False keeps the table's ``um_per_px``.

    Returns
    -------
    pandas.DataFrame
        One row per subject, site and visit (the baseline row has zero changes), with the density and
        mean diameter of the hairs present at each visit in their common field (the joint count of
        `densitometry.compare.Comparison`, so ``delta_density_per_cm2`` is exactly their difference),
        the deltas, and matched/new/lost hairs and the hairs one analysis missed.
    """
    import pandas as pd

    from .batch_journal import atomic_write_bytes
    from .compare import compare
    from .errors import DensitometryError, ParameterError
    from .io import encode_png

    missing = [c for c in VISIT_COLUMNS if c not in table.columns]
    if missing:
        raise ParameterError(f"visits table lacks column(s) {missing}; needs {list(VISIT_COLUMNS)}")
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    table = table.copy()
    table["date"] = pd.to_datetime(table["date"])
    rows = []
    for (subject, site), group in table.groupby(["subject", "site"], sort=True):
        group = group.sort_values("date")
        baseline = group.iloc[0]
        for _, visit in group.iterrows():
            row = {
                "subject": subject,
                "site": site,
                "baseline_visit": baseline["visit"],
                "visit": visit["visit"],
                "date": visit["date"].date().isoformat(),
                "days": int((visit["date"] - baseline["date"]).days),
                "error": "",
            }
            try:
                result = compare(
                    _path(baseline["image"], base_dir),
                    _path(visit["image"], base_dir),
                    before_um_per_px=float(baseline["um_per_px"]),
                    after_um_per_px=float(visit["um_per_px"]),
                    interval_days=max(1, row["days"]) if row["days"] > 0 else None,
                    region=region,
                    scale_from_alignment=scale_from_alignment,
                )
            except (DensitometryError, OSError, ValueError) as error:  # one bad photo: reported per row
                row["error"] = f"{type(error).__name__}: {error}"
                rows.append(row)
                continue
            row.update(
                registered=result.registered,
                overlap_area_cm2=result.overlap_area_cm2,
                um_per_px_used=result.after_result.um_per_px,
                baseline_density_per_cm2=result.before_density_per_cm2,
                density_per_cm2=result.after_density_per_cm2,
                delta_density_per_cm2=result.delta_density_per_cm2,
                delta_density_percent=result.delta_density_percent,
                baseline_mean_diameter_um=result.before_mean_diameter_um,
                mean_diameter_um=result.after_mean_diameter_um,
                delta_mean_diameter_um=result.delta_mean_diameter_um,
                delta_terminal_fraction=result.delta_terminal_fraction,
                matched_hairs=result.matched_hairs,
                new_hairs=result.new_hairs,
                lost_hairs=result.lost_hairs,
                missed_in_baseline=result.missed_in_before,
                missed_in_visit=result.missed_in_after,
                vellus_to_terminal=result.vellus_to_terminal,
                warnings="; ".join(result.warnings),
                change_map="",
            )
            if change_map_dir is not None and result.registered and visit["visit"] != baseline["visit"]:
                name = f"change_{_safe(subject)}_{_safe(site)}_{_safe(visit['visit'])}.png"
                try:
                    atomic_write_bytes(Path(change_map_dir) / name, encode_png(result.change_map()))
                    row["change_map"] = name
                except OSError as error:  # the numbers are kept; the row says why the picture is not
                    row["error"] = f"change map not written: {error}"
            rows.append(row)
    return pd.DataFrame(rows)


def plot_trends(changes, path, *, subject) -> None:
    """Write a PNG of density and mean diameter over time, one line per site, for one subject."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = changes[changes["subject"] == subject]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True)
    for site, group in data.groupby("site"):
        group = group.sort_values("days")
        axes[0].plot(group["days"], group["density_per_cm2"], marker="o", label=str(site))
        axes[1].plot(group["days"], group["mean_diameter_um"], marker="o", label=str(site))
    axes[0].set(xlabel="days since baseline", ylabel="density (hairs/cm²)", title=f"{subject}: density")
    axes[1].set(xlabel="days since baseline", ylabel="mean diameter (µm)", title=f"{subject}: diameter")
    axes[0].legend(title="site")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _run_visits(table_path: Path, output: Path, *, region=None, scale_from_alignment=True) -> int:
    import pandas as pd

    from .errors import DensitometryError

    try:
        table = pd.read_csv(table_path)
        changes = compare_visits(
            table,
            base_dir=table_path.parent,
            region=region,
            change_map_dir=output,
            scale_from_alignment=scale_from_alignment,
        )
    except (OSError, ValueError, DensitometryError) as error:
        print(f"error: cannot use visits table {table_path}: {error}", file=sys.stderr)
        return EXIT_USAGE
    from .batch_journal import atomic_writer

    output.mkdir(parents=True, exist_ok=True)
    with atomic_writer(output / "changes.csv", newline="", encoding="utf-8") as handle:
        changes.to_csv(handle, index=False)
    for subject in changes["subject"].unique():
        plot_trends(changes, output / f"trend_{_safe(subject)}.png", subject=subject)
    failed = int((changes["error"] != "").sum())
    print(f"wrote {output / 'changes.csv'} ({len(changes)} rows, {failed} failed), trend plots, change maps")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _path(value, base_dir: Path) -> Path:
    path = Path(str(value))
    return path if path.is_absolute() else base_dir / path


def _safe(value) -> str:
    text = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(value))
    return text or "subject"
