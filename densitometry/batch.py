"""``densitometry analyze``: analyse photos and folders into tables, locally or on a Dask cluster.

Usage::

    densitometry analyze PATH... --um-per-px 5 --out results/ [--recursive] [--workers N]
                         [--scheduler tcp://HOST:8786] [--overlays] [--refine] [--min-length-um ...]

PATH is any mix of image files and folders (``--recursive`` searches sub-folders). Non-image and hidden
files are skipped and listed. Every photo needs a calibration: ``--um-per-px`` for all, ``--fov-mm W H``
(field of view in mm, µm per pixel follows from each image's size) or ``--calibration table.csv`` with
columns ``pattern`` (path or glob matched against the path relative to the folder given, and against the
file name; the first matching row wins) and ``um_per_px``. A photo without a calibration, or one that
cannot be read, becomes an error row and the batch goes on.

Outputs in ``--out``:

``summary.csv``
    One row per input photo, failed ones included (``status`` ok|error, ``error`` says why).
``hairs.csv`` (``hairs.parquet`` with ``--format parquet``)
    One row per hair, with the photo it came from.
``run.json``
    Parameters, calibration, package version, counts, skipped files and timings.
``overlays/*.png``
    With ``--overlays``: every counted hair drawn on the photo.
``journal.jsonl``
    The checkpoint: one line per finished photo. Rerunning the same command skips photos already done
    with the same file (size and modification time), parameters, calibration and package version, and
    rebuilds the tables. Delete it (or pass ``--no-resume``) to start again.

Exit codes: 0 all photos analysed, 1 some failed (listed in summary.csv), 2 usage error, 130 interrupted
(rerun to resume).

Running on a Dask cluster
-------------------------
Install ``densitometry[distributed]`` (same version) wherever the client, scheduler and workers run, then::

    dask scheduler                                  # on the head node; prints tcp://HEAD:8786
    dask worker tcp://HEAD:8786 --nworkers 8 --nthreads 1   # on each compute node
    densitometry analyze /shared/study --recursive --um-per-px 5 \\
        --scheduler tcp://HEAD:8786 --out /shared/study-results

Workers open the photos by absolute path, so the photos must be on a filesystem mounted at the same path
on every worker (NFS, Lustre, a cloud bucket mount). Only the small result tables travel back; the client
writes all outputs, so ``--out`` only needs to be writable where the command runs. One thread per worker
process is best: the analysis is CPU-bound and holds the GIL in places.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def default_workers() -> int:
    """Local worker processes used when ``--workers`` is not given: min(CPU count, 4)."""
    return max(1, min(os.cpu_count() or 1, 4))


#: ``--grey-white`` choices and their `AnalysisParameters.grey_white` values.
_GREY_WHITE_CHOICES = {"auto": None, "on": True, "off": False}


def add_analysis_arguments(parser) -> None:
    """Add the analysis options (shared by ``analyze`` and ``validate``) as an argument group."""
    from .preprocess import Polarity
    from .results import FIELDS_OF_VIEW, AnalysisParameters

    defaults = AnalysisParameters()
    analysis = parser.add_argument_group("analysis")
    analysis.add_argument(
        "--min-length-um", type=float, default=defaults.min_length_um, help="shortest visible hair counted"
    )
    analysis.add_argument(
        "--vellus-max-um", type=float, default=defaults.vellus_max_um, help="thinner shafts are vellus"
    )
    analysis.add_argument(
        "--terminal-min-um", type=float, default=defaults.terminal_min_um, help="thicker shafts are terminal"
    )
    analysis.add_argument(
        "--polarity",
        choices=[polarity.value for polarity in Polarity],
        default=Polarity(defaults.polarity).value,
        help="dark hair on lighter skin, bright (grey/white) hair, or decide per photo (auto; grey/white "
        "hairs among sparse dark hair are counted too, see --grey-white; in dense mixed hair use --refine)",
    )
    analysis.add_argument(
        "--refine",
        action="store_true",
        help="use the CNN refiner (needs densitometry[refiner]); reads dark and grey/white hair together",
    )
    analysis.add_argument(
        "--blue-weight",
        type=float,
        default=None,
        metavar="W",
        help="how much the blue channel adds to the brightness contrast, 0 (nothing) to 1 (blond and red "
        "hair stand out in blue); default: decided per photo (0 on dark hair, where blue adds only the "
        "camera's colour noise)",
    )
    for channel in ("red", "green"):
        analysis.add_argument(
            f"--{channel}-weight",
            type=float,
            default=None,
            metavar="W",
            help=f"the same for the {channel} channel, in readings of dark hair (hair whose colour differs "
            "from the skin's mostly in red or green: ash-blond hair on pink skin); default: decided per "
            "photo (0 on most hair)",
        )
    analysis.add_argument(
        "--colour-gain",
        type=float,
        default=None,
        metavar="G",
        help="how much the colour contrast of blond and red hair (blue minus red) is raised for a second "
        "reading that adds the hairs only colour shows, 0 (none) to 6; default: decided per photo (0 "
        "where colour shows no hair-like lines of its own)",
    )
    analysis.add_argument(
        "--grey-white",
        choices=list(_GREY_WHITE_CHOICES),
        default="auto",
        help="in photos read as dark hair, also count the grey and white hairs among it: auto (where the "
        "dark hair is sparse and bright shafts show), on (every such photo), off",
    )
    analysis.add_argument(
        "--field-of-view",
        choices=FIELDS_OF_VIEW,
        default=defaults.field_of_view,
        help="auto: where a dark surround frames the scalp (a dermatoscope's round field), count hairs and "
        "take the density inside the field only; whole: the whole photo is the field",
    )


def analysis_parameters(args):
    """`AnalysisParameters` from the options of `add_analysis_arguments`.

    Raises
    ------
    ParameterError
        An option is out of range.
    """
    from .results import AnalysisParameters

    return AnalysisParameters(
        min_length_um=args.min_length_um,
        vellus_max_um=args.vellus_max_um,
        terminal_min_um=args.terminal_min_um,
        polarity=args.polarity,
        refine=args.refine,
        blue_weight=args.blue_weight,
        red_weight=args.red_weight,
        green_weight=args.green_weight,
        colour_gain=args.colour_gain,
        field_of_view=args.field_of_view,
        grey_white=_GREY_WHITE_CHOICES[args.grey_white],
    )


def add_arguments(parser) -> None:
    """Add the ``analyze`` options to an argparse (sub)parser."""
    parser.add_argument(
        "paths", nargs="*", default=argparse.SUPPRESS, metavar="PATH", help="image files and/or folders"
    )
    parser.add_argument("-o", "--out", default="results", help="output folder")
    parser.add_argument("-r", "--recursive", action="store_true", help="search sub-folders of folders")

    calibration = parser.add_argument_group("calibration (give exactly one)")
    calibration.add_argument(
        "--um-per-px", type=float, metavar="UM", help="micrometres per pixel, all photos"
    )
    calibration.add_argument(
        "--fov-mm",
        type=float,
        nargs=2,
        metavar=("WIDTH_MM", "HEIGHT_MM"),
        help="field of view of every photo in mm; µm per pixel follows from each image's size",
    )
    calibration.add_argument(
        "--calibration",
        metavar="CSV",
        help="table with columns pattern (path or glob, relative to the folder given, or file name) and "
        "um_per_px, for photos from several devices; the first matching row wins",
    )

    add_analysis_arguments(parser)
    parser.add_argument(
        "--region",
        metavar="MASK",
        help="mask image of the photos' size, white where to analyse, the same for every photo (leave "
        "out a device's burned-in text, scale bar or ruler); density is taken over its white area",
    )

    execution = parser.add_argument_group("execution and output")
    execution.add_argument(
        "-j",
        "--workers",
        type=int,
        default=default_workers(),
        help="local worker processes, min(CPU count, 4) by default (1: analyse in this process); "
        "ignored with --scheduler",
    )
    execution.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask.distributed cluster, e.g. tcp://head:8786 (photo paths must be valid "
        "on the workers)",
    )
    execution.add_argument("--overlays", action="store_true", help="also write overlays/*.png")
    execution.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="file format of the per-hair table"
    )
    execution.add_argument(
        "--no-resume", action="store_true", help="analyse every photo again, ignoring the journal"
    )
    execution.add_argument("-q", "--quiet", action="store_true", help="no progress bar or messages")


def run(args) -> int:
    """Run the ``analyze`` subcommand; returns the exit code."""
    from .batch_inputs import BatchUsageError
    from .batch_run import BatchOptions, run_batch

    try:
        return run_batch(BatchOptions.from_args(args))
    except BatchUsageError as error:
        print(f"densitometry analyze: error: {error}", file=sys.stderr)
        return EXIT_USAGE
