"""Web UI: analyse scalp photos and compare before / after, in the browser, on this computer.

``python app.py`` or ``densitometry serve`` starts it on http://127.0.0.1:7860. The handlers live in
`densitometry.webui_handlers` (plain functions, no gradio); this module builds the Gradio app around them,
exposes every analysis as a named API endpoint (``/analyze``, ``/compare``) for `gradio_client`, and
launches it with privacy-preserving settings:

- no telemetry and no version check (``GRADIO_ANALYTICS_ENABLED=False`` before gradio is imported);
- loopback only unless ``--host`` says otherwise, optional login (``--auth`` or ``DENSITOMETRY_AUTH``);
- uploads and downloads live in a private temporary folder, cleaned while running and removed at exit;
- uploads capped (``--max-file-size``), nothing served from outside the app's own folders;
- system fonts only (no font CDN).
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from .allocator import keep_freed_memory

# Before any gradio import (gradio reads it at import time): no telemetry, no version check.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_FILE_SIZE = "25mb"
DEFAULT_CONCURRENCY = 2
#: Temporary files (uploads, downloads) older than this are deleted while the app runs: (every, age) s.
DELETE_CACHE_S = (600, 3600)
AUTH_ENV = "DENSITOMETRY_AUTH"

#: Bundled example photos (present in a source checkout, not in a wheel).
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
#: The real CC BY photos carry no scale; the UI states this assumption wherever it uses them.
EXAMPLE_UM_PER_PX = 7.0
EXAMPLE_PHOTOS = ("S_509.jpg", "D_161.jpg", "D_237.jpg")
SYNTHETIC_PAIR = ("synthetic_before.jpg", "synthetic_after.jpg")
SYNTHETIC_UM_PER_PX_FILE = "synthetic_pair.json"

SYSTEM_FONTS = (
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "Noto Sans",
    "sans-serif",
)
SYSTEM_MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")

CSS = """
.dm-header h1 { margin-bottom: 0.1em; }
.dm-header p { margin-top: 0; color: var(--body-text-color-subdued); }
.dm-sentence { font-size: 1.15em; font-weight: 600; }
.dm-status { min-height: 1.5em; }
footer { opacity: 0.7; }
"""

_log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ refiner switch


def refiner_status() -> tuple[bool, str]:
    """``(available, reason)`` for the refiner switch; never raises."""
    try:
        from .refiner import refiner_available
    except ImportError:
        return False, "refiner not installed"
    try:
        return refiner_available()
    except Exception as error:  # noqa: BLE001 - a broken optional extra must not stop the UI
        _log.warning("refiner check failed", exc_info=True)
        return False, f"refiner unavailable: {error}"


# ----------------------------------------------------------------------------------------------- examples


def example_photos() -> list[Path]:
    """The bundled real photos that exist in this installation."""
    return [EXAMPLES_DIR / name for name in EXAMPLE_PHOTOS if (EXAMPLES_DIR / name).is_file()]


def synthetic_pair() -> tuple[Path, Path, float] | None:
    """The bundled synthetic before/after pair and its pixel size, if present."""
    import json

    before, after = (EXAMPLES_DIR / name for name in SYNTHETIC_PAIR)
    meta = EXAMPLES_DIR / SYNTHETIC_UM_PER_PX_FILE
    if not (before.is_file() and after.is_file() and meta.is_file()):
        return None
    return before, after, float(json.loads(meta.read_text(encoding="utf-8"))["um_per_px"])


# -------------------------------------------------------------------------------------------------- app


def theme():
    """Gradio theme using system fonts only (nothing fetched from a font CDN)."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="teal", secondary_hue="sky", font=list(SYSTEM_FONTS), font_mono=list(SYSTEM_MONO_FONTS)
    )


def build_app():
    """Build the Gradio Blocks app (nothing is launched; see `launch`).

    Returns
    -------
    gradio.Blocks
    """
    from . import webui_layout

    return webui_layout.build()


# ------------------------------------------------------------------------------------------------ launch


