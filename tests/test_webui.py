"""Web UI: handlers called directly, CLI/launch helpers, and the running app through `gradio_client`."""

from __future__ import annotations

import importlib.util
import json
import math
import socket
import types
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

import densitometry
from densitometry import DensitometryError, webui
from densitometry import webui_handlers as h
from densitometry.errors import CalibrationError, ParameterError
from densitometry.synthetic import generate

pytest.importorskip("gradio", reason="web UI extra not installed (pip install densitometry[ui])")
pytest.importorskip("matplotlib", reason="web UI extra not installed (pip install densitometry[ui])")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HAS_COMPARE = importlib.util.find_spec("densitometry.compare") is not None
needs_compare = pytest.mark.skipif(
    not HAS_COMPARE, reason="densitometry.compare (before/after) has not landed in this checkout yet"
)


def _um(value=None):
    return h.CalibrationChoice(h.CalibrationMode.UM_PER_PX.value, um_per_px=value)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A small synthetic photo saved as JPEG, with its exact pixel size."""
    photo = generate("clean", seed=3, width_px=320, height_px=240)
    path, _ = photo.save(tmp_path_factory.mktemp("scene"), "scene")
    return path, photo.um_per_px


# ---------------------------------------------------------------------------------- calibration choice


def test_um_per_px_calibration():
    assert _um(7.0).resolve(640).um_per_px == 7.0


def test_field_of_view_calibration_uses_photo_width():
    choice = h.CalibrationChoice(h.CalibrationMode.FIELD_OF_VIEW.value, field_of_view_mm=6.4)
    assert choice.resolve(640).um_per_px == pytest.approx(10.0)
    assert choice.resolve(1280).um_per_px == pytest.approx(5.0)


@pytest.mark.parametrize(
    "choice",
    [
        h.CalibrationChoice(h.CalibrationMode.UM_PER_PX.value),
        h.CalibrationChoice(h.CalibrationMode.UM_PER_PX.value, um_per_px=""),
        h.CalibrationChoice(h.CalibrationMode.FIELD_OF_VIEW.value),
        h.CalibrationChoice(h.CalibrationMode.DEVICE.value, device="no such device"),
        h.CalibrationChoice("magic"),
    ],
)
def test_missing_calibration_says_what_to_fill_in(choice):
    with pytest.raises(CalibrationError, match=r"(?i)calibration"):
        choice.resolve(640)


@pytest.mark.parametrize("value", [-3, float("nan"), float("inf")])
def test_bad_pixel_size_is_a_calibration_error(value):
    with pytest.raises(CalibrationError):
        _um(value).resolve(640)


def test_device_presets_file_is_valid_and_labelled_as_examples():
    devices = h.load_devices()
    assert len(devices) >= 3
    assert any("example" in name.lower() for name in devices)
    for name in devices:
        cal = h.CalibrationChoice(h.CalibrationMode.DEVICE.value, device=name).resolve(640, devices)
        assert 0.5 < cal.um_per_px < 50, name
    raw = json.loads(h.DEVICES_PATH.read_text(encoding="utf-8"))
    assert "EXAMPLES" in raw["_about"]


def test_device_preset_needs_exactly_one_scale():
    with pytest.raises(CalibrationError, match="exactly one"):
        h.DevicePreset("x", um_per_px=5.0, field_of_view_mm=3.0)
    with pytest.raises(CalibrationError, match="exactly one"):
        h.DevicePreset("x")


def test_broken_presets_file_names_the_file(tmp_path):
    path = tmp_path / "devices.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CalibrationError, match="devices.json"):
        h.load_devices(path)


def test_analysis_options_keep_defaults_for_blank_fields():
    assert h.analysis_options() == {}
    assert h.analysis_options(min_length_um=None, vellus_max_um="", polarity="dark") == {"polarity": "dark"}
    assert h.analysis_options(refine=True) == {"refine": True}


@pytest.mark.parametrize(
    "options",
    [{"vellus_max_um": 70, "terminal_min_um": 40}, {"min_length_um": -1}, {"polarity": "sideways"}],
)
def test_invalid_options_are_rejected_before_any_work(options):
    with pytest.raises(ParameterError):
        h.analysis_options(**options)


# ------------------------------------------------------------------------------------------ analyze tab


def test_analyze_photos_outputs(scene, tmp_path):
    path, um_per_px = scene
    calls = []
    out = h.analyze_photos(
        [path], _um(um_per_px), output_dir=tmp_path, progress=lambda f, desc: calls.append((f, desc))
    )
    (result,) = out.results
    assert result.hair_count > 0
    assert calls and all(0 <= f <= 1 for f, _ in calls)
    # Overlay: same size as the photo, with hairs drawn over it.
    overlay, caption = out.gallery[0]
    assert overlay.shape == result.image.shape and overlay.dtype == np.uint8
    assert not np.array_equal(overlay, result.image)
    assert f"{result.hair_count} hairs" in caption
    # Metrics table: one row per metric, one column per photo; numbers agree with the result.
    assert list(out.metrics.columns) == ["Metric", "scene.jpg"]
    metrics = dict(zip(out.metrics["Metric"], out.metrics["scene.jpg"], strict=True))
    assert metrics["Hairs counted"] == str(result.hair_count)
    assert metrics["Density (hairs/cm²)"] == f"{result.density_per_cm2:,.0f}"
    for label in (
        "Mean diameter (µm)",
        "Median diameter (µm)",
        "Terminal share",
        "Cumulative thickness (mm/cm²)",
    ):
        assert label in metrics
    # Histogram: one stacked bar series per class, counts adding up to the hairs.
    axes = out.figure.axes[0]
    heights = sum(patch.get_height() for patch in axes.patches)
    assert heights == result.hair_count
    # Downloads: summary CSV, per-hair CSV, JSON, overlay PNG; all readable and consistent.
    names = [Path(p).name for p in out.files]
    assert names == [
        "densitometry_summary.csv",
        "densitometry_hairs.csv",
        "densitometry_results.json",
        "scene_overlay.png",
    ]
    summary = pd.read_csv(out.files[0])
    assert summary.loc[0, "hair_count"] == result.hair_count
    hairs = pd.read_csv(out.files[1])
    assert len(hairs) == result.hair_count and hairs["image"].eq("scene.jpg").all()
    payload = json.loads(Path(out.files[2]).read_text(encoding="utf-8"))
    assert payload[0]["summary"]["hair_count"] == result.hair_count
    assert json.dumps(out.payload, allow_nan=False)


def test_bad_file_is_reported_and_others_still_run(scene, tmp_path):
    path, um_per_px = scene
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    out = h.analyze_photos([bad, path], _um(um_per_px), output_dir=tmp_path)
    assert len(out.results) == 1
    assert len(out.failures) == 1 and "broken.jpg" in out.failures[0]
    assert "broken.jpg" in out.warnings_markdown


def test_a_region_mask_applies_to_every_photo_and_a_photo_of_another_size_is_reported(scene, tmp_path):
    import cv2

    path, um_per_px = scene
    mask = np.zeros((240, 320), np.uint8)
    mask[:, :160] = 255  # the left half
    region = tmp_path / "region.png"
    cv2.imwrite(str(region), mask)
    large = tmp_path / "large.png"
    cv2.imwrite(str(large), np.full((480, 640, 3), 200, np.uint8))
    out = h.analyze_photos([path, large], _um(um_per_px), output_dir=tmp_path, region=region)
    (result,) = out.results
    expected = densitometry.analyze(path, um_per_px=um_per_px, region=region)
    assert result.hair_count == expected.hair_count
    assert np.array_equal(result.field_mask, mask > 0)
    metrics = dict(zip(out.metrics["Metric"], out.metrics["scene.jpg"], strict=True))
    assert metrics["Share of photo in the field"] == "50 %"
    assert len(out.failures) == 1 and "large.png" in out.failures[0]
    assert "the region is 320x240 px, the photo 640x480 px" in out.failures[0]


def test_only_bad_files_raise_a_readable_error(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG garbage")
    with pytest.raises(DensitometryError, match="broken.png"):
        h.analyze_photos([bad], _um(7.0), output_dir=tmp_path)


def test_no_photo_and_no_calibration_raise_readable_errors(scene, tmp_path):
    with pytest.raises(DensitometryError, match="No photo"):
        h.analyze_photos([], _um(7.0), output_dir=tmp_path)
    with pytest.raises(CalibrationError, match="No calibration"):
        h.analyze_photos([scene[0]], _um(None), output_dir=tmp_path)


def test_two_photos_with_the_same_name_get_distinct_columns(scene, tmp_path):
    path, um_per_px = scene
    out = h.analyze_photos([path, path], _um(um_per_px), output_dir=tmp_path)
    assert list(out.metrics.columns) == ["Metric", "scene.jpg", "scene.jpg (2)"]
    assert len({Path(p).name for p in out.files}) == len(out.files)


def test_quality_warnings_are_listed(tmp_path):
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((200, 240, 3), 180, np.uint8))
    out = h.analyze_photos([blank], _um(5.0), output_dir=tmp_path)
    assert out.results[0].hair_count == 0
    assert "few hairs" in out.warnings_markdown
    assert "Quality warnings" in out.warnings_markdown


def test_old_download_folders_are_removed(tmp_path):
    import os

    old = h.new_output_dir(tmp_path)
    (old / "x.csv").write_text("a", encoding="utf-8")
    os.utime(old, (0, 0))
    new = h.new_output_dir(tmp_path, max_age_s=60)
    assert new.is_dir() and not old.exists()


# ------------------------------------------------------------------------------------- compare formatting


def _result(tmp_path, um_per_px, seed):
    photo = generate("clean", seed=seed, width_px=320, height_px=240)
    return h.analyze_photos(
        [photo.save(tmp_path, f"s{seed}")[0]], _um(um_per_px), output_dir=tmp_path
    ).results[0]


def test_change_table_and_sentence(tmp_path):
    before = _result(tmp_path, 5.0, 1)
    after = _result(tmp_path, 5.0, 2)
    comparison = types.SimpleNamespace(
        overlap_area_cm2=0.0123, matched_hairs=20, new_hairs=4, lost_hairs=1, new_untraced=1, lost_untraced=0
    )
    table = h.change_table(before, after, comparison)
    assert list(table.columns) == ["Metric", "Before", "After", "Change"]
    rows = dict(zip(table["Metric"], table["Change"], strict=True))
    assert rows["Matched hairs"] == "20" and rows["Lost hairs"] == "1"
    assert rows["New hairs"] == "4 (1 seen only in the difference of the photos)"
    sentence = h.change_sentence(before, after, comparison, before_date="2024-01-15", after_date="2024-07-15")
    assert sentence.startswith("From 2024-01-15 to 2024-07-15: density ")
    assert "4 new and 1 lost hairs" in sentence and sentence.endswith(".")
    figure = h.comparison_histogram_figure(before, after, "2024-01-15", "2024-07-15")
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("Before (2024-01-15)") and labels[1].startswith("After (2024-07-15)")


def test_change_table_uses_the_joint_counts_of_an_aligned_comparison(tmp_path):
    before = _result(tmp_path, 5.0, 1)
    after = _result(tmp_path, 5.0, 2)
    joint = types.SimpleNamespace(
        overlap_area_cm2=0.01, matched_hairs=30, new_hairs=2, lost_hairs=1, new_untraced=0, lost_untraced=0,
        hairs_present_before=40, hairs_present_after=41,
        before_density_per_cm2=4000.0, after_density_per_cm2=4100.0,
        before_mean_diameter_um=60.0, after_mean_diameter_um=63.0,
    )  # fmt: skip
    rows = {m: (b, a, c) for m, b, a, c in h.change_table(before, after, joint).itertuples(index=False)}
    assert rows["Hairs counted"] == ("40", "41", "+1")
    assert rows["Density (hairs/cm²)"][2] == "+100 (+2 %)"
    assert rows["Mean diameter (µm)"][2] == "+3.0 µm"
    assert h.change_sentence(before, after, joint).startswith(
        "Density rose 2% (+100 hairs/cm²); mean diameter +3 µm"
    )
    # Figures that round to zero read 0, never -0.
    joint.growth_um_per_day_median, joint.anagen_fraction = -0.3, 0.0
    joint.after_mean_diameter_um = 59.97
    rows = {m: (b, a, c) for m, b, a, c in h.change_table(before, after, joint).itertuples(index=False)}
    assert rows["Median growth (µm/day)"][2] == "0"
    assert rows["Mean diameter (µm)"][2] == "+0.0 µm"
    joint.present_diameters_before_um, joint.present_diameters_after_um = (50.0,) * 40, (55.0,) * 41
    figure = h.comparison_histogram_figure(before, after, comparison=joint)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels[0] == "Before, 40 hairs" and labels[1] == "After, 41 hairs"


def test_sentence_for_unchanged_and_unaligned(tmp_path):
    before = _result(tmp_path, 5.0, 1)
    sentence = h.change_sentence(before, before)
    assert sentence.startswith("Density was unchanged") and "mean diameter unchanged" in sentence
    assert "not aligned" in sentence
    table = h.change_table(before, before)
    assert "whole photos" in table["Change"].tolist()


def test_sentence_wording_follows_the_example_in_the_issue():
    def fake(density, mean, terminal):
        return types.SimpleNamespace(
            density_per_cm2=density, mean_diameter_um=mean, terminal_fraction=terminal
        )

    sentence = h.change_sentence(
        fake(150.0, 60.0, 0.5), fake(171.0, 66.0, 0.5), types.SimpleNamespace(new_hairs=9, lost_hairs=0)
    )
    assert sentence == "Density rose 14% (+21 hairs/cm²); mean diameter +6 µm; 9 new and 0 lost hairs."
    comparison = types.SimpleNamespace(new_hairs=3, lost_hairs=2, vellus_to_terminal=9)
    sentence = h.change_sentence(fake(200.0, 70.0, 0.4), fake(190.0, 70.2, 0.55), comparison)
    assert sentence == (
        "Density fell 5% (−10 hairs/cm²); mean diameter unchanged; terminal hairs 40 % → 55 % of all hairs; "
        "9 vellus hairs became terminal; 3 new and 2 lost hairs."
    )


def test_days_between_dates():
    assert h.days_between("2024-01-15", "2024-07-15") == 182
    assert h.days_between("January", "2024-07-15") is None
    assert h.days_between("", "") is None
    with pytest.raises(ParameterError, match="later"):
        h.days_between("2024-07-15", "2024-01-15")


def test_json_safe_replaces_nan_and_numpy():
    value = h._json_safe({"a": np.float64("nan"), "b": np.arange(2), "c": (np.int64(3), math.inf)})
    assert value == {"a": None, "b": [0, 1], "c": [3, None]}


@needs_compare
def test_compare_synthetic_pair(tmp_path):
    pair = webui.synthetic_pair()
    assert pair is not None, "examples/synthetic_*.jpg missing"
    before, after, um_per_px = pair
    out = h.compare_photos(
        before, after, _um(um_per_px), before_date="2024-01-15", after_date="2024-07-15", output_dir=tmp_path
    )
    assert out.comparison.registered
    truth = json.loads((EXAMPLES / "synthetic_pair.json").read_text(encoding="utf-8"))
    assert out.comparison.transform.shape == (3, 3)
    rotation = math.degrees(math.atan2(out.comparison.transform[1, 0], out.comparison.transform[0, 0]))
    assert abs(abs(rotation) - truth["after_rotation_deg"]) < 1.0
    assert out.comparison.interval_days == 182
    first, second = out.slider
    assert first.shape == second.shape
    assert out.sentence.startswith("From 2024-01-15 to 2024-07-15: ")
    assert json.dumps(out.payload, allow_nan=False)
    assert [Path(p).name for p in out.files][-1] == "change_map.png"
    assert [Path(p).suffix for p in out.files] == [".csv", ".json", ".png", ".png", ".png"]
    assert out.change_map.shape == first.shape


@needs_compare
def test_compare_within_a_region(tmp_path):
    import cv2

    before, after, um_per_px = webui.synthetic_pair()
    height, width = cv2.imread(str(before)).shape[:2]
    mask = np.full((height, width), 255, np.uint8)
    mask[: height // 3] = 0  # the top third left out of both photos
    region = tmp_path / "region.png"
    cv2.imwrite(str(region), mask)
    out = h.compare_photos(before, after, _um(um_per_px), output_dir=tmp_path, region=region)
    expected = densitometry.compare(before, after, um_per_px=um_per_px, region=region)
    assert out.comparison.registered
    assert out.comparison.overlap_area_cm2 == pytest.approx(expected.overlap_area_cm2)
    assert out.comparison.before.hair_count == expected.before.hair_count
    whole = h.compare_photos(before, after, _um(um_per_px), output_dir=tmp_path)
    assert out.comparison.overlap_area_cm2 < whole.comparison.overlap_area_cm2


@needs_compare
def test_compare_unrelated_photos_falls_back_to_whole_fields(tmp_path):
    photos = EXAMPLES / "S_509.jpg", EXAMPLES / "D_237.jpg"
    out = h.compare_photos(*photos, _um(7.0), output_dir=tmp_path)
    if out.comparison.registered:
        pytest.skip("the comparison module aligned two unrelated photos")
    assert "Alignment failed" in out.warnings_markdown
    assert out.change_map is None and not any(p.endswith("change_map.png") for p in out.files)
    assert "whole photos" in out.changes["Change"].tolist()


def test_compare_needs_both_photos(tmp_path):
    with pytest.raises(DensitometryError, match="No after photo"):
        h.compare_photos(EXAMPLES / "S_509.jpg", None, _um(7.0), output_dir=tmp_path)


# ------------------------------------------------------------------------------------------ CLI / launch


def test_cli_arguments_and_auth_parsing():
    import argparse

    parser = argparse.ArgumentParser()
    webui.add_arguments(parser)
    args = parser.parse_args(["--port", "7999", "--auth", "ann:secret"])
    assert args.port == 7999 and args.host is None
    assert webui.parse_auth(args.auth) == ("ann", "secret")
    assert webui.parse_auth("") is None
    for bad in ("nocolon", ":pw", "user:"):
        with pytest.raises(ValueError, match="user:password"):
            webui.parse_auth(bad)


def test_host_and_port_defaults_and_gradio_env(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert webui.resolve_host_port() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert webui.resolve_host_port() == ("0.0.0.0", 8123)
    assert webui.resolve_host_port("127.0.0.1", 9000) == ("127.0.0.1", 9000)
    assert webui.is_loopback("127.0.0.1") and webui.is_loopback("localhost") and webui.is_loopback("::1")
    assert not webui.is_loopback("0.0.0.0")


def test_run_rejects_a_malformed_login(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    webui.add_arguments(parser)
    assert webui.run(parser.parse_args(["--auth", "nopassword"])) == 2
    assert "user:password" in capsys.readouterr().out


def test_telemetry_is_off_and_app_py_does_no_work_at_import():
    import os
    import subprocess
    import sys

    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    code = "import sys, app; assert 'gradio' not in sys.modules, 'gradio imported at import time'"
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)


def test_bundled_examples_exist_and_are_small():
    photos = webui.example_photos()
    assert len(photos) >= 2
    pair = webui.synthetic_pair()
    assert pair is not None
    for path in [*photos, *pair[:2]]:
        assert path.suffix == ".jpg" and path.stat().st_size < 300_000
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "scalp-data by nisipeanu, Roboflow Universe, CC BY 4.0" in readme
    for path in [*photos, *pair[:2]]:
        assert path.name in readme


# ---------------------------------------------------------------------------- running app + gradio_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app_process(port: int, tmp_dir: Path, *args: str):
    """Run ``python app.py --port PORT`` (as a user would) and wait until it answers; returns the Popen."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_dir)}
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), *args],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}: {process.stderr.read()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("app.py did not start within 180 s")


def stop_app_process(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except Exception:
        process.kill()
        process.wait(timeout=20)
    process.stderr.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python app.py`` in a subprocess on a free loopback port (its own process, as in production)."""
    process, url = start_app_process(_free_port(), tmp_path_factory.mktemp("gradio"))
    yield url
    stop_app_process(process)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def test_api_lists_named_endpoints_only(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/analyze", "/compare"}
    names = [p["parameter_name"] for p in endpoints["/analyze"]["parameters"]]
    assert names[:4] == ["photo", "um_per_px", "field_of_view_mm", "device"]


def test_api_analyze(client, scene):
    from gradio_client import handle_file

    path, um_per_px = scene
    numbers, overlay = client.predict(photo=handle_file(str(path)), um_per_px=um_per_px, api_name="/analyze")
    expected = h.analyze_photos([path], _um(um_per_px)).results[0]
    assert numbers["summary"]["hair_count"] == expected.hair_count
    assert numbers["summary"]["um_per_px"] == um_per_px
    assert len(numbers["hairs"]) == expected.hair_count
    from PIL import Image

    with Image.open(overlay) as image:
        assert image.size == (320, 240)


def test_api_analyze_with_device_preset(client, scene):
    from gradio_client import handle_file

    name = "Generic dermatoscope 20x (example, edit me)"
    numbers, _ = client.predict(photo=handle_file(str(scene[0])), device=name, api_name="/analyze")
    assert numbers["summary"]["um_per_px"] == pytest.approx(12000 / 320)


def test_api_errors_are_messages_and_the_app_stays_up(client, scene, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="No calibration"):
        client.predict(photo=handle_file(str(scene[0])), api_name="/analyze")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(AppError, match="broken.jpg"):
        client.predict(photo=handle_file(str(bad)), um_per_px=5.0, api_name="/analyze")
    with pytest.raises(AppError, match="terminal_min_um"):
        client.predict(photo=handle_file(str(scene[0])), um_per_px=5.0, vellus_max_um=80, api_name="/analyze")
    numbers, _ = client.predict(photo=handle_file(str(scene[0])), um_per_px=scene[1], api_name="/analyze")
    assert numbers["summary"]["hair_count"] > 0


def test_uploads_over_the_size_cap_are_refused(server, tmp_path):
    import httpx

    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * (26 * 1024 * 1024))
    with big.open("rb") as handle:
        response = httpx.post(f"{server}gradio_api/upload", files={"files": handle}, timeout=60)
    assert response.status_code == 413


def test_files_outside_the_app_are_not_served(server):
    import httpx

    for target in ("/etc/passwd", str(Path(__file__).resolve())):
        response = httpx.get(f"{server}gradio_api/file={target}", timeout=10)
        assert response.status_code in (403, 404), target


@needs_compare
def test_api_compare(client):
    from gradio_client import handle_file

    before, after, um_per_px = webui.synthetic_pair()
    numbers, before_overlay, after_overlay, change_map = client.predict(
        before=handle_file(str(before)),
        after=handle_file(str(after)),
        um_per_px=um_per_px,
        api_name="/compare",
    )
    assert numbers["registered"] is True
    assert numbers["summary_sentence"].startswith("Density")
    assert Path(before_overlay).is_file() and Path(after_overlay).is_file()
    shape = cv2.imread(before_overlay).shape
    assert cv2.imread(change_map).shape == shape  # the change map, in the before photo's frame
