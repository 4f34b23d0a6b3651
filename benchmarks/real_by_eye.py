"""Counts on real photos against hair counts made by eye (rough, not expert labels).

    python benchmarks/real_by_eye.py            # classic
    python benchmarks/real_by_eye.py --refine   # with the CNN refiner
    python benchmarks/real_by_eye.py --um-per-px 2.5   # at another assumed scale

Ten of the unlabelled real example photos (``../shared/data/scalp-microscope-ccby``, hand-held USB scalp
microscope, 640x640, no scale; analysed at an assumed 7 µm/px unless ``--um-per-px`` says otherwise)
were counted by eye by the developers: every visible shaft, sharp or out of focus, once. Such counts are
rough (about +-20 %, worse in blurred tangles such as D_183) and are no substitute for expert labels,
but they show the order of the error on real photos, which the phantoms cannot. Prints each photo's
count and its error, and the median error; and which photos carry the warning that their shafts are
too thick for the assumed scale (taken at a higher magnification than assumed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REAL_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "scalp-microscope-ccby"
ASSUMED_UM_PER_PX = 7.0
#: Visible hairs counted by eye (see the module docstring).
COUNTS_BY_EYE = {
    "D_31": 11,
    "D_81": 11,
    "D_183": 14,
    "D_218": 10,
    "D_226": 7,
    "D_229": 8,
    "O_473": 6,
    "O_488": 11,
    "O_495": 11,
    "S_510": 17,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=Path, default=REAL_PHOTOS, help="folder of the real photos")
    parser.add_argument("--refine", action="store_true", help="use the CNN refiner")
    parser.add_argument(
        "--um-per-px", type=float, default=ASSUMED_UM_PER_PX, help="assumed scale (default %(default)s)"
    )
    args = parser.parse_args(argv)
    if not args.photos.is_dir():
        print(f"real photos not found at {args.photos}", file=sys.stderr)
        return 2
    import densitometry

    errors = []
    print(f"{'photo':<8}{'by eye':>7}{'found':>7}{'error %':>9}{'blue w':>8}  scale warning")
    for name, by_eye in COUNTS_BY_EYE.items():
        result = densitometry.analyze(
            args.photos / f"{name}.jpg", um_per_px=args.um_per_px, refine=args.refine
        )
        error = 100.0 * (result.hair_count - by_eye) / by_eye
        errors.append(error)
        thick = any("check the calibration" in warning for warning in result.quality_warnings)
        print(
            f"{name:<8}{by_eye:>7}{result.hair_count:>7}{error:>+9.0f}{result.blue_weight:>8.2f}"
            f"  {f'shafts too thick for {args.um_per_px:g} µm/px' if thick else ''}"
        )
    print(
        f"median count error {np.median(errors):+.0f} %, median |error| {np.median(np.abs(errors)):.0f} % "
        f"({'refined' if args.refine else 'classic'}, assumed {args.um_per_px:g} µm/px)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
