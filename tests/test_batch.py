"""Tests of the batch CLI ``densitometry analyze`` (densitometry.batch and its batch_* helpers)."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import densitometry
import densitometry.batch_engine
from densitometry import ParameterError
from densitometry.batch import add_analysis_arguments, analysis_parameters
from densitometry.batch_inputs import ImageInput, find_images, match_calibration, read_calibration_table
from densitometry.batch_journal import Journal, JournalBusyError, atomic_writer
from densitometry.cli import main

GOOD = ("siteA/s01.png", "siteA/s02.png", "siteA/visit2/s01.jpg")
BAD = ("siteA/text.jpg", "siteA/truncated.jpg", "siteA/empty.jpg")
UNCALIBRATED = "siteB/other.png"
UM_PER_PX = 5.0


def _photo(seed: int, *, width_px: int = 320, height_px: int = 240) -> np.ndarray:
    """A small scalp-like photo (RGB uint8): synthetic if available, else dark lines on light skin."""
    try:
        from densitometry.synthetic import generate
    except ImportError:
        generate = None
    if generate is not None:
        return generate("clean", seed=seed, width_px=width_px, height_px=height_px, um_per_px=UM_PER_PX).image
    rng = np.random.default_rng(seed)
    image = np.full((height_px, width_px, 3), (200, 170, 150), np.uint8)
    for _ in range(max(12, width_px * height_px // 6000)):
        start = rng.integers(0, [width_px, height_px])
        angle, length = rng.uniform(0, np.pi), rng.uniform(60, 150)
        end = (int(start[0] + length * np.cos(angle)), int(start[1] + length * np.sin(angle)))
        cv2.line(
            image, (int(start[0]), int(start[1])), end, (60, 40, 30), int(rng.integers(3, 8)), cv2.LINE_AA
        )
    return image


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), rgb[..., ::-1]):
        raise OSError(f"could not write {path}")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A mixed folder: good photos, broken files, an uncalibrated photo, a non-image file."""
    root = tmp_path_factory.mktemp("study")
    for seed, name in enumerate(GOOD):
        _write(root / name, _photo(seed))
    _write(root / UNCALIBRATED, _photo(7))
    (root / "siteA/text.jpg").write_text("this is not a JPEG")
    whole = (root / "siteA/s02.png").with_suffix(".tmp.jpg")
    _write(whole, _photo(8))
    (root / "siteA/truncated.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    (root / "siteA/empty.jpg").write_bytes(b"")
    (root / "siteA/notes.txt").write_text("visit notes")
    (root / "calibration.csv").write_text(f"pattern,um_per_px,device\nsiteA/*,{UM_PER_PX},dermlite\n")
    return root


def _analyze(study: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "analyze",
            str(study),
            "--recursive",
            "--calibration",
            str(study / "calibration.csv"),
            "--out",
            str(out),
        ]
        + ["--quiet", *extra]
    )


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def serial_out(study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    assert _analyze(study, out, "--workers", "1") == 1
    return out


def test_mixed_folder_gives_a_row_per_photo_with_reasons(serial_out, study):
    rows = _rows(serial_out / "summary.csv")
    images = [row["image"] for row in rows]
    assert images == sorted(images)
    by_name = {Path(row["image"]).relative_to(study).as_posix(): row for row in rows}
    assert set(by_name) == {*GOOD, *BAD, UNCALIBRATED}
    for name in GOOD:
        row = by_name[name]
        assert row["status"] == "ok", row["error"]
        assert int(row["hair_count"]) > 0
        assert float(row["um_per_px"]) == UM_PER_PX
        assert "calibration.csv line 2" in row["calibration_source"]
    assert "not a readable image" in by_name["siteA/text.jpg"]["error"]
    assert "damaged or truncated" in by_name["siteA/truncated.jpg"]["error"]
    assert "empty (0 bytes)" in by_name["siteA/empty.jpg"]["error"]
    assert "no calibration" in by_name[UNCALIBRATED]["error"]
    assert by_name[UNCALIBRATED]["um_per_px"] == ""
    for name in (*BAD, UNCALIBRATED):
        assert by_name[name]["status"] == "error"
        assert by_name[name]["hair_count"] == ""

    hairs = _rows(serial_out / "hairs.csv")
    counts = {}
    for hair in hairs:
        counts[hair["image"]] = counts.get(hair["image"], 0) + 1
    assert counts == {row["image"]: int(row["hair_count"]) for row in rows if row["status"] == "ok"}

    run = json.loads((serial_out / "run.json").read_text())
    assert run["counts"] == {
        "images": 7,
        "ok": 3,
        "error": 4,
        "analysed": 6,
        "reused": 0,
        "not_analysed": 0,
        "skipped_files": 2,
        "hairs": len(hairs),
    }
    skipped = [Path(entry["path"]).relative_to(study).as_posix() for entry in run["skipped_files"]]
    assert skipped == ["calibration.csv", "siteA/notes.txt"]
    assert run["parameters"]["min_length_um"] == 150.0
    assert run["execution"]["mode"] == "serial"
    assert [entry.name for entry in serial_out.iterdir() if entry.name.startswith(".")] == []


def test_rerun_resumes_without_recomputing(serial_out, study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(serial_out, out)
    calls = []
    real_analyze = densitometry.batch_engine.analyze

    def counting_analyze(*args, **kwargs):
        calls.append(kwargs.get("name"))
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(densitometry.batch_engine, "analyze", counting_analyze)
    assert _analyze(study, out, "--workers", "1") == 1
    assert calls == []
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["reused"] == 6 and run["counts"]["analysed"] == 0
    for name in ("summary.csv", "hairs.csv"):
        assert (out / name).read_bytes() == (serial_out / name).read_bytes()

    # A changed file is analysed again; so is everything when a parameter changes.
    touched = study / GOOD[0]
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        assert _analyze(study, out, "--workers", "1") == 1
    finally:
        os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert [Path(name).relative_to(study).as_posix() for name in calls] == [GOOD[0]]
    calls.clear()
    assert _analyze(study, out, "--workers", "1", "--min-length-um", "200") == 1
    assert len(calls) == 3  # the broken files fail while loading, before analyze
    assert json.loads((out / "run.json").read_text())["counts"]["analysed"] == 6


def test_interrupted_run_leaves_complete_tables_and_resumes(study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_analyze = densitometry.batch_engine.analyze
    calls = []

    def interrupted_analyze(*args, **kwargs):
        calls.append(kwargs.get("name"))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(densitometry.batch_engine, "analyze", interrupted_analyze)
    assert _analyze(study, out, "--workers", "1") == 130
    rows = _rows(out / "summary.csv")
    assert len(rows) == 7
    assert sum("interrupted" in row["error"] for row in rows) >= 1
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert [entry.name for entry in out.iterdir() if entry.name.startswith(".")] == []

    # A crash in the middle of a journal line: the cut line is ignored and the next run appends cleanly.
    with (out / "journal.jsonl").open("ab") as handle:
        handle.write(b'{"key": "cut sho')
    monkeypatch.setattr(densitometry.batch_engine, "analyze", real_analyze)
    assert _analyze(study, out, "--workers", "1") == 1
    rows = _rows(out / "summary.csv")
    assert [row["status"] for row in rows].count("ok") == 3
    assert json.loads((out / "run.json").read_text())["counts"]["reused"] > 0


def test_two_workers_give_identical_tables(serial_out, study, tmp_path):
    out = tmp_path / "parallel"
    assert _analyze(study, out, "--workers", "2") == 1
    for name in ("summary.csv", "hairs.csv"):
        assert (out / name).read_bytes() == (serial_out / name).read_bytes()
    assert json.loads((out / "run.json").read_text())["execution"] == {
        "mode": "processes",
        "workers": 2,
        "scheduler": None,
    }


def test_dask_cluster_gives_identical_tables(serial_out, study, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    # No dashboard: it would warn when port 8787 is taken (e.g. by another test run). No other
    # warnings are filtered; the cluster starts cleanly under filterwarnings = error.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        assert _analyze(study, out, "--scheduler", cluster.scheduler_address) == 1
    for name in ("summary.csv", "hairs.csv"):
        assert (out / name).read_bytes() == (serial_out / name).read_bytes()
    assert json.loads((out / "run.json").read_text())["execution"]["mode"] == "dask"


def _crash_on_second(task):
    """Process-pool stand-in for analyze_task whose worker dies on one photo."""
    if task.image.endswith("s02.png"):
        os._exit(3)
    return densitometry.batch_engine.error_record(task, "stand-in", error_type="ImageLoadError"), None


def test_a_dying_worker_fails_only_its_photos(tmp_path):
    tasks = [
        densitometry.batch_engine.Task(path=str(tmp_path / name), image=name, key=name, parameters={})
        for name in ("s01.png", "s02.png", "s03.png", "s04.png", "s05.png")
    ]
    outcomes = list(densitometry.batch_engine.run_processes(tasks, workers=1, function=_crash_on_second))
    records = {task.image: record for task, record, _ in outcomes}
    assert sorted(records) == [task.image for task in tasks]
    assert records["s02.png"]["error_type"] == "WorkerDied"
    assert records["s05.png"]["error"] == "stand-in"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "no input"),
        (["{study}"], "no calibration"),
        (["{study}", "--um-per-px", "5", "--fov-mm", "6", "4"], "only one calibration option"),
        (["{study}", "--um-per-px", "-1"], "> 0"),
        (["{study}/missing", "--um-per-px", "5"], "no such file"),
        (["{study}/siteA/notes.txt", "--um-per-px", "5"], "no image files"),
        (["{study}", "--um-per-px", "5", "--workers", "0"], "--workers"),
        (["{study}", "--um-per-px", "5", "--vellus-max-um", "80"], "terminal_min_um"),
        (["{study}", "--calibration", "{study}/siteA/notes.txt"], "pattern"),
        (["{study}", "--calibration", "{study}/none.csv"], "cannot read"),
    ],
)
def test_usage_errors_exit_2(arguments, message, study, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["analyze", *(a.format(study=study) for a in arguments), "--out", str(out)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_parquet_hairs_table_or_a_clear_usage_error(serial_out, study, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "analyze",
        str(study / "siteA"),
        "-r",
        "--um-per-px",
        str(UM_PER_PX),
        "-j",
        "1",
        "--out",
        str(out),
    ]
    if importlib.util.find_spec("pyarrow") is None:
        assert main([*argv, "--format", "parquet"]) == 2
        assert "pip install pyarrow" in capsys.readouterr().err
        return
    import pandas as pd

    assert main([*argv, "--format", "parquet", "--quiet"]) == 1
    from_parquet = pd.read_parquet(out / "hairs.parquet")
    from_csv = pd.read_csv(serial_out / "hairs.csv")
    assert list(from_parquet.columns) == list(from_csv.columns)
    assert from_parquet["image"].tolist() == from_csv["image"].tolist()
    np.testing.assert_array_equal(from_parquet["diameter_um"], from_csv["diameter_um"])
    assert not (out / "hairs.csv").exists()


def test_bad_option_value_is_an_argparse_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["analyze", "x.jpg", "--um-per-px", "five"])
    assert stop.value.code == 2


def test_field_of_view_overlays_and_skipped_files(study, tmp_path, capsys):
    out = tmp_path / "out"
    # 320 x 240 px over 1.6 x 1.2 mm is 5 µm per pixel.
    argv = [
        "analyze",
        str(study / "siteA"),
        "--fov-mm",
        "1.6",
        "1.2",
        "--overlays",
        "-j",
        "1",
        "--out",
        str(out),
    ]
    code = main(argv)
    assert code == 1  # the broken files
    streams = capsys.readouterr()
    assert "notes.txt: not an image file" in streams.err
    assert "visit2: folder (add --recursive" in streams.err
    assert "3 failed" in streams.out
    rows = {Path(row["image"]).name: row for row in _rows(out / "summary.csv")}
    assert float(rows["s01.png"]["um_per_px"]) == pytest.approx(5.0)
    assert rows["s01.png"]["calibration_source"] == "--fov-mm 1.6 1.2"
    overlays = sorted(path.name for path in (out / "overlays").iterdir())
    assert len(overlays) == 2 and all(name.endswith(".png") for name in overlays)
    assert cv2.imread(str(out / "overlays" / overlays[0])).shape == (240, 320, 3)


def test_refine_unavailable_is_the_row_error(study, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "densitometry.refiner", None)  # import fails like a missing extra
    out = tmp_path / "out"
    assert (
        main(["analyze", str(study / GOOD[0]), "--um-per-px", "5", "--refine", "-j", "1", "--out", str(out)])
        == 1
    )
    (row,) = _rows(out / "summary.csv")
    assert row["status"] == "error" and "refiner" in row["error"]
    assert json.loads((out / "run.json").read_text())["parameters"]["refine"] is True


def test_find_images_skips_hidden_files_and_the_output_folder(tmp_path):
    _write(tmp_path / "a.png", np.zeros((40, 40, 3), np.uint8))
    (tmp_path / ".a.png").write_bytes(b"")
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "out" / "overlays" / "a.png", np.zeros((40, 40, 3), np.uint8))
    images, skipped = find_images([tmp_path, tmp_path / "a.png"], recursive=True, exclude=[tmp_path / "out"])
    assert [item.relative for item in images] == ["a.png"]
    assert [(Path(item.path).name, item.reason) for item in skipped] == [(".a.png", "hidden file")]


def test_calibration_table_matches_relative_path_or_file_name(tmp_path):
    table = tmp_path / "calibration.csv"
    table.write_text("\ufeffpattern , um_per_px\nvisit1/*.jpg,4.5\ns02.png,6\n*,9\n\n")
    rules = read_calibration_table(table)
    assert [rule.line for rule in rules] == [2, 3, 4]

    def lookup(relative):
        item = ImageInput(tmp_path / relative, f"study/{relative}", relative)
        return match_calibration(rules, item).um_per_px

    assert lookup("visit1/sub/s01.jpg") == 4.5
    assert lookup("visit2/s02.png") == 6.0
    assert lookup("visit2/s03.png") == 9.0


def test_atomic_writer_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "summary.csv"
    target.write_text("old complete table\n")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target) as handle:
        handle.write("new half")
        raise KeyboardInterrupt
    assert target.read_text() == "old complete table\n"
    assert [path.name for path in tmp_path.iterdir()] == ["summary.csv"]
    with atomic_writer(target) as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_journal_last_record_wins(tmp_path):
    with Journal(tmp_path / "journal.jsonl") as journal:
        journal.append({"key": "k", "status": "error", "hair_columns": [], "hairs": []})
        journal.append({"key": "k", "status": "ok", "hair_columns": ["hair_id"], "hairs": [[np.int64(0)]]})
    with Journal(tmp_path / "journal.jsonl") as reopened:
        assert reopened.index["k"][1]["status"] == "ok"
        assert reopened.hairs("k") == (["hair_id"], [[0]])


