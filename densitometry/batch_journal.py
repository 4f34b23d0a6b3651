"""Batch outputs: the checkpoint journal, resume keys and atomically written tables.

Every finished photo is appended to ``journal.jsonl`` in the output folder (one JSON line, flushed and
fsynced) before anything else happens, so an interrupted batch loses at most the photos in progress.
``summary.csv``, ``hairs.csv``/``hairs.parquet`` and ``run.json`` are rebuilt from the journal in sorted
input order and replaced atomically (temporary file + ``os.replace``): a reader sees the old complete
file or the new complete file, never half of one.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import secrets
from pathlib import Path

from .errors import DensitometryError

JOURNAL_NAME = "journal.jsonl"
SUMMARY_NAME = "summary.csv"
RUN_NAME = "run.json"
OVERLAY_FOLDER = "overlays"

#: Columns of summary.csv, in order. Numbers are empty for failed photos.
SUMMARY_COLUMNS = (
    "image",
    "status",
    "error",
    "hair_count",
    "grey_white_count",
    "density_per_cm2",
    "mean_diameter_um",
    "median_diameter_um",
    "vellus_fraction",
    "intermediate_fraction",
    "terminal_fraction",
    "cumulative_thickness_mm_per_cm2",
    "follicular_unit_count",
    "follicular_unit_density_per_cm2",
    "hairs_per_unit_mean",
    "single_hair_unit_fraction",
    "empty_opening_count",
    "yellow_dot_count",
    "field_area_cm2",
    "field_fraction",
    "um_per_px",
    "quality_warnings",
    "polarity",
    "blue_weight",
    "red_weight",
    "green_weight",
    "colour_gain",
    "image_width_px",
    "image_height_px",
    "calibration_source",
)


def _stable_hash(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def parameters_hash(parameters: dict) -> str:
    """Short hash of `AnalysisParameters.to_dict()` (recorded in run.json)."""
    return _stable_hash(parameters)[:16]


def task_key(
    path: Path, *, parameters: dict, calibration: dict, version: str, region_sha256: str | None = None
) -> str:
    """Resume key of one photo: path, size, modification time, parameters, calibration, version, and
    the SHA-256 of the region mask where one is given (keys without a region are as before).

    Raises
    ------
    OSError
        If the file cannot be stat'ed.
    """
    stat = path.stat()
    identity = {
        "path": str(path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "parameters": parameters_hash(parameters),
        "calibration": calibration,
        "version": version,
    }
    if region_sha256 is not None:
        identity["region_sha256"] = region_sha256
    return _stable_hash(identity)[:32]


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Journal:
    """Append-only JSON-lines checkpoint of finished photos.

    Parameters
    ----------
    path : pathlib.Path
        The journal file (created if missing).

    Notes
    -----
    A line cut short by a crash is ignored when reading and the next record starts on a fresh line.
    When a key appears more than once the last record wins.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        #: key -> (byte offset of the record's line, record without its hair rows)
        self.index: dict[str, tuple[int, dict]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("ab")
        try:
            _lock(self._handle, self.path)
            self._read()
            if self._handle.tell() > 0 and not _ends_with_newline(self.path):
                self._handle.write(b"\n")  # after a line cut short by a crash
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            offset = 0
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:  # a line cut short by a crash
                    record = None
                if isinstance(record, dict) and "key" in record:
                    record.pop("hairs", None)
                    self.index[record["key"]] = (offset, record)
                offset += len(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def append(self, record: dict) -> None:
        """Write ``record`` as one line and make it durable (flush + fsync) before returning."""
        if self._handle is None:
            raise ValueError(f"{self.path}: the journal is closed")
        offset = self._handle.tell()
        line = json.dumps(record, default=_json_default, separators=(",", ":")).encode() + b"\n"
        self._handle.write(line)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        record = {key: value for key, value in record.items() if key != "hairs"}
        self.index[record["key"]] = (offset, record)

    def hairs(self, key: str) -> tuple[list, list]:
        """(columns, rows) of the hair table stored for ``key``."""
        offset, _ = self.index[key]
        if self._handle is not None:
            self._handle.flush()
        with self.path.open("rb") as handle:
            handle.seek(offset)
            record = json.loads(handle.readline())
        return record["hair_columns"], record["hairs"]


def _lock(handle, path: Path) -> None:
    """Hold an exclusive lock on the open journal so two runs cannot interleave their records.

    The lock belongs to the open file and ends with the process, so a crash leaves no stale lock.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one run per output folder is the user's care
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise JournalBusyError(
            f"{path}: another densitometry analyze is writing to this output folder; wait for it or "
            "choose another --out"
        ) from None


class JournalBusyError(DensitometryError, RuntimeError):
    """Another process holds the journal of this output folder."""


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: str = "w", **open_options):
    """Open a temporary file next to ``path``; on success fsync it and ``os.replace`` it onto ``path``.

    On any exception (including KeyboardInterrupt) the temporary file is removed and ``path`` is left as
    it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = _create_temporary(path)
    try:
        with os.fdopen(descriptor, mode, **open_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new hidden file next to ``path``, with the usual permissions (umask applied, unlike mkstemp)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(temporary, flags, 0o666), str(temporary)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path, mode="wb") as handle:
        handle.write(data)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder; os.replace is still atomic there
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def summary_row(record: dict, *, image: str, calibration_source: str, um_per_px=None) -> dict:
    """One row of summary.csv from a journal record (``image`` overrides the stored name)."""
    summary = record.get("summary") or {}
    row = {name: summary.get(name) for name in SUMMARY_COLUMNS}
    row.update(
        image=image,
        status=record["status"],
        error=record.get("error"),
        quality_warnings="; ".join(record.get("quality_warnings") or []),
        calibration_source=calibration_source,
    )
    if row["um_per_px"] is None:
        row["um_per_px"] = um_per_px
    return row


def write_summary_csv(path: Path, rows) -> None:
    """Write summary rows (dicts with `SUMMARY_COLUMNS`) atomically."""
    with atomic_writer(path, newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SUMMARY_COLUMNS)
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in SUMMARY_COLUMNS])


