"""Gradio layout of the web UI: tabs, controls and the events that call `densitometry.webui_handlers`.

Kept apart from `densitometry.webui` so that importing the CLI does not import gradio.
"""

from __future__ import annotations

import logging
import time

import gradio as gr

from . import __version__, webui
from . import webui_handlers as h
from .errors import DensitometryError
from .preprocess import Polarity

_log = logging.getLogger(__name__)

_PHOTO_TYPES = [".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"]
_DEFAULTS = h.AnalysisParameters()

_INTRO = f"""
<div class="dm-header">

# densitometry — scalp trichoscopy

Hair count, density (hairs/cm²) and shaft diameter (µm) from dermatoscope photos. Runs on this computer:
photos are not sent anywhere and are deleted when the app stops. v{__version__}
</div>
"""

_CALIBRATION_HELP = (
    "Numbers in cm² and µm need the pixel size of the photo. Measure it once per device and "
    "magnification with a stage micrometer; the presets are examples to edit in "
    "`densitometry/data/devices.json`."
)


def _message(error: Exception) -> str:
    return h.parameter_error_message(error)


def _unexpected(error: Exception, what: str) -> str:
    # A bug, not bad input: keep the app up, log the traceback for the maintainer, tell the user plainly.
    _log.error("unexpected error while %s", what, exc_info=error)
    return f"Unexpected error while {what} ({type(error).__name__}: {error}). Details are in the server log."


def _calibration_controls(prefix: str, default_mode=h.CalibrationMode.UM_PER_PX.value, default_um=None):
    devices = h.load_devices()
    with gr.Group():
        mode = gr.Radio(
            [m.value for m in h.CalibrationMode],
            value=default_mode,
            label="Calibration",
            info=_CALIBRATION_HELP,
        )
        um_per_px = gr.Number(
            value=default_um,
            label="Pixel size (µm per pixel)",
            minimum=0,
            placeholder="e.g. 7",
            elem_id=f"{prefix}-um-per-px",
            visible=default_mode == h.CalibrationMode.UM_PER_PX.value,
        )
        fov_mm = gr.Number(
            value=None,
            label="Field-of-view width (mm)",
            info="Width of the whole imaged field; works for any photo resolution.",
            minimum=0,
            placeholder="e.g. 4.5",
            elem_id=f"{prefix}-fov-mm",
            visible=default_mode == h.CalibrationMode.FIELD_OF_VIEW.value,
        )
        device = gr.Dropdown(
            choices=[(f"{name} — {preset.describe()}", name) for name, preset in devices.items()],
            value=next(iter(devices), None),
            label="Device preset (examples: check against your device)",
            visible=default_mode == h.CalibrationMode.DEVICE.value,
        )

    def show(selected):
        return (
            gr.update(visible=selected == h.CalibrationMode.UM_PER_PX.value),
            gr.update(visible=selected == h.CalibrationMode.FIELD_OF_VIEW.value),
            gr.update(visible=selected == h.CalibrationMode.DEVICE.value),
        )

    mode.change(show, mode, [um_per_px, fov_mm, device], api_visibility="private", queue=False)
    return mode, um_per_px, fov_mm, device


def _advanced_controls(refiner_ok: bool, refiner_reason: str):
    with gr.Accordion("Advanced: thresholds and hair length", open=False):
        with gr.Row():
            min_length = gr.Number(
                value=_DEFAULTS.min_length_um,
                label="Min visible hair length (µm)",
                info="Shorter segments are not counted.",
                minimum=0,
            )
            vellus_max = gr.Number(
                value=_DEFAULTS.vellus_max_um,
                label="Vellus below (µm)",
                minimum=0,
            )
            terminal_min = gr.Number(
                value=_DEFAULTS.terminal_min_um,
                label="Terminal from (µm)",
                minimum=0,
            )
        polarity = gr.Radio(
            [p.value for p in Polarity],
            value=Polarity.AUTO.value,
            label="Hair polarity",
            info="auto; dark hair on lighter skin; or bright (grey/white) hair. With auto, grey and white "
            "hairs among sparse dark hair are counted too; for dense mixed hair use the CNN detector below",
        )
        refine = gr.Checkbox(
            value=False,
            label="Refine with the CNN hair detector",
            info="Use it for grey or white hair (also mixed with dark) and dense tangles, which the "
            "classic detector largely misses; slower. On sharp dark, blurred or very fine (vellus) hair "
            "and at high magnification (under 4 µm per pixel) the classic detector is better; both read "
            "blond hair in colour (see models/MODEL_CARD.md)."
            if refiner_ok
            else f"Not available: {refiner_reason}",
            interactive=refiner_ok,
        )
    return min_length, vellus_max, terminal_min, polarity, refine


