"""Before/after on real photos of an unchanged site: each photo against a re-shot copy of itself.

    python benchmarks/compare_real.py                 # every 2nd of the CC BY example photos
    python benchmarks/compare_real.py --every 1       # all of them
    python benchmarks/compare_real.py --folder my_photos/ --um-per-px 4

Nothing changed between the two "visits", so every hair called new or lost is a false change. The
copy is taken as a second visit would be (`densitometry.synthetic_pairs.reshot_pair`): the scene
rotated (up to 6 degrees), magnified (up to 3 %), shifted (up to 15 px), with another exposure and
white balance and saved as JPEG (quality 85); both photos are then cropped from that one scene, 13 %
off each side, so that neither shows made-up content at its edges. Prints per photo the matched, new
and lost hairs (of which seen only in the photos' difference), the delta density and the delta mean
diameter, and the totals; and, for contrast, how far the two photos' independent analyses in the
common field differ (``independent``: |after count - before count| / before count, what comparing two
separate analyses would have reported as a change). The photos of ``--folder`` default to the real
example photos (``../shared/data/scalp-microscope-ccby``, unlabelled, analysed at an assumed 5 µm/px).
One pixel size is given for both photos, and the alignment finds the copy's magnification
(``--keep-calibration``: the copy is analysed at the given pixel size, `densitometry.compare`'s
``scale_from_alignment=False``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REAL_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "scalp-microscope-ccby"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, default=REAL_PHOTOS, help="photos (*.jpg, *.png)")
    parser.add_argument("--every", type=int, default=2, help="take every N-th photo (default 2)")
    parser.add_argument("--um-per-px", type=float, default=5.0, help="assumed pixel size (default 5)")
    parser.add_argument(
        "--keep-calibration",
        action="store_true",
        help="analyse the copy at the given pixel size, not at the one the alignment measures",
    )
    args = parser.parse_args(argv)
    from densitometry import compare
    from densitometry.io import is_image_path, load_image
    from densitometry.synthetic_pairs import reshot_pair

    photos = sorted(p for p in args.folder.glob("*") if is_image_path(p))[:: max(1, args.every)]
    if not photos:
        print(f"no photos in {args.folder}", file=sys.stderr)
        return 2
    totals, diameter_changes_um, independent = np.zeros(4, dtype=int), [], []
    for index, path in enumerate(photos):
        before, after = reshot_pair(load_image(path).to_uint8(), seed=index)
        cmp = compare(before, after, um_per_px=args.um_per_px, scale_from_alignment=not args.keep_calibration)
        row = (cmp.new_hairs, cmp.lost_hairs, cmp.new_untraced, cmp.lost_untraced)
        totals += row
        diameter_changes_um.append(cmp.delta_mean_diameter_um)
        counts = cmp.before.hair_count, cmp.after.hair_count
        independent.append(abs(counts[1] - counts[0]) / counts[0] if counts[0] else np.nan)
        print(
            f"{path.name:<12} registered {cmp.registered!s:<5} matched {cmp.matched_hairs:>3}  new {row[0]} "
            f"({row[2]} untraced)  lost {row[1]} ({row[3]} untraced)  delta density "
            f"{cmp.delta_density_percent:+.1f} %  delta mean diameter {cmp.delta_mean_diameter_um:+.1f} µm  "
            f"independent {counts[0]} -> {counts[1]}"
        )
    changed = "new {} ({} untraced), lost {} ({} untraced)".format(*totals[[0, 2, 1, 3]])
    print(f"\n{len(photos)} unchanged sites: {changed} false changes in all")
    changes_um = np.abs(np.array(diameter_changes_um, dtype=float))
    print(
        f"|delta mean diameter|: median {np.nanmedian(changes_um):.1f} µm, within 2 µm in "
        f"{int(np.sum(changes_um <= 2.0))} of {len(photos)}"
    )
    independent = np.array(independent, dtype=float)
    print(
        "independent analyses in the common field: |count change| median "
        f"{100 * np.nanmedian(independent):.1f} %, over 1 % in {int(np.sum(independent > 0.01))} of {len(photos)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