def private_temp_dir() -> Path:
    """Point Gradio's upload/cache folder at a private folder removed at exit (unless the user set one)."""
    if os.environ.get("GRADIO_TEMP_DIR"):
        return Path(os.environ["GRADIO_TEMP_DIR"])
    path = Path(tempfile.mkdtemp(prefix="densitometry-webui-"))  # mode 0700
    os.environ["GRADIO_TEMP_DIR"] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """``"user:password"`` -> ``("user", "password")``; None or empty -> None.

    Raises
    ------
    ValueError
        If there is no colon or the user or password is empty.
    """
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth / DENSITOMETRY_AUTH must look like user:password (both non-empty)")
    return user, password


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1, localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_host_port(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Explicit option, then Gradio's ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``, then loopback:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    port = port or int(os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    return host, port


def launch(
    app=None,
    *,
    host: str | None = None,
    port: int | None = None,
    auth: tuple[str, str] | None = None,
    max_file_size: str | int = DEFAULT_MAX_FILE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    open_browser: bool = False,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
):
    """Launch the app with the privacy settings described in the module docstring.

    Parameters
    ----------
    app : gradio.Blocks, optional
        Default: `build_app()`.
    host, port : optional
        See `resolve_host_port`.
    auth : (user, password), optional
        Require a login.
    max_file_size : str or int
        Largest upload, e.g. ``"25mb"``.
    concurrency : int
        Analyses running at the same time; more requests wait in the queue.
    prevent_thread_lock : bool
        Return at once (the server runs in a thread), for tests and scripts.

    Returns
    -------
    gradio.Blocks
        The launched app (call ``.close()`` to stop it).
    """
    host, port = resolve_host_port(host, port)
    private_temp_dir()
    if app is None:
        app = build_app()
    if not is_loopback(host) and auth is None:
        _log.warning(
            "serving on %s without a login: anyone on the network can open the app; use --auth", host
        )
    app.queue(default_concurrency_limit=max(1, int(concurrency)), max_size=64)
    app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        inbrowser=open_browser,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        show_error=False,
        max_file_size=max_file_size,
        allowed_paths=[str(p) for p in _allowed_paths()],
        ssr_mode=False,
        mcp_server=False,
        footer_links=["api", "settings"],
        theme=theme(),
        css=CSS,
    )
    return app


def _allowed_paths() -> list[Path]:
    """Only the bundled example photos (uploads and results live in Gradio's own temp folder)."""
    return [p for p in (*example_photos(), *(synthetic_pair() or ())[:2]) if isinstance(p, Path)]


# ---------------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``densitometry serve`` (and ``python app.py``)."""
    # "%(default).0s" prints nothing; it stops ArgumentDefaultsHelpFormatter adding "(default: None)".
    parser.add_argument(
        "--host",
        default=None,
        help="interface to bind; anything other than 127.0.0.1/localhost exposes the app to the network "
        "(default: $GRADIO_SERVER_NAME, else 127.0.0.1)%(default).0s",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT, else 7860)%(default).0s"
    )
    parser.add_argument(
        "--auth",
        default=None,
        metavar="USER:PASSWORD",
        help=f"require this login (or set ${AUTH_ENV}); recommended with --host%(default).0s",
    )
    parser.add_argument("--max-file-size", default=DEFAULT_MAX_FILE_SIZE, help="largest accepted upload")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="analyses run at the same time; further requests wait in a queue",
    )
    parser.add_argument("--open", action="store_true", help="open the app in the default web browser")


def run(args: argparse.Namespace) -> int:
    """Start the web UI and serve until interrupted; returns the exit code."""
    try:
        auth = parse_auth(args.auth or os.environ.get(AUTH_ENV))
    except ValueError as error:
        print(f"densitometry serve: {error}")
        return 2
    if args.concurrency < 1:
        print("densitometry serve: --concurrency must be at least 1")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("densitometry").setLevel(logging.INFO)
    # Exit normally on SIGTERM too, so atexit removes the private folder of uploads and results.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    keep_freed_memory()
    launch(
        host=args.host,
        port=args.port,
        auth=auth,
        max_file_size=args.max_file_size,
        concurrency=args.concurrency,
        open_browser=args.open,
    )
    return 0


def main(argv=None) -> int:
    """``python app.py [options]``."""
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="densitometry web UI: analyse scalp photos and compare before/after.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
