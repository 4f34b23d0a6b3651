"""Batch engine: analyse one photo by path in a worker, and run many on one machine or a Dask cluster.

Workers receive a small `Task` (a path, never pixels) and return a JSON-safe record with the summary and
the per-hair table, so a large batch never holds its images in memory and the number of tasks in flight
is bounded. Every executor yields ``(task, record, overlay_png)`` as photos finish; the caller writes
them to the journal, so results do not depend on the executor or on the order of completion.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from . import __version__
from .allocator import keep_freed_memory
from .analyze import analyze
from .calibration import Calibration
from .errors import CalibrationError, DensitometryError, ImageLoadError, ParameterError
from .io import encode_png, load_image
from .results import AnalysisParameters

#: Error types that a rerun would reproduce exactly (same file, same settings): kept on resume.
#: Anything else (a crashed worker, memory, a missing optional dependency) is retried.
DETERMINISTIC_ERRORS = frozenset(
    cls.__name__ for cls in (ImageLoadError, CalibrationError, ParameterError, DensitometryError)
)

#: Tasks kept in flight per worker: enough to keep workers busy, few enough to bound memory.
IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class Task:
    """What a worker needs to analyse one photo.

    Attributes
    ----------
    path : str
        Absolute path, readable by the worker (on a cluster: a shared filesystem path).
    image : str
        Name stored in the result tables.
    key : str
        Resume key (see `densitometry.batch_journal.task_key`).
    parameters : dict
        `AnalysisParameters.to_dict()`.
    um_per_px : float, optional
        Fixed calibration; or
    fov_mm : tuple of float, optional
        (width, height) of the field of view in mm, turned into µm per pixel from the image size.
    overlay : bool
        Also return the overlay as PNG bytes.
    region : str, optional
        Absolute path of a mask image of the photo's size, white where to analyse (see
        `densitometry.analyze`).
    """

    path: str
    image: str
    key: str
    parameters: dict
    um_per_px: float | None = None
    fov_mm: tuple[float, float] | None = None
    overlay: bool = False
    region: str | None = None


def analyze_task(task: Task) -> tuple[dict, bytes | None]:
    """Analyse one photo; never raises for a bad photo.

    Returns
    -------
    record : dict
        JSON-safe: ``key``, ``image``, ``status`` (``"ok"`` or ``"error"``), ``error``, ``error_type``,
        ``summary`` (`AnalysisResult.summary`), ``quality_warnings``, ``hair_columns`` and ``hairs``
        (rows as lists), ``elapsed_s``, ``densitometry_version``.
    overlay_png : bytes or None
        The overlay image when ``task.overlay`` and the analysis succeeded.
    """
    started = time.perf_counter()
    try:
        parameters = AnalysisParameters(**task.parameters)
        loaded = load_image(task.path, name=task.image)
        if task.fov_mm is not None:
            height_px, width_px = loaded.shape_px
            calibration = Calibration.from_field_of_view(
                task.fov_mm[0], width_px, height_mm=task.fov_mm[1], image_height_px=height_px
            )
        else:
            calibration = Calibration(task.um_per_px)
        result = analyze(
            loaded.rgb, calibration=calibration, parameters=parameters, name=task.image, region=task.region
        )
        overlay_png = encode_png(result.overlay()) if task.overlay else None
    except Exception as error:  # the batch boundary: one bad photo must not stop the others
        return error_record(task, error, elapsed_s=time.perf_counter() - started), None
    hairs = result.hairs
    record = {
        **_record_head(task),
        "status": "ok",
        "error": None,
        "error_type": None,
        "summary": result.summary(),
        "quality_warnings": list(result.quality_warnings),
        "hair_columns": [str(name) for name in hairs.columns],
        "hairs": [list(row) for row in hairs.itertuples(index=False, name=None)],
        "elapsed_s": time.perf_counter() - started,
    }
    return record, overlay_png


def error_record(task: Task, error: BaseException | str, *, elapsed_s: float = 0.0, error_type=None) -> dict:
    """The record of a photo that could not be analysed (``error`` names the reason)."""
    if isinstance(error, BaseException):
        error_type = type(error).__name__
        message = str(error) if isinstance(error, DensitometryError) else f"{error_type}: {error}"
    else:
        message = error
    return {
        **_record_head(task),
        "status": "error",
        "error": message,
        "error_type": error_type or "BatchError",
        "summary": None,
        "quality_warnings": [],
        "hair_columns": [],
        "hairs": [],
        "elapsed_s": elapsed_s,
    }


def _record_head(task: Task) -> dict:
    return {"key": task.key, "image": task.image, "path": task.path, "densitometry_version": __version__}


def worker_version() -> str:
    """Version of densitometry on a worker (a cluster probe)."""
    return __version__


def _init_process_worker() -> None:
    """Process-pool initializer: Ctrl-C is handled by the parent; one photo per core, no nested threads."""
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    keep_freed_memory()


Outcome = tuple[Task, dict, "bytes | None"]


def run_serial(tasks: Iterable[Task], *, function: Callable = analyze_task) -> Iterator[Outcome]:
    """Analyse tasks one after another in this process."""
    for task in tasks:
        record, overlay_png = function(task)
        yield task, record, overlay_png


def run_processes(
    tasks: Iterable[Task], *, workers: int, function: Callable = analyze_task
) -> Iterator[Outcome]:
    """Analyse tasks in ``workers`` local processes (spawned, so the same on Linux, macOS and Windows).

    At most ``IN_FLIGHT_PER_WORKER * workers`` tasks are submitted at a time. If a worker process dies
    (killed for memory, a crash in native code), the photos it and its siblings were working on become
    error rows (retried on the next run) and a fresh pool analyses the rest.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def new_pool():
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process_worker,
        )

    remaining = iter(tasks)
    limit = IN_FLIGHT_PER_WORKER * workers
    pending: dict = {}
    held: list[Task] = []
    pool = new_pool()
    broken = False
    try:
        while True:
            if broken and not pending:
                pool.shutdown(wait=True)
                pool, broken = new_pool(), False
            while not broken and len(pending) < limit:
                task = held.pop() if held else next(remaining, None)
                if task is None:
                    break
                try:
                    pending[pool.submit(function, task)] = task
                except BrokenProcessPool:  # died before any of its futures told us
                    held.append(task)
                    broken = True
            if not pending:
                if held:  # the pool broke on submit: start a fresh one for it
                    continue
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda item: pending[item].image):
                task = pending.pop(future)
                try:
                    record, overlay_png = future.result()
                except BrokenProcessPool as error:
                    broken = True
                    message = (
                        "a worker process died while this photo (or one analysed at the same time) was "
                        f"in progress ({error}); rerun to retry"
                    )
                    record, overlay_png = error_record(task, message, error_type="WorkerDied"), None
                yield task, record, overlay_png
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class ClusterError(DensitometryError, RuntimeError):
    """The Dask cluster cannot be used (dask missing, scheduler unreachable, densitometry missing there)."""


