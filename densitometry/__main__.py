"""``python -m densitometry SUBCOMMAND ...``: the same command line as the ``densitometry`` script."""

import sys

from .cli import main

sys.exit(main())
