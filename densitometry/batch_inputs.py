"""Batch inputs: find the photos named on the command line and the calibration of each.

Only the standard library is imported here, so the CLI can check its inputs before the analysis stack
loads.
"""

from __future__ import annotations

import csv
import fnmatch
import math
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import DensitometryError
from .io import is_image_path


class BatchUsageError(DensitometryError, ValueError):
    """The batch cannot start: no inputs, bad or conflicting options, an unreadable calibration table."""


@dataclass(frozen=True)
class ImageInput:
    """One photo found on the command line.

    Attributes
    ----------
    path : pathlib.Path
        Absolute, resolved path (what workers open and what the resume key uses).
    image : str
        Name in the output tables: the argument as given, joined with the path below it (POSIX
        separators), e.g. ``"visits/s01/crown.jpg"``.
    relative : str
        Path relative to the folder argument it was found in (POSIX), or the argument itself for a file
        argument; calibration patterns are matched against this and the file name.
    """

    path: Path
    image: str
    relative: str

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.relative).name


@dataclass(frozen=True)
class SkippedFile:
    """A file that was found but not analysed, and why."""

    path: str
    reason: str


def find_images(paths, *, recursive: bool = False, exclude=()) -> tuple[list[ImageInput], list[SkippedFile]]:
    """Collect the photos named by files and folders.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Image files and/or folders.
    recursive : bool
        Search sub-folders too.
    exclude : sequence of path-like
        Folders never searched (the output folder, so overlays are not read back as inputs).

    Returns
    -------
    images : list of ImageInput
        Sorted by ``image``; a file reached twice is listed once.
    skipped : list of SkippedFile
        Non-image files, hidden files and (without ``recursive``) sub-folders, sorted by path.

    Raises
    ------
    BatchUsageError
        If a path does not exist.
    """
    excluded = [Path(p).resolve() for p in exclude]
    found: dict[Path, ImageInput] = {}
    skipped: list[SkippedFile] = []

    def add(path: Path, image: str, relative: str) -> None:
        if not is_image_path(path):
            skipped.append(SkippedFile(image, f"not an image file (expected one of {_suffix_list()})"))
            return
        resolved = path.resolve()
        candidate = ImageInput(resolved, image, relative)
        if resolved not in found or candidate.image < found[resolved].image:
            found[resolved] = candidate

    for given in paths:
        argument = Path(given)
        if argument.is_dir():
            for folder, subfolders, files in os.walk(argument):
                folder_path = Path(folder)
                kept = []
                for name in sorted(subfolders):
                    sub = folder_path / name
                    if name.startswith(".") or _is_under(sub.resolve(), excluded):
                        continue
                    if recursive:
                        kept.append(name)
                    else:
                        skipped.append(SkippedFile(sub.as_posix(), "folder (add --recursive to search it)"))
                subfolders[:] = kept
                for name in sorted(files):
                    file_path = folder_path / name
                    if _is_under(file_path.resolve(), excluded):
                        continue
                    if name.startswith("."):
                        skipped.append(SkippedFile(file_path.as_posix(), "hidden file"))
                        continue
                    add(file_path, file_path.as_posix(), file_path.relative_to(argument).as_posix())
        elif argument.exists():
            add(argument, argument.as_posix(), argument.as_posix())
        else:
            raise BatchUsageError(f"{given}: no such file or folder")
    images = sorted(found.values(), key=lambda item: item.image)
    return images, sorted(skipped, key=lambda item: item.path)


def _is_under(path: Path, folders) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _suffix_list() -> str:
    from .io import IMAGE_SUFFIXES

    return ", ".join(IMAGE_SUFFIXES)


@dataclass(frozen=True)
class CalibrationRule:
    """One row of a calibration table: photos matching ``pattern`` have ``um_per_px``."""

    pattern: str
    um_per_px: float
    line: int

    def matches(self, image: ImageInput) -> bool:
        """True when the pattern matches the relative path, the file name or the output name."""
        candidates = (image.relative, image.file_name, image.image)
        return any(fnmatch.fnmatchcase(candidate, self.pattern) for candidate in candidates)

    def describe(self, table_name: str) -> str:
        return f"{table_name} line {self.line} (pattern {self.pattern!r})"


def read_calibration_table(path) -> tuple[CalibrationRule, ...]:
    """Read a calibration table for photos from several devices.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file with a header row and columns ``pattern`` (a path or glob, e.g. ``siteA/*.jpg``,
        matched against the path relative to the folder given on the command line, the file name and
        the output name; ``*`` also matches ``/``) and ``um_per_px``. Other columns are ignored. The
        first matching row wins.

    Returns
    -------
    tuple of CalibrationRule

    Raises
    ------
    BatchUsageError
        If the file is missing, lacks a column, is empty, or has a value that is not a number > 0.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in (reader.fieldnames or [])]
            missing = [name for name in ("pattern", "um_per_px") if name not in header]
            if missing:
                raise BatchUsageError(
                    f"{path}: calibration table needs the columns 'pattern' and 'um_per_px'; "
                    f"missing {missing} (found {header})"
                )
            rules = []
            for row in reader:
                values = {(key or "").strip(): (value or "").strip() for key, value in row.items()}
                if not any(values.values()):
                    continue
                line = reader.line_num
                pattern = values["pattern"].replace("\\", "/").removeprefix("./")
                if not pattern:
                    raise BatchUsageError(f"{path} line {line}: empty pattern")
                rules.append(CalibrationRule(pattern, _positive(values["um_per_px"], path, line), line))
    except OSError as error:
        raise BatchUsageError(f"{path}: cannot read the calibration table ({error.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise BatchUsageError(f"{path}: not a readable CSV file ({error})") from None
    if not rules:
        raise BatchUsageError(f"{path}: the calibration table has no rows")
    return tuple(rules)


def _positive(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise BatchUsageError(f"{path} line {line}: um_per_px must be a number > 0, got {text!r}")
    return value


def match_calibration(rules, image: ImageInput) -> CalibrationRule | None:
    """The first rule whose pattern matches ``image``, or None."""
    return next((rule for rule in rules if rule.matches(image)), None)
