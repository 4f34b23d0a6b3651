"""Command line: ``densitometry SUBCOMMAND ...``.

Each subcommand lives in the module that does the work and provides ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports happen after parsing.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .allocator import keep_freed_memory

#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "analyze": ("densitometry.batch", "analyse photos or folders into summary and per-hair tables"),
    "compare": (
        "densitometry.visits",
        "compare before/after photos of one site, or many visits from a table",
    ),
    "synth": ("densitometry.synthetic", "render synthetic scalp photos with exact ground truth"),
    "validate": (
        "densitometry.validation",
        "check analysis settings on synthetic photos against their exact truth",
    ),
    "serve": ("densitometry.webui", "start the web UI (http://127.0.0.1:7860 by default)"),
    "train-refiner": ("densitometry.refiner.train", "train the CNN refiner on synthetic photos"),
}

#: Exit codes.
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densitometry",
        description="Scalp trichoscopy analysis: hair count, density (hairs/cm²) and shaft diameter (µm).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"densitometry {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        importlib.import_module(module_name).add_arguments(sub)
        sub.set_defaults(module_name=module_name)
    return parser


def main(argv=None) -> int:
    """Entry point; returns the exit code (0 ok, 1 some inputs failed, 2 usage error, 130 interrupted:
    rerun the same command to resume)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    keep_freed_memory()
    return int(importlib.import_module(args.module_name).run(args))


if __name__ == "__main__":
    sys.exit(main())