def run_dask(
    tasks: Iterable[Task],
    *,
    address: str,
    function: Callable = analyze_task,
    connect_timeout_s: float = 30.0,
    on_message: Callable[[str], None] | None = None,
) -> Iterator[Outcome]:
    """Analyse tasks on an existing dask.distributed cluster; results stream back as they finish.

    Workers open the photos by ``Task.path``, so paths must be valid on every worker (a shared
    filesystem). At most ``IN_FLIGHT_PER_WORKER`` tasks per worker thread are in flight.

    Raises
    ------
    ClusterError
        If dask.distributed is not installed, the scheduler cannot be reached, no worker joins, or the
        workers cannot import densitometry.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError(
            "--scheduler needs dask.distributed: pip install 'densitometry[distributed]'"
        ) from None
    try:
        client = Client(address, timeout=connect_timeout_s)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot connect to the Dask scheduler at {address!r} ({error})") from None
    pending: dict = {}
    try:
        try:
            client.wait_for_workers(1, timeout=connect_timeout_s)
            remote_version = client.submit(worker_version, pure=False).result(timeout=connect_timeout_s)
        except Exception as error:  # any failure here means the cluster cannot run the batch
            raise ClusterError(
                f"the Dask cluster at {address!r} cannot run densitometry ({type(error).__name__}: {error}); "
                "start workers in an environment where `import densitometry` works"
            ) from None
        if remote_version != __version__ and on_message is not None:
            on_message(f"warning: Dask workers run densitometry {remote_version}, this is {__version__}")
        threads = max(1, sum(client.nthreads().values()))
        limit = IN_FLIGHT_PER_WORKER * threads
        remaining = iter(tasks)
        stream = as_completed()

        def refill() -> None:
            for task in remaining:
                future = client.submit(function, task, pure=False)
                pending[future] = task
                stream.add(future)
                if len(pending) >= limit:
                    return

        refill()
        for future in stream:
            task = pending.pop(future)
            try:
                record, overlay_png = future.result()
            except Exception as error:  # a worker died or the task could not be unpickled there
                record, overlay_png = error_record(task, error), None
            future.release()
            yield task, record, overlay_png
            refill()
    finally:
        for future in pending:
            future.cancel()
        client.close()
