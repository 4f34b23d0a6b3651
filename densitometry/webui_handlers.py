"""Web UI handlers: plain functions from the UI's inputs to what it displays, over the library.

Nothing here imports gradio; `densitometry.webui` wires these functions to components, and the tests call
them directly. Every number shown comes from `densitometry.analyze` / `densitometry.compare`; this module
only resolves the calibration the user chose, formats tables, draws figures and writes the downloads.
"""

from __future__ import annotations

import enum
import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from .analyze import analyze
from .calibration import Calibration
from .errors import CalibrationError, DensitometryError, ParameterError
from .io import load_image
from .overlay import CLASS_COLOURS_RGB
from .results import AnalysisParameters, AnalysisResult, ThicknessClass

#: The device preset file (edit it to add your own device).
DEVICES_PATH = Path(__file__).with_name("data") / "devices.json"

#: Download folders older than this are removed when a new analysis writes its own.
OUTPUT_MAX_AGE_S = 3600.0

_CLASS_LABELS = {
    ThicknessClass.VELLUS.value: "Vellus",
    ThicknessClass.INTERMEDIATE.value: "Intermediate",
    ThicknessClass.TERMINAL.value: "Terminal",
}


class CalibrationMode(str, enum.Enum):
    """How the user gives the pixel size (the value is the label shown in the UI)."""

    UM_PER_PX = "µm per pixel"
    FIELD_OF_VIEW = "Field-of-view width (mm)"
    DEVICE = "Device preset"


@dataclass(frozen=True)
class DevicePreset:
    """One entry of ``devices.json``: a pixel size, or a field-of-view width that fits any resolution."""

    name: str
    um_per_px: float | None = None
    field_of_view_mm: float | None = None
    notes: str = ""

    def __post_init__(self):
        if (self.um_per_px is None) == (self.field_of_view_mm is None):
            raise CalibrationError(
                f"device preset {self.name!r} must give exactly one of um_per_px or field_of_view_mm"
            )

    def calibration(self, image_width_px: int) -> Calibration:
        if self.um_per_px is not None:
            return Calibration(self.um_per_px)
        return Calibration.from_field_of_view(self.field_of_view_mm, image_width_px)

    def describe(self) -> str:
        if self.um_per_px is not None:
            return f"{self.um_per_px:g} µm/px"
        return f"field of view {self.field_of_view_mm:g} mm wide"