@pytest.mark.skipif(os.name != "posix", reason="journal locking uses fcntl")
def test_one_run_per_output_folder(tmp_path, study, capsys):
    with Journal(tmp_path / "journal.jsonl"):
        with pytest.raises(JournalBusyError):
            Journal(tmp_path / "journal.jsonl")
        assert main(["analyze", str(study / GOOD[0]), "--um-per-px", "5", "--out", str(tmp_path)]) == 2
        assert "another densitometry analyze" in capsys.readouterr().err
    Journal(tmp_path / "journal.jsonl").close()


def test_output_folder_that_is_a_file_is_a_usage_error(tmp_path, study, capsys):
    (tmp_path / "results").write_text("")
    assert (
        main(["analyze", str(study / GOOD[0]), "--um-per-px", "5", "--out", str(tmp_path / "results")]) == 2
    )
    assert "cannot create the output folder" in capsys.readouterr().err


def test_installed_entry_point(tmp_path):
    script = Path(sys.executable).with_name("densitometry")
    if not script.exists():
        found = shutil.which("densitometry")
        if found is None:
            pytest.skip("the densitometry entry point is not installed")
        script = Path(found)
    # A featureless photo: analysed quickly (no hairs), still a valid row.
    _write(tmp_path / "blank.png", np.full((64, 64, 3), 180, np.uint8))
    help_text = subprocess.run(
        [str(script), "analyze", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "(default: 150.0)" in help_text and "--scheduler" in help_text
    done = subprocess.run(
        [
            str(script),
            "analyze",
            str(tmp_path / "blank.png"),
            "--um-per-px",
            "5",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 photo: 1 ok, 0 failed" in done.stdout
    assert done.stderr == ""  # no progress bar when stderr is not a terminal
    (row,) = _rows(tmp_path / "out" / "summary.csv")
    assert row["hair_count"] == "0" and "few hairs" in row["quality_warnings"]


def test_python_dash_m_runs_the_same_command_line(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "densitometry", *args], capture_output=True, text=True, timeout=120
        )

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"densitometry {densitometry.__version__}"
    missing = run(
        "analyze", str(tmp_path / "nowhere.jpg"), "--um-per-px", "5", "--out", str(tmp_path / "out")
    )
    assert missing.returncode == 2  # a usage error, as from the script
    assert "nowhere.jpg: no such file or folder" in missing.stderr


def test_colour_gain_option_reaches_the_analysis_parameters():
    parser = argparse.ArgumentParser()
    add_analysis_arguments(parser)
    assert analysis_parameters(parser.parse_args([])).colour_gain is None
    assert analysis_parameters(parser.parse_args(["--colour-gain", "0"])).colour_gain == 0.0
    with pytest.raises(ParameterError, match="colour_gain"):
        analysis_parameters(parser.parse_args(["--colour-gain", "9"]))


def test_a_region_mask_is_applied_to_every_photo_and_part_of_the_resume_key(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    _write(photos / "a.png", _photo(1))
    _write(photos / "b.png", _photo(2))
    _write(photos / "large.png", _photo(3, width_px=640, height_px=480))
    mask = np.zeros((240, 320), np.uint8)
    mask[:, :160] = 255  # the left half
    region = tmp_path / "region.png"
    cv2.imwrite(str(region), mask)
    out = tmp_path / "out"
    arguments = ["analyze", str(photos), "--out", str(out), *f"--um-per-px {UM_PER_PX} --quiet -j 1".split()]
    assert main([*arguments, "--region", str(region)]) == 1  # the large photo fails, the others not
    rows = {Path(row["image"]).name: row for row in _rows(out / "summary.csv")}
    half_cm2 = 160 * 240 * (UM_PER_PX * 1e-4) ** 2
    in_region, in_whole = 0, 0
    for name in ("a.png", "b.png"):
        assert rows[name]["status"] == "ok"
        assert float(rows[name]["field_area_cm2"]) == pytest.approx(half_cm2)
        library = densitometry.analyze(photos / name, um_per_px=UM_PER_PX, region=region)
        assert int(rows[name]["hair_count"]) == library.hair_count
        in_region += library.hair_count
        in_whole += densitometry.analyze(photos / name, um_per_px=UM_PER_PX).hair_count
    assert in_region < in_whole
    assert rows["large.png"]["status"] == "error"
    assert "the region is 320x240 px, the photo 640x480 px" in rows["large.png"]["error"]
    run = json.loads((out / "run.json").read_text())
    assert run["region"]["path"] == str(region.resolve())

    calls = []
    real_analyze = densitometry.batch_engine.analyze

    def counting_analyze(*args, **kwargs):
        calls.append(Path(kwargs.get("name")).name)
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(densitometry.batch_engine, "analyze", counting_analyze)
    assert main([*arguments, "--region", str(region)]) == 1
    assert calls == []  # all reused, the deterministic failure too
    mask[:, :200] = 255
    cv2.imwrite(str(region), mask)
    calls.clear()
    assert main([*arguments, "--region", str(region)]) == 1
    assert sorted(calls) == ["a.png", "b.png", "large.png"]  # a changed mask analyses everything again


def test_an_unreadable_region_mask_is_a_usage_error(tmp_path, capsys):
    photos = tmp_path / "photos"
    _write(photos / "a.png", _photo(1))
    (tmp_path / "region.png").write_text("not an image")
    black = tmp_path / "black.png"
    cv2.imwrite(str(black), np.zeros((240, 320), np.uint8))
    for region, message in ((tmp_path / "region.png", "--region"), (black, "holds no white pixel")):
        code = main(
            [
                "analyze",
                str(photos),
                "--um-per-px",
                "5",
                "--out",
                str(tmp_path / "out"),
                "--region",
                str(region),
            ]
        )
        assert code == 2
        assert message in capsys.readouterr().err
