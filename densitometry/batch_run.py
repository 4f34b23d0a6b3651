"""Batch orchestration: checked options -> inputs and calibrations -> resume -> execute -> outputs.

`run_batch` is the programmatic form of ``densitometry analyze`` (see `densitometry.batch` for the
command line, the outputs and how to use a Dask cluster).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.util
import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import __version__
from .analyze import region_pixels
from .batch import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, analysis_parameters
from .batch_engine import (
    DETERMINISTIC_ERRORS,
    ClusterError,
    Task,
    error_record,
    run_dask,
    run_processes,
    run_serial,
)
from .batch_inputs import (
    BatchUsageError,
    CalibrationRule,
    find_images,
    match_calibration,
    read_calibration_table,
)
from .batch_journal import (
    JOURNAL_NAME,
    OVERLAY_FOLDER,
    RUN_NAME,
    SUMMARY_NAME,
    Journal,
    JournalBusyError,
    atomic_write_bytes,
    parameters_hash,
    summary_row,
    task_key,
    write_hairs,
    write_json,
    write_summary_csv,
)
from .errors import DensitometryError
from .io import load_image
from .results import HAIR_COLUMNS, AnalysisParameters

#: How many skipped files are named on the terminal (all are listed in run.json).
_SKIPPED_SHOWN = 10


@dataclass(frozen=True)
class BatchOptions:
    """Checked settings of one batch run (see ``densitometry analyze --help``).

    Exactly one of ``um_per_px``, ``fov_mm`` and ``calibration_rules`` is set.
    """

    paths: tuple[str, ...]
    out: Path
    parameters: AnalysisParameters
    um_per_px: float | None = None
    fov_mm: tuple[float, float] | None = None
    calibration_table: Path | None = None
    calibration_rules: tuple[CalibrationRule, ...] = ()
    recursive: bool = False
    workers: int = 1
    scheduler: str | None = None
    overlays: bool = False
    file_format: str = "csv"
    resume: bool = True
    quiet: bool = False
    arguments: dict = field(default_factory=dict)
    region: Path | None = None
    region_sha256: str | None = None

    @classmethod
    def from_args(cls, args) -> BatchOptions:
        """Check parsed command-line arguments.

        Raises
        ------
        BatchUsageError
            No inputs; none or several calibration options; a value out of range; an output format or
            scheduler whose optional dependency is missing.
        """
        paths = getattr(args, "paths", None) or []
        if not paths:
            raise BatchUsageError("no input: give image files and/or folders")
        given = [
            name
            for name, value in (
                ("--um-per-px", args.um_per_px),
                ("--fov-mm", args.fov_mm),
                ("--calibration", args.calibration),
            )
            if value is not None
        ]
        if not given:
            raise BatchUsageError(
                "no calibration: give --um-per-px (µm per pixel), --fov-mm WIDTH HEIGHT (field of view) "
                "or --calibration table.csv"
            )
        if len(given) > 1:
            raise BatchUsageError(f"give only one calibration option, got {' and '.join(given)}")
        um_per_px = _positive(args.um_per_px, "--um-per-px") if args.um_per_px is not None else None
        fov_mm = tuple(_positive(v, "--fov-mm") for v in args.fov_mm) if args.fov_mm is not None else None
        table = Path(args.calibration) if args.calibration is not None else None
        rules = read_calibration_table(table) if table is not None else ()
        try:
            parameters = analysis_parameters(args)
        except DensitometryError as error:
            raise BatchUsageError(str(error)) from None
        if args.workers < 1:
            raise BatchUsageError(f"--workers must be at least 1, got {args.workers}")
        if args.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
            raise BatchUsageError(
                "--format parquet needs pyarrow, which is not installed: pip install pyarrow "
                "(or use --format csv)"
            )
        if args.scheduler is not None and importlib.util.find_spec("distributed") is None:
            raise BatchUsageError(
                "--scheduler needs dask.distributed, which is not installed: "
                "pip install 'densitometry[distributed]'"
            )
        region, region_sha256 = _region(getattr(args, "region", None))
        arguments = {key: value for key, value in vars(args).items() if key not in ("module_name",)}
        return cls(
            paths=tuple(paths),
            out=Path(args.out),
            parameters=parameters,
            um_per_px=um_per_px,
            fov_mm=fov_mm,
            calibration_table=table,
            calibration_rules=rules,
            recursive=args.recursive,
            workers=args.workers,
            scheduler=args.scheduler,
            overlays=args.overlays,
            file_format=args.format,
            resume=not args.no_resume,
            quiet=args.quiet,
            arguments=arguments,
            region=region,
            region_sha256=region_sha256,
        )


def _region(value) -> tuple[Path | None, str | None]:
    """The ``--region`` mask's absolute path and the SHA-256 of its bytes (part of the resume key).

    Raises
    ------
    BatchUsageError
        The mask cannot be read as an image or holds no white pixel.
    """
    if value is None:
        return None, None
    path = Path(value).resolve()
    try:
        mask = load_image(path)
    except DensitometryError as error:
        raise BatchUsageError(f"--region: {error}") from None
    if not region_pixels(mask.rgb).any():
        raise BatchUsageError(f"--region: {path} holds no white pixel (white marks where to analyse)")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _positive(value, option: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise BatchUsageError(f"{option} must be a number > 0, got {value!r}")
    return number


@dataclass
class _Planned:
    """One input photo on its way through the run."""

    image: str
    task: Task | None  # None: failed before analysis (no calibration, unreadable file)
    calibration_source: str
    um_per_px: float | None
    record: dict | None = None  # the error record of a photo that failed before analysis


def run_batch(options: BatchOptions) -> int:
    """Analyse every photo of a batch and write the outputs.

    Returns
    -------
    int
        0 all photos analysed, 1 some failed (they are error rows in summary.csv), 130 interrupted.

    Raises
    ------
    BatchUsageError
        No photo among the inputs, a missing input path, or an unusable Dask cluster.
    """
    started_wall = time.perf_counter()
    started_utc = _utc_now()
    out = options.out
    images, skipped = find_images(options.paths, recursive=options.recursive, exclude=[out])
    if not images:
        raise BatchUsageError(
            f"no image files among the inputs ({len(skipped)} other files skipped); images end in "
            f"{', '.join(_image_suffixes())}"
            + ("" if options.recursive else "; add --recursive for sub-folders")
        )
    _say(options, _skipped_message(skipped))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BatchUsageError(f"--out {out}: cannot create the output folder ({error.strerror})") from None
    parameters = options.parameters.to_dict()
    overlay_names = _overlay_names([item.image for item in images])
    planned = [_plan(item, options, parameters, overlay_names) for item in images]

    try:
        journal = Journal(out / JOURNAL_NAME)
    except JournalBusyError as error:
        raise BatchUsageError(str(error)) from None
    with journal:
        todo = [
            p.task
            for p in planned
            if p.task is not None
            and not _reusable(p.task, journal, options, out / OVERLAY_FOLDER / overlay_names[p.image])
        ]
        analysable = sum(p.task is not None for p in planned)
        reused = analysable - len(todo)
        if reused:
            _say(options, f"resuming: {reused} of {analysable} photos already done (journal {journal.path})")

        mode, workers = _execution_mode(options, len(todo))
        analysis_start = time.perf_counter()
        interrupted = False
        analysed = 0
        try:
            with contextlib.closing(_execute(todo, options, mode, workers)) as outcomes:
                for task, record, overlay_png in _progress(outcomes, len(todo), options):
                    if overlay_png is not None:
                        atomic_write_bytes(out / OVERLAY_FOLDER / overlay_names[task.image], overlay_png)
                    journal.append(record)
                    analysed += 1
        except KeyboardInterrupt:
            interrupted = True
        except ClusterError as error:
            raise BatchUsageError(str(error)) from None
        analysis_s = time.perf_counter() - analysis_start

        rows, hairs_name, hair_count = _write_tables(planned, journal, options)

    ok = sum(row["status"] == "ok" for row in rows)
    failed = len(rows) - ok
    total_s = time.perf_counter() - started_wall
    run_info = {
        "densitometry_version": __version__,
        "status": "interrupted" if interrupted else "complete",
        "started_utc": started_utc,
        "finished_utc": _utc_now(),
        "inputs": list(options.paths),
        "recursive": options.recursive,
        "parameters": parameters,
        "parameters_hash": parameters_hash(parameters),
        "region": None
        if options.region is None
        else {"path": str(options.region), "sha256": options.region_sha256},
        "calibration": _calibration_info(options),
        "execution": {"mode": mode, "workers": workers, "scheduler": options.scheduler},
        "outputs": {
            "summary": SUMMARY_NAME,
            "hairs": hairs_name,
            "journal": JOURNAL_NAME,
            "overlays": OVERLAY_FOLDER if options.overlays else None,
        },
        "counts": {
            "images": len(rows),
            "ok": ok,
            "error": failed,
            "analysed": analysed,
            "reused": reused,
            "not_analysed": len(todo) - analysed if interrupted else 0,
            "skipped_files": len(skipped),
            "hairs": hair_count,
        },
        "skipped_files": [{"path": item.path, "reason": item.reason} for item in skipped],
        "timings": {
            "total_s": total_s,
            "analysis_s": analysis_s,
            "photos_per_s": analysed / analysis_s if analysed and analysis_s > 0 else None,
        },
        "arguments": options.arguments,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    write_json(out / RUN_NAME, run_info)
    if interrupted:
        print(
            f"densitometry analyze: interrupted after {analysed} of {len(todo)} photos; "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    _say(
        options,
        f"{_plural(len(rows), 'photo')}: {ok} ok, {failed} failed ({reused} reused from an earlier "
        f"run), {_plural(len(skipped), 'file')} skipped, {total_s:.1f} s -> {out / SUMMARY_NAME}",
        stream=sys.stdout,
    )
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _write_tables(planned, journal: Journal, options: BatchOptions) -> tuple[list[dict], str, int]:
    """Rebuild summary.csv and the hair table from the journal, in input order; return the rows."""
    out = options.out
    rows, ok_keys = [], []
    for item in planned:
        record = _final_record(item, journal)
        rows.append(
            summary_row(
                record, image=item.image, calibration_source=item.calibration_source, um_per_px=item.um_per_px
            )
        )
        if record["status"] == "ok":
            ok_keys.append((item.image, record["key"]))
    write_summary_csv(out / SUMMARY_NAME, rows)
    hairs_name = f"hairs.{options.file_format}"
    hair_count = write_hairs(
        out / hairs_name, HAIR_COLUMNS, ok_keys, journal, file_format=options.file_format
    )
    for other in ("csv", "parquet"):  # a table left by an earlier run in the other format is stale now
        if other != options.file_format:
            (out / f"hairs.{other}").unlink(missing_ok=True)
    return rows, hairs_name, hair_count


def _execution_mode(options: BatchOptions, task_count: int) -> tuple[str, int | None]:
    """("dask" | "processes" | "serial", local worker processes used)."""
    if options.scheduler:
        return "dask", None
    if options.workers > 1 and task_count > 1:
        return "processes", min(options.workers, task_count)
    return "serial", 1


def _plan(item, options: BatchOptions, parameters: dict, overlay_names: dict) -> _Planned:
    if options.um_per_px is not None:
        calibration, source, um_per_px = {"um_per_px": options.um_per_px}, "--um-per-px", options.um_per_px
    elif options.fov_mm is not None:
        width, height = options.fov_mm
        calibration, source, um_per_px = {"fov_mm": [width, height]}, f"--fov-mm {width:g} {height:g}", None
    else:
        rule = match_calibration(options.calibration_rules, item)
        table = options.calibration_table.name
        if rule is None:
            return _failed(
                item,
                f"{item.image}: no calibration: no row of {table} matches {item.relative!r} or "
                f"{item.file_name!r}; add a row with its pattern and um_per_px",
                "CalibrationError",
                source="",
            )
        calibration, source, um_per_px = {"um_per_px": rule.um_per_px}, rule.describe(table), rule.um_per_px
    try:
        key = task_key(
            item.path,
            parameters=parameters,
            calibration=calibration,
            version=__version__,
            region_sha256=options.region_sha256,
        )
    except OSError as error:
        return _failed(
            item, f"{item.image}: cannot read the file ({error.strerror})", "ImageLoadError", source
        )
    task = Task(
        path=str(item.path),
        image=item.image,
        key=key,
        parameters=parameters,
        um_per_px=calibration.get("um_per_px"),
        fov_mm=tuple(calibration["fov_mm"]) if "fov_mm" in calibration else None,
        overlay=options.overlays,
        region=None if options.region is None else str(options.region),
    )
    return _Planned(item.image, task, source, um_per_px)


def _failed(item, message: str, error_type: str, source: str) -> _Planned:
    task = Task(path=str(item.path), image=item.image, key="", parameters={})
    record = error_record(task, message, error_type=error_type)
    return _Planned(item.image, None, source, None, record)


def _reusable(task: Task, journal: Journal, options: BatchOptions, overlay_path: Path) -> bool:
    """True when the journal holds this photo's result for the same key (and its overlay if asked for)."""
    if not options.resume or task.key not in journal.index:
        return False
    record = journal.index[task.key][1]
    if record["status"] == "ok":
        return not task.overlay or overlay_path.exists()
    return record.get("error_type") in DETERMINISTIC_ERRORS