def load_devices(path=None) -> dict[str, DevicePreset]:
    """Read the device presets, ``{name: DevicePreset}`` in file order.

    Raises
    ------
    CalibrationError
        If the file is not valid JSON or an entry is malformed (the message names the file and entry).
    """
    path = Path(path) if path is not None else DEVICES_PATH
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["devices"]
        presets = [DevicePreset(**entry) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CalibrationError(f"cannot read device presets from {path}: {error}") from None
    return {preset.name: preset for preset in presets}


@dataclass(frozen=True)
class CalibrationChoice:
    """The calibration controls of one tab, as the user set them."""

    mode: str = CalibrationMode.UM_PER_PX.value
    um_per_px: float | None = None
    field_of_view_mm: float | None = None
    device: str | None = None

    def resolve(self, image_width_px: int, devices: dict[str, DevicePreset] | None = None) -> Calibration:
        """The `Calibration` for a photo ``image_width_px`` wide.

        Raises
        ------
        CalibrationError
            With a message that says what to fill in.
        """
        try:
            mode = CalibrationMode(self.mode)
        except ValueError:
            valid = ", ".join(repr(m.value) for m in CalibrationMode)
            raise CalibrationError(
                f"unknown calibration method {self.mode!r}; choose one of {valid}"
            ) from None
        if mode is CalibrationMode.UM_PER_PX:
            if _unset(self.um_per_px):
                raise CalibrationError(
                    "No calibration: enter the pixel size in µm per pixel (e.g. 7), or choose the "
                    "field-of-view width or a device preset."
                )
            return Calibration(self.um_per_px)
        if mode is CalibrationMode.FIELD_OF_VIEW:
            if _unset(self.field_of_view_mm):
                raise CalibrationError(
                    "No calibration: enter the width of the imaged field in mm (e.g. 4.5), or choose "
                    "another calibration method."
                )
            return Calibration.from_field_of_view(self.field_of_view_mm, image_width_px)
        devices = load_devices() if devices is None else devices
        if not self.device or self.device not in devices:
            raise CalibrationError(
                f"No calibration: choose a device preset (got {self.device!r}); presets are kept in "
                f"{DEVICES_PATH.name}."
            )
        return devices[self.device].calibration(image_width_px)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unset(value) -> bool:
    """A calibration field left empty (a Gradio Number left empty may arrive as None or 0)."""
    return _blank(value) or (isinstance(value, (int, float)) and value == 0)


def analysis_options(
    *, min_length_um=None, vellus_max_um=None, terminal_min_um=None, polarity=None, refine=False
) -> dict:
    """Keyword options for `analyze` from the Advanced controls (blank fields keep the defaults).

    Raises
    ------
    ParameterError
        If the combination is invalid (checked here so the user sees it before any work is done).
    """
    options = {
        "min_length_um": min_length_um,
        "vellus_max_um": vellus_max_um,
        "terminal_min_um": terminal_min_um,
        "polarity": polarity,
    }
    options = {key: value for key, value in options.items() if not _blank(value)}
    if refine:
        options["refine"] = True
    AnalysisParameters(**options)
    return options


def _report(progress: Callable | None, fraction: float, text: str) -> None:
    if progress is not None:
        progress(fraction, desc=text)


# ----------------------------------------------------------------------------------------------- analyze


@dataclass
class AnalyzeOutput:
    """What the Analyze tab shows for one run."""

    results: list[AnalysisResult]
    gallery: list[tuple[np.ndarray, str]]
    metrics: pd.DataFrame
    figure: object
    warnings_markdown: str
    files: list[str]
    payload: dict
    failures: list[str] = field(default_factory=list)


def analyze_photos(
    paths: Sequence,
    calibration: CalibrationChoice,
    *,
    options: dict | None = None,
    output_dir=None,
    progress: Callable | None = None,
    devices: dict[str, DevicePreset] | None = None,
    region=None,
) -> AnalyzeOutput:
    """Analyse each photo; a photo that fails is reported and the others still run.

    Parameters
    ----------
    paths : sequence of str or path-like
        Uploaded photos.
    calibration : CalibrationChoice
    options : dict, optional
        Keyword options for `analyze` (see `analysis_options`).
    output_dir : path-like, optional
        Where the downloads are written (default: a fresh folder from `new_output_dir`).
    progress : callable, optional
        ``progress(fraction, desc=...)``, e.g. a ``gradio.Progress``.
    region : str or path-like, optional
        A mask image of the photos' size, white where to analyse, for every photo (``region`` of
        `densitometry.analyze`); a photo of another size is reported and the others still run.

    Raises
    ------
    DensitometryError
        No photo given, or no photo could be analysed (the message lists why for each).
    """
    paths = [str(p) for p in (paths or []) if p]
    if not paths:
        raise DensitometryError("No photo: upload one or more scalp photos, or click an example.")
    options = dict(options or {})
    devices = load_devices() if devices is None else devices
    results, failures = [], []
    for index, path in enumerate(paths):
        name = Path(path).name
        _report(progress, index / len(paths), f"Analysing {name} ({index + 1} of {len(paths)})")
        try:
            loaded = load_image(path, name=name)
            cal = calibration.resolve(loaded.shape_px[1], devices)
            results.append(analyze(loaded.rgb, calibration=cal, name=name, region=region, **options))
        except CalibrationError:
            raise  # the same for every photo: no point trying the others
        except DensitometryError as error:
            text = str(error)
            failures.append(text if name in text else f"{name}: {text}")
    if not results:
        raise DensitometryError("No photo could be analysed. " + " ".join(failures))
    _report(progress, 0.95, "Preparing tables, histogram and downloads")
    output_dir = Path(output_dir) if output_dir is not None else new_output_dir()
    return AnalyzeOutput(
        results=results,
        gallery=[(r.overlay(), _caption(r)) for r in results],
        metrics=metrics_table(results),
        figure=diameter_histogram_figure(results),
        warnings_markdown=warnings_markdown(results, failures),
        files=write_analysis_files(results, output_dir),
        payload=analysis_payload(results, failures),
        failures=failures,
    )


def _caption(result: AnalysisResult) -> str:
    return f"{result.image_name}: {result.hair_count} hairs, {_fmt(result.density_per_cm2, 0)} /cm²"


def _fmt(value, digits: int = 1, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{_no_minus_zero(value, digits):,.{digits}f}{suffix}"


def _no_minus_zero(value, digits: int):
    """``value`` rounded as it will be shown, so that -0.3 shown without decimals reads 0, not -0."""
    return round(float(value), digits) + 0.0


def _pct(fraction) -> str:
    if fraction is None or not math.isfinite(fraction):
        return "–"
    return f"{100 * fraction:.0f} %"


#: (label, attribute, formatter) of the rows of the metrics table.
_METRIC_ROWS = (
    ("Hairs counted", "hair_count", lambda v: f"{v:d}"),
    ("of which grey or white", "grey_white_count", lambda v: f"{v:d}"),
    ("Density (hairs/cm²)", "density_per_cm2", lambda v: _fmt(v, 0)),
    ("Mean diameter (µm)", "mean_diameter_um", lambda v: _fmt(v, 1)),
    ("Median diameter (µm)", "median_diameter_um", lambda v: _fmt(v, 1)),
    ("Vellus share", "vellus_fraction", _pct),
    ("Intermediate share", "intermediate_fraction", _pct),
    ("Terminal share", "terminal_fraction", _pct),
    ("Cumulative thickness (mm/cm²)", "cumulative_thickness_mm_per_cm2", lambda v: _fmt(v, 2)),
    ("Follicular units", "follicular_unit_count", lambda v: f"{v:d}"),
    ("FU density (units/cm²)", "follicular_unit_density_per_cm2", lambda v: _fmt(v, 0)),
    ("Hairs per FU", "hairs_per_unit_mean", lambda v: _fmt(v, 2)),
    ("Single-hair FU share", "single_hair_unit_fraction", _pct),
    ("Empty follicular openings", "empty_opening_count", lambda v: f"{v:d}"),
    ("of which yellow dots", "yellow_dot_count", lambda v: f"{v:d}"),
    ("Field of view (cm²)", "field_area_cm2", lambda v: _fmt(v, 3)),
    ("Share of photo in the field", "field_fraction", _pct),
    ("Calibration (µm/px)", "um_per_px", lambda v: _fmt(v, 2)),
)


def metrics_table(results: Sequence[AnalysisResult]) -> pd.DataFrame:
    """One row per metric, one column per photo (formatted text, units in the row label)."""
    columns = _unique_names([r.image_name for r in results])
    table = {"Metric": [label for label, _, _ in _METRIC_ROWS]}
    for column, result in zip(columns, results, strict=True):
        table[column] = [fmt(getattr(result, attr)) for _, attr, fmt in _METRIC_ROWS]
    return pd.DataFrame(table)


def empty_metrics_table() -> pd.DataFrame:
    """The metrics table before any photo is analysed (row labels, no values)."""
    return pd.DataFrame({"Metric": [label for label, _, _ in _METRIC_ROWS], "Photo": "–"})


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def warnings_markdown(results: Sequence[AnalysisResult], failures: Sequence[str] = ()) -> str:
    """Quality warnings and failed photos as a Markdown list (or a line saying there are none)."""
    lines = [f"- **Not analysed:** {text}" for text in failures]
    for result in results:
        lines += [f"- **{result.image_name}**: {text}" for text in result.quality_warnings]
    if not lines:
        return "**Quality:** no problems found (focus, exposure and hair count look usable)."
    return "**Quality warnings** (the numbers may be less reliable):\n\n" + "\n".join(lines)


def analysis_payload(results: Sequence[AnalysisResult], failures: Sequence[str] = ()) -> dict:
    """JSON-safe summary of a run: one entry per photo (without the per-hair rows)."""
    return {
        "photos": [r.to_dict(include_hairs=False) for r in results],
        "failures": list(failures),
    }


# ------------------------------------------------------------------------------------------------ figures


def _class_colour(key: str):
    return tuple(c / 255 for c in CLASS_COLOURS_RGB[key])


def _new_figure(width_in=6.4, height_in=3.4):
    from matplotlib.figure import Figure

    # A bare Figure, not pyplot: no global state shared between concurrent requests.
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    return figure, figure.add_subplot()


def _bin_edges(diameters_um: np.ndarray, parameters: AnalysisParameters, bin_width_um: float = 10.0):
    top = max(float(diameters_um.max()) if len(diameters_um) else 0.0, parameters.terminal_min_um)
    return np.arange(0.0, top + 2 * bin_width_um, bin_width_um)


def diameter_histogram_figure(results: Sequence[AnalysisResult], *, bin_width_um: float = 10.0):
    """Histogram of shaft diameters of all photos together, stacked bars coloured by thickness class.

    Returns
    -------
    matplotlib.figure.Figure
    """
    hairs = pd.concat([r.hairs for r in results], ignore_index=True)
    diameters = hairs["diameter_um"].to_numpy(dtype=float)
    parameters = results[0].parameters
    edges = _bin_edges(diameters, parameters, bin_width_um)
    figure, axes = _new_figure()
    bottom = np.zeros(len(edges) - 1)
    for key, label in _CLASS_LABELS.items():
        values = diameters[(hairs["thickness_class"] == key).to_numpy()]
        counts, _ = np.histogram(values, bins=edges)
        axes.bar(
            edges[:-1],
            counts,
            width=bin_width_um,
            bottom=bottom,
            align="edge",
            color=_class_colour(key),
            edgecolor="white",
            linewidth=0.5,
            label=f"{label} ({len(values)})",
        )
        bottom += counts
    _threshold_lines(axes, parameters)
    title = f"{len(diameters)} hairs" + (f" in {len(results)} photos" if len(results) > 1 else "")
    axes.set(xlabel="Shaft diameter (µm)", ylabel="Hairs", title="Shaft diameter histogram")
    axes.legend(frameon=False, title=title, alignment="left")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def _threshold_lines(axes, parameters: AnalysisParameters):
    for value in sorted({parameters.vellus_max_um, parameters.terminal_min_um}):
        axes.axvline(value, color="0.4", linestyle=":", linewidth=1)


# --------------------------------------------------------------------------------------------- downloads


def output_root() -> Path:
    """Folder for downloads: inside Gradio's upload folder, so it goes with the app's temporary files."""
    import os

    root = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio") / "densitometry"
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_output_dir(root=None, *, max_age_s: float = OUTPUT_MAX_AGE_S) -> Path:
    """A fresh private folder for one run's downloads; folders older than ``max_age_s`` are removed."""
    root = Path(root) if root is not None else output_root()
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - max_age_s
    for old in root.glob("run-*"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # removed by a concurrent request
            continue
    return Path(tempfile.mkdtemp(prefix="run-", dir=root))


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._")
    return stem or "photo"


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path


def write_analysis_files(results: Sequence[AnalysisResult], output_dir: Path) -> list[str]:
    """Summary CSV, per-hair CSV, JSON and one overlay PNG per photo; returns the paths."""
    output_dir = Path(output_dir)
    summary = pd.DataFrame([r.summary() for r in results])
    summary.insert(1, "quality_warnings", ["; ".join(r.quality_warnings) for r in results])
    summary_path = output_dir / "densitometry_summary.csv"
    summary.to_csv(summary_path, index=False)
    hairs = pd.concat([r.hairs.assign(image=r.image_name) for r in results], ignore_index=True)
    hairs = hairs[["image", *[c for c in hairs.columns if c != "image"]]]
    hairs_path = output_dir / "densitometry_hairs.csv"
    hairs.to_csv(hairs_path, index=False)
    json_path = output_dir / "densitometry_results.json"
    json_path.write_text(
        json.dumps([r.to_dict() for r in results], indent=1, allow_nan=False), encoding="utf-8"
    )
    files = [summary_path, hairs_path, json_path]
    stems = _unique_names([_safe_stem(r.image_name) for r in results])
    for stem, result in zip(stems, results, strict=True):
        files.append(write_png(output_dir / f"{stem.replace(' ', '_')}_overlay.png", result.overlay()))
    return [str(p) for p in files]


# ------------------------------------------------------------------------------------------------ compare


@dataclass
class CompareOutput:
    """What the Compare tab shows for one before/after pair."""

    comparison: object
    slider: tuple[np.ndarray, np.ndarray]
    change_map: np.ndarray | None
    changes: pd.DataFrame
    figure: object
    sentence: str
    warnings_markdown: str
    files: list[str]
    payload: dict


def compare_available() -> tuple[bool, str]:
    """Whether ``densitometry.compare`` exists in this installation, and why not."""
    try:
        from . import compare as _compare  # noqa: F401
    except ImportError:
        return False, "before/after comparison (densitometry.compare) is not part of this installation"
    return True, ""


def _compare_function():
    try:
        from .compare import compare
    except ImportError:
        raise DensitometryError(compare_available()[1].capitalize()) from None
    return compare


def compare_photos(
    before_path,
    after_path,
    calibration: CalibrationChoice,
    *,
    after_um_per_px=None,
    before_date: str = "",
    after_date: str = "",
    options: dict | None = None,
    output_dir=None,
    progress: Callable | None = None,
    devices: dict[str, DevicePreset] | None = None,
    region=None,
) -> CompareOutput:
    """Align and compare a before and an after photo of the same site.

    Parameters
    ----------
    before_path, after_path : str or path-like
    calibration : CalibrationChoice
        Used for both photos (a field-of-view calibration adapts to each photo's width) unless
        ``after_um_per_px`` is given for the after photo.
    after_um_per_px : float, optional
        Pixel size of the after photo when it was taken at another magnification.
    before_date, after_date : str
        Shown in the summary sentence (free text, e.g. ``2024-01-15``).
    region : str or path-like, optional
        A mask image of the photos' size, white where to analyse, for both photos (``region`` of
        `densitometry.compare`).

    Raises
    ------
    DensitometryError
        A photo is missing or unreadable, no calibration, or the comparison module is missing.
    """
    if not before_path or not after_path:
        missing = " and ".join(n for n, p in (("before", before_path), ("after", after_path)) if not p)
        raise DensitometryError(f"No {missing} photo: upload both photos of the same scalp site.")
    options = dict(options or {})
    devices = load_devices() if devices is None else devices
    compare = _compare_function()
    _report(progress, 0.05, "Reading photos")
    before = load_image(before_path, name=f"before: {Path(before_path).name}")
    after = load_image(after_path, name=f"after: {Path(after_path).name}")
    before_cal = calibration.resolve(before.shape_px[1], devices)
    after_cal = (
        Calibration(after_um_per_px)
        if not _unset(after_um_per_px)
        else calibration.resolve(after.shape_px[1], devices)
    )
    interval_days = days_between(before_date, after_date)
    _report(progress, 0.15, "Aligning the photos and counting hairs in the common field")
    comparison = compare(
        before.rgb,
        after.rgb,
        before_um_per_px=before_cal.um_per_px,
        after_um_per_px=after_cal.um_per_px,
        interval_days=interval_days,
        region=region,
        **options,
    )
    _report(progress, 0.8, "Preparing the slider, tables and histogram")
    # Restricted to the common field when aligned; the whole fields when not.
    before_result, after_result = comparison.before, comparison.after
    slider = (before_result.overlay(), comparison.aligned_after_overlay())
    if comparison.registered:
        change_map = comparison.change_map()
        scope = f"common field of {_fmt(comparison.overlap_area_cm2, 3)} cm²"
    else:
        change_map = None
        scope = "whole photos (not aligned)"
    changes = change_table(before_result, after_result, comparison if comparison.registered else None)
    sentence = change_sentence(
        before_result,
        after_result,
        comparison if comparison.registered else None,
        before_date=before_date,
        after_date=after_date,
    )
    notes = list(getattr(comparison, "warnings", ()) or ())
    if not comparison.registered:
        notes.insert(
            0,
            "Alignment failed: the two photos could not be matched to the same site, so the numbers "
            "below are for the whole photos, and matched/new/lost hairs are not available. Retake the "
            "after photo at the same spot (use a tattoo dot or landmark) for a hair-by-hair comparison.",
        )
    for result in (before_result, after_result):
        notes += [f"{result.image_name}: {text}" for text in result.quality_warnings]
    warnings_md = (
        "**Notes:**\n\n" + "\n".join(f"- {text}" for text in notes)
        if notes
        else f"**Quality:** photos aligned, no problems found; numbers are for the {scope}."
    )
    output_dir = Path(output_dir) if output_dir is not None else new_output_dir()
    payload = comparison_payload(comparison, before_result, after_result, sentence, before_date, after_date)
    files = write_comparison_files(changes, payload, slider, output_dir, change_map=change_map)
    return CompareOutput(
        comparison=comparison,
        slider=slider,
        change_map=change_map,
        changes=changes,
        figure=comparison_histogram_figure(
            before_result,
            after_result,
            before_date,
            after_date,
            comparison=comparison if comparison.registered else None,
        ),
        sentence=sentence,
        warnings_markdown=warnings_md,
        files=files,
        payload=payload,
    )


def days_between(before_date: str, after_date: str) -> float | None:
    """Days from ``before_date`` to ``after_date`` (ISO dates, e.g. 2024-01-15); None unless both parse.

    Raises
    ------
    ParameterError
        If both are dates and the after date is not later than the before date.
    """
    import datetime

    try:
        start = datetime.date.fromisoformat((before_date or "").strip())
        end = datetime.date.fromisoformat((after_date or "").strip())
    except ValueError:
        return None
    if end <= start:
        raise ParameterError(f"the after date ({end}) must be later than the before date ({start})")
    return float((end - start).days)


def _delta(after, before):
    if after is None or before is None or not (math.isfinite(after) and math.isfinite(before)):
        return math.nan
    return after - before


def _signed(value, digits: int = 1, suffix: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{_no_minus_zero(value, digits):+,.{digits}f}".replace("-", "−")
    return f"{text}{suffix}"


def _visit_figures(before: AnalysisResult, after: AnalysisResult, comparison=None):
    """(hairs, density /cm², mean diameter µm) at each visit, each a (before, after) pair.

    For an aligned comparison these are its joint figures (`densitometry.compare.Comparison`): a hair
    that one photo's analysis missed but that photo still shows counts at both visits, so the change
    is new minus lost hairs, as `Comparison.delta_density_per_cm2` reports it. Otherwise each photo's
    own analysis.
    """
    if comparison is not None and hasattr(comparison, "hairs_present_before"):
        c = comparison
        return (
            (c.hairs_present_before, c.hairs_present_after),
            (c.before_density_per_cm2, c.after_density_per_cm2),
            (c.before_mean_diameter_um, c.after_mean_diameter_um),
        )
    return (
        (getattr(before, "hair_count", None), getattr(after, "hair_count", None)),
        (before.density_per_cm2, after.density_per_cm2),
        (before.mean_diameter_um, after.mean_diameter_um),
    )


def change_table(before: AnalysisResult, after: AnalysisResult, comparison=None) -> pd.DataFrame:
    """Rows: metric; columns: Before, After, Change (formatted text)."""
    rows = []

    def add(label, b, a, digits, unit=""):
        rows.append((label, _fmt(b, digits), _fmt(a, digits), _signed(_delta(a, b), digits, unit)))

    counts, densities, diameters = _visit_figures(before, after, comparison)
    (count_b, count_a), (density_b, density_a), (diameter_b, diameter_a) = counts, densities, diameters
    rows.append(("Hairs counted", str(count_b), str(count_a), _signed(count_a - count_b, 0)))
    change = _delta(density_a, density_b)
    percent = 100 * change / density_b if density_b else math.nan
    rows.append(
        (
            "Density (hairs/cm²)",
            _fmt(density_b, 0),
            _fmt(density_a, 0),
            f"{_signed(change, 0)} ({_signed(percent, 0, ' %')})",
        )
    )
    add("Mean diameter (µm)", diameter_b, diameter_a, 1, " µm")
    add("Median diameter (µm)", before.median_diameter_um, after.median_diameter_um, 1, " µm")
    for label, attr in (
        ("Vellus share", "vellus_fraction"),
        ("Intermediate share", "intermediate_fraction"),
        ("Terminal share", "terminal_fraction"),
    ):
        b, a = getattr(before, attr), getattr(after, attr)
        rows.append((label, _pct(b), _pct(a), _signed(100 * _delta(a, b), 0, " points")))
    add(
        "Cumulative thickness (mm/cm²)",
        before.cumulative_thickness_mm_per_cm2,
        after.cumulative_thickness_mm_per_cm2,
        2,
    )
    if comparison is not None:
        rows.append(("Field compared (cm²)", _fmt(comparison.overlap_area_cm2, 3), "", "common field"))
        rows.append(("Matched hairs", "", "", str(int(comparison.matched_hairs))))
        for label, total, untraced in (
            ("New hairs", comparison.new_hairs, comparison.new_untraced),
            ("Lost hairs", comparison.lost_hairs, comparison.lost_untraced),
        ):
            # Hairs traced with a neighbour show up only in the difference of the aligned photos.
            note = f" ({int(untraced)} seen only in the difference of the photos)" if untraced else ""
            rows.append((label, "", "", f"{int(total)}{note}"))
        rows.append(("Vellus → terminal", "", "", str(int(getattr(comparison, "vellus_to_terminal", 0)))))
        growth = getattr(comparison, "growth_um_per_day_median", math.nan)
        if growth is not None and math.isfinite(growth):
            rows.append(("Median growth (µm/day)", "", "", _fmt(growth, 0)))
            rows.append(("Growing (anagen) share", "", "", _pct(comparison.anagen_fraction)))
    else:
        rows.append(
            (
                "Field compared (cm²)",
                _fmt(before.field_area_cm2, 3),
                _fmt(after.field_area_cm2, 3),
                "whole photos",
            )
        )
    return pd.DataFrame(rows, columns=["Metric", "Before", "After", "Change"])


def empty_change_table() -> pd.DataFrame:
    """The change table before any comparison (row labels, no values)."""
    labels = ["Hairs counted", "Density (hairs/cm²)", "Mean diameter (µm)", "Median diameter (µm)",
              "Vellus share", "Intermediate share", "Terminal share", "Cumulative thickness (mm/cm²)",
              "Matched hairs", "New hairs", "Lost hairs", "Vellus → terminal"]  # fmt: skip
    return pd.DataFrame({"Metric": labels, "Before": "–", "After": "–", "Change": "–"})


def change_sentence(
    before: AnalysisResult,
    after: AnalysisResult,
    comparison=None,
    *,
    before_date: str = "",
    after_date: str = "",
) -> str:
    """One plain-language sentence, e.g. "Density rose 14 % (+21 hairs/cm²); mean diameter +6 µm; ..."."""
    _, (density_b, density_a), (diameter_b, diameter_a) = _visit_figures(before, after, comparison)
    density_change = _delta(density_a, density_b)
    parts = []
    if not math.isfinite(density_change) or density_b == 0:
        parts.append(f"Density went from {_fmt(density_b, 0)} to {_fmt(density_a, 0)} hairs/cm²")
    else:
        percent = 100 * density_change / density_b
        if abs(percent) < 0.5:
            parts.append(f"Density was unchanged ({_fmt(density_a, 0)} hairs/cm²)")
        else:
            verb = "rose" if percent > 0 else "fell"
            parts.append(f"Density {verb} {abs(percent):.0f}% ({_signed(density_change, 0)} hairs/cm²)")
    diameter_change = _delta(diameter_a, diameter_b)
    if math.isfinite(diameter_change):
        if abs(diameter_change) < 0.5:
            parts.append("mean diameter unchanged")
        else:
            parts.append(f"mean diameter {_signed(diameter_change, 0)} µm")
    terminal_change = _delta(after.terminal_fraction, before.terminal_fraction)
    if math.isfinite(terminal_change) and abs(terminal_change) >= 0.005:
        parts.append(
            f"terminal hairs {_pct(before.terminal_fraction)} → {_pct(after.terminal_fraction)} of all hairs"
        )
    if comparison is not None:
        converted = int(getattr(comparison, "vellus_to_terminal", 0) or 0)
        if converted:
            parts.append(f"{converted} vellus hair{'s' if converted != 1 else ''} became terminal")
        parts.append(f"{int(comparison.new_hairs)} new and {int(comparison.lost_hairs)} lost hairs")
    else:
        parts.append("photos not aligned, whole fields compared")
    sentence = "; ".join(parts) + "."
    if before_date and after_date:
        sentence = f"From {before_date} to {after_date}: " + sentence[0].lower() + sentence[1:]
    return sentence


def comparison_histogram_figure(
    before: AnalysisResult,
    after: AnalysisResult,
    before_date: str = "",
    after_date: str = "",
    comparison=None,
):
    """Overlaid diameter histograms (before filled grey, after outlined) over class-coloured bands.

    With an aligned ``comparison``, the hairs present at each visit in the common field (its joint
    counts, as in the change table); otherwise every hair of each photo.
    """
    if comparison is not None and getattr(comparison, "present_diameters_before_um", None) is not None:
        diam_b = np.asarray(comparison.present_diameters_before_um, dtype=float)
        diam_a = np.asarray(comparison.present_diameters_after_um, dtype=float)
    else:
        diam_b = before.hairs["diameter_um"].to_numpy(dtype=float)
        diam_a = after.hairs["diameter_um"].to_numpy(dtype=float)
    parameters = before.parameters
    edges = _bin_edges(np.concatenate([diam_b, diam_a]), parameters)
    figure, axes = _new_figure()
    bands = (
        (0.0, parameters.vellus_max_um, ThicknessClass.VELLUS.value),
        (parameters.vellus_max_um, parameters.terminal_min_um, ThicknessClass.INTERMEDIATE.value),
        (parameters.terminal_min_um, edges[-1], ThicknessClass.TERMINAL.value),
    )
    for low, high, key in bands:
        if high > low:
            axes.axvspan(
                low, high, color=_class_colour(key), alpha=0.15, linewidth=0, label=_CLASS_LABELS[key]
            )
    label_b = "Before" + (f" ({before_date})" if before_date else "") + f", {len(diam_b)} hairs"
    label_a = "After" + (f" ({after_date})" if after_date else "") + f", {len(diam_a)} hairs"
    axes.hist(diam_b, bins=edges, color="0.55", alpha=0.6, label=label_b)
    axes.hist(diam_a, bins=edges, histtype="step", color="black", linewidth=1.8, label=label_a)
    axes.set(xlabel="Shaft diameter (µm)", ylabel="Hairs", title="Shaft diameters before and after")
    handles, labels = axes.get_legend_handles_labels()
    order = [labels.index(label) for label in labels if label.startswith(("Before", "After"))]
    order += [i for i in range(len(labels)) if i not in order]
    axes.legend([handles[i] for i in order], [labels[i] for i in order], frameon=False, fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def comparison_payload(comparison, before, after, sentence, before_date="", after_date="") -> dict:
    """JSON-safe numbers of a comparison."""
    registered = bool(comparison.registered)
    values = {
        "registered": registered,
        "summary_sentence": sentence,
        "before_date": before_date or None,
        "after_date": after_date or None,
        "before": before.summary(),
        "after": after.summary(),
        "warnings": [str(w) for w in getattr(comparison, "warnings", ()) or ()],
    }
    if registered:
        values["comparison"] = _json_safe(comparison.to_dict())
    else:
        values["delta_density_per_cm2"] = _finite_or_none(
            _delta(after.density_per_cm2, before.density_per_cm2)
        )
        values["delta_mean_diameter_um"] = _finite_or_none(
            _delta(after.mean_diameter_um, before.mean_diameter_um)
        )
    return values


def _finite_or_none(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _json_safe(value):
    """Replace NaN/inf by None and numpy scalars/arrays by Python values (recursively)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_comparison_files(
    changes: pd.DataFrame, payload: dict, slider, output_dir: Path, *, change_map=None
) -> list[str]:
    """Change table CSV, JSON, the aligned before/after overlays and the change map (when the photos
    were aligned) as PNGs."""
    output_dir = Path(output_dir)
    csv_path = output_dir / "densitometry_comparison.csv"
    changes.to_csv(csv_path, index=False)
    json_path = output_dir / "densitometry_comparison.json"
    json_path.write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")
    before_png = write_png(output_dir / "before_overlay.png", slider[0])
    after_png = write_png(output_dir / "after_overlay_aligned.png", slider[1])
    files = [str(csv_path), str(json_path), str(before_png), str(after_png)]
    if change_map is not None:
        files.append(str(write_png(output_dir / "change_map.png", change_map)))
    return files


def parameter_error_message(error: Exception) -> str:
    """A one-line message for the UI from a library error (identifiers such as ``terminal_min_um`` kept)."""
    text = str(error).strip() or type(error).__name__
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[0].upper() + text[1:]
    if not text.endswith((".", ")", "?")):
        text += "."
    return text