def write_hairs(path: Path, hair_columns, images_and_keys, journal: Journal, *, file_format: str) -> int:
    """Write the per-hair table of the given ``(image, key)`` pairs, in that order, atomically.

    The rows of one photo at a time are read back from the journal, so memory stays bounded.

    Parameters
    ----------
    file_format : {"csv", "parquet"}
        Parquet needs pyarrow.

    Returns
    -------
    int
        Number of hair rows written.
    """
    columns = ["image", *hair_columns]
    count = 0
    if file_format == "csv":
        with atomic_writer(path, newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for image, key in images_and_keys:
                stored_columns, rows = journal.hairs(key)
                order = [stored_columns.index(name) for name in hair_columns]
                for row in rows:
                    writer.writerow([image, *(_cell(row[i]) for i in order)])
                count += len(rows)
        return count
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    chunk: list[list] = []
    with atomic_writer(path, mode="wb") as handle:
        writer = None

        def flush():
            nonlocal writer
            frame = pd.DataFrame(chunk, columns=columns)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema)
            writer.write_table(table.cast(writer.schema))
            chunk.clear()

        for image, key in images_and_keys:
            stored_columns, rows = journal.hairs(key)
            order = [stored_columns.index(name) for name in hair_columns]
            chunk.extend([image, *(row[i] for i in order)] for row in rows)
            count += len(rows)
            if len(chunk) >= 100_000:
                flush()
        if chunk or writer is None:
            flush()
        writer.close()
    return count


def write_json(path: Path, value: dict) -> None:
    """Write ``value`` as indented JSON atomically."""
    with atomic_writer(path, encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, default=_json_default)
        handle.write("\n")