def _final_record(item: _Planned, journal: Journal) -> dict:
    if item.record is not None:
        return item.record
    if item.task.key in journal.index:
        return journal.index[item.task.key][1]
    return error_record(
        item.task,
        "not analysed: the run was interrupted; rerun the same command to resume",
        error_type="Interrupted",
    )


def _execute(todo, options: BatchOptions, mode: str, workers: int | None):
    if mode == "dask":
        return run_dask(todo, address=options.scheduler, on_message=lambda text: _say(options, text))
    if mode == "processes":
        return run_processes(todo, workers=workers)
    return run_serial(todo)


def _progress(outcomes, total: int, options: BatchOptions):
    from tqdm import tqdm

    disabled = options.quiet or not sys.stderr.isatty()
    failed = 0
    with tqdm(total=total, unit="photo", file=sys.stderr, disable=disabled, dynamic_ncols=True) as bar:
        for outcome in outcomes:
            failed += outcome[1]["status"] != "ok"
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
            yield outcome


def _overlay_names(images: Sequence[str]) -> dict[str, str]:
    """Flat, unique overlay file names: ``visit1/s01/crown.jpg`` -> ``visit1__s01__crown.png``."""
    import hashlib

    names = {}
    for image in images:
        parts = [part for part in PurePosixPath(image).parts if part not in ("/", ".", "..")]
        flat = "__".join(part.replace(":", "") for part in parts) or "image"
        names[image] = str(PurePosixPath(flat).with_suffix(".png"))
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    for image, name in names.items():
        if counts[name] > 1:
            digest = hashlib.sha256(image.encode()).hexdigest()[:8]
            names[image] = f"{name[:-4]}-{digest}.png"
    return names


