"""Command-line hook: ``densitometry synth --out DIR -n N --scenario NAME``."""

from __future__ import annotations

import argparse
import sys

from ._scene import SCENARIOS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``synth`` subcommand's options to ``parser``.

    Defaults are shown in the help when the parser uses `argparse.ArgumentDefaultsHelpFormatter`, as the
    ``densitometry`` command does.
    """
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("-n", "--count", type=int, default=10, help="number of photos")
    parser.add_argument(
        "--scenario",
        default="clinical",
        choices=sorted(SCENARIOS),
        help="scenario to draw from",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the first photo; photo i uses seed + i",
    )
    parser.add_argument("--width", type=int, default=1280, help="image width in pixels")
    parser.add_argument("--height", type=int, default=960, help="image height in pixels")
    parser.add_argument(
        "--um-per-px", type=float, default=None, help="pixel size in µm; None draws it from the scenario"
    )
    parser.add_argument("--format", choices=("jpg", "png"), default="jpg", help="image format")
    parser.add_argument(
        "--min-length-um",
        type=float,
        default=150.0,
        help="visible length for a hair to count in the truth summary",
    )


def run(args: argparse.Namespace) -> int:
    """Write ``{scenario}_{i:04d}.{jpg|png}`` and ``{scenario}_{i:04d}.json`` for i in 0..n-1.

    Returns
    -------
    int
        0 on success, 2 for invalid parameters, 1 if a file could not be written.
    """
    from ..errors import DensitometryError
    from ._render import generate

    if args.count < 0:
        print(f"error: -n must be >= 0, got {args.count}", file=sys.stderr)
        return 2
    try:
        for i in range(args.count):
            photo = generate(
                args.scenario,
                seed=args.seed + i,
                width_px=args.width,
                height_px=args.height,
                um_per_px=args.um_per_px,
            )
            image_path, _ = photo.save(
                args.out, f"{args.scenario}_{i:04d}", format=args.format, min_length_um=args.min_length_um
            )
            print(image_path)
    except DensitometryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: could not write to {args.out}: {error}", file=sys.stderr)
        return 1
    return 0
