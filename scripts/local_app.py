"""Start the web UI (``python app.py``) on a free loopback port and wait until it answers.

Shared by `scripts/screenshots.py` and `benchmarks/webui_load.py`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Seconds to wait for the app to answer on its port.
START_TIMEOUT_S = 180


def free_port() -> int:
    """A loopback port nobody is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, temp_dir: str, *app_args: str, quiet: bool = False) -> subprocess.Popen:
    """Run ``app.py --port PORT *app_args`` with uploads kept in ``temp_dir``; return once it serves."""
    import httpx

    env = {**os.environ, "GRADIO_TEMP_DIR": temp_dir}
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), *app_args],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=output,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"app.py exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"app.py did not start within {START_TIMEOUT_S} s")