def _calibration_info(options: BatchOptions) -> dict:
    if options.um_per_px is not None:
        return {"mode": "um_per_px", "um_per_px": options.um_per_px}
    if options.fov_mm is not None:
        return {"mode": "fov_mm", "width_mm": options.fov_mm[0], "height_mm": options.fov_mm[1]}
    return {
        "mode": "table",
        "path": str(options.calibration_table.resolve()),
        "rules": [
            {"line": rule.line, "pattern": rule.pattern, "um_per_px": rule.um_per_px}
            for rule in options.calibration_rules
        ],
    }


def _skipped_message(skipped) -> str:
    if not skipped:
        return ""
    shown = "\n".join(f"  {item.path}: {item.reason}" for item in skipped[:_SKIPPED_SHOWN])
    more = (
        f"\n  ... and {len(skipped) - _SKIPPED_SHOWN} more (all listed in run.json)"
        if len(skipped) > _SKIPPED_SHOWN
        else ""
    )
    return f"skipped {_plural(len(skipped), 'file')}:\n{shown}{more}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _say(options: BatchOptions, text: str, *, stream=None) -> None:
    if text and not options.quiet:
        print(text, file=stream or sys.stderr)


def _image_suffixes():
    from .io import IMAGE_SUFFIXES

    return IMAGE_SUFFIXES


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
