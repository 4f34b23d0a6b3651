"""Load check of the web UI: N concurrent analyses through `gradio_client` must all succeed.

    python benchmarks/webui_load.py [--requests 8] [--concurrency 2]

Starts ``python app.py`` on a free loopback port with the given queue concurrency, submits N ``/analyze``
jobs at once (the bundled example photos, assumed 7 µm/px) and reports each job's latency (submit to
result, so it includes waiting in the queue), the median and the maximum. Exit code 1 if any job fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from local_app import free_port, start_app  # noqa: E402

PHOTOS = [ROOT / "examples" / name for name in ("S_509.jpg", "D_161.jpg", "D_237.jpg")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8, help="analyses submitted at once")
    parser.add_argument("--concurrency", type=int, default=2, help="the app's queue concurrency limit")
    args = parser.parse_args(argv)
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory(prefix="densitometry-load-") as temp_dir:
        port = free_port()
        process = start_app(port, temp_dir, "--concurrency", str(args.concurrency), quiet=True)
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)

            def one(index):
                photo = PHOTOS[index % len(PHOTOS)]
                start = time.perf_counter()
                numbers, _overlay = client.predict(
                    photo=handle_file(str(photo)), um_per_px=7.0, api_name="/analyze"
                )
                return photo.name, numbers["summary"]["hair_count"], time.perf_counter() - start

            started = time.perf_counter()
            latencies, failures = [], []
            with ThreadPoolExecutor(max_workers=args.requests) as pool:
                futures = [pool.submit(one, index) for index in range(args.requests)]
                for future in futures:
                    try:
                        name, hairs, latency = future.result(timeout=900)
                    except Exception as error:  # noqa: BLE001 - report every failure, keep measuring
                        failures.append(f"{type(error).__name__}: {error}")
                        continue
                    latencies.append(latency)
                    print(f"{name:12s} {hairs:4d} hairs  {latency:6.1f} s")
            wall = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(
        f"{len(latencies)}/{args.requests} succeeded with concurrency {args.concurrency} on "
        f"{os.cpu_count()} CPUs; latency median {statistics.median(latencies):.1f} s, "
        f"max {max(latencies):.1f} s; all done in {wall:.1f} s"
        if latencies
        else "no request succeeded"
    )
    for failure in failures:
        print("FAILED", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