def _region_control(prefix: str):
    with gr.Accordion("Region: leave out burned-in text, scale bars, rulers", open=False):
        return gr.File(
            file_types=_PHOTO_TYPES,
            label="Region mask (optional): an image of the photos' size, white where to analyse",
            elem_id=f"{prefix}-region",
            height=100,
        )


def _options(min_length, vellus_max, terminal_min, polarity, refine) -> dict:
    return h.analysis_options(
        min_length_um=min_length,
        vellus_max_um=vellus_max,
        terminal_min_um=terminal_min,
        polarity=polarity,
        refine=bool(refine),
    )


def _status(text: str, ok: bool = True) -> str:
    return f"**{'Done' if ok else 'Error'}:** {text}"


def _working(button, status):
    """On click, replace the last run's status at once (in the browser), so old results never look new."""
    return button.click(
        None, None, status, js="() => '**Working…** please wait.'", api_visibility="private", queue=False
    )


# ------------------------------------------------------------------------------------------- analyze tab


def _analyze_tab(refiner_ok, refiner_reason):
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            photos = gr.File(
                file_count="multiple",
                file_types=_PHOTO_TYPES,
                label="Scalp photos (one or more)",
                elem_id="analyze-photos",
                height=140,
            )
            cal = _calibration_controls("analyze")
            advanced = _advanced_controls(refiner_ok, refiner_reason)
            region = _region_control("analyze")
            run = gr.Button("Analyze", variant="primary", elem_id="analyze-button")
            examples = webui.example_photos()
            if examples:
                gr.Examples(
                    examples=[
                        [[str(p)], h.CalibrationMode.UM_PER_PX.value, webui.EXAMPLE_UM_PER_PX]
                        for p in examples
                    ],
                    inputs=[photos, cal[0], cal[1]],
                    example_labels=[
                        f"{p.name} (real photo, assumed {webui.EXAMPLE_UM_PER_PX:g} µm/px)" for p in examples
                    ],
                    label="Example photos — scalp-data by nisipeanu, Roboflow Universe, CC BY 4.0. "
                    f"They carry no scale: {webui.EXAMPLE_UM_PER_PX:g} µm/px is an assumption.",
                    examples_per_page=6,
                )
        with gr.Column(scale=3, min_width=420):
            status = gr.Markdown(
                "Upload photos or click an example, check the calibration, then press **Analyze**.",
                elem_classes="dm-status",
                elem_id="analyze-status",
            )
            gallery = gr.Gallery(
                label="Detected hairs (orange: vellus, blue: intermediate, green: terminal)",
                columns=1,
                height=560,
                preview=True,
                object_fit="contain",
                buttons=["download", "fullscreen"],  # no "share": photos stay on this computer
                format="png",
                elem_id="analyze-overlay",
            )
            metrics = gr.Dataframe(
                value=h.empty_metrics_table(),
                label="Metrics",
                interactive=False,
                wrap=True,
                elem_id="analyze-metrics",
            )
            plot = gr.Plot(label="Shaft diameter histogram", show_label=False, format="png")
            quality = gr.Markdown(elem_id="analyze-quality")
            downloads = gr.File(
                label="Downloads (summary CSV, per-hair CSV, JSON, overlay PNG)", file_count="multiple"
            )
            with gr.Accordion("Numbers as JSON", open=False):
                payload = gr.JSON(show_label=False)

    def on_analyze(
        files,
        mode,
        um,
        fov,
        device,
        min_length,
        vellus_max,
        terminal_min,
        polarity,
        refine,
        region_file,
        progress=gr.Progress(),  # noqa: B008 - how Gradio detects a progress tracker
    ):
        started = time.perf_counter()
        try:
            options = _options(min_length, vellus_max, terminal_min, polarity, refine)
            out = h.analyze_photos(
                [getattr(f, "name", f) for f in (files or [])],
                h.CalibrationChoice(mode, um, fov, device),
                options=options,
                progress=progress,
                region=getattr(region_file, "name", region_file),
            )
        except DensitometryError as error:
            gr.Warning(_message(error))
            return _status(_message(error), ok=False), [], None, None, "", None, None
        except Exception as error:  # noqa: BLE001 - keep the app up; logged with traceback
            text = _unexpected(error, "analysing the photos")
            gr.Warning(text)
            return _status(text, ok=False), [], None, None, "", None, None
        for failure in out.failures:
            gr.Warning(failure)
        scale = ", ".join(sorted({f"{r.um_per_px:.3g}" for r in out.results}))
        text = (
            f"Analysed {len(out.results)} photo{'s' if len(out.results) > 1 else ''} "
            f"in {time.perf_counter() - started:.1f} s at {scale} µm/px."
        )
        return (
            _status(text),
            gr.Gallery(value=out.gallery, selected_index=0),
            out.metrics,
            out.figure,
            out.warnings_markdown,
            out.files,
            out.payload,
        )

    _working(run, status).then(
        on_analyze,
        inputs=[photos, *cal, *advanced, region],
        outputs=[status, gallery, metrics, plot, quality, downloads, payload],
        api_visibility="private",
        concurrency_id="analysis",
    )


