"""Start the densitometry web UI: ``python app.py`` then open http://127.0.0.1:7860.

Options: ``python app.py --help`` (``--host``, ``--port``, ``--auth user:password``, ...). Same as
``densitometry serve``. Importing this file does no work; `build_app` returns the Gradio app unlaunched.
"""

import sys

from densitometry.webui import build_app, launch, main

__all__ = ["build_app", "launch", "main"]

if __name__ == "__main__":
    sys.exit(main())