# ------------------------------------------------------------------------------------------- compare tab


def _compare_tab(refiner_ok, refiner_reason):
    available, reason = h.compare_available()
    pair = webui.synthetic_pair()
    if not available:
        gr.Markdown(f"**Not available:** {reason}. Update densitometry to compare photos.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                with gr.Column(min_width=150):
                    before = gr.Image(
                        type="filepath",
                        label="Before",
                        sources=["upload", "clipboard"],
                        height=220,
                        elem_id="compare-before",
                    )
                    before_date = gr.Textbox(label="Before: date", placeholder="e.g. 2024-01-15", max_lines=1)
                with gr.Column(min_width=150):
                    after = gr.Image(
                        type="filepath",
                        label="After",
                        sources=["upload", "clipboard"],
                        height=220,
                        elem_id="compare-after",
                    )
                    after_date = gr.Textbox(label="After: date", placeholder="e.g. 2024-07-15", max_lines=1)
            cal = _calibration_controls("compare")
            advanced = _advanced_controls(refiner_ok, refiner_reason)
            with gr.Accordion("Different magnification for the after photo", open=False):
                after_um = gr.Number(
                    value=None,
                    label="After photo: µm per pixel (leave empty to use the calibration above)",
                    info="For another magnification setting (e.g. 20x, then 50x). Small differences "
                    "(a hand-held microscope held nearer) are measured by the alignment and corrected.",
                    minimum=0,
                )
            region = _region_control("compare")
            run = gr.Button("Compare", variant="primary", interactive=available, elem_id="compare-button")
            if pair is not None:
                gr.Examples(
                    examples=[
                        [
                            str(pair[0]),
                            str(pair[1]),
                            h.CalibrationMode.UM_PER_PX.value,
                            pair[2],
                            "2024-01-15",
                            "2024-07-15",
                        ]
                    ],
                    inputs=[before, after, cal[0], cal[1], before_date, after_date],
                    example_labels=[f"Synthetic before/after pair with known truth ({pair[2]:g} µm/px)"],
                    label="Example pair (synthetic, rendered by densitometry.synthetic)",
                )
        with gr.Column(scale=3, min_width=420):
            status = gr.Markdown(
                "Upload the before and after photos of the same scalp site (or click the example), check the "
                "calibration, then press **Compare**.",
                elem_classes="dm-status",
                elem_id="compare-status",
            )
            sentence = gr.Markdown(elem_classes="dm-sentence", elem_id="compare-sentence")
            slider = gr.ImageSlider(
                label="Before ↔ after, aligned (drag the handle)",
                type="numpy",
                format="png",
                max_height=520,
                elem_id="compare-slider",
            )
            change_map = gr.Image(
                label="What changed: new hairs solid, lost hairs dashed",
                type="numpy",
                format="png",
                interactive=False,
                height=520,
                elem_id="compare-change-map",
            )
            changes = gr.Dataframe(
                value=h.empty_change_table(),
                label="Change",
                interactive=False,
                wrap=True,
                max_height=720,
                elem_id="compare-table",
            )
            plot = gr.Plot(label="Shaft diameters before and after", show_label=False, format="png")
            notes = gr.Markdown(elem_id="compare-notes")
            downloads = gr.File(
                label="Downloads (change CSV, JSON, aligned overlays, change map)",
                file_count="multiple",
                height=130,
            )
            with gr.Accordion("Numbers as JSON", open=False):
                payload = gr.JSON(show_label=False)

    def on_compare(
        before_path,
        after_path,
        b_date,
        a_date,
        mode,
        um,
        fov,
        device,
        after_um_per_px,
        min_length,
        vellus_max,
        terminal_min,
        polarity,
        refine,
        region_file,
        progress=gr.Progress(),  # noqa: B008 - how Gradio detects a progress tracker
    ):
        started = time.perf_counter()
        empty = ("", None, None, None, None, "", None, None)  # sentence, slider, map, table, ...: cleared
        try:
            out = h.compare_photos(
                before_path,
                after_path,
                h.CalibrationChoice(mode, um, fov, device),
                after_um_per_px=after_um_per_px,
                before_date=(b_date or "").strip(),
                after_date=(a_date or "").strip(),
                options=_options(min_length, vellus_max, terminal_min, polarity, refine),
                progress=progress,
                region=getattr(region_file, "name", region_file),
            )
        except DensitometryError as error:
            gr.Warning(_message(error))
            return (_status(_message(error), ok=False), *empty)
        except Exception as error:  # noqa: BLE001 - keep the app up; logged with traceback
            text = _unexpected(error, "comparing the photos")
            gr.Warning(text)
            return (_status(text, ok=False), *empty)
        if not out.comparison.registered:
            gr.Warning("Alignment failed: showing whole-photo numbers (see the notes).")
        text = f"Compared in {time.perf_counter() - started:.1f} s."
        return (
            _status(text),
            out.sentence,
            out.slider,
            out.change_map,
            out.changes,
            out.figure,
            out.warnings_markdown,
            out.files,
            out.payload,
        )

    _working(run, status).then(
        on_compare,
        inputs=[before, after, before_date, after_date, *cal, after_um, *advanced, region],
        outputs=[status, sentence, slider, change_map, changes, plot, notes, downloads, payload],
        api_visibility="private",
        concurrency_id="analysis",
    )


# ------------------------------------------------------------------------------------------ API endpoints


def _api_calibration(um_per_px, field_of_view_mm, device) -> h.CalibrationChoice:
    if um_per_px:
        return h.CalibrationChoice(h.CalibrationMode.UM_PER_PX.value, um_per_px=um_per_px)
    if field_of_view_mm:
        return h.CalibrationChoice(h.CalibrationMode.FIELD_OF_VIEW.value, field_of_view_mm=field_of_view_mm)
    if device:
        return h.CalibrationChoice(h.CalibrationMode.DEVICE.value, device=device)
    return h.CalibrationChoice(h.CalibrationMode.UM_PER_PX.value)  # raises "No calibration" when resolved


def api_analyze(
    photo,
    um_per_px=None,
    field_of_view_mm=None,
    device="",
    min_length_um=_DEFAULTS.min_length_um,
    vellus_max_um=_DEFAULTS.vellus_max_um,
    terminal_min_um=_DEFAULTS.terminal_min_um,
    polarity=Polarity.AUTO.value,
    refine=False,
    progress=gr.Progress(),  # noqa: B008 - how Gradio detects a progress tracker
):
    """Analyse one photo: returns (numbers as JSON incl. per-hair rows, overlay image)."""
    try:
        options = h.analysis_options(
            min_length_um=min_length_um,
            vellus_max_um=vellus_max_um,
            terminal_min_um=terminal_min_um,
            polarity=polarity,
            refine=bool(refine),
        )
        out = h.analyze_photos(
            [photo] if photo else [],
            _api_calibration(um_per_px, field_of_view_mm, device),
            options=options,
            progress=progress,
        )
    except DensitometryError as error:
        raise gr.Error(_message(error), print_exception=False) from None
    result = out.results[0]
    return result.to_dict(include_hairs=True), result.overlay()


def api_compare(
    before,
    after,
    um_per_px=None,
    after_um_per_px=None,
    field_of_view_mm=None,
    device="",
    before_date="",
    after_date="",
    min_length_um=_DEFAULTS.min_length_um,
    vellus_max_um=_DEFAULTS.vellus_max_um,
    terminal_min_um=_DEFAULTS.terminal_min_um,
    polarity=Polarity.AUTO.value,
    refine=False,
    progress=gr.Progress(),  # noqa: B008 - how Gradio detects a progress tracker
):
    """Compare two photos: returns (numbers as JSON, before overlay, after overlay aligned to it, change
    map: new hairs solid, lost hairs dashed on the aligned after photo; None when not aligned)."""
    try:
        options = h.analysis_options(
            min_length_um=min_length_um,
            vellus_max_um=vellus_max_um,
            terminal_min_um=terminal_min_um,
            polarity=polarity,
            refine=bool(refine),
        )
        out = h.compare_photos(
            before,
            after,
            _api_calibration(um_per_px, field_of_view_mm, device),
            after_um_per_px=after_um_per_px,
            before_date=before_date or "",
            after_date=after_date or "",
            options=options,
            progress=progress,
        )
    except DensitometryError as error:
        raise gr.Error(_message(error), print_exception=False) from None
    return out.payload, out.slider[0], out.slider[1], out.change_map


def _api_endpoints():
    """Endpoints for `gradio_client`, with plain parameters; their components are never shown."""
    with gr.Column(visible=False):
        photo = gr.File(label="photo", file_types=_PHOTO_TYPES)
        before = gr.File(label="before", file_types=_PHOTO_TYPES)
        after = gr.File(label="after", file_types=_PHOTO_TYPES)
        um = gr.Number(label="um_per_px", value=None)
        after_um = gr.Number(label="after_um_per_px", value=None)
        fov = gr.Number(label="field_of_view_mm", value=None)
        device = gr.Textbox(label="device", value="")
        before_date = gr.Textbox(label="before_date", value="")
        after_date = gr.Textbox(label="after_date", value="")
        min_length = gr.Number(label="min_length_um", value=_DEFAULTS.min_length_um)
        vellus_max = gr.Number(label="vellus_max_um", value=_DEFAULTS.vellus_max_um)
        terminal_min = gr.Number(label="terminal_min_um", value=_DEFAULTS.terminal_min_um)
        polarity = gr.Textbox(label="polarity", value=Polarity.AUTO.value)
        refine = gr.Checkbox(label="refine", value=False)
        numbers = gr.JSON(label="numbers")
        overlay = gr.Image(label="overlay", type="numpy", format="png")
        before_overlay = gr.Image(label="before_overlay", type="numpy", format="png")
        after_overlay = gr.Image(label="after_overlay_aligned", type="numpy", format="png")
        change_map = gr.Image(label="change_map", type="numpy", format="png")
        analyze_trigger = gr.Button("api-analyze")
        compare_trigger = gr.Button("api-compare")
    advanced = [min_length, vellus_max, terminal_min, polarity, refine]
    analyze_trigger.click(
        api_analyze,
        inputs=[photo, um, fov, device, *advanced],
        outputs=[numbers, overlay],
        api_name="analyze",
        api_description="Analyse one scalp photo. Give um_per_px, field_of_view_mm or a device preset name. "
        "Returns the numbers (summary, quality warnings, parameters, per-hair rows) and the overlay.",
        concurrency_id="analysis",
    )
    compare_trigger.click(
        api_compare,
        inputs=[before, after, um, after_um, fov, device, before_date, after_date, *advanced],
        outputs=[numbers, before_overlay, after_overlay, change_map],
        api_name="compare",
        api_description="Compare a before and an after photo of the same site. Returns the numbers "
        "(changes, matched/new/lost hairs, summary sentence), both overlays aligned to the before photo and "
        "the change map (none when the photos could not be aligned).",
        concurrency_id="analysis",
    )


def build() -> gr.Blocks:
    """The whole app (see `densitometry.webui.build_app`)."""
    refiner_ok, refiner_reason = webui.refiner_status()
    with gr.Blocks(
        title="densitometry — scalp trichoscopy",
        analytics_enabled=False,
        delete_cache=webui.DELETE_CACHE_S,
    ) as app:
        gr.Markdown(_INTRO)
        with gr.Tabs():
            with gr.Tab("Analyze", id="analyze"):
                _analyze_tab(refiner_ok, refiner_reason)
            with gr.Tab("Compare before / after", id="compare"):
                _compare_tab(refiner_ok, refiner_reason)
        _api_endpoints()
    return app
